"""Versions the suite knows, read from matrix.yaml (the one versions file)."""

from __future__ import annotations

import re
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


# --- Cilium releases and Envoy modes (matrix.yaml `cilium:`), read by the nightly workflow and its test ---

IMAGE_PIN = re.compile(r"^(?P<repo>[a-z0-9.-]+(?::\d+)?(?:/[a-z0-9._-]+)+):(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127})"
                       r"@sha256:(?P<digest>[0-9a-f]{64})$")
VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class CiliumRelease:
    version: str
    envoy_image: str

    @property
    def minor(self) -> str:
        return minor_of(self.version)


def cilium_releases(path: Path = MATRIX_FILE) -> list[CiliumRelease]:
    """matrix.yaml's Cilium releases, checked: X.Y.Z versions, one per minor, each with a pinned image."""
    entries = load_matrix(path).get("cilium", {}).get("releases") or []
    releases: list[CiliumRelease] = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"version", "envoy_image"}:
            raise ValueError(f"{path}: a Cilium release is {{version, envoy_image}}, got {entry!r}")
        release = CiliumRelease(str(entry["version"]), str(entry["envoy_image"] or ""))
        if not VERSION.match(release.version):
            raise ValueError(f"{path}: Cilium version {release.version!r} is not X.Y.Z")
        if not IMAGE_PIN.match(release.envoy_image):
            raise ValueError(f"{path}: Cilium {release.version}: envoy_image {release.envoy_image!r} is not "
                             "repository:tag@sha256:<64 hex> (the pin from the release's Makefile.values)")
        if any(r.minor == release.minor for r in releases):
            raise ValueError(f"{path}: Cilium {release.minor} is listed twice (one patch per minor)")
        releases.append(release)
    if not releases:
        raise ValueError(f"{path}: no Cilium releases under cilium.releases")
    return releases


def envoy_modes(path: Path = MATRIX_FILE) -> list[str]:
    modes = [str(m) for m in load_matrix(path).get("cilium", {}).get("envoy_modes") or []]
    if not modes or len(set(modes)) != len(modes):
        raise ValueError(f"{path}: cilium.envoy_modes must list each mode once, got {modes!r}")
    return modes


def nightly_matrix(path: Path = MATRIX_FILE) -> dict[str, list[dict[str, str]]]:
    """The nightly e2e jobs as a GitHub Actions `strategy.matrix` (`include` form): Cilium release x mode.

    `name` is the job's artifact name and run folder for the compatibility matrix, so it encodes the
    tier, the Cilium version and the mode, and is unique."""
    include = []
    for release in cilium_releases(path):
        for mode in envoy_modes(path):
            include.append({"cilium": release.version, "envoy_image": release.envoy_image, "mode": mode,
                            "name": f"e2e-cilium-{release.version}-{mode}"})
    return {"include": include}
