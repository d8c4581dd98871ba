"""Names shared by the writer (fixtures/reporting.py) and the readers (matrix) of Allure results."""

# Allure labels on every test result
TIER = "tier"          # suites/<tier>/: envoy, e2e, ...
SCENARIO = "scenario"  # the name of the module's SCENARIO declaration (l7suite/scenarios/), else the module name
CHECK = "check"        # the test function's name

# Allure parameters: what the check ran against (a matrix row)
CILIUM_VERSION = "Cilium version"
CILIUM_ENVOY_IMAGE = "cilium-envoy image"
ENVOY_VERSION = "Envoy version"
ENVOY_MODE = "Envoy mode"
ROW_PARAMETERS = (CILIUM_VERSION, CILIUM_ENVOY_IMAGE, ENVOY_VERSION, ENVOY_MODE)

# Values for the envoy tier, which runs upstream Envoy without Cilium
NO_CILIUM = "none (envoy tier)"
UPSTREAM_ENVOY = "none (upstream Envoy, envoy tier)"
ENVOY_TIER_MODE = "standalone (envoy tier)"
