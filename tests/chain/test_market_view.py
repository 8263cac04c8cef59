"""The market's read models (chain/market_view.py): filters, newest-first pages, price history."""

from __future__ import annotations

import pytest

from carbon_ticket.chain.errors import InvalidRequest
from carbon_ticket.chain.market_view import list_orders, list_trade_prices, list_trades
from carbon_ticket.chain.records import Period
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import ISSUER, PROJECT_ID, Ledger, T
from tests.chain.market import FUJIAN, PLATFORM, SHANDONG, ZHEJIANG, buy, market_ledger, sell


@pytest.fixture(scope="module")
def chain() -> Ledger:
    """Five orders (the third cancelled), four trades of order 1: trades 1 and 3 settled."""
    chain = market_ledger(timeout=1_000)
    for _ in range(5):
        chain.ok(ISSUER, sell(amount_grams=10_000 * T))
    chain.ok(ISSUER, ledger_pb2.CancelOrder(order_id=3))
    for buyer in (ZHEJIANG, SHANDONG, FUJIAN, ZHEJIANG):
        chain.ok(buyer, buy(1, 1_000 * T))
    chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=1))
    chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=3))
    return chain


def test_orders_newest_first_in_pages(chain: Ledger) -> None:
    first = list_orders(chain.state, "", "", "", 2, None)
    assert [o.order_id for o in first.items] == [5, 4] and first.next_before == 4
    second = list_orders(chain.state, "", "", "", 2, first.next_before)
    assert [o.order_id for o in second.items] == [3, 2] and second.next_before == 2
    last = list_orders(chain.state, "", "", "", 2, second.next_before)
    assert [o.order_id for o in last.items] == [1] and last.next_before is None


def test_order_filters(chain: Ledger) -> None:
    cancelled = list_orders(chain.state, "", "", "cancelled", 10, None)
    assert [o.order_id for o in cancelled.items] == [3]
    assert list_orders(chain.state, ZHEJIANG.address, "", "", 10, None).items == ()
    assert len(list_orders(chain.state, ISSUER.address, "", "open", 10, None).items) == 4
    with pytest.raises(InvalidRequest) as info:
        list_orders(chain.state, "", "", "closed", 10, None)
    assert info.value.code == "invalid_status"


def test_trade_filters(chain: Ledger) -> None:
    mine = list_trades(chain.state, 0, ZHEJIANG.address, "", 10, None)
    assert [t.trade_id for t in mine.items] == [4, 1]
    settled = list_trades(chain.state, 1, "", "settled", 10, None)
    assert [t.trade_id for t in settled.items] == [3, 1]
    assert list_trades(chain.state, 2, "", "", 10, None).items == ()
    seller = list_trades(chain.state, 0, ISSUER.address, "pending", 1, None)
    assert [t.trade_id for t in seller.items] == [4] and seller.next_before == 4


def test_price_history_lists_settled_trades_of_the_project(chain: Ledger) -> None:
    vintage = Period(20230101, 20231231)
    page = list_trade_prices(chain.state, PROJECT_ID, vintage, 1, None)
    assert [t.trade_id for t in page.items] == [3] and page.next_before == 3
    rest = list_trade_prices(chain.state, PROJECT_ID, None, 10, page.next_before)
    assert [t.trade_id for t in rest.items] == [1] and rest.next_before is None
    assert (
        list_trade_prices(chain.state, PROJECT_ID, Period(20220101, 20221231), 10, None).items == ()
    )
    assert list_trade_prices(chain.state, "CN15-OTHER", None, 10, None).items == ()
