"""Transaction ids depend only on what the signers signed; envelopes cannot be altered in flight.

Issue 12, finding 1: the id used to be the hash of the whole envelope, and an envelope accepted
extra signatures from any key, so a third party could re-id a signed Retire (and its certificate)
by appending a signature: the altered copy committed, the original failed with wrong_nonce and a
wallet retry retired twice. These tests pin the fix.
"""

from __future__ import annotations

import hashlib
import itertools

import pytest

from carbon_ticket.chain import check_tx, get_batch, get_certificate
from carbon_ticket.chain.errors import InvalidTransaction
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.tx import (
    MULTI_SIGNER_KINDS,
    decode_tx,
    encode_tx,
    require_cosigner_addresses_in,
    require_cosigners_in,
    sort_signatures,
    tx_hash,
    tx_id,
    tx_sign_bytes,
)
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    ISSUER2,
    LIMITS,
    REGISTRAR,
    VALIDATORS,
    Ledger,
    T,
    body_of,
    check_code,
    key,
    register_account,
    retire,
)

MALLORY = key("mallory")


def _envelope(raw: bytes) -> ledger_pb2.TxEnvelope:
    return ledger_pb2.TxEnvelope.FromString(raw)


def _append_signature(raw: bytes, signer: object) -> bytes:
    env = _envelope(raw)
    message = tx_sign_bytes(CHAIN_ID, env.body)
    env.signatures.add(public_key=signer.public_key, signature=signer.sign(message))  # type: ignore[attr-defined]
    return env.SerializeToString(deterministic=True)


def _with_signatures(raw: bytes, signatures: list[ledger_pb2.Signature]) -> bytes:
    env = _envelope(raw)
    del env.signatures[:]
    env.signatures.extend(signatures)
    return env.SerializeToString(deterministic=True)


def test_id_is_the_hash_of_the_signed_bytes() -> None:
    body = body_of(COMPANY, retire(), 0)
    body_bytes = body.SerializeToString(deterministic=True)
    raw = encode_tx(body, [COMPANY])
    expected = hashlib.sha256(tx_sign_bytes(CHAIN_ID, body_bytes)).digest()
    assert tx_id(CHAIN_ID, body_bytes) == expected
    assert tx_hash(raw, CHAIN_ID) == expected
    assert decode_tx(raw, CHAIN_ID, LIMITS).tx_hash == expected
    # The chain id is part of the id: the same body bytes on another chain are another tx.
    assert tx_id("other-chain", body_bytes) != expected


def test_tx_hash_of_garbage_is_a_typed_error() -> None:
    with pytest.raises(InvalidTransaction) as info:
        tx_hash(b"\xff\xff\xff", CHAIN_ID)
    assert info.value.code == "malformed_tx"


def test_appended_signature_on_a_retire_is_refused_and_cannot_re_id_it(
    batch_ledger: Ledger,
) -> None:
    raw = batch_ledger.tx(COMPANY, retire(amount_grams=5_000 * T))
    # The wallet knows both ids before it submits.
    body_bytes = _envelope(raw).body
    wallet_id = tx_id(CHAIN_ID, body_bytes)
    wallet_certificate = certificate_id(wallet_id)

    altered = _append_signature(raw, MALLORY)
    assert tx_hash(altered, CHAIN_ID) == wallet_id  # same id whatever the envelope carries
    assert check_code(altered) == "unexpected_signature"

    receipt = batch_ledger.run([raw]).receipts[0]
    assert receipt.ok and receipt.tx_hash == wallet_id
    certificate = get_certificate(batch_ledger.state, wallet_certificate)
    assert certificate.amount_grams == 5_000 * T
    # A retry of the very same bytes cannot retire again.
    retry = batch_ledger.run([raw]).receipts[0]
    assert retry.error_code == "wrong_nonce"
    assert get_batch(batch_ledger.state, BATCH_ID).retired == 5_000 * T


def test_a_second_signature_by_the_signer_or_an_outsider_is_refused() -> None:
    raw = encode_tx(body_of(COMPANY, retire(), 0), [COMPANY])
    assert check_code(encode_tx(body_of(COMPANY, retire(), 0), [COMPANY, MALLORY])) == (
        "unexpected_signature"
    )
    doubled = _with_signatures(raw, [*_envelope(raw).signatures, *_envelope(raw).signatures])
    assert check_code(doubled) == "duplicate_signature"


