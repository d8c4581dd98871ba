"""Regenerate the Python modules (`_pb2.py`, `.pyi` stub, `_pb2_grpc.py`) of the suite's own protos.

    python -m l7suite.protos.regenerate     # after editing hubble_min.proto or hipstershop.proto

grpcio-tools is pinned in pyproject.toml; suites/unit/test_protos_generated.py regenerates into a
temporary folder and fails while a committed module differs from a fresh generation.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

from l7suite import REPO_ROOT

# Hubble's observer/flow API, trimmed to the fields the suite reads (hubble/), and the lab's
# currencyservice (standins/currency_service.py, traffic through Envoy).
PROTOS = (Path("l7suite/protos/hubble_min.proto"), Path("l7suite/protos/hipstershop.proto"))


def generate(proto: Path, out_dir: Path) -> list[Path]:
    """Write the modules of `proto` (relative to the repository) under `out_dir`, mirroring the package
    path; return their paths."""
    from grpc_tools import protoc  # imported here: only code generation needs grpcio-tools

    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = files("grpc_tools") / "_proto"  # google/protobuf/*.proto shipped with grpcio-tools
    args = ["grpc_tools.protoc", f"-I{REPO_ROOT}", f"-I{well_known}", f"--python_out={out_dir}",
            f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}", str(REPO_ROOT / proto)]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {proto}")
    stem = out_dir / proto.parent / proto.stem
    return [stem.with_name(f"{proto.stem}_pb2.py"), stem.with_name(f"{proto.stem}_pb2.pyi"),
            stem.with_name(f"{proto.stem}_pb2_grpc.py")]


def generate_all(out_dir: Path) -> list[Path]:
    return [path for proto in PROTOS for path in generate(proto, out_dir)]


if __name__ == "__main__":
    print("\n".join(str(p) for p in generate_all(REPO_ROOT)))
    sys.exit(0)
