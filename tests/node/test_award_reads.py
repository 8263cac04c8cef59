"""Reading award transactions back through the public API: history pages, GetBlock and
SubscribeEvents. An AwardPoints receipt has an ``award`` event per award (~38 KB for 200).

Reproductions (2026-12-02):
- a resident's ``GetAccountHistory`` with ``page_size=1000`` returned every entry in one
  message (2.8 MB and 702 ms of CPU on the event loop consensus runs on for 100 entries of 150
  awards; ~38 MB for 1,000 entries of 200). Pages now end at ``MAX_PAGE_BYTES`` with a token,
  the handler lets the loop run between items, and items are encoded once and kept;
- ``GetBlock`` built a block's receipts again for every call (~250 ms for 4,530 events);
- every ``SubscribeEvents`` stream decoded every receipt of every block on its own (256 streams
  allowed: a minute of CPU per award block). Streams now share one decoding per height.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from carbon_ticket.chain import check_tx, expected_nonce, init_chain
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.results import BlockResult
from carbon_ticket.chain.store import MemoryStore
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.consensus import CommitCertificate, Validator, ValidatorSet
from carbon_ticket.node.api_codec import MAX_PAGE_BYTES, tx_to_proto
from carbon_ticket.node.app import ExecutedBlock, LedgerApp
from carbon_ticket.node.config import MempoolSettings
from carbon_ticket.node.history import HistoryPages
from carbon_ticket.node.mempool import Mempool
from carbon_ticket.node.ports import CommittedEvent
from carbon_ticket.node.service_public import LedgerServicer
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.chain.conftest import (
    CHAIN_ID,
    OPERATOR,
    RESIDENT,
    RESIDENT2,
    VALIDATORS,
    award,
    award_points,
    make_residents_genesis,
)
from tests.node.microbench_reads import events_before

LIMITS = Limits()
AWARDS_PER_TX = 200  # about as many as the 16 KB transaction limit holds
AWARD_TXS = 32  # ~38 KB of receipt each: about 1.2 MiB in all, more than one page holds


class _NoCommits:
    """The servicer's submitter: reads submit nothing, and no commit comes."""

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        return lambda: None


def _award_tx(n: int) -> bytes:
    awards = [
        award(RESIDENT if k % 2 == 0 else RESIDENT2, points=1, ref=f"tx{n}-award{k}")
        for k in range(AWARDS_PER_TX)
    ]
    body = ledger_pb2.TxBody(
        chain_id=CHAIN_ID, signer=OPERATOR.address, nonce=n, award_points=award_points(*awards)
    )
    return encode_tx(body, [OPERATOR])


@pytest.fixture(scope="module")
def store() -> MemoryStore:
    """A store with ``AWARD_TXS`` blocks of one large AwardPoints each."""
    genesis = make_residents_genesis(daily_cap=0)
    store = MemoryStore()
    store.init_genesis(CHAIN_ID, genesis.to_json().encode(), init_chain(genesis))
    pool = Mempool(
        CHAIN_ID, LIMITS, MempoolSettings(), check_tx, lambda a: expected_nonce(store, a)
    )
    validators = ValidatorSet(
        tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATORS))
    )
    clock = iter(range(genesis.genesis_time_ms + 1_000, 10**15, 1_000))
    app = LedgerApp(
        store,
        pool,
        validators,
        VALIDATORS[0].public_key,
        LIMITS,
        LIMITS.max_block_txs,
        lambda: next(clock),
        work_clock_s=lambda: 0.0,
    )
    for n in range(AWARD_TXS):
        pool.admit(_award_tx(n))
        payload, block_hash = app.propose(n + 1, 0)
        app.commit(CommitCertificate(n + 1, 0, block_hash, ()), payload)
    assert store.height == AWARD_TXS
    return store


@pytest.fixture(scope="module")
def servicer(store: MemoryStore) -> LedgerServicer:
    """The public API over ``store``."""
    return LedgerServicer(_NoCommits(), store, None, None)  # type: ignore[arg-type]


def _page(servicer: LedgerServicer, who: PrivateKey, token: str = "") -> services_pb2.HistoryPage:
    request = services_pb2.GetAccountHistoryRequest(
        address=who.address, page_size=1000, page_token=token
    )
    return asyncio.run(servicer.GetAccountHistory(request, None))


def test_a_page_of_large_receipts_ends_at_the_byte_budget_with_a_token(
    servicer: LedgerServicer,
) -> None:
    first = _page(servicer, RESIDENT)
    assert first.items and first.next_page_token
    assert len(first.items) < AWARD_TXS
    last_item = first.items[-1].ByteSize()
    # The budget is reached by the last item added, never by more than that one item
    assert first.ByteSize() - last_item < MAX_PAGE_BYTES
    assert all(len(i.receipt.events) == AWARDS_PER_TX + 1 for i in first.items)


