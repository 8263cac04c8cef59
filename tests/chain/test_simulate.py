"""chain.simulate: drafts, unsigned envelopes and ``simulate_tx``, pre-state / tx / receipt, with
the state checked unchanged after every simulation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from carbon_ticket.chain import expected_nonce
from carbon_ticket.chain.errors import InvalidTransaction
from carbon_ticket.chain.execute import BlockContext
from carbon_ticket.chain.simulate import Draft, fill_draft, read_draft, simulate_tx, unsigned_tx
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    ISSUER,
    LIMITS,
    OWNER,
    VALIDATORS,
    Ledger,
    T,
    body_of,
    transfer,
)


def _draft(signer: Any, msg: Any, nonce: int = 0, chain_id: str = "") -> bytes:
    body = body_of(signer, msg, nonce)
    body.chain_id = chain_id
    envelope = ledger_pb2.TxEnvelope(body=body.SerializeToString(deterministic=True))
    return envelope.SerializeToString(deterministic=True)


def _simulate(chain: Ledger, raw: bytes, next_nonce: int | None = None) -> Any:
    """Simulate ``raw`` as the node does; the chain's state must not change."""
    before = dict(chain.state.data)
    draft = read_draft(raw, LIMITS)
    signer = draft.body.signer
    pending = expected_nonce(chain.state, signer) if next_nonce is None else next_nonce
    if draft.needs_filling:
        draft = fill_draft(draft, CHAIN_ID, pending)
    tx = unsigned_tx(draft, CHAIN_ID, LIMITS, chain.state)
    ctx = BlockContext(CHAIN_ID, chain.height + 1, chain.base_time_ms, chain.app_hash)
    result = simulate_tx(chain.state, ctx, tx, pending)
    assert chain.state.data == before
    return draft, result


def test_a_draft_gets_the_chain_id_and_next_nonce_and_the_ledgers_verdict(
    batch_ledger: Ledger,
) -> None:
    nonce = batch_ledger.nonce(COMPANY)
    over = transfer((OWNER, BATCH_ID, 20_001 * T))
    draft, result = _simulate(batch_ledger, _draft(COMPANY, over))
    assert (draft.body.chain_id, draft.body.nonce) == (CHAIN_ID, nonce)
    assert result.error_code == "insufficient_balance" and not result.ok
    draft, result = _simulate(batch_ledger, _draft(COMPANY, transfer((OWNER, BATCH_ID, T))))
    assert result.ok and result.events[0].type == "transfer"
    # The receipt is the one the signed transaction gets in a block.
    signed = encode_tx(draft.body, [COMPANY])
    assert batch_ledger.run([signed]).receipts[0] == result


def test_an_unsigned_governance_message_is_simulated_as_co_signed_by_the_validators(
    ledger: Ledger,
) -> None:
    grant = ledger_pb2.GrantRole(address=ISSUER.address, role=ledger_pb2.ROLE_VERIFIER)
    _, result = _simulate(ledger, _draft(VALIDATORS[0], grant))
    assert result.ok
    _, result = _simulate(ledger, _draft(ISSUER, grant))  # the signer is no validator
    assert result.error_code == "not_validator_operator"


def test_used_and_pending_nonces_are_refused(batch_ledger: Ledger) -> None:
    nonce = batch_ledger.nonce(ISSUER)
    msg = transfer((COMPANY, BATCH_ID, T))
    _, used = _simulate(batch_ledger, _draft(ISSUER, msg, nonce - 1, CHAIN_ID), nonce)
    assert used.error_code == "nonce_used"
    _, pending = _simulate(batch_ledger, _draft(ISSUER, msg, nonce, CHAIN_ID), nonce + 1)
    assert pending.error_code == "nonce_pending"
    # Behind one pending tx of its own, the next nonce is simulated as if it were committed.
    _, ahead = _simulate(batch_ledger, _draft(ISSUER, msg, nonce + 1, CHAIN_ID), nonce + 1)
    assert ahead.ok


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (encode_tx(body_of(COMPANY, transfer((OWNER, BATCH_ID, T)), 0), [COMPANY]), None),
        (_draft(COMPANY, transfer((OWNER, BATCH_ID, T)), nonce=2), "invalid_nonce"),
        (_draft(COMPANY, transfer((OWNER, BATCH_ID, 0)), chain_id=CHAIN_ID), "zero_amount"),
        (_draft(COMPANY, transfer((OWNER, BATCH_ID, T)), chain_id="other"), "wrong_chain_id"),
    ],
)
def test_bad_envelopes_are_invalid(ledger: Ledger, raw: bytes, code: str | None) -> None:
    if code is None:  # a signed envelope with no chain id: signatures over other bytes
        body = ledger_pb2.TxBody.FromString(ledger_pb2.TxEnvelope.FromString(raw).body)
        body.chain_id = ""
        raw = encode_tx(body, [COMPANY])
        code = "unexpected_signature"
    with pytest.raises(InvalidTransaction) as err:
        draft: Draft = read_draft(raw, LIMITS)
        unsigned_tx(draft, CHAIN_ID, LIMITS, ledger.state)
    assert err.value.code == code


def test_a_draft_too_large_once_signed_is_refused_before_signing(batch_ledger: Ledger) -> None:
    """A draft under the size limit without signatures but over it with the signer's: before,
    it simulated fine and the node refused it only at submission, after the wallet had asked
    for the password and signed."""
    body = body_of(COMPANY, transfer((OWNER, BATCH_ID, T)), 0)
    signed_size = len(encode_tx(body, [COMPANY]))
    for limit, refused in ((signed_size - 1, True), (signed_size, False)):
        limits = replace(LIMITS, max_tx_bytes=limit)
        draft = fill_draft(read_draft(_draft(COMPANY, body.transfer), limits), CHAIN_ID, 0)
        assert len(draft.envelope.SerializeToString()) < limit - 90  # no signature yet
        if refused:
            with pytest.raises(InvalidTransaction, match=r"once signed, the limit is") as err:
                unsigned_tx(draft, CHAIN_ID, limits, batch_ledger.state)
            assert err.value.code == "tx_too_large"
        else:
            assert unsigned_tx(draft, CHAIN_ID, limits, batch_ledger.state).body == body
