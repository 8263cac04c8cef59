"""Issue 17's registry commands: ``tx export``, ``tx import-batch``, ``query exports``,
``query export`` and ``query import`` (the options ``tx register-project`` and ``tx retire`` gain
are in cli/registry_options.py). cli/main.py adds ``REGISTRY_TX_COMMANDS`` to ``tx`` and
``REGISTRY_QUERY_COMMANDS`` to ``query``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from carbon_ticket.cli import render
from carbon_ticket.cli.common import (
    EXIT_USAGE,
    CliError,
    chosen_output,
    connect,
    emit,
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

__all__ = ["REGISTRY_QUERY_COMMANDS", "REGISTRY_TX_COMMANDS"]


# ---------------------------------------------------------------- transactions


@click.command("export")
@click.argument("batch_id")
@click.argument("amount")
@click.option("--registry", required=True, help="Target registry, e.g. VERRA.")
@click.option("--account", required=True, help="The receiving account in that registry.")
@click.option("--reason", default="", help="Optional, e.g. sold to an overseas buyer.")
@tx_options
def export(opts: TxOptions, batch_id: str, amount: str, registry: str, account: str,
           reason: str) -> None:  # fmt: skip
    """Export AMOUNT tCO2e of BATCH_ID to another registry; prints the export id."""
    send_tx(
        opts,
        ledger_pb2.ExportTickets(
            batch_id=batch_id,
            amount_grams=parse_amount_arg(amount),
            registry=registry,
            account=account,
            reason=reason,
        ),
    )


@click.command("import-batch")
@click.argument("origin_registry")
@click.argument("origin_id")
@click.argument("amount")
@click.option("--project", "project_id", required=True, help="Project id registered here.")
@click.option("--vintage", required=True, help="YYYYMMDD-YYYYMMDD.")
@click.option(
    "--recipient",
    required=True,
    help="Address (or @key) receiving the grams.",
    shell_complete=complete_address_or_key,
)
@tx_options
def import_batch(opts: TxOptions, origin_registry: str, origin_id: str, amount: str,
                 project_id: str, vintage: str, recipient: str) -> None:  # fmt: skip
    """Bridge: import AMOUNT tCO2e from ORIGIN_REGISTRY's ORIGIN_ID (once per origin)."""
    msg = ledger_pb2.ImportBatch(
        origin_registry=origin_registry,
        origin_id=origin_id,
        project_id=project_id,
        vintage=_period(vintage, "vintage"),
        amount_grams=parse_amount_arg(amount),
        recipient=parse_address_arg(recipient, opts.keystore),
    )
    send_tx(opts, msg)


# ---------------------------------------------------------------- queries


@click.command("exports")
@click.option("--batch", "batch_id", default="", help="Only exports of this batch.")
@click.option(
    "--account",
    default="",
    help="Only exports by this address (or @key).",
    shell_complete=complete_address_or_key,
)
@node_option
@output_option
@_page_options[0]
@_page_options[1]
@_page_options[2]
@keystore_option
@reports_errors
def exports(batch_id: str, account: str, node: str, output: str, limit: int, page_token: str,
            all_pages: bool, keystore: Path) -> None:  # fmt: skip
    """Exports to other registries in the order they were made, with their serial ranges."""
    if batch_id and account:
        raise CliError("give --batch or --account, not both", EXIT_USAGE)
    request = services_pb2.ExportListRequest(
        batch_id=batch_id,
        account=parse_address_arg(account, keystore) if account else "",
        page_size=limit,
    )
    with connect(node) as stub:
        found, token, _ = follow_pages(stub.ExportList, request, page_token, all_pages)
    items = [render.message_dict(e) for e in found]
    if chosen_output(output) == "json":
        click.echo(json.dumps({"items": items, "next_page_token": token}, indent=2,
                              ensure_ascii=False))  # fmt: skip
        return
    if not items:
        click.echo("no exports")
    else:
        header = ("height", "export_id", "amount (tCO2e)", "registry", "target_account", "serial")
        rows = [
            (str(e["height"]), e["export_id"], e["amount_tco2e"], e["registry"],
             e["target_account"], e["serial"])
            for e in items
        ]  # fmt: skip
        render.print_rows(header, rows)
    if token:
        click.echo(f"more: --page-token {token}")


@click.command("export")
@click.argument("export_id")
@node_option
@output_option
@reports_errors
def export_record(export_id: str, node: str, output: str) -> None:
    """One export record, e.g. EX-0123456789ABCDEF01234567."""
    with connect(node) as stub:
        reply = stub.ExportGet(services_pb2.ExportGetRequest(export_id=export_id), timeout=10)
    emit(render.message_dict(reply), output)


@click.command("import")
@click.argument("origin_registry")
@click.argument("origin_id")
@node_option
@output_option
@reports_errors
def import_record(origin_registry: str, origin_id: str, node: str, output: str) -> None:
    """What ORIGIN_REGISTRY's ORIGIN_ID became when it was imported (the batch here)."""
    request = services_pb2.ImportGetRequest(origin_registry=origin_registry, origin_id=origin_id)
    with connect(node) as stub:
        reply = stub.ImportGet(request, timeout=10)
    emit(render.message_dict(reply), output)


REGISTRY_TX_COMMANDS = (export, import_batch)
REGISTRY_QUERY_COMMANDS = (exports, export_record, import_record)
