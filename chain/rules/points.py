"""Residents' carbon sink points: awards, and exchanges of points for tickets.

Points are integers kept in a resident's ``PointsAccount``; they never move between accounts and
never count as tCO2e. Tickets reach residents only as ordinary tradable grams moved out of the
points float (``POINTS_FLOAT_ADDRESS``), so every batch supply invariant holds unchanged. Days are
calendar days in the chain's time zone (``params.residents.utc_offset_minutes``). Merchants'
offers and redemptions, paid in tickets or points, are in ``chain.rules.merchants``.

An ``AwardPoints`` transaction carries many awards, each with its own outcome: an award that
breaks a rule changes nothing and its ``award`` event reports the error code, while the others
apply. If no award applies the whole transaction fails with the first award's error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

from carbon_ticket.chain import keys
from carbon_ticket.chain.crypto import POINTS_FLOAT_ADDRESS
from carbon_ticket.chain.errors import (
    AlreadyExists,
    LedgerError,
    NotFound,
    PreconditionFailed,
    StorageError,
)
from carbon_ticket.chain.records import (
    ACTIVITIES,
    Params,
    PointsAccount,
)
from carbon_ticket.chain.results import Event
from carbon_ticket.chain.rules._common import (
    BlockContext,
    Effects,
    credit_tradable,
    day_number,
    debit_tradable,
    event,
    local_today,
    read_u64,
    require_resident,
    require_role,
    tco2e,
    tradable_balance,
)
from carbon_ticket.chain.state import StateOverlay, get_params, get_points
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "MAX_POINTS_TOTAL",
    "process_award_points",
    "process_exchange_points",
]

# Every points counter stays below this, so that its u64 encoding can never overflow.
MAX_POINTS_TOTAL = 2**63


# ---------------------------------------------------------------- awards


@dataclass(slots=True)
class _OperatorTotals:
    """The signing operator's totals (``ptsop/`` per activity, ``ptsopday/`` per award day and
    activity) while one ``AwardPoints`` runs.

    Every award of a transaction adds to the same few keys, so each is read once, added to in
    memory and written once at the end: the same final values (and app hash) as a read and a
    write per award, at a fraction of the cost.
    """

    operator: str
    all_time: dict[str, int] = field(default_factory=dict)
    per_day: dict[tuple[int, str], int] = field(default_factory=dict)

    def total(self, state: StateOverlay, activity: str) -> int:
        """The operator's all-time points for ``activity``, this transaction's awards included."""
        total = self.all_time.get(activity)
        if total is None:
            total = self.all_time[activity] = read_u64(
                state, keys.points_operator_key(self.operator, activity)
            )
        return total

    def add(self, state: StateOverlay, day: int, activity: str, points: int) -> None:
        """Count ``points`` awarded for ``activity`` on ``day`` (``total`` was read first)."""
        self.all_time[activity] += points
        key = (day, activity)
        day_total = self.per_day.get(key)
        if day_total is None:
            day_total = read_u64(state, keys.points_operator_day_key(self.operator, day, activity))
        self.per_day[key] = day_total + points

    def write(self, state: StateOverlay) -> None:
        """Write the totals that awards added to (only those: a rejected award writes nothing)."""
        for (day, activity), total in self.per_day.items():
            state.set(keys.points_operator_day_key(self.operator, day, activity),
                      keys.encode_u64(total))  # fmt: skip
            state.set(keys.points_operator_key(self.operator, activity),
                      keys.encode_u64(self.all_time[activity]))  # fmt: skip


class _Verified(NamedTuple):
    """What verifying one award read (and the keys it read them under), so that crediting it
    writes without reading or building a key again. A tuple: one is made per award, and a
    frozen dataclass of seven fields costs five times as much to build."""

    activity: str
    account: PointsAccount
    day_key: bytes
    day_earned: int
    activity_key: bytes
    activity_earned: int
    ref_key: bytes


def _verify_award(
    state: StateOverlay,
    params: Params,
    today: int,
    today_number: int,
    totals: _OperatorTotals,
    award: ledger_pb2.Award,
) -> _Verified:
    """Verify one award against the state (including awards applied before it in the block)."""
    residents = params.residents
    activity = ACTIVITIES[award.activity]
    operator = totals.operator
    recipient = award.recipient
    # Verify the recipient is a registered resident
    require_resident(state, recipient, "recipient")
    # Verify the day is not in the future and not older than the award window
    if award.day > today:
        raise PreconditionFailed(
            f"day {award.day:08d} is after today ({today:08d} in the chain's time zone)",
            "day_in_future",
        )
    age = today_number - day_number(award.day)
    if age > residents.award_window_days:
        raise PreconditionFailed(
            f"day {award.day:08d} is {age} days ago; awards may be at most "
            f"{residents.award_window_days} days late",
            "day_too_old",
        )
    # Verify the operator never used this external reference
    ref_key = keys.points_ref_key(operator, award.external_ref)
    if state.get(ref_key) is not None:
        raise AlreadyExists(
            f"operator {operator} already used the external reference {award.external_ref!r}",
            "duplicate_ref",
        )
    # Verify the counters stay in range (only reachable without caps, by absurd awards)
    account = get_points(state, recipient)
    if max(account.awarded, totals.total(state, activity)) + award.points >= MAX_POINTS_TOTAL:
        raise PreconditionFailed(
            f"awarding {award.points} more points would overflow the points counters",
            "points_overflow",
        )
    # Verify the resident's daily cap, and the activity's, leave room for these points
    cap = params.rate_limits.points_daily_cap
    day_key = keys.points_day_key(recipient, award.day)
    day_earned = read_u64(state, day_key)
    if cap and day_earned + award.points > cap:
        raise PreconditionFailed(
            f"resident {recipient} has {day_earned} of {cap} points for {award.day:08d}; "
            f"{award.points} more would exceed the daily cap",
            "daily_cap_exceeded",
        )
    activity_cap = residents.activity_cap(activity)
    activity_key = keys.points_activity_key(recipient, award.day, activity)
    activity_earned = read_u64(state, activity_key)
    if activity_cap and activity_earned + award.points > activity_cap:
        raise PreconditionFailed(
            f"resident {recipient} has {activity_earned} of {activity_cap} {activity} "
            f"points for {award.day:08d}; {award.points} more would exceed the activity's cap",
            "activity_cap_exceeded",
        )
    return _Verified(activity, account, day_key, day_earned, activity_key, activity_earned, ref_key)


def _credit_award(
    state: StateOverlay,
    ctx: BlockContext,
    totals: _OperatorTotals,
    award: ledger_pb2.Award,
    verified: _Verified,
) -> None:
    points = award.points
    account = verified.account
    updated = PointsAccount.encode_fields(
        account.balance + points, account.awarded + points, account.exchanged, account.redeemed
    )
    state.set(keys.points_key(award.recipient), updated)
    state.set(verified.day_key, keys.encode_u64(verified.day_earned + points))
    state.set(verified.activity_key, keys.encode_u64(verified.activity_earned + points))
    # Never above the all-time total just checked, so neither total can overflow
    totals.add(state, award.day, verified.activity, points)
    state.set(verified.ref_key, keys.encode_u64(ctx.height))


class _Refusals:
    """The awards of one transaction that did not apply, counted by error code, for the failure
    of a transaction none of whose awards applied (a failed transaction keeps no events)."""

    def __init__(self) -> None:
        # error code -> (how many awards, the first of them, its error); in order of first
        # appearance, so the first entry holds the transaction's first refused award
        self.by_code: dict[str, tuple[int, int, LedgerError]] = {}

    def add(self, index: int, error: LedgerError) -> None:
        count, first_index, first_error = self.by_code.get(error.code, (0, index, error))
        self.by_code[error.code] = (count + 1, first_index, first_error)

    def failure(self, awards: int) -> LedgerError | None:
        """The first refused award's error (its code is the receipt's, which consensus commits
        to). With several codes, its message counts the refusals of each code and quotes each
        code's first, cut short, so that every reason fits one readable line however many
        awards: the sender learns them all at once. The message is free text, left out of the
        receipt's canonical bytes."""
        if not self.by_code:
            return None
        _, first_index, first_error = next(iter(self.by_code.values()))
        if awards == 1:
            return first_error
        if len(self.by_code) == 1:
            message = f"award {first_index}: {first_error.message}"
        else:
            message = "by reason: " + "; ".join(
                f"{count} {code} (first award {index}: {_cut(error.message)})"
                for code, (count, index, error) in self.by_code.items()
            )
        return type(first_error)(
            f"none of the {awards} awards applied; {message}", first_error.code
        )


