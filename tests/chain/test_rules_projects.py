"""process_register_project, process_anchor_data, process_attest_report."""

from __future__ import annotations

import pytest

from carbon_ticket.chain import get_project, get_report
from carbon_ticket.chain.rules._common import block_date
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    COMPANY,
    ISSUER,
    ISSUER2,
    OWNER,
    PROJECT_ID,
    REGISTRAR,
    REPORT,
    VALIDATORS,
    VERIFIER,
    VINTAGE,
    Ledger,
    T,
    add_second_issuer,
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
    assert project.issuer == ISSUER.address  # bound to the registering issuer
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


@pytest.mark.parametrize(
    ("signer", "expected"),
    [
        ("issuer", ""),
        ("owner", "missing_role"),
        ("verifier", "missing_role"),
        ("stranger", "missing_role"),
        ("other issuer", "not_project_issuer"),
    ],
)
def test_only_the_project_issuer_anchors(
    project_ledger: Ledger, signer: str, expected: str
) -> None:
    add_second_issuer(project_ledger)
    who = {
        "issuer": ISSUER,
        "owner": OWNER,
        "verifier": VERIFIER,
        "stranger": COMPANY,
        "other issuer": ISSUER2,
    }[signer]
    receipt = project_ledger.submit(who, anchor_data())
    assert receipt.error_code == expected
    if expected:
        assert receipt.code == 3


def test_owner_of_another_project_cannot_squat_a_data_hash(project_ledger: Ledger) -> None:
    squatter = key("squatter")
    project_ledger.ok(REGISTRAR, register_account(squatter))
    project_ledger.ok(ISSUER, register_project(project_id="MAL-0001", owner=squatter.address))
    receipt = project_ledger.submit(squatter, anchor_data(project_id="MAL-0001"))
    assert receipt.error_code == "missing_role"
    project_ledger.ok(ISSUER, anchor_data())  # the legitimate anchor still goes through


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


@pytest.mark.parametrize(
    ("attester", "expected"),
    [("verifier", ""), ("project issuer", "conflict_of_interest")],
)
def test_project_issuer_cannot_attest_even_as_verifier(
    project_ledger: Ledger, attester: str, expected: str
) -> None:
    # An account holding both roles must not vouch for the data it anchors and issues from.
    grant = ledger_pb2.GrantRole(address=ISSUER.address, role=ledger_pb2.ROLE_VERIFIER)
    project_ledger.ok(VALIDATORS[0], grant, cosigners=VALIDATORS[1:])
    project_ledger.ok(ISSUER, anchor_data())
    who = VERIFIER if attester == "verifier" else ISSUER
    receipt = project_ledger.submit(who, attest_report(verified_grams=10**18))
    assert receipt.error_code == expected
    assert get_report(project_ledger.state, REPORT).attested == (not expected)


Y2022 = ledger_pb2.Period(start_date=20220101, end_date=20221231)


@pytest.mark.parametrize(
    ("period", "kind", "expected"),
    [
        (Y2022, "co2-flux", ""),  # an earlier, disjoint year
        (ledger_pb2.Period(start_date=20221201, end_date=20221231), "survey", ""),
        (VINTAGE, "co2-flux", "overlapping_attestation"),  # the same year again
        (
            ledger_pb2.Period(start_date=20221201, end_date=20230101),
            "survey",
            "overlapping_attestation",
        ),
        (
            ledger_pb2.Period(start_date=20230601, end_date=20230630),
            "survey",
            "overlapping_attestation",
        ),
        (VINTAGE, "loss-report", ""),  # losses are not sequestration: never double counted
    ],
    ids=["disjoint year", "disjoint month", "same year", "one day", "inside", "loss report"],
)
def test_attestations_of_a_project_never_overlap(
    attested_ledger: Ledger, period: ledger_pb2.Period, kind: str, expected: str
) -> None:
    second = data_hash("second-report")
    whole = ledger_pb2.Period(start_date=20220101, end_date=20231231)
    attested_ledger.ok(ISSUER, anchor_data(data_hash=second, kind=kind, period=whole))
    receipt = attested_ledger.submit(VERIFIER, attest_report(data_hash=second, period=period))
    assert receipt.error_code == expected
    if expected:
        assert receipt.code == 5
        assert not get_report(attested_ledger.state, second).attested


def test_overlap_is_checked_per_project(attested_ledger: Ledger) -> None:
    attested_ledger.ok(ISSUER, register_project(project_id="CN15-GY-0002"))
    other = data_hash("other-project-2023")
    attested_ledger.ok(ISSUER, anchor_data(project_id="CN15-GY-0002", data_hash=other))
    attested_ledger.ok(VERIFIER, attest_report(data_hash=other))


@pytest.mark.parametrize(
    ("end_date", "expected"),
    [
        (20231231, ""),
        (20240101, "period_in_future"),  # the block's own day has not ended
        (20240102, "period_in_future"),
        (20241231, "period_in_future"),
    ],
    ids=["elapsed", "ends on the block date", "ends tomorrow", "ends next year"],
)
def test_attested_period_must_have_ended(
    project_ledger: Ledger, end_date: int, expected: str
) -> None:
    # Blocks in the harness are dated 2024-01-01 (UTC).
    period = ledger_pb2.Period(start_date=20230101, end_date=end_date)
    anchored = ledger_pb2.Period(start_date=20230101, end_date=20241231)
    project_ledger.ok(ISSUER, anchor_data(period=anchored))
    receipt = project_ledger.submit(VERIFIER, attest_report(period=period))
    assert receipt.error_code == expected
    if expected:
        assert receipt.code == 2


@pytest.mark.parametrize(
    ("time_ms", "expected"),
    [
        (0, 19700101),
        (86_400_000 - 1, 19700101),
        (86_400_000, 19700102),
        (1_704_067_200_000, 20240101),
        (1_709_164_800_000, 20240229),
        (-1, 19700101),
        (2**63, 99991231),
    ],
)
def test_block_date_is_the_utc_calendar_day(time_ms: int, expected: int) -> None:
    assert block_date(time_ms) == expected
