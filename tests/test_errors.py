"""The error tree drawn in chain/errors.py is the tree in the code, and no root is raised."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import carbon_ticket.chain.errors as chain_errors

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chain", "consensus", "node", "cli")
# Abstract roots: they give an except clause something to catch, never say what went wrong.
ABSTRACT = frozenset({"LedgerError", "ConsensusError"})
# Files whose direct raises of a root another branch of issue 13 replaces (the "decode" helper
# owns node/app.py). Remove an entry once its file is clean: the test fails while it is stale.
PENDING_ROOT_RAISES: frozenset[str] = frozenset()
# A drawn line: the docstring's 4-space indent, then tree glyphs (4 characters a level), a name.
_DRAWN = re.compile(r"^    (?P<glyphs>(?:[│ ]   |├── |└── )*)(?P<name>[A-Za-z_]\w*)(?:\s{2,}.*)?$")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        path = [str(ROOT / package)]
        modules = pkgutil.walk_packages(path, prefix=f"{package}.")
        # A __main__ module runs a program when imported; it defines no error classes.
        names += [m.name for m in modules if not m.name.endswith(".__main__")]
    return sorted(names)


def project_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in the packages, by name (names are unique)."""
    found: dict[str, type[BaseException]] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if (
                inspect.isclass(cls)
                and issubclass(cls, BaseException)
                and cls.__module__ == module.__name__
            ):
                assert cls.__name__ not in found, f"two error classes named {cls.__name__}"
                found[cls.__name__] = cls
    return found


def drawn_tree(doc: str) -> dict[str, str | None]:
    """Each class the drawing names -> the class drawn as its parent (None for a root)."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in doc.splitlines():
        match = _DRAWN.match(line)
        if match is None:
            continue
        depth = len(match["glyphs"]) // 4
        if depth > len(stack):
            raise AssertionError(f"drawn line skips a level: {line!r}")
        del stack[depth:]
        assert match["name"] not in parents, f"{match['name']} is drawn twice"
        parents[match["name"]] = stack[-1] if stack else None
        stack.append(match["name"])
    return parents


def test_every_error_class_is_drawn_under_its_real_parent() -> None:
    classes = project_exceptions()
    drawn = drawn_tree(chain_errors.__doc__ or "")
    missing = sorted(set(classes) - set(drawn))
    assert not missing, f"error classes missing from the tree in chain/errors.py: {missing}"
    for name, cls in classes.items():
        (base,) = cls.__bases__
        expected = None if base is Exception else base.__name__
        assert drawn[name] == expected, (
            f"{name} derives from {base.__name__}, drawn under {drawn[name]}"
        )


def test_the_tree_names_no_class_that_does_not_exist() -> None:
    classes = project_exceptions()
    foreign_bases = {cls.__bases__[0].__name__ for cls in classes.values()} - set(classes)
    ghosts = sorted(set(drawn_tree(chain_errors.__doc__ or "")) - set(classes) - foreign_bases)
    assert not ghosts, f"the tree in chain/errors.py names classes that do not exist: {ghosts}"


def test_drawing_parser_reads_depth_and_parents() -> None:
    doc = "prose\n\n    A    root\n    ├── B    x\n    │   └── C\n    └── D\n\n    E\n    └── F\n"
    assert drawn_tree(doc) == {"A": None, "B": "A", "C": "B", "D": "A", "E": None, "F": "E"}


def root_calls(path: Path) -> list[int]:
    """Lines of ``path`` that raise or construct an abstract root."""
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = set()
    for node in ast.walk(tree):
        target = node.exc if isinstance(node, ast.Raise) else node
        if isinstance(target, ast.Call):
            target = target.func
        if isinstance(node, ast.Raise | ast.Call) and isinstance(target, ast.Name | ast.Attribute):
            name = target.id if isinstance(target, ast.Name) else target.attr
            if name in ABSTRACT:
                lines.add(node.lineno)
    return sorted(lines)


def test_no_abstract_root_is_raised_or_built() -> None:
    offenders: list[str] = []
    stale = set(PENDING_ROOT_RAISES)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            lines = root_calls(path)
            if relative in PENDING_ROOT_RAISES:
                if lines:
                    stale.discard(relative)
                continue
            offenders += [f"{relative}:{line}" for line in lines]
    assert not offenders, f"raise a concrete error class, not a root: {offenders}"
    assert not stale, f"no longer raises a root, remove it from PENDING_ROOT_RAISES: {stale}"


@pytest.mark.parametrize(
    ("source", "hits"),
    [
        ("raise LedgerError('x', 'y')\n", 1),
        ("import chain.errors as e\nraise e.LedgerError('x')\n", 1),
        ("raise ConsensusError\n", 1),
        ("error = LedgerError('x')\n", 1),
        ("raise NotFound('x', 'y')\nexcept_ = isinstance(1, LedgerError)\n", 0),
    ],
)
def test_root_scan_bites(tmp_path: Path, source: str, hits: int) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert len(root_calls(path)) == hits
