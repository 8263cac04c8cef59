"""``carbon-ticket query``: read the ledger through a node's public gRPC API."""

from __future__ import annotations

import datetime
import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    reports_errors,
    table_view,
)
from carbon_ticket.cli.completion import complete_address_or_key
from carbon_ticket.proto import services_pb2

__all__ = ["query"]


def _hash_arg(text: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        value = b""
    if len(value) != 32:
        raise CliError(f"invalid {what} {text!r}: write 64 hex digits", EXIT_USAGE)
    return value


@click.group()
def query() -> None:
    """Read the ledger from a node (amounts in tCO2e)."""


@query.command("status")
@node_option
@output_option
@reports_errors
def status(node: str, output: str) -> None:
    """Chain id, height, app hash and validators of a node."""
    with connect(node) as stub:
        reply = stub.GetStatus(services_pb2.StatusRequest(), timeout=10)
    emit(render.message_dict(reply), output)


@query.command("account")
@click.argument("address", shell_complete=complete_address_or_key)
@node_option
@output_option
@keystore_option
@reports_errors
def account(address: str, node: str, output: str, keystore: Path) -> None:
    """Balances per batch, roles and next nonce of ADDRESS (or @key)."""
    request = services_pb2.GetAccountRequest(address=parse_address_arg(address, keystore))
    with connect(node) as stub:
        emit(render.account(stub.GetAccount(request, timeout=10)), output)


@query.command("project")
@click.argument("project_id")
@node_option
@output_option
@reports_errors
def project(project_id: str, node: str, output: str) -> None:
    """A registered project."""
    with connect(node) as stub:
        reply = stub.GetProject(services_pb2.GetProjectRequest(project_id=project_id), timeout=10)
    emit(render.project(reply), output)


@query.command("batch")
@click.argument("batch_id")
@node_option
@output_option
@reports_errors
def batch(batch_id: str, node: str, output: str) -> None:
    """A batch and its supply: issued, tradable, retired, cancelled, buffer."""
    with connect(node) as stub:
        reply = stub.GetBatch(services_pb2.GetBatchRequest(batch_id=batch_id), timeout=10)
    emit(render.batch(reply), output)


@query.command("report")
@click.argument("data_hash")
@node_option
@output_option
@reports_errors
def report(data_hash: str, node: str, output: str) -> None:
    """An anchored dataset or report and its attestation."""
    request = services_pb2.GetReportRequest(data_hash=_hash_arg(data_hash, "data hash"))
    with connect(node) as stub:
        emit(render.report(stub.GetReport(request, timeout=10)), output)


@query.command("tx")
@click.argument("tx_hash")
@node_option
@output_option
@reports_errors
def tx(tx_hash: str, node: str, output: str) -> None:
    """A committed transaction with its receipt."""
    request = services_pb2.GetTxRequest(tx_hash=_hash_arg(tx_hash, "tx hash"))
    with connect(node) as stub:
        emit(render.tx(stub.GetTx(request, timeout=10)), output)


@query.command("block")
@click.argument("height", type=click.IntRange(min=1), required=False)
@click.option("--hash", "block_hash", help="Block hash instead of a height.")
@node_option
@output_option
@reports_errors
def block(height: int | None, block_hash: str | None, node: str, output: str) -> None:
    """Block HEIGHT (default: the latest) with its commit certificate."""
    request = services_pb2.GetBlockRequest(height=height or 0)
    if block_hash:
        request.block_hash = _hash_arg(block_hash, "block hash")
    with connect(node) as stub:
        emit(render.block(stub.GetBlock(request, timeout=10)), output)


@query.command("certificate")
@click.argument("certificate_id")
@click.option(
    "--proof",
    is_flag=True,
    help="Fetch the proof bundle (tx, receipt, proofs, header, commit, validators).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --proof: write the bundle to FILE (check it with carbon-ticket verify).",
)
@node_option
@output_option
@reports_errors
def certificate(certificate_id: str, proof: bool, out: Path | None, node: str, output: str) -> None:
    """A retirement certificate, e.g. RC-0123456789ABCDEF01234567."""
    if out is not None and not proof:
        raise CliError("--out writes a proof bundle: add --proof", EXIT_USAGE)
    with connect(node) as stub:
        if not proof:
            request = services_pb2.GetCertificateRequest(certificate_id=certificate_id)
            emit(render.certificate(stub.GetCertificate(request, timeout=10)), output)
            return
        reply = stub.GetCertificateProof(
            services_pb2.GetCertificateProofRequest(certificate_id=certificate_id), timeout=10
        )
    bundle = render.certificate_bundle(reply)  # the verify format: always JSON
    text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc}", EXIT_USAGE) from exc
    click.echo(
        f"wrote the proof bundle of {certificate_id} to {out}; check it offline with: "
        f"carbon-ticket verify {out} --genesis {_genesis_hint(bundle)}"
    )


