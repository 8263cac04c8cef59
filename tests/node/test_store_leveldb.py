"""The LevelDB store: restart, refusing to open the wrong or a broken store, and locking."""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
from pathlib import Path

import plyvel
import pytest

from carbon_ticket.chain.errors import StorageError, StoreInUse
from carbon_ticket.chain.kvstore import K_FORMAT, K_TIP, P_HEADER
from carbon_ticket.node.store import LevelDBStore, PlyvelKV, open_files_budget
from tests.node.crash_writer import CHAIN_ID, account, batch, grow

ROOT = Path(__file__).resolve().parents[2]


def raw_items(path: Path) -> list[tuple[bytes, bytes]]:
    db = plyvel.DB(str(path))
    try:
        return list(db.iterator())
    finally:
        db.close()


def tamper(path: Path, puts: dict[bytes, bytes | None]) -> None:
    db = plyvel.DB(str(path))
    for key, value in puts.items():
        if value is None:
            db.delete(key)
        else:
            db.put(key, value)
    db.close()


@pytest.fixture
def made(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    with LevelDBStore.open(path, chain_id=CHAIN_ID) as store:
        list(grow(store, 12))
    return path


def test_restart_keeps_height_state_history_and_certificates(made: Path) -> None:
    with LevelDBStore.open(made, chain_id=CHAIN_ID) as store:
        top = (store.height, store.app_hash, store.last_hash, store.last_header())
        state = list(store.scan(b""))
        history = store.account_history(account(5)), store.batch_history(batch(1))
        blocks = [store.get_block(h) for h in range(1, 13)]
        certs = [store.get_certificate(h) for h in range(1, 13)]
        txs = [store.get_tx(t) for b in blocks if b is not None for t in b.tx_hashes()]
    assert top[0] == 12 and all(certs) and all(txs) and history[0] and history[1]
    with LevelDBStore.open(made, create=False) as store:
        assert (store.height, store.app_hash, store.last_hash, store.last_header()) == top
        assert list(store.scan(b"")) == state
        assert (store.account_history(account(5)), store.batch_history(batch(1))) == history
        assert [store.get_block(h) for h in range(1, 13)] == blocks
        assert [store.get_certificate(h) for h in range(1, 13)] == certs
        assert [store.get_tx(t.tx_hash) for t in txs if t is not None] == txs
        list(grow(store, 20))  # and the chain goes on from where it stopped
    with LevelDBStore.open(made, chain_id=CHAIN_ID) as store:
        assert store.height == 20
        assert [store.get_block(h) for h in range(1, 13)] == blocks


def test_other_chain_is_refused_and_nothing_written(made: Path) -> None:
    before = raw_items(made)
    with pytest.raises(StorageError) as info:
        LevelDBStore.open(made, chain_id="carbon-main-1")
    text = str(info.value)
    assert str(made) in text and "carbon-main-1" in text and CHAIN_ID in text
    assert not isinstance(info.value, StoreInUse)
    assert raw_items(made) == before
    LevelDBStore.open(made, chain_id=CHAIN_ID).close()  # the lock was released


def test_newer_format_is_refused(made: Path) -> None:
    tamper(made, {K_FORMAT: (99).to_bytes(4, "big")})
    before = raw_items(made)
    with pytest.raises(StorageError, match="format version 99, newer") as info:
        LevelDBStore.open(made)
    assert str(made) in str(info.value)
    assert raw_items(made) == before


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ((1).to_bytes(4, "big"), "format version 1, older than this node's 6"),
        ((3).to_bytes(4, "big"), "format version 3, older than this node's 6"),
        ((4).to_bytes(4, "big"), "format version 4, older than this node's 6"),
        (None, "records no format version"),
    ],
)
def test_older_or_unrecorded_format_is_refused(made: Path, value: bytes | None, match: str) -> None:
    # Format 1 hashed txs as whole envelopes and had no results root in its headers.
    tamper(made, {K_FORMAT: value})
    before = raw_items(made)
    with pytest.raises(StorageError, match=match) as info:
        LevelDBStore.open(made, chain_id=CHAIN_ID)
    assert str(made) in str(info.value) and "sync" in str(info.value)
    assert raw_items(made) == before


