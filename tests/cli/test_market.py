"""The market through the CLI (issue 17): tx sell, buy, confirm-payment, cancel-order and
query orders, trades, trade-prices, table and JSON, on the shared one-validator devnet."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from click.testing import CliRunner, Result

from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo
from tests.cli.harness import issue_fresh_batch

T = 1_000_000


def run(*args: str) -> Result:
    env = {"CARBON_TICKET_PASSWORD": "devnet", "CARBON_TICKET_CONNECT_TIMEOUT": "1",
           "CARBON_TICKET_CONFIG": None, "CARBON_TICKET_NODE": None}  # fmt: skip
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def signed_by(info: DevnetInfo, key: str) -> list[str]:
    return ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir), "-k", key]


def ok(*args: str) -> dict[str, Any]:
    result = run(*args, "-o", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    assert data["receipt"]["code"] == 0, data
    return data


def attr(data: dict[str, Any], kind: str, name: str) -> str:
    for e in data["receipt"]["events"]:
        if e["type"] == kind:
            return str(e[name])
    raise AssertionError(f"no {kind} event: {data}")


def query(info: DevnetInfo, *args: str) -> dict[str, Any]:
    result = run("query", *args, "--node", info.endpoints[0], "-o", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def buyer(info: DevnetInfo, name: str) -> str:
    """A fresh enterprise key in the devnet wallet, registered by the registrar."""
    key_name = f"{name}-{time.time_ns()}"
    created = run("keys", "new", key_name, "--keystore", str(info.wallet_dir))
    assert created.exit_code == 0, created.output
    ok("tx", "register-account", f"@{key_name}", "--kind", "company", "--name", name,
       *signed_by(info, "registrar"))  # fmt: skip
    return key_name


@pytest.fixture(scope="module")
def batch(shared_devnet: DevnetInfo) -> str:
    return issue_fresh_batch(shared_devnet, "CN15-MK", 10_000 * T)


def test_sell_buy_confirm_and_queries(shared_devnet: DevnetInfo, batch: str) -> None:
    info = shared_devnet
    sold = ok("tx", "sell", batch, "1000", "--price", "1400", "--min-lot", "100",
              "--expires-in", "500", *signed_by(info, "issuer"))  # fmt: skip
    order_id = attr(sold, "sell", "order_id")
    zhejiang = buyer(info, "zhejiang")
    bought = ok("tx", "buy", order_id, "250", *signed_by(info, zhejiang))
    trade_id = attr(bought, "buy", "trade_id")
    assert attr(bought, "buy", "total_fen") == str(250 * 1400)
    confirmed = ok("tx", "confirm-payment", trade_id, *signed_by(info, "platform"))
    assert attr(confirmed, "confirm_payment", "delivery") == "tradable"

    orders = query(info, "orders", "--batch", batch)
    (listed,) = orders["items"]
    assert (listed["order_id"], listed["remaining_grams"], listed["sold_grams"]) == (
        int(order_id),
        750 * T,
        250 * T,
    )
    assert listed["price_yuan"] == "14.00"
    trades = query(info, "trades", "--order", order_id)
    assert [(t["status"], t["total_yuan"]) for t in trades["items"]] == [("settled", "3500.00")]
    project = batch.rsplit("-", 3)[0]
    prices = query(info, "trade-prices", project)
    assert [(p["price_fen"], p["amount_grams"]) for p in prices["items"]] == [(1400, 250 * T)]

    table = run("query", "orders", "--batch", batch, "--node", info.endpoints[0])
    assert table.exit_code == 0 and "14.00" in table.output and "open" in table.output
    table = run("query", "trades", "--order", order_id, "--node", info.endpoints[0])
    assert table.exit_code == 0 and "settled" in table.output

    cancelled = ok("tx", "cancel-order", order_id, *signed_by(info, "issuer"))
    assert attr(cancelled, "cancel_order", "returned_grams") == str(750 * T)
    assert query(info, "orders", "--batch", batch, "--status", "cancelled")["items"]


def test_refusals_are_one_clear_error(shared_devnet: DevnetInfo, batch: str) -> None:
    info = shared_devnet
    too_much = run("tx", "sell", batch, "20000", "--price", "1400", "--min-lot", "1",
                   "--expires-in", "50", *signed_by(info, "issuer"))  # fmt: skip
    assert too_much.exit_code == 3 and "insufficient_balance" in too_much.output
    assert "Traceback" not in too_much.output
    zero = run("tx", "sell", batch, "10", "--price", "0", "--min-lot", "1",
               "--expires-in", "50", *signed_by(info, "issuer"))  # fmt: skip
    assert zero.exit_code == 2 and "invalid price" in zero.output
    sold = ok("tx", "sell", batch, "10", "--price", "1400", "--min-lot", "5",
              "--expires-in", "500", *signed_by(info, "issuer"))  # fmt: skip
    order_id = attr(sold, "sell", "order_id")
    fujian = buyer(info, "fujian")
    small = run("tx", "buy", order_id, "1", *signed_by(info, fujian))
    assert small.exit_code == 3 and "below_min_lot" in small.output
    trade_id = attr(ok("tx", "buy", order_id, "5", *signed_by(info, fujian)), "buy", "trade_id")
    stranger = run("tx", "confirm-payment", trade_id, *signed_by(info, fujian))
    assert stranger.exit_code == 3 and "not_trade_seller" in stranger.output
    unknown = run("tx", "confirm-payment", "999999", *signed_by(info, "platform"))
    assert unknown.exit_code == 3 and "unknown_trade" in unknown.output
