"""The rules of shape docs/contributing.md states, checked on the tree git tracks: no two modules with one
name, and no hand-written module over 250 lines unless its docstring says why."""

from __future__ import annotations

import ast
import subprocess
from collections import defaultdict
from pathlib import PurePosixPath

from l7suite import REPO_ROOT

LIMIT = 250
REASON = "Longer than 250 lines because"  # how a module's docstring gives its reason


def tracked_modules() -> list[PurePosixPath]:
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return [PurePosixPath(p) for p in out.stdout.split() if "_pb2" not in p]


def test_no_two_modules_have_one_name():
    # A scenario's test modules share its name across the tiers on purpose: suites/envoy/test_x.py and
    # suites/e2e/test_x.py are the two halves of scenario x; a third module of that name is not.
    places = defaultdict(list)
    for path in tracked_modules():
        if path.name not in ("__init__.py", "conftest.py"):
            places[path.name].append(str(path.parent))
    clashes = {name: dirs for name, dirs in places.items()
               if len(dirs) > 1 and sorted(dirs) != ["suites/e2e", "suites/envoy"]}
    assert not clashes, f"modules that share a name (rename one for what it holds): {clashes}"


def test_no_module_is_longer_than_250_lines_without_a_reason():
    long = []
    for path in tracked_modules():
        text = (REPO_ROOT / path).read_text()
        if text.count("\n") > LIMIT and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            long.append(f"{path}: {text.count(chr(10))} lines")
    assert not long, f"split these by idea, or say why in the docstring ('{REASON} ...'): {long}"
