"""process_issue_batch and process_reversal."""

from __future__ import annotations

from chain import get_balance, get_batch, get_report
from chain.records import Params
from chain.rules.batches import buffer_share, make_batch_id
from proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    COMPANY,
    ISSUER,
    OWNER,
    PROJECT_ID,
    REGISTRAR,
    REPORT,
    RESIDENT,
    VERIFIER,
    Ledger,
    T,
    anchor_data,
    attest_report,
    data_hash,
    issue_batch,
    make_genesis,
    register_account,
    register_project,
)

LOSS = data_hash("guyang-fire-2024")


def supply(chain: Ledger, batch_id: str = BATCH_ID) -> tuple[int, int, int, int, int]:
    b = get_batch(chain.state, batch_id)
    return b.issued, b.tradable, b.retired, b.cancelled, b.buffer


# ---------------------------------------------------------------- issue_batch


def test_issue_batch_withholds_the_buffer_share(attested_ledger: Ledger) -> None:
    receipt = attested_ledger.ok(ISSUER, issue_batch(recipient=COMPANY.address))
    assert receipt.batches == (BATCH_ID,)
    assert supply(attested_ledger) == (150_000 * T, 120_000 * T, 0, 0, 30_000 * T)
    assert get_balance(attested_ledger.state, COMPANY.address, BATCH_ID) == 120_000 * T
    assert get_report(attested_ledger.state, REPORT).remaining_grams == 0
    batch = get_batch(attested_ledger.state, BATCH_ID)
    assert (batch.project_id, batch.report_hashes, batch.issuer) == (
        PROJECT_ID,
        (REPORT,),
        ISSUER.address,
    )


def test_batch_ids_count_per_project_and_vintage(attested_ledger: Ledger) -> None:
    attested_ledger.ok(ISSUER, issue_batch(amount_grams=100 * T))
    attested_ledger.ok(ISSUER, issue_batch(amount_grams=100 * T))
    h1 = ledger_pb2.Period(start_date=20230101, end_date=20230630)
    attested_ledger.ok(ISSUER, issue_batch(amount_grams=100 * T, vintage=h1))
    assert (
        get_batch(attested_ledger.state, make_batch_id(PROJECT_ID, 20230101, 20231231, 2)).issued
        == 100 * T
    )
    assert get_batch(attested_ledger.state, "CN15-GY-0001-20230101-20230630-001").issued == 100 * T
    assert get_report(attested_ledger.state, REPORT).remaining_grams == (150_000 - 300) * T


def test_buffer_rounds_down() -> None:
    assert buffer_share(9, 2000) == 1  # 1.8 g withheld -> 1 g, the holder gets 8
    assert buffer_share(4, 2000) == 0
    assert buffer_share(2**64 - 1, 10_000) == 2**64 - 1


def test_zero_buffer_share_param() -> None:
    chain = Ledger(make_genesis(buffer_share_bps=0))
    chain.ok(REGISTRAR, register_account(OWNER))
    chain.ok(ISSUER, register_project())
    chain.ok(ISSUER, anchor_data())
    chain.ok(VERIFIER, attest_report())
    chain.ok(ISSUER, issue_batch())
    assert supply(chain)[4] == 0
    assert Params().buffer_share_bps == 2000


def test_over_issuance_beyond_attestation(attested_ledger: Ledger) -> None:
    receipt = attested_ledger.submit(ISSUER, issue_batch(amount_grams=150_000 * T + 1))
    assert (receipt.code, receipt.error_code) == (2, "over_issuance")
    assert "150000 tCO2e" in receipt.message
    attested_ledger.ok(ISSUER, issue_batch(amount_grams=100_000 * T))
    receipt = attested_ledger.submit(ISSUER, issue_batch(amount_grams=50_000 * T + 1))
    assert receipt.error_code == "over_issuance"


def test_several_reports_back_one_batch(attested_ledger: Ledger) -> None:
    second = data_hash("guyang-survey-2023")
    attested_ledger.ok(ISSUER, anchor_data(data_hash=second, kind="survey"))
    attested_ledger.ok(VERIFIER, attest_report(data_hash=second, verified_grams=10 * T))
    attested_ledger.ok(
        ISSUER, issue_batch(report_hashes=[second, REPORT], amount_grams=150_010 * T)
    )
    assert get_report(attested_ledger.state, second).remaining_grams == 0
    assert get_report(attested_ledger.state, REPORT).remaining_grams == 0


def test_issue_needs_issuer(attested_ledger: Ledger) -> None:
    receipt = attested_ledger.submit(VERIFIER, issue_batch())
    assert (receipt.code, receipt.error_code) == (3, "missing_role")


def test_issue_unknown_project(attested_ledger: Ledger) -> None:
    receipt = attested_ledger.submit(ISSUER, issue_batch(project_id="CN33-AJ-0001"))
    assert (receipt.code, receipt.error_code) == (4, "unknown_project")


