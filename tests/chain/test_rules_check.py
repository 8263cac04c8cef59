"""check_tx: every stateless rejection of a ledger message, one row per case."""

# ruff: noqa: E501  (the table reads best one case per line)

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from carbon_ticket.chain import check_tx
from carbon_ticket.chain.amounts import MAX_GRAMS
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    ISSUER,
    LIMITS,
    OWNER,
    REPORT,
    VALIDATORS,
    T,
    anchor_data,
    attest_report,
    body_of,
    check_code,
    issue_batch,
    register_account,
    register_project,
    retire,
    transfer,
)

LONG = "x" * (LIMITS.max_text_bytes + 1)
COMPANY_KIND = ledger_pb2.ACCOUNT_KIND_COMPANY
# proto3 enums are open: a field holds any int, though the stubs name only the declared values.
UNKNOWN_ROLE = cast(ledger_pb2.Role, 77)
PERIOD_BAD_DAY = ledger_pb2.Period(start_date=20230230, end_date=20231231)
PERIOD_REVERSED = ledger_pb2.Period(start_date=20231231, end_date=20230101)


def raw_of(msg: Any, signer: Any = ISSUER) -> bytes:
    return encode_tx(body_of(signer, msg, 0), [signer])


VALID: list[tuple[str, Callable[[], Any]]] = [
    ("register_account", lambda: register_account(COMPANY)),
    ("register_project", register_project),
    ("anchor_data", anchor_data),
    ("attest_report", attest_report),
    ("issue_batch", issue_batch),
    ("transfer", lambda: transfer((COMPANY, BATCH_ID, 1))),
    ("retire", retire),
    ("cancel", lambda: ledger_pb2.Cancel(batch_id=BATCH_ID, amount_grams=1, reason="moved")),
    (
        "reversal",
        lambda: ledger_pb2.Reversal(
            batch_id=BATCH_ID, amount_grams=1, loss_report_hash=REPORT, reason="fire"
        ),
    ),
    (
        "grant_role",
        lambda: ledger_pb2.GrantRole(address=COMPANY.address, role=ledger_pb2.ROLE_ISSUER),
    ),
    (
        "revoke_role",
        lambda: ledger_pb2.RevokeRole(address=COMPANY.address, role=ledger_pb2.ROLE_ISSUER),
    ),
]


@pytest.mark.parametrize(("kind", "make"), VALID, ids=[k for k, _ in VALID])
def test_valid_message_passes(kind: str, make: Callable[[], Any]) -> None:
    tx = check_tx(raw_of(make()), CHAIN_ID, LIMITS)
    assert tx.kind == kind


