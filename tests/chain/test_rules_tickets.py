"""process_transfer, process_retire and process_cancel."""

# ruff: noqa: E501

from __future__ import annotations

from carbon_ticket.chain import get_balance, get_balances, get_batch, get_certificate
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    COMPANY,
    ISSUER,
    OWNER,
    RESIDENT,
    Ledger,
    T,
    retire,
    transfer,
)

UNKNOWN_BATCH = "CN15-GY-0001-20230101-20231231-009"


def balance(chain: Ledger, who: object, batch_id: str = BATCH_ID) -> int:
    return get_balance(chain.state, who.address, batch_id)  # type: ignore[attr-defined]


def cancel(amount: int, batch_id: str = BATCH_ID) -> ledger_pb2.Cancel:
    return ledger_pb2.Cancel(
        batch_id=batch_id, amount_grams=amount, reason="moved to CCER registry"
    )


# ---------------------------------------------------------------- transfer


def test_transfer_partial_amounts_to_several_accounts(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.ok(
        COMPANY, transfer((OWNER, BATCH_ID, 12_500_000), (ISSUER, BATCH_ID, 500_000))
    )
    assert balance(batch_ledger, COMPANY) == 20_000 * T - 13 * T
    assert balance(batch_ledger, OWNER) == 12_500_000
    assert [e.type for e in receipt.events] == ["transfer", "transfer"]
    assert receipt.accounts == tuple(sorted({COMPANY.address, OWNER.address, ISSUER.address}))
    assert receipt.batches == (BATCH_ID,)
    assert get_batch(batch_ledger.state, BATCH_ID).tradable == 120_000 * T


def test_transfer_whole_balance_deletes_the_key(batch_ledger: Ledger) -> None:
    result = batch_ledger.run([batch_ledger.tx(COMPANY, transfer((OWNER, BATCH_ID, 20_000 * T)))])
    assert result.writes[b"bal/" + COMPANY.address.encode() + b"/" + BATCH_ID.encode()] is None
    assert get_balances(batch_ledger.state, COMPANY.address) == {}


def test_transfer_over_balance(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.submit(COMPANY, transfer((OWNER, BATCH_ID, 20_000 * T + 1)))
    assert (receipt.code, receipt.error_code) == (2, "insufficient_balance")
    assert receipt.message == (
        f"insufficient tradable balance: have 20000 tCO2e of batch {BATCH_ID}, need 20000.000001 tCO2e"
    )


def test_transfer_entries_add_up_against_the_balance(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.submit(
        COMPANY, transfer((OWNER, BATCH_ID, 15_000 * T), (ISSUER, BATCH_ID, 5_000 * T + 1))
    )
    assert receipt.error_code == "insufficient_balance"
    assert "have 5000 tCO2e" in receipt.message
    assert balance(batch_ledger, COMPANY) == 20_000 * T and balance(batch_ledger, OWNER) == 0


def test_transfer_unknown_batch(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.submit(COMPANY, transfer((OWNER, UNKNOWN_BATCH, 1)))
    assert (receipt.code, receipt.error_code) == (4, "unknown_batch")


def test_transfer_to_unregistered_account(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.submit(COMPANY, transfer((RESIDENT, BATCH_ID, 1)))
    assert (receipt.code, receipt.error_code) == (4, "unknown_account")
    assert "ask a registrar" in receipt.message


def test_transfer_from_unregistered_signer(batch_ledger: Ledger) -> None:
    result = batch_ledger.run([batch_ledger.tx(RESIDENT, transfer((COMPANY, BATCH_ID, 1)))])
    assert result.receipts[0].error_code == "unknown_signer"
    assert result.writes == {}


def test_transfer_wrong_nonce(batch_ledger: Ledger) -> None:
    batch_ledger.ok(COMPANY, transfer((OWNER, BATCH_ID, 1)))
    nonce = batch_ledger.nonce(COMPANY)
    assert nonce == 1
    for wrong in (nonce + 1, nonce - 1):
        result = batch_ledger.run(
            [batch_ledger.tx(COMPANY, transfer((OWNER, BATCH_ID, 1)), nonce=wrong)]
        )
        assert (result.receipts[0].code, result.receipts[0].error_code) == (2, "wrong_nonce")
        assert result.writes == {}


# ---------------------------------------------------------------- retire

MARCH_2024_MS = 1_709_251_200_000  # 2024-03-01T00:00:00Z


def test_retire_creates_a_certificate(batch_ledger: Ledger) -> None:
    batch_ledger.base_time_ms = MARCH_2024_MS  # the Games (February 2024) are over
    raw = batch_ledger.tx(
        COMPANY, retire(period=ledger_pb2.Period(start_date=20240217, end_date=20240227))
    )
    receipt = batch_ledger.run([raw]).receipts[0]
    assert receipt.ok
    cert_id = dict(receipt.events[0].attributes)["certificate_id"]
    assert cert_id == certificate_id(receipt.tx_hash) and cert_id.startswith("RC-")
    cert = get_certificate(batch_ledger.state, cert_id)
    assert (cert.batch_id, cert.amount_grams, cert.account) == (
        BATCH_ID,
        5_000 * T,
        COMPANY.address,
    )
    assert cert.event == "14th National Winter Games" and cert.jurisdiction == "CN"
    assert cert.period is not None and cert.period.start_date == 20240217
    assert cert.tx_hash == receipt.tx_hash and cert.height == batch_ledger.height
    b = get_batch(batch_ledger.state, BATCH_ID)
    assert (b.tradable, b.retired) == (115_000 * T, 5_000 * T)
    assert balance(batch_ledger, COMPANY) == 15_000 * T


def test_retired_grams_never_move(batch_ledger: Ledger) -> None:
    batch_ledger.ok(COMPANY, retire(amount_grams=20_000 * T))
    assert (
        batch_ledger.submit(COMPANY, transfer((OWNER, BATCH_ID, 1))).error_code
        == "insufficient_balance"
    )
    assert batch_ledger.submit(COMPANY, retire(amount_grams=1)).error_code == "insufficient_balance"
    assert batch_ledger.submit(COMPANY, cancel(1)).error_code == "insufficient_balance"
    assert get_batch(batch_ledger.state, BATCH_ID).retired == 20_000 * T


def test_retire_over_balance(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.submit(COMPANY, retire(amount_grams=20_001 * T))
    assert (receipt.code, receipt.error_code) == (2, "insufficient_balance")


def test_retire_unknown_batch(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.submit(COMPANY, retire(batch_id=UNKNOWN_BATCH))
    assert (receipt.code, receipt.error_code) == (4, "unknown_batch")


def test_two_retirements_get_two_certificates(batch_ledger: Ledger) -> None:
    a = batch_ledger.ok(COMPANY, retire(amount_grams=T))
    b = batch_ledger.ok(COMPANY, retire(amount_grams=T))
    assert certificate_id(a.tx_hash) != certificate_id(b.tx_hash)


# ---------------------------------------------------------------- cancel


def test_cancel(batch_ledger: Ledger) -> None:
    receipt = batch_ledger.ok(COMPANY, cancel(2_000 * T))
    b = get_batch(batch_ledger.state, BATCH_ID)
    assert (b.tradable, b.cancelled, b.buffer) == (118_000 * T, 2_000 * T, 30_000 * T)
    assert dict(receipt.events[0].attributes)["reason"] == "moved to CCER registry"


def test_cancel_over_balance_and_unknown_batch(batch_ledger: Ledger) -> None:
    assert batch_ledger.submit(COMPANY, cancel(20_001 * T)).error_code == "insufficient_balance"
    assert batch_ledger.submit(COMPANY, cancel(1, UNKNOWN_BATCH)).error_code == "unknown_batch"
    assert batch_ledger.submit(RESIDENT, cancel(1)).error_code == "unknown_signer"
