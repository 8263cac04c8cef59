"""What every ``tx`` command shares: its options, the simulation before signing, the pre-sign
refusals, signing, submitting and writing co-signing files (the commands are in cli/tx_cmds.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import click
import grpc

from carbon_ticket.chain.check import check_message
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.rules.registry import export_id
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.tx import tx_id
from carbon_ticket.cli import render
from carbon_ticket.cli.client import (
    GOVERNANCE_KINDS,
    MSG_FIELDS,
    LedgerClient,
    balance_shortfall,
    debits,
    draft_envelope,
    make_body,
    missing_signatures,
)
from carbon_ticket.cli.common import (
    EXIT_LEDGER,
    EXIT_PENDING,
    EXIT_USAGE,
    CliError,
    chosen_output,
    connect,
    emit,
    keystore_option,
    ledger_code,
    node_option,
    open_keystore,
    output_option,
    parse_address_arg,
    password,
    reports_errors,
)
from carbon_ticket.cli.completion import complete_address_or_key, complete_key_name
from carbon_ticket.cli.cosign import CosignFile, members_of, write_cosign
from carbon_ticket.cli.render import tco2e
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = [
    "SIZE_LIMIT_CODES",
    "USED_NONCE_CODES",
    "AfterCommit",
    "TxOptions",
    "load_keys",
    "not_committed",
    "refuse_bad_fields",
    "refuse_failed_simulation",
    "refuse_missing_signatures",
    "report_cosign",
    "send_tx",
    "sign_tx",
    "simulate_draft",
    "size_refusals_are_bad_input",
    "submission",
    "submit_tx",
    "tx_options",
    "tx_signer",
]

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
USED_NONCE_CODES = frozenset({"nonce_used", "wrong_nonce"})
# The size limits are chain parameters, which governance may change and only the node knows: the
# wallet runs the ledger's stateless checks with limits no field reaches and leaves sizes to the
# node, whose refusal of a field over a limit (chain/check_fields.py) has one of these codes.
_NO_SIZE_LIMIT = Limits(**{f.name: 2**63 - 1 for f in fields(Limits)})
SIZE_LIMIT_CODES = frozenset(
    {"field_too_long", "too_many_entries", "too_many_signatures", "tx_too_large"}
)


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
            shell_complete=complete_key_name,
        ),
        click.option(
            "--signer",
            help="Address (or @key) whose nonce the tx uses (default: first --key).",
            shell_complete=complete_address_or_key,
        ),
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


def load_keys(opts: TxOptions) -> list[PrivateKey]:
    store = open_keystore(opts.keystore)
    for name in opts.key:
        store.info(name)  # every key must exist before asking for the password
    secret = password()
    return [store.load(name, secret) for name in opts.key]


# Reads a command adds to its outcome once the transaction committed, e.g. the resident's points
# balance after an exchange: called with the client and the outcome, returns the fields to add.
AfterCommit = Callable[[LedgerClient, dict[str, Any]], dict[str, Any]]


def refuse_bad_fields(body: ledger_pb2.TxBody) -> None:
    """Run the ledger's own stateless checks of the message (``chain.check.check_message``, size
    limits aside) before anything is signed, written or sent: a field the node would refuse on
    its own is bad input, an InvalidTransaction with the ledger's message and code (exit 2 by
    ``reports_errors``), as a field the wallet checks itself; only what needs the ledger's
    state is left to the simulation (exit 3)."""
    check_message(body, _NO_SIZE_LIMIT)


@contextmanager
def size_refusals_are_bad_input() -> Iterator[None]:
    """Around a call that sends a transaction to the node (simulated or submitted): its refusal
    of a field over a size limit is bad input too (exit 2, its message and code), not exit 3."""
    try:
        yield
    except grpc.RpcError as exc:
        code = ledger_code(exc)
        if exc.code() == grpc.StatusCode.INVALID_ARGUMENT and code in SIZE_LIMIT_CODES:
            raise CliError(f"{exc.details()} [{code}]", EXIT_USAGE) from exc
        raise


def tx_signer(opts: TxOptions) -> str:
    """The address whose nonce the transaction uses: ``--signer``, else the first key's."""
    if opts.signer:
        return parse_address_arg(opts.signer, opts.keystore)
    return open_keystore(opts.keystore).info(opts.key[0]).address


