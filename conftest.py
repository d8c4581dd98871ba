"""Root conftest: only wires the pytest glue in fixtures/ (each module registers its own options)."""

pytest_plugins = [
    "fixtures.manifest_options",
    "fixtures.envoy_runs",
    "fixtures.xdist_schedule",
    "fixtures.reporting",
    "fixtures.evidence",
    "fixtures.interrupted_tests",
    "fixtures.e2e_plan",
    "fixtures.e2e_cluster",
    "fixtures.e2e_recording",
]
