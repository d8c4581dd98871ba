"""What a run ran on, written into the Allure results folder at session end.

Two files, same facts:
- `environment.properties`: Allure shows it on the report's Environment panel (allure-pytest does
  not write it; Allure reads the Java properties format).
- `l7suite-run.json` (RUN_FILE): the run's metadata for the compatibility matrix (schema below).
  Its presence marks a folder as one run's results.

Every value is a string; a fact the run could not learn says so ("unknown (...)") instead of being
left out, so a reader can tell "not recorded" from "not applicable".
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from l7suite import REPO_ROOT
from l7suite.cluster import tools

RUN_FILE = "l7suite-run.json"
PROPERTIES_FILE = "environment.properties"
SCHEMA = 1

# The keys, in the order a person reads them. Other keys (recorded by fixtures) follow.
CILIUM = "Cilium"
CILIUM_ENVOY = "cilium-envoy"
ENVOY = "Envoy"
MODE = "Envoy mode"
KIND = "kind"
KUBERNETES = "Kubernetes"
KERNEL = "kernel"
COMMIT = "suite commit"
ORDER = (CILIUM, CILIUM_ENVOY, ENVOY, MODE, KIND, KUBERNETES, KERNEL, COMMIT)
# Recorded by the e2e tier when it read the cluster (l7suite/cluster/observed.py); FACTS_FROM is present
# exactly when CILIUM, CILIUM_ENVOY and MODE were read from the cluster rather than taken from options.
RELAY_PORT = "Hubble Relay port"
FACTS_FROM = "Cilium facts"


@dataclass
class RunInfo:
    """Content of RUN_FILE. `tiers`: the test tiers that ran (suites/<tier>/)."""

    tiers: list[str]
    started: str
    finished: str
    exit_status: int
    environment: dict[str, str]
    schema: int = SCHEMA
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> RunInfo:
        data = json.loads(path.read_text())
        if data.get("schema") != SCHEMA:
            raise ValueError(f"{path}: schema {data.get('schema')!r}, this suite reads schema {SCHEMA}")
        return cls(**data)


@dataclass(frozen=True)
class E2ELabels:
    """What an e2e run ran against, as its results are labelled (a row of the compatibility matrix)."""

    cilium: str
    envoy_image: str
    mode: str
    observed: bool  # read from the cluster (True) or taken from the options (False)


def e2e_labels(cilium: str | None, envoy_image: str | None, mode: str | None,
               recorded: Mapping[str, str]) -> E2ELabels:
    """The cluster's own answer once the run has read it (`recorded` holds FACTS_FROM); before that, or
    when it could not, the options. An embedded-mode run is never labelled with a cilium-envoy image:
    the chart reads `envoy.image` only for the cilium-envoy DaemonSet (l7suite/cluster/helm_values.py)."""
    if recorded.get(FACTS_FROM):
        return E2ELabels(recorded.get(CILIUM, "unknown"), recorded.get(CILIUM_ENVOY, "unknown"),
                         recorded.get(MODE, "unknown"), True)
    if mode == "embedded":
        image = f"embedded in the agent image (Cilium {cilium or '?'})"
    else:
        image = envoy_image or f"chart default of Cilium {cilium or '?'}"
    return E2ELabels(cilium or "unknown (no --cilium-version option)", image,
                     mode or "unknown (no --envoy-mode option)", False)


def git_commit(repo: Path = REPO_ROOT) -> str:
    """HEAD of the suite's checkout, with "-dirty" when the tree has changes."""
    if not shutil.which("git"):
        return "unknown (git not installed)"
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return f"unknown (not a git checkout: {head.stderr.strip()[:80]})"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def kind_version() -> str:
    """What `kind version` prints, through the e2e tier's subprocess seam (so `--record` keeps it)."""
    if not shutil.which("kind"):
        return "unknown (kind not on PATH)"
    out = tools.run(["kind", "version"], 10)
    return out.stdout.strip() or f"unknown (kind version: {out.stderr.strip()[:80]})"


def kernel() -> str:
    return f"{platform.system()} {platform.release()}"


def ordered(environment: Mapping[str, str]) -> dict[str, str]:
    known = {k: environment[k] for k in ORDER if k in environment}
    return {**known, **{k: v for k, v in sorted(environment.items()) if k not in known}}


def _escape_properties(text: str, key: bool) -> str:
    """Java .properties escaping: backslash, line breaks, and in keys also separators and spaces."""
    out = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    if key:
        for ch in (" ", "=", ":", "#", "!"):
            out = out.replace(ch, "\\" + ch)
    return out


def properties_text(environment: Mapping[str, str]) -> str:
    return "".join(f"{_escape_properties(k, True)}={_escape_properties(v, False)}\n"
                   for k, v in ordered(environment).items())


def write_run_files(results_dir: Path, info: RunInfo) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    info.environment = ordered(info.environment)
    (results_dir / PROPERTIES_FILE).write_text(properties_text(info.environment), encoding="utf-8")
    (results_dir / RUN_FILE).write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
