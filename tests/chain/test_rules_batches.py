"""process_issue_batch and process_reversal."""

from __future__ import annotations

import dataclasses

import pytest

from carbon_ticket.chain import BlockContext, apply_block, get_balance, get_batch, get_report
from carbon_ticket.chain.keys import batch_seq_key, report_key
from carbon_ticket.chain.records import Params, Period, Report
from carbon_ticket.chain.rules.batches import buffer_share, make_batch_id
from carbon_ticket.chain.tx import decode_tx
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    GENESIS_TIME_MS,
    ISSUER,
    ISSUER2,
    LIMITS,
    OWNER,
    PROJECT_ID,
    REGISTRAR,
    REPORT,
    RESIDENT,
    VERIFIER,
    VINTAGE,
    Ledger,
    T,
    add_second_issuer,
    anchor_data,
    attest_report,
    data_hash,
    issue_batch,
    make_genesis,
    register_account,
    register_project,
)

LOSS = data_hash("guyang-fire-2024")
H1 = ledger_pb2.Period(start_date=20230101, end_date=20230630)
H2 = ledger_pb2.Period(start_date=20230701, end_date=20231231)


def add_loss(chain: Ledger, grams: int = 40_000 * T, period: ledger_pb2.Period = VINTAGE) -> None:
    """The project's issuer anchors LOSS as a loss report; the verifier attests ``grams``."""
    chain.ok(ISSUER, anchor_data(data_hash=LOSS, kind="loss-report", period=period))
    chain.ok(VERIFIER, attest_report(data_hash=LOSS, verified_grams=grams, period=period))


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
    attested_ledger.ok(ISSUER, register_project(project_id="CN15-GY-0002"))
    other = data_hash("other-project-2023")
    attested_ledger.ok(ISSUER, anchor_data(project_id="CN15-GY-0002", data_hash=other))
    attested_ledger.ok(VERIFIER, attest_report(data_hash=other, verified_grams=100 * T))
    attested_ledger.ok(
        ISSUER, issue_batch(project_id="CN15-GY-0002", report_hashes=[other], amount_grams=100 * T)
    )
    assert (
        get_batch(attested_ledger.state, make_batch_id(PROJECT_ID, 20230101, 20231231, 2)).issued
        == 100 * T
    )
    assert get_batch(attested_ledger.state, "CN15-GY-0002-20230101-20231231-001").issued == 100 * T
    assert get_report(attested_ledger.state, REPORT).remaining_grams == (150_000 - 200) * T


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


def test_several_reports_back_one_batch(project_ledger: Ledger) -> None:
    first, second = data_hash("guyang-flux-2023-h1"), data_hash("guyang-survey-2023-h2")
    project_ledger.ok(ISSUER, anchor_data(data_hash=first))
    project_ledger.ok(ISSUER, anchor_data(data_hash=second, kind="survey"))
    project_ledger.ok(VERIFIER, attest_report(data_hash=first, period=H1))
    project_ledger.ok(VERIFIER, attest_report(data_hash=second, verified_grams=10 * T, period=H2))
    project_ledger.ok(ISSUER, issue_batch(report_hashes=[second, first], amount_grams=150_010 * T))
    assert get_report(project_ledger.state, second).remaining_grams == 0
    assert get_report(project_ledger.state, first).remaining_grams == 0


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
    add_loss(attested_ledger)
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
    add_loss(batch_ledger)
    receipt = batch_ledger.ok(ISSUER, reversal(1_000 * T))
    assert supply(batch_ledger) == (150_000 * T, 120_000 * T, 0, 1_000 * T, 29_000 * T)
    assert get_batch(batch_ledger.state, BATCH_ID).reversed_grams == 1_000 * T
    assert receipt.events[0].type == "reversal"


def test_reversal_beyond_buffer(batch_ledger: Ledger) -> None:
    add_loss(batch_ledger)
    receipt = batch_ledger.submit(ISSUER, reversal(30_000 * T + 1))
    assert (receipt.code, receipt.error_code) == (2, "insufficient_buffer")
    assert "30000 tCO2e in its buffer pool" in receipt.message


