"""Machinery of the Cilium Envoy L7 conformance suite: plain library code, no pytest imports."""

import os
from pathlib import Path

# Envoy is started with fork+exec while gRPC threads run; gRPC's fork handlers are not needed for
# that and only log "skipping fork() handlers" on every start.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFESTS_DIR = REPO_ROOT / "manifests"
MATRIX_FILE = REPO_ROOT / "matrix.yaml"