def send_tx(opts: TxOptions, msg: Any, after_commit: AfterCommit | None = None) -> dict[str, Any]:
    """Sign ``msg`` and submit it (or write it to ``--out``); print and return the outcome.

    First the ledger's stateless checks of the message run here (``refuse_bad_fields``): a
    field they refuse is bad input (exit 2) and nothing is asked, signed or sent. By default one
    ``SimulateTx`` of the unsigned draft brings the chain id, the nonce and the ledger's verdict
    before anything is signed (a refusal exits 3 and uses no nonce). With ``--no-simulate``, one
    ``GetSigningInfo`` call brings chain id and nonce and the wallet's own cheaper checks run;
    none is made when ``--chain-id`` and ``--nonce`` are both given too. ``after_commit`` adds
    its fields to the outcome of a committed transaction.
    """
    signer = tx_signer(opts)
    refuse_bad_fields(make_body("", signer, 0, msg, opts.memo))
    keys = load_keys(opts)
    offline = opts.chain_id is not None and opts.nonce is not None
    if opts.no_simulate and offline and opts.out is not None:
        raw = _encode(opts.chain_id or "", signer, opts.nonce or 0, opts.memo, msg, keys)
        write_envelope(opts.out, raw, opts.output, ())
        return {}
    with connect(opts.node) as stub:
        client = LedgerClient(stub, timeout=opts.timeout, chain_id=opts.chain_id)
        raw, validators = sign_tx(client, opts, signer, msg, keys)
        if opts.out is not None:
            write_envelope(opts.out, raw, opts.output, validators)
            return {}
        return submit_tx(client, raw, opts, after_commit)


def sign_tx(
    client: LedgerClient,
    opts: TxOptions,
    signer: str,
    msg: Any,
    keys: list[PrivateKey],
    simulated: Any = None,
) -> tuple[bytes, tuple[Any, ...]]:
    """``msg`` signed with ``keys`` after the checks ``send_tx`` describes, and the validator
    set it was checked against; ``simulated``: the reply of ``simulate_draft`` already asked
    for ``msg`` (it is refused here when it failed, as one asked here would be)."""
    signer_keys = [k.public_key for k in keys]
    offline = opts.chain_id is not None and opts.nonce is not None
    if not opts.no_simulate:
        reply = simulated if simulated is not None else simulate_draft(client, opts, signer, msg)
        chain_id, nonce, validators = _signing_terms(reply, opts, signer, msg)
        if opts.out is None:
            refuse_missing_signatures(msg, signer_keys, validators)
    elif offline:
        chain_id, nonce, validators = opts.chain_id or "", opts.nonce or 0, ()
    else:
        info = client.signing_info(signer, list(debits(msg)))
        chain_id = opts.chain_id or info.chain_id
        nonce = opts.nonce if opts.nonce is not None else int(info.next_nonce)
        validators = tuple(info.signing_validators)
        _refuse_short_balance(debits(msg), info, signer)
        if opts.out is None:
            refuse_missing_signatures(msg, signer_keys, validators)
    return _encode(chain_id, signer, nonce, opts.memo, msg, keys), validators


def simulate_draft(
    client: LedgerClient, opts: TxOptions, signer: str, msg: Any
) -> services_pb2.SimulateTxResponse:
    """The node's simulation of ``msg`` unsigned, refused or not (``_signing_terms`` refuses).

    Without both ``--chain-id`` and ``--nonce`` the draft leaves them to the node; a ``--nonce``
    other than the one the node filled in is simulated once more, as given. A chain id other
    than ``--chain-id`` is refused (exit 3), a size over the chain's limits too (exit 2).
    """
    chain_id = opts.chain_id if opts.nonce is not None else None
    nonce = (opts.nonce or 0) if chain_id else 0
    body = make_body(chain_id or "", signer, nonce, msg, opts.memo)
    with size_refusals_are_bad_input():
        reply = client.simulate(draft_envelope(body))
    if opts.chain_id is not None and reply.chain_id != opts.chain_id:
        raise CliError(
            f"refused before signing: --chain-id {opts.chain_id!r} but the node serves "
            f"{reply.chain_id!r} [wrong_chain_id]",
            EXIT_LEDGER,
        )
    if opts.nonce is not None and reply.nonce != opts.nonce:
        body = make_body(reply.chain_id, signer, opts.nonce, msg, opts.memo)
        with size_refusals_are_bad_input():
            reply = client.simulate(draft_envelope(body))
    return reply


def _signing_terms(
    reply: services_pb2.SimulateTxResponse, opts: TxOptions, signer: str, msg: Any
) -> tuple[str, int, tuple[Any, ...]]:
    """The chain id, the nonce and the validator set to sign ``msg`` with, from its simulation;
    refused (exit 3) with the ledger's error when it would fail."""
    refuse_failed_simulation(reply)
    expected = tx_id(
        reply.chain_id,
        make_body(reply.chain_id, signer, reply.nonce, msg, opts.memo).SerializeToString(
            deterministic=True
        ),
    )
    if reply.receipt.tx_hash != expected:
        raise CliError("the node simulated another transaction than the one to sign")
    return reply.chain_id, int(reply.nonce), tuple(reply.signing_validators)


