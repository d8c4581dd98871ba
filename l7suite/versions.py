"""Versions the suite knows, read from matrix.yaml (the one versions file)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from l7suite import MATRIX_FILE
from l7suite.manifests import SAFE_LOADER


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
        data = yaml.load(fh, Loader=SAFE_LOADER)
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
MINOR_RANGE = re.compile(r"^(?P<low>\d+\.\d+)-(?P<high>\d+\.\d+)$")
RELEASE_KEYS = {"version", "envoy_image", "kubernetes"}


def minor_tuple(version: str) -> tuple[int, int]:
    """"1.33", "v1.33.12" -> (1, 33)."""
    major, minor = version.strip().lstrip("v").split(".")[:2]
    return int(major), int(minor)


@dataclass(frozen=True)
class CiliumRelease:
    version: str
    envoy_image: str
    # the Kubernetes minors the release's docs list as e2e tested, (low, high) inclusive; None: not read
    kubernetes: tuple[str, str] | None = None

    @property
    def minor(self) -> str:
        return minor_of(self.version)

    def tests_kubernetes(self, version: str) -> bool:
        if self.kubernetes is None:
            return False
        low, high = (minor_tuple(v) for v in self.kubernetes)
        return low <= minor_tuple(version) <= high


def _kubernetes_range(path: Path, version: str, value: object) -> tuple[str, str] | None:
    if value is None:
        return None
    found = MINOR_RANGE.match(str(value))
    if not found or minor_tuple(found["low"]) > minor_tuple(found["high"]):
        raise ValueError(f"{path}: Cilium {version}: kubernetes {value!r} is not MIN-MAX (e.g. \"1.30-1.33\") or null")
    return found["low"], found["high"]


def cilium_releases(path: Path = MATRIX_FILE) -> list[CiliumRelease]:
    """matrix.yaml's Cilium releases, checked: X.Y.Z versions, one per minor, each with a pinned image."""
    entries = load_matrix(path).get("cilium", {}).get("releases") or []
    releases: list[CiliumRelease] = []
    for entry in entries:
        if not isinstance(entry, dict) or not {"version", "envoy_image"} <= set(entry) <= RELEASE_KEYS:
            raise ValueError(f"{path}: a Cilium release is {{version, envoy_image, kubernetes}}, got {entry!r}")
        version = str(entry["version"])
        release = CiliumRelease(version, str(entry["envoy_image"] or ""),
                                _kubernetes_range(path, version, entry.get("kubernetes")))
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


# --- kind node images (matrix.yaml `kind:`) and the one a run uses ---

NODE_IMAGE = re.compile(r"^kindest/node:v(?P<kubernetes>\d+\.\d+\.\d+)@sha256:[0-9a-f]{64}$")


def kind_node_images(path: Path = MATRIX_FILE) -> dict[str, tuple[str, ...]]:
    """kind release ("0.32.0") -> its node images, newest first, each `kindest/node:vX.Y.Z@sha256:...`."""
    table = load_matrix(path).get("kind") or {}
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{path}: no kind releases under kind:")
    out: dict[str, tuple[str, ...]] = {}
    for kind_version, images in table.items():
        if not VERSION.match(str(kind_version)) or not isinstance(images, list) or not images:
            raise ValueError(f"{path}: kind {kind_version!r}: expected an X.Y.Z key with a list of node images")
        for image in images:
            if not NODE_IMAGE.match(str(image)):
                raise ValueError(f"{path}: kind {kind_version}: node image {image!r} is not "
                                 "kindest/node:vX.Y.Z@sha256:<64 hex> (pin it by the digest from kind's release notes)")
        out[str(kind_version)] = tuple(str(i) for i in images)
    return out


def kubernetes_of(node_image: str) -> str:
    """`kindest/node:v1.33.12@sha256:...` -> "1.33.12"."""
    found = NODE_IMAGE.match(node_image)
    if not found:
        raise ValueError(f"{node_image!r} is not a digest-pinned kindest/node image")
    return found["kubernetes"]


@dataclass(frozen=True)
class NodeImageChoice:
    image: str
    reason: str  # one line for `--plan` and the report: why this image

    @property
    def kubernetes(self) -> str:
        return kubernetes_of(self.image)


def node_image_for(kind_version: str, cilium_version: str, path: Path = MATRIX_FILE) -> NodeImageChoice:
    """The kind node image for this Cilium release: the newest image of the kind release inside the Kubernetes
    range the Cilium minor is e2e tested on (matrix.yaml); the kind release's default when the range was not
    recorded. A kind release without an image in the range is refused, naming the releases that have one."""
    kind_version = kind_version.lstrip("v")  # `kind version` and the workflow say v0.32.0
    tables = kind_node_images(path)
    if kind_version not in tables:
        raise UnknownVersion(f"unknown kind release {kind_version!r}: matrix.yaml lists node images for "
                             f"{', '.join(tables)}; add that release's images (from its release notes) to matrix.yaml")
    images = tables[kind_version]
    release = next((r for r in cilium_releases(path) if r.minor == minor_of(cilium_version)), None)
    if release is None or release.kubernetes is None:
        why = "not in matrix.yaml" if release is None else "its tested Kubernetes range is not recorded in matrix.yaml"
        return NodeImageChoice(images[0], f"kind v{kind_version}'s default node image (Cilium "
                                          f"{minor_of(cilium_version)}: {why}; not checked against Cilium's "
                                          "Kubernetes compatibility page)")
    low, high = release.kubernetes
    inside = [i for i in images if release.tests_kubernetes(kubernetes_of(i))]
    if not inside:
        others = [k for k, imgs in tables.items() if any(release.tests_kubernetes(kubernetes_of(i)) for i in imgs)]
        raise ValueError(f"kind v{kind_version} publishes no node image for Kubernetes {low}-{high}, the range "
                         f"Cilium {release.minor} is tested on (its images: "
                         f"{', '.join(kubernetes_of(i) for i in images)}); "
                         f"use kind {', '.join(others) or '(none listed)'}")
    return NodeImageChoice(inside[0], f"Kubernetes {kubernetes_of(inside[0])}, the newest kind v{kind_version} image "
                                      f"inside Cilium {release.minor}'s tested {low}-{high}")


def nightly_matrix(path: Path = MATRIX_FILE, kind_version: str | None = None) -> dict[str, list[dict[str, str]]]:
    """The nightly e2e jobs as a GitHub Actions `strategy.matrix` (`include` form): Cilium release x mode.

    `name` is the job's artifact name and run folder for the compatibility matrix, so it encodes the
    tier, the Cilium version and the mode, and is unique. `envoy_image` only on DaemonSet cells: the
    chart reads `envoy.image` only in the cilium-envoy DaemonSet, so an embedded cell runs the Envoy of
    the agent image and must not be labelled with another. With `kind_version`, `node_image` is the kind
    node image the run will use (the workflow saves it into its image cache)."""
    include = []
    for release in cilium_releases(path):
        node = node_image_for(kind_version, release.version, path).image if kind_version else None
        for mode in envoy_modes(path):
            cell = {"cilium": release.version, "mode": mode, "name": f"e2e-cilium-{release.version}-{mode}"}
            if mode == "daemonset":
                cell["envoy_image"] = release.envoy_image
            if node:
                cell["node_image"] = node
            include.append(cell)
    return {"include": include}
