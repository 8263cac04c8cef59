"""Block streams: each committed block is encoded once and the same bytes go to every subscriber.

The commit path only notes the new height; a task then drops it into each subscriber's bounded
queue, a slice of subscribers per turn of the event loop (no store read, no encoding, nothing that
grows with the block), so consensus messages never wait behind a thousand stream writes. The first
stream that needs a block encodes it; the others reuse those bytes from a small cache of the
latest heights (a block far below the tip, asked for by GetBlock or a stream catching up, is
encoded for that caller only, so that walking back through history never pushes out the blocks
live streams share). A stream may ask for blocks without receipts, a second, much smaller
encoding of the same height. A subscriber that falls ``queue_blocks`` behind (its client does
not read) is dropped: its stream ends with RESOURCE_EXHAUSTED saying where to resume, instead of
the node holding ever more blocks for it.

gRPC serialises what a handler yields; ``pass_encoded`` wraps a method's serializer so that bytes
(already the encoded message) are sent as they are.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Callable
from typing import Any

from carbon_ticket.chain.errors import OutOfRange, ResourceExhausted

__all__ = [
    "MAX_HEIGHTS_AHEAD",
    "BlockFanout",
    "EncodeBlock",
    "Subscription",
    "check_from_height",
    "pass_encoded",
]

# Encodes the BlockInfo of a committed height, with its receipts (True) or without (False).
EncodeBlock = Callable[[int, bool], bytes]

_CACHED_BLOCKS = 16  # recent encodings kept: subscribers are at most a few blocks apart
# Subscribers woken per turn of the event loop: consensus messages that arrive meanwhile wait for
# at most this many stream writes, not for one write per subscriber.
WAKE_SLICE = 32


# How far past the tip a stream may start. A stream that starts ahead waits for its height (a
# follower resuming on a node a few blocks behind the one it left); one that starts farther
# than this was given a wrong number (another chain's height, a time, 2^64-1) and would wait
# silently for days or forever, holding one of its client's streams.
MAX_HEIGHTS_AHEAD = 100_000


def check_from_height(from_height: int, height: int) -> None:
    """Refuse a stream's ``from_height`` more than ``MAX_HEIGHTS_AHEAD`` past ``height``, this
    node's: OUT_OF_RANGE, not INVALID_ARGUMENT, since a node still syncing or restored far
    behind may serve the same request later, and another node may serve it now."""
    if from_height > height + MAX_HEIGHTS_AHEAD:
        raise OutOfRange(
            f"from_height {from_height} is {from_height - height} blocks past this node's "
            f"height {height}; a stream may start at most {MAX_HEIGHTS_AHEAD:,} blocks ahead "
            "of the node it reads (0 starts at the next block); if this node is still "
            "syncing, retry later or ask another",
            "from_height_too_far",
        )


def pass_encoded(serialize: Callable[[Any], bytes] | None) -> Callable[[Any], bytes] | None:
    """A serializer that sends bytes unchanged and serialises anything else with ``serialize``."""
    if serialize is None:
        return None

    def serialize_or_pass(message: Any) -> bytes:
        return message if isinstance(message, bytes) else serialize(message)

    return serialize_or_pass


class Subscription:
    """One stream's queue of committed heights, at most ``limit`` of them waiting."""

    def __init__(self, limit: int) -> None:
        self._queue: asyncio.Queue[int] = asyncio.Queue(maxsize=limit)
        self.limit = limit
        self.dropped_at: int | None = None  # first height it could not take

    def offer(self, height: int) -> bool:
        """Queue ``height``; False when the queue is full (the subscriber is then dropped)."""
        try:
            self._queue.put_nowait(height)
        except asyncio.QueueFull:
            self.dropped_at = height
            return False
        return True

    def drain(self) -> None:
        """Forget queued heights (the caller reads them from the store anyway)."""
        while not self._queue.empty():
            self._queue.get_nowait()

    async def next_height(self) -> int:
        """The next committed height (waits for one)."""
        return await self._queue.get()


