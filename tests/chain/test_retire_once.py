"""Retire exactly once: an auditor's attacks on the retirement rules.

A replayed Retire, a second envelope of one, a retire racing a transfer of the same grams in one
block, more than the balance, escrowed, exported and cancelled grams, grams after a reversal. In
every case the grams are retired at most once, by one certificate, and the supply adds up; and
for any sequence of operations, each certificate is exactly the one successful receipt's.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from carbon_ticket.chain import BlockResult, get_balance, get_batch
from carbon_ticket.chain.keys import CERTIFICATE, certificate_key, nonce_key
from carbon_ticket.chain.records import Certificate
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.tx import encode_tx, tx_hash
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    ISSUER,
    OWNER,
    VERIFIER,
    Ledger,
    T,
    anchor_data,
    attest_report,
    body_of,
    check_code,
    data_hash,
    retire,
    transfer,
)
from tests.chain.market import FUJIAN, PLATFORM, WINTER_GAMES, buy, market_ledger, sell
from tests.chain.strategies import retire_ops, run_ops, setup_ledger


def certificates(chain: Ledger) -> dict[str, Certificate]:
    """Every certificate on record, by id."""
    found = [
        Certificate.decode(v) for k, v in chain.state.data.items() if k.startswith(CERTIFICATE)
    ]
    return {c.certificate_id: c for c in found}


def holds(chain: Ledger, who: Any) -> int:
    return get_balance(chain.state, who.address, BATCH_ID)


def supply_adds_up(chain: Ledger) -> None:
    b = get_batch(chain.state, BATCH_ID)
    assert b.tradable + b.escrowed + b.retired + b.cancelled + b.exported + b.buffer == b.issued
    assert b.retired == sum(c.amount_grams for c in certificates(chain).values())


def test_a_replayed_retire_is_refused_in_the_same_block_and_later(batch_ledger: Ledger) -> None:
    chain = batch_ledger
    raw = chain.tx(COMPANY, retire(amount_grams=T))
    first, again = chain.run([raw, raw]).receipts
    assert first.ok and (again.code, again.error_code) == (2, "wrong_nonce")
    later = chain.run([raw]).receipts[0]
    assert later.error_code == "wrong_nonce"
    assert list(certificates(chain)) == [certificate_id(first.tx_hash)]
    assert get_batch(chain.state, BATCH_ID).retired == T
    supply_adds_up(chain)


def test_another_envelope_of_a_committed_retire_makes_no_second_certificate(
    batch_ledger: Ledger,
) -> None:
    # The same body signed again (Ed25519 is deterministic: the same envelope) or with the
    # company's signature next to an outsider's: either the same tx id, refused as a replay,
    # or an envelope no admission accepts.
    chain = batch_ledger
    body = body_of(COMPANY, retire(amount_grams=T), chain.nonce(COMPANY))
    first = chain.run([encode_tx(body, [COMPANY])]).receipts[0]
    assert first.ok
    assert chain.run([encode_tx(body, [COMPANY])]).receipts[0].error_code == "wrong_nonce"
    assert check_code(encode_tx(body, [COMPANY, OWNER])) == "unexpected_signature"
    assert len(certificates(chain)) == 1


def test_a_retire_racing_a_transfer_of_the_same_grams_loses_or_wins_whole(
    batch_ledger: Ledger,
) -> None:
    chain = batch_ledger
    held = holds(chain, COMPANY)
    nonce = chain.nonce(COMPANY)
    moved, retired = chain.run([
        chain.tx(COMPANY, transfer((OWNER, BATCH_ID, held)), nonce=nonce),
        chain.tx(COMPANY, retire(amount_grams=held), nonce=nonce + 1),
    ]).receipts  # fmt: skip
    assert moved.ok and retired.error_code == "insufficient_balance"
    assert certificates(chain) == {} and holds(chain, OWNER) == held
    # The other order: the retirement takes the grams, the transfer finds none.
    nonce = chain.nonce(OWNER)
    retired, moved = chain.run([
        chain.tx(OWNER, retire(amount_grams=held), nonce=nonce),
        chain.tx(OWNER, transfer((COMPANY, BATCH_ID, held)), nonce=nonce + 1),
    ]).receipts  # fmt: skip
    assert retired.ok and moved.error_code == "insufficient_balance"
    assert holds(chain, OWNER) == holds(chain, COMPANY) == 0
    supply_adds_up(chain)


def test_two_retirements_of_one_balance_in_one_block_retire_it_once(batch_ledger: Ledger) -> None:
    chain = batch_ledger
    held = holds(chain, COMPANY)
    nonce = chain.nonce(COMPANY)
    receipts = chain.run([chain.tx(COMPANY, retire(amount_grams=held, beneficiary=f"b{i}"),
                                   nonce=nonce + i) for i in range(2)]).receipts  # fmt: skip
    assert [r.error_code for r in receipts] == ["", "insufficient_balance"]
    assert [c.amount_grams for c in certificates(chain).values()] == [held]
    supply_adds_up(chain)


def test_more_than_the_balance_is_refused_and_changes_nothing(batch_ledger: Ledger) -> None:
    chain = batch_ledger
    held = holds(chain, COMPANY)
    before = get_batch(chain.state, BATCH_ID)
    refused = chain.submit(COMPANY, retire(amount_grams=held + 1))
    assert refused.error_code == "insufficient_balance"
    assert get_batch(chain.state, BATCH_ID) == before and certificates(chain) == {}


def test_escrowed_grams_cannot_be_retired() -> None:
    chain = market_ledger()
    held = holds(chain, ISSUER)
    chain.ok(ISSUER, sell(amount_grams=held - 10 * T))
    assert chain.submit(ISSUER, retire(amount_grams=11 * T)).error_code == "insufficient_balance"
    assert chain.ok(ISSUER, retire(amount_grams=10 * T)).ok
    batch = get_batch(chain.state, BATCH_ID)
    assert (batch.escrowed, batch.retired) == (held - 10 * T, 10 * T)
    supply_adds_up(chain)


def test_exported_and_cancelled_grams_cannot_be_retired(batch_ledger: Ledger) -> None:
    chain = batch_ledger
    held = holds(chain, COMPANY)
    chain.ok(COMPANY, ledger_pb2.ExportTickets(batch_id=BATCH_ID, amount_grams=held - 2 * T,
                                               registry="VERRA", account="v-1"))  # fmt: skip
    chain.ok(COMPANY, ledger_pb2.Cancel(batch_id=BATCH_ID, amount_grams=T, reason="r"))
    assert chain.submit(COMPANY, retire(amount_grams=2 * T)).error_code == "insufficient_balance"
    chain.ok(COMPANY, retire(amount_grams=T))
    assert holds(chain, COMPANY) == 0
    batch = get_batch(chain.state, BATCH_ID)
    assert (batch.exported, batch.cancelled, batch.retired) == (held - 2 * T, T, T)
    supply_adds_up(chain)


def test_a_reversal_takes_the_buffer_and_never_retired_or_held_grams(batch_ledger: Ledger) -> None:
    chain = batch_ledger
    chain.ok(COMPANY, retire(amount_grams=5 * T))
    loss = data_hash("fire-2024")
    chain.ok(ISSUER, anchor_data(data_hash=loss, kind="loss-report"))
    chain.ok(VERIFIER, attest_report(data_hash=loss, verified_grams=1_000 * T))
    before = get_batch(chain.state, BATCH_ID)
    held = holds(chain, COMPANY)
    chain.ok(ISSUER, ledger_pb2.Reversal(batch_id=BATCH_ID, amount_grams=1_000 * T,
                                         loss_report_hash=loss, reason="fire"))  # fmt: skip
    after = get_batch(chain.state, BATCH_ID)
    assert (after.retired, after.tradable) == (before.retired, before.tradable)
    assert after.buffer == before.buffer - 1_000 * T and holds(chain, COMPANY) == held
    # The holder still retires what it holds, once, and not a gram more.
    chain.ok(COMPANY, retire(amount_grams=held))
    assert chain.submit(COMPANY, retire(amount_grams=1)).error_code == "insufficient_balance"
    supply_adds_up(chain)


class ExactlyOnce:
    """After each block: the new certificates are exactly those of its successful retirements,
    each the one its receipt's retire event describes, and none ever changes."""

    def __init__(self) -> None:
        self.seen: dict[str, Certificate] = {}

    def __call__(self, chain: Ledger, result: BlockResult) -> None:
        now = certificates(chain)
        new = {cid: c for cid, c in now.items() if cid not in self.seen}
        events = {}
        for receipt in result.receipts:
            retired = [dict(e.attributes) for e in receipt.events if e.type == "retire"]
            assert receipt.ok or not retired
            if retired:
                assert len(retired) == 1
                events[certificate_id(receipt.tx_hash)] = (receipt.tx_hash, retired[0])
        assert set(new) == set(events)
        for cid, (made_by, event) in events.items():
            cert = new[cid]
            assert cert.tx_hash == made_by and event["certificate_id"] == cid
            assert (event["account"], event["batch_id"]) == (cert.account, cert.batch_id)
            assert int(event["amount_grams"]) == cert.amount_grams
            assert event["serial"] == cert.serial
        for cid, cert in self.seen.items():
            assert now[cid] == cert
        self.seen = now


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(retire_ops)
def test_every_certificate_is_one_successful_retirement(operations: list[tuple[Any, ...]]) -> None:
    chain = setup_ledger()
    run_ops(chain, operations, ExactlyOnce())