def test_paging_on_returns_every_transaction_once_newest_first(servicer: LedgerServicer) -> None:
    for who in (RESIDENT, OPERATOR):
        heights: list[int] = []
        token, pages = "", 0
        while True:
            page = _page(servicer, who, token)
            heights += [i.height for i in page.items]
            pages += 1
            token = page.next_page_token
            if not token:
                break
        assert heights == list(range(AWARD_TXS, 0, -1)), who.address
        assert pages >= 2


def test_the_event_loop_runs_while_a_large_page_is_built(servicer: LedgerServicer) -> None:
    ticks: list[int] = []

    async def ticker() -> None:
        while True:
            ticks.append(len(ticks))
            await asyncio.sleep(0)

    async def both() -> tuple[int, services_pb2.HistoryPage]:
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)  # the ticker starts
        started = len(ticks)
        request = services_pb2.GetAccountHistoryRequest(address=RESIDENT.address, page_size=1000)
        page = await servicer.GetAccountHistory(request, None)
        during = len(ticks) - started
        task.cancel()
        return during, page

    during, page = asyncio.run(both())
    assert len(page.items) > 1
    # A turn for the loop about every 64 KB of items (the page is ~1 MiB): none before the fix
    assert during >= page.ByteSize() // (128 * 1024) > 0


def _uncached_item(store: MemoryStore, height: int, index: int) -> services_pb2.HistoryItem:
    # The item as the servicer built it before items were kept: from the store, every time.
    loc = store.get_tx_at(height, index)
    assert loc is not None
    header = store.get_header(height)
    assert header is not None
    info = tx_to_proto(loc, header.time_ms)
    return services_pb2.HistoryItem(
        height=height,
        index=index,
        tx_hash=loc.tx_hash,
        kind=info.body.WhichOneof("msg"),
        signer=info.body.signer,
        receipt=info.receipt,
        time_ms=header.time_ms,
    )


def _all_pages(pages: HistoryPages, store: MemoryStore, who: PrivateKey) -> list[Any]:
    items: list[Any] = []
    before = None
    while True:
        entries = store.account_history(who.address, 1000, before)
        page = asyncio.run(
            pages.page(
                entries, 1000, lambda last: bool(store.account_history(who.address, 1, last))
            )
        )
        items += page.items
        if not page.next_page_token:
            return items
        before = (page.items[-1].height, page.items[-1].index)


def _time_of(store: MemoryStore) -> Callable[[int], int]:
    def time_ms(height: int) -> int:
        header = store.get_header(height)
        return header.time_ms if header is not None else 0

    return time_ms


def test_an_item_is_encoded_once_for_every_page_that_shows_it(store: MemoryStore) -> None:
    pages = HistoryPages(store, _time_of(store))
    first = _all_pages(pages, store, RESIDENT)
    assert pages.encodings == AWARD_TXS
    second = _all_pages(pages, store, RESIDENT2)  # the same transactions
    assert pages.encodings == AWARD_TXS  # nothing decoded again
    expected = [_uncached_item(store, h, 0) for h in range(AWARD_TXS, 0, -1)]
    assert first == expected and second == expected


def test_kept_items_stay_within_their_byte_bound(store: MemoryStore) -> None:
    bound = 100_000  # two or three award transactions' items
    pages = HistoryPages(store, _time_of(store), cache_bytes=bound)
    for who in (RESIDENT, RESIDENT2):
        items = _all_pages(pages, store, who)
        assert items == [_uncached_item(store, h, 0) for h in range(AWARD_TXS, 0, -1)]
        assert 0 < pages.kept_bytes <= bound
    assert pages.encodings == 2 * AWARD_TXS  # the oldest were dropped, so encoded again


def test_get_block_encodes_a_block_once_for_every_caller(servicer: LedgerServicer) -> None:
    # A dashboard polls the latest block; an award block's receipts are costly to build.
    request = services_pb2.GetBlockRequest(height=AWARD_TXS)
    before = servicer.blocks.encodings
    first: services_pb2.BlockInfo = asyncio.run(servicer.GetBlock(request, None))
    again: services_pb2.BlockInfo = asyncio.run(servicer.GetBlock(request, None))
    assert servicer.blocks.encodings == before + 1
    assert first == again == servicer._block_info(AWARD_TXS)
    assert len(first.receipts[0].events) == AWARDS_PER_TX + 1


def test_a_block_stream_without_receipts_reads_no_receipts(store: MemoryStore) -> None:
    # A follower that needs only the chain (the bench's watcher) paid for every block's
    # receipts: ~65 ms of the node's CPU for a block of 4,000 transfers.
    counting = _CountingStore(store)
    servicer = LedgerServicer(_NoCommits(), counting, None, None)  # type: ignore[arg-type]

    async def blocks(without_receipts: bool) -> list[services_pb2.BlockInfo]:
        request = services_pb2.SubscribeBlocksRequest(
            from_height=1, without_receipts=without_receipts
        )
        stream = servicer.SubscribeBlocks(request, None)
        got = [services_pb2.BlockInfo.FromString(await anext(stream)) for _ in range(AWARD_TXS)]
        await stream.aclose()
        return got

    light = asyncio.run(blocks(without_receipts=True))
    assert counting.tx_reads == 0
    full = asyncio.run(blocks(without_receipts=False))
    assert counting.tx_reads == AWARD_TXS
    assert [b.committed for b in light] == [b.committed for b in full]
    assert [b.block_hash for b in light] == [b.block_hash for b in full]
    assert all(not b.receipts for b in light) and all(len(b.receipts) == 1 for b in full)


