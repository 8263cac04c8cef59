"""Issue 17's registry commands: ``tx export``, ``tx import-batch``, ``query exports``,
``query export`` and ``query import``, plus the option sets ``tx register-project`` (external ids,
parcels, boundary) and ``tx retire`` (use, scheme, emitter account, corresponding adjustment)
gain. cli/main.py adds ``REGISTRY_TX_COMMANDS`` to ``tx`` and ``REGISTRY_QUERY_COMMANDS`` to
``query``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from carbon_ticket.chain.records import RETIREMENT_USES
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
from carbon_ticket.cli.query_cmds import _page_options, _print_rows
from carbon_ticket.cli.submit import TxOptions, send_tx, tx_options
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = [
    "REGISTRY_QUERY_COMMANDS",
    "REGISTRY_TX_COMMANDS",
    "ProjectIds",
    "RetirementUse",
    "project_id_options",
    "retirement_use_options",
]

_USE_NAMES = tuple(name.replace("_", "-") for name in RETIREMENT_USES[1:])


# ---------------------------------------------------------------- options of existing commands


@dataclass(frozen=True, slots=True)
class ProjectIds:
    """What ``tx register-project`` says about the forest's identity."""

    external_ids: tuple[str, ...]
    parcel_ids: tuple[str, ...]
    boundary_hash: bytes

    def apply(self, msg: ledger_pb2.RegisterProject) -> None:
        """Write the ids into the message."""
        msg.external_ids.extend(self.external_ids)
        msg.parcel_ids.extend(self.parcel_ids)
        msg.boundary_hash = self.boundary_hash


def _boundary(text: str | None, path: Path | None) -> bytes:
    if text is not None and path is not None:
        raise CliError("give --boundary-hash or --boundary-file, not both", EXIT_USAGE)
    if path is not None:
        try:
            return hashlib.sha256(path.read_bytes()).digest()
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc}", EXIT_USAGE) from exc
    if text is None:
        return b""
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        value = b""
    if len(value) != 32:
        raise CliError(f"invalid boundary hash {text!r}: write 64 hex digits", EXIT_USAGE)
    return value


def project_id_options(func: Callable[..., None]) -> Callable[..., None]:
    """Add --external-id, --parcel, --boundary-hash/--boundary-file; pass ``ids: ProjectIds``."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        ids = ProjectIds(
            external_ids=tuple(kwargs.pop("external_ids")),
            parcel_ids=tuple(kwargs.pop("parcel_ids")),
            boundary_hash=_boundary(kwargs.pop("boundary_hash"), kwargs.pop("boundary_file")),
        )
        func(**kwargs, ids=ids)

    options = [
        click.option("--external-id", "external_ids", multiple=True,
                     help="An id of the project elsewhere (CCER number, registry id); repeat."),
        click.option("--parcel", "parcel_ids", multiple=True,
                     help="A cadastral or forest-inventory parcel number it covers; repeat."),
        click.option("--boundary-hash", help="SHA-256 of the parcels' boundary data, hex."),
        click.option("--boundary-file", type=click.Path(path_type=Path, dir_okay=False),
                     help="Boundary data file (e.g. GeoJSON) to hash instead."),
    ]  # fmt: skip
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


@dataclass(frozen=True, slots=True)
class RetirementUse:
    """What ``tx retire`` says about the use of the retirement."""

    use: int
    scheme: str
    emitter_account: str
    corresponding_adjustment: bool

    def apply(self, msg: ledger_pb2.Retire) -> None:
        """Write the use into the message."""
        msg.use = self.use  # type: ignore[assignment]
        msg.scheme = self.scheme
        msg.emitter_account = self.emitter_account
        msg.corresponding_adjustment = self.corresponding_adjustment


def retirement_use_options(func: Callable[..., None]) -> Callable[..., None]:
    """Add --use, --scheme, --emitter-account, --corresponding-adjustment; pass ``use``."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        name = kwargs.pop("use_name").replace("-", "_")
        use = RetirementUse(
            use=RETIREMENT_USES.index(name),
            scheme=kwargs.pop("scheme"),
            emitter_account=kwargs.pop("emitter_account"),
            corresponding_adjustment=kwargs.pop("corresponding_adjustment"),
        )
        if name == "compliance_offset" and not (use.scheme and use.emitter_account):
            raise CliError(
                "--use compliance-offset needs --scheme and --emitter-account", EXIT_USAGE
            )
        func(**kwargs, use=use)

    options = [
        click.option("--use", "use_name", type=click.Choice(_USE_NAMES), default="voluntary",
                     show_default=True, help="A voluntary claim, or an offset under a scheme."),
        click.option("--scheme", default="", help="Compliance scheme, e.g. CN-ETS."),
        click.option("--emitter-account", default="",
                     help="The emitter's account id in that scheme."),
        click.option("--corresponding-adjustment/--no-corresponding-adjustment", default=False,
                     help="Whether a corresponding adjustment applies.", show_default=True),
    ]  # fmt: skip
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


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
@click.option("--recipient", required=True, help="Address (or @key) receiving the grams.")
@tx_options
def import_batch(opts: TxOptions, origin_registry: str, origin_id: str, amount: str,
                 project_id: str, vintage: str, recipient: str) -> None:  # fmt: skip
    """Bridge: import AMOUNT tCO2e from ORIGIN_REGISTRY's ORIGIN_ID (once per origin)."""
    from carbon_ticket.cli.tx_cmds import _period  # tx_cmds imports this module

    msg = ledger_pb2.ImportBatch(
        origin_registry=origin_registry,
        origin_id=origin_id,
        project_id=project_id,
        amount_grams=parse_amount_arg(amount),
        recipient=parse_address_arg(recipient, opts.keystore),
    )
    msg.vintage.CopyFrom(_period(vintage, "vintage"))
    send_tx(opts, msg)


# ---------------------------------------------------------------- queries


@click.command("exports")
@click.option("--batch", "batch_id", default="", help="Only exports of this batch.")
@click.option("--account", default="", help="Only exports by this address (or @key).")
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
    items: list[dict[str, Any]] = []
    token = page_token
    with connect(node) as stub:
        while True:
            request.page_token = token
            page = stub.ExportList(request, timeout=10)
            items += [render.message_dict(e) for e in page.items]
            token = page.next_page_token
            if not (all_pages and token):
                break
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
        _print_rows(header, rows)
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