def _cut(message: str, limit: int = 120) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _award_event(index: int, award: ledger_pb2.Award, outcome: str) -> Event:
    return event(
        "award",
        ("index", str(index)),
        ("recipient", award.recipient),
        ("activity", ACTIVITIES[award.activity]),
        ("day", f"{award.day:08d}"),
        ("points", str(award.points)),
        ("external_ref", award.external_ref),
        ("evidence_hash", award.evidence_hash.hex()),
        ("outcome", outcome),  # "ok" or the award's error code
    )


def process_award_points(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.AwardPoints
) -> Effects:
    """A points operator awards points to residents; each award applies or fails on its own."""
    operator = tx.body.signer
    # Verify the signer is a points operator
    require_role(state, "points_operator", operator, "awarding points")
    params = get_params(state)
    today = local_today(params, ctx)

    events: list[Event] = []
    recipients: set[str] = set()
    refusals = _Refusals()
    totals = _OperatorTotals(operator)
    today_number = day_number(today)
    awarded = 0
    applied = 0
    for index, award in enumerate(msg.awards):
        try:
            verified = _verify_award(state, params, today, today_number, totals, award)
        except StorageError:
            raise
        except LedgerError as error:
            # This award changes nothing; the others still apply
            refusals.add(index, error)
            events.append(_award_event(index, award, error.code))
            continue
        _credit_award(state, ctx, totals, award, verified)
        recipients.add(award.recipient)
        awarded += award.points
        applied += 1
        events.append(_award_event(index, award, "ok"))
    if applied == 0 and (failure := refusals.failure(len(msg.awards))) is not None:
        raise failure
    totals.write(state)
    events.append(
        event(
            "award_points",
            ("operator", operator),
            ("applied", str(applied)),
            ("rejected", str(len(msg.awards) - applied)),
            ("points", str(awarded)),
        )
    )
    return Effects(tuple(events), tuple(sorted(recipients | {operator})))


