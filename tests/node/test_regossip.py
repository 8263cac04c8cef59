"""Pending transactions are gossiped again (``Node._gossip_stale``).

Gossip goes to each peer once, best effort: frames in flight when a link breaks are lost, and a
transaction only one node holds then waits for that node's turn to propose. Every
``_REGOSSIP_EVERY_BLOCKS`` blocks a node sends again, once, what has been pending for a few
blocks.
Real nodes in one process on a virtual clock (tests/node/harness.py); the transaction waits
behind a nonce gap, so it stays pending and nothing else can take it out of the pool.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from carbon_ticket.node.mempool import Mempool
from tests.node.harness import InProcessNet, register_tx

pytestmark = pytest.mark.timeout(120)


def test_a_transaction_still_pending_blocks_later_is_gossiped_again(tmp_path: Path) -> None:
    async def main() -> int:
        async with InProcessNet(tmp_path) as net:
            await net.start()
            node = net.node(0)
            sent: list[bytes] = []
            gossip = node.transport.gossip_txs

            def recording(raws: list[bytes]) -> None:
                sent.extend(raws)
                gossip(raws)

            node.transport.gossip_txs = recording  # type: ignore[method-assign]
            waiting = register_tx(net.chain_id, 1)  # nonce 0 never comes: it stays pending
            node.admit(waiting)
            start = net.height(0)
            await net.run_until("35 more heights", lambda: net.height(0) >= start + 35)
            assert isinstance(node.mempool, Mempool)  # the port has no known()
            assert node.mempool.known(waiting) is not None
            return sent.count(waiting)

    # Once when admitted, then once more (in the first round of re-gossip at least 5 blocks
    # after its admission), and not again however long it waits behind its nonce gap.
    assert asyncio.run(main()) == 2
