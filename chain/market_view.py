"""Read-only views of the market over a committed state (issue 17): sell orders, trades and the
public price history of a project and vintage.

Pure. Lists are newest first (ids are sequence numbers) and continue below a ``before`` id.
Orders and trades are read by id from the newest down, at most ``MAX_SCANNED`` records per
page, so a rare filter ends a page early (with a token to continue) instead of reading the
whole market. The price history is read as ranges of its index (``RangeReader``), so a page
costs its size (plus one entry per vintage), not the length of the history.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import InvalidRequest
from carbon_ticket.chain.market_records import ORDER_STATUSES, TRADE_STATUSES, Order, Trade
from carbon_ticket.chain.records import Period
from carbon_ticket.chain.rules.market import get_trade
from carbon_ticket.chain.state import RangeReader, StateReader

__all__ = [
    "MAX_SCANNED",
    "MarketPage",
    "list_orders",
    "list_trade_prices",
    "list_trades",
]

MAX_SCANNED = 10_000  # records one page reads at most
_ID_BYTES = 8  # a price entry's key ends in its trade id
R = TypeVar("R", Order, Trade)
Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class MarketPage(Generic[Item]):
    """A page of orders or trades, newest first, and the id to continue below (None: no more)."""

    items: tuple[Item, ...]
    next_before: int | None


def _last_id(state: StateReader, counter: bytes) -> int:
    raw = state.get(counter)
    return keys.decode_u64(raw) - 1 if raw else 0


def _newest_first(
    state: StateReader,
    counter: bytes,
    key_of: Callable[[int], bytes],
    decode: Callable[[bytes], R],
    keep: Callable[[R], bool],
    size: int,
    before: int | None,
) -> MarketPage[R]:
    """Up to ``size`` records kept by ``keep``, with ids below ``before``, newest first."""
    top = (
        _last_id(state, counter) + 1
        if before is None
        else min(before, _last_id(state, counter) + 1)
    )
    found: list[R] = []
    record_id = top - 1
    scanned = 0
    while record_id >= 1 and len(found) < size and scanned < MAX_SCANNED:
        raw = state.get(key_of(record_id))
        scanned += 1
        if raw is not None:
            record = decode(raw)
            if keep(record):
                found.append(record)
        record_id -= 1
    more = record_id >= 1 and size > 0
    return MarketPage(tuple(found), record_id + 1 if more else None)


def _require_status(status: str, statuses: tuple[str, ...]) -> None:
    if status and status not in statuses:
        raise InvalidRequest(
            f"status {status!r} is not one of {', '.join(statuses)}", "invalid_status"
        )


def list_orders(
    state: StateReader, seller: str, batch_id: str, status: str, size: int, before: int | None
) -> MarketPage[Order]:
    """Sell orders matching every given filter ("" = any), newest first."""
    _require_status(status, ORDER_STATUSES)

    def keep(order: Order) -> bool:
        return (
            (not seller or order.seller == seller)
            and (not batch_id or order.batch_id == batch_id)
            and (not status or order.status == status)
        )

    return _newest_first(
        state, keys.NEXT_ORDER_ID, keys.order_key, Order.decode, keep, size, before
    )


def list_trades(
    state: StateReader, order_id: int, account: str, status: str, size: int, before: int | None
) -> MarketPage[Trade]:
    """Trades matching every given filter (0 / "" = any; account = buyer or seller)."""
    _require_status(status, TRADE_STATUSES)

    def keep(trade: Trade) -> bool:
        return (
            (not order_id or trade.order_id == order_id)
            and (not account or account in (trade.buyer, trade.seller))
            and (not status or trade.status == status)
        )

    return _newest_first(
        state, keys.NEXT_TRADE_ID, keys.trade_key, Trade.decode, keep, size, before
    )


def _vintage_prefixes(state: RangeReader, project_prefix: bytes) -> Iterator[bytes]:
    """The price-history prefix of each vintage of a project, in key order: one seek each,
    whatever the length of its history (an entry's key is its vintage prefix and 8 id bytes)."""
    start, stop = project_prefix, keys.prefix_end(project_prefix)
    while (first := next(state.scan_range(start, stop), None)) is not None:
        vintage_prefix = first[0][:-_ID_BYTES]
        yield vintage_prefix
        start = keys.prefix_end(vintage_prefix)


def _ids_below(state: RangeReader, vintage_prefix: bytes, before: int | None) -> Iterator[int]:
    """The trade ids of one vintage's price history below ``before``, newest first, read lazily."""
    stop = (
        keys.prefix_end(vintage_prefix)
        if before is None
        else vintage_prefix + keys.encode_u64(before)
    )
    for key, _value in state.scan_range(vintage_prefix, stop, reverse=True):
        yield keys.decode_u64(key[-_ID_BYTES:])


def list_trade_prices(
    state: RangeReader, project_id: str, vintage: Period | None, size: int, before: int | None
) -> MarketPage[Trade]:
    """Settled trades of a project (and vintage), newest first: the public price history.

    Entries are keyed by vintage, then trade id, so the whole history of a project is a merge of
    one newest-first range per vintage, each starting below ``before``: a page reads its entries,
    one more (to know whether a next page exists) and two per vintage (one finds the vintage,
    one the merge reads ahead), never the entries above its token or below its end.
    """
    if not project_id:
        raise InvalidRequest("project id is required", "missing_field")
    if size <= 0 or "/" in project_id:  # no project id has a "/" (check_fields._ID_RE)
        return MarketPage((), None)
    if vintage is not None:
        prefixes: Iterable[bytes] = (
            keys.trade_price_prefix(project_id, vintage.start_date, vintage.end_date),
        )
    else:
        prefixes = _vintage_prefixes(state, keys.trade_price_prefix(project_id))
    newest = heapq.merge(*(_ids_below(state, p, before) for p in prefixes), reverse=True)
    ids = list(itertools.islice(newest, size + 1))
    page = tuple(get_trade(state, i) for i in ids[:size])
    return MarketPage(page, page[-1].trade_id if len(ids) > size else None)
