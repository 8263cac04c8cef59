"""Sell orders, purchases, payment confirmation, cancellation, expiry and timeouts (issue 17)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from carbon_ticket.chain import Genesis, Params, get_balance, get_batch, get_certificate
from carbon_ticket.chain.errors import InvalidRequest
from carbon_ticket.chain.market_records import trade_total_fen
from carbon_ticket.chain.params import apply_param_change, check_params
from carbon_ticket.chain.records import MarketParams
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import BATCH_ID, COMPANY, ISSUER, Ledger, T, check_code
from tests.chain.market import (
    FUJIAN,
    PLATFORM,
    PRICE,
    SHANDONG,
    TIMEOUT,
    WINTER_GAMES,
    ZHEJIANG,
    attr,
    buy,
    market_ledger,
    order,
    sell,
    trade,
)


@pytest.fixture
def chain() -> Ledger:
    return market_ledger()


def balance(chain: Ledger, who: Any) -> int:
    return get_balance(chain.state, who.address, BATCH_ID)


def supply(chain: Ledger) -> tuple[int, int]:
    """The batch's (tradable, escrowed) grams."""
    batch = get_batch(chain.state, BATCH_ID)
    return batch.tradable, batch.escrowed


def listed(chain: Ledger, **overrides: Any) -> int:
    """The bureau lists 100,000 t; returns the order id."""
    return int(attr(chain.ok(ISSUER, sell(**overrides)), "sell", "order_id"))


def bought(chain: Ledger, buyer: Any, order_id: int, grams: int, **claim: str) -> int:
    return int(attr(chain.ok(buyer, buy(order_id, grams, **claim)), "buy", "trade_id"))


def snapshot(chain: Ledger) -> dict[bytes, bytes]:
    return dict(chain.state.scan(b""))


def refused_without_change(chain: Ledger, signer: Any, msg: Any) -> tuple[int, str, str]:
    """Submit ``msg``; it must fail and change nothing but the signer's nonce."""
    before = snapshot(chain)
    receipt = chain.submit(signer, msg)
    assert not receipt.ok
    after = snapshot(chain)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed <= {b"nonce/" + signer.address.encode()}, changed
    return receipt.code, receipt.error_code, receipt.message


# ---------------------------------------------------------------- sell


def test_sell_moves_grams_into_escrow(chain: Ledger) -> None:
    receipt = chain.ok(ISSUER, sell())
    assert attr(receipt, "sell", "order_id") == "1"
    assert balance(chain, ISSUER) == 20_000 * T
    assert supply(chain) == (20_000 * T, 100_000 * T)
    listed_order = order(chain, 1)
    assert (listed_order.remaining, listed_order.pending, listed_order.status) == (
        100_000 * T,
        0,
        "open",
    )
    assert listed_order.expires_height == chain.height + 50
    assert receipt.accounts == (ISSUER.address,) and receipt.batches == (BATCH_ID,)


def test_escrowed_grams_cannot_be_spent_twice(chain: Ledger) -> None:
    chain.ok(ISSUER, sell())
    transfer = ledger_pb2.Transfer(
        entries=[
            ledger_pb2.TransferEntry(to=COMPANY.address, batch_id=BATCH_ID, amount_grams=20_001 * T)
        ]
    )
    assert refused_without_change(chain, ISSUER, transfer)[1] == "insufficient_balance"
    code, error, _ = refused_without_change(chain, ISSUER, sell(amount_grams=20_001 * T))
    assert (code, error) == (2, "insufficient_balance")


def test_selling_more_than_the_tradable_balance(chain: Ledger) -> None:
    code, error, message = refused_without_change(chain, ISSUER, sell(amount_grams=120_001 * T))
    assert (code, error) == (2, "insufficient_balance")
    assert "have 120000 tCO2e" in message


