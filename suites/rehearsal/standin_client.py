"""The stand-in executables' client: what suites/rehearsal/bin/{kubectl,kind,helm,docker} run.

It sends the call (tool, arguments, working directory, pid, the environment the stand-ins read) to the
rehearsal's stand-in server (standins.serve, a Unix socket in L7SUITE_REHEARSAL_DIR) and prints the
answer with its exit code; without a server it answers in-process (standins.handle). Kept small and
started with `python -S -I`: the harness runs hundreds of these per rehearsal.

A port-forward is held here, as kubectl holds one: a local port bound on 127.0.0.1 and never listened
on (a connection is refused: nothing answers), its "Forwarding from" line printed, until SIGTERM,
SIGINT or SIGHUP; then the server is told, so the call log shows when and how it stopped.
"""

import json
import os
import signal
import socket
import sys
import time

ENV = ("KUBECONFIG", "DOCKER_HOST", "HOME", "L7SUITE_E2E_STATE_DIR", "PYTEST_XDIST_WORKER", "L7SUITE_E2E_TIMEOUTS",
       "L7SUITE_E2E_RECORD", "L7SUITE_REHEARSAL_KIND_CREATE", "L7SUITE_REHEARSAL_FAIL", "L7SUITE_REHEARSAL_REPLAY")
LIFETIME = 900.0  # a port-forward nobody stops ends by itself (the rehearsal fails on it first)
HERE = os.path.dirname(os.path.abspath(__file__))


def ask(root, request):
    path = os.path.join(root, "standins.sock")
    if os.path.exists(path):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(path)
            conn.sendall(json.dumps(request).encode() + b"\n")
            with conn.makefile("rb") as answer:
                return json.loads(answer.readline() or b"{}")
    import site  # no server: the stand-ins in this process, with the venv's packages (yaml, l7suite)

    site.main()
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the repository: suites.rehearsal.standins
    from pathlib import Path

    from suites.rehearsal import standins

    return standins.handle(Path(root), request)


def hold(root, call_id, remote):
    stopped = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: stopped.append(signal.Signals(signum).name))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound, never listening
    port = sock.getsockname()[1]
    ask(root, {"op": "forwarding", "id": call_id, "port": port, "remote": remote})
    sys.stdout.write(f"Forwarding from 127.0.0.1:{port} -> {remote}\n")
    sys.stdout.flush()
    deadline = time.monotonic() + LIFETIME
    while not stopped and time.monotonic() < deadline:
        time.sleep(0.05)
    sock.close()
    return ask(root, {"op": "stopped", "id": call_id, "by": stopped[0] if stopped else "lifetime"})


def main(argv):
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it at once and silently, as it ends kubectl
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    root = os.environ["L7SUITE_REHEARSAL_DIR"]
    request = {"op": "call", "tool": os.path.basename(argv[1]), "args": argv[2:], "cwd": os.getcwd(),
               "pid": os.getpid(), "ppid": os.getppid(), "env": {k: os.environ[k] for k in ENV if k in os.environ}}
    reply = ask(root, request)
    if reply.get("hold") is not None:
        reply = hold(root, reply["id"], reply["hold"])
    sys.stdout.write(reply.get("stdout", ""))
    sys.stderr.write(reply.get("stderr", ""))
    return int(reply.get("exit", 1))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
