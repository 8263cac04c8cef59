"""Headers and blocks: canonical hashing, wire round trips, malformed input, tx and receipt
proofs."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import struct

import pytest

from carbon_ticket.chain.block import (
    GENESIS_PREV_HASH,
    HEADER_DOMAIN,
    Block,
    Header,
    build_block,
    receipt_proof,
    results_root,
    tx_root,
    verify_receipt_proof,
    verify_tx_id_proof,
    verify_tx_proof,
)
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.errors import InvalidBlock
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.merkle import MerkleProof, merkle_root
from carbon_ticket.chain.results import Event, TxResult
from carbon_ticket.chain.tx import encode_tx, tx_hash
from carbon_ticket.proto import ledger_pb2

CHAIN = "carbon-test-1"


def h(tag: str) -> bytes:
    return hashlib.sha256(tag.encode()).digest()


def header(**changes: object) -> Header:
    fields: dict[str, object] = dict(
        chain_id=CHAIN,
        height=7,
        time_ms=1_700_000_000_123,
        prev_hash=h("prev"),
        tx_root=h("root"),
        results_root=h("results"),
        envelopes_root=h("envelopes"),
        app_hash=h("app"),
        proposer=h("proposer"),
        validators_hash=h("vals"),
        next_validators_hash=h("next vals"),
        tx_count=3,
    )
    fields.update(changes)
    return Header(**fields)  # type: ignore[arg-type]


def transfer_tx(n: int) -> bytes:
    key = PrivateKey(hashlib.sha256(b"block-key-%d" % n).digest())
    body = ledger_pb2.TxBody(chain_id=CHAIN, signer=key.address, nonce=n)
    body.transfer.entries.add(to=key.address, batch_id="CN15-GY-0001-20230101-20231231-001",
                              amount_grams=1_000 + n)  # fmt: skip
    return encode_tx(body, [key])


def random_envelope(rng: random.Random) -> bytes:
    # Any bytes that parse as an envelope have an id; nothing else is needed for a Merkle tree.
    env = ledger_pb2.TxEnvelope(body=rng.randbytes(rng.randrange(1, 300)))
    return env.SerializeToString(deterministic=True)


def receipt_for(raw: bytes, n: int) -> TxResult:
    if n % 3 == 2:
        return TxResult(tx_hash(raw, CHAIN), 2, "insufficient_balance", f"have {n}")
    return TxResult(tx_hash(raw, CHAIN), events=(Event("transfer", (("amount_grams", str(n)),)),))


def random_block(rng: random.Random, n: int) -> Block:
    txs = [random_envelope(rng) for _ in range(n)]
    return build_block(
        chain_id=CHAIN,
        height=rng.randrange(1, 10**6),
        time_ms=rng.randrange(2**40),
        prev_hash=rng.randbytes(32),
        app_hash=rng.randbytes(32),
        proposer=rng.randbytes(32),
        validators_hash=rng.randbytes(32),
        txs=txs,
        receipts=[receipt_for(raw, i) for i, raw in enumerate(txs)],
    )


def test_header_hash_is_sha256_of_the_documented_canonical_bytes() -> None:
    hd = header()
    cid = CHAIN.encode()
    expected = (
        HEADER_DOMAIN
        + len(cid).to_bytes(2, "big")
        + cid
        + struct.pack(">QQ", 7, 1_700_000_000_123)
        + h("prev") + h("root") + h("results") + h("envelopes") + h("app") + h("proposer")
        + h("vals") + h("next vals")
        + (3).to_bytes(4, "big")
    )  # fmt: skip
    assert hd.canonical_bytes() == expected
    assert hd.hash() == hashlib.sha256(expected).digest()


def test_header_hash_known_answer() -> None:
    # Pinned: any change to the canonical form is a consensus-breaking change.
    assert (
        header().hash().hex()
        == (hashlib.sha256(header().canonical_bytes()).hexdigest())
        == "bc69a41201ead590c2c4eded8fa231e63b03dc69250b94b7b739525b2cd2785f"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"chain_id": "carbon-test-2"},
        {"height": 8},
        {"time_ms": 1_700_000_000_124},
        {"prev_hash": h("x")},
        {"tx_root": h("x")},
        {"results_root": h("x")},
        {"envelopes_root": h("x")},
        {"app_hash": h("x")},
        {"proposer": h("x")},
        {"validators_hash": h("x")},
        {"next_validators_hash": h("x")},
        {"tx_count": 4},
    ],
)
def test_every_header_field_changes_the_hash(change: dict[str, object]) -> None:
    assert header(**change).hash() != header().hash()


@pytest.mark.parametrize(
    "change",
    [
        {"chain_id": ""},
        {"chain_id": "x" * 65},
        {"height": -1},
        {"height": 2**64},
        {"time_ms": 2**64},
        {"tx_count": 2**32},
        {"prev_hash": b""},
        {"app_hash": b"\x00" * 31},
        {"proposer": b"\x00" * 33},
        {"validators_hash": b""},
        {"next_validators_hash": b"\x00" * 31},
        {"tx_root": b"\x01"},
        {"results_root": b""},
    ],
)
def test_out_of_shape_headers_are_rejected(change: dict[str, object]) -> None:
    with pytest.raises(InvalidBlock) as info:
        header(**change)
    assert info.value.code == "malformed_block"


def test_header_proto_round_trip() -> None:
    hd = header()
    assert Header.from_proto(hd.to_proto()) == hd
    assert Header.decode(hd.encode()) == hd
    assert Header.decode(hd.encode()).hash() == hd.hash()


def test_block_round_trip_and_hash() -> None:
    txs = [transfer_tx(i) for i in range(5)]
    block = build_block(
        chain_id=CHAIN, height=1, time_ms=5, prev_hash=GENESIS_PREV_HASH, app_hash=h("a"),
        proposer=h("p"), validators_hash=h("v"), txs=txs,
        receipts=[receipt_for(t, i) for i, t in enumerate(txs)],
    )  # fmt: skip
    assert block.header.tx_count == 5
    assert block.header.tx_root == merkle_root([tx_hash(t, CHAIN) for t in txs])
    assert block.verify_tx_root()
    assert block.hash == block.header.hash()
    decoded = Block.decode(block.encode(), Limits())
    assert decoded == block
    assert decoded.hash == block.hash


def test_verify_tx_root_detects_swapped_or_replaced_txs() -> None:
    block = random_block(random.Random(1), 4)
    swapped = Block(block.header, (block.txs[1], block.txs[0], *block.txs[2:]))
    replaced = Block(block.header, (random_envelope(random.Random(9)), *block.txs[1:]))
    garbage = Block(block.header, (b"\xff\xff", *block.txs[1:]))
    assert block.verify_tx_root()
    assert not swapped.verify_tx_root()
    assert not replaced.verify_tx_root()
    assert not garbage.verify_tx_root()


def test_empty_block() -> None:
    block = random_block(random.Random(2), 0)
    assert block.header.tx_root == tx_root(CHAIN, ()) == hashlib.sha256(b"").digest()
    assert block.header.results_root == results_root(()) == hashlib.sha256(b"").digest()
    assert Block.decode(block.encode()) == block


def test_block_with_wrong_tx_count_is_rejected() -> None:
    with pytest.raises(InvalidBlock, match="3 transactions"):
        Block(header(), (b"a",))


def malformed(raw: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(InvalidBlock) as info:
        Block.decode(raw, limits)
    return info.value.code


def test_malformed_blocks_are_rejected_with_typed_errors() -> None:
    good = random_block(random.Random(3), 3)
    raw = good.encode()
    assert malformed(b"\xff\xff\xff") == "malformed_block"
    assert malformed(raw[:-5]) == "malformed_block"
    assert malformed(b"") == "malformed_block"  # no header
    assert malformed(raw + b"\xa0\x06\x01") == "malformed_block"  # unknown field 100
    msg = good.to_proto()
    msg.header.prev_hash = b"short"
    assert malformed(msg.SerializeToString(deterministic=True)) == "malformed_block"
    msg = good.to_proto()
    msg.txs.append(b"extra")
    assert malformed(msg.SerializeToString(deterministic=True)) == "malformed_block"
    assert malformed(raw, Limits(max_block_bytes=len(raw) - 1)) == "malformed_block"
    assert malformed(raw, Limits(max_block_txs=2)) == "malformed_block"


def test_non_canonical_encoding_is_rejected() -> None:
    good = random_block(random.Random(4), 1)
    msg = good.to_proto()
    # Header field repeated: protobuf merges it, but the bytes are not canonical.
    raw = msg.SerializeToString(deterministic=True) + b"\x0a\x00"
    assert malformed(raw) == "malformed_block"


@pytest.mark.parametrize("seed", range(8))
def test_tx_proofs_verify_for_every_tx_of_random_blocks(seed: int) -> None:
    rng = random.Random(seed)
    block = random_block(rng, rng.randrange(1, 80))
    other = random_block(rng, len(block.txs))
    for i, raw in enumerate(block.txs):
        proof = block.tx_proof(i)
        assert verify_tx_proof(block.header, raw, proof)
        assert not verify_tx_proof(block.header, raw + b"x", proof)
        assert not verify_tx_proof(other.header, raw, proof)
        assert not verify_tx_proof(block.header, raw, MerkleProof(i, proof.size + 1, proof.path))


def test_tx_proofs_for_real_transfer_envelopes() -> None:
    txs = [transfer_tx(i) for i in range(13)]
    block = build_block(
        chain_id=CHAIN, height=3, time_ms=5, prev_hash=h("p"), app_hash=h("a"),
        proposer=h("p"), validators_hash=h("v"), txs=txs,
        receipts=[receipt_for(t, i) for i, t in enumerate(txs)],
    )  # fmt: skip
    header_only = Header.decode(block.header.encode())
    for i, raw in enumerate(txs):
        assert verify_tx_proof(header_only, raw, block.tx_proof(i))
    tampered = dataclasses.replace(header_only, tx_root=h("other"))
    assert not verify_tx_proof(tampered, txs[0], block.tx_proof(0))


def test_signatures_do_not_change_a_transaction_leaf() -> None:
    raw = transfer_tx(1)
    env = ledger_pb2.TxEnvelope.FromString(raw)
    unsigned = ledger_pb2.TxEnvelope(body=env.body).SerializeToString(deterministic=True)
    assert tx_root(CHAIN, [raw]) == tx_root(CHAIN, [unsigned])
    assert tx_root(CHAIN, [raw]) != tx_root("carbon-test-2", [raw])


@pytest.mark.parametrize("seed", range(4))
def test_receipt_proofs_verify_for_every_receipt_and_pin_every_committed_field(
    seed: int,
) -> None:
    rng = random.Random(100 + seed)
    txs = [random_envelope(rng) for _ in range(rng.randrange(1, 40))]
    receipts = [receipt_for(raw, i) for i, raw in enumerate(txs)]
    block = build_block(
        chain_id=CHAIN, height=3, time_ms=5, prev_hash=h("p"), app_hash=h("a"),
        proposer=h("p"), validators_hash=h("v"), txs=txs, receipts=receipts,
    )  # fmt: skip
    for i, receipt in enumerate(receipts):
        proof = receipt_proof(receipts, i)
        assert verify_receipt_proof(block.header, receipt, proof)
        assert verify_tx_id_proof(block.header, receipt.tx_hash, block.tx_proof(i))
        # The free-text message is not committed: rewording it cannot fork the chain.
        assert verify_receipt_proof(
            block.header, dataclasses.replace(receipt, message="reworded"), proof
        )
        for forged in (
            dataclasses.replace(receipt, code=0 if receipt.code else 2),
            dataclasses.replace(receipt, error_code="other"),
            dataclasses.replace(receipt, tx_hash=h("x")),
            dataclasses.replace(receipt, events=()),
            dataclasses.replace(receipt, events=(Event("transfer", (("amount_grams", "9"),)),)),
        ):
            if forged.canonical_bytes() != receipt.canonical_bytes():
                assert not verify_receipt_proof(block.header, forged, proof)
        assert not verify_receipt_proof(
            block.header, receipt, MerkleProof(i, proof.size + 1, proof.path)
        )


def test_a_failed_retire_cannot_be_passed_off_as_applied() -> None:
    """Issue 12, finding 2: a tx proof alone verified for a Retire that failed with
    insufficient_balance. Its committed receipt now says it failed, and an "ok" receipt for
    it does not verify against the header."""
    key = PrivateKey(hashlib.sha256(b"retirer").digest())
    body = ledger_pb2.TxBody(chain_id=CHAIN, signer=key.address, nonce=0)
    body.retire.batch_id = "CN15-GY-0001-20230101-20231231-001"
    body.retire.amount_grams = 5_000_000_000
    raw = encode_tx(body, [key])
    failed = TxResult(tx_hash(raw, CHAIN), 2, "insufficient_balance", "have 0")
    block = build_block(
        chain_id=CHAIN, height=3, time_ms=5, prev_hash=h("p"), app_hash=h("a"),
        proposer=h("p"), validators_hash=h("v"), txs=[raw], receipts=[failed],
    )  # fmt: skip
    assert verify_tx_proof(block.header, raw, block.tx_proof(0))  # it is in the block ...
    proof = receipt_proof([failed], 0)
    assert verify_receipt_proof(block.header, failed, proof)  # ... and it failed
    claimed = TxResult(failed.tx_hash, events=(Event("retire", (("certificate_id", "RC-X"),)),))
    assert not verify_receipt_proof(block.header, claimed, proof)


def test_a_changed_signature_changes_the_block_hash_or_fails_the_roots() -> None:
    """Ids ignore signatures, so tx_root alone would let a relay swap one and keep the hash."""
    txs = [transfer_tx(1), transfer_tx(2)]
    block = _block_of(txs)
    envelope = ledger_pb2.TxEnvelope.FromString(txs[0])
    sig = bytearray(envelope.signatures[0].signature)
    sig[0] ^= 1
    envelope.signatures[0].signature = bytes(sig)
    tampered_tx = envelope.SerializeToString(deterministic=True)
    assert tx_hash(tampered_tx, CHAIN) == tx_hash(txs[0], CHAIN)  # same id ...
    tampered = Block(header=block.header, txs=(tampered_tx, txs[1]))
    assert block.verify_tx_root()
    assert not tampered.verify_tx_root()  # ... but not the same envelopes
    rebuilt = _block_of([tampered_tx, txs[1]])
    assert rebuilt.hash != block.hash


def _block_of(txs: list[bytes]) -> Block:
    return build_block(
        chain_id=CHAIN, height=1, time_ms=5, prev_hash=GENESIS_PREV_HASH, app_hash=h("a"),
        proposer=h("p"), validators_hash=h("v"), txs=txs,
        receipts=[receipt_for(t, i) for i, t in enumerate(txs)],
    )  # fmt: skip


def test_roots_are_checked_once_per_block_and_results_root_once_per_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Binding, validation and the store all ask; the hashing is done once."""
    import carbon_ticket.chain.block as block_module
    import carbon_ticket.chain.results as results_module
    from carbon_ticket.chain.results import BlockResult

    txs = [transfer_tx(i) for i in range(3)]
    block = Block.decode(_block_of(txs).encode())  # a fresh object, nothing cached yet
    calls = {"envelopes": 0, "results": 0, "receipt bytes": 0}
    real_envelopes, real_merkle = block_module.envelopes_root, results_module.merkle_root
    real_bytes = TxResult.canonical_bytes

    def counting_envelopes(raws: list[bytes]) -> bytes:
        calls["envelopes"] += 1
        return real_envelopes(raws)

    def counting_merkle(leaves: list[bytes]) -> bytes:
        calls["results"] += 1
        return real_merkle(leaves)

    def counting_bytes(receipt: TxResult) -> bytes:
        calls["receipt bytes"] += 1
        return real_bytes(receipt)

    monkeypatch.setattr(block_module, "envelopes_root", counting_envelopes)
    monkeypatch.setattr(results_module, "merkle_root", counting_merkle)
    monkeypatch.setattr(TxResult, "canonical_bytes", counting_bytes)
    assert all(block.verify_tx_root() for _ in range(3))
    result = BlockResult(receipts=tuple(receipt_for(t, i) for i, t in enumerate(txs)))
    assert result.results_root() == result.results_root() == block.header.results_root
    # The store keeps the same bytes as the receipts' stored form: nothing encoded again.
    assert result.receipt_bytes() == tuple(real_bytes(r) for r in result.receipts)
    assert calls == {"envelopes": 1, "results": 1, "receipt bytes": 3}


def test_a_decoded_header_keeps_the_bytes_it_arrived_as_and_known_ids_are_not_rehashed() -> None:
    txs = [transfer_tx(i) for i in range(3)]
    built = _block_of(txs)
    wire = built.encode()
    decoded = Block.decode(wire)
    # The header's own protobuf bytes, sliced from the block, are what the store writes.
    assert decoded.header.encode() == built.header.to_proto().SerializeToString(deterministic=True)
    assert decoded.header.encode() in wire
    # Ids this node knows (its mempool's) are taken as they are; only the others are hashed.
    asked: list[bytes] = []

    def id_of(raw: bytes) -> bytes | None:
        asked.append(raw)
        return tx_hash(raw, CHAIN) if raw == txs[0] else None

    with_ids = Block.decode(wire, id_of=id_of)
    assert asked == txs and with_ids.tx_hashes() == built.tx_hashes()
    assert with_ids.verify_tx_root() and with_ids.hash == built.hash
    # An id the caller got wrong cannot pass: the roots are checked against the header.
    lying = Block.decode(wire, id_of=lambda raw: b"\x00" * 32)
    assert not lying.verify_tx_root()
