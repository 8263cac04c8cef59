"""The distribution installs one top-level package, ``carbon_ticket``, beside anyone else's.

The repository keeps its top-level folders (``chain/``, ``node/``, ...); setup.cfg's
``package_dir`` installs them as ``carbon_ticket.chain``, ``carbon_ticket.node``, ... The slow
test builds the wheel and installs it into a fresh virtual environment next to a distribution
that ships its own top-level ``proto``, ``cli`` and ``node`` packages (as proto-plus ships
``proto``): both must keep working, and removing either must leave the other intact.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "carbon_ticket"
FOREIGN_PACKAGES = ("proto", "cli", "node")


def _options() -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config["options"]


def _listed(option: str) -> list[str]:
    return [line.strip() for line in _options()[option].splitlines() if line.strip()]


def test_every_package_folder_is_listed_in_setup_cfg() -> None:
    # setup.cfg names its packages one by one (find: cannot follow a package_dir mapping): a new
    # subfolder missing from the list would be left out of the wheel.
    mapping = dict(entry.replace(" ", "").split("=") for entry in _listed("package_dir"))
    found = {NAMESPACE}
    for name, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *relative)))
    assert sorted(_listed("packages")) == sorted(found)


def test_package_data_covers_the_explorer_static_files() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["carbon_ticket.cli.explorer"]
                .split(",")]  # fmt: skip
    folder = ROOT / "cli" / "explorer"
    files = [f for f in (folder / "static").iterdir() if f.is_file()]
    assert files
    for f in files:
        relative = f.relative_to(folder)
        assert any(relative.match(p) for p in patterns), f"{relative} is not package data"


def _fake_distribution(root: Path) -> Path:
    """The source of a distribution with top-level ``proto``, ``cli`` and ``node`` packages."""
    for name in FOREIGN_PACKAGES:
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(f"OWNER = 'someone-else:{name}'\n")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "someone-else"\nversion = "1.0"\n'
        f"[tool.setuptools]\npackages = {list(FOREIGN_PACKAGES)!r}\n"
    )
    return root


class FreshEnv:
    """A new virtual environment; every command runs outside the repository."""

    def __init__(self, home: Path) -> None:
        venv.create(home / "venv", with_pip=True)
        self.bin = home / "venv" / "bin"
        self.cwd = home
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(self, *args: str, tool: str = "python") -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / tool), *args]
        return subprocess.run(
            cmd, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=600
        )

    def check(self, *args: str, tool: str = "python") -> str:
        done = self.run(*args, tool=tool)
        assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
        return done.stdout

    def pip(self, *args: str) -> str:
        return self.check("-m", "pip", "--disable-pip-version-check", *args)


# Left out of the copy of the checkout the wheel is built from (pip builds in the source tree).
NOT_SOURCE: tuple[str, ...] = (
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "node_modules",
    "__pycache__",
)
NOT_SOURCE += (".mypy_cache", ".ruff_cache", ".hypothesis", ".pytest_cache", "devnet")


def _build_wheels(out: Path, fake_source: Path) -> tuple[Path, Path]:
    checkout = out / "source"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir"]
    for source, target in ((checkout, out / "ours"), (fake_source, out / "theirs")):
        subprocess.run(
            [*pip, str(target), "--no-build-isolation", str(source)],
            check=True,
            capture_output=True,
            timeout=600,
        )
    (ours,) = (out / "ours").glob("*.whl")
    (theirs,) = (out / "theirs").glob("*.whl")
    return ours, theirs


def _foreign_owners(env: FreshEnv) -> str:
    imports = ", ".join(FOREIGN_PACKAGES)
    code = f"import {imports}; print(' '.join(m.OWNER for m in ({imports},)))"
    return env.check("-P", "-c", code).strip()


def _ours_works(env: FreshEnv) -> None:
    assert "Usage: carbon-ticket" in env.check("--help", tool="carbon-ticket")
    code = (
        "import pathlib, carbon_ticket.chain, carbon_ticket.node.build, carbon_ticket.cli.main\n"
        "from carbon_ticket.proto import services_pb2_grpc\n"
        "proto = pathlib.Path(services_pb2_grpc.__file__).parent\n"
        "print(carbon_ticket.chain.__file__)\n"
        "print((proto / 'carbonticket' / 'v1' / 'services.proto').is_file())\n"
        "from importlib import resources\n"
        "static = resources.files('carbon_ticket.cli.explorer') / 'static'\n"
        "print(all((static / n).is_file() for n in ('verify.js', 'page.js', 'explorer.css')))\n"
    )
    where, proto_shipped, static_shipped = env.check("-P", "-c", code).split()
    assert "site-packages" in where and proto_shipped == "True"
    assert static_shipped == "True"  # the explorer's script and style sheet (package data)


def _wheel_top_levels(wheel: Path) -> list[str]:
    """The top-level import names a wheel installs (its folders outside ``*.dist-info``)."""
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    return sorted(top for top in tops if not top.endswith(".dist-info"))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_wheel_installs_beside_a_package_that_ships_proto_cli_and_node(tmp_path: Path) -> None:
    ours, theirs = _build_wheels(tmp_path / "wheels", _fake_distribution(tmp_path / "fake"))
    assert _wheel_top_levels(ours) == [NAMESPACE]
    env = FreshEnv(tmp_path)
    expected = " ".join(f"someone-else:{name}" for name in FOREIGN_PACKAGES)

    env.pip("install", "--quiet", str(theirs))
    env.pip("install", "--quiet", str(ours))  # dependencies from the pip cache or the registry
    assert _foreign_owners(env) == expected
    _ours_works(env)

    env.pip("uninstall", "--yes", "someone-else")
    _ours_works(env)

    env.pip("install", "--quiet", str(theirs))
    env.pip("uninstall", "--yes", "carbon-ticket-ledger")
    assert _foreign_owners(env) == expected
    assert env.run("-P", "-c", f"import {NAMESPACE}").returncode != 0