def test_selling_an_unknown_batch(chain: Ledger) -> None:
    unknown = BATCH_ID[:-1] + "9"
    assert refused_without_change(chain, ISSUER, sell(batch_id=unknown))[:2] == (4, "unknown_batch")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"price_fen": 0}, "zero_amount"),
        ({"min_lot_grams": 0}, "zero_amount"),
        ({"amount_grams": 0}, "zero_amount"),
        ({"min_lot_grams": 100_001 * T}, "invalid_lot"),
        ({"expiry_blocks": 0}, "invalid_expiry"),
        ({"expiry_blocks": 10_000_001}, "invalid_expiry"),
        ({"price_fen": 1_000_001}, "amount_overflow"),
        ({"batch_id": ""}, "missing_field"),
    ],
)
def test_sell_stateless_refusals(chain: Ledger, overrides: dict[str, Any], error: str) -> None:
    assert check_code(chain.tx(ISSUER, sell(**overrides))) == error


@pytest.mark.parametrize(
    ("msg", "error"),
    [
        (buy(1, 0), "zero_amount"),
        (buy(0, T), "zero_amount"),
        (buy(1, T, beneficiary="x"), "missing_field"),
        (ledger_pb2.ConfirmPayment(trade_id=0), "zero_amount"),
        (ledger_pb2.CancelOrder(order_id=0), "zero_amount"),
    ],
)
def test_market_stateless_refusals(chain: Ledger, msg: Any, error: str) -> None:
    assert check_code(chain.tx(ZHEJIANG, msg)) == error


# ---------------------------------------------------------------- buy and confirm


def test_buy_then_seller_confirms_delivers_the_grams(chain: Ledger) -> None:
    order_id = listed(chain)
    receipt = chain.ok(ZHEJIANG, buy(order_id, 40_000 * T))
    assert attr(receipt, "buy", "total_fen") == str(40_000 * PRICE)
    assert order(chain, order_id).remaining == 60_000 * T
    assert order(chain, order_id).pending == 40_000 * T
    assert balance(chain, ZHEJIANG) == 0
    confirm = chain.ok(ISSUER, ledger_pb2.ConfirmPayment(trade_id=1))
    assert attr(confirm, "confirm_payment", "delivery") == "tradable"
    assert balance(chain, ZHEJIANG) == 40_000 * T
    assert supply(chain) == (60_000 * T, 60_000 * T)
    settled = trade(chain, 1)
    assert (settled.status, settled.confirmed_by) == ("settled", ISSUER.address)
    assert order(chain, order_id).sold == 40_000 * T
    assert confirm.accounts == tuple(sorted({ISSUER.address, ZHEJIANG.address}))


def test_platform_with_settlement_role_confirms(chain: Ledger) -> None:
    order_id = listed(chain)
    bought(chain, SHANDONG, order_id, 50_000 * T)
    chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=1))
    assert balance(chain, SHANDONG) == 50_000 * T
    assert trade(chain, 1).confirmed_by == PLATFORM.address


def test_confirming_someone_elses_trade(chain: Ledger) -> None:
    order_id = listed(chain)
    bought(chain, SHANDONG, order_id, 50_000 * T)
    for who in (SHANDONG, FUJIAN):  # the buyer itself and a stranger
        code, error, message = refused_without_change(
            chain, who, ledger_pb2.ConfirmPayment(trade_id=1)
        )
        assert (code, error) == (3, "not_trade_seller")
        assert "settlement role" in message


def test_confirming_a_settled_trade_twice(chain: Ledger) -> None:
    order_id = listed(chain)
    bought(chain, SHANDONG, order_id, 50_000 * T)
    chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=1))
    code, error, _ = refused_without_change(chain, ISSUER, ledger_pb2.ConfirmPayment(trade_id=1))
    assert (code, error) == (2, "trade_settled")


def test_confirming_an_unknown_trade(chain: Ledger) -> None:
    assert refused_without_change(chain, ISSUER, ledger_pb2.ConfirmPayment(trade_id=7))[:2] == (
        4,
        "unknown_trade",
    )


def test_whole_order_sold_is_filled(chain: Ledger) -> None:
    order_id = listed(chain, amount_grams=10_000 * T)
    bought(chain, ZHEJIANG, order_id, 6_000 * T)
    bought(chain, FUJIAN, order_id, 4_000 * T)
    assert order(chain, order_id).status == "open"
    code, error, _ = refused_without_change(chain, SHANDONG, buy(order_id, 1_000 * T))
    assert (code, error) == (2, "order_exhausted")
    chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=1))
    chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=2))
    assert (order(chain, order_id).status, order(chain, order_id).sold) == ("filled", 10_000 * T)
    assert refused_without_change(chain, SHANDONG, buy(order_id, 1_000 * T))[1] == "order_filled"


