"""`--record DIR`: what the run dumps from the cluster besides the commands it ran (layout: record.py).
Apart from record.py, which the subprocess seams import: these read the cluster through them.
"""

from __future__ import annotations

from l7suite.cluster import record
from l7suite.cluster.failure_evidence import cilium_status
from l7suite.cluster.kube import Kube
from l7suite.cluster.nodes import AGENT_SELECTOR

CEC_KINDS = "ciliumenvoyconfigs,ciliumclusterwideenvoyconfigs"


def dump_cecs(kube: Kube, label: str) -> None:
    """The cluster's CiliumEnvoyConfigs as DIR/cec/<label>-<host>-<pid>.yaml, if this run records."""
    done = kube.kubectl("get", CEC_KINDS, "-A", "-o", "yaml")
    recorder = record.active()
    if recorder is not None:
        body = done.stdout if done.returncode == 0 else f"# exit {done.returncode}\n# {done.stderr.strip()}\n"
        recorder.text("cec", label, body, suffix=".yaml")


def dump_agent_status(kube: Kube) -> None:
    """`cilium-dbg status --verbose` of each agent as DIR/cilium-dbg-status/<pod>-<host>-<pid>.txt, if this
    run records. A failure is kept as its text: recording never fails the run."""
    recorder = record.active()
    if recorder is None:
        return
    try:
        agents = [p["metadata"]["name"] for p in kube.pods("kube-system", AGENT_SELECTOR)]
    except Exception as exc:  # noqa: BLE001 (recording must never fail the run)
        recorder.text("cilium-dbg-status", "agents", f"(could not list the agents: {exc})")
        return
    for agent in agents:
        done = cilium_status(kube, agent)
        body = done.stdout if done.exit_code == 0 else f"(exit {done.exit_code})\n{done.stdout}{done.stderr}"
        recorder.text("cilium-dbg-status", agent, body)
