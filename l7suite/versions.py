"""Versions the suite knows, read from matrix.yaml (the one versions file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from l7suite import MATRIX_FILE


class UnknownVersion(ValueError):
    """A requested version is not in matrix.yaml; the message lists the known ones."""


@dataclass(frozen=True)
class EnvoyVersions:
    default: str
    versions: tuple[str, ...]

    def resolve(self, requested: list[str] | None) -> list[str]:
        """Turn `--envoy-version` values (exact `1.38.3`, minor `1.38`, or `all`) into exact versions."""
        if not requested:
            requested = [self.default]
        out: list[str] = []
        for item in requested:
            for word in item.split(","):
                word = word.strip()
                if not word:
                    continue
                for version in self._resolve_one(word):
                    if version not in out:
                        out.append(version)
        return out

    def _resolve_one(self, word: str) -> list[str]:
        if word == "all":
            return list(self.versions)
        if word in self.versions:
            return [word]
        by_minor = [v for v in self.versions if minor_of(v) == word]
        if by_minor:
            return [by_minor[-1]]
        known = ", ".join(self.versions)
        raise UnknownVersion(
            f"unknown Envoy version {word!r}: known versions are {known} "
            f"(or a minor such as {minor_of(self.versions[-1])}, or 'all'); add one to matrix.yaml"
        )


def minor_of(version: str) -> str:
    return ".".join(version.split(".")[:2])


def load_matrix(path: Path = MATRIX_FILE) -> dict:
    with path.open() as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def envoy_versions(path: Path = MATRIX_FILE) -> EnvoyVersions:
    envoy = load_matrix(path)["envoy"]
    return EnvoyVersions(default=str(envoy["default"]), versions=tuple(str(v) for v in envoy["versions"]))