# Where `carbon-ticket devnet init` puts a devnet's genesis by default (its --home is ./devnet).
_DEVNET_GENESIS = Path("devnet") / "genesis.json"


def _genesis_hint(bundle: dict[str, Any]) -> str:
    """What to pass as ``verify --genesis``: the default devnet's genesis file when it is the
    bundle's chain's, else a placeholder saying which document (its hash) and where a devnet's
    is."""
    from carbon_ticket.chain.errors import LedgerError
    from carbon_ticket.chain.genesis import Genesis

    try:
        if Genesis.from_json(_DEVNET_GENESIS.read_text()).hash().hex() == bundle["genesis_hash"]:
            return str(_DEVNET_GENESIS)
    except (OSError, UnicodeDecodeError, LedgerError):
        pass  # no devnet here, or not this chain's: the hint below says what to look for
    return (f"GENESIS_FILE (the genesis document of chain {bundle['chain_id']} you trust, hash "
            f"{bundle['genesis_hash'][:16]}...; a devnet's is genesis.json in its --home, "
            f"{_DEVNET_GENESIS} by default)")  # fmt: skip


_page_options = [
    click.option(
        "--limit",
        default=20,
        show_default=True,
        type=click.IntRange(1, 1000),
        help="Entries per page.",
    ),
    click.option("--page-token", default="", help="Token printed by the previous page."),
    click.option("--all", "all_pages", is_flag=True, help="Follow every page."),
]


def follow_pages(
    method: Any, request: Any, token: str, all_pages: bool
) -> tuple[list[Any], str, Any]:
    """Call a paged List RPC from ``token`` (every page with ``all_pages``): the items, the token
    of the next page ("" at the end) and the last page read (for its height or count)."""
    items: list[Any] = []
    while True:
        request.page_token = token
        page = method(request, timeout=10)
        items += list(page.items)
        token = page.next_page_token
        if not (all_pages and token):
            return items, token, page


_HISTORY_HEADER = ("height", "index", "time (UTC)", "kind", "status", "tx_hash")


def _history(fetch: Any, limit: int, token: str, all_pages: bool, output: str) -> None:
    items: list[dict[str, Any]] = []
    while True:
        page = fetch(limit, token)
        items += [render.history_item(i) for i in page.items]
        token = page.next_page_token
        if not (all_pages and token):
            break
    if chosen_output(output) == "json":
        click.echo(json.dumps({"items": items, "next_page_token": token}, indent=2))
        return
    if not items:
        click.echo("no transactions")
    else:
        rows = [
            (str(i["height"]), str(i["index"]), i["time"] or "-", i["kind"],
             _status(i["receipt"]), i["tx_hash"])
            for i in items
        ]  # fmt: skip
        render.print_rows(_HISTORY_HEADER, rows)
    if token:
        click.echo(f"more: --page-token {token}")


def _status(receipt: dict[str, Any] | None) -> str:
    if receipt is None:
        return "-"
    return "ok" if receipt["code"] == 0 else str(receipt["error_code"])


@query.command("retirements")
@click.option("--beneficiary", default="", help="Only retirements for this beneficiary (exact).")
@click.option("--event", "event_name", default="", help="Only this event (exact), e.g. "
              "'14th National Winter Games'.")  # fmt: skip
@click.option("--batch", "batch_id", default="", help="Only retirements of this batch.")
@click.option("--project", "project_id", default="", help="Only retirements of this project.")
@click.option("--from-height", default=0, type=click.IntRange(min=0), help="First height.")
@click.option("--to-height", default=0, type=click.IntRange(min=0), help="Last height (0 = tip).")
@node_option
@output_option
@_page_options[0]
@_page_options[1]
@_page_options[2]
@reports_errors
def retirements(
    beneficiary: str,
    event_name: str,
    batch_id: str,
    project_id: str,
    from_height: int,
    to_height: int,
    node: str,
    output: str,
    limit: int,
    page_token: str,
    all_pages: bool,
) -> None:
    """The public retirement register: certificates newest first, filtered by any field given."""
    request = services_pb2.ListRetirementsRequest(
        beneficiary=unicodedata.normalize("NFC", beneficiary),
        event=unicodedata.normalize("NFC", event_name),
        batch_id=batch_id,
        project_id=project_id,
        from_height=from_height,
        to_height=to_height,
    )
    items: list[dict[str, Any]] = []
    token = page_token
    with connect(node) as stub:
        while True:  # a page may be short (bounded scan): keep going until ``limit`` items
            request.page_size = 1000 if all_pages else limit - len(items)
            request.page_token = token
            page = stub.ListRetirements(request, timeout=10)
            items += [render.certificate(c) for c in page.items]
            token = page.next_page_token
            if not token or (not all_pages and len(items) >= limit):
                break
    if chosen_output(output) == "json":
        click.echo(json.dumps({"items": items, "next_page_token": token}, indent=2))
        return
    if not items:
        click.echo("no retirements")
    else:
        header = ("height", "certificate_id", "amount (tCO2e)", "batch_id", "beneficiary", "event")
        rows = [
            (str(c["height"]), c["certificate_id"], c["amount_tco2e"], c["batch_id"],
             c["beneficiary"], c["event"] or "-")
            for c in items
        ]  # fmt: skip
        render.print_rows(header, rows)
    if token:
        click.echo(f"more: --page-token {token}")


