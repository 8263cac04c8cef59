"""The rule gaps of issue 12 (point 4), one table per gap: pre-state, transaction, post-state.

Each table has the row that the ledger wrongly accepted before the fix, next to the rows that
stay valid, so a regression shows as that row failing.
"""

# ruff: noqa: E501  (the tables read best one case per line)

from __future__ import annotations

from typing import Any

import pytest

from carbon_ticket.chain import check_tx, get_batch, get_project, get_report
from carbon_ticket.chain.errors import InvalidTransaction
from carbon_ticket.chain.iso3166 import COUNTRY_CODES, is_iso3166_code
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    ISSUER,
    ISSUER2,
    LIMITS,
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
    body_of,
    data_hash,
    issue_batch,
    key,
    register_account,
    register_project,
    retire,
)

DAY_MS = 86_400_000
JAN_1_2024_MS = 1_704_067_200_000
LOSS = data_hash("guyang-fire")
Y2023 = VINTAGE
Y2024 = ledger_pb2.Period(start_date=20240101, end_date=20241231)
Y2025 = ledger_pb2.Period(start_date=20250101, end_date=20251231)
Y2022 = ledger_pb2.Period(start_date=20220101, end_date=20221231)
JAN_2023 = ledger_pb2.Period(start_date=20230101, end_date=20230131)
ONE_DAY = ledger_pb2.Period(start_date=20230615, end_date=20230615)


def period(start: int, end: int) -> ledger_pb2.Period:
    return ledger_pb2.Period(start_date=start, end_date=end)


def on_day(chain: Ledger, yyyymmdd_ms: int) -> None:
    """Date the following blocks on the UTC day starting at ``yyyymmdd_ms`` (block n: + n s)."""
    chain.base_time_ms = yyyymmdd_ms - chain.height * 1000


# ---------------------------------------------------------------- 1. unfinished days


@pytest.mark.parametrize(
    ("attested", "expected"),
    [
        (period(20230101, 20231230), ""),
        (period(20230101, 20231231), ""),  # yesterday has ended
        (period(20230101, 20240101), "period_in_future"),  # today is under way (was accepted)
        (period(20240101, 20240101), "period_in_future"),
        (period(20230101, 20240102), "period_in_future"),
    ],
    ids=["ended two days ago", "ended yesterday", "ends today", "today only", "ends tomorrow"],
)
def test_only_ended_days_can_be_attested(
    project_ledger: Ledger, attested: ledger_pb2.Period, expected: str
) -> None:
    project_ledger.ok(ISSUER, anchor_data(period=period(20230101, 20241231)))
    on_day(project_ledger, JAN_1_2024_MS)  # the block is dated 2024-01-01
    receipt = project_ledger.submit(VERIFIER, attest_report(period=attested))
    assert receipt.error_code == expected
    assert get_report(project_ledger.state, REPORT).attested == (expected == "")


# ---------------------------------------------------------------- 2. vintage = attested days


@pytest.mark.parametrize(
    ("attested", "vintage", "expected"),
    [
        ([Y2023], Y2023, ""),
        ([period(20230101, 20230630), period(20230701, 20231231)], Y2023, ""),
        (
            [Y2023],
            ONE_DAY,
            "report_period_mismatch",
        ),  # a year's grams behind one day (was accepted)
        ([Y2023], JAN_2023, "report_period_mismatch"),
        ([JAN_2023, period(20230301, 20231231)], Y2023, "vintage_not_covered"),
        ([JAN_2023], Y2023, "vintage_not_covered"),
    ],
    ids=[
        "year for year",
        "halves for year",
        "year for one day",
        "year for a month",
        "gap",
        "month for year",
    ],
)
def test_vintage_is_the_union_of_the_attested_periods(
    project_ledger: Ledger,
    attested: list[ledger_pb2.Period],
    vintage: ledger_pb2.Period,
    expected: str,
) -> None:
    on_day(project_ledger, JAN_1_2024_MS + 400 * DAY_MS)  # 2025-02-04: 2024 has ended
    hashes = [data_hash(f"report-{i}") for i in range(len(attested))]
    for report, attested_period in zip(hashes, attested, strict=True):
        project_ledger.ok(ISSUER, anchor_data(data_hash=report, period=attested_period))
        project_ledger.ok(
            VERIFIER,
            attest_report(data_hash=report, verified_grams=100 * T, period=attested_period),
        )
    receipt = project_ledger.submit(
        ISSUER, issue_batch(report_hashes=hashes, vintage=vintage, amount_grams=100 * T)
    )
    assert receipt.error_code == expected
    assert get_report(project_ledger.state, hashes[0]).remaining_grams == (
        100 * T if expected else 0
    )


