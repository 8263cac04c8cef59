"""The market (issue 17): sell orders with escrow, pending trades, payment confirmation.

A seller's ``SellOrder`` moves tradable grams of a batch into escrow (``Batch.escrowed``): an
``Order`` holds them as ``remaining`` (open to buyers) plus ``pending`` (held by trades). A
``Buy`` takes part or all of ``remaining`` into a pending ``Trade``; payment happens off chain,
so the seller or an account with the settlement role sends ``ConfirmPayment``, which delivers the
grams to the buyer's balance or, for an order that retires on purchase, retires them for the
buyer through ``record_retirement`` (the one place a certificate is made). ``CancelOrder``
returns ``remaining`` to the seller; pending trades of a cancelled or expired order may still be
confirmed, and if they time out their grams go back to the seller.

At the end of every block (``settle_market_due``) orders whose expiry height is this block
expire and pending trades whose timeout height is this block time out, in key order: orders
before trades, each by id. Only the due index of this height is read.

For every batch: tradable + escrowed + retired + cancelled + exported + buffer == issued, and
escrowed == the sum of remaining + pending over its orders.
"""

from __future__ import annotations

from dataclasses import replace

from carbon_ticket.chain import keys
from carbon_ticket.chain.amounts import tco2e
from carbon_ticket.chain.errors import (
    InvalidTransaction,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from carbon_ticket.chain.market_records import Order, Trade, trade_total_fen
from carbon_ticket.chain.results import Event
from carbon_ticket.chain.rules._common import (
    BlockContext,
    Effects,
    credit_tradable,
    debit_tradable,
    event,
    read_u64,
    require_tradable,
    tradable_balance,
)
from carbon_ticket.chain.rules.tickets import (
    RetirementClaim,
    record_retirement,
    require_new_certificate,
)
from carbon_ticket.chain.state import StateOverlay, StateReader, get_batch, get_params
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "SETTLEMENT_ROLE",
    "get_order",
    "get_trade",
    "process_buy",
    "process_cancel_order",
    "process_confirm_payment",
    "process_sell",
    "settle_market_due",
]

SETTLEMENT_ROLE = "settlement"


# ---------------------------------------------------------------- reads


def get_order(state: StateReader, order_id: int) -> Order:
    """The sell order ``order_id``; raise NotFound (``unknown_order``)."""
    raw = state.get(keys.order_key(order_id))
    if raw is None:
        raise NotFound(f"sell order {order_id} does not exist", "unknown_order")
    return Order.decode(raw)


def get_trade(state: StateReader, trade_id: int) -> Trade:
    """The trade ``trade_id``; raise NotFound (``unknown_trade``)."""
    raw = state.get(keys.trade_key(trade_id))
    if raw is None:
        raise NotFound(f"trade {trade_id} does not exist", "unknown_trade")
    return Trade.decode(raw)


def _next_id(state: StateOverlay, key: bytes) -> int:
    """Take the next id of a sequence (1 first)."""
    next_id = read_u64(state, key) or 1
    state.set(key, keys.encode_u64(next_id + 1))
    return next_id


def _save_order(state: StateOverlay, order: Order) -> None:
    state.set(keys.order_key(order.order_id), order.encode())


def _save_trade(state: StateOverlay, trade: Trade) -> None:
    state.set(keys.trade_key(trade.trade_id), trade.encode())


def _move_supply(state: StateOverlay, batch_id: str, *, to_escrow: int) -> None:
    """Move grams between the batch's tradable and escrowed supply (negative: back out)."""
    batch = get_batch(state, batch_id)
    updated = replace(
        batch, tradable=batch.tradable - to_escrow, escrowed=batch.escrowed + to_escrow
    )
    state.set(keys.batch_key(batch_id), updated.encode())


def _release_to(state: StateOverlay, account: str, batch_id: str, grams: int) -> None:
    """Return escrowed grams of a batch to ``account``'s tradable balance."""
    credit_tradable(state, account, batch_id, grams)
    _move_supply(state, batch_id, to_escrow=-grams)


# ---------------------------------------------------------------- sell


