"""Pacing of heights: ``commit_wait_ms`` is the least time from one height's start to the next's.

Real nodes in one process on a virtual clock (tests/node/harness.py), with a backlog of ready
transactions and one transaction per block, so a new height is always wanted and the block
interval is exactly what the pacing makes it. Over a simulated WAN (each message takes
``latency`` to arrive) a height already lasts three message delays (proposal, prevotes,
precommits): the commit wait must not be added on top of that, which is what made finality over
a WAN ``commit wait + 3 delays`` per height instead of ``max(commit wait, 3 delays)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from tests.node.harness import FAST, InProcessNet, register_tx

pytestmark = pytest.mark.timeout(120)

COMMIT_WAIT_MS = 50
BACKLOG = 40
HEIGHTS = 12


def _block_interval_ms(tmp_path: Path, latency_s: float) -> float:
    """Mean virtual time between consecutive commits of node 0 while a backlog is pending."""
    consensus = dataclasses.replace(FAST, commit_wait_ms=COMMIT_WAIT_MS, max_block_txs=1)

    async def main() -> float:
        async with InProcessNet(tmp_path, consensus=consensus) as net:
            net.network.latency_s = latency_s
            await net.start()
            start = net.height(0)
            for nonce in range(BACKLOG):
                net.node(0).admit(register_tx(net.chain_id, nonce))
            await net.run_until("the backlog starts committing", lambda: net.height(0) > start + 1)
            first = net.height(0)
            took = await net.run_until(
                f"{HEIGHTS} more heights", lambda: net.height(0) >= first + HEIGHTS
            )
            return took / HEIGHTS * 1000

    return asyncio.run(main())


def test_on_a_lan_heights_start_commit_wait_apart(tmp_path: Path) -> None:
    # Deciding takes no virtual time here: the wait is all there is between heights, so the old
    # pacing (a pause after each commit) gives the same; this pins that nothing shorter or
    # longer slipped in. The WAN test below is the one the change is about.
    interval = _block_interval_ms(tmp_path, latency_s=0.0)
    assert interval == pytest.approx(COMMIT_WAIT_MS, abs=2)


def test_over_a_wan_the_commit_wait_is_not_added_to_the_three_message_delays(
    tmp_path: Path,
) -> None:
    delay_ms = 40  # one way: an 80 ms round trip
    interval = _block_interval_ms(tmp_path, latency_s=delay_ms / 1000)
    # Proposal, prevotes, precommits: three delays, and the next height starts at once.
    assert interval == pytest.approx(3 * delay_ms, abs=5)
