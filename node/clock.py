"""Clocks for the ``node.ports.Clock`` port: the real one, a skewed view, and a virtual one.

``LoopClock`` reads the system clocks and schedules on the running asyncio loop. ``VirtualClock``
only moves when a test advances it: its timers fire in due order, so a test drives several real
nodes through timeouts and block intervals in one process, without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable

from carbon_ticket.node.ports import Clock, TimerHandle

__all__ = ["LoopClock", "SkewedClock", "VirtualClock", "VirtualTimer", "skewed"]


class LoopClock:
    """The system clocks, with timers on the running asyncio event loop."""

    def wall_ms(self) -> int:
        """Milliseconds since the Unix epoch (block times come from the proposer's clock)."""
        return time.time_ns() // 1_000_000

    def monotonic_s(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> TimerHandle:
        """``loop.call_later`` on the running loop."""
        return asyncio.get_running_loop().call_later(delay_s, callback)


class SkewedClock:
    """Another clock whose wall time is moved by ``offset_ms`` (timers and intervals are not)."""

    def __init__(self, clock: Clock, offset_ms: int) -> None:
        self._clock = clock
        self.offset_ms = offset_ms

    def wall_ms(self) -> int:
        """The wrapped wall time plus the offset."""
        return self._clock.wall_ms() + self.offset_ms

    def monotonic_s(self) -> float:
        """The wrapped monotonic time."""
        return self._clock.monotonic_s()

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> TimerHandle:
        """The wrapped clock's timer."""
        return self._clock.call_later(delay_s, callback)


def skewed(clock: Clock, offset_ms: int) -> Clock:
    """``clock`` seen with its wall time moved by ``offset_ms`` (test setting
    ``[debug] clock_offset_ms``); the clock itself when there is no offset."""
    return clock if offset_ms == 0 else SkewedClock(clock, offset_ms)


class VirtualTimer:
    """A timer of a ``VirtualClock``."""

    __slots__ = ("callback", "cancelled", "due_s")

    def __init__(self, due_s: float, callback: Callable[[], object]) -> None:
        self.due_s = due_s
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Never run the callback."""
        self.cancelled = True


class VirtualClock:
    """A clock that stands still until ``advance_to``/``fire_due`` is called (for tests).

    Timers due at the same moment fire in the order they were scheduled, so a run is
    reproducible. A callback that raises propagates to whoever advanced the clock.
    """

    def __init__(self, wall_start_ms: int, monotonic_start_s: float = 1000.0) -> None:
        self._wall_start_ms = wall_start_ms
        self._start_s = monotonic_start_s
        self._now_s = monotonic_start_s
        self._timers: list[tuple[float, int, VirtualTimer]] = []
        self._seq = itertools.count()

    def wall_ms(self) -> int:
        """The start wall time plus the virtual time elapsed."""
        return self._wall_start_ms + round((self._now_s - self._start_s) * 1000)

    def monotonic_s(self) -> float:
        """The virtual time in seconds."""
        return self._now_s

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> VirtualTimer:
        """Schedule ``callback`` at now + ``delay_s`` of virtual time."""
        timer = VirtualTimer(self._now_s + max(0.0, delay_s), callback)
        heapq.heappush(self._timers, (timer.due_s, next(self._seq), timer))
        return timer

    def next_due_s(self) -> float | None:
        """When the earliest live timer is due, or None when none is scheduled."""
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def fire_due(self) -> int:
        """Run every timer due by now (also ones scheduled meanwhile); returns how many ran."""
        fired = 0
        while True:
            due = self.next_due_s()
            if due is None or due > self._now_s:
                return fired
            _, _, timer = heapq.heappop(self._timers)
            timer.cancelled = True
            timer.callback()
            fired += 1

    def advance_to(self, when_s: float) -> None:
        """Move virtual time forward to ``when_s`` (never back); fires nothing by itself."""
        self._now_s = max(self._now_s, when_s)