@query.group("history")
def history() -> None:
    """Transactions that touched an account or a batch, newest first."""


@history.command("account")
@click.argument("address", shell_complete=complete_address_or_key)
@node_option
@output_option
@_page_options[0]
@_page_options[1]
@_page_options[2]
@keystore_option
@reports_errors
def history_account(
    address: str,
    node: str,
    output: str,
    limit: int,
    page_token: str,
    all_pages: bool,
    keystore: Path,
) -> None:
    """History of ADDRESS (or @key)."""
    address = parse_address_arg(address, keystore)
    with connect(node) as stub:
        _history(
            lambda n, t: stub.GetAccountHistory(
                services_pb2.GetAccountHistoryRequest(address=address, page_size=n, page_token=t),
                timeout=10,
            ),
            limit,
            page_token,
            all_pages,
            output,
        )


@history.command("batch")
@click.argument("batch_id")
@node_option
@output_option
@_page_options[0]
@_page_options[1]
@_page_options[2]
@reports_errors
def history_batch(
    batch_id: str, node: str, output: str, limit: int, page_token: str, all_pages: bool
) -> None:
    """History of BATCH_ID."""
    with connect(node) as stub:
        _history(
            lambda n, t: stub.GetBatchHistory(
                services_pb2.GetBatchHistoryRequest(batch_id=batch_id, page_size=n, page_token=t),
                timeout=10,
            ),
            limit,
            page_token,
            all_pages,
            output,
        )


def _stream(items: Iterator[Any], count: int | None) -> Iterator[Any]:
    try:
        for n, item in enumerate(items, 1):
            yield item
            if count is not None and n >= count:
                break
    except KeyboardInterrupt:
        return
    finally:
        cancel = getattr(items, "cancel", None)
        if cancel is not None:
            cancel()


@query.command("blocks")
@click.option(
    "--from-height",
    default=0,
    type=click.IntRange(min=0),
    help="First height (0 = the next block).",
)
@click.option("--count", type=click.IntRange(min=1), help="Stop after COUNT blocks.")
@node_option
@output_option
@reports_errors
def blocks(from_height: int, count: int | None, node: str, output: str) -> None:
    """Follow committed blocks (Ctrl-C stops)."""
    with connect(node) as stub:
        stream = stub.SubscribeBlocks(services_pb2.SubscribeBlocksRequest(from_height=from_height))
        for info in _stream(stream, count):
            data = render.block(info)
            if chosen_output(output) == "json":
                click.echo(json.dumps(data))
            else:
                header = data["header"]
                click.echo(
                    f"block {header['height']}  {data['block_hash']}  {header['time']}  "
                    f"{header['tx_count']} txs  {len(data['certificate']['precommits'])} sigs"
                )


@query.command("events")
@click.option(
    "--from-height",
    default=0,
    type=click.IntRange(min=0),
    help="First height (0 = the next block).",
)
@click.option("--type", "types", multiple=True, help="Only this event type (repeatable).")
@click.option(
    "--account",
    help="Only events naming this address (or @key).",
    shell_complete=complete_address_or_key,
)
@click.option("--count", type=click.IntRange(min=1), help="Stop after COUNT events.")
@node_option
@output_option
@keystore_option
@reports_errors
def events(
    from_height: int,
    types: tuple[str, ...],
    account: str | None,
    count: int | None,
    node: str,
    output: str,
    keystore: Path,
) -> None:
    """Follow ledger events (issue, transfer, retire, ...) as they commit (Ctrl-C stops)."""
    request = services_pb2.SubscribeEventsRequest(
        from_height=from_height,
        types=list(types),
        account=parse_address_arg(account, keystore) if account else "",
    )
    as_json = chosen_output(output) == "json"
    with connect(node) as stub:
        if not as_json:
            click.echo("height    tx_index  type               attributes")
        for ev in _stream(stub.SubscribeEvents(request), count):
            data = render.message_dict(ev)
            if as_json:
                click.echo(json.dumps(data, ensure_ascii=False))
            else:
                shown = table_view(data["event"])
                rest = "  ".join(f"{k}={v}" for k, v in shown.items() if k != "type")
                click.echo(f"{ev.height:<9} {ev.tx_index:<9} {shown['type']:<18} {rest}")