def process_sell(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.SellOrder
) -> Effects:
    """List tradable grams of a batch for sale: they move into escrow under a new order."""
    seller = tx.body.signer
    # Verify the seller holds the grams (selling more than the tradable balance is refused)
    have = tradable_balance(state, seller, msg.batch_id)
    require_tradable(state, have, msg.batch_id, msg.amount_grams)
    batch = get_batch(state, msg.batch_id)

    debit_tradable(state, seller, batch.batch_id, msg.amount_grams)
    _move_supply(state, batch.batch_id, to_escrow=msg.amount_grams)
    order = Order(
        order_id=_next_id(state, keys.NEXT_ORDER_ID),
        seller=seller,
        batch_id=batch.batch_id,
        project_id=batch.project_id,
        vintage=batch.vintage,
        price_fen=msg.price_fen,
        amount_grams=msg.amount_grams,
        remaining=msg.amount_grams,
        pending=0,
        sold=0,
        min_lot_grams=msg.min_lot_grams,
        expires_height=ctx.height + msg.expiry_blocks,
        retire_on_purchase=int(msg.retire_on_purchase),
        status="open",
        height=ctx.height,
        time_ms=ctx.time_ms,
        closed_height=0,
        tx_hash=tx.tx_hash,
    )
    _save_order(state, order)
    state.set(keys.order_due_key(order.expires_height, order.order_id), b"\x01")
    return Effects(
        events=(
            event(
                "sell",
                ("order_id", str(order.order_id)),
                ("seller", seller),
                ("batch_id", batch.batch_id),
                ("amount_grams", str(order.amount_grams)),
                ("price_fen", str(order.price_fen)),
                ("min_lot_grams", str(order.min_lot_grams)),
                ("expires_height", str(order.expires_height)),
                ("retire_on_purchase", "true" if order.retire_on_purchase else "false"),
            ),
        ),
        accounts=(seller,),
        batches=(batch.batch_id,),
    )


# ---------------------------------------------------------------- buy


def _verify_buy(state: StateOverlay, buyer: str, msg: ledger_pb2.Buy) -> Order:
    """Verify the order is open, has the grams, and the lot and claim fit it; return it."""
    order = get_order(state, msg.order_id)
    if not order.open:
        raise PreconditionFailed(
            f"sell order {order.order_id} is {order.status}; nothing can be bought from it",
            f"order_{order.status}",
        )
    if order.seller == buyer:
        raise PreconditionFailed(
            f"account {buyer} is the seller of order {order.order_id}; cancel it instead",
            "own_order",
        )
    if order.remaining == 0:
        raise PreconditionFailed(
            f"sell order {order.order_id} is exhausted: pending trades hold all of its grams",
            "order_exhausted",
        )
    if msg.amount_grams > order.remaining:
        raise PreconditionFailed(
            f"sell order {order.order_id} has {tco2e(order.remaining)} left, "
            f"the purchase asks for {tco2e(msg.amount_grams)}",
            "insufficient_order",
        )
    # A lot below the minimum is refused, except the order's whole remainder.
    if msg.amount_grams < order.min_lot_grams and msg.amount_grams != order.remaining:
        raise PreconditionFailed(
            f"a purchase of {tco2e(msg.amount_grams)} is below the minimum lot of "
            f"{tco2e(order.min_lot_grams)} of order {order.order_id}",
            "below_min_lot",
        )
    has_claim = bool(msg.beneficiary)
    if order.retire_on_purchase and not has_claim:
        raise InvalidTransaction(
            f"sell order {order.order_id} retires on purchase: the purchase must state the "
            "retirement's beneficiary, reason and jurisdiction",
            "missing_claim",
        )
    if has_claim and not order.retire_on_purchase:
        raise InvalidTransaction(
            f"sell order {order.order_id} delivers tradable grams; a purchase from it states "
            "no retirement claim",
            "unexpected_claim",
        )
    return order