class BlockFanout:
    """Encodes each block once (``encode(height, receipts)``) for every SubscribeBlocks stream."""

    def __init__(
        self,
        encode: EncodeBlock,
        committed_height: Callable[[], int],
        queue_blocks: int,
    ) -> None:
        self._encode = encode
        self._height = committed_height
        self._queue_blocks = queue_blocks
        self._subscriptions: set[Subscription] = set()
        self._heights: deque[int] = deque()  # committed, not yet handed to every subscriber
        self._waking: asyncio.Task[None] | None = None
        self._cache: OrderedDict[tuple[int, bool], bytes] = OrderedDict()
        self.encodings = 0  # how many times a block was encoded (tests and metrics read it)
        self.dropped = 0  # subscribers dropped for falling behind

    @property
    def subscribers(self) -> int:
        """Streams following live blocks now."""
        return len(self._subscriptions)

    def on_commit(self, height: int) -> None:
        """Hand a newly committed height to every subscriber (called on the commit path).

        The commit path only notes the height; a task wakes the subscribers a slice at a time,
        yielding to the event loop in between, so a thousand streams never delay consensus by a
        thousand writes in a row.
        """
        if not self._subscriptions:
            return
        self._heights.append(height)
        if self._waking is None or self._waking.done():
            self._waking = asyncio.get_running_loop().create_task(self._wake_subscribers())

    async def _wake_subscribers(self) -> None:
        while self._heights:
            height = self._heights.popleft()
            for index, subscription in enumerate(list(self._subscriptions)):
                if index and index % WAKE_SLICE == 0:
                    await asyncio.sleep(0)
                if not subscription.offer(height):
                    self._subscriptions.discard(subscription)
                    self.dropped += 1

    def encoded(self, height: int, receipts: bool = True) -> bytes:
        """The encoded block at ``height`` (with or without its receipts): a recent one is
        encoded once, then reused by every stream."""
        key = (height, receipts)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        data = self._encode(height, receipts)
        self.encodings += 1
        if height > self._height() - _CACHED_BLOCKS:
            self._cache[key] = data
            if len(self._cache) > _CACHED_BLOCKS:
                self._cache.popitem(last=False)
        return data

    async def follow(self, from_height: int, receipts: bool = True) -> AsyncGenerator[bytes, None]:
        """Every block from ``from_height`` on (0 = the next one), encoded (with or without
        receipts), in order, forever.

        Registers before catching up, so a block committed meanwhile is queued, not missed; a
        queued height already sent during the catch-up is skipped. A reader that stops early
        calls ``aclose`` so that the subscription is dropped now, not when it is collected.
        """
        check_from_height(from_height, self._height())
        subscription = Subscription(self._queue_blocks)
        self._subscriptions.add(subscription)
        try:
            next_height = from_height or self._height() + 1
            while True:
                while next_height <= self._height():
                    self._check_kept_up(subscription, next_height)
                    yield self.encoded(next_height, receipts)
                    next_height += 1
                    # Heights queued while this stream was writing are sent from the store by
                    # this loop; only a stream stuck in one write lets its queue fill.
                    subscription.drain()
                    if next_height <= self._height():
                        await asyncio.sleep(0)  # let consensus run between heights of a catch-up
                self._check_kept_up(subscription, next_height)
                await subscription.next_height()  # the loop above sends it from the store
        finally:
            self._subscriptions.discard(subscription)

    def _check_kept_up(self, subscription: Subscription, next_height: int) -> None:
        if subscription.dropped_at is None:
            return
        raise ResourceExhausted(
            f"this stream fell more than {subscription.limit} blocks behind (at height "
            f"{next_height}, the chain at {subscription.dropped_at}) and was ended; read faster "
            f"and subscribe again with from_height={next_height}",
            "subscriber_too_slow",
        )