def test_buy_below_min_lot(chain: Ledger) -> None:
    order_id = listed(chain)
    code, error, message = refused_without_change(chain, ZHEJIANG, buy(order_id, 999 * T))
    assert (code, error) == (2, "below_min_lot")
    assert "minimum lot of 1000 tCO2e" in message


def test_the_last_remainder_may_be_below_min_lot(chain: Ledger) -> None:
    order_id = listed(chain, amount_grams=1_500 * T)
    bought(chain, ZHEJIANG, order_id, 1_000 * T)
    bought(chain, FUJIAN, order_id, 500 * T)
    assert order(chain, order_id).remaining == 0


def test_buy_more_than_the_order_holds(chain: Ledger) -> None:
    order_id = listed(chain)
    code, error, _ = refused_without_change(chain, ZHEJIANG, buy(order_id, 100_001 * T))
    assert (code, error) == (2, "insufficient_order")


def test_buy_from_unknown_or_own_order(chain: Ledger) -> None:
    assert refused_without_change(chain, ZHEJIANG, buy(9, T))[:2] == (4, "unknown_order")
    order_id = listed(chain)
    assert refused_without_change(chain, ISSUER, buy(order_id, 1_000 * T))[1] == "own_order"


def test_claims_must_match_the_orders_retire_flag(chain: Ledger) -> None:
    plain = listed(chain, amount_grams=10_000 * T)
    assert refused_without_change(chain, FUJIAN, buy(plain, 1_000 * T, **WINTER_GAMES))[1] == (
        "unexpected_claim"
    )
    retiring = listed(chain, amount_grams=10_000 * T, retire_on_purchase=True)
    assert refused_without_change(chain, FUJIAN, buy(retiring, 1_000 * T))[1] == "missing_claim"


def test_retire_on_purchase_makes_one_certificate_for_the_buyer(chain: Ledger) -> None:
    order_id = listed(chain, amount_grams=10_000 * T, retire_on_purchase=True)
    bought(chain, FUJIAN, order_id, 5_000 * T, **WINTER_GAMES)
    raw = chain.tx(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=1))
    receipt = chain.run([raw]).receipts[0]
    assert receipt.ok, receipt
    cert_id = attr(receipt, "confirm_payment", "certificate_id")
    assert cert_id == attr(receipt, "retire", "certificate_id") == certificate_id(receipt.tx_hash)
    certificate = get_certificate(chain.state, cert_id)
    assert (certificate.account, certificate.amount_grams) == (FUJIAN.address, 5_000 * T)
    assert certificate.event == "14th National Winter Games"
    assert balance(chain, FUJIAN) == 0
    batch = get_batch(chain.state, BATCH_ID)
    assert (batch.retired, batch.escrowed) == (5_000 * T, 5_000 * T)
    assert trade(chain, 1).certificate_id == cert_id


# ---------------------------------------------------------------- cancel, expiry, timeout


def test_cancel_returns_the_remaining_escrow(chain: Ledger) -> None:
    order_id = listed(chain)
    bought(chain, ZHEJIANG, order_id, 30_000 * T)
    receipt = chain.ok(ISSUER, ledger_pb2.CancelOrder(order_id=order_id))
    assert attr(receipt, "cancel_order", "returned_grams") == str(70_000 * T)
    assert balance(chain, ISSUER) == 90_000 * T
    assert supply(chain) == (90_000 * T, 30_000 * T)
    assert refused_without_change(chain, SHANDONG, buy(order_id, 1_000 * T))[1] == (
        "order_cancelled"
    )
    # The pending trade may still be paid for
    chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=1))
    assert balance(chain, ZHEJIANG) == 30_000 * T and supply(chain)[1] == 0


