"""Signed envelopes: every stateless rejection is a typed InvalidTransaction with a stable code."""

from __future__ import annotations

import hashlib

import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.errors import InvalidTransaction
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.tx import (
    decode_certified_tx,
    decode_tx,
    encode_tx,
    tx_hash,
    tx_sign_bytes,
)
from carbon_ticket.proto import ledger_pb2

CHAIN = "carbon-test-1"
LIMITS = Limits()


def key(n: int) -> PrivateKey:
    return PrivateKey(hashlib.sha256(b"tx-key-%d" % n).digest())


def transfer_body(signer: PrivateKey, chain_id: str = CHAIN, nonce: int = 0) -> ledger_pb2.TxBody:
    body = ledger_pb2.TxBody(chain_id=chain_id, signer=signer.address, nonce=nonce)
    body.transfer.entries.add(to=key(99).address, batch_id="CN15-GY-0001-20230101-20231231-001",
                              amount_grams=1_000_000)  # fmt: skip
    return body


def code_of(raw: bytes, chain_id: str = CHAIN, limits: Limits = LIMITS) -> str:
    with pytest.raises(InvalidTransaction) as info:
        decode_tx(raw, chain_id, limits)
    return info.value.code


def test_valid_transaction_decodes() -> None:
    raw = encode_tx(transfer_body(key(1)), [key(1)])
    tx = decode_tx(raw, CHAIN, LIMITS)
    body = ledger_pb2.TxEnvelope.FromString(raw).body
    assert tx.tx_hash == tx_hash(raw, CHAIN) == hashlib.sha256(tx_sign_bytes(CHAIN, body)).digest()
    assert tx.signer == key(1).address
    assert tx.signers == (key(1).public_key,)
    assert tx.kind == "transfer"


def test_tampered_body_is_rejected() -> None:
    raw = encode_tx(transfer_body(key(1)), [key(1)])
    env = ledger_pb2.TxEnvelope.FromString(raw)
    body = ledger_pb2.TxBody.FromString(env.body)
    body.transfer.entries[0].amount_grams = 2_000_000
    env.body = body.SerializeToString(deterministic=True)
    assert code_of(env.SerializeToString(deterministic=True)) == "bad_signature"


def test_wrong_chain_id_is_rejected_even_if_signed_for_it() -> None:
    raw = encode_tx(transfer_body(key(1), chain_id="other-chain"), [key(1)])
    assert code_of(raw) == "wrong_chain_id"


def test_signature_for_another_chain_does_not_verify() -> None:
    # Body claims this chain, but the signature was made over another chain id.
    body = transfer_body(key(1)).SerializeToString(deterministic=True)
    sig = key(1).sign(tx_sign_bytes("other-chain", body))
    env = ledger_pb2.TxEnvelope(body=body)
    env.signatures.add(public_key=key(1).public_key, signature=sig)
    assert code_of(env.SerializeToString(deterministic=True)) == "bad_signature"


def test_wrong_key_is_rejected() -> None:
    raw = encode_tx(transfer_body(key(1)), [key(2)])
    assert code_of(raw) == "missing_signature"


def test_signature_swapped_to_another_key_is_rejected() -> None:
    env = ledger_pb2.TxEnvelope.FromString(encode_tx(transfer_body(key(1)), [key(1)]))
    env.signatures[0].public_key = key(2).public_key
    # The signer's own key is gone: refused before any signature is verified.
    assert code_of(env.SerializeToString(deterministic=True)) == "missing_signature"
    body = ledger_pb2.TxBody(chain_id=CHAIN, signer=key(1).address, nonce=0)
    body.grant_role.address = key(5).address
    body.grant_role.role = ledger_pb2.ROLE_ISSUER
    env = ledger_pb2.TxEnvelope.FromString(encode_tx(body, [key(1), key(3)]))
    cosigner = next(i for i, s in enumerate(env.signatures) if s.public_key == key(3).public_key)
    env.signatures[cosigner].public_key = key(2).public_key
    env.signatures.sort(key=lambda s: s.public_key)
    assert code_of(env.SerializeToString(deterministic=True)) == "bad_signature"


def test_unsigned_and_duplicate_signatures_are_rejected() -> None:
    env = ledger_pb2.TxEnvelope.FromString(encode_tx(transfer_body(key(1)), [key(1)]))
    dup = ledger_pb2.TxEnvelope(body=env.body, signatures=[env.signatures[0], env.signatures[0]])
    assert code_of(dup.SerializeToString(deterministic=True)) == "duplicate_signature"
    del env.signatures[:]
    assert code_of(env.SerializeToString(deterministic=True)) == "missing_signature"


def test_too_many_signatures() -> None:
    keys = [key(1)] + [key(i) for i in range(10, 13)]
    raw = encode_tx(transfer_body(key(1)), keys)
    assert code_of(raw, limits=Limits(max_signatures=3)) == "too_many_signatures"


