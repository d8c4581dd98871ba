"""Stand-in `kubectl`, `kind`, `helm` and `docker` for the e2e rehearsal. NOT a cluster.

The wrappers in suites/rehearsal/bin/ (which refuse to run outside the rehearsal: no
L7SUITE_REHEARSAL_DIR) start standin_client.py, which sends the call to `serve()` running in the rehearsal's own
process (or, without it, calls `handle()` in-process). Every call is appended to the rehearsal's call log
(`calls.jsonl`: argv, cwd, pid, environment of interest, the content of files it was handed, exit
code, output) so the rehearsal can assert what the harness did. Answers follow the real tools'
formats (data/README.md says where each was read) and a small model of what the harness changed:
objects applied, clusters created and deleted, images pulled and loaded, containers started.

What the stand-ins never do: answer a probe. `kubectl exec` into a pod gets no answer (curl's
"operation timed out", exit 28, nothing on stdout, kubectl's "command terminated with exit code 28"
on stderr); a `kubectl port-forward` prints its "Forwarding from" line but nothing listens behind
the port (a bound, non-listening socket: connections are refused). So no scenario can pass.
The agents' own state is answered, since it is not a probe of the scenario: `cilium-dbg status`
(a recorded real output) and the policy revision (`cilium-dbg policy get -o jsonpath={.revision}`,
`cilium-dbg policy wait REV`), which moves by one per policy object applied, changed or deleted.

Knobs (environment, set by the rehearsal):
  L7SUITE_REHEARSAL_DIR            the run's folder: calls.jsonl, state.json (required)
  L7SUITE_REHEARSAL_KIND_CREATE    seconds `kind create cluster` takes (a slow bring-up)
  L7SUITE_REHEARSAL_FAIL           comma-separated failures to play: `helm-install`
  L7SUITE_REHEARSAL_REPLAY         a `--record` folder: read-only calls are answered from it first
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from suites.rehearsal.standins.core import SOCKET, Call, Exit, Unhandled
from suites.rehearsal.standins.docker import docker
from suites.rehearsal.standins.helm import helm
from suites.rehearsal.standins.kind import kind
from suites.rehearsal.standins.kubectl import kubectl
from suites.rehearsal.standins.kubectl_pods import PortForward

TOOLS: dict[str, Callable[[Call, list[str]], int]] = {"kubectl": kubectl, "kind": kind, "helm": helm,
                                                     "docker": docker}


def replayed(call: Call) -> tuple[int, str, str] | None:
    """An answer from a `--record` folder (L7SUITE_REHEARSAL_REPLAY), for read-only calls only: never
    for a probe (exec, port-forward), so a replayed real run still makes no scenario pass."""
    folder = call.env.get("L7SUITE_REHEARSAL_REPLAY")
    if not folder:
        return None
    from l7suite.cluster.record import Replay  # the venv's suite: the same normalisation as the recorder

    answer = Replay(Path(folder)).answer([call.tool, *call.args])
    if answer is None:
        return None
    return answer.returncode, answer.stdout, answer.stderr


PENDING: dict[str, Call] = {}  # port-forwards being held by their clients, by call id


def handle(root: Path, request: dict[str, Any]) -> dict[str, Any]:
    """Answer one request of a client (standin_client.py): a call, or an event of a port-forward it holds."""
    if request.get("op") == "forwarding":
        call = PENDING[request["id"]]
        call.notes["port"] = request["port"]
        call.log({"event": "forwarding", "port": request["port"], "remote": request["remote"],
                  "target": call.notes.get("target")})
        return {}
    if request.get("op") == "stopped":
        call = PENDING.pop(request["id"])
        call.notes["stopped_by"] = request["by"]
        return call.finish(0)
    call = Call(root, request)
    code = 1
    try:
        answer = replayed(call)
        if answer is not None:
            code, out, err = answer
            call.out.write(out)
            call.err.write(err)
            call.notes["replayed"] = True
        else:
            code = TOOLS[call.tool](call, call.args)
    except PortForward as pf:
        PENDING[call.id] = call  # its start is logged; its end when the client is stopped
        return {"id": call.id, "hold": pf.remote}
    except Exit as exc:
        call.err.write(exc.stderr)
        code = exc.code
        call.notes["unhandled"] = isinstance(exc, Unhandled)
    return call.finish(code)


def serve(root: Path) -> Any:
    """Answer the stand-ins of one rehearsal run from this process (the rehearsal's), on a Unix socket
    in `root`: the clients then only start a small interpreter. Returns the server; `shutdown()` it."""
    import socketserver
    import threading

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            request = json.loads(self.rfile.readline())
            try:
                reply = handle(root, request)
            except Exception as exc:  # noqa: BLE001 (the client says it; the rehearsal fails on it)
                reply = {"exit": 70, "stdout": "", "stderr": f"rehearsal stand-in crashed: {exc!r}\n"}
            with contextlib.suppress(OSError):  # the client was killed meanwhile (Ctrl-C): its call is logged
                self.wfile.write(json.dumps(reply).encode() + b"\n")

    server = socketserver.ThreadingUnixStreamServer(str(root / SOCKET), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"standins-{root}", daemon=True).start()
    return server
