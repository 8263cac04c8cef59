"""Stateless admission checks of the market messages (issue 17); see ``chain.check``."""

from __future__ import annotations

from carbon_ticket.chain.check_fields import (
    require_amount,
    require_batch_id,
    require_jurisdiction,
    require_text,
)
from carbon_ticket.chain.errors import InvalidAmount, InvalidTransaction
from carbon_ticket.chain.limits import Limits
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "MAX_EXPIRY_BLOCKS",
    "MAX_PRICE_FEN",
    "check_buy",
    "check_cancel_order",
    "check_confirm_payment",
    "check_sell",
]

MAX_EXPIRY_BLOCKS = 10_000_000  # months at one block a second
# 1,000,000 fen (10,000 yuan) per tCO2e, some fifty times today's prices: at most one fen per
# gram, so a trade's total in fen never exceeds its grams and always fits a u64.
MAX_PRICE_FEN = 1_000_000


def check_sell(msg: ledger_pb2.SellOrder, body: ledger_pb2.TxBody, limits: Limits) -> None:
    require_batch_id(msg.batch_id, limits)
    require_amount(msg.amount_grams, "amount")
    require_amount(msg.price_fen, "price")
    if msg.price_fen > MAX_PRICE_FEN:
        raise InvalidAmount(
            f"price of {msg.price_fen} fen per tCO2e exceeds {MAX_PRICE_FEN}", "amount_overflow"
        )
    require_amount(msg.min_lot_grams, "minimum lot")
    if msg.min_lot_grams > msg.amount_grams:
        raise InvalidAmount(
            f"minimum lot of {msg.min_lot_grams} g is more than the {msg.amount_grams} g offered",
            "invalid_lot",
        )
    if not 0 < msg.expiry_blocks <= MAX_EXPIRY_BLOCKS:
        raise InvalidTransaction(
            f"expiry must be from 1 to {MAX_EXPIRY_BLOCKS} blocks, got {msg.expiry_blocks}",
            "invalid_expiry",
        )


def check_buy(msg: ledger_pb2.Buy, body: ledger_pb2.TxBody, limits: Limits) -> None:
    require_amount(msg.order_id, "order id")
    require_amount(msg.amount_grams, "amount")
    # The claim is all or nothing: whether the order needs it is a question for the state.
    if msg.beneficiary or msg.reason or msg.jurisdiction or msg.event:
        require_text(msg.beneficiary, "beneficiary", limits.max_text_bytes)
        require_text(msg.reason, "reason", limits.max_text_bytes)
        require_jurisdiction(msg.jurisdiction)
        require_text(msg.event, "event", limits.max_text_bytes, required=False)


def check_confirm_payment(
    msg: ledger_pb2.ConfirmPayment, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    require_amount(msg.trade_id, "trade id")


def check_cancel_order(
    msg: ledger_pb2.CancelOrder, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    require_amount(msg.order_id, "order id")
