"""Stand-in `kubectl`: get/apply/delete/wait/rollout/logs against the stand-in cluster; exec and
port-forward answer no probe."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from l7suite.cluster.e2e_run import option_value as flag  # `--name VALUE` or `--name=VALUE`
from suites.rehearsal.standins.cluster import CLUSTER_SCOPED, GROUPS, PLURALS, Cluster, cluster_of, kind_of, printed
from suites.rehearsal.standins.core import (
    DATA,
    KUBECTL_VALUE_FLAGS,
    UNIT_DATA,
    Call,
    Unhandled,
    load_data,
    now_iso,
    positionals,
    state,
)


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


def namespace_arg(args: list[str]) -> str:
    return flag(args, "-n") or flag(args, "--namespace") or "default"


def not_found(kind: str, name: str) -> str:
    group = GROUPS.get(kind, "")
    return f'Error from server (NotFound): {PLURALS[kind]}{"." + group if group else ""} "{name}" not found\n'


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


def documents(call: Call, path: str) -> list[dict[str, Any]]:
    import yaml

    text = call.keep_file(path)
    if "${" in text:
        call.notes["unfilled_placeholders"] = sorted(set(re.findall(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", text)))
    docs = [d for d in yaml.safe_load_all(text) if d]
    out = []
    for d in docs:
        if d.get("kind") == "List":
            out.extend(d.get("items", []))
        else:
            out.append(d)
    return out


def k_apply(call: Call, cluster: Cluster, args: list[str], words: list[str], command: list[str]) -> int:
    path = flag(args, "-f") or flag(args, "--filename")
    if not path:
        raise Unhandled("kubectl", args)
    server_side = "--server-side" in args
    applied = []
    for obj in documents(call, path):
        kind, meta = obj["kind"], obj.get("metadata", {})
        ns = meta.get("namespace") or namespace_arg(args)
        if kind not in CLUSTER_SCOPED:
            meta["namespace"] = ns
            if cluster.get("Namespace", "", ns) is None:
                call.err.write(f'Error from server (NotFound): error when creating "{path}": namespaces "{ns}" '
                               "not found\n")
                return 1
        result = cluster.put(obj)
        applied.append([kind, meta.get("namespace", ""), meta["name"]])
        call.out.write(f"{printed(kind, meta['name'])} {'serverside-applied' if server_side else result}\n")
    call.notes["applied"] = applied
    return 0


def k_delete(call: Call, cluster: Cluster, args: list[str], words: list[str], command: list[str]) -> int:
    path = flag(args, "-f") or flag(args, "--filename")
    targets: list[tuple[str, str, str]] = []
    if path:
        for obj in documents(call, path):
            meta = obj.get("metadata", {})
            targets.append((obj["kind"], meta.get("namespace") or namespace_arg(args), meta["name"]))
    elif words:
        kind = kind_of(words[0].split("/")[0])
        names = [w.split("/", 1)[1] for w in words if "/" in w] or words[1:]
        targets = [(kind, namespace_arg(args), n) for n in names]
    else:
        raise Unhandled("kubectl", args)
    deleted = []
    for kind, ns, name in targets:
        if cluster.remove(kind, ns, name):
            group = GROUPS.get(kind, "")
            call.out.write(f'{kind.lower()}{"." + group if group else ""} "{name}" deleted\n')
            deleted.append([kind, "" if kind in CLUSTER_SCOPED else ns, name])
        elif "--ignore-not-found" not in args:
            call.err.write(not_found(kind, name).replace("(NotFound): ", f'(NotFound): error when deleting "{path}": ')
                           if path else not_found(kind, name))
            call.notes["deleted"] = deleted
            return 1
    call.notes["deleted"] = deleted
    return 0


def k_wait(call: Call, cluster: Cluster, args: list[str], words: list[str], command: list[str]) -> int:
    condition = flag(args, "--for") or ""
    ns = namespace_arg(args)
    for target in words:
        kind_name, _, name = target.partition("/")
        kind = kind_of(kind_name)
        obj = cluster.get(kind, ns, name)
        if condition == "delete":
            continue
        if obj is None:
            call.err.write(not_found(kind, name))
            return 1
        call.out.write(f"{kind.lower()}/{name} condition met\n")
    return 0


def k_rollout(call: Call, cluster: Cluster, args: list[str], words: list[str], command: list[str]) -> int:
    action = words[0] if words else ""
    kind_name, _, name = (words[1] if len(words) > 1 else "").partition("/")
    kind = kind_of(kind_name) if kind_name else ""
    obj = cluster.get(kind, namespace_arg(args), name) if kind else None
    if obj is None:
        call.err.write(not_found(kind or "Deployment", name))
        return 1
    if action == "restart":
        obj.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {}).setdefault(
            "annotations", {})["kubectl.kubernetes.io/restartedAt"] = now_iso()
        cluster.put(obj)
        call.out.write(f"{printed(kind, name)} restarted\n")
        return 0
    if action == "status":
        call.out.write(f'daemon set "{name}" successfully rolled out\n' if kind == "DaemonSet"
                       else f'deployment "{name}" successfully rolled out\n')
        return 0
    raise Unhandled("kubectl", args)


def k_logs(call: Call, cluster: Cluster, args: list[str], words: list[str], command: list[str]) -> int:
    name = words[0].split("/")[-1] if words else ""
    if cluster.get("Pod", namespace_arg(args), name) is None:
        call.err.write(not_found("Pod", name))
        return 1
    return 0  # nothing was logged: no request ever reached a pod


def k_exec(call: Call, cluster: Cluster, args: list[str], words: list[str], command: list[str]) -> int:
    ns = namespace_arg(args)
    target = words[0] if words else ""
    kind_name, _, name = target.rpartition("/")
    if kind_name and kind_of(kind_name) != "Pod":
        pods = cluster.select("Pod", ns)
        owner = cluster.get(kind_of(kind_name), ns, name)
        owned = [p for p in pods if owner and p["metadata"].get("l7suite-owner") == owner["metadata"]["uid"]]
        if not owned:
            call.err.write(not_found(kind_of(kind_name), name))
            return 1
        name = owned[0]["metadata"]["name"]
    if cluster.get("Pod", ns, name) is None:
        call.err.write(not_found("Pod", name))
        return 1
    call.notes["exec"] = {"namespace": ns, "pod": name, "command": command}
    agent = ns == "kube-system" and name.startswith("cilium-") and not name.startswith(("cilium-envoy-",
                                                                                        "cilium-operator-"))
    if agent and command[:2] == ["cilium-dbg", "status"]:
        call.out.write((DATA / "cilium-dbg-status.txt").read_text())
        return 0
    if agent and command == ["cilium-dbg", "policy", "get", "-o", "jsonpath={.revision}"]:
        revision = cluster.data.get("policy_revision", 1)
        call.out.write(f"{revision}\n" if revision else "\n")  # omitempty: revision 0 prints nothing
        return 0
    if agent and command[:3] == ["cilium-dbg", "policy", "wait"] and len(command) > 3 and command[3].isdigit():
        wanted, revision = int(command[3]), cluster.data.get("policy_revision", 1)
        if revision >= wanted:
            return 0  # every endpoint at the revision: cilium-dbg prints nothing
        call.err.write("\n1 endpoints still not ready after 1s (0 failed)\n"
                       "command terminated with exit code 1\n")
        return 1
    # a probe: no answer (curl's "operation timed out"), as a dropped packet looks from the client
    call.err.write("command terminated with exit code 28\n")
    return 28


def k_port_forward(call: Call, cluster: Cluster, args: list[str], words: list[str], command: list[str]) -> int:
    ns = namespace_arg(args)
    target = words[0] if words else ""
    ports = words[1:]
    kind_name, _, name = target.rpartition("/")
    kind = kind_of(kind_name or "pod")
    obj = cluster.get(kind, ns, name)
    if obj is None:
        call.err.write(not_found(kind, name))
        return 1
    remote = ports[0].split(":")[-1] if ports else ""
    if kind == "Service":  # kubectl forwards to the pod's port behind the Service port
        for port in obj.get("spec", {}).get("ports", []):
            if str(port.get("port")) != remote:
                continue
            target_port = port.get("targetPort", port.get("port"))
            if isinstance(target_port, int):
                remote = str(target_port)
            else:  # a named port: the selected pods' container port of that name
                selector = ",".join(f"{k}={v}" for k, v in obj["spec"].get("selector", {}).items())
                for pod in cluster.select("Pod", ns, selector):
                    for container in pod.get("spec", {}).get("containers", []):
                        for p in container.get("ports", []):
                            if p.get("name") == target_port:
                                remote = str(p["containerPort"])
    call.notes["target"] = f"{ns}/{target}"
    raise PortForward(remote)


class PortForward(Exception):
    """Leave the state lock: the client then holds a port nobody answers on until it is stopped."""

    def __init__(self, remote: str):
        super().__init__(remote)
        self.remote = remote


def k_annotate(call: Call, cluster: Cluster, args: list[str], words: list[str], command: list[str]) -> int:
    kind_name, _, name = (words[0] if words else "").partition("/")
    kind = kind_of(kind_name)
    obj = cluster.get(kind, namespace_arg(args), name)
    if obj is None:
        call.err.write(not_found(kind, name))
        return 1
    field = "annotations" if call.args and "annotate" in call.args else "labels"
    for pair in words[1:]:
        k, _, v = pair.partition("=")
        if k.endswith("-"):
            obj["metadata"].get(field, {}).pop(k[:-1], None)
        else:
            obj["metadata"].setdefault(field, {})[k] = v
    cluster.put(obj)
    call.out.write(f"{printed(kind, name)} {'annotated' if field == 'annotations' else 'labeled'}\n")
    return 0


KUBECTL: dict[str, Callable[[Call, Cluster, list[str], list[str], list[str]], int]] = {
    "version": k_version, "get": k_get, "apply": k_apply, "delete": k_delete, "wait": k_wait,
    "rollout": k_rollout, "logs": k_logs, "exec": k_exec, "port-forward": k_port_forward,
    "annotate": k_annotate, "label": k_annotate,
}
