"""A damaged data directory is found and named, as a typed error, before it can mislead the node.

Each test damages a real LevelDB store (or the signing state) the way a disk or a crash does:
flipped bytes in a table, a truncated table, a missing CURRENT or MANIFEST, a truncated log, a
truncated sign_state; then checks the error class and that its one line says what to do.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import plyvel
import pytest

from carbon_ticket.chain.errors import StorageError, StoreInUse
from carbon_ticket.consensus import SavedBlocks, SignState, Step
from carbon_ticket.node.errors import DiskFull, StoreDamaged
from carbon_ticket.node.rebuild import (
    REBUILT_MARKER,
    check_against_sign_state,
    load_sign_state,
    mark_rebuilt,
    rebuild,
)
from carbon_ticket.node.safety import FileSafetyStore
from carbon_ticket.node.store import LevelDBStore, storage_error
from tests.node.crash_writer import CHAIN_ID, grow

TABLED = 40  # blocks compacted into table files
LOGGED = 55  # blocks after those, still only in the write-ahead log


def _make(path: Path) -> None:
    with LevelDBStore.open(path, chain_id=CHAIN_ID) as store:
        list(grow(store, TABLED))
        store.kv.compact()  # the memtable and everything so far into .ldb tables
        list(grow(store, LOGGED))


def _read_everything(path: Path) -> int:
    """Open the store, run the start-up tail check and read every key (checksums verified)."""
    with LevelDBStore.open(path, chain_id=CHAIN_ID) as store:
        store.check_tail()
        return sum(1 for _ in store.kv.iterate(b"", b"\xff" * 8))


def _tables(path: Path) -> list[Path]:
    tables = sorted(path.glob("*.ldb"), key=lambda p: p.stat().st_size)
    assert tables, "the store has no table files to damage"
    return tables


def _sign_state(height: int) -> SignState:
    return SignState(height, 0, Step.PRECOMMIT, b"sign-bytes", b"s" * 64)


@pytest.fixture
def made(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "blocks"
    path.parent.mkdir()
    _make(path)
    return path


@pytest.fixture
def tabled(made: Path) -> Path:
    # Opening again also turns the log into a table: every block is then in a table file.
    assert _read_everything(made) > 0  # intact before each test damages it
    return made


def _assert_damaged(info: pytest.ExceptionInfo[StoreDamaged], path: Path) -> None:
    text = info.value.message
    assert str(path) in text and "carbon-ticket node rebuild" in text
    assert info.value.code == "store_damaged"


def test_flipped_bytes_in_a_table_are_a_checksum_mismatch(tabled: Path) -> None:
    table = _tables(tabled)[-1]
    data = bytearray(table.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    table.write_bytes(bytes(data))
    with pytest.raises(StoreDamaged) as info:
        _read_everything(tabled)
    _assert_damaged(info, tabled)
    assert "checksum" in info.value.message or "Corruption" in info.value.message


def test_a_truncated_table_is_damage_not_an_io_traceback(tabled: Path) -> None:
    table = _tables(tabled)[-1]
    os.truncate(table, table.stat().st_size // 2)
    with pytest.raises(StoreDamaged) as info:
        _read_everything(tabled)
    _assert_damaged(info, tabled)
    assert table.name in info.value.message or "Corruption" in info.value.message


def test_a_missing_current_is_refused_and_the_tables_are_left_alone(tabled: Path) -> None:
    (tabled / "CURRENT").unlink()
    tables = sorted(p.name for p in tabled.glob("*.ldb"))
    with pytest.raises(StoreDamaged) as info:
        LevelDBStore.open(tabled, chain_id=CHAIN_ID)
    _assert_damaged(info, tabled)
    assert "CURRENT is missing" in info.value.message
    # LevelDB would have tabled a new empty database and deleted these as obsolete.
    assert sorted(p.name for p in tabled.glob("*.ldb")) == tables


def test_a_missing_manifest_is_refused(tabled: Path) -> None:
    for manifest in tabled.glob("MANIFEST-*"):
        manifest.unlink()
    with pytest.raises(StoreDamaged) as info:
        LevelDBStore.open(tabled, chain_id=CHAIN_ID)
    _assert_damaged(info, tabled)
    assert "MANIFEST" in info.value.message


def test_a_truncated_log_is_caught_by_the_signed_height(made: Path) -> None:
    data_dir = made.parent
    FileSafetyStore(data_dir / "sign_state").save(_sign_state(LOGGED + 1))
    (log,) = [p for p in made.glob("*.log") if p.stat().st_size > 0]
    os.truncate(log, log.stat().st_size // 3)
    with LevelDBStore.open(made, chain_id=CHAIN_ID) as store:
        # LevelDB drops a torn tail of its log silently: the store simply is lower.
        assert TABLED <= store.height < LOGGED
        store.check_tail()  # what is left is a consistent chain...
        with pytest.raises(StoreDamaged) as info:  # ...but not the one this validator signed on
            check_against_sign_state(data_dir.parent, data_dir, store, fresh=False)
        text = info.value.message
        assert f"height {store.height}" in text and f"signed at height {LOGGED + 1}" in text
        assert f"carbon-ticket node rebuild --home {data_dir.parent}" in text
        # The same store after `node rebuild` (or restoring a backup) is accepted...
        mark_rebuilt(data_dir)
        check_against_sign_state(data_dir.parent, data_dir, store, fresh=False)
        check_against_sign_state(data_dir.parent, data_dir, store, fresh=True)
        # ...until the validator signs past the marker: the store had caught up by then, so
        # losing blocks again (another torn log) is refused again, and the marker goes.
        FileSafetyStore(data_dir / "sign_state").save(_sign_state(LOGGED + 5))
        with pytest.raises(StoreDamaged, match="lost committed blocks"):
            check_against_sign_state(data_dir.parent, data_dir, store, fresh=False)
        assert not (data_dir / REBUILT_MARKER).exists()
        # An unreadable marker excuses nothing.
        (data_dir / REBUILT_MARKER).write_text("")
        with pytest.raises(StoreDamaged, match="lost committed blocks"):
            check_against_sign_state(data_dir.parent, data_dir, store, fresh=False)


def test_a_store_at_or_one_below_the_signed_height_passes_and_clears_the_marker(
    made: Path,
) -> None:
    data_dir = made.parent
    FileSafetyStore(data_dir / "sign_state").save(_sign_state(LOGGED + 1))
    mark_rebuilt(data_dir)
    with LevelDBStore.open(made, chain_id=CHAIN_ID) as store:
        check_against_sign_state(data_dir.parent, data_dir, store, fresh=False)
    assert not (data_dir / REBUILT_MARKER).exists()


@pytest.mark.parametrize("keep", [0, 10, 40])
def test_a_truncated_sign_state_is_damage(tmp_path: Path, keep: int) -> None:
    # Cut inside its only record (a journal is created whole): not a torn append but damage.
    safety = FileSafetyStore(tmp_path / "sign_state")
    safety.save(_sign_state(7))
    data = safety.path.read_bytes()
    assert keep < len(data)
    safety.path.write_bytes(data[:keep])
    with pytest.raises(StoreDamaged) as info:
        load_sign_state(tmp_path)
    text = info.value.message
    assert str(safety.path) in text and "corrupt sign state" in text
    assert "Recovering a damaged node" in text


def test_a_flipped_byte_in_the_lock_blocks_is_damage(tmp_path: Path) -> None:
    safety = FileSafetyStore(tmp_path / "sign_state")
    safety.save(_sign_state(7), SavedBlocks(7, {b"h" * 32: b"payload" * 10}))
    data = bytearray(safety.path.read_bytes())
    data[-len(_sign_state(7).to_bytes()) - 20] ^= 0xFF  # inside the blocks record
    safety.path.write_bytes(bytes(data))
    with pytest.raises(StoreDamaged) as info:
        load_sign_state(tmp_path)
    assert str(safety.path) in info.value.message and "checksum" in info.value.message


def test_a_failed_sign_state_write_is_disk_full_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    safety = FileSafetyStore(tmp_path / "sign_state")
    safety.save(_sign_state(7))
    before = safety.path.read_bytes()

    def no_space(fd: int, data: object, offset: int) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", no_space)
    with pytest.raises(DiskFull) as info:
        safety.save(_sign_state(8))
    monkeypatch.undo()
    assert FileSafetyStore(safety.path).load() == _sign_state(7)
    assert info.value.message == (
        f"disk full at {safety.path}: free space and restart; nothing partial was written"
    )
    assert safety.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sign_state"]


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (b"IO error: /x/data/blocks/000012.log: No space left on device", DiskFull),
        (b"Corruption: block checksum mismatch: /x/data/blocks/000005.ldb", StoreDamaged),
        (b"IO error: /x/data/blocks/000005.ldb: Invalid argument", StoreDamaged),
        (b"IO error: /x/data/blocks/000012.log: Read-only file system", StorageError),
    ],
)
def test_leveldb_errors_become_typed_errors(reason: bytes, kind: type[StorageError]) -> None:
    # The directory is named "blocks": a full disk there is not "in use" (the old bug).
    error = storage_error(plyvel.IOError(reason), Path("/x/data/blocks"))
    assert type(error) is kind and not isinstance(error, StoreInUse)


def test_a_store_in_use_is_still_reported_as_in_use(made: Path) -> None:
    with LevelDBStore.open(made, chain_id=CHAIN_ID), pytest.raises(StoreInUse):
        LevelDBStore.open(made, chain_id=CHAIN_ID)
    # Another process (a running node) holds it: rebuild refuses and moves nothing.
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(made)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreInUse, match="stop the node first"):
            rebuild(made.parent.parent, made.parent)
        assert made.is_dir()
    finally:
        holder.kill()
        holder.wait()


_HOLD = "import plyvel, sys, time; db = plyvel.DB(sys.argv[1]); print('ready', flush=True); \
time.sleep(60)"


def test_rebuild_moves_the_blocks_aside_and_keeps_the_signing_state(made: Path) -> None:
    data_dir = made.parent
    FileSafetyStore(data_dir / "sign_state").save(_sign_state(LOGGED + 1))
    done = rebuild(data_dir.parent, data_dir)
    assert not made.exists() and Path(done.moved_to).is_dir()
    assert "sign_state" in done.kept and done.signed_height == LOGGED + 1
    assert load_sign_state(data_dir) == _sign_state(LOGGED + 1)
    with LevelDBStore.open(made, chain_id=CHAIN_ID) as store:  # a fresh store, below the signed
        assert store.height == 0  # height, yet accepted: the operator asked for it
        check_against_sign_state(data_dir.parent, data_dir, store, fresh=False)
    forced = rebuild(data_dir.parent, data_dir, force=True)
    assert forced.moved_to == "" and not made.exists()


def test_rebuild_without_a_store_says_there_is_nothing_to_do(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="nothing to rebuild"):
        rebuild(tmp_path, tmp_path / "data")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_is_disk_full_and_leaves_a_whole_height(small_disk: Path) -> None:
    path = small_disk / "blocks"
    stored = 0
    with LevelDBStore.open(path, chain_id=CHAIN_ID) as store:
        with pytest.raises(DiskFull) as info:
            for block in grow(store, 100_000):
                stored = block.height
        assert info.value.message == (
            f"disk full at {path}: free space and restart; nothing partial was written"
        )
        assert store.height == stored  # the tip did not move for the failed block
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    with LevelDBStore.open(path, chain_id=CHAIN_ID) as store:
        assert store.height == stored and stored > 0
        store.check_tail()
        list(grow(store, stored + 5))  # with space again the chain goes on
        assert store.height == stored + 5


def test_each_block_is_one_write_batch(made: Path) -> None:
    # The whole height is one atomic batch: a full disk can fail it, never split it.
    with LevelDBStore.open(made, chain_id=CHAIN_ID) as store:
        batches: list[int] = []
        write = store.kv.write

        def counted(items: list[tuple[bytes, bytes | None]]) -> None:
            batches.append(len(items))
            write(items)

        store.kv.write = counted  # type: ignore[method-assign]
        start = store.height
        list(grow(store, start + 5))
        assert len(batches) == 5 and all(n > 1 for n in batches)
