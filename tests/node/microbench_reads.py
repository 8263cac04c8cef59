"""What reading award transactions back costs the node: history pages and GetBlock, in one process.

    python -m tests.node.microbench_reads [--residents 150] [--blocks 4] [--txs-per-block 30]
        [--awards-per-tx 150] [--rounds 3]

Commits ``blocks`` blocks of ``AwardPoints`` (``tests.node.microbench_points``: every award to a
resident round-robin, so with 150 residents and 150 awards a transaction every resident is in
every transaction) on a LevelDB store, then times in CPU time (``time.process_time``), each
round on fresh caches:

- a 100-entry account history page built as the servicer built it until 2026-12-02 (every item
  decoded from the store, no byte budget);
- the same request through ``node.history.HistoryPages`` (ends at ``MAX_PAGE_BYTES`` with a
  token), cold, then for another resident whose page shows the same transactions (kept items);
- ``GetBlock`` of the last block built from the store, from the receipts its commit handed the
  servicer, and answered from the shared encoding;
- the last block's events for ``STREAMS`` ``SubscribeEvents`` streams (one filter each: none,
  a resident, award events, a resident's award events) as each stream decoded them alone until
  2026-12-02, and from one shared decoding of the commit's receipts
  (``node.block_events.BlockEvents``).

Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from carbon_ticket.chain.kvstore import receipt_to_proto
from carbon_ticket.chain.results import BlockResult
from carbon_ticket.chain.store import StoreView
from carbon_ticket.node.api_codec import tx_to_proto
from carbon_ticket.node.app import ExecutedBlock
from carbon_ticket.node.block_events import BlockEvents
from carbon_ticket.node.history import HistoryPages
from carbon_ticket.node.ports import CommittedEvent
from carbon_ticket.node.service_public import LedgerServicer
from carbon_ticket.proto import services_pb2
from tests.chain.conftest import key, make_residents_genesis
from tests.node.microbench_points import _award_blocks, _block, _validator

T = TypeVar("T")
PAGE = 100
STREAMS = 8


class _NoCommits:
    def subscribe(self, callback: Callable[[Any], None]) -> None:
        pass


def _cpu_ms(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.process_time()
    result = fn()
    return (time.process_time() - start) * 1000, result


def events_before(store: StoreView, height: int, types: frozenset[str], value: str) -> list[Any]:
    """One stream's events of ``height`` until 2026-12-02: decoded and filtered alone."""
    header = store.get_header(height)
    assert header is not None
    found = []
    for index in range(header.tx_count):
        loc = store.get_tx_at(height, index)
        assert loc is not None
        for event in receipt_to_proto(loc.result).events:
            if types and event.type not in types:
                continue
            if value and all(a.value != value for a in event.attributes):
                continue
            found.append(services_pb2.LedgerEvent(height=height, tx_index=index,
                                                  tx_hash=loc.tx_hash, event=event,
                                                  time_ms=header.time_ms))  # fmt: skip
    return found


def _page_before(store: StoreView, address: str) -> services_pb2.HistoryPage:
    """The servicer's page until 2026-12-02: every entry decoded, whatever its size."""
    page = services_pb2.HistoryPage()
    for entry in store.account_history(address, PAGE):
        loc = store.get_tx_at(entry.height, entry.index)
        header = store.get_header(entry.height)
        assert loc is not None and header is not None
        info = tx_to_proto(loc, header.time_ms)
        page.items.add(height=entry.height, index=entry.index, tx_hash=loc.tx_hash,
                       kind=info.body.WhichOneof("msg") or "", signer=info.body.signer,
                       receipt=info.receipt, time_ms=info.time_ms)  # fmt: skip
    return page