def test_a_format_5_store_is_read_as_it_is_and_marked_6_by_its_next_block(made: Path) -> None:
    # Format 6 only changed how receipts are stored, and both forms are read: no resync. The
    # mark keeps a format-5 release from misreading the new receipts after a downgrade.
    tamper(made, {K_FORMAT: (5).to_bytes(4, "big")})
    before = raw_items(made)
    with LevelDBStore.open(made, chain_id=CHAIN_ID) as store:
        height = store.height
    assert raw_items(made) == before  # opening (and reading) wrote nothing
    with LevelDBStore.open(made, chain_id=CHAIN_ID) as store:
        list(grow(store, height + 1))
    assert dict(raw_items(made))[K_FORMAT] == (6).to_bytes(4, "big")
    with LevelDBStore.open(made, chain_id=CHAIN_ID) as store:
        assert store.height == height + 1 and store.get_receipts(height + 1) is not None


@pytest.mark.parametrize(
    ("puts", "match"),
    [
        ({P_HEADER + (12).to_bytes(8, "big"): None}, "height is 12 but block 12 is missing"),
        ({P_HEADER + (13).to_bytes(8, "big"): b"x"}, "block 13 exists"),
        ({K_TIP: b"short"}, "tip record is unreadable"),
        ({b"m/genesis": None}, "missing"),
        ({P_HEADER + (12).to_bytes(8, "big"): b"\xff\xff"}, "header 12 does not decode"),
        ({b"c/" + (12).to_bytes(8, "big"): None}, "certificate of block 12"),
    ],
)
def test_inconsistent_store_is_refused(
    made: Path, puts: dict[bytes, bytes | None], match: str
) -> None:
    tamper(made, puts)
    before = raw_items(made)
    with pytest.raises(StorageError, match=match) as info:
        LevelDBStore.open(made, chain_id=CHAIN_ID)
    # The path holds this test's name, so look for the phrase itself.
    assert str(made) in str(info.value) and " is inconsistent: " in str(info.value)
    assert raw_items(made) == before


def test_missing_store_without_create(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(StorageError, match="no block store"):
        LevelDBStore.open(path, create=False)
    assert not path.exists()


def test_a_file_or_garbage_directory_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("not a store")
    with pytest.raises(StorageError, match="not a directory"):
        LevelDBStore.open(file)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "CURRENT").write_text("MANIFEST-000099\n")
    with pytest.raises(StorageError, match=str(junk)):
        LevelDBStore.open(junk)


def test_empty_store_keeps_no_data_until_genesis(tmp_path: Path) -> None:
    path = tmp_path / "fresh"
    LevelDBStore.open(path, chain_id=CHAIN_ID).close()
    assert raw_items(path) == []
    with LevelDBStore.open(path, chain_id="anything") as store:
        assert not store.initialized
        with pytest.raises(StorageError, match="opened for chain 'anything'"):
            list(grow(store, 1))
    assert raw_items(path) == []


def test_second_open_in_this_process_is_in_use(made: Path) -> None:
    with LevelDBStore.open(made), pytest.raises(StoreInUse, match=f"{made} is in use"):
        LevelDBStore.open(made)


def test_second_process_gets_in_use(made: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, node.store as s; st = s.LevelDBStore.open(sys.argv[1]);"
         " print('ready', flush=True); sys.stdin.read()", str(made)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreInUse) as info:
            LevelDBStore.open(made)
        assert str(info.value) == f"block store {made} is in use by another process"
        assert isinstance(info.value.__cause__, plyvel.IOError)
    finally:
        holder.kill()
        holder.wait()
    LevelDBStore.open(made).close()


