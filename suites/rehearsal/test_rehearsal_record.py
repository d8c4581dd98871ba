"""Rehearsal, `--record`: every command of the full run is kept, with the CiliumEnvoyConfigs and each agent's
`cilium-dbg status`, and a recorded folder answers the stand-ins' read-only calls (a user's recording becomes
fixtures)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from l7suite.cluster.record import Replay, normalized
from suites.rehearsal.planned import Planned
from suites.rehearsal.rehearsal_runs import E2E_MODULES
from suites.rehearsal.runner import Run


def test_record_keeps_every_command(full: Run) -> None:
    folder = full.folder / "record"
    recorded = [json_line for path in sorted((folder / "commands").glob("*.jsonl"))
                for json_line in map(_json, path.read_text().splitlines()) if json_line]
    fields = {"argv", "exit_code", "stdout", "stderr", "duration", "started", "timeout", "kind"}
    assert [r for r in recorded if set(r) != fields] == []
    made = sorted((normalized(c.argv), c.exit) for c in full.calls().calls)
    kept = sorted((normalized(r["argv"]), r["exit_code"]) for r in recorded)
    missing = [m for m in made if m not in kept]
    assert missing == [], f"{len(missing)} commands of the run not in the record, e.g. {missing[:5]}"
    assert len({p.name for p in (folder / "commands").glob("*.jsonl")}) >= 3, "one file per process"


def test_record_keeps_cecs_and_agent_status(full: Run, planned: Planned) -> None:
    folder = full.folder / "record"
    labels = {re.sub(r"-[^-]+-\d+\.yaml$", "", p.name) for p in (folder / "cec").glob("*.yaml")}
    dumped_after = sorted({label.rsplit("-", 1)[-1] for label in labels if label != "session-end"})
    assert dumped_after == E2E_MODULES and "session-end" in labels, sorted(labels)
    ccec = [yaml.safe_load(p.read_text()) for p in (folder / "cec").glob("circuit-breaker-*.yaml")]
    assert ccec and all(any(i["metadata"]["name"] == "envoy-circuit-breaker" for i in doc["items"]) for doc in ccec)
    agents = {c.notes["exec"]["pod"] for c in full.calls().kubectl("exec")
              if c.notes.get("exec", {}).get("command", [])[:2] == ["cilium-dbg", "status"]}
    kept = {re.sub(r"-[^-]+-\d+\.txt$", "", p.name) for p in (folder / "cilium-dbg-status").glob("*.txt")}
    assert agents and kept == agents


def test_record_is_replayed_by_the_standins(full: Run, tmp_path: Path) -> None:
    """A recorded folder answers the stand-ins' read-only calls: a user's recording becomes fixtures."""
    folder = full.folder / "record"
    replay = Replay(folder)
    reads = [a for a in replay.answers if a[0] == "kubectl" and "daemonset" in a]
    assert reads, "the record holds no kube-system DaemonSet read to replay"
    probe = Run(tmp_path / "replay", [])
    kubeconfig = tmp_path / "kubeconfig"
    argv = [a if a != "<path>" else str(kubeconfig) for a in reads[0]]
    env = {**probe.env(), "L7SUITE_REHEARSAL_REPLAY": str(folder)}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    expected = replay.answers[reads[0]]
    assert (done.returncode, done.stdout) == (expected.returncode, expected.stdout)


def _json(line: str) -> dict[str, Any] | None:
    return json.loads(line) if line.strip() else None
