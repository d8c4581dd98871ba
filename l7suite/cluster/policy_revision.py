"""A network policy is in force on every node before traffic is sent, as `cilium connectivity test` does it.

cilium-cli (cilium/cilium `cilium-cli/connectivity/check/policy.go`, applyPolicies): read the policy
revision of every Cilium agent, create or update the policies, count the policies that changed on the API
server, then on every agent wait until all its endpoints run revision `before + changed`. The agent-side
commands, exec'd in container `cilium-agent` of each `k8s-app=cilium` pod:

- `cilium-dbg policy get -o jsonpath={.revision}` (cilium-dbg/cmd/policy_get.go; `-o` is
  pkg/command/output.go: `json` prints the `Policy` model indented, `jsonpath=EXPR` prints EXPR's value
  and a newline; without `-o` it prints the policy JSON and `Revision: N`). The model's `revision` is
  `omitempty` (api/v1/models/policy.go), so revision 0 prints as nothing.
- `cilium-dbg policy wait REV --max-wait-time SECONDS` (cilium-dbg/cmd/policy_wait.go): exits 0 once every
  endpoint of that agent is `ready` at a realized revision >= REV, else fails with "N endpoints still not
  ready after ..." (or "... have failed regeneration ..." after --fail-wait-time, 60 s by default).
The per-node CLI is `cilium-dbg` since Cilium 1.15 (cilium/cilium#28085 renamed it from `cilium`); the
suite supports 1.17 and later. Which objects count as a change: a policy object created, or one whose
`metadata.generation` moved (the API server bumps it on a spec change; cilium-cli counts
create-or-update calls that changed something).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tenacity import RetryError, Retrying, retry_if_result, stop_after_attempt, wait_fixed

from l7suite.cluster import tools
from l7suite.cluster.kube import Kube
from l7suite.cluster.nodes import AGENT_SELECTOR
from l7suite.manifests import K8sObject

AGENT_NAMESPACE = "kube-system"
AGENT_CONTAINER = "cilium-agent"  # cilium-cli defaults.AgentContainerName
# Kinds whose create/update/delete bumps the agent's policy repository revision.
POLICY_KINDS = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy")
READ_ATTEMPTS = 3  # cilium-cli getPolicyRevisionRetries: a blip must not fail the read
READ_RETRY_SECONDS = 1.0

_PLAIN = re.compile(r"^Revision:\s*(\d+)\s*$", re.MULTILINE)


class PolicyNotInForce(AssertionError):
    """A policy change was not realized on every agent within its deadline (names the agents and why)."""


def revision_argv() -> list[str]:
    # no shell between kubectl and the agent: the jsonpath needs no quoting (cilium-cli passes
    # `jsonpath='{.revision}'` and strips the quotes it then gets back)
    return ["cilium-dbg", "policy", "get", "-o", "jsonpath={.revision}"]


def wait_argv(revision: int, max_wait: float) -> list[str]:
    return ["cilium-dbg", "policy", "wait", str(revision), "--max-wait-time", str(max(1, int(max_wait)))]


def parse_revision(stdout: str) -> int:
    """The revision from any of `cilium-dbg policy get`'s outputs: jsonpath (`42`, or `'42'` when the
    template carried quotes), `-o json` (the Policy model), or the plain `...\\nRevision: 42`."""
    text = stdout.strip()
    plain = _PLAIN.findall(text)
    if plain:
        return int(plain[-1])
    if text.startswith("{"):
        try:
            model = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"`cilium-dbg policy get -o json` printed invalid JSON: {text[:200]!r}") from None
        return int(model.get("revision", 0))  # omitempty: no key is revision 0
    value = text.strip("'\"")
    if value == "":
        return 0  # jsonpath of an omitted (zero) revision
    if not value.isdigit():
        raise ValueError(f"not a policy revision: {stdout[:200]!r}")
    return int(value)


def policy_objects(objects: Sequence[K8sObject]) -> list[K8sObject]:
    return [o for o in objects if o.kind in POLICY_KINDS]


@dataclass(frozen=True)
class AgentWait:
    pod: str
    revision: int  # waited for
    seconds: float
    ok: bool
    detail: str  # cilium-dbg's last line when it failed


@dataclass
class PolicyChange:
    """What one apply changed and how long each agent took to realize it (kept as progress lines)."""

    changed: list[str] = field(default_factory=list)  # `Kind ns/name` created or updated
    before: dict[str, int] = field(default_factory=dict)  # agent pod -> revision before the apply
    waits: list[AgentWait] = field(default_factory=list)


Progress = Callable[[str], None]


@dataclass
class PolicySync:
    """Reads and waits for policy revisions on every Cilium agent, through the Kube seam."""

    kube: Kube
    max_wait: float  # per agent, `cilium-dbg policy wait --max-wait-time`
    progress: Progress = lambda line: None
    sleep: Callable[[float], None] = time.sleep

    def agents(self) -> list[str]:
        pods = sorted(p["metadata"]["name"] for p in self.kube.pods(AGENT_NAMESPACE, AGENT_SELECTOR))
        if not pods:
            raise PolicyNotInForce(f"no Cilium agent pods ({AGENT_SELECTOR}) in {AGENT_NAMESPACE}: "
                                   "cannot tell when a policy is in force")
        return pods

    def _exec(self, pod: str, argv: list[str], timeout: float) -> tools.Completed:
        return self.kube.kubectl("exec", "-n", AGENT_NAMESPACE, pod, "-c", AGENT_CONTAINER, "--", *argv,
                                 timeout=timeout)

    def revision(self, pod: str) -> int:
        def read() -> tools.Completed:
            return self._exec(pod, revision_argv(), self.kube.timeouts.kubectl)

        try:
            done = Retrying(stop=stop_after_attempt(READ_ATTEMPTS), wait=wait_fixed(READ_RETRY_SECONDS),
                            sleep=self.sleep, retry=retry_if_result(lambda d: d.returncode != 0))(read)
        except RetryError as exc:
            done = exc.last_attempt.result()
            raise PolicyNotInForce(f"cannot read the policy revision of agent {pod} ({READ_ATTEMPTS} tries): "
                                   f"`{' '.join(done.argv)}` exited {done.returncode}: "
                                   f"{(done.stderr or done.stdout).strip()[-500:]}") from None
        try:
            return parse_revision(done.stdout)
        except ValueError as exc:
            raise PolicyNotInForce(f"agent {pod}: {exc}") from None

    def revisions(self) -> dict[str, int]:
        return {pod: self.revision(pod) for pod in self.agents()}

    def generations(self, objects: Sequence[K8sObject]) -> dict[str, int | None]:
        """`Kind ns/name` -> metadata.generation on the API server (None: not there)."""
        out: dict[str, int | None] = {}
        for obj in objects:
            found = self.kube.get(obj.kind, obj.namespace or "default", obj.name)
            out[obj.ref] = None if found is None else int(found.get("metadata", {}).get("generation", 0))
        return out

    def wait(self, before: dict[str, int], delta: int) -> list[AgentWait]:
        """Every agent of `before` reaches its revision + delta; all are waited for, then failures raised."""
        waits = []
        for pod, revision in sorted(before.items()):
            target = revision + delta
            started = time.monotonic()
            done = self._exec(pod, wait_argv(target, self.max_wait), self.max_wait + 30)
            seconds = time.monotonic() - started
            detail = "" if done.returncode == 0 else _last_line(done.stderr or done.stdout) or f"exit {done.returncode}"
            waits.append(AgentWait(pod, target, round(seconds, 1), done.returncode == 0, detail))
            self.progress(f"agent {pod}: policy revision {target} "
                          + (f"in force after {seconds:.1f}s" if done.returncode == 0 else f"NOT in force: {detail}"))
        failed = [w for w in waits if not w.ok]
        if failed:
            raise PolicyNotInForce(
                f"policy not in force on {len(failed)} of {len(waits)} Cilium agents within {self.max_wait:g}s "
                "(deadline policy_wait, l7suite/cluster/timeouts.py): "
                + "; ".join(f"{w.pod} revision {w.revision}: {w.detail}" for w in failed))
        return waits

    def begin(self, objects: Sequence[K8sObject]) -> PendingChange:
        """Before applying `objects`: every agent's revision and the policies' generations."""
        policies = policy_objects(objects)
        if not policies:
            return PendingChange(self, [], {}, {})
        return PendingChange(self, policies, self.revisions(), self.generations(policies))

    def apply(self, apply: Callable[[], object], objects: Sequence[K8sObject]) -> PolicyChange:
        """Run `apply` (the kubectl apply of a file holding `objects`) and, when it changed policies,
        wait until every agent has realized them."""
        pending = self.begin(objects)
        apply()
        return pending.finish()


@dataclass
class PendingChange:
    """Between reading the revisions and waiting for them: the apply (and anything else) happens here."""

    sync: PolicySync
    policies: list[K8sObject]
    before: dict[str, int]
    generations: dict[str, int | None]

    def finish(self) -> PolicyChange:
        change = PolicyChange(before=self.before)
        if not self.policies:
            return change
        after = self.sync.generations(self.policies)
        change.changed = [ref for ref in self.generations if after[ref] is None or after[ref] != self.generations[ref]]
        if not change.changed:
            self.sync.progress(f"policies unchanged ({', '.join(self.generations)}): no revision to wait for")
            return change
        self.sync.progress(f"policies changed: {', '.join(change.changed)}; waiting for "
                           f"{len(self.before)} agents to realize them")
        change.waits = self.sync.wait(self.before, len(change.changed))
        return change


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1] if lines else ""
