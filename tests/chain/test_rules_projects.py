"""process_register_project, process_anchor_data, process_attest_report."""

from __future__ import annotations

from chain import get_project, get_report
from proto import ledger_pb2
from tests.chain.conftest import (
    COMPANY,
    ISSUER,
    OWNER,
    PROJECT_ID,
    REGISTRAR,
    REPORT,
    VERIFIER,
    Ledger,
    T,
    anchor_data,
    attest_report,
    data_hash,
    key,
    register_account,
    register_project,
)

# ---------------------------------------------------------------- register_project


def test_register_project(project_ledger: Ledger) -> None:
    project = get_project(project_ledger.state, PROJECT_ID)
    assert (project.region, project.kind, project.area_centihectares) == (
        "CN-15",
        "forest",
        150_000,
    )
    assert project.owner == OWNER.address
    assert project.height == 3


def test_register_project_needs_issuer(ledger: Ledger) -> None:
    ledger.ok(REGISTRAR, register_account(OWNER))
    receipt = ledger.submit(REGISTRAR, register_project())
    assert (receipt.code, receipt.error_code) == (3, "missing_role")


def test_register_project_owner_must_be_registered(ledger: Ledger) -> None:
    receipt = ledger.submit(ISSUER, register_project())
    assert (receipt.code, receipt.error_code) == (4, "unknown_account")
    assert "project owner" in receipt.message


def test_register_project_duplicate_id(project_ledger: Ledger) -> None:
    receipt = project_ledger.submit(ISSUER, register_project(name="Another"))
    assert (receipt.code, receipt.error_code) == (5, "project_exists")


# ---------------------------------------------------------------- anchor_data


def test_anchor_data(project_ledger: Ledger) -> None:
    project_ledger.ok(ISSUER, anchor_data())
    report = get_report(project_ledger.state, REPORT)
    assert (report.project_id, report.kind, report.anchored_by) == (
        PROJECT_ID,
        "co2-flux",
        ISSUER.address,
    )
    assert not report.attested


def test_project_owner_and_verifier_may_anchor(project_ledger: Ledger) -> None:
    project_ledger.ok(OWNER, anchor_data(data_hash=data_hash("owner-survey")))
    project_ledger.ok(VERIFIER, anchor_data(data_hash=data_hash("verifier-visit")))


def test_anchor_data_by_a_stranger_is_denied(project_ledger: Ledger) -> None:
    receipt = project_ledger.submit(COMPANY, anchor_data())
    assert (receipt.code, receipt.error_code) == (3, "missing_role")


def test_anchor_data_unknown_project(project_ledger: Ledger) -> None:
    receipt = project_ledger.submit(ISSUER, anchor_data(project_id="CN33-AJ-0001"))
    assert (receipt.code, receipt.error_code) == (4, "unknown_project")


def test_anchor_data_duplicate_hash(project_ledger: Ledger) -> None:
    project_ledger.ok(ISSUER, anchor_data())
    receipt = project_ledger.submit(ISSUER, anchor_data(kind="survey"))
    assert (receipt.code, receipt.error_code) == (5, "report_exists")


# ---------------------------------------------------------------- attest_report


def test_attest_report(attested_ledger: Ledger) -> None:
    report = get_report(attested_ledger.state, REPORT)
    assert report.verifier == VERIFIER.address
    assert report.verified_grams == report.remaining_grams == 150_000 * T


def test_attest_needs_verifier(project_ledger: Ledger) -> None:
    project_ledger.ok(ISSUER, anchor_data())
    receipt = project_ledger.submit(ISSUER, attest_report())
    assert (receipt.code, receipt.error_code) == (3, "missing_role")


def test_attest_unknown_report(project_ledger: Ledger) -> None:
    receipt = project_ledger.submit(VERIFIER, attest_report())
    assert (receipt.code, receipt.error_code) == (4, "unknown_report")


def test_attest_twice(attested_ledger: Ledger) -> None:
    receipt = attested_ledger.submit(VERIFIER, attest_report(verified_grams=1))
    assert (receipt.code, receipt.error_code) == (5, "already_attested")


def test_attest_period_outside_report(project_ledger: Ledger) -> None:
    project_ledger.ok(ISSUER, anchor_data())
    period = ledger_pb2.Period(start_date=20230101, end_date=20240131)
    receipt = project_ledger.submit(VERIFIER, attest_report(period=period))
    assert (receipt.code, receipt.error_code) == (2, "period_mismatch")


def test_owner_cannot_attest_own_project() -> None:
    chain = Ledger()
    chain.ok(REGISTRAR, register_account(OWNER))
    chain.ok(ISSUER, register_project(owner=VERIFIER.address))
    chain.ok(ISSUER, anchor_data())
    receipt = chain.submit(VERIFIER, attest_report())
    assert (receipt.code, receipt.error_code) == (3, "conflict_of_interest")
    assert key("unused") is not None
