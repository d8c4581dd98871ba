"""Config compatibility: every CiliumEnvoyConfig under manifests/, on every supported Envoy version."""

from l7suite.scenarios.declaration import Scenario

SCENARIO = Scenario(
    name="config-compat",
    title="Config compatibility: every CEC/CCEC under manifests/ on every supported Envoy version",
    description=(
        "Every CiliumEnvoyConfig and CiliumClusterwideEnvoyConfig of every folder under manifests/, translated "
        "as the agent does (names qualified, config sources and defaults filled in), is ACKed by each Envoy "
        "version of matrix.yaml with its listeners active. The terminal summary's table gives each folder's "
        "verdict per version: ACK, NACK (Envoy's own text), NO ACK in N s or INVALID (refused before Envoy "
        "started, naming the file and field); a child run on broken copies shows each verdict."),
    tiers=("envoy",),
    every_folder=True,
)
