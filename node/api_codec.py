"""Conversions between ledger records and the public API's protobuf messages (the API's edge).

Decoders check request fields that need no state (address syntax, hash length, page tokens) and
raise the ledger's own errors, which ``node.errors`` maps to gRPC status codes.
"""

from __future__ import annotations

import re
import unicodedata

from carbon_ticket.chain.block import Header
from carbon_ticket.chain.crypto import parse_address
from carbon_ticket.chain.errors import InvalidAddress, InvalidRequest
from carbon_ticket.chain.governance_records import VOTE_OPTIONS, Proposal, ProposalVote
from carbon_ticket.chain.governance_view import ValidatorSetView
from carbon_ticket.chain.kvstore import (
    MAX_HISTORY_PAGE,
    RetirementQuery,
    TxLocation,
    receipt_to_proto,
)
from carbon_ticket.chain.merkle import MerkleProof
from carbon_ticket.chain.records import (
    ACCOUNT_KINDS,
    ACTIVITIES,
    OFFER_PAYMENTS,
    PROJECT_KINDS,
    ROLES,
    Batch,
    Certificate,
    Offer,
    Project,
    Redemption,
    Report,
    Settlement,
    Validator,
)
from carbon_ticket.chain.records import Period as RecordPeriod
from carbon_ticket.chain.residents_view import OperatorPoints
from carbon_ticket.chain.state import AccountView, StateReader, get_params
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_BYTES",
    "account_to_proto",
    "batch_to_proto",
    "certificate_to_proto",
    "decode_address",
    "decode_hash",
    "decode_page",
    "decode_sequence_page",
    "decode_sequence_token",
    "decode_voucher_page",
    "offer_to_proto",
    "operator_points_to_proto",
    "page_token",
    "period_to_proto",
    "project_to_proto",
    "proposal_to_proto",
    "receipt_to_proto",
    "redemption_to_proto",
    "report_to_proto",
    "require_number",
    "retirement_query",
    "settlement_to_proto",
    "tx_proof_to_proto",
    "tx_to_proto",
    "validator_set_to_proto",
    "voucher_page_token",
]

DEFAULT_PAGE_SIZE = 50
# A history page ends early (with a token) once its items reach this many bytes: an award
# transaction's receipt carries an event per award (~38 KB for the ~200 awards that fit in a
# 16 KB transaction), so a resident's or a points operator's 1,000-item page was ~38 MB, and
# decoding it held the event loop that consensus runs on for ~9 s (tests/node/test_award_reads).
MAX_PAGE_BYTES = 1 << 20
_HASH_BYTES = 32
_MAX_FILTER_BYTES = 1024  # longer than any stored text field, so no match is lost
_MAX_U64 = 2**64 - 1


def decode_address(text: str, field: str = "address") -> str:
    """A canonical address from request ``field``'s text; InvalidRequest (``missing_field``)
    when empty, InvalidAddress when malformed, each naming the field."""
    if not text:
        raise InvalidRequest(f"{field} is required", "missing_field")
    try:
        return parse_address(text)
    except InvalidAddress as exc:
        raise InvalidAddress(f"{field}: {exc.message}", exc.code) from exc


def decode_hash(value: bytes, field: str) -> bytes:
    """A 32-byte hash from a request; InvalidRequest (``invalid_hash``) otherwise."""
    if len(value) != _HASH_BYTES:
        raise InvalidRequest(
            f"{field} must be {_HASH_BYTES} bytes, got {len(value)}", "invalid_hash"
        )
    return value


_PAGE_TOKEN = re.compile(r"([0-9]{1,20})\.([0-9]{1,10})", re.ASCII)


_MAX_ID_CHARS = 128


def require_id(value: str, field: str, state: StateReader) -> str:
    """A non-empty id of sane length (ids are looked up verbatim): 128 characters, or as many
    bytes as the chain of ``state`` allows ids now (``limits.max_id_bytes``, a governed
    parameter that may exceed 128) when that is more, so that an id the ledger accepts under
    its current limits can be looked up. (A chain that lowers the limit again leaves its longer
    ids to block and history queries: docs/api.md.)"""
    if not value:
        raise InvalidRequest(f"{field} is required", "missing_field")
    if len(value) > _MAX_ID_CHARS:  # rare: only then are the chain's parameters read
        limit = get_params(state).limits.max_id_bytes
        if limit <= _MAX_ID_CHARS:
            message = f"{field} is longer than {_MAX_ID_CHARS} characters"
            raise InvalidRequest(message, "field_too_long")
        if len(value.encode()) > limit:
            message = f"{field} is longer than {limit} bytes, the chain's limit for ids"
            raise InvalidRequest(message, "field_too_long")
    return value


