"""Gossip to a peer is paced: a quiet link sends at once, a busy one batches what arrives.

Clients such as the residents' app submit one transaction per call. Each call used to become one
gossip frame per peer, and a frame costs the two nodes far more CPU in gRPC than the transaction
itself (tests/node/microbench_frames.py); a link now sends at most one gossip batch per
``GOSSIP_GAP_S`` and puts everything that arrived meanwhile in the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

from carbon_ticket.node.peers import GOSSIP_GAP_S, PeerLink

pytestmark = pytest.mark.timeout(30)


class _RecordingLink(PeerLink):
    """A link whose gossip batches are recorded instead of sent (its channel is never used)."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1:9")
        self.batches: list[list[bytes]] = []

    def _ship_txs(self, kept: list[bytes]) -> Awaitable[object]:
        self.batches.append(list(kept))
        return asyncio.sleep(0)


def test_one_submission_per_call_becomes_few_gossip_batches_on_a_busy_link() -> None:
    async def main() -> list[list[bytes]]:
        link = _RecordingLink()
        link.start()
        try:
            link.send_txs([b"tx-0"])
            for _ in range(5):
                await asyncio.sleep(0)
            # The link was quiet: the first transaction went at once, alone.
            assert link.batches == [[b"tx-0"]]
            for n in range(1, 30):  # one per "call", the loop turning in between
                link.send_txs([b"tx-%d" % n])
                await asyncio.sleep(0)
            for _ in range(100):
                if sum(map(len, link.batches)) == 30:
                    break
                await asyncio.sleep(GOSSIP_GAP_S)
            return link.batches
        finally:
            await link.close()

    batches = asyncio.run(main())
    assert [tx for batch in batches for tx in batch] == [b"tx-%d" % n for n in range(30)]
    # 29 submissions within one gap: one more batch (a stalled host may split it once more).
    assert len(batches) <= 3, [len(b) for b in batches]
