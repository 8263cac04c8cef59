"""Regenerate the committed Python code for the .proto files under ``carbonticket/v1/``.

Run from anywhere: ``python -m carbon_ticket.proto.generate``. Uses the grpcio-tools pinned in
setup.cfg's ``test`` extra so that the committed code only changes when the pin changes.

The .proto files are laid out by package (``carbonticket/v1/ledger.proto``) and import each other
by that path, so any client includes only ``proto/``. The Python modules stay flat beside this
file (``carbon_ticket.proto.ledger_pb2``): protoc's imports (``from carbonticket.v1 import ...``)
are rewritten to the installed package.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
ROOT = PROTO_DIR.parent
PROTO_PACKAGE = "carbonticket/v1"
PROTO_FILES = ("ledger.proto", "services.proto")
PYTHON_PACKAGE = "carbon_ticket.proto"
_GENERATED_IMPORT = re.compile(r"^from carbonticket\.v1 import ", re.MULTILINE)


def generate(out_dir: Path = ROOT) -> None:
    """Run protoc for every .proto file, writing ``proto/*_pb2*.py`` under ``out_dir``."""
    from grpc_tools import protoc  # imported lazily: only needed to regenerate

    include = Path(protoc.__file__).resolve().parent / "_proto"
    with tempfile.TemporaryDirectory() as scratch:
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"-I{include}",
            f"--python_out={scratch}",
            f"--pyi_out={scratch}",
            f"--grpc_python_out={scratch}",
            *(f"{PROTO_PACKAGE}/{name}" for name in PROTO_FILES),
        ]
        code = protoc.main(args)
        if code != 0:
            raise SystemExit(f"protoc failed with exit code {code}")
        target = out_dir / "proto"
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted((Path(scratch) / PROTO_PACKAGE).iterdir()):
            text = _GENERATED_IMPORT.sub(f"from {PYTHON_PACKAGE} import ", path.read_text())
            (target / path.name).write_text(text)


if __name__ == "__main__":
    generate()
    sys.exit(0)
