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
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import grpc

from chain.crypto import PrivateKey
from chain.records import ACCOUNT_KINDS, PROJECT_KINDS, ROLES
from chain.rules.tickets import certificate_id
from chain.tx import sort_signatures, tx_id, tx_sign_bytes
from cli import render
from cli.client import (
    GOVERNANCE_KINDS,
    MSG_FIELDS,
    LedgerClient,
    balance_shortfall,
    debits,
    draft_envelope,
    make_body,
    missing_signatures,
)
from cli.common import (
    EXIT_LEDGER,
    EXIT_PENDING,
    EXIT_USAGE,
    CliError,
    chosen_output,
    connect,
    emit,
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
from cli.cosign import CosignFile, members_of, read_cosign, write_cosign
from cli.render import tco2e
from proto import ledger_pb2

__all__ = ["tx"]

_TX_OPTION_NAMES = (
    "node",
    "keystore",
    "key",
    "signer",
    "nonce",
    "chain_id",
    "memo",
    "no_wait",
    "out",
    "output",
    "timeout",
    "no_simulate",
)
# Ledger codes saying a transaction's nonce is spent: a co-signing file then needs ``tx renew``.
_USED_NONCE_CODES = frozenset({"nonce_used", "wrong_nonce"})
_PERIOD_RE = re.compile(r"([0-9]{8})-([0-9]{8})")


@dataclass(frozen=True, slots=True)
class TxOptions:
    """The options every transaction command shares."""

    node: str
    keystore: Path
    key: tuple[str, ...]
    signer: str | None
    nonce: int | None
    chain_id: str | None
    memo: str
    no_wait: bool
    out: Path | None
    output: str
    timeout: float
    no_simulate: bool


def tx_options(func: Callable[..., None]) -> Callable[..., None]:
    """Add the shared options; the command receives them as ``opts: TxOptions``."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        shared = {name: kwargs.pop(name) for name in _TX_OPTION_NAMES}
        func(opts=TxOptions(**shared), **kwargs)

    options = [
        node_option,
        keystore_option,
        click.option(
            "--key",
            "-k",
            multiple=True,
            required=True,
            help="Keystore key that signs (repeat to co-sign); the first pays the nonce.",
        ),
        click.option("--signer", help="Address whose nonce the tx uses (default: first --key)."),
        click.option(
            "--nonce",
            type=click.IntRange(min=0),
            help="Nonce to use (default: asked from the node).",
        ),
        click.option("--chain-id", help="Chain id (default: asked from the node)."),
        click.option("--memo", default="", help="Free text stored with the transaction."),
        click.option("--no-wait", is_flag=True, help="Return once admitted; do not wait."),
        click.option(
            "--out",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Write the signed tx to FILE instead of submitting (for co-signing).",
        ),
        output_option,
        click.option(
            "--timeout", default=30.0, show_default=True, help="Seconds to wait for the commit."
        ),
        click.option(
            "--no-simulate",
            is_flag=True,
            help="Do not ask the node to simulate the tx before signing it.",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return reports_errors(wrapper)


def _load_keys(opts: TxOptions) -> list[PrivateKey]:
    store = open_keystore(opts.keystore)
    for name in opts.key:
        store.info(name)  # every key must exist before asking for the password
    secret = password()
    return [store.load(name, secret) for name in opts.key]


def _send(opts: TxOptions, msg: Any) -> dict[str, Any]:
    """Sign ``msg`` and submit it (or write it to ``--out``); print and return the outcome.

    By default one ``SimulateTx`` of the unsigned draft brings the chain id, the nonce and the
    ledger's verdict before anything is signed (a refusal exits 3 and uses no nonce). With
    ``--no-simulate``, one ``GetSigningInfo`` call brings chain id and nonce and the wallet's own
    cheaper checks run; none is made when ``--chain-id`` and ``--nonce`` are both given too.
    """
    keys = _load_keys(opts)
    signer = parse_address_arg(opts.signer, opts.keystore) if opts.signer else keys[0].address
    offline = opts.chain_id is not None and opts.nonce is not None
    if opts.no_simulate and offline and opts.out is not None:
        raw = _encode(opts.chain_id or "", signer, opts.nonce or 0, opts.memo, msg, keys)
        _write_envelope(opts.out, raw, opts.output, ())
        return {}
    with connect(opts.node) as stub:
        client = LedgerClient(stub, timeout=opts.timeout, chain_id=opts.chain_id)
        signer_keys = [k.public_key for k in keys]
        if not opts.no_simulate:
            chain_id, nonce, validators = _simulate_draft(client, opts, signer, msg)
            if opts.out is None:
                _refuse_missing_signatures(msg, signer_keys, validators)
        elif offline:
            chain_id, nonce, validators = opts.chain_id or "", opts.nonce or 0, ()
        else:
            info = client.signing_info(signer, list(debits(msg)))
            chain_id = opts.chain_id or info.chain_id
            nonce = opts.nonce if opts.nonce is not None else int(info.next_nonce)
            validators = tuple(info.signing_validators)
            _refuse_short_balance(debits(msg), info, signer)
            if opts.out is None:
                _refuse_missing_signatures(msg, signer_keys, validators)
        raw = _encode(chain_id, signer, nonce, opts.memo, msg, keys)
        if opts.out is not None:
            _write_envelope(opts.out, raw, opts.output, validators)
            return {}
        return _submit(client, raw, opts)


def _simulate_draft(
    client: LedgerClient, opts: TxOptions, signer: str, msg: Any
) -> tuple[str, int, tuple[Any, ...]]:
    """Simulate ``msg`` unsigned; refuse (exit 3) with the ledger's error when it would fail.

    Returns the chain id, the nonce and the validator set to sign with. Without both
    ``--chain-id`` and ``--nonce`` the draft leaves them to the node; a ``--nonce`` other than
    the one the node filled in is simulated once more, as given.
    """
    chain_id = opts.chain_id if opts.nonce is not None else None
    nonce = (opts.nonce or 0) if chain_id else 0
    body = make_body(chain_id or "", signer, nonce, msg, opts.memo)
    reply = client.simulate(draft_envelope(body))
    if opts.chain_id is not None and reply.chain_id != opts.chain_id:
        raise CliError(
            f"refused before signing: --chain-id {opts.chain_id!r} but the node serves "
            f"{reply.chain_id!r} [wrong_chain_id]",
            EXIT_LEDGER,
        )
    if opts.nonce is not None and reply.nonce != opts.nonce:
        body = make_body(reply.chain_id, signer, opts.nonce, msg, opts.memo)
        reply = client.simulate(draft_envelope(body))
    _refuse_failed_simulation(reply)
    expected = tx_id(
        reply.chain_id,
        make_body(reply.chain_id, signer, reply.nonce, msg, opts.memo).SerializeToString(
            deterministic=True
        ),
    )
    if reply.receipt.tx_hash != expected:
        raise CliError("the node simulated another transaction than the one to sign")
    return reply.chain_id, int(reply.nonce), tuple(reply.signing_validators)


def _refuse_failed_simulation(
    reply: Any, before: str = "signing", file: Path | None = None
) -> None:
    """Refuse with the ledger's own code and message when the simulated receipt failed; for a
    co-signing ``file`` whose nonce is used, say how to renew it."""
    receipt = reply.receipt
    if receipt.code == 0:
        return
    hint = ""
    if file is not None and receipt.error_code in _USED_NONCE_CODES:
        hint = f"; rebuild it with: carbon-ticket tx renew {file}"
    raise CliError(
        f"refused before {before}: {receipt.message} [{receipt.error_code}]{hint}", EXIT_LEDGER
    )


def _refuse_short_balance(needed: dict[str, int], info: Any, signer: str) -> None:
    """Refuse, before signing, a debit larger than the signer's committed tradable balance."""
    short = balance_shortfall(needed, info)
    if short is not None:
        raise CliError(
            f"refused before signing: {signer} holds {tco2e(short.held_grams)} of "
            f"{short.batch_id}, the transaction takes {tco2e(short.needed_grams)} "
            "[insufficient_balance]",
            EXIT_LEDGER,
        )


def _governance_kind(body_or_msg: Any) -> str:
    if isinstance(body_or_msg, ledger_pb2.TxBody):
        return body_or_msg.WhichOneof("msg") or ""
    return MSG_FIELDS.get(type(body_or_msg).__name__, "")


def _refuse_missing_signatures(msg: Any, signer_keys: list[bytes], validators: Any) -> None:
    """Refuse a governance transaction that carries too few validator signatures (the ledger
    would only say how many it carries; this also says how many more and how to add them)."""
    kind = _governance_kind(msg)
    if kind not in GOVERNANCE_KINDS:
        return
    missing, present = missing_signatures(signer_keys, validators)
    if missing:
        total = len(validators)
        raise CliError(
            f"refused before sending: {kind} needs signatures of more than 2/3 of the {total} "
            f"validators; it carries {present}, {missing} more needed (co-sign with: carbon-ticket "
            "tx sign FILE -k VALIDATOR_KEY) [insufficient_validator_signatures]",
            EXIT_LEDGER,
        )


def _encode(
    chain_id: str, signer: str, nonce: int, memo: str, msg: Any, keys: list[PrivateKey]
) -> bytes:
    from chain.tx import encode_tx

    return encode_tx(make_body(chain_id, signer, nonce, msg, memo), keys)


def _known_ids(raw: bytes) -> dict[str, str]:
    """The tx id, and for a retirement the certificate id, known before submitting."""
    envelope = ledger_pb2.TxEnvelope.FromString(raw)
    body = ledger_pb2.TxBody.FromString(envelope.body)
    digest = tx_id(body.chain_id, envelope.body)
    ids = {"tx_hash": digest.hex()}
    if body.WhichOneof("msg") == "retire":
        ids["certificate_id"] = certificate_id(digest)
    return ids


def _submit(client: LedgerClient, raw: bytes, opts: TxOptions) -> dict[str, Any]:
    ids = _known_ids(raw)
    reply = client.submit(raw, wait=not opts.no_wait)
    if reply.tx_hash.hex() != ids["tx_hash"]:
        raise CliError(f"the node answered with tx id {reply.tx_hash.hex()}, not {ids['tx_hash']}")
    data = {**ids, **render.submitted(reply)}
    emit(data, opts.output)
    if not opts.no_wait and not reply.committed:
        certificate = f" (certificate {ids['certificate_id']})" if "certificate_id" in ids else ""
        raise CliError(
            f"tx {reply.tx_hash.hex()}{certificate} was admitted but not committed within "
            f"{opts.timeout:g}s; check later with: carbon-ticket query tx {reply.tx_hash.hex()}",
            EXIT_PENDING,
        )
    return data


def _write_envelope(path: Path, raw: bytes, output: str, validators: Any) -> None:
    """Write the co-signing file and say what was written and how many signatures (from whom)
    it still needs."""
    envelope = ledger_pb2.TxEnvelope.FromString(raw)
    body = ledger_pb2.TxBody.FromString(envelope.body)
    kind = body.WhichOneof("msg") or ""
    members = members_of(validators) if kind in GOVERNANCE_KINDS else ()
    _report_cosign(path, CosignFile(envelope, body, members), output, "wrote")


def _report_cosign(path: Path, cosign: CosignFile, output: str, verb: str) -> None:
    report = {"file": str(path), **write_cosign(path, cosign)}
    if chosen_output(output) == "json":
        emit(report, output)
        return
    needed = report["signatures_needed"]
    who = ", ".join(a["name"] for a in report["awaiting"])
    if needed is None:
        status = "validator signatures needed: more than 2/3 of the set"
    elif needed == 0:
        status = "ready to broadcast"
    elif cosign.kind in GOVERNANCE_KINDS:
        status = f"{needed} more validator signature(s) needed, from: {who}"
    else:
        status = f"{needed} more signature(s) needed, from the signer {cosign.body.signer}"
    click.echo(
        f"{verb} {cosign.kind} tx (nonce {cosign.body.nonce}) with "
        f"{len(cosign.envelope.signatures)} signature(s) to {path}; {status}"
    )


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
@click.argument("address")
@click.option("--kind", type=click.Choice(ACCOUNT_KINDS[1:]), default="company", show_default=True)
@click.option("--name", required=True, help="Name of the company or person.")
@tx_options
def register_account(opts: TxOptions, address: str, kind: str, name: str) -> None:
    """Registrar: open ADDRESS (or @key) so it may hold tickets."""
    msg = ledger_pb2.RegisterAccount(
        address=parse_address_arg(address, opts.keystore),
        kind=ACCOUNT_KINDS.index(kind),  # type: ignore[arg-type]
        name=name,
    )
    _send(opts, msg)


@tx.command("register-project")
@click.argument("project_id")
@click.option("--name", required=True)
@click.option("--region", required=True, help="ISO 3166-2 code, e.g. CN-15.")
@click.option("--kind", type=click.Choice(PROJECT_KINDS[1:]), default="forest", show_default=True)
@click.option("--area-ha", required=True, help="Area in hectares, e.g. 1500 or 12.25.")
@click.option("--methodology", required=True)
@click.option("--owner", required=True, help="Owner address (or @key).")
@click.option("--metadata-uri", required=True)
@click.option("--metadata-hash", help="SHA-256 of the project document, hex.")
@click.option(
    "--metadata-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Project document to hash instead of --metadata-hash.",
)
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
    _send(opts, msg)


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
    _send(opts, msg)


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
    _send(opts, msg)


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
@click.option("--recipient", required=True, help="Address (or @key) receiving the tradable part.")
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
    _send(opts, msg)


@tx.command("transfer")
@click.option("--to", help="Recipient address (or @key).")
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
    _send(opts, msg)


@tx.command("retire")
@click.argument("batch_id")
@click.argument("amount")
@click.option("--beneficiary", required=True, help="On whose behalf the tickets are retired.")
@click.option("--reason", required=True)
@click.option("--jurisdiction", default="CN", show_default=True, help="ISO 3166 code of the claim.")
@click.option("--event", "event_name", default="", help="e.g. 14th National Winter Games.")
@click.option("--period", help="Period of the offset claim, YYYYMMDD-YYYYMMDD.")
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
    _send(opts, msg)


@tx.command("cancel")
@click.argument("batch_id")
@click.argument("amount")
@click.option("--reason", required=True, help="e.g. moved to another registry.")
@tx_options
def cancel(opts: TxOptions, batch_id: str, amount: str, reason: str) -> None:
    """Cancel AMOUNT tCO2e of BATCH_ID held by the signer."""
    _send(
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
    _send(
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
@click.argument("address")
@click.argument("role", type=_ROLE_CHOICE)
@tx_options
def grant_role(opts: TxOptions, address: str, role: str) -> None:
    """Governance: grant ROLE to ADDRESS (needs > 2/3 of the validators' signatures)."""
    _send(
        opts,
        ledger_pb2.GrantRole(
            address=parse_address_arg(address, opts.keystore), role=f"ROLE_{role.upper()}"
        ),
    )


@tx.command("revoke-role")
@click.argument("address")
@click.argument("role", type=_ROLE_CHOICE)
@tx_options
def revoke_role(opts: TxOptions, address: str, role: str) -> None:
    """Governance: revoke ROLE from ADDRESS (needs > 2/3 of the validators' signatures)."""
    _send(
        opts,
        ledger_pb2.RevokeRole(
            address=parse_address_arg(address, opts.keystore), role=f"ROLE_{role.upper()}"
        ),
    )


@tx.command("appoint-issuer")
@click.argument("project_id")
@click.argument("issuer")
@tx_options
def appoint_issuer(opts: TxOptions, project_id: str, issuer: str) -> None:
    """Governance: hand PROJECT_ID to the successor ISSUER (needs > 2/3 of the validators)."""
    _send(
        opts,
        ledger_pb2.AppointIssuer(
            project_id=project_id, issuer=parse_address_arg(issuer, opts.keystore)
        ),
    )


@tx.command("sign")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--key", "-k", multiple=True, required=True, help="Keystore key that co-signs.")
@keystore_option
@output_option
@reports_errors
def sign(file: Path, key: tuple[str, ...], keystore: Path, output: str) -> None:
    """Add signatures to a transaction FILE written with --out; says how many are still needed."""
    cosign = read_cosign(file)
    envelope, body = cosign.envelope, cosign.body
    store = open_keystore(keystore)
    for name in key:
        store.info(name)
    secret = password()
    present = {s.public_key for s in envelope.signatures}
    message = tx_sign_bytes(body.chain_id, envelope.body)
    for name in key:
        k = store.load(name, secret)
        if k.public_key in present:
            raise CliError(f"key {name!r} has signed this transaction already", EXIT_USAGE)
        envelope.signatures.add(public_key=k.public_key, signature=k.sign(message))
    sort_signatures(envelope)  # nodes accept signatures in ascending key order only
    _report_cosign(file, cosign, output, "signed")


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
    A used nonce is renewed with ``tx renew FILE``.
    """
    cosign = read_cosign(file)
    raw, body = cosign.raw(), cosign.body
    opts = TxOptions(node, Path(), (), None, None, None, "", no_wait, None, output, timeout,
                     no_simulate)  # fmt: skip
    with connect(node) as stub:
        client = LedgerClient(stub, timeout=timeout, chain_id=body.chain_id)
        if not no_simulate:
            reply = client.simulate(raw)
            signer_keys = [s.public_key for s in cosign.envelope.signatures]
            _refuse_missing_signatures(body, signer_keys, reply.signing_validators)
            _refuse_failed_simulation(reply, "sending", file)
        try:
            _submit(client, raw, opts)
        except grpc.RpcError as exc:
            code = dict(exc.trailing_metadata() or ()).get("ledger-error-code", "")
            if code not in _USED_NONCE_CODES:
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
    draft = ledger_pb2.TxBody()
    draft.CopyFrom(cosign.body)
    draft.chain_id, draft.nonce = "", 0
    with connect(node) as stub:
        reply = LedgerClient(stub).simulate(draft_envelope(draft))
    if cosign.body.chain_id and reply.chain_id != cosign.body.chain_id:
        raise CliError(
            f"{file} is for chain {cosign.body.chain_id!r}, the node serves {reply.chain_id!r} "
            "[wrong_chain_id]"
        )
    _refuse_failed_simulation(reply, "renewing")
    draft.chain_id, draft.nonce = reply.chain_id, reply.nonce
    envelope = ledger_pb2.TxEnvelope(body=draft.SerializeToString(deterministic=True))
    members = members_of(reply.signing_validators) if cosign.kind in GOVERNANCE_KINDS else ()
    dropped = len(cosign.envelope.signatures)
    if chosen_output(output) != "json":
        click.echo(
            f"nonce {cosign.body.nonce} -> {reply.nonce}; {dropped} old signature(s) dropped: "
            f"sign it again with: carbon-ticket tx sign {file} -k KEY"
        )
    _report_cosign(file, CosignFile(envelope, draft, members), output, "renewed")
