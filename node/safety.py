"""A durable, fsync'd file implementation of the consensus SafetyStore.

The state is written to a temporary file, fsync'd, renamed over the old one and the directory is
fsync'd, so after a crash the file holds either the previous or the new state, never a mixture.
A write that fails (a full disk) raises DiskFull or StorageError and leaves the old file whole.
The payloads of the locked / valid blocks go the same way to ``<sign_state>.blocks``, written
only when they change (about once per height, when the node first locks).
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
from pathlib import Path

from carbon_ticket.chain.errors import StorageError
from carbon_ticket.consensus import SafetyStoreError, SignState
from carbon_ticket.node.store import disk_full

__all__ = ["FileSafetyStore"]

_BLOCKS_TAG = b"carbonticket/lockblocks/v1\x00"


class FileSafetyStore:
    """Persist the last signed consensus state in one small file (``<home>/data/sign_state``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.blocks_path = self.path.with_name(self.path.name + ".blocks")
        self.fsyncs = 0

    def load(self) -> SignState | None:
        """The stored state, or None for a validator that has never signed."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return SignState.from_bytes(data)

    def save(self, state: SignState) -> None:
        """Durably replace the stored state; returns only once it is on disk."""
        self._replace(self.path, state.to_bytes())

    def load_blocks(self, height: int) -> dict[bytes, bytes]:
        """Locked / valid block payloads saved for ``height`` (empty for another height)."""
        try:
            data = self.blocks_path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            saved_height, blocks = _decode_blocks(data)
        except (ValueError, struct.error) as exc:
            raise SafetyStoreError(f"corrupt lock blocks file {self.blocks_path}: {exc}") from exc
        return blocks if saved_height == height else {}

    def save_blocks(self, height: int, blocks: dict[bytes, bytes]) -> None:
        """Durably replace the saved payloads with ``blocks`` for ``height``."""
        parts = [_BLOCKS_TAG, struct.pack(">QI", height, len(blocks))]
        for block_hash, payload in sorted(blocks.items()):
            parts += [struct.pack(">B", len(block_hash)), block_hash]
            parts += [struct.pack(">I", len(payload)), payload]
        self._replace(self.blocks_path, b"".join(parts))

    def _replace(self, path: Path, data: bytes) -> None:
        # Raised inside the consensus engine: the node's typed error, which stops the node.
        try:
            self._write_and_rename(path, data)
        except OSError as exc:
            with contextlib.suppress(OSError):
                path.with_name(path.name + ".tmp").unlink()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise disk_full(path) from exc
            raise StorageError(f"cannot write the signing state {path}: {exc}") from exc

    def _write_and_rename(self, path: Path, data: bytes) -> None:
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:  # a large block may need more than one write
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.fsyncs += 2


def _decode_blocks(data: bytes) -> tuple[int, dict[bytes, bytes]]:
    if not data.startswith(_BLOCKS_TAG):
        raise ValueError("unknown tag")
    pos = len(_BLOCKS_TAG)
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
    return height, blocks
