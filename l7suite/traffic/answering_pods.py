"""Which pod answered: the stand-ins (and the lab's Star Wars and echo images) put the pod's `hostname` in
their JSON answer, and a pod's name starts with its Deployment's (`deathstar-5d8b9c6f7d-x2k4q`). The lab's
exam counts `jq -r .hostname` of its answers, cut at the first `-`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping


def deployment_of(pod: str) -> str:
    """The Deployment part of a pod name: before the first `-` (the lab's `cut -d'-' -f1`)."""
    return pod.split("-")[0]


def answering_pod(status: int, body: bytes) -> str | None:
    """The `hostname` of a 200 answer (a key for l7suite.traffic.http_load); None for any other status."""
    return json.loads(body)["hostname"] if status == 200 else None


def answering_deployment(status: int, body: bytes) -> str | None:
    """The Deployment of the pod that gave a 200 answer; None for any other status."""
    pod = answering_pod(status, body)
    return None if pod is None else deployment_of(pod)


def per_deployment(per_pod: Mapping[str, int]) -> dict[str, int]:
    """Answers per Deployment from answers per pod."""
    counts: dict[str, int] = {}
    for pod, n in per_pod.items():
        counts[deployment_of(pod)] = counts.get(deployment_of(pod), 0) + n
    return counts
