"""A simulated wide-area link between validators, for benchmarks and tests only.

``[debug] simulated_rtt_ms`` and ``simulated_loss_ppm`` make every outbound peer link behave like
a link between two cities: each message to a peer arrives half a round trip later (a request that
waits for its reply, such as fetching a missing block, pays the whole round trip), and the given
share of consensus messages and gossiped transactions is dropped. The delay is applied in flight,
never by pausing the sender, so messages keep flowing at the link's full rate as on a real WAN.

Bureaus run validators in different cities; ``carbon-ticket bench --wan-rtt-ms`` uses this to
measure finality in that setting on one machine. Loopback itself adds ~0.1 ms.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["WanSimulation"]

T = TypeVar("T")
PPM = 1_000_000


@dataclass
class WanSimulation:
    """The delay and loss one node puts on its links to peers (``rtt_ms=0`` and no loss: none)."""

    rtt_ms: int = 0
    loss_ppm: int = 0
    # Seeded per node so that a run's drops are reproducible; never used for anything but drops.
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    @property
    def active(self) -> bool:
        """Whether this link simulates anything at all."""
        return self.rtt_ms > 0 or self.loss_ppm > 0

    @property
    def one_way_s(self) -> float:
        """Seconds a one-way message spends in flight."""
        return self.rtt_ms / 2000.0

    @property
    def round_trip_s(self) -> float:
        """Seconds a request waits for its reply."""
        return self.rtt_ms / 1000.0

    def survivors(self, items: list[T]) -> list[T]:
        """The messages of a batch that the link does not drop."""
        if self.loss_ppm <= 0:
            return items
        return [item for item in items if self.rng.randrange(PPM) >= self.loss_ppm]
