"""``carbon-ticket tx``: sign and submit every ledger transaction.

Each command validates its arguments, decrypts the signing key(s), has the node simulate the
unsigned transaction (one ``SimulateTx`` call, which also brings the chain id and the signer's
next nonce) and refuses what the ledger would refuse before signing; then it signs, submits, and
by default waits for the commit and prints the receipt. ``--no-simulate`` asks ``GetSigningInfo``
instead (nothing with ``--chain-id`` and ``--nonce`` too). Governance (grant-role, revoke-role,
appoint-issuer) needs more than 2/3 of the validators: pass several ``--key``, or write a
co-signing file with ``--out FILE`` (cli/cosign.py), add signatures with ``tx sign``, submit it
with ``tx broadcast`` and, once its nonce got used, rebuild it with ``tx renew``.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from pathlib import Path

import click
import grpc

from carbon_ticket.chain.records import ACCOUNT_KINDS, PROJECT_KINDS, ROLES
from carbon_ticket.chain.tx import sort_signatures, tx_sign_bytes
from carbon_ticket.cli.client import (
    GOVERNANCE_KINDS,
    LedgerClient,
    draft_envelope,
)
from carbon_ticket.cli.common import (
    EXIT_USAGE,
    CliError,
    chosen_output,
    connect,
    keystore_option,
    node_option,
    open_keystore,
    output_option,
    parse_address_arg,
    parse_amount_arg,
    password,
    reports_errors,
    rpc_error,
)
from carbon_ticket.cli.completion import complete_address_or_key, complete_key_name
from carbon_ticket.cli.cosign import (
    CosignFile,
    members_of,
    read_cosign,
    refuse_unexpected_signer,
)
from carbon_ticket.cli.registry_options import (
    ProjectIds,
    RetirementUse,
    project_id_options,
    retirement_use_options,
)
from carbon_ticket.cli.submit import (
    USED_NONCE_CODES,
    TxOptions,
    refuse_bad_fields,
    refuse_failed_simulation,
    refuse_missing_signatures,
    report_cosign,
    send_tx,
    size_refusals_are_bad_input,
    submit_tx,
    tx_options,
)
from carbon_ticket.proto import ledger_pb2

__all__ = ["tx"]

_PERIOD_RE = re.compile(r"([0-9]{8})-([0-9]{8})")


def _period(text: str | None, what: str, required: bool = True) -> ledger_pb2.Period | None:
    """A period from YYYYMMDD-YYYYMMDD text: real calendar dates, start not after end."""
    if text is None:
        if required:
            raise CliError(f"{what} is required, e.g. 20230101-20231231", EXIT_USAGE)
        return None
    match = _PERIOD_RE.fullmatch(text.strip())
    if match is None:
        raise CliError(f"invalid {what} {text!r}: write YYYYMMDD-YYYYMMDD", EXIT_USAGE)
    for part in match.groups():
        try:
            datetime.date(int(part[:4]), int(part[4:6]), int(part[6:]))
        except ValueError:
            raise CliError(f"invalid {what} {text!r}: {part} is not a calendar date",
                           EXIT_USAGE) from None  # fmt: skip
    if match.group(1) > match.group(2):
        raise CliError(f"invalid {what} {text!r}: the start is after the end", EXIT_USAGE)
    return ledger_pb2.Period(start_date=int(match.group(1)), end_date=int(match.group(2)))


def _hash(text: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        value = b""
    if len(value) != 32:
        raise CliError(f"invalid {what} {text!r}: write 64 hex digits", EXIT_USAGE)
    return value


def _area(text: str) -> int:
    match = re.fullmatch(r"([0-9]+)(?:\.([0-9]{1,2}))?", text.strip())
    if match is None or int(match.group(1) + (match.group(2) or "").ljust(2, "0")) == 0:
        raise CliError(f"invalid area {text!r}: hectares with up to 2 decimals", EXIT_USAGE)
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def _file_hash(path: Path) -> bytes:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc}", EXIT_USAGE) from exc


# ---------------------------------------------------------------- commands


@click.group()
def tx() -> None:
    """Sign and submit ledger transactions (amounts in tCO2e, e.g. 20000 or 12.5)."""


@tx.command("register-account")
@click.argument("address", shell_complete=complete_address_or_key)
@click.option("--kind", type=click.Choice(ACCOUNT_KINDS[1:]), default="company", show_default=True)
@click.option(
    "--name",
    default="",
    help="Name of the company or merchant (required except for residents, whose personal data "
    "stays off the chain).",
)
@tx_options
def register_account(opts: TxOptions, address: str, kind: str, name: str) -> None:
    """Registrar: open ADDRESS (or @key) so it may hold tickets."""
    if not name and kind != "resident":
        raise CliError(f"--name is required for a {kind} account", EXIT_USAGE)
    msg = ledger_pb2.RegisterAccount(
        address=parse_address_arg(address, opts.keystore),
        kind=ACCOUNT_KINDS.index(kind),  # type: ignore[arg-type]
        name=name,
    )
    send_tx(opts, msg)


@tx.command("register-project")
@click.argument("project_id")
@click.option("--name", required=True)
@click.option("--region", required=True, help="ISO 3166-2 code, e.g. CN-15.")
@click.option("--kind", type=click.Choice(PROJECT_KINDS[1:]), default="forest", show_default=True)
@click.option("--area-ha", required=True, help="Area in hectares, e.g. 1500 or 12.25.")
@click.option("--methodology", required=True)
@click.option(
    "--owner",
    required=True,
    help="Owner address (or @key).",
    shell_complete=complete_address_or_key,
)
@click.option("--metadata-uri", required=True)
@click.option("--metadata-hash", help="SHA-256 of the project document, hex.")
@click.option(
    "--metadata-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Project document to hash instead of --metadata-hash.",
)
@project_id_options
@tx_options
def register_project(
    opts: TxOptions,
    project_id: str,
    name: str,
    region: str,
    kind: str,
    area_ha: str,
    methodology: str,
    owner: str,
    metadata_uri: str,
    metadata_hash: str | None,
    metadata_file: Path | None,
    ids: ProjectIds,
) -> None:
    """Issuer: register carbon project PROJECT_ID (e.g. CN15-GY-0001)."""
    if metadata_file is not None:
        digest = _file_hash(metadata_file)
    elif metadata_hash is not None:
        digest = _hash(metadata_hash, "metadata hash")
    else:
        raise CliError("give --metadata-hash or --metadata-file", EXIT_USAGE)
    msg = ledger_pb2.RegisterProject(
        project_id=project_id,
        name=name,
        region=region,
        kind=PROJECT_KINDS.index(kind),  # type: ignore[arg-type]
        area_centihectares=_area(area_ha),
        methodology=methodology,
        owner=parse_address_arg(owner, opts.keystore),
        metadata_hash=digest,
        metadata_uri=metadata_uri,
    )
    ids.apply(msg)
    send_tx(opts, msg)


@tx.command("anchor-data")
@click.argument("project_id")
@click.option(
    "--file",
    "data_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Dataset or report to hash.",
)
@click.option("--hash", "data_hash", help="SHA-256 of the dataset, hex (instead of --file).")
@click.option("--period", required=True, help="Period covered, YYYYMMDD-YYYYMMDD.")
@click.option("--uri", required=True, help="Where the dataset can be fetched.")
@click.option(
    "--kind",
    default="monitoring-report",
    show_default=True,
    help="co2-flux, survey, monitoring-report, loss-report, ...",
)
@tx_options
def anchor_data(
    opts: TxOptions,
    project_id: str,
    data_file: Path | None,
    data_hash: str | None,
    period: str,
    uri: str,
    kind: str,
) -> None:
    """Anchor the hash of a monitoring dataset of PROJECT_ID."""
    if data_file is not None:
        digest = _file_hash(data_file)
    elif data_hash is not None:
        digest = _hash(data_hash, "data hash")
    else:
        raise CliError("give --file or --hash", EXIT_USAGE)
    msg = ledger_pb2.AnchorData(
        project_id=project_id,
        data_hash=digest,
        period=_period(period, "period"),
        uri=uri,
        kind=kind,
    )
    send_tx(opts, msg)


@tx.command("attest")
@click.argument("data_hash")
@click.option("--amount", required=True, help="Verified tCO2e.")
@click.option("--period", required=True, help="Period attested, YYYYMMDD-YYYYMMDD.")
@tx_options
def attest(opts: TxOptions, data_hash: str, amount: str, period: str) -> None:
    """Verifier: attest that anchored report DATA_HASH verifies --amount tCO2e."""
    msg = ledger_pb2.AttestReport(
        data_hash=_hash(data_hash, "data hash"),
        verified_grams=parse_amount_arg(amount),
        period=_period(period, "period"),
    )
    send_tx(opts, msg)


@tx.command("issue")
@click.argument("project_id")
@click.option("--vintage", required=True, help="Vintage period, YYYYMMDD-YYYYMMDD.")
@click.option(
    "--report",
    "reports",
    multiple=True,
    required=True,
    help="Attested report hash backing the issuance (repeatable).",
)
@click.option("--amount", required=True, help="tCO2e to issue (the buffer share included).")
@click.option(
    "--recipient",
    required=True,
    help="Address (or @key) receiving the tradable part.",
    shell_complete=complete_address_or_key,
)
@tx_options
def issue(
    opts: TxOptions,
    project_id: str,
    vintage: str,
    reports: tuple[str, ...],
    amount: str,
    recipient: str,
) -> None:
    """Issuer: issue a batch of PROJECT_ID backed by attested reports."""
    msg = ledger_pb2.IssueBatch(
        project_id=project_id,
        vintage=_period(vintage, "vintage"),
        report_hashes=[_hash(r, "report hash") for r in reports],
        amount_grams=parse_amount_arg(amount),
        recipient=parse_address_arg(recipient, opts.keystore),
    )
    send_tx(opts, msg)


@tx.command("transfer")
@click.option("--to", help="Recipient address (or @key).", shell_complete=complete_address_or_key)
@click.option("--batch", help="Batch id.")
@click.option("--amount", help="tCO2e.")
@click.option(
    "--entry", "entries", multiple=True, help="More entries as TO:BATCH:AMOUNT (repeatable)."
)
@tx_options
def transfer(
    opts: TxOptions,
    to: str | None,
    batch: str | None,
    amount: str | None,
    entries: tuple[str, ...],
) -> None:
    """Move tradable tickets to one or more accounts."""
    parts: list[tuple[str, str, str]] = []
    if to or batch or amount:
        if not (to and batch and amount):
            raise CliError("--to, --batch and --amount go together", EXIT_USAGE)
        parts.append((to, batch, amount))
    for entry in entries:
        fields = entry.split(":")
        if len(fields) != 3:
            raise CliError(f"invalid --entry {entry!r}: write TO:BATCH:AMOUNT", EXIT_USAGE)
        parts.append((fields[0], fields[1], fields[2]))
    if not parts:
        raise CliError("nothing to transfer: give --to/--batch/--amount or --entry", EXIT_USAGE)
    msg = ledger_pb2.Transfer(
        entries=[
            ledger_pb2.TransferEntry(
                to=parse_address_arg(t, opts.keystore), batch_id=b, amount_grams=parse_amount_arg(a)
            )
            for t, b, a in parts
        ]
    )
    send_tx(opts, msg)


@tx.command("retire")
@click.argument("batch_id")
@click.argument("amount")
@click.option("--beneficiary", required=True, help="On whose behalf the tickets are retired.")
@click.option("--reason", required=True)
@click.option("--jurisdiction", default="CN", show_default=True, help="ISO 3166 code of the claim.")
@click.option("--event", "event_name", default="", help="e.g. 14th National Winter Games.")
@click.option("--period", help="Period of the offset claim, YYYYMMDD-YYYYMMDD.")
@retirement_use_options
@tx_options
def retire(
    opts: TxOptions,
    batch_id: str,
    amount: str,
    beneficiary: str,
    reason: str,
    jurisdiction: str,
    event_name: str,
    period: str | None,
    use: RetirementUse,
) -> None:
    """Retire AMOUNT tCO2e of BATCH_ID and print the retirement certificate id."""
    msg = ledger_pb2.Retire(
        batch_id=batch_id,
        amount_grams=parse_amount_arg(amount),
        beneficiary=beneficiary,
        reason=reason,
        jurisdiction=jurisdiction,
        event=event_name,
    )
    claim = _period(period, "period", required=False)
    if claim is not None:
        msg.period.CopyFrom(claim)
    use.apply(msg)
    send_tx(opts, msg)


@tx.command("cancel")
@click.argument("batch_id")
@click.argument("amount")
@click.option("--reason", required=True, help="e.g. moved to another registry.")
@tx_options
def cancel(opts: TxOptions, batch_id: str, amount: str, reason: str) -> None:
    """Cancel AMOUNT tCO2e of BATCH_ID held by the signer."""
    send_tx(
        opts,
        ledger_pb2.Cancel(batch_id=batch_id, amount_grams=parse_amount_arg(amount), reason=reason),
    )


@tx.command("reversal")
@click.argument("batch_id")
@click.argument("amount")
@click.option("--loss-report", required=True, help="Hash of the anchored loss report.")
@click.option("--reason", required=True, help="e.g. forest fire.")
@tx_options
def reversal(opts: TxOptions, batch_id: str, amount: str, loss_report: str, reason: str) -> None:
    """Issuer: cancel AMOUNT tCO2e from BATCH_ID's buffer pool after a loss."""
    send_tx(
        opts,
        ledger_pb2.Reversal(
            batch_id=batch_id,
            amount_grams=parse_amount_arg(amount),
            loss_report_hash=_hash(loss_report, "loss report hash"),
            reason=reason,
        ),
    )