def test_reversal_needs_a_loss_report(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.submit(ISSUER, reversal(1, report=REPORT))
    assert (receipt.code, receipt.error_code) == (3, "not_loss_report")
    assert batch_ledger.submit(ISSUER, reversal(1)).error_code == "unknown_report"


def test_reversal_needs_issuer(batch_ledger: Ledger) -> None:
    add_loss(batch_ledger)
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


# ---------------------------------------------------------------- project binding


@pytest.mark.parametrize(
    ("signer", "expected"),
    [("issuer", ""), ("second", "not_project_issuer")],
    ids=["registering issuer", "another issuer"],
)
def test_only_the_project_issuer_issues(
    attested_ledger: Ledger, signer: str, expected: str
) -> None:
    add_second_issuer(attested_ledger)
    who = ISSUER if signer == "issuer" else ISSUER2
    receipt = attested_ledger.submit(who, issue_batch(recipient=who.address))
    assert receipt.error_code == expected
    if expected:
        assert receipt.code == 3
        assert get_report(attested_ledger.state, REPORT).remaining_grams == 150_000 * T


@pytest.mark.parametrize(
    ("signer", "expected"),
    [("issuer", ""), ("second", "not_project_issuer")],
    ids=["registering issuer", "another issuer"],
)
def test_only_the_project_issuer_reverses(batch_ledger: Ledger, signer: str, expected: str) -> None:
    add_second_issuer(batch_ledger)
    add_loss(batch_ledger)
    receipt = batch_ledger.submit(ISSUER if signer == "issuer" else ISSUER2, reversal(T))
    assert receipt.error_code == expected
    assert get_batch(batch_ledger.state, BATCH_ID).reversed_grams == (0 if expected else T)


# ---------------------------------------------------------------- reversal evidence

Y2022 = ledger_pb2.Period(start_date=20220101, end_date=20221231)


@pytest.mark.parametrize(
    ("attested", "period", "amounts", "expected"),
    [
        (10 * T, VINTAGE, [10 * T], ""),
        (10 * T, VINTAGE, [6 * T, 4 * T], ""),
        (0, VINTAGE, [T], "report_not_attested"),
        (10 * T, VINTAGE, [10 * T + 1], "over_reversal"),
        (10 * T, VINTAGE, [6 * T, 4 * T + 1], "over_reversal"),  # no reuse beyond attested
        (10 * T, Y2022, [T], "report_period_mismatch"),  # loss period misses the vintage
    ],
    ids=["whole", "in two", "unattested", "beyond attested", "reused", "other period"],
)
def test_reversal_consumes_an_attested_loss_report(
    batch_ledger: Ledger,
    attested: int,
    period: ledger_pb2.Period,
    amounts: list[int],
    expected: str,
) -> None:
    batch_ledger.ok(ISSUER, anchor_data(data_hash=LOSS, kind="loss-report", period=period))
    if attested:
        batch_ledger.ok(
            VERIFIER, attest_report(data_hash=LOSS, verified_grams=attested, period=period)
        )
    receipts = [batch_ledger.submit(ISSUER, reversal(amount)) for amount in amounts]
    assert all(r.ok for r in receipts[:-1])
    assert receipts[-1].error_code == expected
    reversed_grams = sum(amounts) if not expected else sum(amounts[:-1])
    assert get_batch(batch_ledger.state, BATCH_ID).reversed_grams == reversed_grams
    if attested:
        assert get_report(batch_ledger.state, LOSS).remaining_grams == attested - reversed_grams


# ---------------------------------------------------------------- vintage coverage

MAR = ledger_pb2.Period(start_date=20230301, end_date=20230331)


@pytest.mark.parametrize(
    ("attested", "vintage", "expected"),
    [
        ([VINTAGE], VINTAGE, ""),
        ([VINTAGE], H1, "report_period_mismatch"),  # a year's grams cannot back half a year
        ([H1, H2], VINTAGE, ""),  # adjacent periods cover the year together
        ([H1], VINTAGE, "vintage_not_covered"),
        (
            [VINTAGE],
            ledger_pb2.Period(start_date=20231231, end_date=20301231),
            "report_period_mismatch",
        ),
        (
            [VINTAGE],
            ledger_pb2.Period(start_date=20221201, end_date=20230131),
            "report_period_mismatch",
        ),
        (
            [MAR, H2],
            ledger_pb2.Period(start_date=20230301, end_date=20231231),
            "vintage_not_covered",
        ),
    ],
    ids=["equal", "within", "adjacent", "half", "runs past", "starts before", "gap"],
)
def test_vintage_lies_within_the_attested_periods(
    project_ledger: Ledger,
    attested: list[ledger_pb2.Period],
    vintage: ledger_pb2.Period,
    expected: str,
) -> None:
    hashes = [data_hash(f"report-{i}") for i in range(len(attested))]
    for report, period in zip(hashes, attested, strict=True):
        project_ledger.ok(ISSUER, anchor_data(data_hash=report))
        project_ledger.ok(
            VERIFIER, attest_report(data_hash=report, verified_grams=T, period=period)
        )
    receipt = project_ledger.submit(
        ISSUER, issue_batch(report_hashes=hashes, vintage=vintage, amount_grams=T)
    )
    assert receipt.error_code == expected
    if expected:
        assert receipt.code == 2


# ---------------------------------------------------------------- self-attestation


@pytest.mark.parametrize(
    ("anchored_by", "verifier", "expected"),
    [
        ("issuer", "verifier", ""),
        ("issuer", "issuer", "self_attested"),  # attested by the signer itself
        ("verifier", "verifier", "self_attested"),  # anchored and attested by one account
    ],
    ids=["independent", "by the signer", "anchorer attests"],
)
def test_issue_rejects_self_attested_reports(
    project_ledger: Ledger, anchored_by: str, verifier: str, expected: str
) -> None:
    # The attestation rules refuse such reports, so plant one directly in state.
    who = {"issuer": ISSUER.address, "verifier": VERIFIER.address}
    period = Period(20230101, 20231231)
    report = Report(
        REPORT, PROJECT_ID, period, "u", "co2-flux", who[anchored_by], 1,
        who[verifier], 100 * T, period, 100 * T, 1,
    )  # fmt: skip
    project_ledger.state.data[report_key(REPORT)] = report.encode()
    receipt = project_ledger.submit(ISSUER, issue_batch(amount_grams=100 * T))
    assert receipt.error_code == expected
    if expected:
        assert receipt.code == 3
        assert get_report(project_ledger.state, REPORT).remaining_grams == 100 * T


def test_reversal_rejects_a_self_attested_loss_report(batch_ledger: Ledger) -> None:
    period = Period(20230101, 20231231)
    loss = Report(
        LOSS, PROJECT_ID, period, "u", "loss-report", ISSUER.address, 1,
        ISSUER.address, 100 * T, period, 100 * T, 1,
    )  # fmt: skip
    batch_ledger.state.data[report_key(LOSS)] = loss.encode()
    assert batch_ledger.submit(ISSUER, reversal(T)).error_code == "self_attested"


# ---------------------------------------------------------------- rules deduplicate reports


@pytest.mark.parametrize(
    ("cited", "expected"),
    [([REPORT], ""), ([REPORT, REPORT], "duplicate_report")],
    ids=["once", "twice"],
)
def test_issue_rule_rejects_a_report_cited_twice(
    attested_ledger: Ledger, cited: list[bytes], expected: str
) -> None:
    # decode_tx checks the envelope and signatures only: the rule alone must catch duplicates.
    raw = attested_ledger.tx(ISSUER, issue_batch(report_hashes=cited, amount_grams=100 * T))
    tx = decode_tx(raw, CHAIN_ID, LIMITS)
    ctx = BlockContext(CHAIN_ID, 99, GENESIS_TIME_MS, attested_ledger.app_hash)
    receipt = apply_block(attested_ledger.state, ctx, [tx]).receipts[0]
    assert receipt.error_code == expected
    if expected:
        assert receipt.code == 1


@pytest.mark.parametrize(("seq", "expected"), [(998, ""), (999, "batch_id_too_long")])
def test_issue_refuses_batch_ids_over_the_id_limit(seq: int, expected: str) -> None:
    long_id = "CN15-" + "A" * 27  # 32 characters, the longest project id
    genesis = make_genesis()
    limits = dataclasses.replace(genesis.params.limits, max_id_bytes=54)
    chain = Ledger(dataclasses.replace(genesis, params=Params(limits=limits)))
    chain.ok(REGISTRAR, register_account(OWNER))
    chain.ok(ISSUER, register_project(project_id=long_id))
    chain.ok(ISSUER, anchor_data(project_id=long_id))
    chain.ok(VERIFIER, attest_report())
    chain.state.data[batch_seq_key(long_id, 20230101, 20231231)] = seq.to_bytes(8, "big")
    receipt = chain.submit(ISSUER, issue_batch(project_id=long_id, amount_grams=T))
    assert receipt.error_code == expected
