"""N requests in ONE exec that keep only the answering pod's `hostname` (the lab's exam counts
`jq -r .hostname` of 100 answers, seed 004). The Star Wars backends answer GET /v1/ with JSON carrying
"hostname"; grep/sed pick it whether the JSON is on one line or pretty-printed. Records have the
probes' batch format, so `parse_batch` reads them (body = hostname).
"""

from __future__ import annotations

from collections import Counter

from l7suite.traffic.answering_pods import deployment_of
from l7suite.traffic.pod_probes import Exec
from l7suite.traffic.pod_probes.batch import BatchResult, batch, batch_script
from l7suite.traffic.pod_probes.curl import CurlRequest

PICK_HOSTNAME = "grep -o '\"hostname\" *: *\"[^\"]*\"' | head -n 1 | sed 's/.*\"\\([^\"]*\\)\"$/\\1/'"


def hostname_batch_script(request: CurlRequest, count: int) -> str:
    return batch_script(request, count, pick=PICK_HOSTNAME)


def hostname_batch(run: Exec, namespace: str, pod: str, request: CurlRequest, count: int) -> BatchResult:
    return batch(run, namespace, pod, request, count, pick=PICK_HOSTNAME)


def groups(result: BatchResult) -> dict[str, int]:
    """Answers per Deployment: the hostname's part before the first `-` (the lab's `cut -d'-' -f1`)."""
    return dict(Counter(deployment_of(r.body) for r in result.records if r.status == 200 and r.body))
