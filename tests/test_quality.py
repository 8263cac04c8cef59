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
NAMESPACE = "carbon_ticket"
# Which top-level modules (and which of the project's packages) each pure package must never import.
FORBIDDEN = {
    "chain": IO_MODULES | {f"{NAMESPACE}.{name}" for name in ("node", "cli")},
    "consensus": IO_MODULES
    | {"google", *(f"{NAMESPACE}.{name}" for name in ("node", "cli", "chain", "proto"))},
}
# The one import allowed between chain/ and consensus/: chain -> consensus.ed25519, a leaf that
# imports nothing of the project (one Ed25519 implementation). consensus never imports chain.
CHAIN_MAY_IMPORT_FROM_CONSENSUS = {"carbon_ticket.consensus.ed25519"}
LEAVES = ("consensus/ed25519.py",)
PACKAGES = ("chain", "consensus", "node", "cli")
# Single modules embedded elsewhere: the offline certificate verifier must run without a node,
# a network stack or a database (tests/cli/test_verify.py also checks what it loads).
MODULE_FORBIDDEN = {"cli/verify.py": {"grpc", f"{NAMESPACE}.node", "plyvel", "socket", "asyncio"}}
# The repository's folders are installed as carbon_ticket.<folder>: importing one by its bare name
# would load a second copy of its modules (and of their classes) beside the installed one.
BARE_NAMES = {"chain", "consensus", "node", "proto", "cli"}