def process_buy(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.Buy
) -> Effects:
    """Take grams of an open order into a pending trade that waits for payment confirmation."""
    buyer = tx.body.signer
    order = _verify_buy(state, buyer, msg)

    timeout = ctx.height + get_params(state).market.trade_timeout_blocks
    trade = Trade(
        trade_id=_next_id(state, keys.NEXT_TRADE_ID),
        order_id=order.order_id,
        seller=order.seller,
        buyer=buyer,
        batch_id=order.batch_id,
        project_id=order.project_id,
        vintage=order.vintage,
        amount_grams=msg.amount_grams,
        price_fen=order.price_fen,
        total_fen=trade_total_fen(order.price_fen, msg.amount_grams),
        status="pending",
        timeout_height=timeout,
        retire=order.retire_on_purchase,
        beneficiary=msg.beneficiary,
        reason=msg.reason,
        jurisdiction=msg.jurisdiction,
        event=msg.event,
        certificate_id="",
        confirmed_by="",
        height=ctx.height,
        time_ms=ctx.time_ms,
        closed_height=0,
        closed_time_ms=0,
        tx_hash=tx.tx_hash,
    )
    _save_trade(state, trade)
    _save_order(
        state,
        replace(
            order,
            remaining=order.remaining - msg.amount_grams,
            pending=order.pending + msg.amount_grams,
        ),
    )
    state.set(keys.trade_due_key(timeout, trade.trade_id), b"\x01")
    return Effects(
        events=(
            event(
                "buy",
                ("trade_id", str(trade.trade_id)),
                ("order_id", str(order.order_id)),
                ("buyer", buyer),
                ("seller", order.seller),
                ("batch_id", order.batch_id),
                ("amount_grams", str(trade.amount_grams)),
                ("price_fen", str(trade.price_fen)),
                ("total_fen", str(trade.total_fen)),
                ("timeout_height", str(timeout)),
            ),
        ),
        accounts=tuple(sorted({buyer, order.seller})),
        batches=(order.batch_id,),
    )


# ---------------------------------------------------------------- confirm payment


def _verify_confirmation(state: StateOverlay, signer: str, trade: Trade) -> None:
    """Verify ``signer`` may confirm the trade's payment and the trade still waits for it."""
    if signer != trade.seller and state.get(keys.role_key(SETTLEMENT_ROLE, signer)) is None:
        raise PermissionDenied(
            f"trade {trade.trade_id} can be confirmed by its seller {trade.seller} or an "
            f"account with the {SETTLEMENT_ROLE} role; account {signer} is neither",
            "not_trade_seller",
        )
    if not trade.pending:
        raise PreconditionFailed(
            f"trade {trade.trade_id} is {trade.status.replace('_', ' ')}; only a pending trade's "
            "payment can be confirmed",
            f"trade_{trade.status}",
        )


def _finish_order(order: Order, height: int) -> Order:
    """``order`` marked filled when it is open and nothing is left in it."""
    if order.open and order.remaining == 0 and order.pending == 0:
        return replace(order, status="filled", closed_height=height)
    return order


def process_confirm_payment(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.ConfirmPayment
) -> Effects:
    """Confirm a pending trade's payment: deliver the grams to the buyer, or retire them."""
    signer = tx.body.signer
    trade = get_trade(state, msg.trade_id)
    _verify_confirmation(state, signer, trade)
    if trade.retire:  # Verify the certificate id it would take is free (as every Retire does)
        require_new_certificate(state, tx.tx_hash)
    order = get_order(state, trade.order_id)

    events: list[Event] = []
    cert_id = ""
    if trade.retire:
        certificate, retire_event = record_retirement(
            state,
            ctx,
            batch=get_batch(state, trade.batch_id),
            source="escrowed",
            amount_grams=trade.amount_grams,
            account=trade.buyer,
            claim=RetirementClaim(
                beneficiary=trade.beneficiary,
                reason=trade.reason,
                jurisdiction=trade.jurisdiction,
                event=trade.event,
            ),
            tx_hash=tx.tx_hash,
        )
        cert_id = certificate.certificate_id
        events.append(retire_event)
    else:
        _release_to(state, trade.buyer, trade.batch_id, trade.amount_grams)
    settled = replace(
        trade,
        status="settled",
        certificate_id=cert_id,
        confirmed_by=signer,
        closed_height=ctx.height,
        closed_time_ms=ctx.time_ms,
    )
    _save_trade(state, settled)
    order = replace(
        order, pending=order.pending - trade.amount_grams, sold=order.sold + trade.amount_grams
    )
    _save_order(state, _finish_order(order, ctx.height))
    state.delete(keys.trade_due_key(trade.timeout_height, trade.trade_id))
    state.set(
        keys.trade_price_key(
            trade.project_id, trade.vintage.start_date, trade.vintage.end_date, trade.trade_id
        ),
        b"\x01",
    )
    events.insert(
        0,
        event(
            "confirm_payment",
            ("trade_id", str(trade.trade_id)),
            ("order_id", str(trade.order_id)),
            ("buyer", trade.buyer),
            ("seller", trade.seller),
            ("confirmed_by", signer),
            ("batch_id", trade.batch_id),
            ("amount_grams", str(trade.amount_grams)),
            ("price_fen", str(trade.price_fen)),
            ("total_fen", str(trade.total_fen)),
            ("delivery", "retired" if trade.retire else "tradable"),
            ("certificate_id", cert_id),
        ),
    )
    return Effects(
        events=tuple(events),
        accounts=tuple(sorted({signer, trade.buyer, trade.seller})),
        batches=(trade.batch_id,),
    )


