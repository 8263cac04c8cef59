"""Validators started by the devnet tools run the project's code, whatever the current directory.

A ``cli/`` package in the directory an operator starts from must not replace the real one in the
child processes: the tools start children with ``python -P`` and the project first on the path.
"""

from __future__ import annotations

import os
import signal
import site
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

import grpc
import pytest

from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools import devnet
from carbon_ticket.cli.tools.devnet import DevnetProcesses, cli_command, cli_env, init_devnet
from carbon_ticket.proto import services_pb2, services_pb2_grpc
from tests.cli.harness import free_port, make_fast

SHADOWED = "shadowed by the current directory"


def _fake_cli_package(root: Path) -> Path:
    """A directory holding ``cli`` and ``carbon_ticket.cli`` packages that leave a marker file."""
    marker = root / "marker"
    for package in (root / "cli", root / "carbon_ticket" / "cli"):
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package.parent / "__init__.py").touch()
        (package / "__main__.py").write_text(
            f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
            f"print({SHADOWED!r})\n"
        )
    return marker


def _run_in(cwd: Path, cmd: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def test_plain_python_m_is_shadowed_by_the_current_directory(tmp_path: Path) -> None:
    # The danger the tools guard against is real: without -P the fake package wins.
    marker = _fake_cli_package(tmp_path)
    out = _run_in(tmp_path, [sys.executable, "-m", "carbon_ticket.cli", "--version"])
    assert SHADOWED in out and marker.exists()


def test_cli_command_runs_the_real_project_from_a_shadowing_directory(tmp_path: Path) -> None:
    marker = _fake_cli_package(tmp_path)
    cmd = cli_command("--version")
    assert cmd[:4] == [sys.executable, "-P", "-m", "carbon_ticket.cli"]
    out = _run_in(tmp_path, cmd, cli_env())
    assert "carbon-ticket" in out and SHADOWED not in out, out
    assert not marker.exists()


def test_cli_env_puts_a_checkout_first_but_leaves_site_packages_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setattr(devnet, "_PROJECT_ROOT", tmp_path)
    assert cli_env()["PYTHONPATH"] == os.pathsep.join((str(tmp_path), "/elsewhere"))
    installed = Path(site.getsitepackages()[0]).resolve()
    monkeypatch.setattr(devnet, "_PROJECT_ROOT", installed)
    assert cli_env()["PYTHONPATH"] == "/elsewhere"


def _height(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = services_pb2_grpc.LedgerServiceStub(channel)
        try:
            return int(stub.GetStatus(services_pb2.StatusRequest(), timeout=1).height)
        except grpc.RpcError:
            return -1


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_devnet_node_started_from_a_shadowing_directory_is_the_real_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = init_devnet(
        tmp_path / "devnet", validators=1, base_port=free_port(), wallet_kdf=TEST_KDF
    )
    make_fast(info.node_home(0))
    stand = tmp_path / "operator"
    marker = _fake_cli_package(stand)
    monkeypatch.chdir(stand)
    procs = DevnetProcesses(info)
    try:
        proc = procs.start(0)
        deadline = time.monotonic() + 60
        while _height(info.endpoints[0]) < 1:
            assert proc.poll() is None, (info.node_home(0) / "node.log").read_text()
            assert time.monotonic() < deadline, "the devnet node did not commit a block"
            time.sleep(0.2)
    finally:
        procs.stop_all()
    assert not marker.exists()


class _FakeProc:
    """Records what ``DevnetProcesses`` does to a child, in one journal shared by all."""

    def __init__(self, name: str, journal: list[str], stubborn: bool = False) -> None:
        self.name, self.journal, self.stubborn = name, journal, stubborn
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        self.journal.append(f"{self.name} signal {sig}")

    def terminate(self) -> None:
        self.journal.append(f"{self.name} terminate")

    def kill(self) -> None:
        self.journal.append(f"{self.name} kill")
        self.returncode = -9

    def wait(self, timeout: float | None = None) -> int:
        self.journal.append(f"{self.name} wait")
        if self.returncode is None:
            if self.stubborn and timeout is not None:
                raise subprocess.TimeoutExpired("node", timeout)
            self.returncode = 0
        return self.returncode


def test_stop_all_asks_every_node_to_stop_before_waiting_and_kills_a_stubborn_one(
    tmp_path: Path,
) -> None:
    # Each node's shutdown takes about a second (gRPC grace for its peers' open calls): asked
    # one after another, four nodes took four times as long as asked together.
    journal: list[str] = []
    procs = DevnetProcesses(
        init_devnet(tmp_path / "devnet", validators=1, base_port=free_port(), wallet_kdf=TEST_KDF)
    )
    fakes = [_FakeProc("a", journal), _FakeProc("b", journal, stubborn=True)]
    done = _FakeProc("c", journal)
    done.returncode = 0  # already exited: left alone
    # Stand-ins for Popen, with only what stop_all calls.
    procs.procs = cast("dict[int, subprocess.Popen[bytes]]", dict(enumerate([*fakes, done])))
    procs.stop_all(timeout=0.1)
    assert journal[:4] == [f"a signal {signal.SIGCONT}", "a terminate",
                           f"b signal {signal.SIGCONT}", "b terminate"]  # fmt: skip
    assert journal[4:] == ["a wait", "b wait", "b kill", "b wait"]
    assert [p.returncode for p in fakes] == [0, -9]
