"""A certificate made by a market purchase that retires on delivery (issue 17): the seller lists
with ``retire_on_purchase``, a buyer states the claim, the seller confirms the payment and the
ConfirmPayment transaction makes the certificate. Played through the client library on a
running devnet (which has the usual devnet wallet)."""

from __future__ import annotations

from typing import Any

from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.proto import ledger_pb2
from tests.cli.harness import issue_fresh_batch, stub_for, wallet_keys

T = 1_000_000
PURCHASE_BENEFICIARY = "Fujian Coastal Ceramics Co."
PURCHASE_EVENT = "14th National Winter Games"


def _attr(reply: Any, kind: str, name: str) -> str:
    for e in reply.receipt.events:
        if e.type == kind:
            return next(a.value for a in e.attributes if a.key == name)
    raise AssertionError(f"no {kind} event in {reply}")


def purchase_certificate(info: DevnetInfo, tonnes: int = 30) -> str:
    """The id of a certificate made by ``confirm_payment`` of a retire-on-purchase trade.

    The devnet's issuer sells half of a fresh batch, the verifier's account buys ``tonnes`` of
    it for a beneficiary, and the issuer (the seller) confirms the payment.
    """
    keys: Any = wallet_keys(info)
    seller, buyer = keys["issuer"], keys["verifier"]
    batch = issue_fresh_batch(info, "CN15-PC", 100 * T)
    with stub_for(info.endpoints[0]) as stub:
        client = LedgerClient(stub, timeout=30)
        sold = client.send(
            ledger_pb2.SellOrder(batch_id=batch, amount_grams=50 * T, price_fen=5_600,
                                 min_lot_grams=10 * T, expiry_blocks=1_000,
                                 retire_on_purchase=True),
            [seller],
        )  # fmt: skip
        bought = client.send(
            ledger_pb2.Buy(order_id=int(_attr(sold, "sell", "order_id")),
                           amount_grams=tonnes * T, beneficiary=PURCHASE_BENEFICIARY,
                           reason="offset of the games' venue heating", jurisdiction="CN-35",
                           event=PURCHASE_EVENT),
            [buyer],
        )  # fmt: skip
        confirmed = client.send(
            ledger_pb2.ConfirmPayment(trade_id=int(_attr(bought, "buy", "trade_id"))), [seller]
        )
    cert_id = _attr(confirmed, "confirm_payment", "certificate_id")
    assert cert_id == certificate_id(confirmed.tx_hash)
    return cert_id
