"""A config's `spec.services` and `spec.backendServices`: which Services are redirected to which listener,
and whose backends the agent syncs to Envoy (pkg/ciliumenvoyconfig/controller.go getProxyRedirect,
k8s_reflector.go; cec_types.go).

- `services[]`: traffic to the Service is redirected to the named listener (ForceNamespace-qualified) or,
  without `listener`, to the config's first listener (the CRD's rule; agent versions differ when there are
  several, so a note says so); `ports` limits which Service ports are redirected; a CEC's `services` are
  always in the CEC's own namespace (a different `namespace` is ignored, testdata/namespaced-cross.txtar);
  a CCEC's default to `default`;
- `backendServices[]`: endpoints are served, nothing is redirected; the namespace defaults to the config's
  (`default` for a CCEC); `number` filters ports;
- which EDS names the agent publishes for those Services: l7suite/cilium/eds_names.py.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from l7suite.cilium.eds_names import ServiceRef
from l7suite.cilium.qualified_names import qualify
from l7suite.cilium.translated import Translated
from l7suite.manifests import CLUSTERWIDE_KINDS, DEFAULT_NAMESPACE, K8sObject, display_path


def note(config: K8sObject, text: str) -> str:
    """A note for the config's author, naming the file and the config."""
    return f"{display_path(config.source)} ({config.ref}): {text}"


def add_services(config: K8sObject, listeners: list[Message], out: Translated) -> None:
    namespaced = config.kind not in CLUSTERWIDE_KINDS
    with_address = [lst.name for lst in listeners if lst.address.HasField("socket_address")]
    for i, svc in enumerate(_entries(config, "services")):
        where = f"spec.services[{i}]"
        name = _service_name(config, svc, where)
        written = str(svc.get("namespace") or "")
        namespace = config.namespace if namespaced else (written or DEFAULT_NAMESPACE)
        if namespaced and written and written != namespace:
            out.notes.append(note(config, f"{where}.namespace {written!r} is ignored: a CiliumEnvoyConfig "
                                          f"redirects Services of its own namespace only ({namespace}/{name})"))
        ports = _ports(config, svc.get("ports"), f"{where}.ports", numbers_only=True)
        wanted = str(svc.get("listener") or "")
        if wanted:
            target = qualify(config.namespace, config.name, wanted, force=True)
            if target not in with_address:
                raise config.error(f"no listener {wanted!r} ({target}) in this config's resources: the agent "
                                   "redirects nothing for this Service", f"{where}.listener")
        elif with_address:
            target = with_address[0]
            if len(with_address) > 1:
                out.notes.append(note(config, f"{where} names no listener and the config has {len(with_address)}; "
                                              f"checked with the first ({target}), but Cilium versions differ on "
                                              "which one gets the traffic: name it"))
        else:
            out.notes.append(note(config, f"{where}: the config has no listener, so the agent redirects nothing "
                                          f"for {namespace}/{name} (it still serves its endpoints)"))
            target = ""
        if target:
            out.redirects[(namespace, name)] = target
            out.redirect_ports[(namespace, name)] = tuple(int(p) for p in ports)
        out.services.append(ServiceRef(namespace, name, ports, where, config))
    for i, svc in enumerate(_entries(config, "backendServices")):
        where = f"spec.backendServices[{i}]"
        name = _service_name(config, svc, where)
        namespace = str(svc.get("namespace") or (config.namespace if namespaced else DEFAULT_NAMESPACE))
        ports = _ports(config, svc.get("number"), f"{where}.number", numbers_only=False)
        out.services.append(ServiceRef(namespace, name, ports, where, config))


def _entries(config: K8sObject, key: str) -> list[dict]:
    entries = config.spec.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise config.error("expected a list of {name, namespace, ...} entries", f"spec.{key}")
    return entries


def _service_name(config: K8sObject, svc: dict, where: str) -> str:
    name = svc.get("name")
    if not name:
        raise config.error("required field is missing", f"{where}.name")
    return str(name)


def _ports(config: K8sObject, raw: Any, where: str, numbers_only: bool) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise config.error("expected a list", where)
    out = []
    for j, port in enumerate(raw):
        if numbers_only and not (isinstance(port, int) and 0 < port < 65536):
            raise config.error(f"expected a port number (1-65535), got {port!r}", f"{where}[{j}]")
        if not numbers_only and not isinstance(port, (str, int)):
            raise config.error(f"expected a port number or name, got {port!r}", f"{where}[{j}]")
        out.append(str(port))
    return tuple(out)