_ROLE_CHOICE = click.Choice(ROLES[1:])


@tx.command("grant-role")
@click.argument("address", shell_complete=complete_address_or_key)
@click.argument("role", type=_ROLE_CHOICE)
@tx_options
def grant_role(opts: TxOptions, address: str, role: str) -> None:
    """Governance: grant ROLE to ADDRESS (or @key; needs > 2/3 of the validators' signatures)."""
    send_tx(
        opts,
        ledger_pb2.GrantRole(
            address=parse_address_arg(address, opts.keystore), role=f"ROLE_{role.upper()}"
        ),
    )


@tx.command("revoke-role")
@click.argument("address", shell_complete=complete_address_or_key)
@click.argument("role", type=_ROLE_CHOICE)
@tx_options
def revoke_role(opts: TxOptions, address: str, role: str) -> None:
    """Governance: revoke ROLE from ADDRESS (or @key; needs > 2/3 of the validators'
    signatures)."""
    send_tx(
        opts,
        ledger_pb2.RevokeRole(
            address=parse_address_arg(address, opts.keystore), role=f"ROLE_{role.upper()}"
        ),
    )


@tx.command("appoint-issuer")
@click.argument("project_id")
@click.argument("issuer", shell_complete=complete_address_or_key)
@tx_options
def appoint_issuer(opts: TxOptions, project_id: str, issuer: str) -> None:
    """Governance: hand PROJECT_ID to the successor ISSUER (address or @key; needs > 2/3 of
    the validators)."""
    send_tx(
        opts,
        ledger_pb2.AppointIssuer(
            project_id=project_id, issuer=parse_address_arg(issuer, opts.keystore)
        ),
    )


