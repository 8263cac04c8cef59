"""Notices when this node's clock disagrees with the other validators' and says so in the log.

Every fresh proposal carries its proposer's clock reading (the block time); the difference to
this node's clock on receipt is the clock offset plus the message delay. When the latest fresh
proposals of more than half of the other validators heard from are untimely in the same
direction, this node's clock is the likely odd one out (one skewed peer cannot make an honest
node complain): its own proposals get prevoted nil by the others, and it prevotes nil on
theirs. One WARNING per ``_LOG_EVERY_S``, naming the median offset.
"""

from __future__ import annotations

import logging
import statistics
import time

from carbon_ticket.node.config import TimeSettings

__all__ = ["ClockWatch"]

log = logging.getLogger(__name__)

_LOG_EVERY_S = 60.0


class ClockWatch:
    """Latest receipt-minus-block-time offset per proposer; warns when the median is off."""

    def __init__(self, settings: TimeSettings, validators: int) -> None:
        self._settings = settings
        # The median must speak for more than one other validator when there are several.
        self._needed = min(2, max(1, validators - 1))
        self._offsets: dict[bytes, int] = {}
        self._logged_s = -_LOG_EVERY_S
        self.warnings = 0

    def observe(self, proposer: bytes, offset_ms: int) -> None:
        """Record one fresh proposal from another validator (offset > 0: ours is later)."""
        self._offsets[proposer] = offset_ms
        median = self.disagreement_ms()
        if median is None:
            return
        now = time.monotonic()
        if now - self._logged_s < _LOG_EVERY_S:
            return
        self._logged_s = now
        self.warnings += 1
        log.warning(
            "CLOCK: this node's clock is about %+.1f s %s the other validators' (median over "
            "the latest proposals of %d validators); block times must agree within %d ms, so "
            "its proposals are refused and it prevotes nil on theirs: synchronise it (NTP)",
            median / 1000, "ahead of" if median > 0 else "behind", len(self._offsets),
            self._settings.precision_ms,
        )  # fmt: skip

    def disagreement_ms(self) -> float | None:
        """The median offset of the validators that disagree with this node's clock, when
        more than half of those heard from disagree in one direction; else None."""
        offsets = list(self._offsets.values())
        if len(offsets) < self._needed:
            return None
        s = self._settings
        ahead = [o for o in offsets if o > s.precision_ms + s.message_delay_ms]
        behind = [o for o in offsets if o < -s.precision_ms]
        for group in (ahead, behind):
            if 2 * len(group) > len(offsets):
                return statistics.median(group)
        return None