def refuse_failed_simulation(reply: Any, before: str = "signing", file: Path | None = None) -> None:
    """Refuse with the ledger's own code and message when the simulated receipt failed; for a
    co-signing ``file`` whose nonce is used, say how to renew it."""
    receipt = reply.receipt
    if receipt.code == 0:
        return
    hint = ""
    if file is not None and receipt.error_code in USED_NONCE_CODES:
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


def refuse_missing_signatures(msg: Any, signer_keys: list[bytes], validators: Any) -> None:
    """Refuse a governance transaction that carries too few validator signatures (the ledger
    would only say how many it carries; this also says how many more and how to add them)."""
    kind = _governance_kind(msg)
    if kind not in GOVERNANCE_KINDS:
        return
    missing, present = missing_signatures(signer_keys, validators)
    if missing:
        total = len(validators)
        raise CliError(
            f"refused before sending: {kind} needs the signatures of operators holding more than "
            f"2/3 of the power of the {total} validators; it carries those of {present}, "
            f"{missing} more needed (co-sign with: carbon-ticket tx sign FILE -k OPERATOR_KEY) "
            "[insufficient_validator_signatures]",
            EXIT_LEDGER,
        )


def _encode(
    chain_id: str, signer: str, nonce: int, memo: str, msg: Any, keys: list[PrivateKey]
) -> bytes:
    from carbon_ticket.chain.tx import encode_tx

    return encode_tx(make_body(chain_id, signer, nonce, msg, memo), keys)


def _known_ids(raw: bytes) -> dict[str, str]:
    """The tx id, and for a retirement the certificate id, known before submitting."""
    envelope = ledger_pb2.TxEnvelope.FromString(raw)
    body = ledger_pb2.TxBody.FromString(envelope.body)
    digest = tx_id(body.chain_id, envelope.body)
    ids = {"tx_hash": digest.hex()}
    if body.WhichOneof("msg") == "retire":
        ids["certificate_id"] = certificate_id(digest)
    if body.WhichOneof("msg") == "export":
        ids["export_id"] = export_id(digest)
    return ids


def submit_tx(
    client: LedgerClient, raw: bytes, opts: TxOptions, after_commit: AfterCommit | None = None
) -> dict[str, Any]:
    data = submission(client, raw, opts, after_commit)
    emit(data, opts.output)
    if not opts.no_wait and not data["committed"]:
        raise not_committed(data, opts)
    return data


def submission(
    client: LedgerClient, raw: bytes, opts: TxOptions, after_commit: AfterCommit | None = None
) -> dict[str, Any]:
    """Submit ``raw`` (waiting for its commit unless ``--no-wait``); its outcome, not shown."""
    ids = _known_ids(raw)
    with size_refusals_are_bad_input():
        reply = client.submit(raw, wait=not opts.no_wait)
    if reply.tx_hash.hex() != ids["tx_hash"]:
        raise CliError(f"the node answered with tx id {reply.tx_hash.hex()}, not {ids['tx_hash']}")
    data = {**ids, **render.submitted(reply)}
    if after_commit is not None and reply.committed and reply.receipt.code == 0:
        data.update(after_commit(client, data))
    return data


def not_committed(data: dict[str, Any], opts: TxOptions) -> CliError:
    """The refusal (exit 6) of a transaction admitted but not committed within the wait."""
    certificate = f" (certificate {data['certificate_id']})" if "certificate_id" in data else ""
    return CliError(
        f"tx {data['tx_hash']}{certificate} was admitted but not committed within "
        f"{opts.timeout:g}s; check later with: carbon-ticket query tx {data['tx_hash']}",
        EXIT_PENDING,
    )


def write_envelope(path: Path, raw: bytes, output: str, validators: Any) -> None:
    """Write the co-signing file and say what was written and how many signatures (from whom)
    it still needs."""
    envelope = ledger_pb2.TxEnvelope.FromString(raw)
    body = ledger_pb2.TxBody.FromString(envelope.body)
    kind = body.WhichOneof("msg") or ""
    members = members_of(validators) if kind in GOVERNANCE_KINDS else ()
    report_cosign(path, CosignFile(envelope, body, members), output, "wrote")


def report_cosign(path: Path, cosign: CosignFile, output: str, verb: str) -> None:
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
