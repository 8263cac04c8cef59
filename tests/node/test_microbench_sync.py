"""The block sync microbenchmark runs on a stored chain (figures are printed, never judged
here)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.cli.harness import running_devnet
from tests.node import microbench_sync


def test_microbench_sync_syncs_a_stored_chain_and_reports_the_cpu_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_devnet(tmp_path / "devnet") as (info, thread):
        deadline = time.monotonic() + 30
        while thread.node is not None and thread.node.store.height < 3:
            assert time.monotonic() < deadline, "the devnet made no blocks"
            time.sleep(0.05)
    home = info.node_home(0)
    chain_id, wire, _ = microbench_sync.load_chain(home)
    # sync_once asserts that every block was synced, and closes the node it built.
    assert microbench_sync.sync_once(home, chain_id, wire, None) > 0
    assert "cpu s by thread" in capsys.readouterr().out
