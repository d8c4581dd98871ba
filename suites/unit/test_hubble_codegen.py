"""The committed generated modules are exactly what grpcio-tools makes from hubble_min.proto."""

from __future__ import annotations

from l7suite import REPO_ROOT
from l7suite.hubble.codegen import generate


def test_committed_pb2_files_match_a_fresh_generation(tmp_path):
    for fresh in generate(tmp_path):
        committed = REPO_ROOT / fresh.relative_to(tmp_path)
        assert committed.read_text() == fresh.read_text(), f"{committed} is stale: run python -m l7suite.hubble.codegen"