def test_a_purchase_never_overwrites_a_certificate_at_its_id() -> None:
    # A certificate id is 96 bits of the tx id: two transactions one party signs can be made to
    # share one by a birthday search (~2**48 hashes, varying a memo). A Retire whose id is taken
    # is refused (certificate_exists), and so is a Redeem paid in tickets; a ConfirmPayment that
    # retired wrote its certificate over the earlier one, which left the register and "retired =
    # the sum of the certificates" behind. The collision is stood in for by putting the earlier
    # record at the id the confirmation will take.
    chain = market_ledger()
    chain.ok(ISSUER, sell(amount_grams=10_000 * T, retire_on_purchase=True))
    chain.ok(FUJIAN, buy(1, 5_000 * T, **WINTER_GAMES))
    earlier = certificate_id(chain.ok(ISSUER, retire(amount_grams=T)).tx_hash)
    raw = chain.tx(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=1))
    taken = certificate_key(certificate_id(tx_hash(raw, CHAIN_ID)))
    chain.state.data[taken] = chain.state.data[certificate_key(earlier)]
    before = chain.state.data[taken]
    result = chain.run([raw])
    assert result.receipts[0].error_code == "certificate_exists"
    assert chain.state.data[taken] == before  # the earlier certificate stands
    assert all(k == nonce_key(PLATFORM.address) for k in result.writes)  # only its nonce moved
