"""Stand-in `kubectl` verbs that change the stand-in cluster: apply (server-side or not), delete, wait,
rollout restart/status, annotate and label. Each notes what it did in the call log (applied, deleted)."""

from __future__ import annotations

import re
from typing import Any

from l7suite.cluster.e2e_steps import option_value as flag  # `--name VALUE` or `--name=VALUE`
from suites.rehearsal.standins.api_names import CLUSTER_SCOPED, GROUPS, kind_of, namespace_arg, not_found, printed
from suites.rehearsal.standins.cluster import Cluster
from suites.rehearsal.standins.core import Call, Unhandled, now_iso


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