@tx.command("sign")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--key", "-k", multiple=True, required=True, help="Keystore key that co-signs.",
    shell_complete=complete_key_name,
)  # fmt: skip
@keystore_option
@output_option
@reports_errors
def sign(file: Path, key: tuple[str, ...], keystore: Path, output: str) -> None:
    """Add signatures to a transaction FILE written with --out; says how many are still needed.

    A key the ledger would refuse on it (not the signer; for governance, no validator or operator
    of the set in the file) is refused before anything is signed or written (exit 3); so is a
    transaction with a field the ledger refuses on its own (exit 2, as when it is written).
    """
    cosign = read_cosign(file)
    envelope, body = cosign.envelope, cosign.body
    refuse_bad_fields(body)
    store = open_keystore(keystore)
    for name in key:
        refuse_unexpected_signer(cosign, name, store.info(name).address)
    secret = password()
    present = {s.public_key for s in envelope.signatures}
    message = tx_sign_bytes(body.chain_id, envelope.body)
    for name in key:
        k = store.load(name, secret)
        if k.public_key in present:
            raise CliError(f"key {name!r} has signed this transaction already", EXIT_USAGE)
        envelope.signatures.add(public_key=k.public_key, signature=k.sign(message))
    sort_signatures(envelope)  # nodes accept signatures in ascending key order only
    report_cosign(file, cosign, output, "signed")


