"""Consensus-relevant parameters read from committed state, as governance may change them.

Block and transaction limits are chain parameters: a governance action changes them in a block,
and every block after it is built and checked under the new limits. So the node never freezes
them at startup: the mempool, the app, block sync and the simulator ask a ``LimitsSource`` each
time, and ``CommittedParams`` decodes the stored parameters once per committed height.
"""

from __future__ import annotations

from collections.abc import Callable

from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.records import Params
from carbon_ticket.chain.state import StateReader, get_params

__all__ = ["CommittedParams", "LimitsSource", "limits_of"]

# Fixed limits (tests, tools) or a function returning the limits in force now.
LimitsSource = Limits | Callable[[], Limits]


def limits_of(source: LimitsSource) -> Callable[[], Limits]:
    """``source`` as a function returning the limits in force."""
    if isinstance(source, Limits):
        return lambda: source
    return source


class CommittedParams:
    """The chain parameters of the committed state, decoded once per committed height."""

    def __init__(self, state: StateReader, height: Callable[[], int]) -> None:
        # ``height``: the last committed height of ``state`` (asked on every call).
        self._state = state
        self._height = height
        self._cache: tuple[int, Params] | None = None

    def params(self) -> Params:
        """The parameters in force for the next block."""
        height = self._height()
        cached = self._cache
        if cached is None or cached[0] != height:
            cached = (height, get_params(self._state))
            self._cache = cached
        return cached[1]

    def limits(self) -> Limits:
        """The size limits in force for the next block."""
        return self.params().limits
