"""The node side of issue 11: payload binding, durable lock blocks, fetching a block by hash."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from carbon_ticket.chain import check_tx
from carbon_ticket.chain.block import Block
from carbon_ticket.consensus import SafetyStoreError, SavedBlocks, SignState, Step, Vote, VoteType
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


def _state(height: int, round_: int = 0, step: Step = Step.PRECOMMIT) -> SignState:
    return SignState(height, round_, step, b"bytes-%d-%d" % (height, round_), b"s" * 64)


def test_lock_blocks_survive_a_reopen_and_belong_to_one_height(tmp_path: Path) -> None:
    store = FileSafetyStore(tmp_path / "sign_state")
    assert store.load_blocks(3) == {}
    blocks = {b"\x01" * 32: b"payload-one", b"\x02" * 32: b"x" * 200_000}
    store.save(_state(3), SavedBlocks(3, blocks))
    store.save(_state(3, 1))  # a later signature without new blocks keeps them
    reopened = FileSafetyStore(tmp_path / "sign_state")
    assert reopened.load() == _state(3, 1)
    assert reopened.load_blocks(3) == blocks
    assert reopened.load_blocks(4) == {}


def test_each_signature_costs_one_fsync_and_the_journal_compacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileSafetyStore(tmp_path / "sign_state")
    store.save(_state(1))  # creates the journal: file, rename, directory
    assert store.fsyncs == 2
    store.save(_state(1, 1), SavedBlocks(1, {b"h" * 32: b"block"}))  # a lock and its precommit
    store.save(_state(2, 0, Step.PREVOTE))
    assert store.fsyncs == 4 and store.compactions == 1
    monkeypatch.setattr("carbon_ticket.node.safety.COMPACT_AT_BYTES", 2_000)
    for round_ in range(1, 40):
        store.save(_state(2, round_), SavedBlocks(2, {b"h" * 32: b"x" * 100}))
    assert store.compactions > 1 and (tmp_path / "sign_state").stat().st_size < 2_000
    reopened = FileSafetyStore(tmp_path / "sign_state")
    assert reopened.load() == _state(2, 39) and reopened.load_blocks(2) == {b"h" * 32: b"x" * 100}


def test_a_torn_append_falls_back_to_the_last_whole_record_and_is_overwritten(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sign_state"
    store = FileSafetyStore(path)
    store.save(_state(5), SavedBlocks(5, {b"a" * 32: b"block-a"}))
    whole = path.stat().st_size
    store.save(_state(5, 1), SavedBlocks(5, {b"b" * 32: b"block-b"}))
    # A crash in the middle of the second append: its signature never left the node.
    for cut in (whole + 3, path.stat().st_size - 1):
        path.write_bytes(path.read_bytes()[:cut] + b"")
        torn = FileSafetyStore(path)
        assert torn.load() == _state(5) and torn.load_blocks(5) == {b"a" * 32: b"block-a"}
        store = torn
    store.save(_state(5, 1, Step.PREVOTE))
    assert path.stat().st_size > whole
    assert FileSafetyStore(path).load() == _state(5, 1, Step.PREVOTE)


def test_a_lock_and_its_precommit_are_one_write(tmp_path: Path) -> None:
    # Torn between the blocks record and the state record: the new blocks must not be paired
    # with the older state (a lock whose block is missing), so both are ignored together.
    path = tmp_path / "sign_state"
    store = FileSafetyStore(path)
    store.save(_state(8), SavedBlocks(8, {b"a" * 32: b"block-a"}))
    before = path.stat().st_size
    store.save(_state(8, 1), SavedBlocks(8, {b"b" * 32: b"block-b" * 50}))
    state_record = len(_state(8, 1).to_bytes()) + 9
    path.write_bytes(path.read_bytes()[: path.stat().st_size - state_record])
    assert path.stat().st_size > before
    reopened = FileSafetyStore(path)
    assert reopened.load() == _state(8) and reopened.load_blocks(8) == {b"a" * 32: b"block-a"}


def test_a_bad_checksum_or_no_whole_record_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "sign_state"
    FileSafetyStore(path).save(_state(4))
    FileSafetyStore(path).save(_state(4, 1))
    data = bytearray(path.read_bytes())
    data[40] ^= 0x01  # inside the first record
    path.write_bytes(bytes(data))
    with pytest.raises(SafetyStoreError, match="bad checksum"):
        FileSafetyStore(path).load()
    path.write_bytes(b"carbonticket/signjournal/v1\x00\x00\x00")
    with pytest.raises(SafetyStoreError, match="no whole record"):
        FileSafetyStore(path).load()


def test_an_earlier_format_record_and_blocks_file_load_and_become_a_journal(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sign_state"
    path.write_bytes(_state(6).to_bytes())
    legacy = b"carbonticket/lockblocks/v1\x00" + struct.pack(">QI", 6, 1)
    legacy += struct.pack(">B", 32) + b"c" * 32 + struct.pack(">I", 5) + b"block"
    (tmp_path / "sign_state.blocks").write_bytes(legacy)
    store = FileSafetyStore(path)
    assert store.load() == _state(6) and store.load_blocks(6) == {b"c" * 32: b"block"}
    store.save(_state(6, 1))
    assert not (tmp_path / "sign_state.blocks").exists()
    reopened = FileSafetyStore(path)
    assert reopened.load() == _state(6, 1) and reopened.load_blocks(6) == {b"c" * 32: b"block"}
    (tmp_path / "sign_state.blocks").write_bytes(b"carbonticket/lockblocks/v1\x00\x00")
    path.write_bytes(_state(6).to_bytes())
    with pytest.raises(SafetyStoreError):
        FileSafetyStore(path).load_blocks(6)


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
        return await servicer.GetProposalBlock(request, None)

    found = asyncio.run(ask(5, b"h" * 32))
    assert found.found and found.block == b"block-bytes"
    assert not asyncio.run(ask(5, b"x" * 32)).found
