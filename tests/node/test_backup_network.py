"""Backup and restore with real processes: a validator backed up while four validators commit
under load, then killed with its block store lost, restored from the backup, restarted: it
catches up on the same chain and keeps its own (newer) signing record."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from carbon_ticket.cli.tools.devnet import cli_command, cli_env
from carbon_ticket.node.safety import FileSafetyStore
from tests.node.network import LoadThread, Network

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _cli(*args: str) -> dict[str, object]:
    done = subprocess.run(cli_command(*args), env=cli_env(), capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr, "no progress line when stdout is not a terminal"
    shown: dict[str, object] = json.loads(done.stdout)
    return shown


def test_a_validator_restored_from_a_live_backup_rejoins_the_same_chain(tmp_path: Path) -> None:
    net = Network(tmp_path)
    try:
        net.start()
        net.wait_until("every node commits", lambda: min(map(net.height, range(4))) >= 2)
        workload = net.workload(accounts=50)
        home = net.info.node_home(3)
        with LoadThread(net, workload.transfers(3_000), targets=[0, 1, 2], rate=200):
            before = net.height(3)
            backup = _cli("node", "backup", "--home", str(home), str(tmp_path / "bk"), "--json")
            assert str(backup["source"]).startswith("running node")
            assert isinstance(backup["height"], int) and backup["height"] >= before
            net.wait_until("node 3 commits after the backup",
                           lambda: net.height(3) > int(str(backup["height"])) + 2)  # fmt: skip
            net.procs.kill(3)
            shutil.rmtree(home / "data" / "blocks")  # the store is lost; sign_state survives
            signed = FileSafetyStore(home / "data" / "sign_state").load()
            assert signed is not None and signed.height > int(str(backup["height"]))
            restored = _cli("node", "restore", str(tmp_path / "bk"), "--home", str(home), "-o",
                            "json")  # fmt: skip
            assert restored["sign_state"] == "keep" and restored["height"] == backup["height"]
            net.start(3)
            target = net.height(0)
            net.wait_until("restored node 3 catches up", lambda: net.height(3) >= target, 90)
        top = min(net.height(i) for i in range(4))
        net.assert_same_chain([0, 1, 2, 3], top)
        after = FileSafetyStore(home / "data" / "sign_state").load()
        assert after is not None and after.position >= signed.position
    finally:
        net.close()
