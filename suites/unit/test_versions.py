"""Envoy version requests resolved against a list (the real matrix.yaml's list: suites/unit/test_matrix.py)."""

import pytest

from l7suite.versions import EnvoyVersions, UnknownVersion

KNOWN = EnvoyVersions(default="1.38", versions=("1.36.4", "1.37.0", "1.38.3", "1.39.3", "1.40.0"))


@pytest.mark.parametrize("requested, expected", [
    (None, ["1.38.3"]),
    (["1.39"], ["1.39.3"]),
    (["1.36.4", "1.40"], ["1.36.4", "1.40.0"]),
    (["1.37,1.37.0"], ["1.37.0"]),
    (["all"], list(KNOWN.versions)),
])
def test_resolve(requested, expected):
    assert KNOWN.resolve(requested) == expected


def test_unknown_version_lists_the_known_ones():
    with pytest.raises(UnknownVersion) as info:
        KNOWN.resolve(["1.99"])
    assert "1.99" in str(info.value) and "1.36.4, 1.37.0, 1.38.3, 1.39.3, 1.40.0" in str(info.value)