def _governance(cosigners: list[object]) -> bytes:
    grant = ledger_pb2.GrantRole(address=ISSUER2.address, role=ledger_pb2.ROLE_ISSUER)
    return encode_tx(body_of(VALIDATORS[0], grant, 0), cosigners)  # type: ignore[arg-type]


def test_governance_signatures_must_be_sorted_by_public_key() -> None:
    raw = _governance(list(VALIDATORS))
    signatures = list(_envelope(raw).signatures)
    assert [s.public_key for s in signatures] == sorted(s.public_key for s in signatures)
    assert check_tx(raw, CHAIN_ID, LIMITS).signers == tuple(s.public_key for s in signatures)
    for order in itertools.permutations(signatures):
        reordered = _with_signatures(raw, list(order))
        if reordered == raw:
            continue
        assert check_code(reordered) == "unordered_signatures"
        assert tx_hash(reordered, CHAIN_ID) == tx_hash(raw, CHAIN_ID)


def test_sort_signatures_restores_the_canonical_order() -> None:
    raw = _governance(list(VALIDATORS))
    env = _envelope(raw)
    reversed_env = _envelope(_with_signatures(raw, list(reversed(env.signatures))))
    sort_signatures(reversed_env)
    assert reversed_env.SerializeToString(deterministic=True) == raw


def test_adding_removing_or_reordering_signatures_never_yields_another_valid_id() -> None:
    """Every envelope built from the body and any subset or order of signatures (the signers',
    a validator's, an outsider's) either fails the checks or has the original's id."""
    raw = _governance(list(VALIDATORS[:3]))
    original = tx_hash(raw, CHAIN_ID)
    body = _envelope(raw).body
    message = tx_sign_bytes(CHAIN_ID, body)
    pool = [
        ledger_pb2.Signature(public_key=k.public_key, signature=k.sign(message))
        for k in (*VALIDATORS, MALLORY)
    ]
    validator_keys = frozenset(k.public_key for k in VALIDATORS)
    ids = set()
    for size in range(len(pool) + 1):
        for chosen in itertools.permutations(pool, size):
            candidate = _with_signatures(raw, list(chosen))
            try:
                tx = check_tx(candidate, CHAIN_ID, LIMITS)
                require_cosigners_in(tx, validator_keys, "validators")
            except InvalidTransaction:
                continue
            ids.add(tx.tx_hash)
    assert ids == {original}


def test_stripping_a_surplus_cosignature_keeps_the_id_and_the_body_commits_once() -> None:
    chain = Ledger()
    chain.ok(REGISTRAR, register_account(ISSUER2, ledger_pb2.ACCOUNT_KIND_BUREAU, "Bureau"))
    full = _governance(list(VALIDATORS))
    surplus = [s for s in _envelope(full).signatures if s.public_key != VALIDATORS[1].public_key]
    stripped = _with_signatures(full, surplus)
    assert tx_hash(stripped, CHAIN_ID) == tx_hash(full, CHAIN_ID)
    first = chain.run([stripped]).receipts[0]
    assert first.ok and first.tx_hash == tx_hash(full, CHAIN_ID)
    # The other envelope of the same body is the same transaction: its nonce is spent.
    assert chain.run([full]).receipts[0].error_code == "wrong_nonce"


def test_governance_cosigned_by_an_outsider_is_refused_by_the_node_check() -> None:
    raw = _governance([*VALIDATORS[:3], MALLORY])
    tx = check_tx(raw, CHAIN_ID, LIMITS)  # statelessly well formed ...
    with pytest.raises(InvalidTransaction) as info:  # ... but not by the validator set
        require_cosigners_in(tx, frozenset(k.public_key for k in VALIDATORS), "validators")
    assert info.value.code == "unexpected_signature"
    assert {"grant_role", "revoke_role", "appoint_issuer"} == MULTI_SIGNER_KINDS


def test_governance_cosigned_by_a_non_operator_is_refused_by_the_address_check() -> None:
    operators = frozenset(k.address for k in VALIDATORS)
    tx = check_tx(_governance(list(VALIDATORS[:3])), CHAIN_ID, LIMITS)
    require_cosigner_addresses_in(tx, operators, "operators")  # all operators: passes
    padded = check_tx(_governance([*VALIDATORS[:3], MALLORY]), CHAIN_ID, LIMITS)
    with pytest.raises(InvalidTransaction) as info:
        require_cosigner_addresses_in(padded, operators, "operators")
    assert info.value.code == "unexpected_signature" and MALLORY.address in info.value.message
