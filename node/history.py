"""History pages of the public API (``GetAccountHistory``, ``GetBatchHistory``).

A page is built from committed positions, which never move or change, so each transaction's
``HistoryItem`` is encoded once and kept (bounded in bytes, least recently used out first).
That matters for residents: one ``AwardPoints`` names ~200 of them, and its receipt (an event
per award, ~38 KB) took ~9 ms of CPU to decode into every one of their pages; a kept item is
copied in ~0.2 ms. Pages end at ``MAX_PAGE_BYTES`` with a token, and the event loop, which
consensus runs on too, gets a turn every ``_YIELD_BYTES`` of items.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence

from carbon_ticket.chain.kvstore import HistoryEntry
from carbon_ticket.chain.store import StoreView
from carbon_ticket.node.api_codec import MAX_PAGE_BYTES, page_token, tx_to_proto
from carbon_ticket.proto import services_pb2

__all__ = ["CACHE_BYTES", "HistoryPages"]

CACHE_BYTES = 32 * 1024 * 1024  # encoded items kept: ~850 award transactions' worth
_YIELD_BYTES = 64 * 1024  # items added to a page between turns of the event loop


class HistoryPages:
    """Builds history pages over ``store``; ``block_time(height)`` dates the items."""

    def __init__(
        self,
        store: StoreView,
        block_time: Callable[[int], int],
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        self._store = store
        self._block_time = block_time
        self._cache_bytes = cache_bytes
        self._items: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._kept_bytes = 0
        self.encodings = 0  # items encoded from the store (tests read it)

    @property
    def kept_bytes(self) -> int:
        """Bytes of encoded items kept now (at most ``cache_bytes``)."""
        return self._kept_bytes

    async def page(
        self,
        entries: Sequence[HistoryEntry],
        size: int,
        older: Callable[[tuple[int, int]], bool],
    ) -> services_pb2.HistoryPage:
        """The items of ``entries`` (a store page of at most ``size``), newest first.

        The page ends early, with a token after its last item, once its items reach
        ``MAX_PAGE_BYTES``; otherwise it has a token when the store page was full and
        ``older(position of its last entry)`` says an older entry exists (so a full last page
        has no token, and no client is sent on to an empty page).
        """
        page = services_pb2.HistoryPage()
        used = since_yield = 0
        for entry in entries:
            if used >= MAX_PAGE_BYTES:
                last = page.items[-1]
                page.next_page_token = page_token(last.height, last.index)
                return page
            if since_yield >= _YIELD_BYTES:
                since_yield = 0
                await asyncio.sleep(0)  # consensus and other clients run between items
            encoded = self._item(entry)
            if encoded is None:  # pragma: no cover - the index only names committed txs
                continue
            page.items.add().MergeFromString(encoded)
            used += len(encoded)
            since_yield += len(encoded)
        if len(entries) == size and entries:
            position = (entries[-1].height, entries[-1].index)
            if older(position):
                page.next_page_token = page_token(*position)
        return page

    def _item(self, entry: HistoryEntry) -> bytes | None:
        """The encoded ``HistoryItem`` of ``entry``: kept, or read and encoded now."""
        position = (entry.height, entry.index)
        encoded = self._items.get(position)
        if encoded is not None:
            self._items.move_to_end(position)
            return encoded
        loc = self._store.get_tx_at(entry.height, entry.index)
        if loc is None:
            return None
        info = tx_to_proto(loc, self._block_time(entry.height))
        encoded = services_pb2.HistoryItem(
            height=entry.height,
            index=entry.index,
            tx_hash=loc.tx_hash,
            kind=info.body.WhichOneof("msg") or "",
            signer=info.body.signer,
            receipt=info.receipt,
            time_ms=info.time_ms,
        ).SerializeToString()
        self.encodings += 1
        self._keep(position, encoded)
        return encoded

    def _keep(self, position: tuple[int, int], encoded: bytes) -> None:
        if len(encoded) > self._cache_bytes:
            return
        self._items[position] = encoded
        self._kept_bytes += len(encoded)
        while self._kept_bytes > self._cache_bytes:
            _, dropped = self._items.popitem(last=False)
            self._kept_bytes -= len(dropped)