# ---------------------------------------------------------------- 3. later losses reverse earlier vintages


@pytest.mark.parametrize(
    ("loss_period", "expected"),
    [
        (Y2023, ""),  # a loss during the vintage
        (Y2025, ""),  # a 2025 fire burns the 2023 sequestration (was refused)
        (period(20221201, 20230105), ""),  # overlaps the vintage's first days
        (Y2022, "report_period_mismatch"),  # the loss ended before the vintage began
    ],
    ids=["during", "two years later", "overlapping start", "before"],
)
def test_a_later_loss_reverses_an_earlier_vintage(
    batch_ledger: Ledger, loss_period: ledger_pb2.Period, expected: str
) -> None:
    on_day(batch_ledger, JAN_1_2024_MS + 800 * DAY_MS)  # 2026-03-11
    batch_ledger.ok(ISSUER, anchor_data(data_hash=LOSS, kind="loss-report", period=loss_period))
    batch_ledger.ok(
        VERIFIER, attest_report(data_hash=LOSS, verified_grams=10 * T, period=loss_period)
    )
    receipt = batch_ledger.submit(ISSUER, reversal(T))
    assert receipt.error_code == expected
    assert get_batch(batch_ledger.state, BATCH_ID).reversed_grams == (0 if expected else T)


def reversal(amount: int) -> ledger_pb2.Reversal:
    return ledger_pb2.Reversal(
        batch_id=BATCH_ID, amount_grams=amount, loss_report_hash=LOSS, reason="fire"
    )


# ---------------------------------------------------------------- 4. successor issuer


def appoint(
    project_id: str = PROJECT_ID, issuer: str = ISSUER2.address
) -> ledger_pb2.AppointIssuer:
    return ledger_pb2.AppointIssuer(project_id=project_id, issuer=issuer)


def revoke_issuer(chain: Ledger) -> None:
    revoke = ledger_pb2.RevokeRole(address=ISSUER.address, role=ledger_pb2.ROLE_ISSUER)
    chain.ok(VALIDATORS[0], revoke, cosigners=VALIDATORS[1:])


def test_a_successor_issuer_manages_the_project_whose_issuer_left(batch_ledger: Ledger) -> None:
    add_second_issuer(batch_ledger)
    revoke_issuer(batch_ledger)
    on_day(batch_ledger, JAN_1_2024_MS + 800 * DAY_MS)
    # Before the appointment the buffer is stranded: the old issuer lacks the role, the new one
    # did not register the project.
    assert (
        batch_ledger.submit(
            ISSUER, anchor_data(data_hash=LOSS, kind="loss-report", period=Y2025)
        ).error_code
        == "missing_role"
    )
    assert (
        batch_ledger.submit(
            ISSUER2, anchor_data(data_hash=LOSS, kind="loss-report", period=Y2025)
        ).error_code
        == "not_project_issuer"
    )

    receipt = batch_ledger.ok(VALIDATORS[0], appoint(), cosigners=VALIDATORS[1:])
    assert dict(receipt.events[0].attributes) == {
        "project_id": PROJECT_ID,
        "previous_issuer": ISSUER.address,
        "issuer": ISSUER2.address,
    }
    assert get_project(batch_ledger.state, PROJECT_ID).issuer == ISSUER2.address
    batch_ledger.ok(ISSUER2, anchor_data(data_hash=LOSS, kind="loss-report", period=Y2025))
    batch_ledger.ok(VERIFIER, attest_report(data_hash=LOSS, verified_grams=10 * T, period=Y2025))
    batch_ledger.ok(ISSUER2, reversal(2 * T))  # the predecessor's batch's buffer
    assert get_batch(batch_ledger.state, BATCH_ID).reversed_grams == 2 * T


@pytest.mark.parametrize(
    ("signers", "message", "expected"),
    [
        (4, appoint(), ""),
        (3, appoint(), ""),
        (2, appoint(), "insufficient_validator_signatures"),
        (4, appoint(project_id="CN15-GY-9999"), "unknown_project"),
        (4, appoint(issuer=COMPANY.address), "missing_role"),  # the successor must be an issuer
        (4, appoint(issuer=ISSUER.address), "already_issuer"),
    ],
    ids=["all validators", "3 of 4", "2 of 4", "unknown project", "not an issuer", "same issuer"],
)
def test_appoint_issuer_table(
    batch_ledger: Ledger, signers: int, message: ledger_pb2.AppointIssuer, expected: str
) -> None:
    add_second_issuer(batch_ledger)
    receipt = batch_ledger.submit(VALIDATORS[0], message, cosigners=VALIDATORS[1:signers])
    assert receipt.error_code == expected
    project = get_project(batch_ledger.state, PROJECT_ID)
    assert project.issuer == (ISSUER.address if expected else ISSUER2.address)


