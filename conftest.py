"""Root conftest: only wires the pytest glue in fixtures/ (each module registers its own options)."""

pytest_plugins = [
    "fixtures.common",
    "fixtures.envoy_tier",
    "fixtures.envoy_schedule",
    "fixtures.reporting",
    "fixtures.e2e",
    "fixtures.e2e_record",
]
