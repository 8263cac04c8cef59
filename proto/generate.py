"""Regenerate the committed Python code for the .proto files in this folder.

Run from anywhere: ``python -m carbon_ticket.proto.generate``. Uses the grpcio-tools pinned in setup.cfg's
``test`` extra so that the committed code only changes when the pin changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
ROOT = PROTO_DIR.parent
PROTO_FILES = ("ledger.proto", "services.proto")


def generate(out_dir: Path = ROOT) -> None:
    """Run protoc for every .proto file, writing ``proto/*_pb2*.py`` under ``out_dir``."""
    from grpc_tools import protoc  # imported lazily: only needed to regenerate

    include = Path(protoc.__file__).resolve().parent / "_proto"
    files = [f"proto/{name}" for name in PROTO_FILES]
    args = [
        "grpc_tools.protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")


if __name__ == "__main__":
    generate()
    sys.exit(0)