# ---------------------------------------------------------------- exchange


def _float_sources(state: StateOverlay, batch_id: str, grams: int) -> list[tuple[str, int]]:
    """Verify the float holds ``grams`` (of ``batch_id`` if given); which batches pay how much."""
    if batch_id:
        have = tradable_balance(state, POINTS_FLOAT_ADDRESS, batch_id)
        if have < grams and state.get(keys.batch_key(batch_id)) is None:
            raise NotFound(f"batch {batch_id} does not exist", "unknown_batch")
        holdings = [(batch_id, have)]
    else:
        prefix = keys.balance_prefix(POINTS_FLOAT_ADDRESS)
        holdings = [
            (key[len(prefix) :].decode(), keys.decode_u64(value))
            for key, value in state.scan(prefix)
        ]
    sources: list[tuple[str, int]] = []
    needed = grams
    for source_batch, have in holdings:
        if needed == 0:
            break
        take = min(have, needed)
        if take:
            sources.append((source_batch, take))
            needed -= take
    if needed:
        held = sum(have for _, have in holdings)
        where = f" of batch {batch_id}" if batch_id else ""
        raise PreconditionFailed(
            f"the points float holds {tco2e(held)}{where}, the exchange needs {tco2e(grams)}",
            "insufficient_float",
        )
    return sources


def process_exchange_points(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.ExchangePoints
) -> Effects:
    """A resident burns points at the governed rate for tickets moved out of the points float."""
    resident = tx.body.signer
    params = get_params(state)
    rate = params.residents.points_per_gram
    points = msg.grams * rate
    today = local_today(params, ctx)
    # Verify the signer is a resident with enough points
    require_resident(state, resident, "signer")
    account = get_points(state, resident)
    if account.balance < points:
        raise PreconditionFailed(
            f"{msg.grams} g cost {points} points at {rate} points per gram; "
            f"resident {resident} has {account.balance}",
            "insufficient_points",
        )
    # Verify the resident's daily exchange limit leaves room
    limit = params.residents.exchange_daily_limit_grams
    day_key = keys.exchange_day_key(resident, today)
    exchanged_today = read_u64(state, day_key)
    if limit and exchanged_today + msg.grams > limit:
        raise PreconditionFailed(
            f"resident {resident} exchanged {exchanged_today} g on {today:08d}; {msg.grams} g "
            f"more would exceed the daily limit of {limit} g",
            "exchange_limit_exceeded",
        )
    # Verify the float holds the tickets
    sources = _float_sources(state, msg.batch_id, msg.grams)

    state.set(
        keys.points_key(resident),
        replace(
            account, balance=account.balance - points, exchanged=account.exchanged + points
        ).encode(),
    )
    state.set(day_key, keys.encode_u64(exchanged_today + msg.grams))
    events = [
        event(
            "exchange_points",
            ("account", resident),
            ("grams", str(msg.grams)),
            ("points", str(points)),
            ("points_per_gram", str(rate)),
            ("day", f"{today:08d}"),
        )
    ]
    for batch_id, grams in sources:
        debit_tradable(state, POINTS_FLOAT_ADDRESS, batch_id, grams)
        credit_tradable(state, resident, batch_id, grams)
        events.append(
            event(
                "transfer",
                ("from", POINTS_FLOAT_ADDRESS),
                ("to", resident),
                ("batch_id", batch_id),
                ("amount_grams", str(grams)),
            )
        )
    return Effects(
        tuple(events),
        tuple(sorted({resident, POINTS_FLOAT_ADDRESS})),
        tuple(sorted(b for b, _ in sources)),
    )
