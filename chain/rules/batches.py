"""Issuance of batches against attested reports, and reversals from the buffer pool."""

from __future__ import annotations

from dataclasses import replace

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import (
    AlreadyExists,
    InvalidTransaction,
    PermissionDenied,
    PreconditionFailed,
)
from carbon_ticket.chain.records import Batch, Period, Report
from carbon_ticket.chain.rules._common import (
    BlockContext,
    Effects,
    credit_tradable,
    event,
    next_day,
    period_of,
    read_u64,
    require_account,
    require_project_issuer,
    require_role,
    tco2e,
)
from carbon_ticket.chain.rules.projects import LOSS_REPORT_KIND
from carbon_ticket.chain.state import StateOverlay, get_batch, get_params, get_project, get_report
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "buffer_share",
    "make_batch_id",
    "process_issue_batch",
    "process_reversal",
    "require_new_batch_id",
]


def make_batch_id(project_id: str, start_date: int, end_date: int, seq: int) -> str:
    """The deterministic id of a project's ``seq``-th batch of a vintage."""
    return f"{project_id}-{start_date:08d}-{end_date:08d}-{seq:03d}"


def buffer_share(amount: int, buffer_share_bps: int) -> int:
    """Grams withheld into the buffer pool: rounded down, so the holder never gets less."""
    return amount * buffer_share_bps // 10_000


def process_issue_batch(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.IssueBatch
) -> Effects:
    """Issue a batch for a project and vintage, never more than the cited reports attest."""
    signer = tx.body.signer
    # Verify the signer is an issuer, the project exists, the signer registered it and the
    # recipient is registered
    require_role(state, "issuer", signer, "issuing a batch")
    project = get_project(state, msg.project_id)
    require_project_issuer(project, signer, "issuing a batch")
    require_account(state, msg.recipient, "recipient")
    # Verify the cited reports back the vintage and hold the grams
    vintage = period_of(msg.vintage)
    reports = _verified_reports(state, signer, msg, vintage)
    # Verify the next batch id of the vintage is usable
    params = get_params(state)
    seq_key = keys.batch_seq_key(msg.project_id, vintage.start_date, vintage.end_date)
    seq = read_u64(state, seq_key) + 1
    batch_id = make_batch_id(msg.project_id, vintage.start_date, vintage.end_date, seq)
    require_new_batch_id(state, batch_id, params.limits.max_id_bytes)

    _consume_attested(state, reports, msg.amount_grams)
    buffer = buffer_share(msg.amount_grams, params.buffer_share_bps)
    tradable = msg.amount_grams - buffer
    batch = Batch(
        batch_id=batch_id,
        project_id=msg.project_id,
        vintage=vintage,
        issuer=signer,
        recipient=msg.recipient,
        report_hashes=tuple(msg.report_hashes),
        issued=msg.amount_grams,
        tradable=tradable,
        retired=0,
        cancelled=0,
        buffer=buffer,
        reversed_grams=0,
        height=ctx.height,
        time_ms=ctx.time_ms,
    )
    state.set(keys.batch_key(batch_id), batch.encode())
    state.set(seq_key, keys.encode_u64(seq))
    if tradable:
        credit_tradable(state, msg.recipient, batch_id, tradable)
    return Effects(
        events=(
            event(
                "issue",
                ("batch_id", batch_id),
                ("project_id", msg.project_id),
                ("amount_grams", str(msg.amount_grams)),
                ("buffer_grams", str(buffer)),
                ("tradable_grams", str(tradable)),
                ("recipient", msg.recipient),
            ),
        ),
        accounts=tuple(sorted({signer, msg.recipient})),
        batches=(batch_id,),
    )


