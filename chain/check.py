"""Stateless admission checks (``check_tx``): everything about a transaction that needs no state.

``check_tx`` runs the envelope checks and signature verification of ``chain.tx.decode_tx`` and
then the message-level checks below: field sizes against ``Limits``, non-zero amounts whose sums
fit in uint64, address syntax, ISO 3166 codes, YYYYMMDD periods, 32-byte hashes, known enum
values, entry counts. Each failure is an ``InvalidTransaction`` with a stable ``code``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

from carbon_ticket.chain.amounts import MAX_GRAMS, format_tco2e
from carbon_ticket.chain.crypto import POINTS_FLOAT_ADDRESS, parse_address
from carbon_ticket.chain.errors import InvalidAddress, InvalidAmount, InvalidTransaction
from carbon_ticket.chain.iso3166 import is_iso3166_code, is_subdivision_code
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.records import (
    ACCOUNT_KINDS,
    ACTIVITIES,
    OFFER_PAYMENTS,
    PROJECT_KINDS,
    ROLES,
)
from carbon_ticket.chain.tx import SignedTx, decode_tx
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "BATCH_ID_SUFFIX_CHARS",
    "MAX_PROJECT_ID_CHARS",
    "check_message",
    "check_text",
    "check_tx",
]

# Points of one award, and of all awards of one tx together, stay far below 2**63.
MAX_AWARD_POINTS = 10**12

# A batch id appends "-YYYYMMDD-YYYYMMDD-NNN" (22 chars up to the 999th batch of a vintage) to
# the project id; genesis requires max_id_bytes >= 32 + 22.
MAX_PROJECT_ID_CHARS = 32
BATCH_ID_SUFFIX_CHARS = 22
# Project and batch ids: upper-case letters and digits in groups joined by "-".
_ID_RE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*", re.ASCII)
# Characters free text may not carry: C0/C1 controls and DEL, line and paragraph separators,
# bidirectional controls (marks, embeddings, overrides, isolates) that reorder what a reader sees,
# and invisible characters (zero-width space/joiners, word joiner, invisible operators, BOM,
# soft hyphen, tag characters) that make two texts look alike. The list is explicit rather than
# a Unicode category so that it does not move with the Python's Unicode tables.
_FORBIDDEN_TEXT_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
_HASH_BYTES = 32
_ROLE_NAMES = ", ".join(ROLES[2:])


def check_tx(
    raw: bytes, chain_id: str, limits: Limits, *, known_id: bytes | None = None
) -> SignedTx:
    """Decode, verify and statelessly check a transaction; raise InvalidTransaction.

    ``known_id``: the tx id when the caller computed it already (see ``decode_tx``).
    """
    tx = decode_tx(raw, chain_id, limits, known_id=known_id)
    check_message(tx.body, limits)
    return tx


def check_message(body: ledger_pb2.TxBody, limits: Limits) -> None:
    """The message-level stateless checks of ``check_tx`` (signatures not involved)."""
    if body.memo:
        check_text(body.memo, "memo")
    if body.signer == POINTS_FLOAT_ADDRESS:
        # No key exists for the float; refuse early and plainly rather than at signature level.
        raise InvalidTransaction(
            "the points exchange float is a module account: no transaction can be signed for it",
            "module_account",
        )
    kind = body.WhichOneof("msg")
    check = _CHECKS.get(kind or "")
    if check is None:
        raise InvalidTransaction(f"unknown ledger message {kind!r}", "empty_tx")
    check(getattr(body, kind or ""), body, limits)


# ---------------------------------------------------------------- field checks


def _text(value: str, field: str, limit: int, *, required: bool = True) -> None:
    if required and not value:
        raise InvalidTransaction(f"{field} is required", "missing_field")
    if len(value) * 4 > limit and len(value.encode()) > limit:  # cheap test first
        raise InvalidTransaction(
            f"{field} is {len(value.encode())} bytes, the limit is {limit}", "field_too_long"
        )
    check_text(value, field)


def check_text(value: str, field: str) -> None:
    """Verify free text is NFC and free of control, bidi and invisible characters.

    The ledger refuses rather than rewrites: the text is signed, so the wallet normalises it
    (``unicodedata.normalize("NFC", ...)``) before signing. Certificates then show exactly what
    a reader sees, and two certificates that look alike are alike.
    """
    bad = _FORBIDDEN_TEXT_RE.search(value)
    if bad is not None:
        raise InvalidTransaction(
            f"{field} contains the control, bidi or invisible character "
            f"U+{ord(bad.group()):04X} at position {bad.start()}",
            "forbidden_character",
        )
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):  # ASCII is NFC
        raise InvalidTransaction(
            f"{field} is not in Unicode normalisation form NFC; normalise it before signing",
            "text_not_nfc",
        )


def _address(value: str, field: str) -> None:
    if not value:
        raise InvalidTransaction(f"{field} is required", "missing_field")
    if parse_address(value) != value:
        raise InvalidAddress(f"{field} {value!r} must be written in lower case")


def _amount(value: int, field: str = "amount") -> None:
    if value == 0:
        raise InvalidAmount(f"{field} must be greater than zero", "zero_amount")


def _hash(value: bytes, field: str) -> None:
    if len(value) != _HASH_BYTES:
        raise InvalidTransaction(
            f"{field} must be a {_HASH_BYTES}-byte SHA-256 digest, got {len(value)} bytes",
            "invalid_hash",
        )


def _valid_date(value: int) -> bool:
    year, month_day = divmod(value, 10_000)
    month, day = divmod(month_day, 100)
    if not 1900 <= year <= 9999:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _period(period: ledger_pb2.Period, field: str) -> None:
    for value in (period.start_date, period.end_date):
        if not _valid_date(value):
            raise InvalidTransaction(
                f"{field} date {value} is not a valid calendar day written as YYYYMMDD",
                "invalid_period",
            )
    if period.start_date > period.end_date:
        raise InvalidTransaction(
            f"{field} starts on {period.start_date}, after it ends on {period.end_date}",
            "invalid_period",
        )


def _entries(count: int, limit: int, empty: tuple[str, str], too_many: str) -> None:
    """Verify a message carries 1 to ``limit`` entries; ``too_many`` has a ``{}`` for the count."""
    if count == 0:
        raise InvalidTransaction(*empty)
    if count > limit:
        raise InvalidTransaction(
            f"{too_many.format(count)}, the limit is {limit}", "too_many_entries"
        )


def _jurisdiction(value: str) -> None:
    if not is_iso3166_code(value):
        raise InvalidTransaction(
            f"jurisdiction {value!r} is not an assigned ISO 3166 code such as CN or CN-15",
            "invalid_jurisdiction",
        )


def _enum(value: int, names: tuple[str, ...], field: str) -> None:
    if not 0 < value < len(names):
        raise InvalidTransaction(
            f"{field} {value} is not one of {', '.join(names[1:])}", f"invalid_{field}"
        )


def _project_id(value: str, limits: Limits) -> None:
    limit = min(MAX_PROJECT_ID_CHARS, limits.max_id_bytes)
    if not value:
        raise InvalidTransaction("project id is required", "missing_field")
    if len(value) > limit:
        raise InvalidTransaction(
            f"project id is {len(value)} characters, the limit is {limit}", "field_too_long"
        )
    if not _ID_RE.fullmatch(value):
        raise InvalidTransaction(
            f"project id {value!r} must be upper-case letters and digits in groups joined by "
            "'-', e.g. CN15-GY-0001",
            "invalid_project_id",
        )


def _batch_id(value: str, limits: Limits) -> None:
    if not value:
        raise InvalidTransaction("batch id is required", "missing_field")
    if len(value) > limits.max_id_bytes:
        raise InvalidTransaction(
            f"batch id is {len(value.encode())} bytes, the limit is {limits.max_id_bytes}",
            "field_too_long",
        )
    if not _ID_RE.fullmatch(value):
        raise InvalidTransaction(
            f"batch id {value!r} is malformed; it looks like CN15-GY-0001-20230101-20231231-001",
            "invalid_batch_id",
        )


# ---------------------------------------------------------------- message checks

_Check = Callable[[Any, ledger_pb2.TxBody, Limits], None]


def _reference(value: str, field: str, limits: Limits) -> None:
    """An external or voucher reference: required text within the id size limit."""
    _text(value, field, limits.max_id_bytes)


def _check_register_account(
    msg: ledger_pb2.RegisterAccount, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    _address(msg.address, "address")
    _enum(msg.kind, ACCOUNT_KINDS, "account_kind")
    # A resident's personal data belongs in the city app's database, not on an immutable
    # ledger: a resident account needs no name (docs/ledger.md, privacy).
    resident = ACCOUNT_KINDS[msg.kind] == "resident"
    _text(msg.name, "name", limits.max_text_bytes, required=not resident)


def _check_register_project(
    msg: ledger_pb2.RegisterProject, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    _project_id(msg.project_id, limits)
    _text(msg.name, "name", limits.max_text_bytes)
    if not is_subdivision_code(msg.region):
        raise InvalidTransaction(
            f"region {msg.region!r} is not an ISO 3166-2 code of an assigned country, such as "
            "CN-15 or CN-ZJ",
            "invalid_region",
        )
    _enum(msg.kind, PROJECT_KINDS, "project_kind")
    if msg.area_centihectares == 0:
        raise InvalidTransaction("area must be greater than zero", "invalid_area")
    _text(msg.methodology, "methodology", limits.max_text_bytes)
    _address(msg.owner, "owner")
    _hash(msg.metadata_hash, "metadata hash")
    _text(msg.metadata_uri, "metadata URI", limits.max_uri_bytes, required=False)


def _check_anchor_data(msg: ledger_pb2.AnchorData, body: ledger_pb2.TxBody, limits: Limits) -> None:
    _project_id(msg.project_id, limits)
    _hash(msg.data_hash, "data hash")
    _period(msg.period, "period")
    _text(msg.uri, "URI", limits.max_uri_bytes, required=False)
    _text(msg.kind, "data kind", limits.max_text_bytes)


def _check_attest_report(
    msg: ledger_pb2.AttestReport, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    _hash(msg.data_hash, "data hash")
    _amount(msg.verified_grams, "verified amount")
    _period(msg.period, "attested period")


def _check_issue_batch(msg: ledger_pb2.IssueBatch, body: ledger_pb2.TxBody, limits: Limits) -> None:
    _project_id(msg.project_id, limits)
    _period(msg.vintage, "vintage")
    count = len(msg.report_hashes)
    _entries(
        count,
        limits.max_report_refs,
        ("an issuance must cite at least one attested report", "no_reports"),
        "issuance cites {} reports",
    )
    for data_hash in msg.report_hashes:
        _hash(data_hash, "report hash")
    if len(set(msg.report_hashes)) != count:
        raise InvalidTransaction("issuance cites the same report twice", "duplicate_report")
    _amount(msg.amount_grams)
    _address(msg.recipient, "recipient")


def _check_transfer(msg: ledger_pb2.Transfer, body: ledger_pb2.TxBody, limits: Limits) -> None:
    _entries(
        len(msg.entries),
        limits.max_transfer_entries,
        ("a transfer needs at least one entry", "no_entries"),
        "transfer has {} entries",
    )
    total = 0
    for entry in msg.entries:
        _address(entry.to, "recipient")
        if entry.to == body.signer:
            raise InvalidTransaction(
                "a transfer cannot send tickets to its signer", "self_transfer"
            )
        _batch_id(entry.batch_id, limits)
        _amount(entry.amount_grams)
        total += entry.amount_grams
    if total > MAX_GRAMS:
        raise InvalidAmount(
            f"transfer moves {total} g in total, more than the largest amount "
            f"({format_tco2e(MAX_GRAMS)} tCO2e)",
            "amount_overflow",
        )


def _check_retire(msg: ledger_pb2.Retire, body: ledger_pb2.TxBody, limits: Limits) -> None:
    _batch_id(msg.batch_id, limits)
    _amount(msg.amount_grams)
    _text(msg.beneficiary, "beneficiary", limits.max_text_bytes)
    _text(msg.reason, "reason", limits.max_text_bytes)
    _jurisdiction(msg.jurisdiction)
    _text(msg.event, "event", limits.max_text_bytes, required=False)
    if msg.HasField("period"):
        _period(msg.period, "claim period")


def _check_cancel(msg: ledger_pb2.Cancel, body: ledger_pb2.TxBody, limits: Limits) -> None:
    _batch_id(msg.batch_id, limits)
    _amount(msg.amount_grams)
    _text(msg.reason, "reason", limits.max_text_bytes)


def _check_reversal(msg: ledger_pb2.Reversal, body: ledger_pb2.TxBody, limits: Limits) -> None:
    _batch_id(msg.batch_id, limits)
    _amount(msg.amount_grams)
    _hash(msg.loss_report_hash, "loss report hash")
    _text(msg.reason, "reason", limits.max_text_bytes)


def _check_role_change(
    msg: ledger_pb2.GrantRole | ledger_pb2.RevokeRole, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    _address(msg.address, "address")
    if msg.role == ledger_pb2.ROLE_VALIDATOR:
        raise InvalidTransaction(
            "the validator role follows the validator set and cannot be granted or revoked "
            "on its own",
            "invalid_role",
        )
    if not 0 < msg.role < len(ROLES):
        raise InvalidTransaction(f"role {msg.role} is not one of {_ROLE_NAMES}", "invalid_role")


def _check_report_evidence(
    msg: ledger_pb2.ReportEvidence, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    # Shape only: whether the two signatures are genuine votes of that validator needs the
    # consensus signing rules and the validator set, which the node checks at admission.
    ev = msg.evidence
    if not (ev.HasField("vote_a") and ev.HasField("vote_b")):
        raise InvalidTransaction("evidence needs two votes", "malformed_evidence")
    a, b = ev.vote_a, ev.vote_b
    same = (a.type, a.height, a.round, a.validator_index) == (
        b.type, b.height, b.round, b.validator_index,
    )  # fmt: skip
    if not same or a.type not in (1, 2):
        raise InvalidTransaction(
            "evidence votes must share type, height, round and validator", "malformed_evidence"
        )
    if a.block_hash == b.block_hash:
        raise InvalidTransaction("evidence votes do not conflict", "malformed_evidence")
    for vote in (a, b):
        if vote.block_hash:
            _hash(vote.block_hash, "vote block_hash")
        if len(vote.signature) != 64:
            raise InvalidTransaction("vote signature must be 64 bytes", "malformed_evidence")


def _check_appoint_issuer(
    msg: ledger_pb2.AppointIssuer, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    _project_id(msg.project_id, limits)
    _address(msg.issuer, "issuer")


def _check_award_points(
    msg: ledger_pb2.AwardPoints, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    _entries(
        len(msg.awards),
        limits.max_awards,
        ("an award of points needs at least one award", "no_entries"),
        "the transaction carries {} awards",
    )
    refs: set[str] = set()
    for index, award in enumerate(msg.awards):
        what = f"award {index}"
        _address(award.recipient, f"{what} recipient")
        _enum(award.activity, ACTIVITIES, "activity")
        if not _valid_date(award.day):
            raise InvalidTransaction(
                f"{what} day {award.day} is not a valid calendar day written as YYYYMMDD",
                "invalid_day",
            )
        _amount(award.points, f"{what} points")
        if award.points > MAX_AWARD_POINTS:
            raise InvalidAmount(
                f"{what} awards {award.points} points, more than {MAX_AWARD_POINTS}",
                "amount_overflow",
            )
        _reference(award.external_ref, f"{what} external reference", limits)
        if award.evidence_hash:
            _hash(award.evidence_hash, f"{what} evidence hash")
        if award.external_ref in refs:
            raise InvalidTransaction(
                f"{what} repeats the external reference {award.external_ref!r}",
                "duplicate_ref",
            )
        refs.add(award.external_ref)


def _check_exchange_points(
    msg: ledger_pb2.ExchangePoints, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    _amount(msg.grams, "grams")
    if msg.grams > MAX_GRAMS:
        raise InvalidAmount(
            f"an exchange of {msg.grams} g exceeds {MAX_GRAMS} g", "amount_overflow"
        )
    if msg.batch_id:
        _batch_id(msg.batch_id, limits)


def _check_register_offer(
    msg: ledger_pb2.RegisterOffer, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    _reference(msg.offer_id, "offer id", limits)
    _text(msg.description, "description", limits.max_text_bytes)
    _enum(msg.payment, OFFER_PAYMENTS, "offer_payment")
    _amount(msg.amount, "offer amount")
    if msg.amount > MAX_GRAMS:
        raise InvalidAmount(
            f"an offer amount of {msg.amount} exceeds {MAX_GRAMS}", "amount_overflow"
        )
    _text(msg.discount, "discount", limits.max_text_bytes)
    _period(msg.validity, "validity")
    _amount(msg.max_redemptions, "maximum redemptions")
    _jurisdiction(msg.jurisdiction)


def _check_redeem(msg: ledger_pb2.Redeem, body: ledger_pb2.TxBody, limits: Limits) -> None:
    _address(msg.merchant, "merchant")
    _reference(msg.offer_id, "offer id", limits)
    _reference(msg.voucher_ref, "voucher reference", limits)
    if msg.batch_id:
        _batch_id(msg.batch_id, limits)


_CHECKS: dict[str, _Check] = {
    "register_account": _check_register_account,
    "register_project": _check_register_project,
    "anchor_data": _check_anchor_data,
    "attest_report": _check_attest_report,
    "issue_batch": _check_issue_batch,
    "transfer": _check_transfer,
    "retire": _check_retire,
    "cancel": _check_cancel,
    "reversal": _check_reversal,
    "grant_role": _check_role_change,
    "revoke_role": _check_role_change,
    "report_evidence": _check_report_evidence,
    "appoint_issuer": _check_appoint_issuer,
    "award_points": _check_award_points,
    "exchange_points": _check_exchange_points,
    "register_offer": _check_register_offer,
    "redeem": _check_redeem,
}
