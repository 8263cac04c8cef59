"""Market records in state (issue 17): sell orders and trades.

Same canonical encoding as ``chain.records`` (they are ``Record`` subclasses); kept apart, like
``chain.governance_records``, so that the ledger's record module stays about tickets and accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from carbon_ticket.chain.records import Period, Record

__all__ = [
    "GRAMS_PER_TONNE",
    "ORDER_STATUSES",
    "TRADE_STATUSES",
    "Order",
    "Trade",
    "trade_total_fen",
]

GRAMS_PER_TONNE = 1_000_000
# open -> filled (everything delivered) | cancelled (by the seller) | expired (end of its block)
ORDER_STATUSES: tuple[str, ...] = ("open", "filled", "cancelled", "expired")
# pending -> settled (payment confirmed, grams delivered) | timed_out (grams back to the order)
TRADE_STATUSES: tuple[str, ...] = ("pending", "settled", "timed_out")


def trade_total_fen(price_fen: int, amount_grams: int) -> int:
    """What ``amount_grams`` cost at ``price_fen`` per tCO2e, in whole fen, rounded half up.

    Integer arithmetic only: ``(price * grams + 500,000) // 1,000,000``.
    """
    return (price_fen * amount_grams + GRAMS_PER_TONNE // 2) // GRAMS_PER_TONNE


@dataclass(frozen=True, slots=True)
class Order(Record):
    """A sell order and its escrow: remaining + pending are the grams the batch holds escrowed
    for it; ``sold`` left the escrow to buyers."""

    TAG: ClassVar[bytes] = b"M"
    KINDS: ClassVar[str] = "ussspuuuuuuuusuuub"

    order_id: int
    seller: str
    batch_id: str
    project_id: str
    vintage: Period
    price_fen: int  # CNY fen per tCO2e
    amount_grams: int  # offered when listed
    remaining: int  # escrowed, open to buyers
    pending: int  # escrowed, held by pending trades
    sold: int  # delivered (or retired) to buyers
    min_lot_grams: int
    expires_height: int  # expires at the end of this block
    retire_on_purchase: int  # 1: delivered grams are retired for the buyer
    status: str  # one of ORDER_STATUSES
    height: int
    time_ms: int
    closed_height: int  # 0 while open
    tx_hash: bytes

    @property
    def open(self) -> bool:
        """True while buyers may take from it (it may still have nothing left)."""
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class Trade(Record):
    """A purchase from an order: pending until its payment is confirmed or it times out."""

    TAG: ClassVar[bytes] = b"W"
    KINDS: ClassVar[str] = "uusssspuuusuussssssuuuub"

    trade_id: int
    order_id: int
    seller: str
    buyer: str
    batch_id: str
    project_id: str
    vintage: Period
    amount_grams: int
    price_fen: int
    total_fen: int  # trade_total_fen(price_fen, amount_grams)
    status: str  # one of TRADE_STATUSES
    timeout_height: int  # a pending trade times out at the end of this block
    retire: int  # 1: delivery retires the grams for the buyer
    # The retirement claim the buyer stated (orders that retire on purchase only).
    beneficiary: str
    reason: str
    jurisdiction: str
    event: str
    certificate_id: str  # set when a retiring trade settles
    confirmed_by: str  # the seller or a settlement account
    height: int
    time_ms: int
    closed_height: int  # 0 while pending
    closed_time_ms: int  # the time of the block that settled it or timed it out
    tx_hash: bytes

    @property
    def pending(self) -> bool:
        """True until the payment is confirmed or the trade times out."""
        return self.status == "pending"
