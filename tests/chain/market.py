"""A market ledger for the market tests: the bureau holds a batch, three enterprises and a
trading platform (settlement role) are registered, payment times out after 5 blocks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from carbon_ticket.chain import GenesisAccount, Params
from carbon_ticket.chain.market_records import Order, Trade
from carbon_ticket.chain.records import MarketParams
from carbon_ticket.chain.rules.market import get_order, get_trade
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    Ledger,
    T,
    issue_the_batch,
    key,
    make_genesis,
)

TIMEOUT = 5  # blocks a trade waits for its payment
ZHEJIANG = key("zhejiang-buyer")
SHANDONG = key("shandong-buyer")
FUJIAN = key("fujian-buyer")
PLATFORM = key("trading-platform")
BUYERS = (ZHEJIANG, SHANDONG, FUJIAN)
PRICE = 1_400  # fen per tCO2e: 14 yuan


def market_ledger(timeout: int = TIMEOUT) -> Ledger:
    """Genesis with the platform (settlement role) and the buyers; 150,000 t issued to the
    bureau (120,000 t tradable)."""
    base = make_genesis()
    genesis = replace(
        base,
        accounts=(
            *base.accounts,
            GenesisAccount(PLATFORM.address, "company", "Carbon trading platform", ("settlement",)),
            GenesisAccount(ZHEJIANG.address, "company", "Zhejiang Textile Co."),
            GenesisAccount(SHANDONG.address, "company", "Shandong Steel Co."),
            GenesisAccount(FUJIAN.address, "company", "Fujian Paper Co."),
        ),
        params=Params(market=MarketParams(trade_timeout_blocks=timeout)),
    )
    return issue_the_batch(Ledger(genesis), "Guyang forest")


def sell(**overrides: Any) -> ledger_pb2.SellOrder:
    fields: dict[str, Any] = {
        "batch_id": BATCH_ID,
        "amount_grams": 100_000 * T,
        "price_fen": PRICE,
        "min_lot_grams": 1_000 * T,
        "expiry_blocks": 50,
    }
    fields.update(overrides)
    return ledger_pb2.SellOrder(**fields)


def buy(order_id: int, grams: int, **claim: str) -> ledger_pb2.Buy:
    return ledger_pb2.Buy(order_id=order_id, amount_grams=grams, **claim)


WINTER_GAMES = {
    "beneficiary": "14th National Winter Games organising committee",
    "reason": "offset the emissions of the 14th National Winter Games",
    "jurisdiction": "CN",
    "event": "14th National Winter Games",
}


def order(chain: Ledger, order_id: int) -> Order:
    return get_order(chain.state, order_id)


def trade(chain: Ledger, trade_id: int) -> Trade:
    return get_trade(chain.state, trade_id)


def attr(receipt: Any, kind: str, name: str) -> str:
    """An attribute of the first event of ``kind`` in a receipt."""
    for ev in receipt.events:
        if ev.type == kind:
            return dict(ev.attributes)[name]
    raise AssertionError(f"no {kind} event in {receipt}")
