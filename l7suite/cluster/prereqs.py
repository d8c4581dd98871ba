"""Before anything else: a Docker engine that answers, and kind, kubectl, helm in supported versions.

`python -m l7suite.cluster.prereqs` prints one message listing everything missing with how to install
it, and exits 1; every probe has a short timeout, so the whole check ends within seconds.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
from dataclasses import dataclass

from l7suite.cluster import tools
from l7suite.cluster.tool_pins import DEFAULT_KIND_VERSION, KIND_NODE_IMAGES, MIN_HELM, MIN_KUBECTL, version_tuple

PROBE_TIMEOUT = 10.0

INSTALL = {
    "docker": "install Docker Engine and start it (https://docs.docker.com/engine/install/); "
              "`docker info` must answer (set DOCKER_HOST for a remote engine)",
    "kind": "install kind v" + " / v".join(sorted(KIND_NODE_IMAGES)) +
            " (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
    "kubectl": f"install kubectl >= {'.'.join(map(str, MIN_KUBECTL))} (https://kubernetes.io/docs/tasks/tools/)",
    "helm": f"install helm >= {'.'.join(map(str, MIN_HELM))} (https://helm.sh/docs/intro/install/)",
}


@dataclass(frozen=True)
class Tool:
    name: str
    ok: bool
    version: str
    problem: str = ""


def check_docker(run: tools.Runner) -> Tool:
    done = run(["docker", "info", "--format", "{{.ServerVersion}}"], PROBE_TIMEOUT)
    version = done.stdout.strip()
    if done.returncode == 0 and version:
        return Tool("docker", True, version)
    detail = (done.stderr or done.stdout).strip().splitlines()
    return Tool("docker", False, "", detail[-1] if detail else f"exit {done.returncode}")


def kind_version_of(text: str) -> str:
    """`kind v0.32.0 go1.24.3 linux/amd64` -> `0.32.0` (kind's DisplayVersion format)."""
    words = text.split()
    return words[1].lstrip("v") if len(words) >= 2 and words[0] == "kind" else ""


def pinned_release(version: str) -> str | None:
    """`0.32.0` (or a pre-release `0.32.0-alpha`) -> `0.32.0` when a node image is pinned for that kind
    release (l7suite/cluster/tool_pins.py), else None."""
    release = version.split("-")[0]
    return release if release in KIND_NODE_IMAGES else None


@functools.cache
def installed_kind_version() -> str:
    """The kind on PATH picks the pinned node image; without one, the newest pinned release.
    Asked once per process (`kind version`)."""
    if not shutil.which("kind"):
        return DEFAULT_KIND_VERSION
    return pinned_release(kind_version_of(tools.run(["kind", "version"], PROBE_TIMEOUT).stdout)) or DEFAULT_KIND_VERSION


def check_kind(run: tools.Runner) -> Tool:
    done = run(["kind", "version"], PROBE_TIMEOUT)
    if done.returncode != 0:
        return Tool("kind", False, "", done.stderr.strip() or f"exit {done.returncode}")
    version = kind_version_of(done.stdout)
    if pinned_release(version) is None:
        return Tool("kind", False, version, f"kind {version or done.stdout.strip()!r} has no pinned node image")
    return Tool("kind", True, version)


def check_kubectl(run: tools.Runner) -> Tool:
    done = run(["kubectl", "version", "--client", "-o", "json"], PROBE_TIMEOUT)
    if done.returncode != 0:
        return Tool("kubectl", False, "", done.stderr.strip() or f"exit {done.returncode}")
    try:
        version = json.loads(done.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError) as exc:
        return Tool("kubectl", False, "", f"unreadable `kubectl version` output ({exc})")
    if version_tuple(version)[:2] < MIN_KUBECTL:
        return Tool("kubectl", False, version, f"kubectl {version} is older than supported")
    return Tool("kubectl", True, version)


def check_helm(run: tools.Runner) -> Tool:
    done = run(["helm", "version", "--short"], PROBE_TIMEOUT)
    if done.returncode != 0:
        return Tool("helm", False, "", done.stderr.strip() or f"exit {done.returncode}")
    version = done.stdout.strip()
    if version_tuple(version)[:2] < MIN_HELM:
        return Tool("helm", False, version, f"helm {version} is older than supported")
    return Tool("helm", True, version)


def check_all(run: tools.Runner = tools.run, existing_cluster: bool = False) -> list[Tool]:
    """With an existing cluster (`--kubeconfig`) only kubectl and helm are needed."""
    if existing_cluster:
        return [check_kubectl(run), check_helm(run)]
    return [check_docker(run), check_kind(run), check_kubectl(run), check_helm(run)]


def report(found: list[Tool]) -> str | None:
    """None when all is well; otherwise one message listing each missing tool and how to install it."""
    missing = [t for t in found if not t.ok]
    if not missing:
        return None
    lines = ["e2e prerequisites missing (the e2e tier needs a Docker engine, kind, kubectl and helm):"]
    for tool in missing:
        lines.append(f"  - {tool.name}: {tool.problem}\n      fix: {INSTALL[tool.name]}")
    ok = [f"{t.name} {t.version}" for t in found if t.ok]
    if ok:
        lines.append("  found: " + ", ".join(ok))
    lines.append("  (`--plan` shows what a run would do without any of these; `--kubeconfig PATH` "
                 "still needs kubectl and helm)")
    return "\n".join(lines)


def main() -> int:
    message = report(check_all())
    if message:
        print(message, file=sys.stderr)
        return 1
    print("e2e prerequisites: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