async def _round(store: StoreView) -> str:
    def time_ms(height: int) -> int:
        header = store.get_header(height)
        return header.time_ms if header is not None else 0

    one, other = key("resident-7").address, key("resident-8").address
    before_ms, before = _cpu_ms(lambda: _page_before(store, one))
    pages = HistoryPages(store, time_ms)
    start = time.process_time()
    cold = await pages.page(store.account_history(one, PAGE), PAGE, lambda _last: True)
    cold_ms = (time.process_time() - start) * 1000
    start = time.process_time()
    kept = await pages.page(store.account_history(other, PAGE), PAGE, lambda _last: True)
    kept_ms = (time.process_time() - start) * 1000
    awards = [[i for i in page.items if i.kind == "award_points"] for page in (cold, kept)]
    if list(before.items[: len(cold.items)]) != list(cold.items) or awards[0] != awards[1]:
        raise RuntimeError("the pages differ")  # (each page ends with its own registration)
    height = store.height
    servicer = LedgerServicer(_NoCommits(), store, None, None)  # type: ignore[arg-type]
    built_ms, info = _cpu_ms(lambda: servicer._block_info(height))
    fresh = _fresh_servicer(store, height)
    fresh_ms, from_commit = _cpu_ms(lambda: fresh._block_info(height))
    servicer.blocks.encoded(height)
    shared_ms, again = _cpu_ms(
        lambda: services_pb2.BlockInfo.FromString(servicer.blocks.encoded(height))
    )
    if not again == from_commit == info:
        raise RuntimeError("the blocks differ")
    light_ms, light = _cpu_ms(lambda: servicer._block_info(height, receipts=False))
    if light.committed != info.committed or light.receipts:
        raise RuntimeError("the block without receipts differs")
    events = sum(len(r.events) for r in info.receipts)
    filters = [(frozenset(), ""), (frozenset(), one), (frozenset({"award"}), ""),
               (frozenset({"award"}), one)] * (STREAMS // 4)  # fmt: skip
    alone_ms, alone = _cpu_ms(lambda: [events_before(store, height, t, v) for t, v in filters])
    start = time.process_time()
    decoded = await BlockEvents(fresh._receipts, time_ms).of(height)
    shared = [decoded.matching(t, v) for t, v in filters]
    shared_events_ms = (time.process_time() - start) * 1000
    if shared != alone:
        raise RuntimeError("the streams' events differ")
    return (
        f"history, {PAGE} entries: before {before_ms:.0f} ms ({len(before.items)} items, "
        f"{before.ByteSize() / 1e6:.2f} MB); now {len(cold.items)} items "
        f"({cold.ByteSize() / 1e6:.2f} MB, token {cold.next_page_token or '-'}) cold "
        f"{cold_ms:.0f} ms, kept {kept_ms:.1f} ms | GetBlock ({len(info.receipts)} txs, "
        f"{events} events): from the store {built_ms:.0f} ms, from the commit {fresh_ms:.0f} "
        f"ms, shared {shared_ms:.1f} ms, without receipts {light_ms:.1f} ms | SubscribeEvents, "
        f"{len(filters)} streams, that block: "
        f"alone {alone_ms:.0f} ms, shared (from the commit) {shared_events_ms:.0f} ms"
    )


def _fresh_servicer(store: StoreView, height: int) -> LedgerServicer:
    """A servicer told of ``height``'s commit, as the node tells it: its receipts in memory."""
    servicer = LedgerServicer(_NoCommits(), store, None, None)  # type: ignore[arg-type]
    block = store.get_block(height)
    assert block is not None
    results = tuple(servicer._receipts(height))  # as executed (the store keeps the same)
    executed = ExecutedBlock(block, (), BlockResult(receipts=results))
    servicer._on_commit(CommittedEvent(executed, height))
    return servicer


def main(argv: list[str] | None = None) -> int:
    """Parse flags, commit the award blocks, print one line of figures per round."""
    parser = argparse.ArgumentParser(prog="python -m tests.node.microbench_reads")
    parser.add_argument("--residents", type=int, default=150)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--txs-per-block", type=int, default=30)
    parser.add_argument("--awards-per-tx", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    setup, blocks = _award_blocks(
        args.residents, args.blocks, args.txs_per_block, args.awards_per_tx
    )
    root = Path(tempfile.mkdtemp(prefix="mb-reads-"))
    try:
        genesis = make_residents_genesis(daily_cap=0)
        capacity = max(len(b) for b in (*setup, *blocks))
        proposer = _validator(root, "p", genesis, capacity)
        other = _validator(root, "v", genesis, capacity)
        for raws in (*setup, *blocks):
            _block(proposer, other, raws, None)
        for _ in range(args.rounds):
            print(asyncio.run(_round(proposer.app.store)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