def test_multisig_envelope_verifies_every_signer() -> None:
    # Who must co-sign is a ledger rule (governance needs > 2/3 of the validators: see
    # tests/chain/test_rules_accounts.py); the envelope reports every verified signer.
    validators = [key(i) for i in range(20, 24)]
    body = ledger_pb2.TxBody(chain_id=CHAIN, signer=validators[0].address, nonce=0)
    body.grant_role.address = key(5).address
    body.grant_role.role = ledger_pb2.ROLE_ISSUER
    tx = decode_tx(encode_tx(body, validators[:3]), CHAIN, LIMITS)
    assert tx.signer_addresses == frozenset(v.address for v in validators[:3])
    assert tx.signers == tuple(sorted(v.public_key for v in validators[:3]))


def test_one_bad_cosignature_rejects_the_envelope() -> None:
    validators = [key(i) for i in range(20, 23)]
    body = ledger_pb2.TxBody(chain_id=CHAIN, signer=validators[0].address, nonce=0)
    body.revoke_role.address = key(5).address
    body.revoke_role.role = ledger_pb2.ROLE_ISSUER
    env = ledger_pb2.TxEnvelope.FromString(encode_tx(body, validators))
    sig = env.signatures[2].signature
    env.signatures[2].signature = sig[:5] + bytes([sig[5] ^ 0xFF]) + sig[6:]
    assert code_of(env.SerializeToString(deterministic=True)) == "bad_signature"


@pytest.mark.parametrize("raw", [b"\xff\xff\xff", b"\x0a\x05abc", bytes(range(256))])
def test_garbage_is_malformed(raw: bytes) -> None:
    assert code_of(raw) == "malformed_tx"


def test_unknown_fields_are_rejected() -> None:
    raw = encode_tx(transfer_body(key(1)), [key(1)])
    assert code_of(raw + b"\xf8\x07\x01") == "malformed_tx"  # field 127 varint


def test_oversized_transaction_is_rejected() -> None:
    body = transfer_body(key(1))
    body.memo = "x" * 200
    raw = encode_tx(body, [key(1)])
    assert code_of(raw, limits=Limits(max_tx_bytes=len(raw) - 1)) == "tx_too_large"


def test_long_memo_and_empty_message() -> None:
    body = transfer_body(key(1))
    body.memo = "m" * (LIMITS.max_memo_bytes + 1)
    assert code_of(encode_tx(body, [key(1)])) == "field_too_long"
    empty = ledger_pb2.TxBody(chain_id=CHAIN, signer=key(1).address)
    assert code_of(encode_tx(empty, [key(1)])) == "empty_tx"


def test_bad_signer_address() -> None:
    body = transfer_body(key(1))
    body.signer = body.signer[:-1] + ("q" if body.signer[-1] != "q" else "p")
    assert code_of(encode_tx(body, [key(1)])) == "invalid_address"
    body = transfer_body(key(1))
    body.signer = body.signer.upper()
    assert code_of(encode_tx(body, [key(1)])) == "invalid_address"
    # An empty or malformed signer is named as the signer: "invalid address ''" did not say which
    body.signer = ""
    with pytest.raises(InvalidTransaction, match=r"^signer: invalid address ''") as info:
        decode_tx(encode_tx(body, [key(1)]), CHAIN, LIMITS)
    assert info.value.code == "invalid_address"


def _grant_role(signers: list[PrivateKey]) -> bytes:
    body = ledger_pb2.TxBody(chain_id=CHAIN, signer=signers[0].address, nonce=0)
    body.grant_role.address = key(5).address
    body.grant_role.role = ledger_pb2.ROLE_ISSUER
    return encode_tx(body, signers)


@pytest.mark.parametrize(
    "raw",
    [encode_tx(transfer_body(key(1)), [key(1)]), _grant_role([key(i) for i in range(20, 23)])],
    ids=["transfer", "co-signed grant_role"],
)
def test_a_certified_envelope_decodes_as_a_checked_one(raw: bytes) -> None:
    # Block sync trusts a verified commit certificate for what the validators checked: the
    # decoded form must be exactly what decode_tx gives, or execution would differ.
    checked = decode_tx(raw, CHAIN, LIMITS)
    assert decode_certified_tx(raw, checked.tx_hash) == checked


def test_a_certified_envelope_is_not_checked_again() -> None:
    # The signature is not verified: the certificate vouches for these exact bytes.
    env = ledger_pb2.TxEnvelope.FromString(encode_tx(transfer_body(key(1)), [key(1)]))
    env.signatures[0].signature = bytes(64)
    forged = env.SerializeToString(deterministic=True)
    assert code_of(forged) == "bad_signature"
    assert decode_certified_tx(forged, b"\x01" * 32).signers == (key(1).public_key,)


@pytest.mark.parametrize("raw", [b"\xff\xff\xff", bytes(range(256))])
def test_a_certified_envelope_that_does_not_parse_is_malformed(raw: bytes) -> None:
    with pytest.raises(InvalidTransaction) as info:
        decode_certified_tx(raw, b"\x01" * 32)
    assert info.value.code == "malformed_tx"
