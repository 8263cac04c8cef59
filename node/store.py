"""The LevelDB block store: ``chain.kvstore.KVStore``'s layout over plyvel.

One database per node. Every committed block is one ``WriteBatch`` written with ``sync=True``,
so a crash leaves either the old or the new height. Opening checks the format version, the chain
id and the tip before anything is written; a store held by another process raises StoreInUse.
Every read verifies LevelDB's block checksums: flipped bytes, a truncated table or a missing
manifest raise StoreDamaged, a full disk raises DiskFull (node.errors), never plyvel's own errors.
Memory stays bounded as the ledger grows: a fixed block cache, a bounded table cache and
bloom filters (10 bits per key) that keep point reads of absent keys off the disk. Opening loads
every table's index and filter into that table cache (``PlyvelKV.warm_tables``), so the first
queries after a start do not each pay for opening the tables they touch.
"""

from __future__ import annotations

import itertools
import re
import resource
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import plyvel

from carbon_ticket.chain.errors import StorageError, StoreInUse
from carbon_ticket.chain.kvstore import KVStore
from carbon_ticket.node.errors import DiskFull, StoreDamaged

__all__ = ["LevelDBStore", "PlyvelKV"]

_CACHE_BYTES = 32 * 1024 * 1024
_WRITE_BUFFER_BYTES = 8 * 1024 * 1024
# Open table files LevelDB may keep (its table cache). Each covers up to _MAX_FILE_BYTES, so 500
# covered only 2 GiB: a 10-million-account store (5 GiB) then reopened tables on reads, and
# history pages took 2-7 ms instead of ~1 ms (docs/storage.md, "Ten million accounts"). Half of
# the process's file limit, the other half left for sockets and logs.
_MAX_OPEN_FILES = 5_000
_MIN_OPEN_FILES = 64
_MAX_FILE_BYTES = 4 * 1024 * 1024
# How many blocks below the tip the start-up check reads (headers and certificates).
TAIL_CHECK_BLOCKS = 100
# Files a LevelDB directory holds once it has data (CURRENT names the live MANIFEST).
_DATA_SUFFIXES = (".ldb", ".sst", ".log")
# One table in LevelDB's "leveldb.sstables" listing (Version::DebugString):
#  <number>:<size>['<smallest user key>' @ <seq> : <type> .. '<largest user key>' @ <seq> : <type>]
# with every byte outside ' '..'~' of the keys written as \xHH.
_TABLE_LINE = re.compile(rb"^ \d+:\d+\['.*' @ \d+ : \d+ \.\. '(.*)' @ \d+ : \d+\]$")
_ESCAPED_BYTE = re.compile(rb"\\x([0-9a-f]{2})")


def _reason(exc: BaseException) -> str:
    # plyvel reports LevelDB's status as bytes.
    arg = exc.args[0] if exc.args else exc
    return arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)


def disk_full(path: Path | str) -> DiskFull:
    """The one line an operator sees when the disk under ``path`` is full."""
    return DiskFull(f"disk full at {path}: free space and restart; nothing partial was written")


def rebuild_command(path: Path | str) -> str:
    """The command that rebuilds the store at ``path`` (``<home>/data/blocks`` in a node)."""
    path = Path(path)
    home = path.parent.parent if path.parent.name == "data" else "<node home>"
    return f"carbon-ticket node rebuild --home {home}"


def damaged(path: Path | str, what: str) -> StoreDamaged:
    """The one line an operator sees when the store at ``path`` is damaged."""
    return StoreDamaged(
        f"block store {path} is damaged ({what}); stop the node, run `{rebuild_command(path)}` "
        "and start it again to fetch the chain from peers (docs/operations.md)"
    )


# I/O errors that say nothing about the files' contents: the operator's to fix, not a rebuild.
_NOT_DAMAGE = ("Read-only file system", "Permission denied", "Too many open files")


def storage_error(exc: BaseException, path: Path) -> StorageError:
    """The node's typed error for a LevelDB (plyvel) error met while using the store."""
    reason = _reason(exc)
    if "No space left" in reason or "Disk quota" in reason:
        return disk_full(path)
    if isinstance(exc, plyvel.CorruptionError) or "Corruption" in reason:
        return damaged(path, reason)
    if isinstance(exc, plyvel.IOError) and not any(m in reason for m in _NOT_DAMAGE):
        # A read that fails below a live database: a truncated or vanished table file.
        return damaged(path, reason)
    return StorageError(f"block store {path}: {reason}")


def _range(source: Any, start: bytes, stop: bytes, reverse: bool) -> Iterator[tuple[bytes, bytes]]:
    """A plyvel iterator (made now: its implicit snapshot is of this moment) over the items with
    ``start <= key < stop``, ascending or, with ``reverse``, descending."""
    if not reverse:
        it: Iterator[tuple[bytes, bytes]] = source.iterator(
            start=start, stop=stop, verify_checksums=True
        )
        return it
    # plyvel's reverse iterator given both bounds misses the range's only key when that key is
    # ``start`` (plyvel 1.5): seek from ``stop`` alone and end below ``start`` here.
    it = source.iterator(stop=stop, reverse=True, verify_checksums=True)
    return itertools.takewhile(lambda item: item[0] >= start, it)


