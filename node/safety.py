"""A durable, fsync'd journal implementation of the consensus SafetyStore (``data/sign_state``).

Every save appends one record to the journal and fsyncs the file once: one fsync per signature,
where rewriting a small file needs three (the file, the rename, the directory). A new lock's block
payloads travel in the same write as the precommit that depends on them, so a height costs a
validator two or three fsyncs of its signing record instead of six or seven (docs/benchmarks.md,
issue 19). The file is only ever created or compacted by writing a temporary file, fsyncing it,
renaming it over the old one and fsyncing the directory, so it always starts with a whole record.

Reading takes the last whole record. A crash in the middle of an append leaves a torn tail (a
record shorter than its length says); its signature never left the node, because a signature
leaves only after its fsync returns, so the tail is ignored and overwritten by the next append.
A whole record whose checksum fails, or a journal without one whole state record, is damage:
``SafetyStoreError`` (the node stops with StoreDamaged rather than sign from guesses).

Files of the earlier format (one state, rewritten in place, and ``sign_state.blocks`` beside it)
still load; the first save turns them into a journal and removes the old blocks file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from carbon_ticket.chain.errors import StorageError
from carbon_ticket.consensus import SafetyStoreError, SavedBlocks, SignState
from carbon_ticket.node.durable import fsync_path
from carbon_ticket.node.store import disk_full

__all__ = ["COMPACT_AT_BYTES", "FileSafetyStore"]

_JOURNAL_TAG = b"carbonticket/signjournal/v1\x00"
_LEGACY_BLOCKS_TAG = b"carbonticket/lockblocks/v1\x00"
# Record header: payload length, CRC-32 of kind and payload, kind.
_HEADER = struct.Struct(">IIB")
_STATE = 1
_BLOCKS = 2  # takes effect with the state record that follows it in the same write
# A journal longer than this is rewritten with only its latest records at the next save.
COMPACT_AT_BYTES = 4 << 20


@dataclass
class _Journal:
    """What a read of the file found: the latest state and blocks, and where appends go."""

    state: SignState | None = None
    blocks: SavedBlocks | None = None
    end: int = 0  # bytes of whole records (appends go here; a torn tail beyond is overwritten)
    is_journal: bool = False  # False: no file yet, or a file of the earlier format


class FileSafetyStore:
    """Persist the last signed consensus state in an append-only journal (``data/sign_state``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.blocks_path = self.path.with_name(self.path.name + ".blocks")  # earlier format only
        self.fsyncs = 0
        self.compactions = 0
        self._journal: _Journal | None = None

    # ------------------------------------------------------------------ reading

    def load(self) -> SignState | None:
        """The stored state, or None for a validator that has never signed."""
        return self._read().state

    def load_blocks(self, height: int) -> dict[bytes, bytes]:
        """Locked / valid block payloads saved for ``height`` (empty for another height)."""
        blocks = self._read().blocks
        return dict(blocks.payloads) if blocks is not None and blocks.height == height else {}

    def _read(self) -> _Journal:
        if self._journal is None:
            self._journal = self._read_file()
        return self._journal

    def _read_file(self) -> _Journal:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return _Journal()
        if not data.startswith(_JOURNAL_TAG):
            return _Journal(SignState.from_bytes(data), self._read_legacy_blocks(), len(data))
        return _parse_journal(data, self.path)

    def _read_legacy_blocks(self) -> SavedBlocks | None:
        try:
            data = self.blocks_path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return _decode_blocks(data, _LEGACY_BLOCKS_TAG)
        except (ValueError, struct.error) as exc:
            raise SafetyStoreError(f"corrupt lock blocks file {self.blocks_path}: {exc}") from exc

    # ------------------------------------------------------------------ writing

    def save(self, state: SignState, blocks: SavedBlocks | None = None) -> None:
        """Durably record ``state`` (and ``blocks``, in the same write); returns once on disk."""
        journal = self._read()
        records = b""
        if blocks is not None:
            records += _record(_BLOCKS, _encode_blocks(blocks))
        records += _record(_STATE, state.to_bytes())
        try:
            if journal.is_journal and journal.end + len(records) <= COMPACT_AT_BYTES:
                self._append(journal.end, records)
                journal.end += len(records)
            else:
                kept = blocks if blocks is not None else journal.blocks
                self._rewrite(state, kept)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise disk_full(self.path) from exc
            raise StorageError(f"cannot write the signing state {self.path}: {exc}") from exc
        journal.state = state
        if blocks is not None:
            journal.blocks = blocks

    def _append(self, offset: int, records: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY)
        try:
            try:
                _write_all(fd, records, offset)
                os.fsync(fd)
            except OSError:
                # Leave the file as it was: a partial record must not be read as a torn tail of
                # a signature that was refused (disk full) and then retried differently.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, offset)
                raise
            self.fsyncs += 1
        finally:
            os.close(fd)

    def _rewrite(self, state: SignState, blocks: SavedBlocks | None) -> None:
        # A fresh journal of the latest records, renamed over the old file: it always starts
        # whole, so reading it can tell a torn tail from damage.
        data = _JOURNAL_TAG
        if blocks is not None:
            data += _record(_BLOCKS, _encode_blocks(blocks))
        data += _record(_STATE, state.to_bytes())
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(fd, data, 0)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        fsync_path(self.path.parent)  # the rename
        self.fsyncs += 2
        self.compactions += 1
        with contextlib.suppress(FileNotFoundError):
            self.blocks_path.unlink()  # the earlier format's file: its payloads are in the journal
        self._journal = _Journal(state, blocks, len(data), is_journal=True)


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:  # a large block may need more than one write
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _record(kind: int, payload: bytes) -> bytes:
    body = bytes((kind,)) + payload
    return _HEADER.pack(len(payload), zlib.crc32(body), kind) + payload


def _parse_journal(data: bytes, path: Path) -> _Journal:
    journal = _Journal(end=len(_JOURNAL_TAG), is_journal=True)
    pending: SavedBlocks | None = None
    pos = journal.end
    while pos + _HEADER.size <= len(data):
        length, crc, kind = _HEADER.unpack_from(data, pos)
        start, stop = pos + _HEADER.size, pos + _HEADER.size + length
        if stop > len(data):
            break  # a torn tail: the append never finished, so its signature never left
        payload = data[start:stop]
        if zlib.crc32(bytes((kind,)) + payload) != crc:
            raise SafetyStoreError(f"corrupt sign state {path}: bad checksum at byte {pos}")
        try:
            if kind == _STATE:
                journal.state = SignState.from_bytes(payload)
                journal.blocks = pending if pending is not None else journal.blocks
                pending = None
                journal.end = stop
            elif kind == _BLOCKS:
                pending = _decode_blocks(payload, b"")
            else:
                raise ValueError(f"unknown record kind {kind}")
        except (ValueError, struct.error) as exc:
            raise SafetyStoreError(f"corrupt sign state {path} at byte {pos}: {exc}") from exc
        pos = stop
    if journal.state is None:
        # The file is created whole with a state record: none whole means damage, not a crash.
        raise SafetyStoreError(f"corrupt sign state {path}: no whole record")
    return journal


def _encode_blocks(blocks: SavedBlocks) -> bytes:
    parts = [struct.pack(">QI", blocks.height, len(blocks.payloads))]
    for block_hash, payload in sorted(blocks.payloads.items()):
        parts += [struct.pack(">B", len(block_hash)), block_hash]
        parts += [struct.pack(">I", len(payload)), payload]
    return b"".join(parts)


def _decode_blocks(data: bytes, tag: bytes) -> SavedBlocks:
    if not data.startswith(tag):
        raise ValueError("unknown tag")
    pos = len(tag)
    height, count = struct.unpack_from(">QI", data, pos)
    pos += 12
    blocks: dict[bytes, bytes] = {}
    for _ in range(count):
        (hash_len,) = struct.unpack_from(">B", data, pos)
        block_hash = data[pos + 1 : pos + 1 + hash_len]
        pos += 1 + hash_len
        (size,) = struct.unpack_from(">I", data, pos)
        payload = data[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if len(block_hash) != hash_len or len(payload) != size:
            raise ValueError("truncated")
        blocks[block_hash] = payload
    if pos != len(data):
        raise ValueError("trailing bytes")
    return SavedBlocks(height, blocks)
