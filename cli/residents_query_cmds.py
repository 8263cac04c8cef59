"""``carbon-ticket query redemptions``, ``query voucher``, ``query vouchers`` and ``query
points-totals`` (issue 15): a resident's redemptions, the vouchers redeemed at a merchant and the
points operators awarded per activity. Added to the ``query`` group by ``cli.main`` (as the
residents' transactions are added to ``tx``); the other residents' queries are in
``cli.query_cmds``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import grpc

from carbon_ticket.chain.residents_view import period_days
from carbon_ticket.cli import render
from carbon_ticket.cli.common import (
    EXIT_USAGE,
    CliError,
    chosen_output,
    connect,
    emit,
    keystore_option,
    ledger_code,
    node_option,
    output_option,
    parse_address_arg,
    reports_errors,
)
from carbon_ticket.cli.completion import complete_address_or_key
from carbon_ticket.cli.query_cmds import _days_arg, _page_options, follow_pages, without_offers
from carbon_ticket.proto import services_pb2

__all__ = ["RESIDENT_QUERY_COMMANDS"]


def _paid(item: dict[str, Any]) -> str:
    """What a redemption cost, as a person reads it."""
    if item["payment"] == "grams":
        return f"{item['amount_tco2e']} tCO2e"
    return f"{item['points']} points"


def _print_redemptions(header: tuple[str, ...], items: Sequence[dict[str, Any]]) -> None:
    """One row per redemption with the ``header``'s fields: what was paid as a person reads it
    (``paid``), ``-`` for no certificate."""
    special = {"paid": _paid, "certificate_id": lambda r: r["certificate_id"] or "-"}
    rows = [
        tuple(special[name](r) if name in special else str(r[name]) for name in header)
        for r in items
    ]
    render.print_rows(header, rows)


def _show_page(
    found: list[Any],
    token: str,
    page: services_pb2.RedemptionPage,
    output: str,
    counted: str,
    header: tuple[str, ...],
) -> None:
    """The redemptions read (``RedemptionInfo``): as ``-o json`` (the API's ``RedemptionPage``
    fields), or the count, a table in ``header``'s columns and the token of the next page."""
    items = [render.redemption(r) for r in found]
    if chosen_output(output) == "json":
        data = {"items": items, "next_page_token": token, "count": page.count,
                "height": page.height}  # fmt: skip
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"{page.count} {counted} (height {page.height})")
    if items:
        _print_redemptions(header, items)
    if token:
        click.echo(f"more: --page-token {token}")


def _refuse_non_resident(stub: Any, address: str) -> None:
    """The node refuses the redemptions of an account that is not a resident's (``not_resident``):
    a merchant asking for its own is told what it asked and where a merchant's are."""
    kind = render.account(
        stub.GetAccount(services_pb2.GetAccountRequest(address=address), timeout=10)
    )["kind"]
    if kind == "resident":
        return
    where = (
        f"; a merchant's redemptions are listed by: carbon-ticket query vouchers {address} (and "
        f"counted per offer and day by: carbon-ticket query merchant {address})"
        if kind == "merchant"
        else ""
    )
    raise CliError(
        f"{address} is a {kind} account: query redemptions lists what a resident redeemed"
        f"{where} [not_resident]",
        EXIT_USAGE,
    )


@click.command("redemptions")
@click.argument("resident", shell_complete=complete_address_or_key)
@node_option
@output_option
@_page_options[0]
@_page_options[1]
@_page_options[2]
@keystore_option
@reports_errors
def redemptions(
    resident: str,
    node: str,
    output: str,
    limit: int,
    page_token: str,
    all_pages: bool,
    keystore: Path,
) -> None:
    """RESIDENT's (address or @key) redemptions at merchants, newest first: the offer, the
    voucher, what was paid (tCO2e retired, with the certificate, or points) and the day."""
    address = parse_address_arg(resident, keystore)
    request = services_pb2.ListRedemptionsRequest(resident=address, page_size=limit)
    with connect(node) as stub:
        try:
            found, token, page = follow_pages(stub.ListRedemptions, request, page_token, all_pages)
        except grpc.RpcError as exc:
            if ledger_code(exc) == "not_resident":
                _refuse_non_resident(stub, address)
            raise
    header = ("height", "day", "merchant", "offer_id", "voucher_ref", "paid", "certificate_id")
    _show_page(found, token, page, output, "redemptions in all", header)


def _no_offer(stub: Any, address: str) -> str:
    """Why no voucher was redeemed at ``address``, when it has no offer to redeem (the node
    answers such an account's vouchers as a merchant's with none); "" for an account with
    offers."""
    offers = stub.ListOffers(services_pb2.ListOffersRequest(merchant=address), timeout=10)
    return "" if offers.offers else without_offers(stub, address)


def _voucher_ref(text: str) -> str:
    """A voucher reference as the wallet signs it (NFC); an empty one is bad input."""
    if not text:
        raise CliError("the voucher reference is empty", EXIT_USAGE)
    return unicodedata.normalize("NFC", text)