def test_only_the_seller_cancels_once(chain: Ledger) -> None:
    order_id = listed(chain)
    cancel = ledger_pb2.CancelOrder(order_id=order_id)
    assert refused_without_change(chain, PLATFORM, cancel)[:2] == (3, "not_order_seller")
    chain.ok(ISSUER, cancel)
    assert refused_without_change(chain, ISSUER, cancel)[:2] == (2, "order_cancelled")


def test_order_expires_at_the_end_of_its_block(chain: Ledger) -> None:
    order_id = listed(chain, expiry_blocks=3)
    expires = order(chain, order_id).expires_height
    chain.run([])
    chain.run([])
    assert chain.height == expires - 1 and order(chain, order_id).open
    assert bought(chain, ZHEJIANG, order_id, 2_000 * T) == 1  # bought in its last block
    assert order(chain, order_id).status == "expired"
    assert balance(chain, ISSUER) == 20_000 * T + 98_000 * T
    assert refused_without_change(chain, SHANDONG, buy(order_id, 1_000 * T))[1] == "order_expired"
    # The trade bought in the last block is still pending
    chain.ok(ISSUER, ledger_pb2.ConfirmPayment(trade_id=1))
    assert balance(chain, ZHEJIANG) == 2_000 * T and supply(chain) == (120_000 * T, 0)


def test_unpaid_trade_times_out_back_into_the_order(chain: Ledger) -> None:
    order_id = listed(chain)
    bought(chain, SHANDONG, order_id, 30_000 * T)
    timeout = trade(chain, 1).timeout_height
    assert timeout == chain.height + TIMEOUT
    while chain.height < timeout:
        chain.run([])
    assert trade(chain, 1).status == "timed_out"
    assert (order(chain, order_id).remaining, order(chain, order_id).pending) == (100_000 * T, 0)
    code, error, _ = refused_without_change(chain, PLATFORM, ledger_pb2.ConfirmPayment(trade_id=1))
    assert (code, error) == (2, "trade_timed_out")


def test_timeout_after_cancel_returns_grams_to_the_seller(chain: Ledger) -> None:
    order_id = listed(chain)
    bought(chain, SHANDONG, order_id, 30_000 * T)
    chain.ok(ISSUER, ledger_pb2.CancelOrder(order_id=order_id))
    for _ in range(TIMEOUT):
        chain.run([])
    assert trade(chain, 1).status == "timed_out"
    assert balance(chain, ISSUER) == 120_000 * T and supply(chain) == (120_000 * T, 0)


def test_timeout_param_is_governed_by_name() -> None:
    changed = apply_param_change(Params(), "market.trade_timeout_blocks", "600")
    assert changed.market.trade_timeout_blocks == 600
    check_params(changed, 4)
    for bad in ("0", "10000001"):
        with pytest.raises(InvalidRequest) as info:
            check_params(apply_param_change(Params(), "market.trade_timeout_blocks", bad), 4)
        assert info.value.code == "invalid_param"
    assert Params.decode(changed.encode()) == changed


def test_genesis_writes_market_params_only_when_not_the_default() -> None:
    from tests.chain.conftest import make_genesis

    plain = make_genesis()
    assert "market" not in plain.to_dict()["params"]
    custom = replace(plain, params=Params(market=MarketParams(trade_timeout_blocks=12)))
    assert custom.to_dict()["params"]["market"] == {"trade_timeout_blocks": 12}
    assert Genesis.from_json(custom.to_json()).params.market.trade_timeout_blocks == 12


@pytest.mark.parametrize(
    ("price", "grams", "total"),
    [(1_400, 1_000_000, 1_400), (1_400, 1, 0), (1, 500_000, 1), (1, 499_999, 0), (3, 1_500_000, 5)],
)
def test_trade_total_rounds_half_up(price: int, grams: int, total: int) -> None:
    assert trade_total_fen(price, grams) == total


def test_market_is_deterministic_across_replays() -> None:
    def play() -> bytes:
        chain = market_ledger()
        order_id = listed(chain)
        bought(chain, ZHEJIANG, order_id, 10_000 * T)
        bought(chain, SHANDONG, order_id, 20_000 * T)
        chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=2))
        for _ in range(TIMEOUT):
            chain.run([])
        return chain.app_hash

    assert play() == play()
