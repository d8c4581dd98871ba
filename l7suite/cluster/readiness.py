"""Readiness predicates on API objects (as `kubectl get -o json` returns them) and a bounded wait.

A rollout counts only when the controller has seen the latest spec (observedGeneration >= generation)
and its counts agree: for a DaemonSet, updated, ready and available equal desired (and desired > 0);
for a Deployment, updated, ready and available replicas equal spec.replicas.

The wait polls until every component is ready or its deadline passes. A read that fails transiently
(the API server restarting, a 503 or 429; l7suite.cluster.kube.is_transient) is retried within the same
deadline; any other error ends the wait at once. At the deadline the message names every component
still pending with its last known state, and the last transient error if the API never answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tenacity import RetryError, Retrying, retry_if_exception, retry_if_result, stop_after_delay, wait_fixed

from l7suite.cluster.kube import is_transient


@dataclass(frozen=True)
class Component:
    kind: str  # DaemonSet or Deployment
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name} ({self.namespace})"


@dataclass(frozen=True)
class Readiness:
    component: Component
    ready: bool
    detail: str


def _generation_seen(obj: dict[str, Any]) -> str | None:
    generation = obj.get("metadata", {}).get("generation", 0)
    observed = obj.get("status", {}).get("observedGeneration", 0)
    if observed < generation:
        return f"controller has not seen generation {generation} yet (observed {observed})"
    return None


@dataclass(frozen=True)
class Rollout:
    """Where a kind keeps the count it wants and the status counts that must reach it."""

    wanted: tuple[str, str, int]  # (section, field, default)
    label: str  # the wanted count's name in messages
    counts: tuple[str, str, str]  # updated, ready, available


ROLLOUTS = {
    "DaemonSet": Rollout(("status", "desiredNumberScheduled", 0), "desired",
                         ("updatedNumberScheduled", "numberReady", "numberAvailable")),
    "Deployment": Rollout(("spec", "replicas", 1), "replicas",
                          ("updatedReplicas", "readyReplicas", "availableReplicas")),
}


def readiness(component: Component, obj: dict[str, Any] | None) -> Readiness:
    if obj is None:
        return Readiness(component, False, "not found")
    rollout = ROLLOUTS[component.kind]
    section, field, default = rollout.wanted
    wanted = obj.get(section, {}).get(field, default)
    updated, ready, available = (obj.get("status", {}).get(k, 0) for k in rollout.counts)
    unseen = _generation_seen(obj)
    if unseen:
        return Readiness(component, False, unseen)
    if component.kind == "DaemonSet" and not wanted:
        return Readiness(component, False, "no node scheduled (desired 0)")
    return Readiness(component, updated == ready == available == wanted,
                     f"{rollout.label} {wanted}, updated {updated}, ready {ready}, available {available}")


def cilium_components(envoy_mode: str) -> list[Component]:
    """What a Cilium install with Hubble Relay must have ready before scenarios run."""
    out = [Component("DaemonSet", "kube-system", "cilium")]
    if envoy_mode == "daemonset":
        out.append(Component("DaemonSet", "kube-system", "cilium-envoy"))
    out += [Component("Deployment", "kube-system", "cilium-operator"),
            Component("Deployment", "kube-system", "hubble-relay"),
            Component("Deployment", "kube-system", "coredns")]
    return out


class NotReady(AssertionError):
    pass


def wait_ready(get: Callable[[Component], dict[str, Any] | None], components: Sequence[Component],
               timeout: float, interval: float = 5.0,
               progress: Callable[[str], None] = lambda line: None,
               retry_on: Callable[[BaseException], bool] = is_transient) -> list[Readiness]:
    """Poll until every component is ready or `timeout` passes; print a progress line per change."""
    started = time.monotonic()
    last: list[str] = []
    known: dict[Component, Readiness] = {}

    def report(line: str) -> None:
        if line != (last[-1] if last else None):
            last.append(line)
            progress(f"[{time.monotonic() - started:5.0f}s] {line}")

    def poll() -> list[Readiness]:
        states = []
        for component in components:
            try:
                state = readiness(component, get(component))
            except BaseException as exc:
                if retry_on(exc):
                    report(f"{component.name}: API error, retrying: {_first_line(exc)}")
                raise
            known[component] = state
            states.append(state)
        report("; ".join(f"{s.component.name}: {'ready' if s.ready else s.detail}" for s in states))
        return states

    retrying = Retrying(stop=stop_after_delay(timeout), wait=wait_fixed(interval),
                        retry=retry_if_result(lambda states: not all(s.ready for s in states))
                        | retry_if_exception(retry_on))
    try:
        return retrying(poll)
    except RetryError as exc:
        error = exc.last_attempt.exception() if exc.last_attempt.failed else None
        pending = [known.get(c, Readiness(c, False, "never read")) for c in components]
        lines = [f"  {s.component}: {s.detail}" for s in pending if not s.ready]
        if error is not None:
            lines.append(f"  last API error (retried until the deadline): {_first_line(error)}")
        raise NotReady(f"not ready after {timeout:g}s:\n" + "\n".join(lines)) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