def _top(name: str) -> str:
    """``grpc.aio`` -> ``grpc``; inside the namespace one level more: ``carbon_ticket.node``."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == NAMESPACE else parts[0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(_top(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(_top(node.module))
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
    # Full dotted names: "from carbon_ticket.consensus import ed25519" counts as the leaf module.
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
    package = f"{NAMESPACE}.consensus"
    used = {n for n in _module_imports(path) if _top(n) == package}
    allowed = {
        n
        for n in used
        for leaf in CHAIN_MAY_IMPORT_FROM_CONSENSUS
        if n == leaf or n.startswith(leaf + ".") or (n == package and leaf in used)
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
    project = {f"{NAMESPACE}.{p}" for p in ("chain", "consensus", "node", "cli", "proto")}
    project |= {"tests", *BARE_NAMES}
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
    leaf_ok.write_text(
        "from carbon_ticket.consensus import ed25519\n"
        "from carbon_ticket.consensus.ed25519 import verify\n"
    )
    assert _not_allowed_from_consensus(leaf_ok) == []
    engine = tmp_path / "engine.py"
    engine.write_text(
        "from carbon_ticket.consensus import ed25519, Engine\n"
        "import carbon_ticket.consensus.types\n"
    )
    assert _not_allowed_from_consensus(engine) == [
        "carbon_ticket.consensus.Engine",
        "carbon_ticket.consensus.types",
    ]
    bad.write_text("from carbon_ticket.node.store import S\nimport carbon_ticket.cli.main as m\n")
    assert _imports(bad) & FORBIDDEN["chain"] == {"carbon_ticket.node", "carbon_ticket.cli"}


def _python_files() -> list[Path]:
    """Every Python file of the project and its tests (generated protobuf code included)."""
    folders = (*PACKAGES, "proto", "ns", "tests")
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_nothing_imports_a_package_by_its_bare_name() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & BARE_NAMES) for path in _python_files()
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"import these as {NAMESPACE}.<package>: {offenders}"


def test_bare_name_check_bites(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import chain\nfrom node.app import App\nimport carbon_ticket.cli\n")
    assert _imports(bad) & BARE_NAMES == {"chain", "node"}


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint_is_clean() -> None:
    result = _run([_tool("ruff"), "check", *PACKAGES, "proto/generate.py", "ns", "tests"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = _run(
        [_tool("ruff"), "format", "--check", *PACKAGES, "proto/generate.py", "ns", "tests"]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    # mypy reads the installed package (an editable install links it into build/).
    result = _run([sys.executable, "-m", "mypy", "-p", NAMESPACE])
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_the_tests() -> None:
    # Same settings as the package (pyproject.toml): a helper typed wrong, or a test calling
    # the package with the wrong types, fails here rather than when the line happens to run.
    result = _run([sys.executable, "-m", "mypy", "tests"])
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert result.returncode == 0, "\n".join(errors) or result.stdout + result.stderr


# --- Import graph: no cycles among the project's modules, and node/ never imports cli/ ---------

GRAPH_PACKAGES = ("chain", "consensus", "node", "proto", "cli")


def _module_name(path: Path, root: Path) -> str:
    """The name the module is installed under: ``node/app.py`` -> ``carbon_ticket.node.app``."""
    parts = [NAMESPACE, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(name: str, known: set[str]) -> str | None:
    """The longest prefix of the dotted ``name`` that is one of the project's modules."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def _targets(statement: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """Dotted names a statement imports; ``from a import b`` names ``a.b`` when that is a module.

    Like ``import a.b``, ``from a import b`` for a submodule ``b`` needs the package ``a`` to
    exist, not its ``__init__`` to have run to the end, so it is an edge to ``a.b`` only.
    """
    if isinstance(statement, ast.Import):
        return [alias.name for alias in statement.names]
    base = statement.module or ""
    if statement.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (statement.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [f"{base}.{alias.name}" for alias in statement.names]


def import_graph(
    root: Path = ROOT, packages: tuple[str, ...] = GRAPH_PACKAGES
) -> dict[str, set[str]]:
    """Module -> the project modules it imports, from every import statement in the file.

    Module-level, function-level and ``if TYPE_CHECKING:`` imports all count: each one is a
    dependency a reader must follow, and a cycle hidden behind a late import is still a cycle.
    """
    files = {
        _module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    }
    known = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for statement in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(statement, ast.Import | ast.ImportFrom):
                for name in _targets(statement, module, is_package):
                    # A name that is no module resolves to the package or module that defines it.
                    target = _resolve(name, known)
                    if target is not None and target != module:
                        edges.add(target)
        graph[module] = edges
    return graph


def import_cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycles_among_the_packages() -> None:
    found = sorted(sorted(cycle) for cycle in import_cycles(import_graph()))
    assert not found, f"import cycles (each list imports itself round): {found}"


def cli_imports_in_node(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    """node/ modules that import cli/, with what they import from it."""
    offenders = {
        module: sorted(target for target in targets if _top(target) == f"{NAMESPACE}.cli")
        for module, targets in graph.items()
        if _top(module) == f"{NAMESPACE}.node"
    }
    return {module: targets for module, targets in offenders.items() if targets}


def test_node_never_imports_cli() -> None:
    # The validator must run without the command line; tools that drive nodes live in cli/tools/.
    offenders = cli_imports_in_node(import_graph())
    assert not offenders, f"node/ must not import cli/: {offenders}"


def test_cycle_finder_bites() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": {"a"}}
    assert import_cycles(graph) == {frozenset("abc"), frozenset("de")}
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == set()


def test_import_graph_counts_late_and_type_checking_imports(tmp_path: Path) -> None:
    ns = NAMESPACE
    files = {
        "node/__init__.py": "",
        "node/a.py": f"import typing\nif typing.TYPE_CHECKING:\n    from {ns}.node.b import B\n",
        "node/b.py": f"def late() -> None:\n    from {ns}.node import a\n",
        "node/c.py": f"import grpc\nfrom .b import late\nfrom {ns}.node import VERSION\n",
        "cli/__init__.py": "",
        "cli/some_command.py": "",
        "node/d.py": f"def f() -> None:\n    import {ns}.cli.some_command\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = {
        module.removeprefix(f"{ns}."): {target.removeprefix(f"{ns}.") for target in targets}
        for module, targets in import_graph(tmp_path, ("node", "cli")).items()
    }
    assert graph["node.a"] == {"node.b"} and graph["node.b"] == {"node.a"}
    assert graph["node.c"] == {"node", "node.b"} and graph["node.d"] == {"cli.some_command"}
    assert import_cycles(graph) == {frozenset({"node.a", "node.b"})}
    assert cli_imports_in_node(import_graph(tmp_path, ("node", "cli"))) == {
        f"{ns}.node.d": [f"{ns}.cli.some_command"]
    }
