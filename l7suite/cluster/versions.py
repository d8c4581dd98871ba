"""Versions the e2e tier pins: the default Cilium release and kind's node images by kind release.

Node images must match the kind release that built them, so they are pinned per kind version, by
digest: each is that release's default node image (kubernetes-sigs/kind, file
pkg/apis/config/defaults/image.go at the release tag; read from tags v0.29.0..v0.32.0).
"""

from __future__ import annotations

from l7suite.versions import cilium_releases

# The newest Cilium release listed in matrix.yaml, the one versions file the nightly matrix reads too.
DEFAULT_CILIUM_VERSION = cilium_releases()[0].version
CILIUM_CHART_REPO = "https://helm.cilium.io"

KIND_NODE_IMAGES: dict[str, str] = {
    "0.29.0": "kindest/node:v1.33.1@sha256:050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f",
    "0.30.0": "kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a",
    "0.31.0": "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f",
    "0.32.0": "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
}
DEFAULT_KIND_VERSION = "0.32.0"

# Oldest tool versions the suite is written for (server-side apply, `helm --repo`, kind's kubeProxyMode).
MIN_KUBECTL = (1, 30)
MIN_HELM = (3, 12)


def version_tuple(text: str) -> tuple[int, ...]:
    core = text.strip().lstrip("v").split("+")[0].split("-")[0]
    return tuple(int(p) for p in core.split(".") if p.isdigit())