def require_number(value: int, field: str) -> int:
    """A required numbered id (an order's, a proposal's): numbering starts at 1, and proto3
    reads an unset field as 0, so 0 is the field left empty (``missing_field``, naming it)."""
    if value == 0:
        raise InvalidRequest(f"{field} is required", "missing_field")
    return value


def _page_size(page_size: int) -> int:
    """A list's page size: 0 (unset) is the default, a larger one than a page holds is capped."""
    return DEFAULT_PAGE_SIZE if page_size == 0 else min(page_size, MAX_HISTORY_PAGE)


def _bad_token(token: str) -> InvalidRequest:
    return InvalidRequest(f"page token {token[:40]!r} is not one this API issued", "bad_page_token")


def decode_page(page_size: int, token: str) -> tuple[int, tuple[int, int] | None]:
    """Page size (default and cap applied) and the ``before`` cursor of a page token."""
    size = _page_size(page_size)
    if not token:
        return size, None
    match = _PAGE_TOKEN.fullmatch(token)
    if match is None or int(match[1]) >= 2**64 or int(match[2]) >= 2**32:
        raise _bad_token(token)
    return size, (int(match[1]), int(match[2]))


_SEQUENCE_TOKEN = re.compile(r"[0-9]{1,20}", re.ASCII)


def decode_sequence_page(page_size: int, token: str) -> tuple[int, int | None]:
    """Page size (default and cap applied) and the ``before`` number of a numbered list's page
    token (a resident's redemptions, proposals by id): the token is that number in decimal."""
    return _page_size(page_size), decode_sequence_token(token)


def decode_sequence_token(token: str) -> int | None:
    """The number a numbered list's page token names (ASCII decimal digits of a u64), None for
    no token; ``bad_page_token`` for anything else."""
    if not token:
        return None
    if _SEQUENCE_TOKEN.fullmatch(token) is None or int(token) >= 2**64:
        raise _bad_token(token)
    return int(token)


# A voucher reference is any NFC text ("/" and any script included): its token is its UTF-8
# bytes in lower-case hex, plain ASCII that a client passes back as it came.
_VOUCHER_TOKEN = re.compile(r"(?:[0-9a-f]{2})+", re.ASCII)


def voucher_page_token(voucher_ref: str) -> str:
    """The token of a merchant's page of vouchers that starts at ``voucher_ref``."""
    return voucher_ref.encode().hex()


def decode_voucher_page(page_size: int, token: str) -> tuple[int, str]:
    """Page size (default and cap applied) and the voucher reference a page token of
    ``voucher_page_token`` starts at ("" for no token); ``bad_page_token`` for any other text."""
    if not token:
        return _page_size(page_size), ""
    if _VOUCHER_TOKEN.fullmatch(token) is None:
        raise _bad_token(token)
    try:
        return _page_size(page_size), bytes.fromhex(token).decode()
    except UnicodeDecodeError:
        raise _bad_token(token) from None


def page_token(height: int, index: int) -> str:
    """The opaque token of the page after the entry at (height, index)."""
    return f"{height}.{index}"


def period_to_proto(period: RecordPeriod) -> ledger_pb2.Period:
    """A record's period as its wire message."""
    return ledger_pb2.Period(start_date=period.start_date, end_date=period.end_date)


def account_to_proto(
    view: AccountView, balances: dict[str, int], next_nonce: int | None = None
) -> services_pb2.AccountInfo:
    """An account with roles, nonce, pending-aware next nonce (default: the nonce) and balances."""
    account = view.account
    return services_pb2.AccountInfo(
        address=account.address,
        kind=ACCOUNT_KINDS.index(account.kind),  # type: ignore[arg-type]
        name=account.name,
        roles=[ROLES.index(r) for r in view.roles],  # type: ignore[misc]
        nonce=view.nonce,
        balances=[
            services_pb2.Balance(batch_id=b, amount_grams=g) for b, g in sorted(balances.items())
        ],
        registered_by=account.registered_by,
        height=account.height,
        next_nonce=view.nonce if next_nonce is None else max(view.nonce, next_nonce),
    )


def project_to_proto(p: Project) -> services_pb2.ProjectInfo:
    """A registered project."""
    return services_pb2.ProjectInfo(
        project_id=p.project_id,
        name=p.name,
        region=p.region,
        kind=PROJECT_KINDS.index(p.kind),  # type: ignore[arg-type]
        area_centihectares=p.area_centihectares,
        methodology=p.methodology,
        owner=p.owner,
        metadata_hash=p.metadata_hash,
        metadata_uri=p.metadata_uri,
        height=p.height,
        time_ms=p.time_ms,
        external_ids=list(p.external_ids),
        parcel_ids=list(p.parcel_ids),
        boundary_hash=p.boundary_hash,
    )