def _guarded(
    fault: Callable[[plyvel.Error], StorageError], items: Iterator[tuple[bytes, bytes]]
) -> Iterator[tuple[bytes, bytes]]:
    # LevelDB iterators read lazily: a damaged block surfaces while iterating.
    try:
        yield from items
    except plyvel.Error as exc:
        raise fault(exc) from exc


class _PlyvelSnapshot:
    """A plyvel snapshot as a KVSnapshot."""

    def __init__(self, snap: Any, fault: Callable[[plyvel.Error], StorageError]) -> None:
        self._snap = snap
        self._fault = fault  # the database's: a fault met in a snapshot stops the node too

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key`` at the snapshot, or None."""
        try:
            value: bytes | None = self._snap.get(key, verify_checksums=True)
        except plyvel.Error as exc:
            raise self._fault(exc) from exc
        return value

    def iterate(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Items with ``start <= key < stop`` at the snapshot."""
        return _guarded(self._fault, _range(self._snap, start, stop, reverse))

    def close(self) -> None:
        """Release the snapshot."""
        self._snap.close()


class PlyvelKV:
    """A plyvel database as a KVBackend; ``write`` is one synced WriteBatch.

    Reads verify checksums; plyvel's errors become StoreDamaged, DiskFull or StorageError.
    """

    def __init__(self, db: Any, path: Path | None = None) -> None:
        self._db = db
        self.path = path if path is not None else Path(str(db.name))
        # Told how long each synced batch took (node.metrics' fsync histogram), when set.
        self.on_write: Callable[[float], None] | None = None
        # Told of a full disk or damage wherever it is met (the node stops on it), when set.
        self.on_fault: Callable[[StorageError], None] | None = None

    def _fault(self, exc: plyvel.Error) -> StorageError:
        error = storage_error(exc, self.path)
        if self.on_fault is not None and isinstance(error, (DiskFull, StoreDamaged)):
            self.on_fault(error)
        return error

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or None."""
        try:
            value: bytes | None = self._db.get(key, verify_checksums=True)
        except plyvel.Error as exc:
            raise self._fault(exc) from exc
        return value

    def iterate(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Items with ``start <= key < stop`` (LevelDB iterators read an implicit snapshot)."""
        return _guarded(self._fault, _range(self._db, start, stop, reverse))

    def write(self, items: list[tuple[bytes, bytes | None]]) -> None:
        """Apply every put and delete as one atomic WriteBatch, fsynced before returning.

        A full disk raises DiskFull: LevelDB applies a batch only once its log record is
        written, so nothing of it is visible, now or after a restart.
        """
        batch = self._db.write_batch(sync=True)
        put, delete = batch.put, batch.delete
        for key, value in items:
            if value is None:
                delete(key)
            else:
                put(key, value)
        started = time.perf_counter()
        try:
            batch.write()
        except plyvel.Error as exc:
            raise self._fault(exc) from exc
        if self.on_write is not None:
            self.on_write(time.perf_counter() - started)

    def snapshot(self) -> _PlyvelSnapshot:
        """A LevelDB snapshot: a consistent view that later commits do not change."""
        return _PlyvelSnapshot(self._db.snapshot(), self._fault)

    def close(self) -> None:
        """Close the database and release its lock."""
        self._db.close()

    def approximate_size(self) -> int:
        """LevelDB's estimate of the bytes on disk for all keys."""
        sizes: list[int] = self._db.approximate_sizes((b"", b"\xff" * 8))
        return sizes[0]

    def table_keys(self) -> list[bytes]:
        """The largest key of each table file, from LevelDB's listing of its tables.

        Best effort: a key holding a literal backslash followed by ``x`` and two hex digits is
        read back wrong, and then names a neighbouring place in the key space instead.
        """
        listing: bytes = self._db.get_property(b"leveldb.sstables") or b""
        return [
            _ESCAPED_BYTE.sub(lambda hex_: bytes((int(hex_[1], 16),)), match[1])
            for match in map(_TABLE_LINE.match, listing.split(b"\n"))
            if match is not None
        ]

    def warm_tables(self, budget: int) -> int:
        """Open up to ``budget`` tables into LevelDB's table cache; return how many were asked.

        A table opened on first touch costs ~1 ms (footer, index and bloom filter read and
        checksummed): after a start, random account queries each met one or more of those, which
        made their p99 several times their median until every table had been touched
        (docs/storage.md, "Ten million accounts"). LevelDB's size estimate opens each table whose
        range holds the key it is given, at every level, so one call with each table's largest
        key opens them all without reading a data block (all but a table of a single key, which
        no key falls strictly inside: it opens on first touch, as before).
        """
        keys = self.table_keys()[:budget]
        if keys:
            try:
                self._db.approximate_sizes(*((key, key) for key in keys))
            except plyvel.Error:
                # Only a speed-up: a damaged table is reported, as before, by the read that
                # needs it, with that read's context.
                return 0
        return len(keys)

    def compact(self) -> None:
        """Compact the whole key range (for benchmarks and tools)."""
        try:
            self._db.compact_range()
        except plyvel.Error as exc:
            raise self._fault(exc) from exc


