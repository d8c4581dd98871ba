"""The suite's checks of itself: not a scenario, but declared like one so their results carry a label of
their own (`suite-self-checks`) instead of a scenario's name, and the hygiene probe knows its folder."""

from l7suite.scenarios.declaration import Scenario

SUITE_SELF_CHECKS = Scenario(
    name="suite-self-checks",
    title="The suite's checks of its own machinery (not a scenario)",
    description=(
        "Nothing outlives a run (no Envoy process, no listening socket after a pass, a failure, Ctrl-C or "
        "kill -9: suites/envoy/test_hygiene.py, whose probe starts weighted-lb's manifests); each scenario's "
        "assertions fail readably on a broken copy of its manifests (test_broken_manifests.py); `l7suite check` "
        "gives ACK, NACK and NO ACK with Envoy's own text (test_check_command.py). They check the suite, not "
        "Envoy, so they run once, on the first chosen Envoy version."),
    tiers=("envoy",),
    envoy_manifests="weighted-lb",
    suite_check=True,
)