def offer_to_proto(o: Offer) -> services_pb2.OfferInfo:
    """A merchant's offer and how often it was redeemed."""
    return services_pb2.OfferInfo(
        merchant=o.merchant,
        offer_id=o.offer_id,
        payment=OFFER_PAYMENTS.index(o.payment),  # type: ignore[arg-type]
        amount=o.amount,
        description=o.description,
        discount=o.discount,
        validity=period_to_proto(o.validity),
        jurisdiction=o.jurisdiction,
        max_redemptions=o.max_redemptions,
        redemptions=o.redemptions,
        height=o.height,
    )


def settlement_to_proto(s: Settlement) -> services_pb2.SettlementTotals:
    """A merchant's settlement totals."""
    return services_pb2.SettlementTotals(redemptions=s.redemptions, grams=s.grams, points=s.points)


def redemption_to_proto(r: Redemption) -> services_pb2.RedemptionInfo:
    """A resident's redemption of an offer: what was paid, and the certificate of tickets."""
    return services_pb2.RedemptionInfo(
        resident=r.resident,
        merchant=r.merchant,
        offer_id=r.offer_id,
        voucher_ref=r.voucher_ref,
        payment=OFFER_PAYMENTS.index(r.payment),  # type: ignore[arg-type]
        amount_grams=r.amount if r.payment == "grams" else 0,
        points=r.amount if r.payment == "points" else 0,
        certificate_id=r.certificate_id,
        day=r.day,
        height=r.height,
        time_ms=r.time_ms,
        tx_hash=r.tx_hash,
    )


def _activity_points(totals: tuple[tuple[str, int], ...]) -> list[services_pb2.ActivityPoints]:
    return [
        services_pb2.ActivityPoints(activity=ACTIVITIES.index(a), points=p)  # type: ignore[arg-type]
        for a, p in totals
    ]


def operator_points_to_proto(o: OperatorPoints) -> services_pb2.OperatorPoints:
    """The points one operator awarded per activity: all time and per day of a period."""
    return services_pb2.OperatorPoints(
        operator=o.operator,
        points=o.total,
        activities=_activity_points(o.activities),
        period_points=o.period_total,
        days=[
            services_pb2.OperatorPointsDay(
                day=day,
                activities=_activity_points(totals),
                points=sum(p for _a, p in totals),
            )
            for day, totals in o.days
        ],
    )


def batch_to_proto(b: Batch) -> services_pb2.BatchInfo:
    """A batch with its supply counters."""
    return services_pb2.BatchInfo(
        batch_id=b.batch_id,
        project_id=b.project_id,
        vintage=period_to_proto(b.vintage),
        issuer=b.issuer,
        recipient=b.recipient,
        report_hashes=list(b.report_hashes),
        supply=services_pb2.BatchSupply(
            issued_grams=b.issued,
            tradable_grams=b.tradable,
            retired_grams=b.retired,
            cancelled_grams=b.cancelled,
            buffer_grams=b.buffer,
            reversed_grams=b.reversed_grams,
            escrowed_grams=b.escrowed,
            exported_grams=b.exported,
        ),
        height=b.height,
        time_ms=b.time_ms,
    )


def report_to_proto(r: Report) -> services_pb2.ReportInfo:
    """An anchored report and its attestation, if any."""
    msg = services_pb2.ReportInfo(
        data_hash=r.data_hash,
        project_id=r.project_id,
        period=period_to_proto(r.period),
        uri=r.uri,
        kind=r.kind,
        anchored_by=r.anchored_by,
        anchored_height=r.anchored_height,
        attested=r.attested,
        verifier=r.verifier,
        verified_grams=r.verified_grams,
        remaining_grams=r.remaining_grams,
        attested_height=r.attested_height,
    )
    if r.attested_period is not None:
        msg.attested_period.CopyFrom(period_to_proto(r.attested_period))
    return msg


def certificate_to_proto(c: Certificate) -> services_pb2.RetirementCertificate:
    """A retirement certificate."""
    msg = services_pb2.RetirementCertificate(
        certificate_id=c.certificate_id,
        batch_id=c.batch_id,
        project_id=c.project_id,
        vintage=period_to_proto(c.vintage),
        amount_grams=c.amount_grams,
        beneficiary=c.beneficiary,
        reason=c.reason,
        jurisdiction=c.jurisdiction,
        event=c.event,
        account=c.account,
        height=c.height,
        time_ms=c.time_ms,
        tx_hash=c.tx_hash,
        use=c.use,
        scheme=c.scheme,
        emitter_account=c.emitter_account,
        corresponding_adjustment=bool(c.corresponding_adjustment),
        serial_first=c.serial_first,
        serial_last=c.serial_last,
        serial=c.serial,
    )
    if c.period is not None:
        msg.period.CopyFrom(period_to_proto(c.period))
    return msg