def test_issue_unknown_report(attested_ledger: Ledger) -> None:
    receipt = attested_ledger.submit(ISSUER, issue_batch(report_hashes=[data_hash("nope")]))
    assert (receipt.code, receipt.error_code) == (4, "unknown_report")


def test_issue_unregistered_recipient(attested_ledger: Ledger) -> None:
    receipt = attested_ledger.submit(ISSUER, issue_batch(recipient=RESIDENT.address))
    assert (receipt.code, receipt.error_code) == (4, "unknown_account")


def test_issue_unattested_report(project_ledger: Ledger) -> None:
    project_ledger.ok(ISSUER, anchor_data())
    receipt = project_ledger.submit(ISSUER, issue_batch())
    assert (receipt.code, receipt.error_code) == (2, "report_not_attested")


def test_issue_report_of_another_project(attested_ledger: Ledger) -> None:
    attested_ledger.ok(ISSUER, register_project(project_id="CN15-GY-0002"))
    receipt = attested_ledger.submit(ISSUER, issue_batch(project_id="CN15-GY-0002"))
    assert (receipt.code, receipt.error_code) == (2, "report_project_mismatch")


def test_issue_vintage_outside_attested_period(attested_ledger: Ledger) -> None:
    vintage = ledger_pb2.Period(start_date=20240101, end_date=20241231)
    receipt = attested_ledger.submit(ISSUER, issue_batch(vintage=vintage))
    assert (receipt.code, receipt.error_code) == (2, "report_period_mismatch")


def test_issue_against_loss_report(attested_ledger: Ledger) -> None:
    attested_ledger.ok(ISSUER, anchor_data(data_hash=LOSS, kind="loss-report"))
    attested_ledger.ok(VERIFIER, attest_report(data_hash=LOSS))
    receipt = attested_ledger.submit(ISSUER, issue_batch(report_hashes=[LOSS]))
    assert (receipt.code, receipt.error_code) == (2, "not_issuable")


def test_failed_issue_changes_nothing_but_the_nonce(attested_ledger: Ledger) -> None:
    before = dict(attested_ledger.state.data)
    attested_ledger.submit(ISSUER, issue_batch(amount_grams=200_000 * T))
    changed = {
        k for k in attested_ledger.state.data if attested_ledger.state.data[k] != before.get(k)
    }
    assert changed == {b"nonce/" + ISSUER.address.encode()}


# ---------------------------------------------------------------- reversal


def reversal(amount: int, report: bytes = LOSS, batch_id: str = BATCH_ID) -> ledger_pb2.Reversal:
    return ledger_pb2.Reversal(
        batch_id=batch_id, amount_grams=amount, loss_report_hash=report, reason="forest fire"
    )


def test_reversal_cancels_from_the_buffer(batch_ledger: Ledger) -> None:
    batch_ledger.ok(OWNER, anchor_data(data_hash=LOSS, kind="loss-report"))
    receipt = batch_ledger.ok(ISSUER, reversal(1_000 * T))
    assert supply(batch_ledger) == (150_000 * T, 120_000 * T, 0, 1_000 * T, 29_000 * T)
    assert get_batch(batch_ledger.state, BATCH_ID).reversed_grams == 1_000 * T
    assert receipt.events[0].type == "reversal"


def test_reversal_beyond_buffer(batch_ledger: Ledger) -> None:
    batch_ledger.ok(OWNER, anchor_data(data_hash=LOSS, kind="loss-report"))
    receipt = batch_ledger.submit(ISSUER, reversal(30_000 * T + 1))
    assert (receipt.code, receipt.error_code) == (2, "insufficient_buffer")
    assert "30000 tCO2e in its buffer pool" in receipt.message


def test_reversal_needs_a_loss_report(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.submit(ISSUER, reversal(1, report=REPORT))
    assert (receipt.code, receipt.error_code) == (3, "not_loss_report")
    assert batch_ledger.submit(ISSUER, reversal(1)).error_code == "unknown_report"


def test_reversal_needs_issuer(batch_ledger: Ledger) -> None:
    batch_ledger.ok(OWNER, anchor_data(data_hash=LOSS, kind="loss-report"))
    receipt = batch_ledger.submit(COMPANY, reversal(1))
    assert (receipt.code, receipt.error_code) == (3, "missing_role")


def test_reversal_unknown_batch(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.submit(
        ISSUER, reversal(1, batch_id="CN15-GY-0001-20230101-20231231-009")
    )
    assert (receipt.code, receipt.error_code) == (4, "unknown_batch")


def test_reversal_loss_report_of_another_project(batch_ledger: Ledger) -> None:
    batch_ledger.ok(ISSUER, register_project(project_id="CN15-GY-0002"))
    batch_ledger.ok(
        ISSUER, anchor_data(project_id="CN15-GY-0002", data_hash=LOSS, kind="loss-report")
    )
    receipt = batch_ledger.submit(ISSUER, reversal(1))
    assert (receipt.code, receipt.error_code) == (2, "report_project_mismatch")