# ---------------------------------------------------------------- residents (issue 15)


def _day_arg(text: str | None, what: str) -> int:
    """0 for no day (the node's default), else a calendar day YYYYMMDD."""
    if text is None:
        return 0
    value = text.strip()
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        datetime.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise CliError(
            f"invalid {what} {text!r}: write a calendar day YYYYMMDD", EXIT_USAGE
        ) from None
    return int(value)


def _days_arg(from_text: str | None, to_text: str | None) -> tuple[int, int]:
    """``--from`` and ``--to`` as days (0 when not given); a --from after --to is bad input."""
    first, last = _day_arg(from_text, "--from"), _day_arg(to_text, "--to")
    if first and last and first > last:
        raise CliError(f"--from {first} is after --to {last}", EXIT_USAGE)
    return first, last


@query.command("points")
@click.argument("address", shell_complete=complete_address_or_key)
@click.option(
    "--days", type=click.IntRange(1, 366), default=7, show_default=True,
    help="Days of history, today included.",
)  # fmt: skip
@node_option
@output_option
@keystore_option
@reports_errors
def points(address: str, days: int, node: str, output: str, keystore: Path) -> None:
    """The points of resident ADDRESS (or @key): balance, earned today (chain time zone), what
    the daily cap leaves today, and the points of recent days."""
    request = services_pb2.GetPointsRequest(
        address=parse_address_arg(address, keystore), history_days=days
    )
    with connect(node) as stub:
        reply = stub.GetPoints(request, timeout=10)
    data = render.message_dict(reply)
    if not reply.daily_cap:
        data["remaining_today"] = None  # no cap: nothing to count down
    emit(data, output)


@query.command("offers")
@click.argument("merchant", shell_complete=complete_address_or_key)
@node_option
@output_option
@keystore_option
@reports_errors
def offers(merchant: str, node: str, output: str, keystore: Path) -> None:
    """The offers of MERCHANT (address or @key), by offer id."""
    request = services_pb2.ListOffersRequest(merchant=parse_address_arg(merchant, keystore))
    with connect(node) as stub:
        reply = stub.ListOffers(request, timeout=10)
    emit([render.offer(o) for o in reply.offers], output)


@query.command("merchant")
@click.argument("merchant", shell_complete=complete_address_or_key)
@click.option("--from", "from_day", help="First day YYYYMMDD (default: 30 days before --to).")
@click.option("--to", "to_day", help="Last day YYYYMMDD (default: the chain's today).")
@node_option
@output_option
@keystore_option
@reports_errors
def merchant(
    merchant: str,
    from_day: str | None,
    to_day: str | None,
    node: str,
    output: str,
    keystore: Path,
) -> None:
    """MERCHANT's (address or @key) offers and settlement totals: all time and for a period of
    chain days."""
    first, last = _days_arg(from_day, to_day)
    address = parse_address_arg(merchant, keystore)
    request = services_pb2.GetMerchantRequest(merchant=address, from_day=first, to_day=last)
    with connect(node) as stub:
        reply = stub.GetMerchant(request, timeout=10)
        as_table = chosen_output(output) != "json"
        why = without_offers(stub, address) if as_table and not reply.offers else ""
    emit(render.merchant(reply), output)
    if why:  # the node answers any registered account's totals, as zeros
        click.echo(f"no offers: {why}")


def without_offers(stub: Any, address: str) -> str:
    """Why the registered account ``address`` has no offer: it holds no merchant role, or it is
    a merchant that has registered none yet."""
    request = services_pb2.GetAccountRequest(address=address)
    account = render.account(stub.GetAccount(request, timeout=10))
    if "merchant" in account["roles"]:
        return (
            f"merchant {address} has registered no offer yet (offers are registered with "
            "carbon-ticket tx register-offer)"
        )
    return (
        f"{address} is a {account['kind']} account, not a merchant: it holds no merchant role "
        "and has registered no offer"
    )
