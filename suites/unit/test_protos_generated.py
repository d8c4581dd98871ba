"""The committed generated modules are exactly what grpcio-tools makes from the suite's protos."""

from __future__ import annotations

import pytest

from l7suite import REPO_ROOT
from l7suite.protos.regenerate import PROTOS, generate


@pytest.mark.parametrize("proto", PROTOS, ids=[p.stem for p in PROTOS])
def test_committed_modules_match_a_fresh_generation(proto, tmp_path):
    for fresh in generate(proto, tmp_path):
        committed = REPO_ROOT / fresh.relative_to(tmp_path)
        stale = f"{committed} is stale: run python -m l7suite.protos.regenerate"
        assert committed.read_text() == fresh.read_text(), stale
