"""The in-memory store and its key-value backend (the shared contract is in tests/node)."""

from __future__ import annotations

import pytest

from carbon_ticket.chain.errors import StorageError
from carbon_ticket.chain.kvstore import P_ACCOUNT, P_STATE, P_TX, P_TX_INDEX, name_key
from carbon_ticket.chain.state import StateReader
from carbon_ticket.chain.store import BlockStore, MemoryKV, MemoryStore
from tests.node.crash_writer import CHAIN_ID, GENESIS_JSON, account, genesis_result, grow


def test_memory_kv_ranges_deletes_and_order() -> None:
    kv = MemoryKV()
    kv.write([(b"b", b"2"), (b"a", b"1"), (b"c", b"3"), (b"ab", b"x")])
    assert list(kv.iterate(b"a", b"c")) == [(b"a", b"1"), (b"ab", b"x"), (b"b", b"2")]
    assert list(kv.iterate(b"a", b"c", reverse=True)) == [(b"b", b"2"), (b"ab", b"x"), (b"a", b"1")]
    kv.write([(b"ab", None), (b"zz", None), (b"a", b"one")])
    assert list(kv.items()) == [(b"a", b"one"), (b"b", b"2"), (b"c", b"3")]
    assert kv.get(b"ab") is None


def test_memory_kv_snapshot_and_iterators_are_isolated_from_later_writes() -> None:
    kv = MemoryKV({b"k1": b"v1", b"k2": b"v2"})
    snap = kv.snapshot()
    it = kv.iterate(b"k", b"l")
    kv.write([(b"k1", None), (b"k3", b"v3")])
    assert list(it) == [(b"k1", b"v1"), (b"k2", b"v2")]
    assert list(snap.iterate(b"", b"\xff")) == [(b"k1", b"v1"), (b"k2", b"v2")]
    snap.close()


def test_memory_store_satisfies_the_interfaces() -> None:
    store: BlockStore = MemoryStore()
    assert isinstance(store, StateReader)
    store.init_genesis(CHAIN_ID, GENESIS_JSON, genesis_result())
    assert store.get(b"acct/000") is not None


def test_state_is_namespaced_and_indexes_are_compact() -> None:
    store = MemoryStore()
    list(grow(store, 10))
    keys = [k for k, _ in store.kv.items()]
    assert any(k.startswith(P_STATE + b"acct/") for k in keys)
    assert all(
        k.startswith((b"m/", b"h/", b"t/", b"i/", b"c/", b"s/", b"x/", b"a/", b"b/")) for k in keys
    )
    history = [k for k in keys if k.startswith(P_ACCOUNT)]
    assert history and all(len(k) == 2 + 20 + 12 for k in history)
    assert all(store.kv.get(k) == b"" for k in history)
    assert all(len(k) == 2 + 32 for k in keys if k.startswith(P_TX_INDEX))
    assert all(len(v) == 12 for k, v in store.kv.items() if k.startswith(P_TX_INDEX))
    assert all(len(k) == 2 + 12 for k in keys if k.startswith(P_TX))
    assert any(k.startswith(P_ACCOUNT + name_key(account(1))) for k in history)


def test_memory_store_checks_the_chain_id_it_was_made_for() -> None:
    store = MemoryStore(chain_id="other")
    with pytest.raises(StorageError, match="opened for chain 'other'"):
        store.init_genesis(CHAIN_ID, GENESIS_JSON, genesis_result())


def test_memory_store_can_be_rebuilt_from_its_backend() -> None:
    first = MemoryStore()
    list(grow(first, 7))
    again = MemoryStore(first.kv.snapshot())
    assert (again.height, again.app_hash, again.last_hash) == (7, first.app_hash, first.last_hash)
    with pytest.raises(StorageError, match="belongs to chain"):
        MemoryStore(first.kv.snapshot(), chain_id="other")