def _check_not_headless(path: Path) -> None:
    # Without CURRENT, LevelDB would take a directory full of tables for a new, empty database
    # (and delete the tables as obsolete): refuse before it gets the chance.
    if not path.is_dir() or (path / "CURRENT").exists():
        return
    data = [p.name for p in path.iterdir() if p.suffix in _DATA_SUFFIXES or "MANIFEST" in p.name]
    if data:
        raise damaged(path, f"CURRENT is missing but {len(data)} data files are there")


def _is_lock_error(reason: str, path: Path) -> bool:
    # Only LevelDB's failure to lock its LOCK file means "in use"; the directory is often
    # named "blocks", so matching "lock" anywhere would misreport a full disk or bad file.
    return f"{path}/LOCK" in reason and (
        "already held" in reason or "temporarily unavailable" in reason
    )


def open_files_budget(soft_limit: int | None = None) -> int:
    """Table files LevelDB may hold open: up to 5,000, at most half the soft RLIMIT_NOFILE."""
    if soft_limit is None:
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft_limit == resource.RLIM_INFINITY:
        return _MAX_OPEN_FILES
    return max(_MIN_OPEN_FILES, min(_MAX_OPEN_FILES, soft_limit // 2))


def _open_db(path: Path, create: bool) -> Any:
    _check_not_headless(path)
    try:
        return plyvel.DB(
            str(path),
            create_if_missing=create,
            paranoid_checks=True,
            write_buffer_size=_WRITE_BUFFER_BYTES,
            max_open_files=open_files_budget(),
            lru_cache_size=_CACHE_BYTES,
            max_file_size=_MAX_FILE_BYTES,
            bloom_filter_bits=10,
            compression="snappy",
        )
    except plyvel.IOError as exc:
        reason = _reason(exc)
        if _is_lock_error(reason, path):
            raise StoreInUse(f"block store {path} is in use by another process") from exc
        if "No space left" in reason:
            raise disk_full(path) from exc
        if _missing_file(exc):
            raise damaged(path, reason) from exc
        raise StorageError(f"block store {path} cannot be opened: {reason}") from exc
    except plyvel.CorruptionError as exc:
        raise damaged(path, _reason(exc)) from exc
    except plyvel.Error as exc:
        if not create and "does not exist" in _reason(exc):
            raise StorageError(f"no block store at {path} (and create=False)") from exc
        raise StorageError(f"block store {path} cannot be opened: {_reason(exc)}") from exc


def _missing_file(exc: BaseException) -> bool:
    reason = _reason(exc)
    return "No such file" in reason or "NotFound" in reason


class LevelDBStore(KVStore):
    """The node's BlockStore in a LevelDB directory (see docs/storage.md)."""

    def __init__(self, kv: PlyvelKV, path: Path, chain_id: str | None) -> None:
        super().__init__(kv, str(path), chain_id)
        self.path = path
        self.kv = kv

    @classmethod
    def open(
        cls,
        path: str | Path,
        chain_id: str | None = None,
        create: bool = True,
        *,
        warm_tables: bool = True,
    ) -> LevelDBStore:
        """Open (or, with ``create``, make) the store in ``path``.

        With ``warm_tables`` (always, in a node) every table is opened into the table cache
        first; benchmarks pass False to measure a start without it.

        Raises StoreInUse when another process holds it, and StorageError (naming the directory,
        with nothing written) when it belongs to another chain, has a newer format version or is
        inconsistent.
        """
        path = Path(path)
        if not create and not path.is_dir():
            raise StorageError(f"no block store at {path} (and create=False)")
        if path.exists() and not path.is_dir():
            raise StorageError(f"block store {path} is not a directory")
        kv = PlyvelKV(_open_db(path, create), path)
        try:
            store = cls(kv, path, chain_id)
            if warm_tables:
                kv.warm_tables(open_files_budget())
            return store
        except StoreDamaged:
            kv.close()
            raise
        except StorageError as exc:
            kv.close()
            if "is inconsistent" in exc.message:
                raise damaged(path, exc.message) from exc
            raise
        except BaseException:
            kv.close()
            raise

    def check_tail(self, blocks: int = TAIL_CHECK_BLOCKS) -> int:
        """Read the last ``blocks`` headers and certificates (checksums verified) and check each
        header links to the one before; StoreDamaged when not. Returns the blocks checked."""
        top = self.height
        first = max(1, top - blocks + 1)
        try:
            prev = self.get_header(first - 1) if first > 1 else None
            for height in range(first, top + 1):
                header = self.get_header(height)
                if header is None or self.get_certificate(height) is None:
                    raise damaged(self.path, f"block {height} is missing")
                if prev is not None and header.prev_hash != prev.hash():
                    raise damaged(self.path, f"block {height} does not link to block {height - 1}")
                prev = header
        except StoreDamaged:
            raise
        except StorageError as exc:
            raise damaged(self.path, exc.message) from exc
        return top - first + 1

    def __enter__(self) -> LevelDBStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
