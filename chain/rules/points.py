"""Residents' carbon sink points: awards, exchanges for tickets, merchant offers and redemptions.

Points are integers kept in a resident's ``PointsAccount``; they never move between accounts and
never count as tCO2e. Tickets reach residents only as ordinary tradable grams moved out of the
points float (``POINTS_FLOAT_ADDRESS``), so every batch supply invariant holds unchanged. Days are
calendar days in the chain's time zone (``params.residents.utc_offset_minutes``).

An ``AwardPoints`` transaction carries many awards, each with its own outcome: an award that
breaks a rule changes nothing and its ``award`` event reports the error code, while the others
apply. If no award applies the whole transaction fails with the first award's error.
"""

from __future__ import annotations

from dataclasses import replace

from chain import keys
from chain.crypto import POINTS_FLOAT_ADDRESS
from chain.errors import (
    AlreadyExists,
    InvalidTransaction,
    LedgerError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    StorageError,
)
from chain.records import (
    ACTIVITIES,
    OFFER_PAYMENTS,
    Account,
    Batch,
    Offer,
    Params,
    PointsAccount,
    Redemption,
    Settlement,
)
from chain.results import Event
from chain.rules._common import (
    BlockContext,
    Effects,
    add_u64,
    credit_tradable,
    day_number,
    debit_tradable,
    event,
    local_date,
    period_of,
    read_u64,
    require_role,
    tco2e,
    tradable_balance,
)
from chain.rules.tickets import retire_tradable, verify_retirement
from chain.state import StateOverlay, get_params, get_points
from chain.tx import SignedTx
from proto import ledger_pb2

__all__ = [
    "MAX_POINTS_TOTAL",
    "REDEMPTION_REASON",
    "process_award_points",
    "process_exchange_points",
    "process_redeem",
    "process_register_offer",
]

REDEMPTION_REASON = "merchant redemption"
# Every points counter stays below this, so that its u64 encoding can never overflow.
MAX_POINTS_TOTAL = 2**63


# ---------------------------------------------------------------- small state helpers


def _require_resident(state: StateOverlay, address: str, what: str) -> None:
    """Verify ``address`` is a registered account of kind resident."""
    raw = state.get(keys.account_key(address))
    if raw is None:
        raise NotFound(
            f"{what} {address} is not a registered account; ask a registrar to register it first",
            "unknown_account",
        )
    kind = Account.decode(raw).kind
    if kind != "resident":
        raise PreconditionFailed(
            f"{what} {address} is a {kind} account; only resident accounts hold points",
            "not_resident",
        )


def _today(params: Params, ctx: BlockContext) -> int:
    return local_date(ctx.time_ms, params.residents.utc_offset_minutes)


# ---------------------------------------------------------------- awards


def _verify_award(
    state: StateOverlay,
    params: Params,
    today: int,
    operator: str,
    award: ledger_pb2.Award,
) -> None:
    """Verify one award against the state (including awards applied before it in the block)."""
    residents = params.residents
    activity = ACTIVITIES[award.activity]
    # Verify the recipient is a registered resident
    _require_resident(state, award.recipient, "recipient")
    # Verify the day is not in the future and not older than the award window
    if award.day > today:
        raise PreconditionFailed(
            f"day {award.day:08d} is after today ({today:08d} in the chain's time zone)",
            "day_in_future",
        )
    age = day_number(today) - day_number(award.day)
    if age > residents.award_window_days:
        raise PreconditionFailed(
            f"day {award.day:08d} is {age} days ago; awards may be at most "
            f"{residents.award_window_days} days late",
            "day_too_old",
        )
    # Verify the operator never used this external reference
    if state.get(keys.points_ref_key(operator, award.external_ref)) is not None:
        raise AlreadyExists(
            f"operator {operator} already used the external reference {award.external_ref!r}",
            "duplicate_ref",
        )
    # Verify the counters stay in range (only reachable without caps, by absurd awards)
    totals = (
        get_points(state, award.recipient).awarded,
        read_u64(state, keys.points_operator_key(operator, activity)),
    )
    if max(totals) + award.points >= MAX_POINTS_TOTAL:
        raise PreconditionFailed(
            f"awarding {award.points} more points would overflow the points counters",
            "points_overflow",
        )
    # Verify the resident's daily cap, and the activity's, leave room for these points
    cap = params.rate_limits.points_daily_cap
    if cap:
        earned = read_u64(state, keys.points_day_key(award.recipient, award.day))
        if earned + award.points > cap:
            raise PreconditionFailed(
                f"resident {award.recipient} has {earned} of {cap} points for {award.day:08d}; "
                f"{award.points} more would exceed the daily cap",
                "daily_cap_exceeded",
            )
    activity_cap = residents.activity_cap(activity)
    if activity_cap:
        earned = read_u64(state, keys.points_activity_key(award.recipient, award.day, activity))
        if earned + award.points > activity_cap:
            raise PreconditionFailed(
                f"resident {award.recipient} has {earned} of {activity_cap} {activity} points "
                f"for {award.day:08d}; {award.points} more would exceed the activity's cap",
                "activity_cap_exceeded",
            )


