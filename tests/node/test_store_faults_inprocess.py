"""A full disk or damage met while running stops that node cleanly, in every path that writes or
reads its store: a consensus commit, block sync at start, an API read. In-process nodes
(tests/node/harness.py): the LevelDB handle of one node is wrapped so that its writes or reads
fail the way plyvel reports a full disk or a checksum mismatch; nothing else is faked."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import plyvel
import pytest

from carbon_ticket.node.errors import DiskFull, StoreDamaged
from carbon_ticket.node.node import Node
from carbon_ticket.node.store import LevelDBStore, PlyvelKV
from tests.node.harness import InProcessNet

pytestmark = pytest.mark.timeout(120)

VICTIM = 3
_NO_SPACE = b"IO error: /data/blocks/000009.log: No space left on device"
_CHECKSUM = b"Corruption: block checksum mismatch: /data/blocks/000005.ldb"


class _FailingBatch:
    def __init__(self, batch: Any) -> None:
        self._batch = batch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batch, name)

    def write(self) -> None:
        raise plyvel.IOError(_NO_SPACE)


class _FullDisk:
    """A plyvel DB whose batch writes fail as on a full disk; reads still work."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self.failed_writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def write_batch(self, **kw: Any) -> _FailingBatch:
        self.failed_writes += 1
        return _FailingBatch(self._db.write_batch(**kw))


class _Damaged:
    """A plyvel DB whose point reads meet a checksum mismatch."""

    def __init__(self, db: Any) -> None:
        self._db = db

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def get(self, key: bytes, **kw: Any) -> bytes | None:
        raise plyvel.CorruptionError(_CHECKSUM)


def _kv(node: Node) -> PlyvelKV:
    assert isinstance(node.store, LevelDBStore)
    return node.store.kv


def _leaked(caplog: pytest.LogCaptureFixture) -> list[str]:
    # A traceback anywhere (an exception out of a callback or task) is a record with exc_info.
    return [r.getMessage() for r in caplog.records if r.exc_info]


def _stopped_once(caplog: pytest.LogCaptureFixture, what: str) -> bool:
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    return len(lines) == 1 and lines[0].startswith(f"stopping: {what}")


def _run(tmp_path: Path, scenario: Any) -> None:
    async def main() -> None:
        async with InProcessNet(tmp_path) as net:
            await net.start()
            await scenario(net)

    asyncio.run(main())


def test_a_full_disk_at_commit_stops_the_node_and_it_catches_up_after_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    async def scenario(net: InProcessNet) -> None:
        await net.run_until("a few blocks", lambda: min(net.heights()) >= 3)
        victim = net.node(VICTIM)
        disk = _FullDisk(_kv(victim)._db)
        _kv(victim)._db = disk
        await net.run_until("the victim stops", lambda: victim.fatal_error is not None)
        stuck = victim.store.height
        assert isinstance(victim.fatal_error, DiskFull) and disk.failed_writes == 1
        assert "free space and restart; nothing partial was written" in victim.fatal_error.message
        await net.run_until("the others commit on", lambda: net.height(0) >= stuck + 3)
        assert victim.store.height == stuck and disk.failed_writes == 1  # it tried no more
        assert _stopped_once(caplog, "disk full at") and not _leaked(caplog)

        _kv(victim)._db = disk._db  # space freed: the operator restarts the node
        await net.stop(VICTIM)
        await net.start(VICTIM)
        top = net.height(0)
        await net.run_until("the victim catches up", lambda: net.height(VICTIM) >= top + 1)
        net.assert_same_chain([0, VICTIM], top)

    _run(tmp_path, scenario)


def test_a_full_disk_during_block_sync_at_start_stops_the_node(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(net: InProcessNet) -> None:
        await net.stop(VICTIM)
        await net.run_until("the others move ahead", lambda: net.height(0) >= 4)
        victim: Node = net.build(VICTIM)
        _kv(victim)._db = _FullDisk(_kv(victim)._db)
        before = victim.store.height
        await net.start(VICTIM)  # returns: the catch-up met the full disk and stopped the node
        assert isinstance(victim.fatal_error, DiskFull)
        assert victim.store.height == before
        assert _stopped_once(caplog, "disk full at") and not _leaked(caplog)
        # It does not vote or commit on guesses afterwards.
        await net.run_for(3.0)
        assert victim.store.height == before

    _run(tmp_path, scenario)


def test_damage_met_by_a_read_stops_the_node(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(net: InProcessNet) -> None:
        victim = net.node(VICTIM)
        _kv(victim)._db = _Damaged(_kv(victim)._db)
        with pytest.raises(StoreDamaged) as info:
            victim.store.genesis()  # what an API handler's read does
        assert "checksum mismatch" in info.value.message
        assert "carbon-ticket node rebuild" in info.value.message
        assert victim.fatal_error is info.value
        assert _stopped_once(caplog, "block store") and not _leaked(caplog)

    _run(tmp_path, scenario)