INVALID: list[tuple[str, Any, str]] = [
    # register_account
    ("account bad address", ledger_pb2.RegisterAccount(address="ct1nope", kind=COMPANY_KIND, name="A"), "invalid_address"),
    ("account upper-case address", ledger_pb2.RegisterAccount(address=COMPANY.address.upper(), kind=COMPANY_KIND, name="A"), "invalid_address"),
    ("account unknown kind", register_account(COMPANY, kind=9), "invalid_account_kind"),
    ("account unspecified kind", register_account(COMPANY, kind=0), "invalid_account_kind"),
    ("account empty name", register_account(COMPANY, name=""), "missing_field"),
    ("account oversized name", register_account(COMPANY, name=LONG), "field_too_long"),
    # register_project
    ("project bad region", register_project(region="Inner Mongolia"), "invalid_region"),
    ("project region lower case", register_project(region="cn-15"), "invalid_region"),
    ("project region too long", register_project(region="CN-1555"), "invalid_region"),
    ("project id lower case", register_project(project_id="cn15-gy-1"), "invalid_project_id"),
    ("project id with slash", register_project(project_id="CN15/GY"), "invalid_project_id"),
    ("project id too long", register_project(project_id="A" * 33), "field_too_long"),
    ("project empty id", register_project(project_id=""), "missing_field"),
    ("project unknown kind", register_project(kind=42), "invalid_project_kind"),
    ("project zero area", register_project(area_centihectares=0), "invalid_area"),
    ("project oversized name", register_project(name=LONG), "field_too_long"),
    ("project oversized methodology", register_project(methodology=LONG), "field_too_long"),
    ("project oversized uri", register_project(metadata_uri="u" * 513), "field_too_long"),
    ("project short metadata hash", register_project(metadata_hash=b"\x01" * 31), "invalid_hash"),
    ("project bad owner", register_project(owner="ct1xyz"), "invalid_address"),
    # anchor_data
    ("anchor short hash", anchor_data(data_hash=b"\x00" * 16), "invalid_hash"),
    ("anchor bad date", anchor_data(period=PERIOD_BAD_DAY), "invalid_period"),
    ("anchor reversed period", anchor_data(period=PERIOD_REVERSED), "invalid_period"),
    ("anchor missing period", anchor_data(period=ledger_pb2.Period()), "invalid_period"),
    ("anchor missing kind", anchor_data(kind=""), "missing_field"),
    ("anchor oversized uri", anchor_data(uri="u" * 513), "field_too_long"),
    # attest_report
    ("attest zero grams", attest_report(verified_grams=0), "zero_amount"),
    ("attest bad hash", attest_report(data_hash=b""), "invalid_hash"),
    ("attest bad period", attest_report(period=PERIOD_REVERSED), "invalid_period"),
    # issue_batch
    ("issue zero amount", issue_batch(amount_grams=0), "zero_amount"),
    ("issue no reports", issue_batch(report_hashes=[]), "no_reports"),
    ("issue duplicate reports", issue_batch(report_hashes=[REPORT, REPORT]), "duplicate_report"),
    ("issue too many reports", issue_batch(report_hashes=[bytes([i % 256, i // 256]) * 16 for i in range(65)]), "too_many_entries"),
    ("issue short report hash", issue_batch(report_hashes=[b"\x01"]), "invalid_hash"),
    ("issue bad vintage", issue_batch(vintage=PERIOD_BAD_DAY), "invalid_period"),
    ("issue bad recipient", issue_batch(recipient="bc1qxyz"), "invalid_address"),
    # transfer
    ("transfer no entries", ledger_pb2.Transfer(), "no_entries"),
    ("transfer zero amount", transfer((COMPANY, BATCH_ID, 0)), "zero_amount"),
    ("transfer to self", transfer((ISSUER, BATCH_ID, 1)), "self_transfer"),
    ("transfer bad batch id", transfer((COMPANY, "cn15 batch", 1)), "invalid_batch_id"),
    ("transfer oversized batch id", transfer((COMPANY, "A" * 65, 1)), "field_too_long"),
    ("transfer too many entries", transfer(*[(COMPANY, BATCH_ID, 1)] * 65), "too_many_entries"),
    ("transfer overflowing total", transfer((COMPANY, BATCH_ID, MAX_GRAMS), (OWNER, BATCH_ID, 1)), "amount_overflow"),
    ("transfer bad recipient", ledger_pb2.Transfer(entries=[ledger_pb2.TransferEntry(to="ct1", batch_id=BATCH_ID, amount_grams=1)]), "invalid_address"),
    # retire
    ("retire zero amount", retire(amount_grams=0), "zero_amount"),
    ("retire no beneficiary", retire(beneficiary=""), "missing_field"),
    ("retire no reason", retire(reason=""), "missing_field"),
    ("retire oversized beneficiary", retire(beneficiary=LONG), "field_too_long"),
    ("retire oversized event", retire(event=LONG), "field_too_long"),
    ("retire bad jurisdiction", retire(jurisdiction="China"), "invalid_jurisdiction"),
    ("retire bad claim period", retire(period=PERIOD_REVERSED), "invalid_period"),
    ("retire missing batch", retire(batch_id=""), "missing_field"),
    # cancel
    ("cancel zero", ledger_pb2.Cancel(batch_id=BATCH_ID, amount_grams=0, reason="x"), "zero_amount"),
    ("cancel no reason", ledger_pb2.Cancel(batch_id=BATCH_ID, amount_grams=1), "missing_field"),
    # reversal
    ("reversal zero", ledger_pb2.Reversal(batch_id=BATCH_ID, loss_report_hash=REPORT, reason="fire"), "zero_amount"),
    ("reversal bad report hash", ledger_pb2.Reversal(batch_id=BATCH_ID, amount_grams=1, loss_report_hash=b"x", reason="fire"), "invalid_hash"),
    # governance
    ("grant validator role", ledger_pb2.GrantRole(address=COMPANY.address, role=ledger_pb2.ROLE_VALIDATOR), "invalid_role"),
    ("grant unspecified role", ledger_pb2.GrantRole(address=COMPANY.address, role=ledger_pb2.ROLE_UNSPECIFIED), "invalid_role"),
    ("grant unknown role", ledger_pb2.GrantRole(address=COMPANY.address, role=UNKNOWN_ROLE), "invalid_role"),
    ("revoke bad address", ledger_pb2.RevokeRole(address="nope", role=ledger_pb2.ROLE_ISSUER), "invalid_address"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "msg", "code"), INVALID, ids=[n for n, _, _ in INVALID])
def test_invalid_message_is_rejected(name: str, msg: Any, code: str) -> None:
    assert check_code(raw_of(msg)) == code


def test_envelope_checks_still_apply() -> None:
    body = body_of(ISSUER, transfer((COMPANY, BATCH_ID, T)), 0)
    assert check_code(encode_tx(body, [VALIDATORS[0]])) == "missing_signature"
    body.chain_id = "other-chain"
    assert check_code(encode_tx(body, [ISSUER])) == "wrong_chain_id"


def test_rejection_messages_are_actionable() -> None:
    with pytest.raises(Exception) as info:
        check_tx(raw_of(register_project(region="Inner Mongolia")), CHAIN_ID, LIMITS)
    assert "ISO 3166-2" in str(info.value) and "CN-15" in str(info.value)
