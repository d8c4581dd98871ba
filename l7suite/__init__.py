"""Machinery of the Cilium Envoy L7 conformance suite: plain library code, no pytest imports."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFESTS_DIR = REPO_ROOT / "manifests"
MATRIX_FILE = REPO_ROOT / "matrix.yaml"
