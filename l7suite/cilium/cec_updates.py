"""Configuration changes to a running scenario, as `kubectl apply` of an edited CiliumEnvoyConfig.

The agent keeps the proxy port of a listener it already serves, so an edited config that only changes a
route is sent to Envoy as a route update (RDS), not as a new listener: Envoy drains nothing.
"""

from __future__ import annotations

from l7suite.cilium.cec_translation import SetConfigSource, translate_configs
from l7suite.cilium.translated import Translated
from l7suite.loopback_ports import free_loopback_port
from l7suite.manifests import CEC_KINDS, K8sObject, ManifestSet


def stage_configs(scenario: ManifestSet, stage: str) -> list[K8sObject]:
    """The CEC/CCEC objects of the scenario's `stages/<stage>.yaml`."""
    return [o for o in scenario.stage(stage) if o.kind in CEC_KINDS]


def translate_update(scenario: ManifestSet, edited: list[K8sObject], ports: dict[str, int],
                     set_config_source: SetConfigSource) -> Translated:
    """The scenario's configuration with `edited` replacing the CECs of the same kind, namespace and name
    (others kept), listeners keeping the proxy ports (`ports`: qualified name -> port) they have."""
    replaced = {(o.kind, o.namespace, o.name) for o in edited}
    kept = [o for o in scenario.envoy_configs() if (o.kind, o.namespace, o.name) not in replaced]
    # an address-less listener already served keeps its port; only a new one gets (and reserves) a port
    return translate_configs([*kept, *edited], scenario.objects, set_config_source,
                             lambda name: ports.get(name) or free_loopback_port())
