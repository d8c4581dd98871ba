"""Regenerate `hipstershop_pb2.py` (+ `.pyi` stub) and `hipstershop_pb2_grpc.py` from hipstershop.proto.

Run `python -m l7suite.grpc_lb.codegen` after editing the proto (grpcio-tools pinned in pyproject.toml);
suites/unit/test_grpc_currency.py fails while the committed modules differ from a fresh generation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from l7suite import REPO_ROOT

PROTO = Path("l7suite/grpc_lb/hipstershop.proto")


def generate(out_dir: Path) -> list[Path]:
    """Write the generated modules under `out_dir` (mirroring the package path); return their paths."""
    from importlib.resources import files

    from grpc_tools import protoc  # imported here: only code generation needs grpcio-tools

    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = files("grpc_tools") / "_proto"
    args = ["grpc_tools.protoc", f"-I{REPO_ROOT}", f"-I{well_known}", f"--python_out={out_dir}",
            f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}", str(REPO_ROOT / PROTO)]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {PROTO}")
    stem = out_dir / PROTO.parent / PROTO.stem
    return [stem.with_name(f"{PROTO.stem}_pb2.py"), stem.with_name(f"{PROTO.stem}_pb2.pyi"),
            stem.with_name(f"{PROTO.stem}_pb2_grpc.py")]


if __name__ == "__main__":
    print("\n".join(str(p) for p in generate(REPO_ROOT)))
    sys.exit(0)
