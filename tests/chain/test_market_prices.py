"""The market's price history (chain/market_view.py ``list_trade_prices``) over a project with
several vintages and a longer history than a page: pages in order, their cost, their tokens.

Reproduction (2026-12-04): every page of ``ListTradePrices`` read every price entry of the
project (a prefix scan, then a sort) before returning ``page_size`` of them, so the cost of a
page grew with the project's trading history. A page now reads its entries, one more, and two
per vintage; the tests count the entries a page reads through a counting reader.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carbon_ticket.chain.market_view import list_trade_prices
from carbon_ticket.chain.records import Period
from carbon_ticket.chain.state import MemoryState
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import PROJECT_ID, Ledger
from tests.chain.market import BUYERS, PLATFORM, attr, buy
from tests.chain.market_history import LOT, TRADES, VINTAGES, priced_ledger, settled_history


class CountingReader:
    """A RangeReader over a state that counts what it hands out: point reads and the entries
    drawn from scans (what a page costs a LevelDB store)."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self.reads = 0

    def get(self, key: bytes) -> bytes | None:
        self.reads += 1
        return self._state.get(key)

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for item in self._state.scan(prefix):
            self.reads += 1
            yield item

    def scan_range(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        for item in self._state.scan_range(start, stop, reverse):
            self.reads += 1
            yield item


def _bound(size: int, vintage: Period | None) -> int:
    """What a page may read: its trades, its entries and one more, and for the whole history
    two entries per vintage (finding the vintages; the merge's look-ahead)."""
    return 2 * size + 1 + (2 * len(VINTAGES) if vintage is None else 0)


def _walk(chain: Ledger, vintage: Period | None, size: int) -> Iterator[tuple[list[int], int]]:
    """Every page of the history (its trade ids and what it read), following the tokens."""
    before: int | None = None
    while True:
        reader = CountingReader(chain.state)
        page = list_trade_prices(reader, PROJECT_ID, vintage, size, before)
        yield [t.trade_id for t in page.items], reader.reads
        if page.next_before is None:
            return
        before = page.next_before


@pytest.fixture(scope="module")
def chain() -> Ledger:
    return priced_ledger()[0]


@pytest.mark.parametrize("vintage", [None, *VINTAGES], ids=["all", "2021", "2022", "2023"])
@pytest.mark.parametrize("size", [1, 3, 5])
def test_pages_list_the_history_once_each_reading_only_its_own_size(
    chain: Ledger, vintage: Period | None, size: int
) -> None:
    expected = settled_history(chain, vintage)
    assert len(expected) >= 8  # more than the small pages: several pages each
    pages = list(_walk(chain, vintage, size))
    assert [i for ids, _reads in pages for i in ids] == expected
    assert all(len(ids) == size for ids, _reads in pages[:-1]) and pages[-1][0]
    for _ids, reads in pages:
        assert reads <= _bound(min(size, len(expected)), vintage)


def test_a_page_of_a_long_history_costs_the_page_not_thesettled_history(chain: Ledger) -> None:
    history = settled_history(chain, None)
    reader = CountingReader(chain.state)
    page = list_trade_prices(reader, PROJECT_ID, None, 2, None)
    assert [t.trade_id for t in page.items] == history[:2] and page.next_before == history[1]
    assert reader.reads <= _bound(2, None) < len(history)
    reader = CountingReader(chain.state)  # the last page: nothing read above its token
    last = list_trade_prices(reader, PROJECT_ID, None, 2, history[-3])
    assert [t.trade_id for t in last.items] == history[-2:] and last.next_before is None
    assert reader.reads <= _bound(2, None)


def test_tokens_stay_valid_while_trades_settle_between_pages() -> None:
    chain, orders = priced_ledger()
    start = settled_history(chain, None)
    pending = [t for t in range(1, TRADES + 1) if t % 5 == 0]
    walked: list[int] = []
    before: int | None = None
    for round_ in range(100):
        reader = CountingReader(chain.state)
        page = list_trade_prices(reader, PROJECT_ID, None, 3, before)
        assert reader.reads <= _bound(3, None)
        walked += [t.trade_id for t in page.items]
        if page.next_before is None:
            break
        before = page.next_before
        # Between pages: a new trade in each vintage settles (ids above every token), and an
        # old pending trade below the token settles (it belongs to the pages still to come).
        for vintage_order in orders:
            receipt = chain.ok(BUYERS[round_ % len(BUYERS)], buy(vintage_order, LOT))
            trade_id = int(attr(receipt, "buy", "trade_id"))
            chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=trade_id))
        below = [t for t in pending if t < before]
        if below:
            chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=below[-1]))
            pending.remove(below[-1])
    late = sorted(set(settled_history(chain, None)) - set(start) - set(range(TRADES + 1, 10**6)))
    assert late  # some old pending trades settled under the token during the walk
    assert walked == sorted(start + late, reverse=True)  # each once, none skipped
    assert list_trade_prices(chain.state, PROJECT_ID, None, 3, None).items[0].trade_id > TRADES
