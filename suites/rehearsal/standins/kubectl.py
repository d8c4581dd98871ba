"""Stand-in `kubectl`: the dispatch and the reads (version, get). What changes objects (apply, delete,
wait, rollout, annotate, label): kubectl_changes.py; what reaches into pods (logs, exec, port-forward,
which answer no probe): kubectl_pods.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from l7suite.cluster.e2e_steps import option_value as flag  # `--name VALUE` or `--name=VALUE`
from suites.rehearsal.standins.api_names import CLUSTER_SCOPED, kind_of, namespace_arg, not_found
from suites.rehearsal.standins.cluster import Cluster, cluster_of
from suites.rehearsal.standins.core import (
    KUBECTL_VALUE_FLAGS,
    UNIT_DATA,
    Call,
    Unhandled,
    load_data,
    positionals,
    state,
)
from suites.rehearsal.standins.kubectl_changes import k_annotate, k_apply, k_delete, k_rollout, k_wait
from suites.rehearsal.standins.kubectl_pods import k_exec, k_logs, k_port_forward


def kubectl(call: Call, args: list[str]) -> int:
    if "--" in args:
        args, command = args[:args.index("--")], args[args.index("--") + 1:]
    else:
        command = []
    words = positionals(args, KUBECTL_VALUE_FLAGS)
    verb = words[0] if words else ""
    if verb == "version":
        client = load_data(UNIT_DATA / "kubectl_version_client.json")
        if "--client" in args:
            call.out.write(json.dumps(client, indent=2) + "\n")
            return 0
    kubeconfig = str(call.path(flag(args, "--kubeconfig") or call.env.get("KUBECONFIG", "")))
    with state(call.root) as world:
        cluster = cluster_of(world, kubeconfig)
        if cluster is None:
            call.err.write(refused(world, kubeconfig))
            if verb == "version":
                call.out.write(json.dumps(load_data(UNIT_DATA / "kubectl_version_client.json"), indent=2) + "\n")
            return 1
        handler = KUBECTL.get(verb)
        if handler is None:
            raise Unhandled("kubectl", args + (["--", *command] if command else []))
        return handler(call, cluster, args, words[1:], command)


def refused(world: dict[str, Any], kubeconfig: str) -> str:
    try:
        server = json.loads(Path(kubeconfig).read_text())["clusters"][0]["cluster"]["server"]
        host = server.split("//", 1)[1]
    except (OSError, ValueError, KeyError, IndexError):
        host = "localhost:8080"
    return f"The connection to the server {host} was refused - did you specify the right host or port?\n"


def k_version(call: Call, cluster: Cluster, args: list[str], words: list[str], command: list[str]) -> int:
    version = cluster.data["kubernetes"]
    major, minor = version.lstrip("v").split(".")[:2]
    out = {**load_data(UNIT_DATA / "kubectl_version_client.json"),
           "serverVersion": {"major": major, "minor": minor, "gitVersion": version, "compiler": "gc",
                             "platform": "linux/amd64"}}
    call.out.write(json.dumps(out, indent=2) + "\n")
    return 0


def k_get(call: Call, cluster: Cluster, args: list[str], words: list[str], command: list[str]) -> int:
    if not words:
        raise Unhandled("kubectl", args)
    output = flag(args, "-o") or flag(args, "--output") or ""
    everywhere = "-A" in args or "--all-namespaces" in args
    namespace = None if everywhere else namespace_arg(args)
    selector = flag(args, "-l") or flag(args, "--selector") or ""
    try:
        kinds = [kind_of(r) for r in words[0].split(",")]
    except KeyError:
        call.err.write(f'error: the server doesn\'t have a resource type "{words[0]}"\n')
        return 1
    if len(words) > 1:  # named objects
        kind = kinds[0]
        found = [cluster.get(kind, namespace or "default", n) for n in words[1:]]
        if any(f is None for f in found):
            if "--ignore-not-found" in args:
                found = [f for f in found if f is not None]
                if not found:
                    return 0
            else:
                missing = [n for n, f in zip(words[1:], found, strict=True) if f is None]
                call.err.write(not_found(kind, missing[0]))
                return 1
        items = [f for f in found if f is not None]
        return write_objects(call, items, output, single=len(words) == 2)
    if kinds == ["Event"]:
        events = cluster.select("Event", namespace)
        if not events:
            call.err.write(f"No resources found in {namespace} namespace.\n" if namespace else "No resources found\n")
            return 0
        return write_objects(call, events, output, single=False)
    items = [o for k in kinds for o in cluster.select(k, namespace, selector)]
    if not items and output not in ("json", "yaml"):
        call.err.write(f"No resources found in {namespace} namespace.\n" if namespace and kinds[0] not in CLUSTER_SCOPED
                       else "No resources found\n")
        return 0
    return write_objects(call, items, output, single=False)


def public(obj: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(obj))
    out["metadata"].pop("l7suite-owner", None)
    out["metadata"].pop("l7suite-system", None)
    return out


def write_objects(call: Call, items: list[dict[str, Any]], output: str, single: bool) -> int:
    items = [public(o) for o in items]
    data: Any = items[0] if single else {"apiVersion": "v1", "items": items, "kind": "List",
                                         "metadata": {"resourceVersion": ""}}
    if output == "json":
        call.out.write(json.dumps(data, indent=4) + "\n")
    elif output == "yaml":
        import yaml

        call.out.write(yaml.safe_dump(data, sort_keys=True))
    elif output.startswith("jsonpath") or output.startswith("go-template") or output.startswith("custom-columns"):
        raise Unhandled("kubectl", [f"-o {output}"])
    else:  # the default table: NAME and AGE, as kubectl prints for most kinds
        call.out.write(f"{'NAME':<40} AGE\n" + "".join(f"{o['metadata']['name']:<40} 1m\n" for o in items))
    return 0


KUBECTL: dict[str, Callable[[Call, Cluster, list[str], list[str], list[str]], int]] = {
    "version": k_version, "get": k_get, "apply": k_apply, "delete": k_delete, "wait": k_wait,
    "rollout": k_rollout, "logs": k_logs, "exec": k_exec, "port-forward": k_port_forward,
    "annotate": k_annotate, "label": k_annotate,
}