def tx_to_proto(loc: TxLocation, time_ms: int) -> services_pb2.TxInfo:
    """A committed transaction with its decoded body and receipt."""
    envelope = ledger_pb2.TxEnvelope()
    envelope.ParseFromString(loc.raw)
    body = ledger_pb2.TxBody()
    body.ParseFromString(envelope.body)
    return services_pb2.TxInfo(
        tx_hash=loc.tx_hash,
        height=loc.height,
        index=loc.index,
        envelope=envelope,
        body=body,
        receipt=receipt_to_proto(loc.result),
        time_ms=time_ms,
    )


def retirement_query(request: services_pb2.ListRetirementsRequest) -> RetirementQuery:
    """The register query of a ListRetirements request; InvalidRequest when malformed."""
    for value, field in (
        (request.beneficiary, "beneficiary"),
        (request.event, "event"),
        (request.batch_id, "batch_id"),
        (request.project_id, "project_id"),
    ):
        if len(value.encode()) > _MAX_FILTER_BYTES:
            raise InvalidRequest(
                f"{field} filter is longer than {_MAX_FILTER_BYTES} bytes", "field_too_long"
            )
    if request.to_height and request.from_height > request.to_height:
        raise InvalidRequest(
            f"from_height {request.from_height} is above to_height {request.to_height}",
            "bad_height_range",
        )
    return RetirementQuery(
        beneficiary=unicodedata.normalize("NFC", request.beneficiary),
        event=unicodedata.normalize("NFC", request.event),
        batch_id=request.batch_id,
        project_id=request.project_id,
        from_height=request.from_height,
        # The store ends its scan just above to_height, which has no room above the largest
        # u64; no block is ever that high, so that bound is the open one ("up to the tip").
        to_height=0 if request.to_height >= _MAX_U64 else request.to_height,
    )


def _inclusion(proof: MerkleProof) -> services_pb2.InclusionProof:
    return services_pb2.InclusionProof(index=proof.index, size=proof.size, path=list(proof.path))


def tx_proof_to_proto(
    loc: TxLocation, header: Header, tx_proof: MerkleProof, receipt_proof: MerkleProof
) -> services_pb2.TxProof:
    """A committed transaction and its receipt with their proofs against ``header``."""
    return services_pb2.TxProof(
        tx_hash=loc.tx_hash,
        height=loc.height,
        index=loc.index,
        tx=loc.raw,
        receipt=receipt_to_proto(loc.result),
        header=header.to_proto(),
        tx_proof=_inclusion(tx_proof),
        receipt_proof=_inclusion(receipt_proof),
    )


# ---------------------------------------------------------------- governance


def proposal_to_proto(
    p: Proposal, votes: tuple[ProposalVote, ...] = (), height: int = 0
) -> services_pb2.ProposalInfo:
    """A proposal with its actions as signed, its tally and outcome, and optionally its votes."""
    return services_pb2.ProposalInfo(
        proposal_id=p.proposal_id,
        proposer=p.proposer,
        title=p.title,
        description_uri=p.description_uri,
        description_hash=p.description_hash,
        actions=[ledger_pb2.GovAction.FromString(raw) for raw in p.actions],
        submit_height=p.submit_height,
        deadline_height=p.deadline_height,
        status=p.status,
        yes_power=p.yes_power,
        no_power=p.no_power,
        abstain_power=p.abstain_power,
        total_power=p.total_power,
        closed_height=p.closed_height,
        error_code=p.error_code,
        error=p.error,
        tx_hash=p.tx_hash,
        votes=[
            services_pb2.ProposalVoteInfo(
                voter=v.voter,
                option=VOTE_OPTIONS.index(v.option),  # type: ignore[arg-type]
                power=v.power,
                height=v.height,
                tx_hash=v.tx_hash,
            )
            for v in votes
        ],
        height=height,
    )


def _validator_entry(v: Validator) -> services_pb2.ValidatorEntry:
    return services_pb2.ValidatorEntry(
        name=v.name,
        public_key=v.public_key,
        address=v.address,
        operator=v.operator_address,
        power=v.power,
        network_address=v.network_address,
    )


def validator_set_to_proto(
    view: ValidatorSetView, committed_height: int
) -> services_pb2.ValidatorSetInfo:
    """The set in effect at a height and the change pending after it."""
    return services_pb2.ValidatorSetInfo(
        height=view.height,
        effective_height=view.effective_height,
        validators=[_validator_entry(v) for v in view.validators],
        total_power=sum(v.power for v in view.validators),
        pending_height=view.pending_height or 0,
        pending=[_validator_entry(v) for v in view.pending],
        committed_height=committed_height,
    )
