"""Shared pieces of the processing functions: context, effects and the common verifications."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from carbon_ticket.chain import keys
from carbon_ticket.chain.amounts import tco2e
from carbon_ticket.chain.errors import NotFound, PermissionDenied, PreconditionFailed
from carbon_ticket.chain.governance_records import Freeze
from carbon_ticket.chain.records import Params, Period, Project, account_kind
from carbon_ticket.chain.results import Event
from carbon_ticket.chain.state import StateOverlay, StateReader
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "BlockContext",
    "Effects",
    "Rule",
    "add_u64",
    "block_date",
    "credit_tradable",
    "day_number",
    "debit_tradable",
    "event",
    "local_date",
    "local_today",
    "next_day",
    "period_of",
    "read_u64",
    "require_account",
    "require_not_frozen",
    "require_project_issuer",
    "require_resident",
    "require_role",
    "require_tradable",
    "tco2e",
    "tradable_balance",
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


def require_resident(state: StateReader, address: str, what: str) -> None:
    """Verify ``address`` is a registered account of kind resident (only residents hold points).

    Any reader: the rules check it on their overlay, the API's residents' reads on the store."""
    raw = state.get(keys.account_key(address))
    if raw is None:
        raise NotFound(
            f"{what} {address} is not a registered account; ask a registrar to register it first",
            "unknown_account",
        )
    kind = account_kind(raw)
    if kind != "resident":
        raise PreconditionFailed(
            f"{what} {address} is a {kind} account; only resident accounts hold points",
            "not_resident",
        )


def require_account(state: StateOverlay, address: str, what: str) -> None:
    """Verify ``address`` is a registered account; raise NotFound (``unknown_account``)."""
    if state.get(keys.nonce_key(address)) is None:
        raise NotFound(
            f"{what} {address} is not a registered account; ask a registrar to register it first",
            "unknown_account",
        )


def require_not_frozen(state: StateOverlay, addresses: Iterable[str]) -> None:
    """Verify no account of ``addresses`` is frozen; raise PreconditionFailed (``account_frozen``).

    While no account is frozen this is one read of a counter per block (the overlay caches it).
    """
    if read_u64(state, keys.FROZEN_COUNT) == 0:
        return
    for address in sorted(addresses):
        raw = state.get(keys.frozen_key(address))
        if raw is not None:
            freeze = Freeze.decode(raw)
            why = f" ({freeze.reason})" if freeze.reason else ""
            raise PreconditionFailed(
                f"account {address} is frozen by governance proposal {freeze.proposal_id}{why}; "
                "it can receive but not send",
                "account_frozen",
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


def local_today(params: Params, ctx: BlockContext) -> int:
    """The block's calendar day (YYYYMMDD) in the chain's time zone (``params.residents``)."""
    return local_date(ctx.time_ms, params.residents.utc_offset_minutes)


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


# ---------------------------------------------------------------- integers and balances
# Every integer the rules keep in state is an 8-byte big-endian u64 (``keys.encode_u64``).


def read_u64(state: StateOverlay, key: bytes) -> int:
    """The u64 stored under ``key`` (0 when absent)."""
    raw = state.get(key)
    return 0 if raw is None else keys.decode_u64(raw)


def add_u64(state: StateOverlay, key: bytes, amount: int) -> None:
    """Add ``amount`` to the u64 under ``key`` (the caller verified it cannot overflow)."""
    state.set(key, keys.encode_u64(read_u64(state, key) + amount))


def tradable_balance(state: StateOverlay, address: str, batch_id: str) -> int:
    """Tradable grams of ``batch_id`` that ``address`` holds (0 if none)."""
    raw = state.get(keys.balance_key(address, batch_id))
    return 0 if raw is None else keys.decode_u64(raw)


def require_tradable(state: StateOverlay, have: int, batch_id: str, need: int) -> None:
    """Verify a balance of ``have`` grams of the batch covers ``need``.

    Raise NotFound (``unknown_batch``) when nothing is held of a batch that does not exist, and
    PreconditionFailed (``insufficient_balance``) otherwise.
    """
    if have >= need:
        return
    # Only on the failure path: tell an unknown batch apart from an empty balance.
    if have == 0 and state.get(keys.batch_key(batch_id)) is None:
        raise NotFound(f"batch {batch_id} does not exist", "unknown_batch")
    raise PreconditionFailed(
        f"insufficient tradable balance: have {tco2e(have)} of batch {batch_id}, "
        f"need {tco2e(need)}",
        "insufficient_balance",
    )


def debit_tradable(state: StateOverlay, address: str, batch_id: str, amount: int) -> None:
    """Take ``amount`` tradable grams of the batch from ``address`` (verified to hold them).

    A balance that reaches zero is deleted: the state holds non-zero balances only.
    """
    # Balances move in every transfer: the reads are spelled out rather than layered.
    key = keys.balance_key(address, batch_id)
    raw = state.get(key)
    left = (0 if raw is None else keys.decode_u64(raw)) - amount
    if left == 0:
        state.delete(key)
    else:
        state.set(key, keys.encode_u64(left))


def credit_tradable(state: StateOverlay, address: str, batch_id: str, amount: int) -> None:
    """Add ``amount`` tradable grams of the batch to ``address`` (taken from another balance)."""
    key = keys.balance_key(address, batch_id)
    raw = state.get(key)
    # <= the batch's issued grams, so it fits the u64
    state.set(key, keys.encode_u64((0 if raw is None else keys.decode_u64(raw)) + amount))
