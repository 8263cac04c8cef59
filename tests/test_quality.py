"""Project-wide checks: layer boundaries, lint, format and types."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IO_MODULES = {
    *("grpc", "plyvel", "socket", "time", "random", "os", "threading", "asyncio"),
    *("subprocess", "signal", "select", "secrets", "shutil", "tempfile"),
}
# Calendar arithmetic (datetime.date) is pure, but reading a clock is not.
CLOCK_CALLS = {"now", "today", "utcnow", "time", "time_ns", "monotonic", "perf_counter"}
# Which top-level modules each pure package must never import.
FORBIDDEN = {
    "chain": IO_MODULES | {"node", "cli"},
    "consensus": IO_MODULES | {"node", "cli", "chain", "proto", "google"},
}
# The one import allowed between chain/ and consensus/: chain -> consensus.ed25519, a leaf that
# imports nothing of the project (one Ed25519 implementation). consensus never imports chain.
CHAIN_MAY_IMPORT_FROM_CONSENSUS = {"consensus.ed25519"}
LEAVES = ("consensus/ed25519.py",)
PACKAGES = ("chain", "consensus", "node", "cli")
# Single modules embedded elsewhere: the offline certificate verifier must run without a node,
# a network stack or a database (tests/cli/test_verify.py also checks what it loads).
MODULE_FORBIDDEN = {"cli/verify.py": {"grpc", "node", "plyvel", "socket", "asyncio"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_pure_packages_import_no_io(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"{package}/ must stay free of I/O and outer layers: {offenders}"


def _module_imports(path: Path) -> set[str]:
    # Full dotted names: "from consensus import ed25519" counts as "consensus.ed25519".
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
            names.add(node.module)
    return names


def _not_allowed_from_consensus(path: Path) -> list[str]:
    used = {n for n in _module_imports(path) if n.split(".")[0] == "consensus"}
    allowed = {
        n
        for n in used
        for leaf in CHAIN_MAY_IMPORT_FROM_CONSENSUS
        if n == leaf or n.startswith(leaf + ".") or (n == "consensus" and leaf in used)
    }
    return sorted(used - allowed)


def test_chain_imports_only_the_ed25519_leaf_of_consensus() -> None:
    offenders = {
        str(path.relative_to(ROOT)): bad
        for path in sorted((ROOT / "chain").rglob("*.py"))
        if (bad := _not_allowed_from_consensus(path))
    }
    assert not offenders, f"chain/ may import consensus.ed25519 only: {offenders}"


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaf_modules_import_nothing_of_the_project(leaf: str) -> None:
    project = {"chain", "consensus", "node", "cli", "proto", "tests"}
    offenders = sorted(_imports(ROOT / leaf) & project)
    assert not offenders, f"{leaf} must stay a leaf: it imports {offenders}"


@pytest.mark.parametrize("module", sorted(MODULE_FORBIDDEN))
def test_embeddable_modules_import_no_node_or_network(module: str) -> None:
    offenders = sorted(_imports(ROOT / module) & MODULE_FORBIDDEN[module])
    assert not offenders, f"{module} must stay embeddable: it imports {offenders}"


def _clock_calls(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_CALLS
    }


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_pure_packages_read_no_clock(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_clock_calls(path))
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"{package}/ must not read a clock: {offenders}"


def test_boundary_check_bites(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom plyvel import DB\nimport datetime\ndatetime.date.today()\n")
    assert _imports(bad) & FORBIDDEN["chain"] == {"time", "plyvel"}
    assert _clock_calls(bad) == {"today"}
    leaf_ok = tmp_path / "leaf_ok.py"
    leaf_ok.write_text("from consensus import ed25519\nfrom consensus.ed25519 import verify\n")
    assert _not_allowed_from_consensus(leaf_ok) == []
    engine = tmp_path / "engine.py"
    engine.write_text("from consensus import ed25519, Engine\nimport consensus.types\n")
    assert _not_allowed_from_consensus(engine) == ["consensus.Engine", "consensus.types"]


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint_is_clean() -> None:
    result = _run([_tool("ruff"), "check", *PACKAGES, "proto/generate.py", "tests"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _run([_tool("ruff"), "format", "--check", *PACKAGES, "proto/generate.py", "tests"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = _run([sys.executable, "-m", "mypy", *PACKAGES])
    assert result.returncode == 0, result.stdout + result.stderr
