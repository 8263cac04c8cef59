"""`carbon-ticket demo` rerun after it timed out without quorum succeeds once the network is back.

Issue 12, finding 3: the wallet read the committed nonce and ignored its own pending transaction,
so a rerun collided with it (``nonce_pending``, exit 3) until the first attempt committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools.devnet import DevnetProcesses, free_base_port, init_devnet
from tests.cli.harness import make_fast

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CARBON_TICKET_CONNECT_TIMEOUT="5")
    return subprocess.run(
        [sys.executable, "-P", "-m", "carbon_ticket.cli", *args], capture_output=True, text=True,
        env=env, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_demo_rerun_after_a_timeout_without_quorum_succeeds_once_the_network_is_back(
    tmp_path: Path,
) -> None:
    info = init_devnet(
        tmp_path / "devnet", validators=4, base_port=free_base_port(4), wallet_kdf=TEST_KDF
    )
    for i in range(4):
        make_fast(info.node_home(i))
    procs = DevnetProcesses(info)
    procs.start_all()
    try:
        deadline = time.monotonic() + 60
        while _cli("query", "status", "--node", info.endpoints[0]).returncode != 0:
            assert time.monotonic() < deadline, "devnet did not start"
            time.sleep(0.5)
        home = str(info.home)
        for index in (2, 3):  # two of four validators: no quorum
            procs.signal(index, signal.SIGSTOP)
        first = _cli("demo", "--home", home, "--timeout", "3")
        assert first.returncode == 6, first.stdout + first.stderr
        assert "carbon-ticket query tx" in first.stderr
        # Still without quorum, a rerun signs after its own pending tx instead of colliding
        # with it: it waits and stops waiting again (exit 6), not nonce_pending (exit 3).
        second = _cli("demo", "--home", home, "--timeout", "3")
        assert second.returncode == 6, second.stdout + second.stderr
        assert "nonce_pending" not in second.stderr
        for index in (2, 3):
            procs.signal(index, signal.SIGCONT)
        third = _cli("demo", "--home", home, "--timeout", "60")
        assert third.returncode == 0, third.stdout + third.stderr
        assert "retirement certificate" in third.stdout
    finally:
        for index in (2, 3):
            procs.signal(index, signal.SIGCONT)
        procs.stop_all()
