"""BlockWatcher.follow: blocks pushed by SubscribeBlocks, none skipped when the node cuts a
slow subscriber off, and an error that is not that one is raised, not swallowed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest

from carbon_ticket.cli.tools.loadgen import BlockWatcher
from carbon_ticket.proto import ledger_pb2, services_pb2


class _Ended(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__()
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "ended by the test"


class _Stream:
    """One subscription: ``count`` blocks from ``first``, then ``end`` (None: the stream ends)."""

    def __init__(self, first: int, count: int, end: grpc.StatusCode | None) -> None:
        self._heights = range(first, first + count)
        self._end = end
        self.cancelled = False

    def __iter__(self) -> Iterator[services_pb2.BlockInfo]:
        for height in self._heights:
            info = services_pb2.BlockInfo()
            info.committed.block.header.height = height
            yield info
        if self._end is not None:
            raise _Ended(self._end)

    def cancel(self) -> None:
        self.cancelled = True


class _Node:
    def __init__(self, *ends: grpc.StatusCode | None) -> None:
        self._ends = list(ends)
        self.asked: list[int] = []
        self.streams: list[_Stream] = []

    def SubscribeBlocks(self, request: services_pb2.SubscribeBlocksRequest) -> _Stream:
        self.asked.append(request.from_height)
        stream = _Stream(request.from_height, 3, self._ends.pop(0))
        self.streams.append(stream)
        return stream


def _follow(node: _Node, from_height: int) -> list[ledger_pb2.CommittedBlock]:
    watcher = BlockWatcher("127.0.0.1:9")  # never dialled: the stub is replaced
    watcher.public = node
    try:
        return list(watcher.follow(from_height, threading.Event()))
    finally:
        watcher.close()


def test_a_slow_subscriber_cut_off_by_the_node_subscribes_again_from_the_next_height() -> None:
    node = _Node(grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.RESOURCE_EXHAUSTED, None)
    blocks = _follow(node, 5)
    assert [b.block.header.height for b in blocks] == list(range(5, 14))
    assert node.asked == [5, 8, 11]
    assert all(stream.cancelled for stream in node.streams)  # nothing left open


def test_another_error_ends_following_with_that_error() -> None:
    node = _Node(grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(grpc.RpcError) as ended:
        _follow(node, 1)
    assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
