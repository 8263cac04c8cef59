"""Stateless admission checks (``check_tx``): everything about a transaction that needs no state.

``check_tx`` runs the envelope checks and signature verification of ``chain.tx.decode_tx`` and
then the message-level checks below: field sizes against ``Limits``, non-zero amounts whose sums
fit in uint64, address syntax, ISO 3166 codes, YYYYMMDD periods, 32-byte hashes, known enum
values, entry counts. Each failure is an ``InvalidTransaction`` with a stable ``code``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carbon_ticket.chain.amounts import MAX_GRAMS, format_tco2e
from carbon_ticket.chain.check_fields import (
    BATCH_ID_SUFFIX_CHARS,
    MAX_PROJECT_ID_CHARS,
    check_text,
    require_address,
    require_amount,
    require_batch_id,
    require_entries,
    require_enum,
    require_hash,
    require_jurisdiction,
    require_period,
    require_project_id,
    require_reference,
    require_text,
    valid_date,
)
from carbon_ticket.chain.check_governance import (
    check_appoint_issuer,
    check_cast_vote,
    check_role_change,
    check_submit_proposal,
)
from carbon_ticket.chain.check_market import (
    check_buy,
    check_cancel_order,
    check_confirm_payment,
    check_sell,
)
from carbon_ticket.chain.check_registry import (
    check_export,
    check_import_batch,
    check_project_ids,
    check_retirement_use,
)
from carbon_ticket.chain.crypto import POINTS_FLOAT_ADDRESS
from carbon_ticket.chain.errors import InvalidAmount, InvalidTransaction
from carbon_ticket.chain.iso3166 import is_subdivision_code
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


# ---------------------------------------------------------------- message checks

_Check = Callable[[Any, ledger_pb2.TxBody, Limits], None]


def _check_register_account(
    msg: ledger_pb2.RegisterAccount, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    require_address(msg.address, "address")
    require_enum(msg.kind, ACCOUNT_KINDS, "account_kind")
    # A resident's personal data belongs in the city app's database, not on an immutable
    # ledger: a resident account needs no name (docs/ledger.md, privacy).
    resident = ACCOUNT_KINDS[msg.kind] == "resident"
    require_text(msg.name, "name", limits.max_text_bytes, required=not resident)


def _check_register_project(
    msg: ledger_pb2.RegisterProject, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    require_project_id(msg.project_id, limits)
    require_text(msg.name, "name", limits.max_text_bytes)
    if not is_subdivision_code(msg.region):
        raise InvalidTransaction(
            f"region {msg.region!r} is not an ISO 3166-2 code of an assigned country, such as "
            "CN-15 or CN-ZJ",
            "invalid_region",
        )
    require_enum(msg.kind, PROJECT_KINDS, "project_kind")
    if msg.area_centihectares == 0:
        raise InvalidTransaction("area must be greater than zero", "invalid_area")
    require_text(msg.methodology, "methodology", limits.max_text_bytes)
    require_address(msg.owner, "owner")
    require_hash(msg.metadata_hash, "metadata hash")
    require_text(msg.metadata_uri, "metadata URI", limits.max_uri_bytes, required=False)
    check_project_ids(msg, limits)


def _check_anchor_data(msg: ledger_pb2.AnchorData, body: ledger_pb2.TxBody, limits: Limits) -> None:
    require_project_id(msg.project_id, limits)
    require_hash(msg.data_hash, "data hash")
    require_period(msg.period, "period")
    require_text(msg.uri, "URI", limits.max_uri_bytes, required=False)
    require_text(msg.kind, "data kind", limits.max_text_bytes)


def _check_attest_report(
    msg: ledger_pb2.AttestReport, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    require_hash(msg.data_hash, "data hash")
    require_amount(msg.verified_grams, "verified amount")
    require_period(msg.period, "attested period")


def _check_issue_batch(msg: ledger_pb2.IssueBatch, body: ledger_pb2.TxBody, limits: Limits) -> None:
    require_project_id(msg.project_id, limits)
    require_period(msg.vintage, "vintage")
    count = len(msg.report_hashes)
    require_entries(
        count,
        limits.max_report_refs,
        ("an issuance must cite at least one attested report", "no_reports"),
        "issuance cites {} reports",
    )
    for data_hash in msg.report_hashes:
        require_hash(data_hash, "report hash")
    if len(set(msg.report_hashes)) != count:
        raise InvalidTransaction("issuance cites the same report twice", "duplicate_report")
    require_amount(msg.amount_grams)
    require_address(msg.recipient, "recipient")


def _check_transfer(msg: ledger_pb2.Transfer, body: ledger_pb2.TxBody, limits: Limits) -> None:
    require_entries(
        len(msg.entries),
        limits.max_transfer_entries,
        ("a transfer needs at least one entry", "no_entries"),
        "transfer has {} entries",
    )
    total = 0
    for entry in msg.entries:
        require_address(entry.to, "recipient")
        if entry.to == body.signer:
            raise InvalidTransaction(
                "a transfer cannot send tickets to its signer", "self_transfer"
            )
        require_batch_id(entry.batch_id, limits)
        require_amount(entry.amount_grams)
        total += entry.amount_grams
    if total > MAX_GRAMS:
        raise InvalidAmount(
            f"transfer moves {total} g in total, more than the largest amount "
            f"({format_tco2e(MAX_GRAMS)} tCO2e)",
            "amount_overflow",
        )


def _check_retire(msg: ledger_pb2.Retire, body: ledger_pb2.TxBody, limits: Limits) -> None:
    require_batch_id(msg.batch_id, limits)
    require_amount(msg.amount_grams)
    require_text(msg.beneficiary, "beneficiary", limits.max_text_bytes)
    require_text(msg.reason, "reason", limits.max_text_bytes)
    require_jurisdiction(msg.jurisdiction)
    require_text(msg.event, "event", limits.max_text_bytes, required=False)
    if msg.HasField("period"):
        require_period(msg.period, "claim period")
    check_retirement_use(msg, limits)


def _check_cancel(msg: ledger_pb2.Cancel, body: ledger_pb2.TxBody, limits: Limits) -> None:
    require_batch_id(msg.batch_id, limits)
    require_amount(msg.amount_grams)
    require_text(msg.reason, "reason", limits.max_text_bytes)


def _check_reversal(msg: ledger_pb2.Reversal, body: ledger_pb2.TxBody, limits: Limits) -> None:
    require_batch_id(msg.batch_id, limits)
    require_amount(msg.amount_grams)
    require_hash(msg.loss_report_hash, "loss report hash")
    require_text(msg.reason, "reason", limits.max_text_bytes)


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
            require_hash(vote.block_hash, "vote block_hash")
        if len(vote.signature) != 64:
            raise InvalidTransaction("vote signature must be 64 bytes", "malformed_evidence")


def _check_award_points(
    msg: ledger_pb2.AwardPoints, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    require_entries(
        len(msg.awards),
        limits.max_awards,
        ("an award of points needs at least one award", "no_entries"),
        "the transaction carries {} awards",
    )
    refs: set[str] = set()
    for index, award in enumerate(msg.awards):
        what = f"award {index}"
        require_address(award.recipient, f"{what} recipient")
        require_enum(award.activity, ACTIVITIES, "activity")
        if not valid_date(award.day):
            raise InvalidTransaction(
                f"{what} day {award.day} is not a valid calendar day written as YYYYMMDD",
                "invalid_day",
            )
        require_amount(award.points, f"{what} points")
        if award.points > MAX_AWARD_POINTS:
            raise InvalidAmount(
                f"{what} awards {award.points} points, more than {MAX_AWARD_POINTS}",
                "amount_overflow",
            )
        require_reference(award.external_ref, f"{what} external reference", limits)
        if award.evidence_hash:
            require_hash(award.evidence_hash, f"{what} evidence hash")
        if award.external_ref in refs:
            raise InvalidTransaction(
                f"{what} repeats the external reference {award.external_ref!r}",
                "duplicate_ref",
            )
        refs.add(award.external_ref)


def _check_exchange_points(
    msg: ledger_pb2.ExchangePoints, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    require_amount(msg.grams, "grams")
    if msg.grams > MAX_GRAMS:
        raise InvalidAmount(
            f"an exchange of {msg.grams} g exceeds {MAX_GRAMS} g", "amount_overflow"
        )
    if msg.batch_id:
        require_batch_id(msg.batch_id, limits)


def _check_register_offer(
    msg: ledger_pb2.RegisterOffer, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    require_reference(msg.offer_id, "offer id", limits)
    require_text(msg.description, "description", limits.max_text_bytes)
    require_enum(msg.payment, OFFER_PAYMENTS, "offer_payment")
    require_amount(msg.amount, "offer amount")
    if msg.amount > MAX_GRAMS:
        raise InvalidAmount(
            f"an offer amount of {msg.amount} exceeds {MAX_GRAMS}", "amount_overflow"
        )
    require_text(msg.discount, "discount", limits.max_text_bytes)
    require_period(msg.validity, "validity")
    require_amount(msg.max_redemptions, "maximum redemptions")
    require_jurisdiction(msg.jurisdiction)


def _check_redeem(msg: ledger_pb2.Redeem, body: ledger_pb2.TxBody, limits: Limits) -> None:
    require_address(msg.merchant, "merchant")
    require_reference(msg.offer_id, "offer id", limits)
    require_reference(msg.voucher_ref, "voucher reference", limits)
    if msg.batch_id:
        require_batch_id(msg.batch_id, limits)


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
    "grant_role": check_role_change,
    "revoke_role": check_role_change,
    "report_evidence": _check_report_evidence,
    "appoint_issuer": check_appoint_issuer,
    "award_points": _check_award_points,
    "exchange_points": _check_exchange_points,
    "register_offer": _check_register_offer,
    "redeem": _check_redeem,
    "submit_proposal": check_submit_proposal,
    "cast_vote": check_cast_vote,
    # the market (issue 17)
    "sell": check_sell,
    "buy": check_buy,
    "confirm_payment": check_confirm_payment,
    "cancel_order": check_cancel_order,
    "export": check_export,
    "import_batch": check_import_batch,
}
