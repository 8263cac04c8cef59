"""Shared pieces of the processing functions: context, effects and the common verifications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chain import keys
from chain.amounts import format_tco2e
from chain.errors import NotFound, PermissionDenied
from chain.records import Period
from chain.results import Event
from chain.state import StateOverlay
from chain.tx import SignedTx
from proto import ledger_pb2

__all__ = [
    "BlockContext",
    "Effects",
    "Rule",
    "event",
    "period_of",
    "require_account",
    "require_role",
    "tco2e",
]


@dataclass(frozen=True, slots=True)
class BlockContext:
    """What a block tells its transactions: chain, height, header time and the previous app hash."""

    chain_id: str
    height: int
    time_ms: int
    prev_app_hash: bytes


@dataclass(frozen=True, slots=True)
class Effects:
    """What an applied transaction reports: events plus the accounts and batches it touched."""

    events: tuple[Event, ...] = ()
    accounts: tuple[str, ...] = ()
    batches: tuple[str, ...] = ()


Rule = Callable[[StateOverlay, BlockContext, SignedTx, Any], Effects]


def event(kind: str, *attributes: tuple[str, str]) -> Event:
    """An Event with attributes in the given order."""
    return Event(kind, attributes)


def tco2e(grams: int) -> str:
    """Grams as tCO2e text for messages, e.g. ``12.5 tCO2e``."""
    return f"{format_tco2e(grams)} tCO2e"


def period_of(period: ledger_pb2.Period) -> Period:
    """The typed period of a wire period."""
    return Period(period.start_date, period.end_date)


def require_role(state: StateOverlay, role: str, address: str, action: str) -> None:
    """Verify ``address`` holds ``role``; raise PermissionDenied (``missing_role``)."""
    if state.get(keys.role_key(role, address)) is None:
        raise PermissionDenied(
            f"{action} needs the {role} role, which account {address} does not hold",
            "missing_role",
        )


def require_account(state: StateOverlay, address: str, what: str) -> None:
    """Verify ``address`` is a registered account; raise NotFound (``unknown_account``)."""
    if state.get(keys.nonce_key(address)) is None:
        raise NotFound(
            f"{what} {address} is not a registered account; ask a registrar to register it first",
            "unknown_account",
        )
