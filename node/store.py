"""The LevelDB block store: ``chain.kvstore.KVStore``'s layout over plyvel.

One database per node. Every committed block is one ``WriteBatch`` written with ``sync=True``,
so a crash leaves either the old or the new height. Opening checks the format version, the chain
id and the tip before anything is written; a store held by another process raises StoreInUse.
Memory stays bounded as the ledger grows: a fixed block cache, a bounded table cache and
bloom filters (10 bits per key) that keep point reads of absent keys off the disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import plyvel

from carbon_ticket.chain.errors import StorageError, StoreInUse
from carbon_ticket.chain.kvstore import KVStore

__all__ = ["LevelDBStore", "PlyvelKV"]

_CACHE_BYTES = 32 * 1024 * 1024
_WRITE_BUFFER_BYTES = 8 * 1024 * 1024
_MAX_OPEN_FILES = 500
_MAX_FILE_BYTES = 4 * 1024 * 1024


class _PlyvelSnapshot:
    """A plyvel snapshot as a KVSnapshot."""

    def __init__(self, snap: Any) -> None:
        self._snap = snap

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key`` at the snapshot, or None."""
        value: bytes | None = self._snap.get(key)
        return value

    def iterate(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Items with ``start <= key < stop`` at the snapshot."""
        it: Iterator[tuple[bytes, bytes]] = self._snap.iterator(
            start=start, stop=stop, reverse=reverse
        )
        return it

    def close(self) -> None:
        """Release the snapshot."""
        self._snap.close()


class PlyvelKV:
    """A plyvel database as a KVBackend; ``write`` is one synced WriteBatch."""

    def __init__(self, db: Any) -> None:
        self._db = db
        # Told how long each synced batch took (node.metrics' fsync histogram), when set.
        self.on_write: Callable[[float], None] | None = None

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or None."""
        value: bytes | None = self._db.get(key)
        return value

    def iterate(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Items with ``start <= key < stop`` (LevelDB iterators read an implicit snapshot)."""
        it: Iterator[tuple[bytes, bytes]] = self._db.iterator(
            start=start, stop=stop, reverse=reverse
        )
        return it

    def write(self, items: list[tuple[bytes, bytes | None]]) -> None:
        """Apply every put and delete as one atomic WriteBatch, fsynced before returning."""
        batch = self._db.write_batch(sync=True)
        put, delete = batch.put, batch.delete
        for key, value in items:
            if value is None:
                delete(key)
            else:
                put(key, value)
        started = time.perf_counter()
        batch.write()
        if self.on_write is not None:
            self.on_write(time.perf_counter() - started)

    def snapshot(self) -> _PlyvelSnapshot:
        """A LevelDB snapshot: a consistent view that later commits do not change."""
        return _PlyvelSnapshot(self._db.snapshot())

    def close(self) -> None:
        """Close the database and release its lock."""
        self._db.close()

    def approximate_size(self) -> int:
        """LevelDB's estimate of the bytes on disk for all keys."""
        sizes: list[int] = self._db.approximate_sizes((b"", b"\xff" * 8))
        return sizes[0]

    def compact(self) -> None:
        """Compact the whole key range (for benchmarks and tools)."""
        self._db.compact_range()


def _reason(exc: Exception) -> str:
    # plyvel reports LevelDB's status as bytes.
    arg = exc.args[0] if exc.args else exc
    return arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)


def _open_db(path: Path, create: bool) -> Any:
    try:
        return plyvel.DB(
            str(path),
            create_if_missing=create,
            paranoid_checks=True,
            write_buffer_size=_WRITE_BUFFER_BYTES,
            max_open_files=_MAX_OPEN_FILES,
            lru_cache_size=_CACHE_BYTES,
            max_file_size=_MAX_FILE_BYTES,
            bloom_filter_bits=10,
            compression="snappy",
        )
    except plyvel.IOError as exc:
        if "lock" in _reason(exc).lower():
            raise StoreInUse(f"block store {path} is in use by another process") from exc
        raise StorageError(f"block store {path} cannot be opened: {_reason(exc)}") from exc
    except plyvel.Error as exc:
        if not create and "does not exist" in _reason(exc):
            raise StorageError(f"no block store at {path} (and create=False)") from exc
        raise StorageError(f"block store {path} cannot be opened: {_reason(exc)}") from exc


class LevelDBStore(KVStore):
    """The node's BlockStore in a LevelDB directory (see docs/storage.md)."""

    def __init__(self, kv: PlyvelKV, path: Path, chain_id: str | None) -> None:
        super().__init__(kv, str(path), chain_id)
        self.path = path
        self.kv = kv

    @classmethod
    def open(
        cls, path: str | Path, chain_id: str | None = None, create: bool = True
    ) -> LevelDBStore:
        """Open (or, with ``create``, make) the store in ``path``.

        Raises StoreInUse when another process holds it, and StorageError (naming the directory,
        with nothing written) when it belongs to another chain, has a newer format version or is
        inconsistent.
        """
        path = Path(path)
        if not create and not path.is_dir():
            raise StorageError(f"no block store at {path} (and create=False)")
        if path.exists() and not path.is_dir():
            raise StorageError(f"block store {path} is not a directory")
        kv = PlyvelKV(_open_db(path, create))
        try:
            return cls(kv, path, chain_id)
        except BaseException:
            kv.close()
            raise

    def __enter__(self) -> LevelDBStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