def _credit_award(
    state: StateOverlay, ctx: BlockContext, operator: str, award: ledger_pb2.Award
) -> None:
    activity = ACTIVITIES[award.activity]
    account = get_points(state, award.recipient)
    updated = replace(
        account,
        balance=account.balance + award.points,
        awarded=account.awarded + award.points,
    )
    state.set(keys.points_key(award.recipient), updated.encode())
    add_u64(state, keys.points_day_key(award.recipient, award.day), award.points)
    add_u64(state, keys.points_activity_key(award.recipient, award.day, activity), award.points)
    add_u64(state, keys.points_operator_key(operator, activity), award.points)
    state.set(keys.points_ref_key(operator, award.external_ref), keys.encode_u64(ctx.height))


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
    today = _today(params, ctx)

    events: list[Event] = []
    recipients: set[str] = set()
    first_error: tuple[int, LedgerError] | None = None
    awarded = 0
    applied = 0
    for index, award in enumerate(msg.awards):
        try:
            _verify_award(state, params, today, operator, award)
        except StorageError:
            raise
        except LedgerError as error:
            # This award changes nothing; the others still apply
            first_error = first_error or (index, error)
            events.append(_award_event(index, award, error.code))
            continue
        _credit_award(state, ctx, operator, award)
        recipients.add(award.recipient)
        awarded += award.points
        applied += 1
        events.append(_award_event(index, award, "ok"))
    if applied == 0 and first_error is not None:
        failed_index, failure = first_error
        if len(msg.awards) == 1:
            raise failure
        raise type(failure)(
            f"none of the {len(msg.awards)} awards applied; award {failed_index}: "
            f"{failure.message}",
            failure.code,
        )
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
    today = _today(params, ctx)
    # Verify the signer is a resident with enough points
    _require_resident(state, resident, "signer")
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


# ---------------------------------------------------------------- merchants


def process_register_offer(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.RegisterOffer
) -> Effects:
    """A merchant registers an offer residents may redeem with tickets or points."""
    merchant = tx.body.signer
    # Verify the signer is a merchant
    require_role(state, "merchant", merchant, "registering an offer")
    # Verify the offer id is new for this merchant
    key = keys.offer_key(merchant, msg.offer_id)
    if state.get(key) is not None:
        raise AlreadyExists(
            f"merchant {merchant} already has an offer {msg.offer_id!r}", "offer_exists"
        )
    # Verify the offer has not ended before it starts
    today = _today(get_params(state), ctx)
    if msg.validity.end_date < today:
        raise PreconditionFailed(
            f"offer validity {period_of(msg.validity)} ended before today ({today:08d})",
            "offer_expired",
        )

    payment = OFFER_PAYMENTS[msg.payment]
    offer = Offer(
        merchant=merchant,
        offer_id=msg.offer_id,
        payment=payment,
        amount=msg.amount,
        description=msg.description,
        discount=msg.discount,
        validity=period_of(msg.validity),
        jurisdiction=msg.jurisdiction,
        max_redemptions=msg.max_redemptions,
        redemptions=0,
        height=ctx.height,
    )
    state.set(key, offer.encode())
    return Effects(
        events=(
            event(
                "register_offer",
                ("merchant", merchant),
                ("offer_id", msg.offer_id),
                ("payment", payment),
                ("amount", str(msg.amount)),
                ("validity", str(offer.validity)),
                ("max_redemptions", str(msg.max_redemptions)),
                ("discount", msg.discount),
            ),
        ),
        accounts=(merchant,),
    )


