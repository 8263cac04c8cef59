"""A one-line progress display for long-running commands (bench, backup, node start's sync).

It shows only to a person: on when stdout is a terminal and the output is not JSON, silent
otherwise (scripts, pipes, ``--json``), so machine-read output never holds progress text. The
line goes to stderr and overwrites itself, at most a few times a second.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

__all__ = ["Progress", "follow_block_sync", "progress_for", "sync_line"]

_MIN_INTERVAL_S = 0.2


class Progress:
    """Shows ``label: text`` on one self-overwriting line of ``stream`` when enabled."""

    def __init__(
        self,
        label: str,
        enabled: bool,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.enabled = enabled
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._shown_at: float | None = None
        self._width = 0

    def update(self, text: str, force: bool = False) -> None:
        """Show ``text`` unless a line was shown less than a fifth of a second ago (``force``:
        show it anyway, for a new phase that must not be skipped)."""
        if not self.enabled:
            return
        now = self._clock()
        recent = self._shown_at is not None and now - self._shown_at < _MIN_INTERVAL_S
        if recent and not force:
            return
        self._shown_at = now
        self._write(f"{self.label}: {text}")

    def done(self, text: str = "") -> None:
        """End the line: with ``text`` as the last state, or erased when ``text`` is empty."""
        if not self.enabled or self._shown_at is None:
            return
        if text:
            self._write(f"{self.label}: {text}")
            self._stream.write("\n")
        else:
            self._stream.write("\r" + " " * self._width + "\r")
        self._stream.flush()
        self._shown_at = None
        self._width = 0

    @property
    def showing(self) -> bool:
        """True while a line is on the terminal (``done`` not called since)."""
        return self._shown_at is not None

    def _write(self, line: str) -> None:
        pad = max(self._width - len(line), 0)
        self._stream.write("\r" + line + " " * pad)
        self._stream.flush()
        self._width = len(line)


def progress_for(label: str, output: str, stdout: TextIO | None = None) -> Progress:
    """A Progress that is on only when stdout is a terminal and ``output`` is not ``json``."""
    out = stdout if stdout is not None else sys.stdout
    interactive = output != "json" and hasattr(out, "isatty") and out.isatty()
    return Progress(label, interactive)


class _Sync(Protocol):
    target_height: int


class _Store(Protocol):
    @property
    def height(self) -> int: ...


def sync_line(height: int, target: int, start: int, elapsed_s: float) -> str:
    """``height H of T (P%), R blocks/s`` for a catch-up that began at ``start``."""
    done = height - start
    share = 100 * done // max(target - start, 1)
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    return f"height {height} of {target} ({share}%), {rate:.0f} blocks/s"


async def follow_block_sync(
    sync: _Sync, store: _Store, progress: Progress, interval_s: float = 0.5
) -> None:
    """Show a node's block sync on ``progress`` while it is behind; runs until cancelled."""
    if not progress.enabled:
        return
    start: tuple[int, float] | None = None
    while True:
        await asyncio.sleep(interval_s)
        height, target = store.height, sync.target_height
        if target > height:
            if start is None:
                start = (height, time.monotonic())
            progress.update(sync_line(height, target, start[0], time.monotonic() - start[1]))
        elif start is not None:
            progress.done(f"caught up at height {height}")
            start = None
