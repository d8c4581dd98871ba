"""Versions the e2e tier pins: the default Cilium release, the default kind release, tool minimums.

matrix.yaml is read when a value is asked for (`default_cilium_version()`, `KIND_NODE_IMAGES[...]`), never
at import: importing the harness works with any matrix.yaml, and a broken one fails the run that reads it.

The kind node images themselves live in matrix.yaml (`kind:`, per kind release, pinned by digest
from each release's notes) and are chosen per Cilium release by `l7suite.versions.node_image_for`,
inside the Kubernetes range that Cilium release is tested on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from l7suite.versions import cilium_releases, kind_node_images, node_image_for

CILIUM_CHART_REPO = "https://helm.cilium.io"

# The kind release whose node images are used when the kind on PATH is not one matrix.yaml lists (or
# there is none, as for `--plan` on a machine without tools). A key of matrix.yaml's `kind:`.
DEFAULT_KIND_VERSION = "0.32.0"

# Oldest tool versions the suite is written for (server-side apply, `helm --repo`, kind's kubeProxyMode).
MIN_KUBECTL = (1, 30)
MIN_HELM = (3, 12)

__all__ = ["CILIUM_CHART_REPO", "DEFAULT_KIND_VERSION", "KIND_NODE_IMAGES", "MIN_HELM",
           "MIN_KUBECTL", "default_cilium_version", "kind_node_images", "node_image_for", "version_tuple"]


def default_cilium_version() -> str:
    """The newest Cilium release listed in matrix.yaml (the one versions file the nightly matrix reads too)."""
    return cilium_releases()[0].version


class KindDefaultNodeImages(Mapping[str, str]):
    """kind release -> its default node image, read from matrix.yaml when used, not at import.
    Which kind releases the suite knows; the image a run uses is `node_image_for`'s choice."""

    def _table(self) -> dict[str, str]:
        return {kind: images[0] for kind, images in kind_node_images().items()}

    def __getitem__(self, kind_version: str) -> str:
        return self._table()[kind_version]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


KIND_NODE_IMAGES = KindDefaultNodeImages()


def version_tuple(text: str) -> tuple[int, ...]:
    core = text.strip().lstrip("v").split("+")[0].split("-")[0]
    return tuple(int(p) for p in core.split(".") if p.isdigit())
