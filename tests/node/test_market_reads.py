"""The market's price history read through the public API from a LevelDB store: what a page of
``ListTradePrices`` reads, and the store's range reads it is built on (``scan_range``).

Reproductions (2026-12-04):
- each page of ``ListTradePrices`` read every price entry of the project from the store (a
  prefix scan of the whole history, then a sort), however small the page;
- plyvel's reverse iterator returns nothing for a range whose only key is its start; the
  LevelDB backend reads reverse ranges from their stop alone (node/store.py, and its own test in
  tests/node/test_store_leveldb.py), and these ranges must still see that key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from carbon_ticket.chain.kvstore import KVStore
from carbon_ticket.chain.records import Period
from carbon_ticket.chain.results import BlockResult
from carbon_ticket.chain.store import BlockStore, MemoryStore
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.chain.conftest import CHAIN_ID, PROJECT_ID, Ledger
from tests.chain.market_history import VINTAGES, priced_ledger, settled_history
from tests.node.api_inprocess import CountingKV, Stub, serve_api

KEYS = (b"p/1", b"p/3", b"p/5", b"q")
BOUNDS = (b"", b"p/", b"p/1", b"p/2", b"p/3", b"p/5", b"p/6", b"q", b"q\x00", b"r")
PAGE = 3


@pytest.fixture(params=["memory", "leveldb"])
def ranged(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlockStore]:
    """A store whose state is ``KEYS``."""
    store: BlockStore = (
        MemoryStore() if request.param == "memory" else LevelDBStore.open(tmp_path / "db")
    )
    writes: dict[bytes, bytes | None] = {k: b"value of " + k for k in KEYS}
    store.init_genesis(CHAIN_ID, b"{}", BlockResult(writes=writes, app_hash=bytes(32)))
    yield store
    store.close()


def test_state_ranges_read_every_key_in_either_direction(ranged: BlockStore) -> None:
    for start in BOUNDS:
        for stop in BOUNDS:
            inside = [k for k in KEYS if start <= k < stop]
            for reverse in (False, True):
                got = list(ranged.scan_range(start, stop, reverse))
                expected = sorted(inside, reverse=reverse)
                assert got == [(k, b"value of " + k) for k in expected], (start, stop, reverse)


Priced = tuple[Ledger, KVStore, CountingKV]


@pytest.fixture(scope="module")
def priced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Priced]:
    """The priced ledger, and its state in a LevelDB store read through a counting backend."""
    chain, _orders = priced_ledger()
    store = LevelDBStore.open(tmp_path_factory.mktemp("prices") / "db")
    writes: dict[bytes, bytes | None] = dict(chain.state.data)
    store.init_genesis(CHAIN_ID, b"{}", BlockResult(writes=writes, app_hash=chain.app_hash))
    counted = CountingKV(store.kv)
    yield chain, KVStore(counted, "counted"), counted
    store.close()


def _bound(vintage: Period | None) -> int:
    """What a page may read from the store: its trades, its entries and one more; for the whole
    history, per vintage, one entry to find it, one the merge looks ahead and one point read once
    it is exhausted (for one vintage, that point read)."""
    return 2 * PAGE + 1 + (3 * len(VINTAGES) if vintage is None else 1)


async def _walk(
    stub: Stub, counted: CountingKV, vintage: Period | None
) -> list[tuple[list[int], int]]:
    """Every page of the history (its trade ids and what it read), following the tokens."""
    pages: list[tuple[list[int], int]] = []
    token = ""
    while True:
        request = services_pb2.ListTradePricesRequest(
            project_id=PROJECT_ID, page_size=PAGE, page_token=token
        )
        if vintage is not None:
            request.vintage.CopyFrom(ledger_pb2.Period(start_date=vintage.start_date,
                                                       end_date=vintage.end_date))  # fmt: skip
        counted.reads = 0
        page = await stub.ListTradePrices(request, timeout=10)
        pages.append(([item.trade_id for item in page.items], counted.reads))
        token = page.next_page_token
        if not token:
            return pages


def test_price_history_pages_read_their_size_not_the_history(priced: Priced) -> None:
    chain, store, counted = priced

    async def calls(stub: Stub) -> dict[Period | None, list[tuple[list[int], int]]]:
        return {v: await _walk(stub, counted, v) for v in (None, VINTAGES[2])}

    walked = serve_api(store, calls)
    for vintage, pages in walked.items():
        history = settled_history(chain, vintage)
        bound = _bound(vintage)
        assert len(history) > bound  # reading the whole history would show
        assert [i for ids, _reads in pages for i in ids] == history
        assert all(reads <= bound for _ids, reads in pages), (vintage, pages)