def test_appoint_issuer_is_checked_statelessly() -> None:
    for message, code in [
        (appoint(project_id="cn15 gy"), "invalid_project_id"),
        (appoint(issuer=""), "missing_field"),
        (appoint(issuer="ct1notanaddress"), "invalid_address"),
    ]:
        raw = encode_tx(body_of(VALIDATORS[0], message, 0), list(VALIDATORS))
        with pytest.raises(InvalidTransaction) as info:
            check_tx(raw, CHAIN_ID, LIMITS)
        assert info.value.code == code


# ---------------------------------------------------------------- 5. revoked verifier, 6. verifier as recipient

VERIFIER2 = key("second-verifier")


def revoke_verifier(chain: Ledger) -> None:
    revoke = ledger_pb2.RevokeRole(address=VERIFIER.address, role=ledger_pb2.ROLE_VERIFIER)
    chain.ok(VALIDATORS[0], revoke, cosigners=VALIDATORS[1:])


@pytest.mark.parametrize(
    ("revoked", "recipient", "expected"),
    [
        (False, COMPANY, ""),
        (True, COMPANY, "verifier_revoked"),  # was accepted
        (
            False,
            VERIFIER,
            "conflict_of_interest",
        ),  # the verifier receives what it attested (was accepted)
    ],
    ids=["active verifier", "revoked verifier", "issued to the verifier"],
)
def test_issuance_needs_an_active_verifier_who_is_not_the_recipient(
    attested_ledger: Ledger, revoked: bool, recipient: Any, expected: str
) -> None:
    if revoked:
        revoke_verifier(attested_ledger)
    receipt = attested_ledger.submit(ISSUER, issue_batch(recipient=recipient.address))
    assert receipt.error_code == expected
    assert get_report(attested_ledger.state, REPORT).remaining_grams == (
        150_000 * T if expected else 0
    )


@pytest.mark.parametrize(
    ("revoked", "expected"), [(False, ""), (True, "verifier_revoked")], ids=["active", "revoked"]
)
def test_reversal_needs_an_active_loss_verifier(
    batch_ledger: Ledger, revoked: bool, expected: str
) -> None:
    batch_ledger.ok(ISSUER, anchor_data(data_hash=LOSS, kind="loss-report", period=Y2023))
    batch_ledger.ok(VERIFIER, attest_report(data_hash=LOSS, verified_grams=10 * T, period=Y2023))
    if revoked:
        revoke_verifier(batch_ledger)
    assert batch_ledger.submit(ISSUER, reversal(T)).error_code == expected


def test_a_new_verifier_attests_a_new_loss_after_a_revocation(batch_ledger: Ledger) -> None:
    batch_ledger.ok(REGISTRAR, register_account(VERIFIER2))
    grant = ledger_pb2.GrantRole(address=VERIFIER2.address, role=ledger_pb2.ROLE_VERIFIER)
    batch_ledger.ok(VALIDATORS[0], grant, cosigners=VALIDATORS[1:])
    revoke_verifier(batch_ledger)
    batch_ledger.ok(ISSUER, anchor_data(data_hash=LOSS, kind="loss-report", period=Y2023))
    batch_ledger.ok(VERIFIER2, attest_report(data_hash=LOSS, verified_grams=10 * T, period=Y2023))
    batch_ledger.ok(ISSUER, reversal(T))


# ---------------------------------------------------------------- 7. certificate text


def check(msg: Any, memo: str = "") -> str:
    body = body_of(COMPANY, msg, 0)
    body.memo = memo
    try:
        check_tx(encode_tx(body, [COMPANY]), CHAIN_ID, LIMITS)
    except InvalidTransaction as exc:
        return exc.code
    return ""


CAFE_NFC = "Caf\u00e9 Zhejiang"
CAFE_NFD = "Cafe\u0301 Zhejiang"


