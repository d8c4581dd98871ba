"""Live update without loss (seed 002): weighted-lb's route changed from 80/20 to 50/50 over xDS under load."""

from l7suite.scenarios import weighted_lb

STAGE = "split-50-50"  # manifests/weighted-lb/stages/: the CEC deathstar-lb with 50/50 weights
EXPECTED_SHARES = {"deathstar": 0.5, "darkstar": 0.5}

SCENARIO = weighted_lb.on_these_manifests(
    name="live-update",
    title="Live update: weighted-lb's route goes from 80/20 to 50/50 under load, nothing lost",
    description=(
        "Seed 002's promise that a route change is hitless. Under a steady loop of 2 keep-alive clients "
        "through weighted-lb's listener, the CEC is re-applied with 50/50 weights (stage split-50-50) and "
        "pushed over xDS; listeners keep their ports, as the agent keeps a listener's proxy port. No request "
        "fails around the switch and some were in flight while it was applied; Envoy's listener_manager "
        "counters (added, modified, removed, draining) do not move; the 1,000+ answers sent 0.25 s after the "
        "ACK split 50/50 by the exact binomial test (alpha 1e-4)."),
)