def _verify_offer_redeemable(state: StateOverlay, msg: ledger_pb2.Redeem, today: int) -> Offer:
    # Verify the merchant still holds the role and the offer exists
    if state.get(keys.role_key("merchant", msg.merchant)) is None:
        raise PermissionDenied(
            f"account {msg.merchant} does not hold the merchant role", "not_merchant"
        )
    raw = state.get(keys.offer_key(msg.merchant, msg.offer_id))
    if raw is None:
        raise NotFound(f"merchant {msg.merchant} has no offer {msg.offer_id!r}", "unknown_offer")
    offer = Offer.decode(raw)
    # Verify the offer is valid today and not exhausted
    if today < offer.validity.start_date:
        raise PreconditionFailed(
            f"offer {offer.offer_id} starts on {offer.validity.start_date:08d}; today is "
            f"{today:08d}",
            "offer_not_started",
        )
    if today > offer.validity.end_date:
        raise PreconditionFailed(
            f"offer {offer.offer_id} ended on {offer.validity.end_date:08d}; today is {today:08d}",
            "offer_expired",
        )
    if offer.redemptions >= offer.max_redemptions:
        raise PreconditionFailed(
            f"offer {offer.offer_id} was redeemed {offer.redemptions} times, its maximum",
            "offer_exhausted",
        )
    # Verify the voucher reference is new for this merchant
    if state.get(keys.voucher_key(msg.merchant, msg.voucher_ref)) is not None:
        raise AlreadyExists(
            f"merchant {msg.merchant} already accepted voucher {msg.voucher_ref!r}",
            "voucher_used",
        )
    # Verify the payment matches what the offer accepts
    if offer.payment == "grams" and not msg.batch_id:
        raise InvalidTransaction(
            f"offer {offer.offer_id} is paid in tickets: name the batch to retire",
            "missing_batch",
        )
    if offer.payment == "points" and msg.batch_id:
        raise InvalidTransaction(
            f"offer {offer.offer_id} is paid in points: give no batch", "unexpected_batch"
        )
    return offer


def _require_points(state: StateOverlay, resident: str, points: int) -> PointsAccount:
    """Verify the resident holds ``points``; return the resident's points account."""
    account = get_points(state, resident)
    if account.balance < points:
        raise PreconditionFailed(
            f"the offer costs {points} points; resident {resident} has {account.balance}",
            "insufficient_points",
        )
    return account


def _settle(state: StateOverlay, key: bytes, offer: Offer) -> None:
    raw = state.get(key)
    totals = Settlement() if raw is None else Settlement.decode(raw)
    grams = offer.amount if offer.payment == "grams" else 0
    points = offer.amount if offer.payment == "points" else 0
    state.set(
        key,
        Settlement(totals.redemptions + 1, totals.grams + grams, totals.points + points).encode(),
    )


def process_redeem(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.Redeem
) -> Effects:
    """A resident redeems a merchant's offer: tickets are retired, points are burned."""
    resident = tx.body.signer
    today = _today(get_params(state), ctx)
    # Verify the signer is a resident, and the offer can be redeemed with this voucher
    _require_resident(state, resident, "signer")
    offer = _verify_offer_redeemable(state, msg, today)
    # Verify the resident can pay: holds the tickets to retire, or the points to burn
    batch: Batch | None = None
    account: PointsAccount | None = None
    if offer.payment == "grams":
        batch = verify_retirement(state, tx, msg.batch_id, offer.amount)
    else:
        account = _require_points(state, resident, offer.amount)

    events: list[Event] = []
    batches: tuple[str, ...] = ()
    certificate_id = ""
    if batch is not None:
        certificate, retire_event = retire_tradable(
            state,
            ctx,
            tx,
            batch=batch,
            amount_grams=offer.amount,
            beneficiary=resident,
            reason=REDEMPTION_REASON,
            jurisdiction=offer.jurisdiction,
            event_name=f"merchant {offer.merchant} offer {offer.offer_id}",
            period=None,
        )
        certificate_id = certificate.certificate_id
        events.append(retire_event)
        batches = (certificate.batch_id,)
    if account is not None:
        burned = replace(
            account,
            balance=account.balance - offer.amount,
            redeemed=account.redeemed + offer.amount,
        )
        state.set(keys.points_key(resident), burned.encode())

    state.set(
        keys.offer_key(offer.merchant, offer.offer_id),
        replace(offer, redemptions=offer.redemptions + 1).encode(),
    )
    redemption = Redemption(
        merchant=offer.merchant,
        voucher_ref=msg.voucher_ref,
        offer_id=offer.offer_id,
        resident=resident,
        payment=offer.payment,
        amount=offer.amount,
        day=today,
        certificate_id=certificate_id,
        height=ctx.height,
        time_ms=ctx.time_ms,
        tx_hash=tx.tx_hash,
    )
    state.set(keys.voucher_key(offer.merchant, msg.voucher_ref), redemption.encode())
    _settle(state, keys.settlement_key(offer.merchant), offer)
    _settle(state, keys.settlement_day_key(offer.merchant, today), offer)
    events.append(
        event(
            "redeem",
            ("merchant", offer.merchant),
            ("offer_id", offer.offer_id),
            ("voucher_ref", msg.voucher_ref),
            ("resident", resident),
            ("payment", offer.payment),
            ("amount", str(offer.amount)),
            ("day", f"{today:08d}"),
            ("certificate_id", certificate_id),
        )
    )
    return Effects(tuple(events), tuple(sorted({resident, offer.merchant})), batches)
