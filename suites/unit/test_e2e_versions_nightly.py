"""The nightly workflow's e2e job, run where it can be: its matrix one-liner, its cache key per cell, and
its shell steps under bash with stand-in `tox` and `docker` that log what they were asked."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from l7suite import REPO_ROOT
from l7suite.versions import kind_node_images, nightly_matrix, node_image_for

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "nightly.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(matrix|env)\.(\w+)\s*\}\}")
HASH_FILES = re.compile(r"\$\{\{\s*hashFiles\([^)]*\)\s*\}\}")


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def kind_version() -> str:
    return str(workflow()["env"]["KIND_VERSION"])


def cells() -> list[dict[str, str]]:
    return nightly_matrix(kind_version=kind_version())["include"]


def cell(cilium: str, mode: str) -> dict[str, str]:
    return next(c for c in cells() if c["cilium"] == cilium and c["mode"] == mode)


def step(name_start: str) -> dict:
    steps = workflow()["jobs"]["e2e"]["steps"]
    return next(s for s in steps if s.get("name", "").startswith(name_start))


def evaluate(text: str, matrix: dict[str, str]) -> str:
    """GitHub's substitution for the expressions these steps use: a missing matrix property is ''."""
    env = {k: str(v) for k, v in workflow()["env"].items()}
    text = HASH_FILES.sub("HASH", text)
    return EXPRESSION.sub(lambda m: (matrix if m[1] == "matrix" else env).get(m[2], ""), text)


def run_step(name_start: str, matrix: dict[str, str], bin_dir: Path, tmp: Path) -> subprocess.CompletedProcess:
    """The step's `run` script under bash -e (as Actions runs it), its `env` evaluated for this cell."""
    chosen = step(name_start)
    env = {k: evaluate(str(v), matrix) for k, v in (chosen.get("env") or {}).items()}
    script = evaluate(chosen["run"], matrix)
    path = f"{bin_dir}:{os.environ['PATH']}"
    return subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": path, "RUNNER_TEMP": str(tmp), "LOG": str(tmp / "log"), **env})


def stand_in(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(0o755)


def logged(tmp: Path) -> list[list[str]]:
    log = tmp / "log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


LOG_ARGV = 'python3 -c \'import json, sys; print(json.dumps(sys.argv[1:]))\' "$(basename "$0")" "$@" >> "$LOG"\n'


def test_the_setup_one_liner_prints_the_matrix_github_reads():
    script = step_of_setup()["run"].split('matrix="$(', 1)[1].split(')"\n', 1)[0]
    assert script.startswith("python -c ")
    done = subprocess.run(["bash", "-c", script.replace("python -c", f"{sys.executable} -c", 1)], cwd=REPO_ROOT,
                          env={**os.environ, "KIND_VERSION": kind_version()}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == nightly_matrix(kind_version=kind_version())
    assert "\n" not in done.stdout.strip(), "GITHUB_OUTPUT takes one line"


def step_of_setup() -> dict:
    return next(s for s in workflow()["jobs"]["setup"]["steps"] if s.get("id") == "matrix")


def test_the_kind_release_of_the_workflow_has_node_images_in_matrix_yaml():
    assert kind_version().lstrip("v") in kind_node_images()


def test_each_cell_has_its_own_image_cache_key():
    # one key per Envoy mode too: the modes pull different images, and two cells running at once with
    # one key would leave one of them uncached
    keys = [evaluate(step("Restore the image cache")["with"]["key"], c) for c in cells()]
    assert len(set(keys)) == len(keys), keys
    daemonset, embedded = (evaluate(step("Restore the image cache")["with"]["key"], cell("1.18.14", m))
                           for m in ("daemonset", "embedded"))
    assert daemonset != embedded


@pytest.mark.parametrize("mode", ["daemonset", "embedded"])
def test_tox_gets_the_envoy_image_only_in_daemonset_mode(tmp_path, mode):
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir, "tox", LOG_ARGV)
    matrix = cell("1.18.14", mode)
    done = run_step("tox -e e2e", matrix, bin_dir, tmp_path)
    assert done.returncode == 0, done.stderr
    expected = ["tox", "-e", "e2e", "--", "--cilium-version", "1.18.14", "--envoy-mode", mode, "--cluster-name",
                "l7suite", "--preload-images"]
    if mode == "daemonset":
        expected += ["--envoy-image", matrix["envoy_image"]]
    assert logged(tmp_path) == [expected]


def fake_docker(bin_dir: Path, node_image: str) -> None:
    """Docker after a run: the agent image tagged, the node image pulled by digest (listed as <none>)."""
    stand_in(bin_dir, "docker", LOG_ARGV + f"""
tags="$(dirname "$0")/tags"
case "$1 $2" in
  "image inspect") [ "$3" = "{node_image}" ] ;;
  "image ls") printf 'quay.io/cilium/cilium:v1.18.14\\nkindest/node:<none>\\n'; cat "$tags" 2>/dev/null || true ;;
  "tag "*) echo "$3" >> "$tags" ;;
  "save -o") touch "$3" ;;
esac
""")


def test_the_saved_images_include_the_kind_node_image_under_a_tag(tmp_path):
    matrix = cell("1.18.14", "daemonset")
    node = matrix["node_image"]
    assert node == node_image_for(kind_version(), "1.18.14").image
    bin_dir = tmp_path / "bin"
    fake_docker(bin_dir, node)
    done = run_step("Save images for the next run", matrix, bin_dir, tmp_path)
    assert done.returncode == 0, done.stderr
    saved = [call[-1] for call in logged(tmp_path) if call[:2] == ["docker", "save"]]
    # saved by tag: `docker save <digest reference>` would write no name to load it back under
    assert saved == ["kindest/node:" + node.split(":")[1].split("@")[0], "quay.io/cilium/cilium:v1.18.14"]


def test_embedded_cells_carry_no_envoy_image_and_every_cell_a_node_image():
    for c in cells():
        assert ("envoy_image" in c) == (c["mode"] == "daemonset"), c
        assert c["node_image"] == node_image_for(kind_version(), c["cilium"]).image