@tx.command("broadcast")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@node_option
@output_option
@click.option("--no-wait", is_flag=True, help="Return once admitted; do not wait.")
@click.option("--no-simulate", is_flag=True, help="Submit without simulating first.")
@click.option("--timeout", default=30.0, show_default=True)
@reports_errors
def broadcast(
    file: Path, node: str, output: str, no_wait: bool, no_simulate: bool, timeout: float
) -> None:
    """Submit a signed transaction FILE.

    It is simulated first, as signed: one that would fail (too few validator signatures, a
    debit above the balance, a used nonce) is refused before it is sent and keeps its nonce.
    A used nonce is renewed with ``tx renew FILE``. A field the ledger refuses on its own is
    bad input (exit 2), with or without the simulation.
    """
    cosign = read_cosign(file)
    raw, body = cosign.raw(), cosign.body
    refuse_bad_fields(body)
    opts = TxOptions(node, Path(), (), None, None, None, "", no_wait, None, output, timeout,
                     no_simulate)  # fmt: skip
    with connect(node) as stub:
        client = LedgerClient(stub, timeout=timeout, chain_id=body.chain_id)
        if not no_simulate:
            with size_refusals_are_bad_input():
                reply = client.simulate(raw)
            signer_keys = [s.public_key for s in cosign.envelope.signatures]
            refuse_missing_signatures(body, signer_keys, reply.signing_validators)
            refuse_failed_simulation(reply, "sending", file)
        try:
            submit_tx(client, raw, opts)
        except grpc.RpcError as exc:
            code = dict(exc.trailing_metadata() or ()).get("ledger-error-code", "")
            if code not in USED_NONCE_CODES:
                raise
            refusal = rpc_error(exc).format_message()
            raise CliError(f"{refusal}; rebuild it with: carbon-ticket tx renew {file}") from exc


