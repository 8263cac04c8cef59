"""Shared pieces of the processing functions: context, effects and the common verifications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chain import keys
from chain.amounts import format_tco2e
from chain.errors import NotFound, PermissionDenied
from chain.records import Period, Project
from chain.results import Event
from chain.state import StateOverlay
from chain.tx import SignedTx
from proto import ledger_pb2

__all__ = [
    "BlockContext",
    "Effects",
    "Rule",
    "block_date",
    "day_number",
    "event",
    "local_date",
    "next_day",
    "period_of",
    "require_account",
    "require_project_issuer",
    "require_role",
    "tco2e",
]

_EPOCH = date(1970, 1, 1)
_MS_PER_DAY = 86_400_000


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


def _yyyymmdd(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def block_date(time_ms: int) -> int:
    """The UTC calendar day (YYYYMMDD) of a block time in ms since the epoch; pure arithmetic.

    Times beyond the calendar's range clamp to its first or last day, so no header time can
    make a rule raise anything but a LedgerError.
    """
    days = time_ms // _MS_PER_DAY
    if days < 0:
        return _yyyymmdd(_EPOCH)
    if days > (date.max - _EPOCH).days:
        return _yyyymmdd(date.max)
    return _yyyymmdd(_EPOCH + timedelta(days=days))


def local_date(time_ms: int, utc_offset_minutes: int) -> int:
    """The calendar day (YYYYMMDD) of a block time in the chain's time zone (genesis params)."""
    return block_date(time_ms + utc_offset_minutes * 60_000)


def day_number(yyyymmdd: int) -> int:
    """Days since 1970-01-01 of a valid YYYYMMDD day (check_tx guarantees valid days)."""
    year, month_day = divmod(yyyymmdd, 10_000)
    month, day = divmod(month_day, 100)
    return (date(year, month, day) - _EPOCH).days


def next_day(yyyymmdd: int) -> int:
    """The day after a valid YYYYMMDD day (check_tx guarantees valid periods)."""
    year, month_day = divmod(yyyymmdd, 10_000)
    month, day = divmod(month_day, 100)
    current = date(year, month, day)
    if current == date.max:
        return yyyymmdd + 1  # past every valid day; only used for comparisons
    return _yyyymmdd(current + timedelta(days=1))


def require_project_issuer(project: Project, signer: str, action: str) -> None:
    """Verify ``signer`` is the issuer that registered ``project``; raise PermissionDenied."""
    if project.issuer != signer:
        raise PermissionDenied(
            f"{action} for project {project.project_id} is reserved to its issuer "
            f"{project.issuer}; account {signer} did not register it",
            "not_project_issuer",
        )
