"""Control-plane loss (seed 002): the agent restarts while Envoy runs on, under load through weighted-lb."""

from l7suite.scenarios import weighted_lb

SCENARIO = weighted_lb.on_these_manifests(
    name="control-plane-loss",
    title="Control-plane loss: the xDS server goes away and comes back while Envoy serves on",
    description=(
        "The reason Cilium moved Envoy into its own DaemonSet (seed 002): the agent, Envoy's control plane, "
        "restarts while Envoy runs on. Under a steady loop through weighted-lb's listener the suite's xDS "
        "server stops and starts again on the same port. No request fails and at least 300 are answered while "
        "it is gone; control_plane.connected_state reads 0, then 1 five times in a row 0.1 s apart (a single "
        "1 can be a failing reconnection attempt); Envoy opens a new ADS stream and ACKs every type on it, and "
        "keeps its listeners without draining any."),
)
