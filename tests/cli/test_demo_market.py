"""`carbon-ticket demo --story market` plays the market story (issue 17) through the CLI against
a real devnet of four validator processes; the CLI's queries then show its orders and trades."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools.devnet import DevnetProcesses, free_base_port, init_devnet
from carbon_ticket.node.config import NodeConfig
from tests.cli.harness import make_fast

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
T = 1_000_000


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CARBON_TICKET_CONNECT_TIMEOUT="5", CARBON_TICKET_PASSWORD="devnet")
    return subprocess.run(
        [sys.executable, "-P", "-m", "carbon_ticket.cli", *args], capture_output=True, text=True,
        env=env, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_the_market_story_plays_on_a_real_devnet(tmp_path: Path) -> None:
    info = init_devnet(
        tmp_path / "devnet", validators=4, base_port=free_base_port(4), wallet_kdf=TEST_KDF
    )
    for i in range(4):
        # Fast consensus, but empty blocks only every second: the demo confirms each purchase
        # well within the devnet's 12-block payment timeout even on a loaded machine.
        config = make_fast(info.node_home(i))
        replace(config, consensus=replace(config.consensus, empty_block_interval_ms=1000)).save()
        assert NodeConfig.load(info.node_home(i)).consensus.empty_block_interval_ms == 1000
    procs = DevnetProcesses(info)
    procs.start_all()
    try:
        deadline = time.monotonic() + 60
        while _cli("query", "status", "--node", info.endpoints[0]).returncode != 0:
            assert time.monotonic() < deadline, "devnet did not start"
            time.sleep(0.5)
        played = _cli("demo", "--home", str(info.home), "--story", "market")
        assert played.returncode == 0, played.stdout + played.stderr
        out = played.stdout
        assert "[16/17] Zhejiang enterprise buys another 10,000 tCO2e but never pays" in out
        assert "[17/17] Shandong enterprise exports 5,000 tCO2e to registry CCER" in out
        assert "timed out" in out and "certificate RC-" in out
        assert "14th National Winter Games" in out.split("retirement certificate", 1)[1]
        assert "3 settled trades, 1960000.00 yuan in all" in out

        node = ["--node", info.endpoints[0], "-o", "json"]
        orders = json.loads(_cli("query", "orders", *node).stdout)["items"]
        assert sorted(
            (o["amount_grams"], o["sold_grams"], o["remaining_grams"]) for o in orders
        ) == [
            (10_000 * T, 10_000 * T, 0),
            (140_000 * T, 130_000 * T, 10_000 * T),
        ]
        trades = json.loads(_cli("query", "trades", *node).stdout)["items"]
        assert sorted(t["status"] for t in trades) == ["settled", "settled", "settled", "timed_out"]
        retired = [t for t in trades if t["certificate_id"]]
        assert len(retired) == 1 and retired[0]["event"] == "14th National Winter Games"
        batch = json.loads(_cli("query", "batch", orders[0]["batch_id"], *node).stdout)
        supply = batch["supply"]
        assert supply["escrowed_grams"] == 10_000 * T and supply["retired_grams"] == 10_000 * T
        table = _cli("query", "trades", "--status", "timed_out", "--node", info.endpoints[0])
        assert table.returncode == 0 and "timed_out" in table.stdout

        # The last step: 5,000 t of the Shandong lot went to the CCER registry, with serials.
        assert supply["exported_grams"] == 5_000 * T
        exports = json.loads(_cli("query", "exports", "--batch", batch["batch_id"], *node).stdout)
        (exported,) = exports["items"]
        shandong = next(t["buyer"] for t in trades if t["amount_grams"] == 50_000 * T)
        assert (exported["account"], exported["amount_grams"]) == (shandong, 5_000 * T)
        assert (exported["registry"], exported["target_account"]) == ("CCER", "CCER-37-0188-QILU")
        assert exported["serial_last"] - exported["serial_first"] + 1 == 5_000 * T
        assert f"export record {exported['export_id']}: serials {exported['serial']}" in out
        assert exported["serial"] in out.split("export record", 2)[2]
        cert = json.loads(_cli("query", "certificate", retired[0]["certificate_id"], *node).stdout)
        assert (exported["serial_last"] < cert["serial_first"]
                or cert["serial_last"] < exported["serial_first"])  # fmt: skip
    finally:
        procs.stop_all()
