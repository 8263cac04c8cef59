"""docs/spec.md cannot rot: its `vector` blocks are recomputed with the node's code, and its
field-by-field encoding rules are replayed by a tiny protobuf writer written from the page."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from carbon_ticket.chain.block import Header
from carbon_ticket.chain.crypto import (
    PrivateKey,
    address_from_public_key,
    module_address,
    parse_address,
    verify_signature,
)
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.merkle import MerkleProof, merkle_proof, merkle_root, verify_proof
from carbon_ticket.chain.results import Event, TxResult
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.tx import decode_tx, encode_tx, tx_hash, tx_id, tx_sign_bytes
from carbon_ticket.consensus import Validator, ValidatorSet, Vote, VoteType, vote_sign_bytes
from carbon_ticket.node.peer_auth import call_sign_bytes, frame_sign_bytes
from carbon_ticket.proto import ledger_pb2

SPEC = Path(__file__).resolve().parent.parent / "docs" / "spec.md"
Vector = dict[str, str]
KINDS = ("address", "module-address", "transfer", "retire", "peer-call", "peer-frame",
         "validator-set", "header", "genesis", "vote", "merkle", "receipt")  # fmt: skip


def parse_vectors(text: str) -> list[Vector]:
    """Every fenced block marked `vector`, as its `key: value` lines."""
    vectors = []
    for block in re.findall(r"^```vector\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        vector: Vector = {}
        for line in block.splitlines():
            key, colon, value = line.partition(":")
            assert colon, f"not a `key: value` line in a vector block: {line!r}"
            assert key not in vector, f"{key} twice in one vector block"
            vector[key.strip()] = value.strip()
        vectors.append(vector)
    return vectors


def _same(vector: Vector, key: str, computed: str) -> None:
    assert vector[key] == computed, f"{vector['vector']} vector, {key}: spec has {vector[key]}"


# ---------------------------------------------------------------- recomputed with the code


def check_address(v: Vector) -> None:
    key = PrivateKey(bytes.fromhex(v["seed"]))
    _same(v, "public_key", key.public_key.hex())
    _same(v, "hash20", hashlib.sha256(key.public_key).digest()[:20].hex())
    _same(v, "address", address_from_public_key(key.public_key))
    assert parse_address(v["address"].upper()) == v["address"]


def check_module_address(v: Vector) -> None:
    _same(v, "address", module_address(v["name"]))


def _body(v: Vector, msg: ledger_pb2.Transfer | ledger_pb2.Retire) -> ledger_pb2.TxBody:
    body = ledger_pb2.TxBody(
        chain_id=v["chain_id"], signer=v["signer"], nonce=int(v["nonce"]), memo=v["memo"]
    )
    getattr(body, "transfer" if isinstance(msg, ledger_pb2.Transfer) else "retire").CopyFrom(msg)
    return body


def _check_signed(v: Vector, body: ledger_pb2.TxBody) -> bytes:
    key = PrivateKey(bytes.fromhex(v["seed"]))
    _same(v, "signer", key.address)
    body_bytes = body.SerializeToString(deterministic=True)
    _same(v, "body", body_bytes.hex())
    sign_bytes = tx_sign_bytes(v["chain_id"], body_bytes)
    _same(v, "sign_bytes", sign_bytes.hex())
    _same(v, "signature", key.sign(sign_bytes).hex())
    envelope = encode_tx(body, [key])
    _same(v, "envelope", envelope.hex())
    _same(v, "tx_id", tx_id(v["chain_id"], body_bytes).hex())
    assert tx_id(v["chain_id"], body_bytes) == hashlib.sha256(sign_bytes).digest()
    assert tx_hash(envelope, v["chain_id"]).hex() == v["tx_id"]
    # The node's own admission checks accept the envelope as the page spells it.
    signed = decode_tx(bytes.fromhex(v["envelope"]), v["chain_id"], Limits())
    assert signed.tx_hash.hex() == v["tx_id"]
    assert verify_signature(key.public_key, sign_bytes, bytes.fromhex(v["signature"]))
    return body_bytes


def check_transfer(v: Vector) -> None:
    entry = ledger_pb2.TransferEntry(
        to=v["to"], batch_id=v["batch_id"], amount_grams=int(v["amount_grams"])
    )
    body_bytes = _check_signed(v, _body(v, ledger_pb2.Transfer(entries=[entry])))
    assert body_bytes == _hand_encoded_transfer(v)


def check_retire(v: Vector) -> None:
    start, _, end = v["period"].partition("-")
    retire = ledger_pb2.Retire(
        batch_id=v["batch_id"],
        amount_grams=int(v["amount_grams"]),
        beneficiary=v["beneficiary"],
        reason=v["reason"],
        jurisdiction=v["jurisdiction"],
        event=v["event"],
        period=ledger_pb2.Period(start_date=int(start), end_date=int(end)),
    )
    body_bytes = _check_signed(v, _body(v, retire))
    assert body_bytes == _hand_encoded_retire(v)
    _same(v, "certificate_id", certificate_id(bytes.fromhex(v["tx_id"])))
    assert v["certificate_id"] == "RC-" + v["tx_id"][:24].upper()


def check_peer_call(v: Vector) -> None:
    key = PrivateKey(bytes.fromhex(v["seed"]))
    sign_bytes = call_sign_bytes(
        v["chain_id"],
        v["method"],
        int(v["time_ms"]),
        bytes.fromhex(v["nonce"]),
        bytes.fromhex(v["request"]),
    )
    _same(v, "sign_bytes", sign_bytes.hex())
    _same(v, "signature", key.sign(sign_bytes).hex())


def check_peer_frame(v: Vector) -> None:
    key = PrivateKey(bytes.fromhex(v["seed"]))
    sign_bytes = frame_sign_bytes(v["chain_id"], bytes.fromhex(v["nonce"]), int(v["seq"]),
                                  int(v["kind"]), bytes.fromhex(v["payload"]))  # fmt: skip
    _same(v, "sign_bytes", sign_bytes.hex())
    _same(v, "signature", key.sign(sign_bytes).hex())


def _validator_set(v: Vector) -> ValidatorSet:
    names, seeds, powers = (v[k].split(",") for k in ("names", "seeds", "powers"))
    return ValidatorSet(
        tuple(
            Validator(name, PrivateKey(bytes.fromhex(seed)).public_key, int(power))
            for name, seed, power in zip(names, seeds, powers, strict=True)
        )
    )


def check_validator_set(v: Vector) -> None:
    validators = _validator_set(v)
    _same(v, "valset_bytes", validators.canonical_bytes().hex())
    _same(v, "validators_hash", validators.hash().hex())
    # By hand, from the page's formula.
    by_hand = b"carbonticket/valset/v1\x00" + len(validators.validators).to_bytes(4, "big")
    for member in validators.validators:
        name = member.name.encode()
        by_hand += len(name).to_bytes(2, "big") + name + member.public_key
        by_hand += member.power.to_bytes(8, "big")
    assert by_hand.hex() == v["valset_bytes"]


_HEADER_HASHES = ("prev_hash", "tx_root", "results_root", "envelopes_root", "app_hash",
                  "proposer", "validators_hash", "next_validators_hash")  # fmt: skip


def check_header(v: Vector) -> None:
    hashes = {name: bytes.fromhex(v[name]) for name in _HEADER_HASHES}
    header = Header(
        chain_id=v["chain_id"],
        height=int(v["height"]),
        time_ms=int(v["time_ms"]),
        tx_count=int(v["tx_count"]),
        **hashes,
    )
    _same(v, "header_bytes", header.canonical_bytes().hex())
    _same(v, "block_hash", header.hash().hex())
    # By hand, from the page's formula.
    cid = v["chain_id"].encode()
    by_hand = b"carbonticket/header/v3\x00" + len(cid).to_bytes(2, "big") + cid
    by_hand += int(v["height"]).to_bytes(8, "big") + int(v["time_ms"]).to_bytes(8, "big")
    by_hand += b"".join(hashes[name] for name in _HEADER_HASHES)
    by_hand += int(v["tx_count"]).to_bytes(4, "big")
    assert by_hand.hex() == v["header_bytes"]
    assert hashlib.sha256(by_hand).hexdigest() == v["block_hash"]


def check_genesis(v: Vector) -> None:
    genesis = Genesis.from_json(v["genesis_json"])
    _same(v, "genesis_hash", genesis.hash().hex())
    # The vector's JSON is the normal form itself, canonically written: hashed as it stands.
    normal = json.dumps(genesis.to_dict(), sort_keys=True, separators=(",", ":"),
                        ensure_ascii=False)  # fmt: skip
    assert normal == v["genesis_json"]
    by_hand = hashlib.sha256(b"carbonticket/genesis/v1\x00" + v["genesis_json"].encode())
    assert by_hand.hexdigest() == v["genesis_hash"]


def check_vote(v: Vector) -> None:
    key = PrivateKey(bytes.fromhex(v["seed"]))
    block_hash = bytes.fromhex(v["block_hash"])
    vote = Vote(VoteType(int(v["type"])), int(v["height"]), int(v["round"]), block_hash, 0)
    _same(v, "sign_bytes", vote_sign_bytes(v["chain_id"], vote).hex())
    _same(v, "signature", key.sign(bytes.fromhex(v["sign_bytes"])).hex())
    # By hand, from the page's formula.
    cid = v["chain_id"].encode()
    by_hand = b"carbonticket/vote/v1\x00" + len(cid).to_bytes(2, "big") + cid
    by_hand += int(v["type"]).to_bytes(1, "big") + int(v["height"]).to_bytes(8, "big")
    by_hand += int(v["round"]).to_bytes(4, "big") + bytes([len(block_hash)]) + block_hash
    assert by_hand.hex() == v["sign_bytes"]


def check_merkle(v: Vector) -> None:
    leaves = [bytes.fromhex(x) for x in v["leaves"].split(",")]
    _same(v, "root", merkle_root(leaves).hex())
    _same(v, "path", ",".join(p.hex() for p in merkle_proof(leaves, int(v["index"])).path))
    _same(v, "last_path", ",".join(p.hex() for p in merkle_proof(leaves, len(leaves) - 1).path))
    root = bytes.fromhex(v["root"])
    for index, key in ((int(v["index"]), "path"), (len(leaves) - 1, "last_path")):
        path = tuple(bytes.fromhex(p) for p in v[key].split(","))
        assert verify_proof(root, leaves[index], MerkleProof(index, len(leaves), path))


def _events(text: str) -> tuple[Event, ...]:
    kind, *pairs = text.split(" ")
    attributes = []
    for pair in pairs:
        key, _, value = pair.partition("=")
        attributes.append((key, value))
    return (Event(kind, tuple(attributes)),)


def check_receipt(v: Vector) -> None:
    receipt = TxResult(bytes.fromhex(v["tx_id"]), int(v["code"]), v["error_code"],
                       events=_events(v["events"]))  # fmt: skip
    _same(v, "receipt_bytes", receipt.canonical_bytes().hex())


CHECKS: dict[str, Callable[[Vector], None]] = {
    "address": check_address,
    "module-address": check_module_address,
    "transfer": check_transfer,
    "retire": check_retire,
    "peer-call": check_peer_call,
    "peer-frame": check_peer_frame,
    "validator-set": check_validator_set,
    "header": check_header,
    "genesis": check_genesis,
    "vote": check_vote,
    "merkle": check_merkle,
    "receipt": check_receipt,
}


# ---------------------------------------------------------------- section 3, by hand


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: int | str | bytes) -> bytes:
    # Defaults are omitted; integers are varints (wire type 0), the rest length-delimited (2).
    if value in (0, "", b""):
        return b""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _message(number: int, content: bytes) -> bytes:
    # A set message field is written even when empty.
    return _varint(number << 3 | 2) + _varint(len(content)) + content


def _header(v: Vector) -> bytes:
    return (_field(1, v["chain_id"]) + _field(2, v["signer"]) + _field(3, int(v["nonce"]))
            + _field(4, v["memo"]))  # fmt: skip


def _hand_encoded_transfer(v: Vector) -> bytes:
    entry = _field(1, v["to"]) + _field(2, v["batch_id"]) + _field(3, int(v["amount_grams"]))
    return _header(v) + _message(15, _message(1, entry))


def _hand_encoded_retire(v: Vector) -> bytes:
    start, _, end = v["period"].partition("-")
    period = _field(1, int(start)) + _field(2, int(end))
    fields: tuple[int | str, ...] = (v["batch_id"], int(v["amount_grams"]), v["beneficiary"],
                                     v["reason"], v["jurisdiction"], v["event"])  # fmt: skip
    retire = b"".join(_field(n, value) for n, value in enumerate(fields, start=1))
    return _header(v) + _message(16, retire + _message(7, period))


# ---------------------------------------------------------------- the tests


def test_the_spec_has_a_vector_of_every_kind() -> None:
    kinds = [v.get("vector") for v in parse_vectors(SPEC.read_text())]
    assert set(kinds) == set(KINDS), f"vector kinds in docs/spec.md: {kinds}"


@pytest.mark.parametrize(
    "vector",
    parse_vectors(SPEC.read_text()),
    ids=lambda v: (
        f"{v.get('vector')}-"
        + str(v.get("address") or v.get("tx_id") or v.get("method") or v.get("validators_hash"))
    ),
)
def test_spec_vector_matches_the_code(vector: Vector) -> None:
    CHECKS[vector["vector"]](vector)


def test_a_wrong_digit_in_a_vector_is_caught() -> None:
    text = SPEC.read_text()
    good = parse_vectors(text)
    assert any(v["vector"] == "transfer" for v in good)
    for v in good:
        for key in ("signature", "tx_id", "address", "body", "block_hash", "validators_hash"):
            if key not in v:
                continue
            broken = dict(v)
            broken[key] = v[key][:-1] + ("0" if v[key][-1] != "0" else "1")
            with pytest.raises(AssertionError):
                CHECKS[v["vector"]](broken)


def test_the_page_addresses_decode_to_their_key_hash() -> None:
    # bech32m decoding checks the checksum: the page's address carries exactly its hash20.
    from carbon_ticket.chain import bech32

    vector = next(v for v in parse_vectors(SPEC.read_text()) if v["vector"] == "address")
    hrp, payload = bech32.decode(vector["address"])
    assert (hrp, payload.hex()) == ("ct", vector["hash20"])
