"""Generate Python modules (`_pb2.py`, `.pyi` stub, `_pb2_grpc.py`) from one of the suite's own protos.

Used by `python -m l7suite.hubble.codegen` and `python -m l7suite.grpc_lb.codegen`; their unit tests
regenerate into a temporary folder and compare with the committed modules.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from l7suite import REPO_ROOT


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
