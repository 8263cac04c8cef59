"""The market's commands (issue 17): ``tx sell``, ``tx buy``, ``tx confirm-payment``,
``tx cancel-order`` and ``query orders``, ``query trades``, ``query trade-prices``.

cli/main.py adds ``MARKET_TX_COMMANDS`` to ``tx`` and ``MARKET_QUERY_COMMANDS`` to ``query``.
Transactions go through the shared path of cli/submit.py (simulation before signing); the new
order's or trade's id is in the receipt's ``sell`` or ``buy`` event. Prices are integer CNY fen
per tCO2e (``--price 1400`` is 14.00 yuan per tonne); amounts are tCO2e as everywhere else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from carbon_ticket.chain.market_records import ORDER_STATUSES, TRADE_STATUSES
from carbon_ticket.cli import render
from carbon_ticket.cli.common import (
    EXIT_USAGE,
    CliError,
    chosen_output,
    connect,
    keystore_option,
    node_option,
    output_option,
    parse_address_arg,
    parse_amount_arg,
    reports_errors,
)
from carbon_ticket.cli.completion import complete_address_or_key
from carbon_ticket.cli.query_cmds import _page_options, follow_pages
from carbon_ticket.cli.submit import TxOptions, send_tx, tx_options
from carbon_ticket.cli.tx_cmds import _period
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = ["MARKET_QUERY_COMMANDS", "MARKET_TX_COMMANDS", "yuan"]


def _price(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or int(value) == 0:
        raise CliError(
            f"invalid price {text!r}: whole CNY fen per tCO2e above 0, e.g. 1400 for 14 yuan",
            EXIT_USAGE,
        )
    return int(value)


def yuan(fen: int) -> str:
    """Fen as yuan text, e.g. 140000 -> ``1400.00``."""
    return f"{fen // 100}.{fen % 100:02d}"


# ---------------------------------------------------------------- transactions


@click.command("sell")
@click.argument("batch_id")
@click.argument("amount")
@click.option("--price", required=True, help="CNY fen per tCO2e, e.g. 1400 (14.00 yuan).")
@click.option("--min-lot", required=True, help="The least tCO2e one purchase may take.")
@click.option(
    "--expires-in", "expiry_blocks", type=click.IntRange(1, 10_000_000), required=True,
    help="Blocks the order stays open; it expires at the end of the last one.",
)  # fmt: skip
@click.option(
    "--retire-on-purchase", is_flag=True,
    help="Delivered grams are retired for the buyer, with a certificate.",
)  # fmt: skip
@tx_options
def sell(
    opts: TxOptions,
    batch_id: str,
    amount: str,
    price: str,
    min_lot: str,
    expiry_blocks: int,
    retire_on_purchase: bool,
) -> None:
    """Offer AMOUNT tCO2e of BATCH_ID for sale: the grams move into escrow under a new order
    (its id is in the receipt's sell event)."""
    send_tx(
        opts,
        ledger_pb2.SellOrder(
            batch_id=batch_id,
            amount_grams=parse_amount_arg(amount),
            price_fen=_price(price),
            min_lot_grams=parse_amount_arg(min_lot),
            expiry_blocks=expiry_blocks,
            retire_on_purchase=retire_on_purchase,
        ),
    )


@click.command("buy")
@click.argument("order_id", type=click.IntRange(1))
@click.argument("amount")
@click.option("--beneficiary", default="", help="Orders that retire on purchase: for whom.")
@click.option("--reason", default="", help="Orders that retire on purchase: why.")
@click.option("--jurisdiction", default="", help="ISO 3166 code of the claim (retiring orders).")
@click.option("--event", "event_name", default="", help="e.g. 14th National Winter Games.")
@tx_options
def buy(
    opts: TxOptions,
    order_id: int,
    amount: str,
    beneficiary: str,
    reason: str,
    jurisdiction: str,
    event_name: str,
) -> None:
    """Take AMOUNT tCO2e of sell order ORDER_ID: a pending trade until the seller or the
    trading platform confirms the (off-chain) payment. An order that retires on purchase needs
    --beneficiary and --reason (and --jurisdiction, default CN)."""
    if beneficiary and not jurisdiction:
        jurisdiction = "CN"
    send_tx(
        opts,
        ledger_pb2.Buy(
            order_id=order_id,
            amount_grams=parse_amount_arg(amount),
            beneficiary=beneficiary,
            reason=reason,
            jurisdiction=jurisdiction,
            event=event_name,
        ),
    )


@click.command("confirm-payment")
@click.argument("trade_id", type=click.IntRange(1))
@tx_options
def confirm_payment(opts: TxOptions, trade_id: int) -> None:
    """Seller or settlement account: confirm TRADE_ID was paid; the grams are delivered to the
    buyer (or retired for the buyer, with a certificate)."""
    send_tx(opts, ledger_pb2.ConfirmPayment(trade_id=trade_id))


@click.command("cancel-order")
@click.argument("order_id", type=click.IntRange(1))
@tx_options
def cancel_order(opts: TxOptions, order_id: int) -> None:
    """Seller: withdraw ORDER_ID; what no pending trade holds returns to your balance."""
    send_tx(opts, ledger_pb2.CancelOrder(order_id=order_id))


# ---------------------------------------------------------------- queries


def _with_money(item: dict[str, Any]) -> dict[str, Any]:
    for name in ("price_fen", "total_fen"):
        if name in item:
            item[name.removesuffix("_fen") + "_yuan"] = yuan(int(item[name]))
    return item


def _emit_page(
    output: str,
    items: list[dict[str, Any]],
    token: str,
    height: int,
    header: tuple[str, ...],
    row: Any,
) -> None:
    if chosen_output(output) == "json":
        data = {"items": items, "next_page_token": token, "height": height}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"{len(items)} shown (height {height})")
    if items:
        render.print_rows(header, [row(i) for i in items])
    if token:
        click.echo(f"more: --page-token {token}")


