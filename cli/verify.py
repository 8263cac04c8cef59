"""Offline verification of a retirement certificate bundle: ``carbon-ticket verify``.

A bundle (written by ``carbon-ticket query certificate RC-... --proof --out cert.json``) holds a
certificate record, the Retire transaction and its receipt with their inclusion proofs, the
block header, the commit certificate of that height, the validator set of that height, and the
chain of validator set changes from genesis to it. ``verify_bundle`` checks it against a genesis
document the auditor trusts, from the genesis validators' public keys down:

1. the genesis is the one the bundle names;
2. the chain of set changes leads from the genesis set to the set of the certificate's height:
   each change is a header, signed (its commit certificate) by the set the changes before it
   lead to and naming that set as its own, whose ``next_validators_hash`` is the hash of the
   new set listed beside it; the bundle's validator set is where the chain ends;
3. the header names that validator set and more than 2/3 of its power signed precommits for it;
4. the transaction is a validly signed transaction that makes a certificate (a Retire, the
   ConfirmPayment of a market purchase that retires on delivery, or a Redeem paid in tickets)
   whose id is in the header's ``tx_root``;
5. its receipt (success, with the retire event) is in the header's ``results_root``;
6. every field of the certificate record follows from the signed transaction, the receipt and
   the header, built as the ledger rules build it (``_terms_of``).

It needs no node and no network: this module imports neither ``node`` nor ``grpc`` (a test
asserts it), only the ledger and consensus rules, so other systems can embed it. Any failure is
one ``BundleError`` line saying what did not hold. JSON formatting and key order do not matter;
an unknown or missing field does. A text from the documents is shown in the line as ``quoted``
writes it, character for character as the explorer's verifier (cli/explorer/static/verify.js)
writes the same refusal.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from carbon_ticket.chain.amounts import format_tco2e
from carbon_ticket.chain.block import Header, verify_receipt_proof, verify_tx_id_proof
from carbon_ticket.chain.errors import InvalidBlock, InvalidGenesis, InvalidTransaction, LedgerError
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.chain.jsontext import parse_json
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.merkle import MerkleProof
from carbon_ticket.chain.records import RETIREMENT_USES
from carbon_ticket.chain.results import Event, TxResult
from carbon_ticket.chain.rules.merchants import REDEMPTION_REASON, redemption_event
from carbon_ticket.chain.rules.tickets import RetirementClaim, certificate_id
from carbon_ticket.chain.tx import SignedTx, decode_tx
from carbon_ticket.consensus.certificate import verify_certificate
from carbon_ticket.consensus.errors import InvalidCertificate, InvalidValidatorSet
from carbon_ticket.consensus.types import CommitCertificate, Validator, ValidatorSet, Vote, VoteType

__all__ = [
    "BUNDLE_FORMAT",
    "BundleError",
    "Proven",
    "UnusableFile",
    "follow_set_changes",
    "genesis_set",
    "quoted",
    "verify",
    "verify_bundle",
]

BUNDLE_FORMAT = "carbon-ticket/certificate-proof/v2"
# The CLI's exit codes (cli/common.py's EXIT_FAILED and EXIT_USAGE; not imported from there, as
# common imports grpc): the bundle does not prove its certificate / a file cannot be used at all.
EXIT_INVALID = 1
EXIT_UNUSABLE_FILE = 2

_TOP = {"format", "chain_id", "genesis_hash", "validators", "set_changes", "certificate", "tx",
        "receipt", "header", "commit"}  # fmt: skip
_CHANGE = {"header", "commit", "validators"}
_CERTIFICATE = {"certificate_id", "batch_id", "project_id", "vintage", "amount_grams",
                "beneficiary", "reason", "jurisdiction", "event", "account", "period", "height",
                "time_ms", "tx_hash"}  # fmt: skip
_HEADER_HASHES = ("prev_hash", "tx_root", "results_root", "envelopes_root", "app_hash", "proposer",
                  "validators_hash", "next_validators_hash")  # fmt: skip
_U64 = 2**64
# Receipts (chain/results.py) and validator sets (consensus ValidatorSet.canonical_bytes) are
# hashed with u16 lengths and counts, and u32 attribute value lengths.
_U16_MAX = 2**16 - 1
_U32_MAX = 2**32 - 1
# The size limits a proven transaction is decoded under: none. The node admitted it under the
# limits in force at its height, which governance may have raised since genesis (ChangeParams),
# and the proofs, not a limit, vouch for it; the genesis limits would refuse a valid certificate.
_NO_LIMITS = Limits(**{f.name: _U64 - 1 for f in fields(Limits)})
# The transactions whose success makes a retirement certificate (chain/ record_retirement).
CERTIFYING_KINDS = ("retire", "confirm_payment", "redeem")


class BundleError(LedgerError):
    """The bundle does not prove its certificate; the message says what failed, in one line."""

    default_code = "bad_bundle"


class UnusableFile(LedgerError):
    """A file ``verify`` was given cannot be read, or is no genesis or JSON at all: bad input
    (exit 2), not a bundle that fails to prove (exit 1). The message names the file."""

    default_code = "unusable_file"


@dataclass(frozen=True, slots=True)
class Proven:
    """What a verified bundle proves."""

    certificate: Mapping[str, Any]
    height: int
    block_hash: bytes
    signers: tuple[str, ...]  # names of the validators whose precommits verified
    signed_power: int
    total_power: int
    set_changes: int = 0  # validator set changes followed from genesis to ``height``

    def lines(self) -> list[str]:
        """A human-readable account of what was proven."""
        c = self.certificate
        out = [
            f"certificate {c['certificate_id']} is valid",
            f"  {c['account']} retired {format_tco2e(c['amount_grams'])} tCO2e "
            f"of batch {c['batch_id']} (project {c['project_id']}, vintage {c['vintage']})",
            f"  for {c['beneficiary']}: {c['reason']}",
            f"  jurisdiction {c['jurisdiction']}"
            + (f", event {c['event']}" if c["event"] else "")
            + (f", claim period {c['period']}" if c["period"] else ""),
            f"  use: {_use_text(c)}",
            *([f"  serial {c['serial']}"] if c.get("serial") else []),
            f"  at height {self.height}, {_when(c['time_ms'])}, in block {self.block_hash.hex()}",
            f"  tx {c['tx_hash']}",
            f"  signed by {self.signed_power} of {self.total_power} voting power: "
            + ", ".join(self.signers),
        ]
        if self.set_changes:
            out.append(f"  by the validator set reached from the genesis set through "
                       f"{self.set_changes} signed set changes")  # fmt: skip
        return out


def _when(time_ms: int) -> str:
    """A block time as a person reads it; the header may hold any u64, beyond the calendar."""
    try:
        return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (ValueError, OverflowError, OSError):
        return f"time_ms {time_ms} (after 9999)"


# ---------------------------------------------------------------- texts in a refusal

# Characters that are invisible or steer the terminal: DEL and the C1 controls, zero-width and
# direction marks, the line and paragraph separators, the word joiners and invisible operators,
# the BOM. A listed range, not str.isprintable: the explorer's verifier must escape exactly the
# same characters, and Python and the browser know different Unicode versions.
_HIDDEN = re.compile(r"[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def quoted(text: str) -> str:
    """``text`` in a refusal, as verify.js's ``quoted`` writes it: a JSON string as
    JSON.stringify writes one (double quotes; a quote, a backslash and the C0 controls escaped),
    the ``_HIDDEN`` characters escaped as well, so a name from a bundle can neither hide nor
    reorder what the line says. Other characters (CJK, accents) are shown as they are."""
    return _HIDDEN.sub(lambda m: f"\\u{ord(m[0]):04x}", json.dumps(text, ensure_ascii=False))


def _shown(value: Any) -> str:
    """A value of a bundle in a refusal: a text ``quoted``, an integer in decimal, anything else
    by its JSON kind (a float's digits are written differently by Python and JavaScript)."""
    if isinstance(value, str):
        return quoted(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    return {float: "a number with a fraction or exponent", list: "a list"}.get(
        type(value), "an object"
    )


# ---------------------------------------------------------------- strict JSON reading


def _object(value: Any, what: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BundleError(f"{what} must be a JSON object")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise BundleError(f"{what} has unknown field {quoted(unknown[0])}")
    missing = sorted(keys - set(value))
    if missing:
        raise BundleError(f"{what} lacks field {quoted(missing[0])}")
    return value


def _int(value: Any, what: str, limit: int = _U64) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise BundleError(f"{what} must be an integer from 0 to {limit - 1}")
    return value


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BundleError(f"{what} must be a string")
    return value


def _hex(value: Any, what: str, size: int | None = 32) -> bytes:
    try:
        raw = bytes.fromhex(_str(value, what))
    except ValueError as exc:
        raise BundleError(f"{what} is not hex") from exc
    if size is not None and len(raw) != size:
        raise BundleError(f"{what} must be {size} bytes, got {len(raw)}")
    return raw


def _list(value: Any, what: str, limit: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise BundleError(f"{what} must be a JSON list")
    if limit is not None and len(value) > limit:
        raise BundleError(f"{what} has {len(value)} items; its hash counts at most {limit}")
    return value


def _text(value: Any, what: str, limit: int = _U16_MAX) -> str:
    """A string whose UTF-8 length its hash writes in 16 bits (or ``limit``)."""
    text = _str(value, what)
    if len(text.encode()) > limit:
        raise BundleError(f"{what} is longer than {limit} bytes, more than its hash encodes")
    return text


def _path(value: Any, what: str) -> tuple[bytes, ...]:
    return tuple(_hex(v, f"{what}[{i}]") for i, v in enumerate(_list(value, what)))


# ---------------------------------------------------------------- the checks


def _check_genesis(bundle: dict[str, Any], genesis: Genesis) -> None:
    # Verify the bundle comes from this genesis.
    if _hex(bundle["genesis_hash"], "genesis_hash") != genesis.hash():
        raise BundleError(
            f"wrong genesis: the bundle is for genesis {bundle['genesis_hash'][:16]}..., the "
            f"given genesis hashes to {genesis.hash().hex()[:16]}..."
        )
    if _str(bundle["chain_id"], "chain_id") != genesis.chain_id:
        raise BundleError(
            f"the bundle is for chain {quoted(bundle['chain_id'])}, not {quoted(genesis.chain_id)}"
        )


def genesis_set(genesis: Genesis) -> ValidatorSet:
    """The consensus validator set of height 1, from the trusted genesis."""
    return ValidatorSet(tuple(Validator(v.name, v.public_key, v.power) for v in genesis.validators))


def _listed_set(value: Any, what: str) -> ValidatorSet:
    listed = []
    for i, item in enumerate(_list(value, what)):
        v = _object(item, f"{what}[{i}]", {"name", "public_key", "power"})
        listed.append(
            Validator(
                _text(v["name"], f"{what}[{i}] name"),
                _hex(v["public_key"], f"{what}[{i}] public_key"),
                _int(v["power"], f"{what}[{i}] power"),
            )
        )
    try:
        return ValidatorSet(tuple(listed))
    except InvalidValidatorSet as exc:
        raise BundleError(f"{what}: {exc}") from exc


def follow_set_changes(
    chain_id: str, start: ValidatorSet, changes: Any, below: int
) -> ValidatorSet:
    """The set reached from ``start`` through the bundle's ``set_changes``, each checked.

    Each change is a header of a height below ``below``, above the change before it, that names
    the current set as its own, is signed by more than 2/3 of that set's power, and names the
    listed new set, another one, as the next one; the new set is in effect from the following
    height on.
    """
    current, last = start, 0
    for i, item in enumerate(_list(changes, "set_changes")):
        what = f"set_changes[{i}]"
        change = _object(item, what, _CHANGE)
        header = _header(change["header"], f"{what} header")
        # Verify the change is of this chain, in order, and before the certificate.
        if header.chain_id != chain_id:
            raise BundleError(f"{what}: the header is for chain {quoted(header.chain_id)}")
        if not last < header.height < below:
            raise BundleError(
                f"{what}: height {header.height} is not after the change before it ({last}) "
                f"and before the certificate's block ({below})"
            )
        # Verify it is a change at all: another header would only add to the count shown.
        if header.next_validators_hash == header.validators_hash:
            raise BundleError(f"{what}: the header of height {header.height} names no new "
                              "validator set (its next set is its own)")  # fmt: skip
        # Verify the set reached so far signed it, and it names the new set as the next one.
        if header.validators_hash != current.hash():
            raise BundleError(f"{what}: the header of height {header.height} names another "
                              "validator set than the chain of changes reaches there")  # fmt: skip
        _commit(change["commit"], header, current, f"{what} commit")
        new = _listed_set(change["validators"], f"{what} validators")
        if new.hash() != header.next_validators_hash:
            raise BundleError(f"{what}: the listed validators are not the set the header of "
                              f"height {header.height} names as the next one")  # fmt: skip
        current, last = new, header.height
    return current


def _validator_set(bundle: dict[str, Any], genesis: Genesis, height: int) -> ValidatorSet:
    # Verify the chain of set changes from genesis leads to the bundle's validator set.
    reached = follow_set_changes(genesis.chain_id, genesis_set(genesis), bundle["set_changes"],
                                 height)  # fmt: skip
    listed = _listed_set(bundle["validators"], "validators")
    if listed.validators != reached.validators:
        raise BundleError(
            "the bundle's validator set is not the one the genesis set and the chain of set "
            "changes lead to"
        )
    return reached


def _header(value: Any, what: str = "header") -> Header:
    h = _object(value, what, {"chain_id", "height", "time_ms", "tx_count", *_HEADER_HASHES})
    try:
        return Header(
            chain_id=_str(h["chain_id"], f"{what} chain_id"),
            height=_int(h["height"], f"{what} height"),
            time_ms=_int(h["time_ms"], f"{what} time_ms"),
            tx_count=_int(h["tx_count"], f"{what} tx_count", 2**32),
            **{name: _hex(h[name], f"{what} {name}") for name in _HEADER_HASHES},
        )
    except InvalidBlock as exc:
        raise BundleError(f"{what}: {exc.message}") from exc


def _commit(
    value: Any, header: Header, validators: ValidatorSet, what: str = "commit"
) -> CommitCertificate:
    c = _object(value, what, {"height", "round", "block_hash", "precommits"})
    height = _int(c["height"], f"{what} height")
    round_ = _int(c["round"], f"{what} round", 2**32)
    block_hash = _hex(c["block_hash"], f"{what} block_hash")
    votes = []
    for i, item in enumerate(_list(c["precommits"], f"{what} precommits")):
        v = _object(item, f"{what} precommit {i}", {"validator_index", "signature"})
        index = _int(v["validator_index"], f"{what} precommit {i} validator_index", 2**32)
        signature = _hex(v["signature"], f"{what} precommit {i} signature", 64)
        votes.append(Vote(VoteType.PRECOMMIT, height, round_, block_hash, index, signature))
    # Verify the certificate is for this very header, then that it holds.
    if height != header.height:
        raise BundleError(f"the {what} certificate is for height {height}, the header "
                          f"{header.height}")  # fmt: skip
    if block_hash != header.hash():
        raise BundleError(
            f"the header does not hash to the block the validators signed ({what}: a header "
            "field was changed)"
        )
    cert = CommitCertificate(height, round_, block_hash, tuple(votes))
    try:
        verify_certificate(header.chain_id, validators, cert)
    except InvalidCertificate as exc:
        raise BundleError(f"{what} certificate: {exc}") from exc
    return cert


def _transaction(value: Any, header: Header) -> tuple[SignedTx, int]:
    t = _object(value, "tx", {"index", "envelope", "proof"})
    index = _int(t["index"], "tx index", 2**32)
    try:
        raw = base64.b64decode(_str(t["envelope"], "tx envelope"), validate=True)
    except ValueError as exc:  # binascii.Error, or text that is not ASCII at all
        raise BundleError("tx envelope is not base64") from exc
    try:
        tx = decode_tx(raw, header.chain_id, _NO_LIMITS)
    except InvalidTransaction as exc:
        raise BundleError(
            f"the retirement transaction is not validly signed: {exc.message}"
        ) from exc
    if tx.kind not in CERTIFYING_KINDS:
        raise BundleError(f"the transaction is a {tx.kind}, which makes no retirement certificate")
    if index >= header.tx_count:
        raise BundleError(
            f"the transaction is not in the block: tx index {index} is outside a block of "
            f"{header.tx_count} txs"
        )
    proof = MerkleProof(index, header.tx_count, _path(t["proof"], "tx proof"))
    if not verify_tx_id_proof(header, tx.tx_hash, proof):
        raise BundleError("the transaction is not in the block (tx proof does not lead to tx_root)")
    return tx, index


def _receipt(value: Any, tx: SignedTx, index: int, header: Header) -> TxResult:
    r = _object(value, "receipt", {"code", "error_code", "events", "proof"})
    events = []
    for i, item in enumerate(_list(r["events"], "receipt events", _U16_MAX)):
        e = _object(item, f"receipt event {i}", {"type", "attributes"})
        attributes = []
        for pair in _list(e["attributes"], f"receipt event {i} attributes", _U16_MAX):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise BundleError(f"receipt event {i} attributes must be [key, value] pairs")
            key = _text(pair[0], f"receipt event {i} attribute key")
            attributes.append((key, _text(pair[1], f"receipt event {i} {key}", _U32_MAX)))
        events.append(Event(_text(e["type"], f"receipt event {i} type"), tuple(attributes)))
    receipt = TxResult(
        tx_hash=tx.tx_hash,
        code=_int(r["code"], "receipt code", 2**32),
        error_code=_text(r["error_code"], "receipt error_code"),
        events=tuple(events),
    )
    proof = MerkleProof(index, header.tx_count, _path(r["proof"], "receipt proof"))
    if not verify_receipt_proof(header, receipt, proof):
        raise BundleError(
            "the receipt is not the block's (receipt proof does not lead to results_root)"
        )
    if not receipt.ok:
        raise BundleError(f"the retirement failed on chain: {receipt.error_code}")
    return receipt


def _one_event(receipt: TxResult, kind: str) -> dict[str, str]:
    """The attributes of the receipt's single ``kind`` event."""
    found = [e for e in receipt.events if e.type == kind]
    if len(found) != 1:
        raise BundleError(f"the receipt carries no {kind} event")
    return dict(found[0].attributes)


def _grams(value: str | None, what: str) -> int:
    """A gram count the receipt writes as decimal text."""
    if value is None or not (value.isascii() and value.isdigit()) or int(value) >= _U64:
        raise BundleError(f"the receipt's {what} is not a gram count")
    return int(value)


@dataclass(frozen=True, slots=True)
class _Terms:
    """What a certifying transaction retired, for whom: the ledger's RetirementClaim and the
    grams around it."""

    account: str
    batch_id: str
    amount_grams: int
    claim: RetirementClaim
    period: str  # "YYYYMMDD-YYYYMMDD" or ""


def _terms_of(tx: SignedTx, receipt: TxResult, retired: dict[str, str]) -> _Terms:
    """The terms as chain/ builds them for this kind of transaction.

    A Retire states all of them in the signed message. A market purchase's claim was stated by
    the Buy and kept in the trade, and a redemption's jurisdiction is its offer's: the proven
    receipt carries those, and its confirm_payment / redeem event the grams.
    """
    if tx.kind == "retire":
        return _retire_terms(tx)
    if tx.kind == "confirm_payment":
        return _purchase_terms(tx, receipt, retired)
    return _redemption_terms(tx, receipt, retired)


def _retire_terms(tx: SignedTx) -> _Terms:
    """chain/rules/tickets.py process_retire: everything from the signed Retire."""
    msg = tx.body.retire
    claim = RetirementClaim(
        beneficiary=msg.beneficiary,
        reason=msg.reason,
        jurisdiction=msg.jurisdiction,
        event=msg.event,
        use=RETIREMENT_USES[msg.use] or "voluntary",
        scheme=msg.scheme,
        emitter_account=msg.emitter_account,
        corresponding_adjustment=msg.corresponding_adjustment,
    )
    period = (f"{msg.period.start_date:08d}-{msg.period.end_date:08d}"
              if msg.HasField("period") else "")  # fmt: skip
    return _Terms(tx.body.signer, msg.batch_id, msg.amount_grams, claim, period)


def _purchase_terms(tx: SignedTx, receipt: TxResult, retired: dict[str, str]) -> _Terms:
    """chain/rules/market.py process_confirm_payment: the trade's buyer retires, with the claim
    the Buy stated (no period, voluntary use, the RetirementClaim defaults)."""
    paid = _one_event(receipt, "confirm_payment")
    if paid.get("trade_id") != str(tx.body.confirm_payment.trade_id):
        raise BundleError("the receipt's confirm_payment event is for another trade")
    if paid.get("delivery") != "retired":
        raise BundleError("the confirmed trade delivered tradable grams, no certificate")
    claim = RetirementClaim(
        beneficiary=retired.get("beneficiary", ""),
        reason=retired.get("reason", ""),
        jurisdiction=retired.get("jurisdiction", ""),
        event=retired.get("event", ""),
    )
    amount = _grams(paid.get("amount_grams"), "confirm_payment amount_grams")
    return _Terms(paid.get("buyer", ""), paid.get("batch_id", ""), amount, claim, "")


def _redemption_terms(tx: SignedTx, receipt: TxResult, retired: dict[str, str]) -> _Terms:
    """chain/rules/merchants.py process_redeem: the resident retires the offer's grams for
    themself, in the offer's jurisdiction."""
    redeem = tx.body.redeem
    redeemed = _one_event(receipt, "redeem")
    if redeemed.get("payment") != "grams":
        raise BundleError("the redemption was paid in points, no certificate")
    claim = RetirementClaim(
        beneficiary=tx.body.signer,
        reason=REDEMPTION_REASON,
        jurisdiction=retired.get("jurisdiction", ""),
        event=redemption_event(redeem.merchant, redeem.offer_id),
    )
    amount = _grams(redeemed.get("amount"), "redeem amount")
    return _Terms(tx.body.signer, redeem.batch_id, amount, claim, "")


def _expected_certificate(tx: SignedTx, receipt: TxResult, header: Header) -> dict[str, Any]:
    event = _one_event(receipt, "retire")
    terms = _terms_of(tx, receipt, event)
    claim = terms.claim
    return {
        "certificate_id": certificate_id(tx.tx_hash),
        "batch_id": terms.batch_id,
        "project_id": event.get("project_id", ""),
        "vintage": event.get("vintage", ""),
        "amount_grams": terms.amount_grams,
        "beneficiary": claim.beneficiary,
        "reason": claim.reason,
        "jurisdiction": claim.jurisdiction,
        "event": claim.event,
        "account": terms.account,
        "period": terms.period,
        "height": header.height,
        "time_ms": header.time_ms,
        "tx_hash": tx.tx_hash.hex(),
        # Beyond the bundle's record: the use and the serial range (from the proven receipt),
        # shown by ``Proven.lines``.
        "use": claim.use,
        "scheme": claim.scheme,
        "emitter_account": claim.emitter_account,
        "corresponding_adjustment": claim.corresponding_adjustment,
        "serial": event.get("serial", ""),
    }


def _use_text(c: Mapping[str, Any]) -> str:
    """A retirement's use as a person reads it."""
    adjustment = "yes" if c.get("corresponding_adjustment") else "no"
    if c.get("use") == "compliance_offset":
        return (f"compliance offset under {c['scheme']} for emitter account "
                f"{c['emitter_account']}; corresponding adjustment: {adjustment}")  # fmt: skip
    return f"voluntary claim; corresponding adjustment: {adjustment}"


def _check_certificate(value: Any, expected: dict[str, Any], event: dict[str, str]) -> None:
    record = _object(value, "certificate", _CERTIFICATE)
    for name in sorted(_CERTIFICATE):
        # The type too: 1.0 and true equal 1 in Python, but are not the integer a record holds.
        if type(record[name]) is not type(expected[name]) or record[name] != expected[name]:
            raise BundleError(
                f"certificate field {name} is {_shown(record[name])}, but the signed transaction, "
                f"its receipt and the header give {_shown(expected[name])}"
            )
    # The receipt's event must tell the same story as the signed transaction.
    for name in ("certificate_id", "batch_id", "beneficiary", "reason", "account"):
        if event.get(name) != expected[name]:
            raise BundleError(f"the receipt's retire event disagrees on {name}")
    if event.get("amount_grams") != str(expected["amount_grams"]):
        raise BundleError("the receipt's retire event disagrees on amount_grams")


def verify_bundle(bundle: Any, genesis: Genesis) -> Proven:
    """Check a parsed bundle against ``genesis``; return what it proves or raise BundleError."""
    top = _object(bundle, "bundle", _TOP)
    if top["format"] != BUNDLE_FORMAT:
        raise BundleError(
            f"unknown bundle format {_shown(top['format'])}; expected {quoted(BUNDLE_FORMAT)}"
        )
    _check_genesis(top, genesis)
    header = _header(top["header"])
    if header.chain_id != genesis.chain_id:
        raise BundleError(f"the header is for chain {quoted(header.chain_id)}")
    validators = _validator_set(top, genesis, header.height)
    if header.validators_hash != validators.hash():
        raise BundleError("the header names another validator set than the one of its height")
    commit = _commit(top["commit"], header, validators)
    tx, index = _transaction(top["tx"], header)
    receipt = _receipt(top["receipt"], tx, index, header)
    expected = _expected_certificate(tx, receipt, header)
    _check_certificate(top["certificate"], expected, _one_event(receipt, "retire"))
    signed = [validators.validators[v.validator_index] for v in commit.precommits]
    return Proven(
        certificate=expected,
        height=header.height,
        block_hash=header.hash(),
        signers=tuple(v.name for v in signed),
        signed_power=sum(v.power for v in signed),
        total_power=validators.total_power,
        set_changes=len(top["set_changes"]),
    )


def load_genesis(text: str, where: str = "the genesis file") -> Genesis:
    """The trusted genesis document; UnusableFile naming ``where`` when it is not one."""
    try:
        return Genesis.from_json(text)
    except InvalidGenesis as exc:
        raise UnusableFile(f"{where} is not a valid genesis: {exc.message}") from exc


def load_bundle(text: str, where: str = "the bundle") -> Any:
    """The parsed bundle JSON; UnusableFile naming ``where`` when it is not JSON."""
    return parse_json(text, where, UnusableFile)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UnusableFile(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UnusableFile(f"cannot read {what} {path}: not UTF-8 text ({exc.reason})") from exc


@click.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--genesis",
    "genesis_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The genesis document you trust (the validators' keys come from it).",
)
@click.option(
    "--bench",
    type=click.IntRange(min=1),
    help="Verify the bundle N times and print the time per bundle (a benchmark).",
)
def verify(bundle: Path, genesis_path: Path, bench: int | None) -> None:
    """Check a retirement certificate BUNDLE offline against a trusted genesis.

    Prints what the bundle proves; when it does not prove it, prints one line and exits with 1.
    A file that cannot be read, or is no JSON (the genesis: no genesis), is one line and exit 2.
    """
    try:
        genesis = load_genesis(_read(genesis_path, "genesis"), f"genesis {genesis_path}")
        text = _read(bundle, "bundle")
        parsed = load_bundle(text, f"bundle {bundle}")
    except UnusableFile as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(EXIT_UNUSABLE_FILE) from exc
    try:
        proven = verify_bundle(parsed, genesis)
        if bench is not None:
            start = time.perf_counter()
            for _ in range(bench):
                verify_bundle(load_bundle(text), genesis)
            elapsed = time.perf_counter() - start
            click.echo(f"verified {bench} bundles: {elapsed / bench * 1000:.3f} ms per bundle "
                       "(JSON parsing included)")  # fmt: skip
            return
    except BundleError as exc:
        click.echo(f"verification failed: {exc}", err=True)
        raise SystemExit(EXIT_INVALID) from exc
    for line in proven.lines():
        click.echo(line)
