"""Traffic from inside the cluster: curl in a client pod, a batch of requests in one exec, fortio runs.

Everything here builds argv lists and parses outputs; running them goes through an `Exec` callable
(the cluster seam), so parsing is tested on recorded outputs without a cluster.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


# (namespace, pod, argv, timeout seconds) -> result; `kubectl exec` behind the seam.
Exec = Callable[[str, str, Sequence[str], float], ExecResult]