@click.command("voucher")
@click.argument("merchant", shell_complete=complete_address_or_key)
@click.argument("voucher_ref", metavar="REF")
@node_option
@output_option
@keystore_option
@reports_errors
def voucher(merchant: str, voucher_ref: str, node: str, output: str, keystore: Path) -> None:
    """The redemption of voucher REF at MERCHANT (address or @key): who redeemed it (the
    resident), when, the offer and what was paid (tCO2e retired, with the certificate, or
    points). A reference never redeemed there is refused [unknown_voucher]."""
    address = parse_address_arg(merchant, keystore)
    request = services_pb2.GetVoucherRequest(
        merchant=address, voucher_ref=_voucher_ref(voucher_ref)
    )
    with connect(node) as stub:
        try:
            reply = stub.GetVoucher(request, timeout=10)
        except grpc.RpcError as exc:
            why = _no_offer(stub, address) if ledger_code(exc) == "unknown_voucher" else ""
            if not why:
                raise
            # Refused as any voucher never redeemed (exit 3), saying why none can be.
            raise CliError(
                f"no voucher {request.voucher_ref!r} was redeemed at {address}: {why} "
                "[unknown_voucher]"
            ) from exc
    emit(render.redemption(reply), output)


@click.command("vouchers")
@click.argument("merchant", shell_complete=complete_address_or_key)
@node_option
@output_option
@_page_options[0]
@_page_options[1]
@_page_options[2]
@keystore_option
@reports_errors
def vouchers(
    merchant: str,
    node: str,
    output: str,
    limit: int,
    page_token: str,
    all_pages: bool,
    keystore: Path,
) -> None:
    """The vouchers redeemed at MERCHANT (address or @key) in voucher reference order: who
    redeemed each (the resident), the offer, what was paid and the day."""
    address = parse_address_arg(merchant, keystore)
    request = services_pb2.ListVouchersRequest(merchant=address, page_size=limit)
    with connect(node) as stub:
        found, token, page = follow_pages(stub.ListVouchers, request, page_token, all_pages)
        as_table = chosen_output(output) != "json"
        why = _no_offer(stub, address) if as_table and page.count == 0 else ""
    if why:  # nothing there, as "no transactions" in history: said plainly, exit 0
        click.echo(f"no vouchers: {why}")
        return
    header = ("voucher_ref", "height", "day", "resident", "offer_id", "paid", "certificate_id")
    _show_page(found, token, page, output, f"redemptions at {address} in all", header)


def _print_totals(data: dict[str, Any]) -> None:
    """The totals as two tables: per operator and activity, then per award day."""
    period = f"{data['from_day']}..{data['to_day']}"
    if not data["operators"]:
        click.echo("no points awarded")
        return
    header = ("operator", "activity", "all time", f"days {period}")
    rows: list[tuple[str, ...]] = []
    days: list[tuple[str, ...]] = []
    for op in data["operators"]:
        in_period: dict[str, int] = {}
        for day in op["days"]:
            for a in day["activities"]:
                in_period[a["activity"]] = in_period.get(a["activity"], 0) + a["points"]
                days.append((str(day["day"]), op["operator"], a["activity"], str(a["points"])))
        rows += [
            (op["operator"], a["activity"], str(a["points"]), str(in_period.get(a["activity"], 0)))
            for a in op["activities"]
        ]
        rows.append((op["operator"], "(all)", str(op["points"]), str(op["period_points"])))
    render.print_rows(header, rows)
    if days:
        click.echo("")
        render.print_rows(("day", "operator", "activity", "points"), days)


@click.command("points-totals")
@click.argument("operator", required=False, shell_complete=complete_address_or_key)
@click.option("--from", "from_day", help="First award day YYYYMMDD (default: 30 days before --to).")
@click.option("--to", "to_day", help="Last award day YYYYMMDD (default: the chain's today).")
@node_option
@output_option
@keystore_option
@reports_errors
def points_totals(
    operator: str | None,
    from_day: str | None,
    to_day: str | None,
    node: str,
    output: str,
    keystore: Path,
) -> None:
    """Points awarded by OPERATOR (address or @key; default: every operator) per activity, all
    time and per award day of a period (at most 366 days)."""
    first, last = _days_arg(from_day, to_day)
    if first and last:
        period_days(first, last)  # at most 366 days, as the node counts them
    request = services_pb2.GetPointsTotalsRequest(
        operator=parse_address_arg(operator, keystore) if operator else "",
        from_day=first,
        to_day=last,
    )
    with connect(node) as stub:
        reply = stub.GetPointsTotals(request, timeout=10)
    data = render.message_dict(reply)
    if chosen_output(output) == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    _print_totals(data)


RESIDENT_QUERY_COMMANDS = (redemptions, voucher, vouchers, points_totals)
