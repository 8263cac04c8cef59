"""Pure bookkeeping behind the public API's per-client limits (``node.api_guard`` applies them).

Nothing here does I/O or knows about gRPC: a token bucket for request rates, counters of things
a client holds open (streams, submissions in flight), and a shared budget (transactions waiting
for admission). Each refuses by returning False, never by blocking: a client over its limit is
told so at once instead of being buffered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

__all__ = ["Budget", "Counters", "TokenBucket", "client_of_peer"]


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``take`` spends them if it can."""

    rate: float
    burst: float
    clock: Callable[[], float]  # seconds, monotonic
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst <= 0:
            raise ValueError(f"rate and burst must be positive, got {self.rate}, {self.burst}")
        self.tokens = self.burst
        self.stamp = self.clock()

    def take(self, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens when there are that many; False (and spend none) otherwise."""
        self._refill()
        if cost > self.tokens:
            return False
        self.tokens -= cost
        return True

    def is_full(self) -> bool:
        """True when the bucket has refilled completely (it can be forgotten)."""
        self._refill()
        return self.tokens >= self.burst

    def _refill(self) -> None:
        now = self.clock()
        # A clock that steps back (it should not: monotonic) must not drain the bucket.
        elapsed = max(now - self.stamp, 0.0)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.stamp = now


class Counters:
    """How many of something each client holds, at most ``limit`` each and ``total`` in all."""

    def __init__(self, limit: int, total: int | None = None) -> None:
        if limit <= 0 or (total is not None and total <= 0):
            raise ValueError(f"limits must be positive, got {limit}, {total}")
        self.limit = limit
        self.total = total
        self._held: dict[str, int] = {}
        self._sum = 0

    def acquire(self, client: str) -> bool:
        """Count one more for ``client``; False (and count nothing) when a limit is reached."""
        held = self._held.get(client, 0)
        if held >= self.limit or (self.total is not None and self._sum >= self.total):
            return False
        self._held[client] = held + 1
        self._sum += 1
        return True

    def release(self, client: str) -> None:
        """Count one fewer for ``client`` (a release without an acquire is ignored)."""
        held = self._held.get(client, 0)
        if held <= 0:
            return
        if held == 1:
            del self._held[client]  # forget idle clients: the map stays as small as the load
        else:
            self._held[client] = held - 1
        self._sum -= 1

    def held(self, client: str) -> int:
        """How many ``client`` holds now."""
        return self._held.get(client, 0)

    @property
    def in_use(self) -> int:
        """How many all clients hold together."""
        return self._sum


class Budget:
    """A shared amount (e.g. transactions being admitted) that callers reserve and give back."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.used = 0

    def reserve(self, amount: int) -> bool:
        """Reserve ``amount``; False (and reserve nothing) when it does not fit."""
        if amount < 0:
            raise ValueError(f"amount must not be negative, got {amount}")
        if self.used + amount > self.capacity:
            return False
        self.used += amount
        return True

    def give_back(self, amount: int) -> None:
        """Return ``amount`` reserved earlier."""
        self.used = max(self.used - amount, 0)


def client_of_peer(peer: str) -> str:
    """The client's IP address from a gRPC peer string (``ipv4:1.2.3.4:5``, ``ipv6:[::1]:5``).

    Ports differ per connection, so the address alone names the client; anything else (a unix
    socket path) is taken whole.
    """
    kind, _, rest = unquote(peer).partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    if kind == "ipv6":
        host = rest.rpartition(":")[0] if rest.startswith("[") else rest
        return host.strip("[]") or rest
    return peer