def test_readers_never_see_half_a_block(tmp_path: Path) -> None:
    # Each synthetic block writes meta/height; a reader in another thread must always find it
    # equal to the height of the view it reads, and the tip block complete.
    store = LevelDBStore.open(tmp_path / "live")
    list(grow(store, 1))
    writer = threading.Thread(target=lambda: list(grow(store, 80)))
    writer.start()
    seen: set[int] = set()
    while writer.is_alive() or not seen:
        with store.snapshot() as snap:
            h = snap.height
            seen.add(h)
            assert snap.get(b"meta/height") == h.to_bytes(8, "big")
            block = snap.get_block(h)
            assert block is not None and block.verify_tx_root()
            assert all(snap.get_tx(t) is not None for t in block.tx_hashes())
            assert snap.get_block(h + 1) is None
        single = store.get(b"meta/height")
        assert single is not None and int.from_bytes(single, "big") >= h
    writer.join()
    assert store.height == 80 and len(seen) > 1
    store.close()


def test_the_table_cache_takes_half_the_file_limit_up_to_5000() -> None:
    # 500 tables (2 GiB) made reads of a 10-million-account store reopen tables (issue 19).
    assert [open_files_budget(limit) for limit in (100, 1024, 4096, 16384, 1_000_000)] == [
        64, 512, 2048, 5000, 5000,
    ]  # fmt: skip
    assert open_files_budget(resource.RLIM_INFINITY) == 5000
    assert 64 <= open_files_budget() <= 5000  # this process's own limit


def _mapped_tables(path: Path) -> set[str]:
    # LevelDB reads a table it holds open through mmap (and closes the descriptor): the table
    # cache's entries are the store's .ldb files in this process's memory map.
    with open("/proc/self/maps", encoding="utf-8") as maps:
        return {Path(line.split()[-1]).name for line in maps if f"{path}/" in line}


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's /proc")
def test_opening_loads_every_table_into_the_table_cache(tmp_path: Path) -> None:
    # A table opened on a query's first touch made that query ~1 ms slower; with 1,300 tables
    # a fresh node's account queries had p99 several times their median (issue 19).
    path = tmp_path / "store"
    with LevelDBStore.open(path, chain_id=CHAIN_ID) as store:
        list(grow(store, 4))
    # Each open turns the previous session's log into a table: these hold keys that opening
    # the store never reads, so only the warm-up can have opened them.
    for n in range(2):
        tamper(path, {b"~untouched/%d/%d" % (n, i): b"x" * 100 for i in range(2)})
    with LevelDBStore.open(path, chain_id=CHAIN_ID) as store:
        tables = {p.name for p in path.glob("*.ldb")}
        assert len(tables) == 3
        assert _mapped_tables(path) == tables
        assert len(store.kv.table_keys()) == len(tables)
        assert b"~untouched/1/1" in store.kv.table_keys()  # the largest key of its table
        assert store.get(b"meta/height") is not None  # reads work as before
    assert not _mapped_tables(path)


def test_ranges_read_in_either_direction_hold_exactly_their_keys(tmp_path: Path) -> None:
    # Reproduction: plyvel's reverse iterator given both bounds returned nothing for a range
    # whose only key is its start, so a newest-first page whose one
    # entry sat at its start came back empty. Every range of the backend and of its snapshots,
    # in both directions, against the sorted keys themselves.
    keys = sorted({bytes([a]) + bytes([b])[:n] for a in b"abc" for b in b"abc" for n in (0, 1)})
    bounds = sorted({*keys, b"", b"a\x00", b"b\xff", b"c\xff\xff", b"d"})
    db = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    for key in keys:
        db.put(key, b"v" + key)
    kv = PlyvelKV(db)
    snapshot = kv.snapshot()
    try:
        for start in bounds:
            for stop in bounds:
                inside = [(k, b"v" + k) for k in keys if start <= k < stop]
                for source in (kv, snapshot):
                    assert list(source.iterate(start, stop)) == inside, (start, stop)
                    assert list(source.iterate(start, stop, reverse=True)) == inside[::-1], (
                        start,
                        stop,
                    )
    finally:
        snapshot.close()
        db.close()
