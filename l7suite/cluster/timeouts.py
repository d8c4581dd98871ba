"""Every deadline of the e2e tier's bring-up, scenario setup and cleanup, in one place.

pytest-timeout's `timeout = 300` (pyproject.toml) bounds each test *body* only
(`timeout_func_only = true`): a session bring-up of 10-20 minutes or a scenario setup of 5 would
otherwise count against the first test that needs them and be cut mid-way. Fixtures are bounded by
these deadlines instead, step by step, so a step that hangs fails with the step's name and its
deadline. The numbers are generous on purpose: they catch a hang, they do not measure speed.

`L7SUITE_E2E_TIMEOUTS="kind_create=900,cilium_ready=1200"` overrides some of them (slow machines,
or a rehearsal that shrinks the clock); an unknown name is refused with the list of known ones.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

ENV = "L7SUITE_E2E_TIMEOUTS"


@dataclass(frozen=True)
class Timeouts:
    # kind
    kind_query: float = 60.0  # `kind get clusters`, `kind export kubeconfig`
    kind_create: float = 600.0  # node containers, kubeadm init and join of three nodes
    kind_delete: float = 300.0
    # --preload-images, per image
    image_pull: float = 900.0  # `docker pull` of an image of up to ~1 GB
    image_save: float = 300.0  # `docker save` to an archive
    image_load: float = 600.0  # `kind load image-archive` into every node
    # Helm and Cilium
    helm_query: float = 120.0  # `helm show values` (reads the chart from the repository)
    helm_install: float = 900.0  # `helm upgrade --install` (pulls the chart; does not wait for pods)
    cilium_ready: float = 600.0  # agent, cilium-envoy, operator, Hubble Relay, CoreDNS rolled out
    adopt_ready: float = 120.0  # an existing cluster (--kubeconfig) must already be, or soon be, ready
    # scenarios
    kubectl: float = 30.0  # one `kubectl get`/`events` call
    apply: float = 120.0  # one `kubectl apply --server-side -f FILE`
    workloads_ready: float = 300.0  # a scenario's Deployments and Pods ready (image pulls included)
    delete: float = 180.0  # one `kubectl delete --wait -f FILE` (a namespace waits for its pods)
    port_forward: float = 30.0  # kubectl port-forward printing its "Forwarding from" line
    policy_wait: float = 60.0  # every agent realizing a policy change (`cilium-dbg policy wait`; cilium-cli: 30 s)
    converge: float = 60.0  # a scenario answering as expected N times in a row after a change
    hubble: float = 10.0  # Hubble Relay answering one flows query through its port-forward
    cec_generated: float = 120.0  # the operator writing the CEC of a Service annotated for L7 load balancing
    flows: float = 60.0  # the flows a check expects showing up in Hubble (each fetch bounded by `hubble`)
    log_wait: float = 30.0  # a request showing up in a proxy container's access log
    # the agent restart (suites/e2e/test_daemonset_resilience.py); the two durations are not deadlines, but
    # named here so the rehearsal can shrink them too
    restart: float = 480.0  # `rollout restart daemonset/cilium` until every agent is ready again
    restart_warm_up: float = 5.0  # seconds of requests before the restart
    restart_settle: float = 10.0  # seconds of requests after the agents are ready again
    flows_after_restart: float = 90.0  # as `flows`, after the restart (Hubble's buffers restart with the agents)
    # the runner (python -m l7suite.cluster.e2e_run)
    child_cleanup: float = 600.0  # an interrupted pytest step tearing down its scenarios


def names() -> list[str]:
    return [f.name for f in dataclasses.fields(Timeouts)]


def parse(text: str, base: Timeouts | None = None) -> Timeouts:
    """`name=seconds[,name=seconds...]` over `base` (the defaults)."""
    changes: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in names():
            raise ValueError(f"{ENV}: unknown deadline {name!r}; known: {', '.join(names())}")
        try:
            seconds = float(value)
        except ValueError:
            raise ValueError(f"{ENV}: {name}={value!r} is not a number of seconds") from None
        if seconds <= 0:
            raise ValueError(f"{ENV}: {name}={value} must be more than 0 seconds")
        changes[name] = seconds
    return dataclasses.replace(base or Timeouts(), **changes)


def current() -> Timeouts:
    """The defaults, with the overrides of L7SUITE_E2E_TIMEOUTS when it is set."""
    return parse(os.environ.get(ENV, ""))
