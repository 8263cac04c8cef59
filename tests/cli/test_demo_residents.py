"""`carbon-ticket demo --story residents` plays the residents' story (issue 15) through the CLI
against a real devnet of four validator processes."""

from __future__ import annotations

import os
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


def test_the_residents_story_plays_on_a_real_devnet_and_can_be_repeated(tmp_path: Path) -> None:
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
        for _run in range(2):  # a fresh resident, batch, offer and voucher each run
            played = _cli("demo", "--home", str(info.home), "--story", "residents")
            assert played.returncode == 0, played.stdout + played.stderr
            out = played.stdout
            assert "[11/11] resident redeems" in out
            assert "award outcomes: ok, ok, daily_cap_exceeded" in out
            assert "merchant redemption" in out  # the certificate's reason
            assert "merchant's settlement" in out
            # The resident's one redemption is listed, with its voucher and certificate
            listed = out.split("resident's redemptions", 1)[1]
            assert listed.count("voucher") == 1 and "QC-" in listed and "certificate" in listed
        # Without --story the issuance story still plays
        issuance = _cli("demo", "--home", str(info.home))
        assert issuance.returncode == 0, issuance.stdout + issuance.stderr
        assert "14th National Winter Games" in issuance.stdout
    finally:
        procs.stop_all()