@tx.command("renew")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@node_option
@output_option
@reports_errors
def renew(file: Path, node: str, output: str) -> None:
    """Rebuild a co-signing FILE whose nonce got used: the signer's next nonce, no signatures.

    The old signatures covered the old nonce and are dropped: the file must be signed again
    (``tx sign``). The renewed transaction is simulated (unsigned) first.
    """
    cosign = read_cosign(file)
    refuse_bad_fields(cosign.body)
    draft = ledger_pb2.TxBody()
    draft.CopyFrom(cosign.body)
    draft.chain_id, draft.nonce = "", 0
    with connect(node) as stub, size_refusals_are_bad_input():
        reply = LedgerClient(stub).simulate(draft_envelope(draft))
    if cosign.body.chain_id and reply.chain_id != cosign.body.chain_id:
        raise CliError(
            f"{file} is for chain {cosign.body.chain_id!r}, the node serves {reply.chain_id!r} "
            "[wrong_chain_id]"
        )
    refuse_failed_simulation(reply, "renewing")
    draft.chain_id, draft.nonce = reply.chain_id, reply.nonce
    envelope = ledger_pb2.TxEnvelope(body=draft.SerializeToString(deterministic=True))
    members = members_of(reply.signing_validators) if cosign.kind in GOVERNANCE_KINDS else ()
    dropped = len(cosign.envelope.signatures)
    if chosen_output(output) != "json":
        click.echo(
            f"nonce {cosign.body.nonce} -> {reply.nonce}; {dropped} old signature(s) dropped: "
            f"sign it again with: carbon-ticket tx sign {file} -k KEY"
        )
    report_cosign(file, CosignFile(envelope, draft, members), output, "renewed")
