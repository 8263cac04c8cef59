"""A durable, fsync'd file implementation of the consensus SafetyStore.

The state is written to a temporary file, fsync'd, renamed over the old one and the directory is
fsync'd, so after a crash the file holds either the previous or the new state, never a mixture.
"""

from __future__ import annotations

import os
from pathlib import Path

from consensus import SignState

__all__ = ["FileSafetyStore"]


class FileSafetyStore:
    """Persist the last signed consensus state in one small file (``<home>/data/sign_state``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> SignState | None:
        """The stored state, or None for a validator that has never signed."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return SignState.from_bytes(data)

    def save(self, state: SignState) -> None:
        """Durably replace the stored state; returns only once it is on disk."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, state.to_bytes())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
