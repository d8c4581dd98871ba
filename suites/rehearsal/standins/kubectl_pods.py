"""Stand-in `kubectl` verbs that reach into pods: logs (empty: no request ever reached a pod), exec
(answers the agents' own state, `cilium-dbg status` and the policy revision, and never a probe) and
port-forward (the client holds a port nobody answers on)."""

from __future__ import annotations

from suites.rehearsal.standins.api_names import kind_of, namespace_arg, not_found
from suites.rehearsal.standins.cluster import Cluster
from suites.rehearsal.standins.core import DATA, Call


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
