"""Putting files on the disk for good: the node's one place for fsync.

A file written and renamed is durable only once the file and then its directory's entry are
flushed; these helpers say which is which, so the signing journal, backups, restores and
rebuilds do it the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir_contents", "fsync_path", "write_durably"]


def fsync_path(path: Path) -> None:
    """Flush a file, or a directory's entries (a file created or renamed in it), to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir_contents(directory: Path) -> None:
    """Flush a directory just written: each entry in it (not below), then the directory."""
    for item in [*directory.iterdir(), directory]:
        fsync_path(item)


def write_durably(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old file or the new one, whole.

    Written to a temporary file beside it, flushed, renamed over it, and the rename flushed.
    """
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    fsync_path(tmp)
    os.replace(tmp, path)
    fsync_path(path.parent)
