"""Regenerate `hipstershop_pb2.py` (+ `.pyi` stub) and `hipstershop_pb2_grpc.py` from hipstershop.proto.

Run `python -m l7suite.grpc_lb.codegen` after editing the proto (grpcio-tools pinned in pyproject.toml);
suites/unit/test_grpc_currency.py fails while the committed modules differ from a fresh generation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from l7suite import REPO_ROOT, protogen

PROTO = Path("l7suite/grpc_lb/hipstershop.proto")


def generate(out_dir: Path) -> list[Path]:
    """Write the generated modules under `out_dir` (mirroring the package path); return their paths."""
    return protogen.generate(PROTO, out_dir)


if __name__ == "__main__":
    print("\n".join(str(p) for p in generate(REPO_ROOT)))
    sys.exit(0)
