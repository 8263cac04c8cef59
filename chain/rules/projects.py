"""Projects and their monitoring data: registration, data anchors and verifier attestations."""

from __future__ import annotations

from dataclasses import replace

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import AlreadyExists, PermissionDenied, PreconditionFailed
from carbon_ticket.chain.records import PROJECT_KINDS, Period, Project, Report
from carbon_ticket.chain.rules._common import (
    BlockContext,
    Effects,
    block_date,
    event,
    period_of,
    require_account,
    require_project_issuer,
    require_role,
    tco2e,
)
from carbon_ticket.chain.rules.project_ids import claim_project_ids, require_unclaimed_ids
from carbon_ticket.chain.state import StateOverlay, get_project, get_report
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "LOSS_REPORT_KIND",
    "process_anchor_data",
    "process_attest_report",
    "process_register_project",
]

# Data anchored with this kind documents a loss (fire, pests); reversals must cite one.
LOSS_REPORT_KIND = "loss-report"


def process_register_project(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.RegisterProject
) -> Effects:
    """An issuer registers a carbon project owned by a registered account."""
    signer = tx.body.signer
    # Verify the signer is an issuer
    require_role(state, "issuer", signer, "registering a project")
    # Verify the project id is new
    key = keys.project_key(msg.project_id)
    if state.get(key) is not None:
        raise AlreadyExists(f"project {msg.project_id} is already registered", "project_exists")
    # Verify the owner is registered
    require_account(state, msg.owner, "project owner")
    # Verify no other project holds its external ids or parcels (one forest, one project)
    require_unclaimed_ids(state, msg)

    project = Project(
        project_id=msg.project_id,
        name=msg.name,
        region=msg.region,
        kind=PROJECT_KINDS[msg.kind],
        area_centihectares=msg.area_centihectares,
        methodology=msg.methodology,
        metadata_hash=msg.metadata_hash,
        metadata_uri=msg.metadata_uri,
        owner=msg.owner,
        issuer=signer,
        height=ctx.height,
        time_ms=ctx.time_ms,
        external_ids=tuple(msg.external_ids),
        parcel_ids=tuple(msg.parcel_ids),
        boundary_hash=msg.boundary_hash,
    )
    state.set(key, project.encode())
    claim_project_ids(state, msg)
    return Effects(
        events=(
            event(
                "register_project",
                ("project_id", msg.project_id),
                ("region", msg.region),
                ("kind", project.kind),
                ("owner", msg.owner),
            ),
        ),
        accounts=tuple(sorted({signer, msg.owner})),
    )


def process_anchor_data(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.AnchorData
) -> Effects:
    """The project's issuer anchors the hash of a monitoring dataset or report for the project.

    Data hashes are global, so anchoring is reserved to the issuer that registered the project:
    nobody else can claim (squat) the hash of a project's data before its issuer anchors it.
    """
    signer = tx.body.signer
    # Verify the signer is an issuer, the project exists and the signer registered it
    require_role(state, "issuer", signer, "anchoring data")
    project = get_project(state, msg.project_id)
    require_project_issuer(project, signer, "anchoring data")
    # Verify the data hash is new
    key = keys.report_key(msg.data_hash)
    if state.get(key) is not None:
        raise AlreadyExists(
            f"data with hash {msg.data_hash.hex()} is already anchored", "report_exists"
        )

    report = Report(
        data_hash=msg.data_hash,
        project_id=msg.project_id,
        period=period_of(msg.period),
        uri=msg.uri,
        kind=msg.kind,
        anchored_by=signer,
        anchored_height=ctx.height,
    )
    state.set(key, report.encode())
    return Effects(
        events=(
            event(
                "anchor_data",
                ("project_id", msg.project_id),
                ("data_hash", msg.data_hash.hex()),
                ("period", str(report.period)),
                ("kind", msg.kind),
            ),
        ),
        accounts=(signer,),
    )


def process_attest_report(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.AttestReport
) -> Effects:
    """A verifier attests that an anchored report verifies a quantity of grams for a period."""
    signer = tx.body.signer
    # Verify the signer is a verifier
    require_role(state, "verifier", signer, "attesting a report")
    # Verify the report is anchored and not attested yet
    report = get_report(state, msg.data_hash)
    if report.attested:
        raise AlreadyExists(
            f"report {msg.data_hash.hex()} was already attested by {report.verifier} "
            f"for {tco2e(report.verified_grams)}",
            "already_attested",
        )
    # Verify the attested period lies within the report's and has ended
    attested = period_of(msg.period)
    _require_attestable_period(report, attested, block_date(ctx.time_ms))
    # Verify the verifier is independent of the project, its issuer and the report's anchorer
    project = get_project(state, report.project_id)
    if signer in (project.owner, project.issuer, report.anchored_by):
        raise PermissionDenied(
            f"account {signer} owns, issues for or anchored data of project "
            f"{project.project_id} and cannot attest its reports",
            "conflict_of_interest",
        )
    # Verify no other attested (non-loss) report of the project covers any of these days
    is_loss = report.kind == LOSS_REPORT_KIND
    if not is_loss:
        _require_no_overlap(state, report.project_id, attested)

    updated = replace(
        report,
        verifier=signer,
        verified_grams=msg.verified_grams,
        attested_period=attested,
        remaining_grams=msg.verified_grams,
        attested_height=ctx.height,
    )
    state.set(keys.report_key(msg.data_hash), updated.encode())
    if not is_loss:
        state.set(
            keys.attested_key(report.project_id, attested.start_date, attested.end_date),
            msg.data_hash,
        )
    return Effects(
        events=(
            event(
                "attest_report",
                ("project_id", report.project_id),
                ("data_hash", msg.data_hash.hex()),
                ("verified_grams", str(msg.verified_grams)),
                ("period", str(attested)),
                ("verifier", signer),
            ),
        ),
        accounts=(signer,),
    )


def _require_attestable_period(report: Report, attested: Period, today: int) -> None:
    """Verify ``attested`` lies within the report's period and its last day is before ``today``.

    ``today`` is the block's (UTC) date, so a day still under way cannot be attested.
    """
    if not report.period.contains(attested):
        raise PreconditionFailed(
            f"attested period {attested} is outside the report's period {report.period}",
            "period_mismatch",
        )
    if attested.end_date >= today:
        raise PreconditionFailed(
            f"attested period {attested} ends on or after the block date {today:08d}; only "
            "periods whose last day has ended can be attested",
            "period_in_future",
        )


def _require_no_overlap(state: StateOverlay, project_id: str, attested: Period) -> None:
    """Verify no attested (non-loss) report of the project covers a day of ``attested``.

    The same days cannot be counted twice; a prefix scan lists the project's attested periods.
    """
    prefix = keys.attested_prefix(project_id)
    for key, other_hash in state.scan(prefix):
        start, end = key[len(prefix) :].decode().split("-")
        other = Period(int(start), int(end))
        if other.overlaps(attested):
            raise AlreadyExists(
                f"project {project_id} already has report {other_hash.hex()} "
                f"attested for {other}, which overlaps {attested}; the same days cannot "
                "be counted twice",
                "overlapping_attestation",
            )