# ---------------------------------------------------------------- cancel


def process_cancel_order(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.CancelOrder
) -> Effects:
    """The seller withdraws an open order: its remaining grams leave escrow back to the seller."""
    signer = tx.body.signer
    order = get_order(state, msg.order_id)
    if order.seller != signer:
        raise PermissionDenied(
            f"sell order {order.order_id} belongs to {order.seller}; account {signer} cannot "
            "cancel it",
            "not_order_seller",
        )
    if not order.open:
        raise PreconditionFailed(
            f"sell order {order.order_id} is {order.status} already", f"order_{order.status}"
        )

    returned = order.remaining
    _close_order(state, order, "cancelled", ctx.height)
    return Effects(
        events=(
            event(
                "cancel_order",
                ("order_id", str(order.order_id)),
                ("seller", signer),
                ("batch_id", order.batch_id),
                ("returned_grams", str(returned)),
                ("pending_grams", str(order.pending)),
            ),
        ),
        accounts=(signer,),
        batches=(order.batch_id,),
    )


def _close_order(state: StateOverlay, order: Order, status: str, height: int) -> None:
    """Close an open order (cancelled or expired): its remaining grams go back to the seller."""
    if order.remaining:
        _release_to(state, order.seller, order.batch_id, order.remaining)
    _save_order(state, replace(order, remaining=0, status=status, closed_height=height))
    state.delete(keys.order_due_key(order.expires_height, order.order_id))


# ---------------------------------------------------------------- end of block


def settle_market_due(state: StateOverlay, ctx: BlockContext) -> None:
    """End of block: orders expiring at this height expire, pending trades timing out time out.

    Reads only the due index of this height (orders first, then trades, each by id), so it
    costs O(what falls due now).
    """
    prefix = keys.market_due_prefix(ctx.height)
    for key, _value in list(state.scan(prefix)):
        kind, item_id = key[len(prefix) : len(prefix) + 1], keys.decode_u64(key[len(prefix) + 1 :])
        state.delete(key)
        if kind == b"o":
            order = get_order(state, item_id)
            if order.open:
                _close_order(state, order, "expired", ctx.height)
        else:
            _time_out(state, get_trade(state, item_id), ctx)


def _time_out(state: StateOverlay, trade: Trade, ctx: BlockContext) -> None:
    """A pending trade's payment never came: its grams go back to its order, or to the seller
    once the order is closed."""
    if not trade.pending:
        return
    order = get_order(state, trade.order_id)
    _save_trade(
        state,
        replace(trade, status="timed_out", closed_height=ctx.height, closed_time_ms=ctx.time_ms),
    )
    order = replace(order, pending=order.pending - trade.amount_grams)
    if order.open:
        order = replace(order, remaining=order.remaining + trade.amount_grams)
    else:
        _release_to(state, trade.seller, trade.batch_id, trade.amount_grams)
    _save_order(state, order)
