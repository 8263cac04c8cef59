"""The wallet as a real subprocess against a devnet of real validator processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools.devnet import DevnetInfo, DevnetProcesses, init_devnet
from tests.cli.harness import free_port, make_fast

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetInfo]:
    info = init_devnet(
        tmp_path_factory.mktemp("proc") / "devnet",
        validators=1,
        base_port=free_port(),
        wallet_kdf=TEST_KDF,
    )
    make_fast(info.node_home(0))
    procs = DevnetProcesses(info)
    procs.start_all()
    try:
        deadline = time.monotonic() + 20
        while cli("query", "status", "--node", info.endpoints[0]).returncode != 0:
            assert time.monotonic() < deadline, "devnet did not start"
            time.sleep(0.2)
        yield info
    finally:
        procs.stop_all()


def cli(*args: str, password: str = "devnet") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CARBON_TICKET_PASSWORD=password, CARBON_TICKET_CONNECT_TIMEOUT="1")
    return subprocess.run(
        [sys.executable, "-P", "-m", "carbon_ticket.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_demo_and_queries_as_subprocesses(devnet: DevnetInfo) -> None:
    demo = cli("demo", "--home", str(devnet.home), "-o", "json")
    assert demo.returncode == 0, demo.stderr
    cert = json.loads(demo.stdout[demo.stdout.index("{") :])
    assert cert["amount_grams"] == 5_000_000_000 and cert["amount_tco2e"] == "5000"
    assert cert["event"] == "14th National Winter Games"
    shown = cli("query", "certificate", cert["certificate_id"], "--node", devnet.endpoints[0])
    assert shown.returncode == 0 and cert["certificate_id"] in shown.stdout


def test_errors_as_subprocesses(devnet: DevnetInfo, tmp_path: Path, dead_address: str) -> None:
    wallet = ["--keystore", str(devnet.wallet_dir), "--node", devnet.endpoints[0]]
    cases = [
        (
            cli(
                "tx",
                "transfer",
                "--to",
                "ct1zz",
                "--batch",
                "B",
                "--amount",
                "1",
                "-k",
                "issuer",
                *wallet,
            ),
            2,
            "invalid address",
        ),
        (
            cli(
                "tx",
                "transfer",
                "--to",
                "@registrar",
                "--batch",
                "B",
                "--amount",
                "1.0000001",
                "-k",
                "issuer",
                *wallet,
            ),
            2,
            "invalid amount",
        ),
        (
            cli(
                "tx",
                "transfer",
                "--to",
                "@registrar",
                "--batch",
                "B",
                "--amount",
                "1",
                "-k",
                "issuer",
                *wallet,
                password="bad",
            ),
            5,
            "wrong password",
        ),
        (
            cli(
                "tx",
                "transfer",
                "--to",
                "@registrar",
                "--batch",
                "B",
                "--amount",
                "1",
                "-k",
                "nobody",
                *wallet,
            ),
            5,
            "no key named",
        ),
        (cli("query", "status", "--node", dead_address), 4, "node unreachable"),
    ]
    for result, code, fragment in cases:
        assert result.returncode == code, result.stderr
        assert result.stderr.count("\n") == 1 and fragment in result.stderr


def test_a_password_piped_without_a_terminal(tmp_path: Path) -> None:
    # A new session has no controlling terminal (as in CI): getpass would have warned, written
    # its prompt and, for `keys new`, waited for a confirmation line that never comes.
    keystore = str(tmp_path / "ks")
    env = {k: v for k, v in os.environ.items() if k != "CARBON_TICKET_PASSWORD"}

    def piped(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-P", "-m", "carbon_ticket.cli", *args],
                              input=stdin, capture_output=True, text=True, env=env, timeout=60,
                              start_new_session=True)  # fmt: skip

    made = piped("s3cret\n", "keys", "new", "pipe", "--keystore", keystore, "-o", "json")
    assert made.returncode == 0 and made.stderr == "", made.stderr
    seed = piped("s3cret\n", "keys", "export", "pipe", "--yes", "--keystore", keystore)
    assert seed.returncode == 0 and seed.stderr == "" and len(seed.stdout.strip()) == 64
    empty = piped("", "keys", "export", "pipe", "--yes", "--keystore", keystore)
    assert empty.returncode == 5 and empty.stdout == ""
    assert empty.stderr.count("\n") == 1 and "no password given" in empty.stderr
