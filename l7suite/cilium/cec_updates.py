"""Configuration changes to a running scenario, as `kubectl apply` of an edited CiliumEnvoyConfig.

The agent keeps the proxy port of a listener it already serves, so an edited config that only changes a
route is sent to Envoy as a route update (RDS), not as a new listener: Envoy drains nothing.
"""

from __future__ import annotations

from l7suite.cilium.cec_translation import Translated, policy_listeners, restore_original_destination, translate
from l7suite.envoy.envoy_run import DEFAULT_VARIABLES, EnvoyRun, ads_config_source
from l7suite.envoy.resources import LISTENER
from l7suite.manifests import CEC_KINDS, K8sObject, load_file


def stage_configs(run: EnvoyRun, stage: str, variables: dict[str, str] | None = None) -> list[K8sObject]:
    """The CEC/CCEC objects of `stages/<stage>.yaml` of the run's scenario."""
    stages = run.scenario.stage_files()
    if stage not in stages:
        raise KeyError(f"scenario {run.scenario.name!r} has no stage {stage!r} in {run.scenario.directory / 'stages'};"
                       f" stages: {sorted(stages)}")
    objects = load_file(stages[stage], {**DEFAULT_VARIABLES, **(variables or {})})
    return [o for o in objects if o.kind in CEC_KINDS]


def translate_update(run: EnvoyRun, configs: list[K8sObject]) -> Translated:
    """The run's configuration with `configs` replacing the CECs of the same kind, namespace and name
    (others kept), listeners keeping the ports they have."""
    replaced = {(o.kind, o.namespace, o.name) for o in configs}
    kept = [o for o in run.scenario.envoy_configs() if (o.kind, o.namespace, o.name) not in replaced]
    merged = Translated()
    for config in [*kept, *configs]:
        merged.merge(translate(config, ads_config_source))
    ports = run.translated.listener_ports
    redirected = policy_listeners(run.scenario.objects)
    for name, listener in merged.resources.get(LISTENER, {}).items():
        if name in redirected:
            restore_original_destination(listener)
        sock = listener.address.socket_address
        if name in ports and sock.address == "127.0.0.1" and sock.port_value != ports[name]:
            sock.port_value = ports[name]
            merged.listener_ports[name] = ports[name]
    return merged