def _verified_reports(
    state: StateOverlay, signer: str, msg: ledger_pb2.IssueBatch, vintage: Period
) -> list[Report]:
    """Verify the cited reports may back this issuance; return them in the order cited."""
    # Verify no report is cited twice (check_tx does too; the rule must not depend on it)
    if len(set(msg.report_hashes)) != len(msg.report_hashes):
        raise InvalidTransaction("issuance cites the same report twice", "duplicate_report")
    # Verify every cited report may back a batch of this vintage for this recipient
    reports = [
        _verified_issuance_report(state, signer, msg, vintage, data_hash)
        for data_hash in msg.report_hashes
    ]
    # Verify the attested periods together cover every day of the vintage
    if not _covers([r.attested_period for r in reports if r.attested_period], vintage):
        raise PreconditionFailed(
            f"vintage {vintage} is not covered by the periods the cited reports attest "
            f"({', '.join(str(r.attested_period) for r in reports)})",
            "vintage_not_covered",
        )
    # Verify the reports have enough attested grams left
    available = sum(r.remaining_grams for r in reports)
    if msg.amount_grams > available:
        raise PreconditionFailed(
            f"over-issuance: the cited reports have {tco2e(available)} of attested grams left, "
            f"the batch asks for {tco2e(msg.amount_grams)}",
            "over_issuance",
        )
    return reports


def _verified_issuance_report(
    state: StateOverlay,
    signer: str,
    msg: ledger_pb2.IssueBatch,
    vintage: Period,
    data_hash: bytes,
) -> Report:
    """Verify one cited report: an independently attested report of this project, by a verifier
    who still holds the role and does not receive the batch, attesting days of the vintage only.
    """
    report = get_report(state, data_hash)
    name = data_hash.hex()
    if report.project_id != msg.project_id:
        raise PreconditionFailed(
            f"report {name} belongs to project {report.project_id}, not {msg.project_id}",
            "report_project_mismatch",
        )
    if report.kind == LOSS_REPORT_KIND:
        raise PreconditionFailed(
            f"report {name} is a loss report and cannot back an issuance", "not_issuable"
        )
    if report.attested_period is None:
        raise PreconditionFailed(
            f"report {name} has not been attested by a verifier yet", "report_not_attested"
        )
    _require_independent(report, signer)
    _require_verifier_active(state, report)
    if report.verifier == msg.recipient:
        raise PermissionDenied(
            f"report {name} was attested by {report.verifier}, who cannot receive the "
            "batch it backs",
            "conflict_of_interest",
        )
    # A report attesting days outside the vintage would let a whole year's grams back a
    # vintage of one day: the vintage must be exactly the days its reports attest.
    if not vintage.contains(report.attested_period):
        raise PreconditionFailed(
            f"report {name} attests {report.attested_period}, which is not within vintage "
            f"{vintage}; a vintage must be the union of the periods its reports attest",
            "report_period_mismatch",
        )
    return report


def require_new_batch_id(state: StateOverlay, batch_id: str, max_id_bytes: int) -> None:
    """Verify a new batch id fits the id limit (else transfers could never name it) and is new."""
    if len(batch_id) > max_id_bytes:
        raise PreconditionFailed(
            f"batch id {batch_id} would be {len(batch_id)} bytes, the limit is {max_id_bytes}",
            "batch_id_too_long",
        )
    if state.get(keys.batch_key(batch_id)) is not None:  # only if the key layout is broken
        raise AlreadyExists(f"batch {batch_id} exists already", "batch_exists")


def _consume_attested(state: StateOverlay, reports: list[Report], amount: int) -> None:
    """Take ``amount`` attested grams from the reports, in the order cited (verified to hold it)."""
    left = amount
    for report in reports:
        used = min(left, report.remaining_grams)
        if used:
            _save_remaining(state, report, report.remaining_grams - used)
            left -= used


def _save_remaining(state: StateOverlay, report: Report, remaining_grams: int) -> None:
    state.set(
        keys.report_key(report.data_hash),
        replace(report, remaining_grams=remaining_grams).encode(),
    )