class _CountingStore:
    """``store`` with its ``get_tx_at`` calls counted (what decoding a receipt starts with)."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.tx_reads = 0

    def get_tx_at(self, height: int, index: int) -> Any:
        self.tx_reads += 1
        return self._store.get_tx_at(height, index)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


FILTERS: list[tuple[frozenset[str], PrivateKey | None]] = [
    (frozenset(), None),
    (frozenset({"award"}), RESIDENT),
    (frozenset({"award_points"}), None),
    (frozenset(), RESIDENT2),
]


def _expected(store: MemoryStore, types: frozenset[str], who: PrivateKey | None) -> list[Any]:
    # Each stream's filter as it was applied before streams shared a decoding
    value = who.address if who is not None else ""
    return [e for h in range(1, store.height + 1) for e in events_before(store, h, types, value)]


def test_event_streams_share_one_decoding_of_each_block(store: MemoryStore) -> None:
    counting = _CountingStore(store)
    servicer = LedgerServicer(_NoCommits(), counting, None, None)  # type: ignore[arg-type]
    expected = [_expected(store, types, who) for types, who in FILTERS]
    assert [len(e) for e in expected] == [
        AWARD_TXS * (AWARDS_PER_TX + 1), AWARD_TXS * AWARDS_PER_TX // 2, AWARD_TXS,
        AWARD_TXS * AWARDS_PER_TX // 2,
    ]  # fmt: skip

    async def stream(types: frozenset[str], who: PrivateKey | None, count: int) -> list[Any]:
        request = services_pb2.SubscribeEventsRequest(
            from_height=1, types=sorted(types), account=who.address if who else ""
        )
        got: list[Any] = []
        events = servicer.SubscribeEvents(request, None)
        async for event in events:
            got.append(event)
            if len(got) == count:
                break
        await events.aclose()
        return got

    async def all_streams() -> list[list[Any]]:
        return list(
            await asyncio.gather(
                *(stream(t, w, len(e)) for (t, w), e in zip(FILTERS, expected, strict=True))
            )
        )

    assert asyncio.run(all_streams()) == expected
    assert counting.tx_reads == AWARD_TXS  # once per transaction, not once per stream


def test_a_committed_blocks_receipts_are_encoded_from_the_commit(store: MemoryStore) -> None:
    # The node hands its subscribers each block's receipts as executed; encoding them for
    # SubscribeBlocks/SubscribeEvents then decodes nothing back from the store.
    counting = _CountingStore(store)
    servicer = LedgerServicer(_NoCommits(), counting, None, None)  # type: ignore[arg-type]
    height = AWARD_TXS
    block = store.get_block(height)
    loc = store.get_tx_at(height, 0)
    assert block is not None and loc is not None
    executed = ExecutedBlock(block, (), BlockResult(receipts=(loc.result,)))
    servicer._on_commit(CommittedEvent(executed, height))
    stored = LedgerServicer(_NoCommits(), store, None, None)  # type: ignore[arg-type]
    assert servicer._block_info(height) == stored._block_info(height)
    request = services_pb2.SubscribeEventsRequest(from_height=height, types=["award_points"])

    async def first_event() -> Any:
        events = servicer.SubscribeEvents(request, None)
        event = await anext(aiter(events))
        await events.aclose()
        return event

    event = asyncio.run(first_event())
    assert (event.height, event.tx_hash, event.event.type) == (height, loc.tx_hash, "award_points")
    assert counting.tx_reads == 0


def test_get_block_without_receipts_reads_no_receipts(store: MemoryStore) -> None:
    # The explorer's home page lists 20 recent headers with GetBlock: each call built every
    # receipt of its block (most of an award block's megabytes) for a row of its header.
    counting = _CountingStore(store)
    servicer = LedgerServicer(_NoCommits(), counting, None, None)  # type: ignore[arg-type]

    def get(height: int, without_receipts: bool) -> services_pb2.BlockInfo:
        request = services_pb2.GetBlockRequest(height=height, without_receipts=without_receipts)
        reply: services_pb2.BlockInfo = asyncio.run(servicer.GetBlock(request, None))
        return reply

    light = [get(h, without_receipts=True) for h in range(1, AWARD_TXS + 1)]
    assert counting.tx_reads == 0
    full = [get(h, without_receipts=False) for h in range(1, AWARD_TXS + 1)]
    assert counting.tx_reads == AWARD_TXS
    assert [b.committed for b in light] == [b.committed for b in full]
    assert all(not b.receipts for b in light) and all(len(b.receipts) == 1 for b in full)
