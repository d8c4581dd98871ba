"""What translating CiliumEnvoyConfigs gives: Envoy resources by type and name, where each came from, and what
the suite needs to drive them (listener ports, Service redirects, EDS names, notes for the config's author).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message

from l7suite.cilium.eds_names import ServiceRef
from l7suite.envoy.resources import SHORT
from l7suite.manifests import K8sObject


@dataclass(frozen=True)
class Origin:
    """Where an Envoy resource came from, for error messages."""

    config: K8sObject
    index: int

    def describe(self) -> str:
        return f"{self.config.source} ({self.config.ref}, spec.resources[{self.index}])"


@dataclass
class Translated:
    """Envoy resources by type URL and name, and what the suite needs to drive them."""

    resources: dict[str, dict[str, Message]] = field(default_factory=dict)
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    listener_ports: dict[str, int] = field(default_factory=dict)
    # Services whose backends the agent syncs to Envoy (spec.services and spec.backendServices)
    services: list[ServiceRef] = field(default_factory=list)
    # spec.services: (namespace, service) -> qualified listener name that traffic is redirected to
    redirects: dict[tuple[str, str], str] = field(default_factory=dict)
    # ... and the Service ports redirected (empty: every port)
    redirect_ports: dict[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)
    # EDS clusters: cluster name -> the name Envoy asks EDS for (eds_cluster_config.service_name or its name)
    eds_names: dict[str, str] = field(default_factory=dict)
    # what a config's author should know that is not an error
    notes: list[str] = field(default_factory=list)

    def add(self, type_url: str, name: str, msg: Message, origin: Origin) -> None:
        existing = self.origins.get((type_url, name))
        if existing is not None:
            if existing.config is origin.config:  # the agent's own check, within one config
                raise origin.config.error(
                    f"duplicate {SHORT.get(type_url, type_url)} name {name!r} after qualification (also "
                    f"spec.resources[{existing.index}]); the agent refuses the config",
                    f"spec.resources[{origin.index}]")
            if self.resources[type_url][name] == msg:
                return  # the same resource from two configs (a shared `ns/svc` cluster): one copy for Envoy
            raise origin.config.error(
                f"{name!r} is also defined, differently, in {existing.describe()}: the agent would keep only one "
                "of them (whichever it processed last)", f"spec.resources[{origin.index}]")
        self.resources.setdefault(type_url, {})[name] = msg
        self.origins[(type_url, name)] = origin

    def merge(self, other: Translated) -> None:
        for (type_url, name), origin in other.origins.items():
            self.add(type_url, name, other.resources[type_url][name], origin)
        self.listener_ports.update(other.listener_ports)
        self.services.extend(other.services)
        for service, listener in other.redirects.items():
            if self.redirects.get(service, listener) != listener:
                self.notes.append(f"Service {'/'.join(service)} is redirected by two configs (to "
                                  f"{self.redirects[service]} and to {listener}): the agent keeps one of them")
        self.redirects.update(other.redirects)
        self.redirect_ports.update(other.redirect_ports)
        self.eds_names.update(other.eds_names)
        self.notes.extend(other.notes)

    def origin_of(self, type_url: str, name: str) -> Origin | None:
        return self.origins.get((type_url, name))

    def origin_lines(self, type_url: str, names: list[str]) -> list[str]:
        """`  'name' comes from <file> (<config>, spec.resources[i])` for each of `names` with an origin."""
        return [f"  {name!r} comes from {origin.describe()}" for name in names
                if (origin := self.origin_of(type_url, name)) is not None]

    def configs(self) -> list[K8sObject]:
        seen: dict[int, K8sObject] = {}
        for origin in self.origins.values():
            seen.setdefault(id(origin.config), origin.config)
        return list(seen.values())