@pytest.mark.parametrize(
    ("fields", "memo", "expected"),
    [
        ({}, "", ""),
        ({"beneficiary": "浙江绿源环境科技有限公司"}, "", ""),
        ({"beneficiary": "ᠮᠣᠩᠭᠣᠯ"}, "", ""),  # Mongolian script stays valid
        ({"beneficiary": CAFE_NFC}, "", ""),
        ({"beneficiary": CAFE_NFD}, "", "text_not_nfc"),
        (
            {"beneficiary": "ACME\u202e moc.evil"},
            "",
            "forbidden_character",
        ),  # right-to-left override
        ({"beneficiary": "ACME\u2066x\u2069"}, "", "forbidden_character"),  # bidi isolate
        ({"beneficiary": "AC\u200bME"}, "", "forbidden_character"),  # zero-width space
        ({"beneficiary": "AC\u200dME"}, "", "forbidden_character"),  # zero-width joiner
        ({"beneficiary": "AC\ufeffME"}, "", "forbidden_character"),  # byte order mark
        ({"reason": "line one\nline two"}, "", "forbidden_character"),
        ({"reason": "tab\there"}, "", "forbidden_character"),
        ({"reason": "bell\x07"}, "", "forbidden_character"),
        ({"reason": "c1\x85"}, "", "forbidden_character"),
        ({"event": "Games\u2028"}, "", "forbidden_character"),
        ({"event": "Games\U000e0041"}, "", "forbidden_character"),  # invisible tag character
        ({}, "memo\u202e", "forbidden_character"),
        ({}, CAFE_NFD, "text_not_nfc"),
    ],
    ids=[
        "plain",
        "chinese",
        "mongolian",
        "nfc",
        "nfd",
        "rlo",
        "isolate",
        "zwsp",
        "zwj",
        "bom",
        "newline",
        "tab",
        "bell",
        "c1",
        "line separator",
        "tag",
        "memo bidi",
        "memo nfd",
    ],
)
def test_free_text_is_nfc_without_control_bidi_or_invisible_characters(
    fields: dict[str, str], memo: str, expected: str
) -> None:
    assert check(retire(**fields), memo) == expected


@pytest.mark.parametrize(
    "msg",
    [
        register_account(COMPANY, name="Zhejiang\u200b Green"),
        register_project(name="Guyang\u202e"),
        register_project(methodology="CCER\n14"),
        anchor_data(kind="co2\x00flux"),
        ledger_pb2.Cancel(batch_id=BATCH_ID, amount_grams=1, reason="moved\u2067"),
        ledger_pb2.Reversal(
            batch_id=BATCH_ID, amount_grams=1, loss_report_hash=REPORT, reason="fire\u200c"
        ),
    ],
    ids=[
        "account name",
        "project name",
        "methodology",
        "data kind",
        "cancel reason",
        "reversal reason",
    ],
)
def test_every_free_text_field_refuses_hidden_characters(msg: Any) -> None:
    assert check(msg) == "forbidden_character"


# ---------------------------------------------------------------- 8. ISO 3166


@pytest.mark.parametrize(
    ("jurisdiction", "expected"),
    [
        ("CN", ""),
        ("CN-15", ""),
        ("GB-ENG", ""),
        ("US", ""),
        ("ZZ", "invalid_jurisdiction"),  # user-assigned, not a country (was accepted)
        ("XK", "invalid_jurisdiction"),
        ("ZZ-15", "invalid_jurisdiction"),
        ("CN-", "invalid_jurisdiction"),
        ("cn", "invalid_jurisdiction"),
        ("CHN", "invalid_jurisdiction"),
    ],
)
def test_jurisdiction_is_an_assigned_iso3166_code(jurisdiction: str, expected: str) -> None:
    assert check(retire(jurisdiction=jurisdiction)) == expected


@pytest.mark.parametrize(
    ("region", "expected"),
    [("CN-15", ""), ("CN-ZJ", ""), ("ZZ-15", "invalid_region"), ("CN", "invalid_region")],
)
def test_project_region_has_an_assigned_country(region: str, expected: str) -> None:
    assert check(register_project(region=region)) == expected


def test_the_country_table_holds_the_assigned_codes() -> None:
    assert len(COUNTRY_CODES) == 249
    assert {"CN", "HK", "MO", "TW", "MN", "DE", "SS", "BQ"} <= COUNTRY_CODES
    assert not {"ZZ", "XK", "EU", "UK", "AA", "QM"} & COUNTRY_CODES
    assert is_iso3166_code("MN-1") and not is_iso3166_code("MN-1234")


# ---------------------------------------------------------------- 9. claim period


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        (None, ""),
        (period(20240217, 20240227), ""),
        (period(20240301, 20240301), ""),  # ends on the block's day
        (period(20240301, 20240302), "period_in_future"),
        (period(20990101, 20991231), "period_in_future"),  # was accepted
    ],
    ids=["none", "ended", "ends today", "ends tomorrow", "2099"],
)
def test_claim_period_does_not_end_after_the_block_date(
    batch_ledger: Ledger, claim: ledger_pb2.Period | None, expected: str
) -> None:
    on_day(batch_ledger, 1_709_251_200_000)  # 2024-03-01
    msg = retire() if claim is None else retire(period=claim)
    receipt = batch_ledger.submit(COMPANY, msg)
    assert receipt.error_code == expected
    assert get_batch(batch_ledger.state, BATCH_ID).retired == (0 if expected else 5_000 * T)
