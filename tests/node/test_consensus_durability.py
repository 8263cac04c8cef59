"""The node side of issue 11: payload binding, durable lock blocks, fetching a block by hash."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from carbon_ticket.chain import check_tx
from carbon_ticket.chain.block import Block
from carbon_ticket.consensus import SafetyStoreError, SignState, Step, Vote, VoteType
from carbon_ticket.node.safety import FileSafetyStore
from carbon_ticket.node.service_peer import PeerServicer
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.node.test_mempool_app import _app, _mempool, _register, _store


def _payload() -> tuple[bytes, bytes, object]:
    store = _store()
    pool = _mempool(store, check_tx)
    pool.admit(_register(0, "bind"))
    payload, block_hash = _app(store, pool).propose(1, 0)
    return payload, block_hash, store


def test_block_hash_binds_a_payload_without_executing_it() -> None:
    payload, block_hash, _ = _payload()
    other = _store()
    app = _app(other, _mempool(other, check_tx))
    assert app.block_hash(1, payload) == block_hash
    assert app.block_hash(2, payload) is None  # another height
    assert app.block_hash(1, b"junk") is None
    block = Block.decode(payload)
    swapped = Block(block.header, (_register(1, "other"),)).encode()
    assert app.block_hash(1, swapped) is None  # tx root no longer matches
    assert app.store.height == 0 and app.validate(1, payload) == block_hash


def test_a_payload_with_a_changed_signature_does_not_bind_to_the_signed_hash() -> None:
    """Tx ids leave signatures out; the header's envelopes root still pins every byte, so a
    relay that corrupts one signature in a signed proposal no longer has its proposal."""
    payload, block_hash, _ = _payload()
    block = Block.decode(payload)
    envelope = ledger_pb2.TxEnvelope.FromString(block.txs[0])
    sig = bytearray(envelope.signatures[0].signature)
    sig[-1] ^= 1
    envelope.signatures[0].signature = bytes(sig)
    tampered = Block(block.header, (envelope.SerializeToString(deterministic=True),)).encode()
    other = _store()
    app = _app(other, _mempool(other, check_tx))
    assert app.block_hash(1, tampered) is None
    assert app.block_hash(1, payload) == block_hash


def test_lock_blocks_survive_a_reopen_and_belong_to_one_height(tmp_path: Path) -> None:
    store = FileSafetyStore(tmp_path / "sign_state")
    assert store.load_blocks(3) == {}
    blocks = {b"\x01" * 32: b"payload-one", b"\x02" * 32: b"x" * 200_000}
    store.save_blocks(3, blocks)
    reopened = FileSafetyStore(tmp_path / "sign_state")
    assert reopened.load_blocks(3) == blocks
    assert reopened.load_blocks(4) == {}
    (tmp_path / "sign_state.blocks").write_bytes(b"carbonticket/lockblocks/v1\x00\x00")
    with pytest.raises(SafetyStoreError):
        reopened.load_blocks(3)


def test_a_version_1_sign_state_file_still_loads(tmp_path: Path) -> None:
    vote = Vote(VoteType.PRECOMMIT, 9, 2, b"\x01" * 32, 3, b"s" * 64)
    state = SignState(9, 2, Step.PRECOMMIT, b"bytes", b"s" * 64, 2, b"\x01" * 32, (vote,), (vote,))
    v2 = state.to_bytes()
    # Version 1 is version 2 without the trailing valid value (round, hash length, no votes).
    v1 = b"carbonticket/signstate/v1\x00" + v2[len(b"carbonticket/signstate/v2\x00") : -6]
    (tmp_path / "sign_state").write_bytes(v1)
    loaded = FileSafetyStore(tmp_path / "sign_state").load()
    assert loaded == state
    assert loaded is not None and loaded.valid_round == -1


def test_the_peer_service_serves_a_proposal_block_by_hash() -> None:
    held = {(5, b"h" * 32): b"block-bytes"}
    source = SimpleNamespace(proposal_block=lambda height, hash_: held.get((height, hash_)))
    unused: Any = None  # GetProposalBlock reads nothing else
    servicer = PeerServicer(unused, source, unused, unused)

    async def ask(height: int, block_hash: bytes) -> services_pb2.ProposalBlock:
        request = services_pb2.GetProposalBlockRequest(height=height, block_hash=block_hash)
        return await servicer.GetProposalBlock(request, None)  # type: ignore[arg-type]

    found = asyncio.run(ask(5, b"h" * 32))
    assert found.found and found.block == b"block-bytes"
    assert not asyncio.run(ask(5, b"x" * 32)).found
