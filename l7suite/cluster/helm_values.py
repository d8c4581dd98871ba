"""Helm values for Cilium: the files in manifests/cilium/ plus what depends on the run's options.

Base values (`values.yaml`) hold what every run needs; `envoy-embedded.yaml` turns the Envoy DaemonSet
off for `--envoy-mode embedded`. Per-run additions: `k8sServiceHost` (kind names the API server's
node `<cluster>-control-plane`), the `--envoy-image` override (DaemonSet mode only, see
`refuse_envoy_image`), and `useDigest: false` on every image when preloading (kind cannot load
`tag@sha256` references: kubernetes-sigs/kind#4028).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ENVOY_MODES = ("daemonset", "embedded")
BASE_VALUES = "values.yaml"
MODE_VALUES = {"daemonset": None, "embedded": "envoy-embedded.yaml"}
# The chart's image blocks that carry `useDigest` (cilium/cilium install/kubernetes/cilium/values.yaml).
IMAGE_PATHS = (("image",), ("operator", "image"), ("hubble", "relay", "image"), ("envoy", "image"))


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else in `extra` replaces."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def without_digest(image: str) -> str:
    """`repo:tag@sha256:...` -> `repo:tag`, the reference a preloaded image is known by in the nodes
    (kind cannot load digest references: kubernetes-sigs/kind#4028)."""
    return image.split("@", 1)[0]


def refuse_envoy_image(envoy_mode: str, envoy_image: str | None) -> None:
    """`--envoy-image` with `--envoy-mode embedded` is refused: the Cilium chart reads `envoy.image` only in
    the cilium-envoy DaemonSet template (install/kubernetes/cilium/templates/cilium-envoy/daemonset.yaml,
    rendered only when `envoy.enabled`); the agent DaemonSet (templates/cilium-agent/daemonset.yaml) runs
    `image`, whose Envoy is the one built into the agent image. The override would be silently ignored
    and the run labelled with an Envoy it never ran."""
    if envoy_mode == "embedded" and envoy_image:
        raise ValueError(
            f"--envoy-image {envoy_image} cannot be used with --envoy-mode embedded: in embedded mode Envoy runs "
            "inside the cilium agent image and the Cilium chart reads envoy.image only for the cilium-envoy "
            "DaemonSet, so the image would be ignored. Drop --envoy-image, or test it with --envoy-mode daemonset.")


def value_files(values_dir: Path, envoy_mode: str) -> list[Path]:
    if envoy_mode not in ENVOY_MODES:
        raise ValueError(f"--envoy-mode {envoy_mode!r}: choose one of {', '.join(ENVOY_MODES)}")
    files = [values_dir / BASE_VALUES]
    if MODE_VALUES[envoy_mode]:
        files.append(values_dir / str(MODE_VALUES[envoy_mode]))
    return files


def helm_values(values_dir: Path, cluster_name: str, envoy_mode: str, envoy_image: str | None,
                preload: bool) -> dict[str, Any]:
    refuse_envoy_image(envoy_mode, envoy_image)
    values: dict[str, Any] = {}
    for path in value_files(values_dir, envoy_mode):
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of Helm values")
        values = merge(values, loaded)
    values["k8sServiceHost"] = f"{cluster_name}-control-plane"
    values.setdefault("k8sServicePort", 6443)
    if envoy_image:
        _set(values, ("envoy", "image", "override"), without_digest(envoy_image) if preload else envoy_image)
    if preload:
        for image_block in IMAGE_PATHS:
            _set(values, (*image_block, "useDigest"), False)
    return values