def process_reversal(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.Reversal
) -> Effects:
    """The project's issuer cancels grams from a batch's buffer pool after an attested loss.

    The loss report's attested grams are consumed like an issuance consumes attested reports,
    so one loss report never backs more reversals than a verifier attested.
    """
    signer = tx.body.signer
    # Verify the signer is an issuer, the batch exists and the signer registered its project
    require_role(state, "issuer", signer, "reversing a loss")
    batch = get_batch(state, msg.batch_id)
    require_project_issuer(get_project(state, batch.project_id), signer, "reversing a loss")
    # Verify the loss report is an attested loss of the batch's project that may reverse it
    report = _verified_loss_report(state, signer, batch, msg)
    # Verify the buffer pool holds enough
    if msg.amount_grams > batch.buffer:
        raise PreconditionFailed(
            f"insufficient buffer: batch {batch.batch_id} holds {tco2e(batch.buffer)} in its "
            f"buffer pool, the reversal needs {tco2e(msg.amount_grams)}",
            "insufficient_buffer",
        )

    _save_remaining(state, report, report.remaining_grams - msg.amount_grams)
    updated = replace(
        batch,
        buffer=batch.buffer - msg.amount_grams,
        cancelled=batch.cancelled + msg.amount_grams,
        reversed_grams=batch.reversed_grams + msg.amount_grams,
    )
    state.set(keys.batch_key(batch.batch_id), updated.encode())
    return Effects(
        events=(
            event(
                "reversal",
                ("batch_id", batch.batch_id),
                ("amount_grams", str(msg.amount_grams)),
                ("loss_report", msg.loss_report_hash.hex()),
                ("reason", msg.reason),
            ),
        ),
        accounts=(signer,),
        batches=(batch.batch_id,),
    )


def _verified_loss_report(
    state: StateOverlay, signer: str, batch: Batch, msg: ledger_pb2.Reversal
) -> Report:
    """Verify the cited loss report may back this reversal; return it."""
    # Verify the loss report is anchored for the batch's project and is a loss report
    report = get_report(state, msg.loss_report_hash)
    name = msg.loss_report_hash.hex()
    if report.project_id != batch.project_id:
        raise PreconditionFailed(
            f"loss report {name} belongs to project {report.project_id}, not {batch.project_id}",
            "report_project_mismatch",
        )
    if report.kind != LOSS_REPORT_KIND:
        raise PermissionDenied(
            f"report {name} is a {report.kind!r} report; a reversal must cite data anchored "
            f"with kind {LOSS_REPORT_KIND!r}",
            "not_loss_report",
        )
    # Verify a verifier independent of the signer, still holding the role, attested a loss
    # that did not end before the vintage began (stored carbon is lost after it was
    # sequestered, so a 2025 fire may reverse a 2023 vintage)
    if report.attested_period is None:
        raise PreconditionFailed(
            f"loss report {name} has not been attested by a verifier yet", "report_not_attested"
        )
    _require_independent(report, signer)
    _require_verifier_active(state, report)
    if report.attested_period.end_date < batch.vintage.start_date:
        raise PreconditionFailed(
            f"loss report {name} attests {report.attested_period}, which ends before the "
            f"vintage {batch.vintage} of batch {batch.batch_id} begins",
            "report_period_mismatch",
        )
    # Verify the loss report has enough attested grams left
    if msg.amount_grams > report.remaining_grams:
        raise PreconditionFailed(
            f"over-reversal: loss report {name} has {tco2e(report.remaining_grams)} of "
            f"attested losses left, the reversal asks for {tco2e(msg.amount_grams)}",
            "over_reversal",
        )
    return report


def _require_independent(report: Report, signer: str) -> None:
    """Verify the report's verifier is neither ``signer`` nor the account that anchored it."""
    if report.verifier in (signer, report.anchored_by):
        raise PermissionDenied(
            f"report {report.data_hash.hex()} was attested by {report.verifier}, who also "
            f"{'signs this transaction' if report.verifier == signer else 'anchored it'}; "
            "it needs an independent verifier",
            "self_attested",
        )


def _require_verifier_active(state: StateOverlay, report: Report) -> None:
    """Verify the report's verifier still holds the verifier role.

    An attestation is only as good as its verifier's accreditation: once governance revokes
    the role, the verifier's attestations back no further issuance or reversal.
    """
    if state.get(keys.role_key("verifier", report.verifier)) is None:
        raise PreconditionFailed(
            f"report {report.data_hash.hex()} was attested by {report.verifier}, who no longer "
            "holds the verifier role; its attestation backs nothing more",
            "verifier_revoked",
        )


def _covers(periods: list[Period], vintage: Period) -> bool:
    """True when the union of ``periods`` contains every day of ``vintage``."""
    reached = vintage.start_date  # every day before ``reached`` is covered
    for period in sorted(periods, key=lambda p: (p.start_date, p.end_date)):
        if period.start_date > reached:
            break
        if period.end_date >= reached:
            reached = next_day(period.end_date)
        if reached > vintage.end_date:
            return True
    return reached > vintage.end_date
