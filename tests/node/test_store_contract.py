"""The BlockStore contract, run against both the in-memory and the LevelDB store."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from carbon_ticket.chain.block import GENESIS_PREV_HASH, Block, build_block
from carbon_ticket.chain.errors import StorageError
from carbon_ticket.chain.results import BlockResult, TxResult
from carbon_ticket.chain.state import StateReader
from carbon_ticket.chain.store import MAX_HISTORY_PAGE, BlockStore, HistoryEntry, MemoryStore
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import ledger_pb2
from tests.node.crash_writer import (
    CHAIN_ID,
    GENESIS_JSON,
    account,
    batch,
    genesis_result,
    grow,
    make_block,
    next_block,
)

Factory = Callable[[], BlockStore]


@pytest.fixture(params=["memory", "leveldb"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    opened: list[BlockStore] = []

    def make() -> BlockStore:
        store: BlockStore
        if request.param == "memory":
            store = MemoryStore()
        else:
            store = LevelDBStore.open(tmp_path / f"db{len(opened)}")
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(new_store: Factory) -> BlockStore:
    s = new_store()
    s.init_genesis(CHAIN_ID, GENESIS_JSON, genesis_result())
    return s


def reference_chain(height: int) -> tuple[list[tuple[Block, bytes, BlockResult]], MemoryStore]:
    """Blocks 1..height with certificates and results, and a store that applied them."""
    ref = MemoryStore()
    ref.init_genesis(CHAIN_ID, GENESIS_JSON, genesis_result())
    chain = []
    while ref.height < height:
        block, cert, result = next_block(ref)
        ref.commit_block(block, cert, result)
        chain.append((block, cert, result))
    return chain, ref


def expected_history(height: int, field: str, name: str) -> list[HistoryEntry]:
    ref = MemoryStore()
    entries: list[HistoryEntry] = []
    ref.init_genesis(CHAIN_ID, GENESIS_JSON, genesis_result())
    while ref.height < height:
        block, cert, result = next_block(ref)
        for i, receipt in enumerate(result.receipts):
            if name in getattr(receipt, field):
                entries.append(HistoryEntry(block.height, i))
        ref.commit_block(block, cert, result)
    return entries[::-1]


def test_empty_store(new_store: Factory) -> None:
    s = new_store()
    assert not s.initialized
    assert (s.height, s.app_hash, s.chain_id, s.genesis()) == (0, b"", "", None)
    assert s.get(b"acct/000") is None
    assert list(s.scan(b"")) == []
    block, cert, result = make_block(1, GENESIS_PREV_HASH, bytes(32))
    with pytest.raises(StorageError, match="no genesis"):
        s.commit_block(block, cert, result)


def test_genesis(store: BlockStore) -> None:
    genesis = genesis_result()
    assert store.initialized
    assert store.chain_id == CHAIN_ID
    assert store.genesis() == GENESIS_JSON
    assert (store.height, store.app_hash, store.last_hash) == (0, genesis.app_hash, bytes(32))
    assert store.last_header() is None
    assert store.get_block(0) is None and store.get_block(1) is None
    assert store.get(b"acct/003") == genesis.writes[b"acct/003"]
    assert dict(store.scan(b"acct/")) == genesis.writes
    with pytest.raises(StorageError, match="already holds"):
        store.init_genesis(CHAIN_ID, GENESIS_JSON, genesis)


def test_store_is_a_state_reader(store: BlockStore) -> None:
    assert isinstance(store, StateReader)


def test_commit_blocks_and_read_everything_back(store: BlockStore) -> None:
    blocks = list(grow(store, 25))
    chain, ref = reference_chain(25)
    assert store.height == 25
    assert store.last_hash == blocks[-1].hash
    assert store.app_hash == blocks[-1].header.app_hash
    assert store.last_header() == blocks[-1].header
    assert list(store.scan(b"")) == list(ref.scan(b""))
    for block, (ref_block, cert, result) in zip(blocks, chain, strict=True):
        h = block.height
        assert block == ref_block
        assert store.get_block(h) == block
        assert store.get_header(h) == block.header
        assert store.get_block_height(block.hash) == h
        assert store.get_certificate(h) == cert
        for i, raw in enumerate(block.txs):
            loc = store.get_tx(block.tx_hashes()[i])
            assert loc is not None
            assert (loc.height, loc.index, loc.raw) == (h, i, raw)
            assert loc.result == dataclasses.replace(result.receipts[i], accounts=(), batches=())
            assert store.get_tx_at(h, i) == loc
        assert store.get_tx_at(h, len(block.txs)) is None
    assert store.get_block(26) is None
    assert store.get_certificate(26) is None and store.get_certificate(0) is None
    assert store.get_block_height(b"\x00" * 32) is None
    assert store.get_tx(b"\x00" * 32) is None


@pytest.mark.parametrize(("field", "name"), [("accounts", account(3)), ("batches", batch(2))])
def test_history_newest_first_with_cursor_pagination(
    store: BlockStore, field: str, name: str
) -> None:
    list(grow(store, 40))
    expected = expected_history(40, field, name)
    assert len(expected) > 7
    read = store.account_history if field == "accounts" else store.batch_history
    assert read(name, limit=10_000) == expected
    pages: list[HistoryEntry] = []
    cursor = None
    while page := read(name, 5, cursor):
        assert len(page) <= 5
        pages += page
        cursor = page[-1].cursor
    assert pages == expected
    assert read(name, 0) == []
    assert read("ct1nobody", 10) == []


def test_history_page_is_bounded(store: BlockStore) -> None:
    list(grow(store, 3))
    assert len(store.account_history(account(1), limit=10**9)) <= MAX_HISTORY_PAGE


def refuse(store: BlockStore, block: Block, cert: bytes, result: BlockResult, match: str) -> None:
    before = (store.height, store.app_hash, dict(store.scan(b"")))
    with pytest.raises(StorageError, match=match):
        store.commit_block(block, cert, result)
    assert (store.height, store.app_hash, dict(store.scan(b""))) == before
    for tx_hash in block.tx_hashes():
        assert store.get_tx(tx_hash) is None
    assert store.get_block_height(block.hash) is None


def test_commit_refuses_blocks_that_do_not_fit(store: BlockStore) -> None:
    list(grow(store, 2))
    block, cert, result = next_block(store)
    while not block.txs:  # find a block with transactions to tamper with
        store.commit_block(block, cert, result)
        block, cert, result = next_block(store)
    h = store.height
    skip, c2, r2 = make_block(h + 2, store.last_hash, store.app_hash)
    refuse(store, skip, c2, r2, "cannot commit block")
    fork, c3, r3 = make_block(h + 1, b"\x01" * 32, store.app_hash)
    refuse(store, fork, c3, r3, "does not extend")
    refuse(store, block, cert, dataclasses.replace(result, app_hash=b"\x02" * 32), "app hash")
    refuse(store, block, cert, dataclasses.replace(result, receipts=()), "receipts")
    bad_receipt = (TxResult(tx_hash=b"\x03" * 32), *result.receipts[1:])
    refuse(store, block, cert, dataclasses.replace(result, receipts=bad_receipt), "another tx")
    first = ledger_pb2.TxEnvelope.FromString(block.txs[0])
    first.body += b"!"
    swapped = Block(block.header, (first.SerializeToString(deterministic=True), *block.txs[1:]))
    fixed = (dataclasses.replace(result.receipts[0], tx_hash=swapped.tx_hashes()[0]),)
    swapped_result = dataclasses.replace(result, receipts=fixed + result.receipts[1:])
    refuse(store, swapped, cert, swapped_result, "tx_root")
    other_chain = build_block(
        chain_id="other-chain", height=h + 1, time_ms=1, prev_hash=store.last_hash,
        app_hash=result.app_hash, proposer=bytes(32), validators_hash=bytes(32), txs=[],
        receipts=[],
    )  # fmt: skip
    refuse(store, other_chain, cert, dataclasses.replace(result, receipts=()), "chain")
    store.commit_block(block, cert, result)  # the untampered block still fits
    assert store.height == h + 1


def test_writes_none_deletes_and_scan_is_sorted(store: BlockStore) -> None:
    list(grow(store, 30))
    items = list(store.scan(b""))
    assert [k for k, _ in items] == sorted(k for k, _ in items)
    assert all(v for _, v in items)
    assert list(store.scan(b"acct/01")) == [(k, v) for k, v in items if k.startswith(b"acct/01")]
    assert list(store.scan(b"zzz")) == []


def test_state_keys_with_high_bytes_scan_correctly(new_store: Factory) -> None:
    s = new_store()
    writes: dict[bytes, bytes | None] = {b"\xff": b"1", b"\xff\xff": b"2", b"\xfe\xff": b"3"}
    s.init_genesis(CHAIN_ID, GENESIS_JSON, BlockResult(writes=writes, app_hash=bytes(32)))
    assert list(s.scan(b"\xff")) == [(b"\xff", b"1"), (b"\xff\xff", b"2")]
    assert list(s.scan(b"\xfe")) == [(b"\xfe\xff", b"3")]


def test_snapshot_does_not_see_later_blocks(store: BlockStore) -> None:
    list(grow(store, 5))
    with store.snapshot() as snap:
        state = dict(snap.scan(b""))
        history = snap.account_history(account(1))
        list(grow(store, 12))
        assert snap.height == 5
        assert dict(snap.scan(b"")) == state
        assert snap.get(b"meta/height") == (5).to_bytes(8, "big")
        assert snap.account_history(account(1)) == history
        assert snap.get_block(6) is None
        assert snap.last_header() == store.get_header(5)
    assert store.get(b"meta/height") == (12).to_bytes(8, "big")


def test_closed_store_refuses_writes(new_store: Factory) -> None:
    s = new_store()
    s.close()
    with pytest.raises(StorageError, match="closed"):
        s.init_genesis(CHAIN_ID, GENESIS_JSON, genesis_result())
