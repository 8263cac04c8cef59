"""Merchants' offers to residents and their redemption, paid in tickets or in points.

A redemption paid in tickets retires them for the resident (a retirement certificate, as
``Retire`` makes); one paid in points burns them. Every redemption is recorded under the
merchant's voucher reference and counted in the merchant's settlement totals.
"""

from __future__ import annotations

from dataclasses import replace

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import (
    AlreadyExists,
    InvalidTransaction,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from carbon_ticket.chain.records import (
    OFFER_PAYMENTS,
    Batch,
    Offer,
    PointsAccount,
    Redemption,
    Settlement,
)
from carbon_ticket.chain.results import Event
from carbon_ticket.chain.rules._common import (
    BlockContext,
    Effects,
    event,
    local_today,
    period_of,
    read_u64,
    require_resident,
    require_role,
)
from carbon_ticket.chain.rules.tickets import (
    RetirementClaim,
    retire_tradable,
    verify_retirement,
)
from carbon_ticket.chain.state import StateOverlay, get_params, get_points
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "REDEMPTION_REASON",
    "process_redeem",
    "process_register_offer",
    "redemption_event",
]

REDEMPTION_REASON = "merchant redemption"


def redemption_event(merchant: str, offer_id: str) -> str:
    """The ``event`` a redemption's certificate names (the offline verifier rebuilds it too)."""
    return f"merchant {merchant} offer {offer_id}"


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
    today = local_today(get_params(state), ctx)
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


def _index_for_resident(
    state: StateOverlay, resident: str, merchant: str, voucher_ref: str
) -> None:
    """Number the redemption in the resident's own list, which points at its voucher record."""
    count_key = keys.redemption_count_key(resident)
    sequence = read_u64(state, count_key)
    pointer = merchant.encode() + b"/" + voucher_ref.encode()
    state.set(keys.resident_redemption_key(resident, sequence), pointer)
    state.set(count_key, keys.encode_u64(sequence + 1))


def process_redeem(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.Redeem
) -> Effects:
    """A resident redeems a merchant's offer: tickets are retired, points are burned."""
    resident = tx.body.signer
    today = local_today(get_params(state), ctx)
    # Verify the signer is a resident, and the offer can be redeemed with this voucher
    require_resident(state, resident, "signer")
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
            claim=RetirementClaim(
                beneficiary=resident,
                reason=REDEMPTION_REASON,
                jurisdiction=offer.jurisdiction,
                event=redemption_event(offer.merchant, offer.offer_id),
            ),
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
    _index_for_resident(state, resident, offer.merchant, msg.voucher_ref)
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