@click.command("orders")
@click.option(
    "--seller",
    default="",
    help="Only this seller's orders (address or @key).",
    shell_complete=complete_address_or_key,
)
@click.option("--batch", "batch_id", default="", help="Only orders of this batch.")
@click.option("--status", default="", type=click.Choice(["", *ORDER_STATUSES]))
@node_option
@output_option
@_page_options[0]
@_page_options[1]
@_page_options[2]
@keystore_option
@reports_errors
def orders(
    seller: str,
    batch_id: str,
    status: str,
    node: str,
    output: str,
    limit: int,
    page_token: str,
    all_pages: bool,
    keystore: Path,
) -> None:
    """Sell orders, newest first: price, what is left, pending and sold, status."""
    request = services_pb2.ListOrdersRequest(
        seller=parse_address_arg(seller, keystore) if seller else "",
        batch_id=batch_id,
        status=status,
        page_size=limit,
    )
    with connect(node) as stub:
        found, token, last = follow_pages(stub.ListOrders, request, page_token, all_pages)
    items = [_with_money(render.message_dict(o)) for o in found]
    header = ("order", "status", "batch", "price_yuan/t", "remaining", "pending", "sold",
              "expires", "retire", "seller")  # fmt: skip
    _emit_page(
        output,
        items,
        token,
        last.height,
        header,
        lambda o: (
            str(o["order_id"]),
            o["status"],
            o["batch_id"],
            o["price_yuan"],
            o["remaining_tco2e"],
            o["pending_tco2e"],
            o["sold_tco2e"],
            str(o["expires_height"]),
            "yes" if o["retire_on_purchase"] else "no",
            o["seller"],
        ),
    )


@click.command("trades")
@click.option("--order", "order_id", default=0, type=click.IntRange(0), help="Only this order.")
@click.option(
    "--account",
    default="",
    help="Only trades of this buyer or seller (or @key).",
    shell_complete=complete_address_or_key,
)
@click.option("--status", default="", type=click.Choice(["", *TRADE_STATUSES]))
@node_option
@output_option
@_page_options[0]
@_page_options[1]
@_page_options[2]
@keystore_option
@reports_errors
def trades(
    order_id: int,
    account: str,
    status: str,
    node: str,
    output: str,
    limit: int,
    page_token: str,
    all_pages: bool,
    keystore: Path,
) -> None:
    """Trades, newest first: amount, price and total, status, certificate of a retirement."""
    request = services_pb2.ListTradesRequest(
        order_id=order_id,
        account=parse_address_arg(account, keystore) if account else "",
        status=status,
        page_size=limit,
    )
    with connect(node) as stub:
        found, token, last = follow_pages(stub.ListTrades, request, page_token, all_pages)
    items = [_with_money(render.message_dict(t)) for t in found]
    header = ("trade", "order", "status", "amount", "total_yuan", "buyer", "certificate")
    _emit_page(
        output,
        items,
        token,
        last.height,
        header,
        lambda t: (
            str(t["trade_id"]),
            str(t["order_id"]),
            t["status"],
            t["amount_tco2e"],
            t["total_yuan"],
            t["buyer"],
            t["certificate_id"] or "-",
        ),
    )


@click.command("trade-prices")
@click.argument("project_id")
@click.option("--vintage", help="Only this vintage, YYYYMMDD-YYYYMMDD.")
@node_option
@output_option
@_page_options[0]
@_page_options[1]
@_page_options[2]
@reports_errors
def trade_prices(
    project_id: str,
    vintage: str | None,
    node: str,
    output: str,
    limit: int,
    page_token: str,
    all_pages: bool,
) -> None:
    """The public price history of PROJECT_ID: settled trades, newest first."""
    request = services_pb2.ListTradePricesRequest(project_id=project_id, page_size=limit)
    period = _period(vintage, "vintage", required=False)
    if period is not None:
        request.vintage.CopyFrom(period)
    with connect(node) as stub:
        found, token, last = follow_pages(stub.ListTradePrices, request, page_token, all_pages)
    items = [_with_money(render.message_dict(p)) for p in found]
    header = ("trade", "height", "batch", "price_yuan/t", "amount", "total_yuan")
    _emit_page(
        output,
        items,
        token,
        last.height,
        header,
        lambda p: (
            str(p["trade_id"]),
            str(p["height"]),
            p["batch_id"],
            p["price_yuan"],
            p["amount_tco2e"],
            p["total_yuan"],
        ),
    )


MARKET_TX_COMMANDS = (sell, buy, confirm_payment, cancel_order)
MARKET_QUERY_COMMANDS = (orders, trades, trade_prices)
