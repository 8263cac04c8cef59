"""Each committed block's ledger events, decoded once for every ``SubscribeEvents`` stream.

Every stream used to decode every receipt of every block and filter it alone. A block of award
transactions has an ``award`` event per award (4,530 events for 30 transactions of 150), ~250 ms
of CPU to decode; the node allows 256 streams, so a block could cost a minute of the event loop
that consensus runs on. Now the first stream that reaches a height decodes it (giving the loop a
turn every ``_YIELD_WORK`` transactions and events), the others wait for that and share the
same messages, and filters look up an index by event type and by attribute value instead of
reading every event.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from carbon_ticket.chain.kvstore import receipt_to_proto
from carbon_ticket.chain.results import TxResult
from carbon_ticket.proto import services_pb2

__all__ = ["BlockEvents", "DecodedEvents"]

_KEPT_BLOCKS = 16  # streams follow live blocks closely; catch-up reads each height once anyway
_YIELD_WORK = 500  # transactions and events decoded between turns of the event loop


@dataclass(frozen=True, slots=True)
class DecodedEvents:
    """One block's events in block order, with the positions of each type and attribute value."""

    events: tuple[services_pb2.LedgerEvent, ...]
    by_type: dict[str, tuple[int, ...]]
    by_value: dict[str, tuple[int, ...]]

    def matching(self, types: frozenset[str], value: str) -> list[services_pb2.LedgerEvent]:
        """The events whose type is in ``types`` (any, if empty) and that have an attribute
        equal to ``value`` (any, if empty), in block order."""
        if not types and not value:
            return list(self.events)
        positions: set[int] | None = None
        if value:
            positions = set(self.by_value.get(value, ()))
        if types:
            of_types = {p for t in types for p in self.by_type.get(t, ())}
            positions = of_types if positions is None else positions & of_types
        assert positions is not None
        return [self.events[p] for p in sorted(positions)]


class BlockEvents:
    """Decodes a height's events once (``of``), keeping the last ``_KEPT_BLOCKS``."""

    def __init__(
        self, receipts: Callable[[int], Iterable[TxResult]], block_time: Callable[[int], int]
    ) -> None:
        # ``receipts(height)``: the block's receipts in order (from its commit, or the store)
        self._receipts = receipts
        self._block_time = block_time
        self._kept: OrderedDict[int, asyncio.Task[DecodedEvents]] = OrderedDict()
        self.decodings = 0  # heights decoded from the store (tests read it)

    async def of(self, height: int) -> DecodedEvents:
        """The events of committed ``height``: decoded now, or by another stream before."""
        task = self._kept.get(height)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._decode(height))
            self._kept[height] = task
            if len(self._kept) > _KEPT_BLOCKS:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(height)
        try:
            # Shielded: a stream that ends while it waits must not cancel the others' decoding
            return await asyncio.shield(task)
        except Exception:
            if self._kept.get(height) is task:
                del self._kept[height]  # a failed decoding is not kept; the next stream retries
            raise

    async def _decode(self, height: int) -> DecodedEvents:
        self.decodings += 1
        time_ms = self._block_time(height)
        events: list[services_pb2.LedgerEvent] = []
        by_type: dict[str, list[int]] = {}
        by_value: dict[str, list[int]] = {}
        work = 0
        for index, result in enumerate(self._receipts(height)):
            if work >= _YIELD_WORK:
                work = 0
                await asyncio.sleep(0)  # an award transaction alone holds ~200 events
            receipt = receipt_to_proto(result)
            work += 1 + len(receipt.events)
            for event in receipt.events:
                position = len(events)
                events.append(
                    services_pb2.LedgerEvent(
                        height=height,
                        tx_index=index,
                        tx_hash=result.tx_hash,
                        event=event,
                        time_ms=time_ms,
                    )
                )
                by_type.setdefault(event.type, []).append(position)
                for value in {a.value for a in event.attributes}:
                    by_value.setdefault(value, []).append(position)
        return DecodedEvents(
            tuple(events),
            {k: tuple(v) for k, v in by_type.items()},
            {k: tuple(v) for k, v in by_value.items()},
        )
