"""cli/progress.py: a self-overwriting line on a terminal, nothing for scripts."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

from carbon_ticket.cli.progress import Progress, follow_block_sync, progress_for, sync_line


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_updates_overwrite_one_line_and_are_thinned_out() -> None:
    out, clock = io.StringIO(), _Clock()
    progress = Progress("backup", True, out, clock)
    progress.update("10 keys")
    progress.update("20 keys")  # within 0.2 s of the last one: skipped
    clock.now += 0.3
    progress.update("3 keys")
    progress.update("phase two", force=True)
    assert out.getvalue() == "\rbackup: 10 keys\rbackup: 3 keys \rbackup: phase two"
    progress.done("finished")
    assert out.getvalue().endswith("\rbackup: finished \n") and not progress.showing


def test_done_without_text_erases_the_line() -> None:
    out = io.StringIO()
    progress = Progress("bench", True, out, _Clock())
    progress.update("abc")
    progress.done()
    assert out.getvalue() == "\rbench: abc\r" + " " * len("bench: abc") + "\r"
    progress.done()  # nothing shown: nothing written
    assert out.getvalue().count("\r") == 3


def test_disabled_progress_writes_nothing() -> None:
    out = io.StringIO()
    progress = Progress("bench", False, out)
    progress.update("x", force=True)
    progress.done("y")
    assert out.getvalue() == ""


def test_on_only_for_a_terminal_and_never_for_json() -> None:
    assert progress_for("x", "table", _Tty()).enabled
    assert not progress_for("x", "json", _Tty()).enabled
    assert not progress_for("x", "table", io.StringIO()).enabled


def test_sync_line_counts_from_where_the_catch_up_began() -> None:
    assert sync_line(150, 200, 100, 2.0) == "height 150 of 200 (50%), 25 blocks/s"
    assert sync_line(7, 7, 7, 0.0) == "height 7 of 7 (0%), 0 blocks/s"


@dataclass
class _Sync:
    target_height: int = 0


@dataclass
class _Store:
    height: int = 0


def test_block_sync_is_shown_while_behind_and_ended_when_caught_up() -> None:
    out, sync, store = io.StringIO(), _Sync(), _Store(10)
    progress = Progress("block sync", True, out, lambda: 0.0)

    async def scenario() -> None:
        task = asyncio.create_task(follow_block_sync(sync, store, progress, interval_s=0.001))
        await asyncio.sleep(0.01)
        assert out.getvalue() == ""  # not behind: nothing shown
        sync.target_height = 50
        while not progress.showing:
            await asyncio.sleep(0.001)
        store.height = 50
        while progress.showing:
            await asyncio.sleep(0.001)
        task.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert "block sync: height 10 of 50" in out.getvalue()
    last = out.getvalue().rsplit("\r", 1)[-1]
    assert last.startswith("block sync: caught up at height 50") and last.endswith("\n")


def test_block_sync_display_is_off_for_scripts() -> None:
    progress = Progress("block sync", False, io.StringIO())
    asyncio.run(asyncio.wait_for(follow_block_sync(_Sync(5), _Store(0), progress), 5))
