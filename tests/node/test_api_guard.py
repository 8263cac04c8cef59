"""node.api_guard and node.streams: each [api] limit refuses with RESOURCE_EXHAUSTED, its code and
a message naming the client and the setting; a block is encoded once for all subscribers, and a
subscriber that stops reading is dropped without holding up the commit path."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from carbon_ticket.chain.errors import ResourceExhausted
from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools.devnet import init_devnet
from carbon_ticket.node.api_guard import ApiGuard, Refusal
from carbon_ticket.node.config import ApiSettings, ConfigError, NodeConfig
from carbon_ticket.node.errors import ERROR_CODE_KEY
from carbon_ticket.node.server import GrpcServer
from carbon_ticket.node.streams import BlockFanout, pass_encoded
from carbon_ticket.proto import services_pb2, services_pb2_grpc
from tests.cli.harness import NodeThread, free_port, make_fast


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _guard(**settings: int) -> tuple[ApiGuard, FakeClock]:
    clock = FakeClock()
    return ApiGuard(ApiSettings(**settings), clock), clock


# ---------------------------------------------------------------- the checks, one by one


def test_streams_are_limited_per_client_with_a_message_naming_the_setting() -> None:
    guard, _ = _guard(max_streams_per_client=2, max_subscribers=10)
    guard.open_stream("10.0.0.1")
    guard.open_stream("10.0.0.1")
    with pytest.raises(Refusal) as refused:
        guard.open_stream("10.0.0.1")
    assert refused.value.code == "too_many_streams"
    assert refused.value.message == (
        "too many streams from 10.0.0.1 (limit 2); close some or raise [api] max_streams_per_client"
    )
    guard.open_stream("10.0.0.2")  # another client is not affected
    guard.streams.release("10.0.0.1")
    guard.open_stream("10.0.0.1")
    assert guard.refused == {"too_many_streams": 1}


def test_the_total_of_streams_is_limited_too() -> None:
    guard, _ = _guard(max_streams_per_client=5, max_subscribers=2)
    guard.open_stream("a")
    guard.open_stream("b")
    with pytest.raises(Refusal, match=r"serves 2 streams \(limit 2\).*max_subscribers"):
        guard.open_stream("c")


def test_the_request_rate_is_a_token_bucket_per_client() -> None:
    guard, clock = _guard(requests_per_second=2, request_burst=3)
    for _ in range(3):
        guard.check_rate("a")
    with pytest.raises(Refusal, match=r"too many requests from a \(limit 2/s, burst 3\)"):
        guard.check_rate("a")
    guard.check_rate("b")
    clock.now += 0.5  # one more token for a
    guard.check_rate("a")
    with pytest.raises(ResourceExhausted):
        guard.check_rate("a")


def test_submissions_in_flight_and_the_admission_queue_are_bounded() -> None:
    guard, _ = _guard(max_submissions_per_client=2, admission_queue_txs=100)
    guard.start_submission("a", 60)
    with pytest.raises(Refusal, match=r"admission queue is full \(60 of 100 .* 50 more"):
        guard.start_submission("b", 50)
    assert guard.submissions.held("b") == 0  # a refused submission holds nothing
    guard.start_submission("a", 40)
    with pytest.raises(Refusal, match=r"too many submissions in flight from a \(limit 2\)"):
        guard.start_submission("a", 1)
    guard.end_submission("a", 60)
    guard.start_submission("b", 50)
    assert guard.admission.used == 90
    assert guard.refused == {"admission_queue_full": 1, "too_many_submissions": 1}


def test_bytes_pass_through_a_stream_serializer_and_messages_are_serialised() -> None:
    serialize = pass_encoded(services_pb2.StatusRequest.SerializeToString)
    assert serialize is not None
    assert serialize(b"\x08\x01") == b"\x08\x01"
    message = services_pb2.GetBlockRequest(height=7)
    assert serialize(message) == message.SerializeToString()


def test_a_config_with_a_bad_api_value_is_one_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"api.max_streams_per_client must be a positive"):
        ApiSettings(max_streams_per_client=0)
    with pytest.raises(ConfigError, match=r"api.max_message_bytes must be at least"):
        ApiSettings(max_message_bytes=1000)


# ---------------------------------------------------------------- the block fan-out


def test_a_block_is_encoded_once_for_every_subscriber() -> None:
    async def scenario() -> tuple[list[list[bytes]], int]:
        chain = {"height": 0}
        fanout = BlockFanout(lambda h, _r: f"block {h}".encode(), lambda: chain["height"], 8)
        streams = [fanout.follow(0) for _ in range(50)]
        firsts = [asyncio.ensure_future(anext(s)) for s in streams]
        await asyncio.sleep(0)
        assert fanout.subscribers == 50
        got: list[list[bytes]] = [[] for _ in streams]
        for height in (1, 2, 3):
            chain["height"] = height
            fanout.on_commit(height)
            if height == 1:
                for i, first in enumerate(firsts):
                    got[i].append(await first)
            else:
                for i, s in enumerate(streams):
                    got[i].append(await anext(s))
        for s in streams:
            await s.aclose()
        assert fanout.subscribers == 0
        return got, fanout.encodings

    got, encodings = asyncio.run(scenario())
    assert all(g == [b"block 1", b"block 2", b"block 3"] for g in got)
    assert encodings == 3


def test_reading_old_blocks_keeps_the_recent_ones_streams_share() -> None:
    # An explorer walking back through history (GetBlock of old heights) pushed the blocks live
    # streams share out of the cache, so each stream's next block was encoded again.
    encoded: list[tuple[int, bool]] = []

    def encode(height: int, receipts: bool) -> bytes:
        encoded.append((height, receipts))
        return f"block {height} {receipts}".encode()

    fanout = BlockFanout(encode, lambda: 1000, 8)
    recent = range(995, 1001)
    for height in recent:
        fanout.encoded(height)
    for height in range(1, 200):  # a walk back through old blocks
        assert fanout.encoded(height) == f"block {height} True".encode()
    encoded.clear()
    assert [fanout.encoded(h) for h in recent] == [f"block {h} True".encode() for h in recent]
    assert encoded == []  # every recent block still shared
    assert fanout.encoded(1000, receipts=False) == b"block 1000 False"
    assert encoded == [(1000, False)]  # without receipts is an encoding of its own


def test_a_subscriber_that_stops_reading_is_dropped_with_where_to_resume() -> None:
    async def scenario() -> tuple[BlockFanout, str]:
        chain = {"height": 0}
        fanout = BlockFanout(lambda h, _r: b"x", lambda: chain["height"], 3)
        stream = fanout.follow(0)
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        chain["height"] = 1
        fanout.on_commit(1)
        await first  # the client takes block 1, then reads nothing while 4 more commit
        for height in range(2, 6):
            chain["height"] = height
            fanout.on_commit(height)
            await asyncio.sleep(0)  # the subscribers are woken by a task of their own
        assert fanout.subscribers == 0 and fanout.dropped == 1
        with pytest.raises(ResourceExhausted) as ended:
            await anext(stream)
        return fanout, ended.value.message

    _, message = asyncio.run(scenario())
    assert "fell more than 3 blocks behind" in message
    assert "from_height=2" in message


# ---------------------------------------------------------------- through a real gRPC port


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ApiGuard]]:
    root: Path = tmp_path_factory.mktemp("guard")
    info = init_devnet(root, validators=1, base_port=free_port(), wallet_kdf=TEST_KDF)
    config = make_fast(info.node_home(0))
    api = ApiSettings(max_streams_per_client=3, max_request_bytes=4096,
                      requests_per_second=1000, request_burst=1000)  # fmt: skip
    config = replace(config, api=api)
    config.save()
    thread = NodeThread(NodeConfig.load(info.node_home(0))).start()
    assert thread.node is not None
    server = next(s for s in thread.node.services if isinstance(s, GrpcServer))
    try:
        yield info.endpoints[0], server.api_guard
    finally:
        thread.stop()


def _code(error: grpc.RpcError) -> str:
    metadata = dict(error.trailing_metadata() or ())
    return str(metadata.get(ERROR_CODE_KEY, ""))


def test_a_fourth_stream_from_one_client_is_refused_and_the_three_keep_getting_blocks(
    guarded: tuple[str, ApiGuard],
) -> None:
    endpoint, guard = guarded
    channel = grpc.insecure_channel(endpoint)
    stub = services_pb2_grpc.LedgerServiceStub(channel)
    try:
        streams = [
            stub.SubscribeBlocks(services_pb2.SubscribeBlocksRequest(), timeout=30)
            for _ in range(3)
        ]
        heights = [next(s).committed.block.header.height for s in streams]
        assert min(heights) >= 1
        extra = stub.SubscribeBlocks(services_pb2.SubscribeBlocksRequest(), timeout=30)
        with pytest.raises(grpc.RpcError) as refused:
            next(extra)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert refused.value.details() == (
            "too many streams from 127.0.0.1 (limit 3); close some or raise [api] "
            "max_streams_per_client"
        )
        assert _code(refused.value) == "too_many_streams"
        later = [next(s).committed.block.header.height for s in streams]
        assert all(b > a for a, b in zip(heights, later, strict=True))
        for s in streams:
            s.cancel()
        # Closed streams are given back: a new one is served.
        deadline = threading.Event()
        for _ in range(50):
            if guard.streams.held("127.0.0.1") == 0:
                break
            deadline.wait(0.1)
        again = stub.SubscribeBlocks(services_pb2.SubscribeBlocksRequest(), timeout=30)
        assert next(again).committed.block.header.height > 0
        again.cancel()
    finally:
        channel.close()


def test_an_oversized_batch_is_refused_before_it_is_decoded(
    guarded: tuple[str, ApiGuard],
) -> None:
    endpoint, _ = guarded
    channel = grpc.insecure_channel(endpoint)
    stub = services_pb2_grpc.LedgerServiceStub(channel)
    try:
        request = services_pb2.SubmitTxsRequest(txs=[b"\x00" * 200] * 40)
        with pytest.raises(grpc.RpcError) as refused:
            stub.SubmitTxs(request, timeout=10)
        error = refused.value
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert _code(error) == "request_too_large"
        assert "over the limit of 4096" in error.details()
        assert "[api] max_request_bytes" in error.details()
        # A small request still goes through (the status call is not limited by size).
        assert stub.GetStatus(services_pb2.StatusRequest(), timeout=10).height >= 0
    finally:
        channel.close()


def test_submitted_transactions_are_charged_before_any_signature_check() -> None:
    guard, clock = _guard(txs_per_second=100, tx_burst=300)
    guard.check_tx_rate("a", 300)
    with pytest.raises(Refusal) as refused:
        guard.check_tx_rate("a", 1)
    assert refused.value.code == "tx_rate_limited"
    assert "too many transactions from a (1 offered; limit 100/s, burst 300)" in str(
        refused.value.message
    )
    clock.now += 1.0
    guard.check_tx_rate("a", 100)
    with pytest.raises(Refusal, match=r"a batch of 301 .* raise \[api\] tx_burst"):
        guard.check_tx_rate("b", 301)  # could never pass: refused whatever the bucket holds
    assert guard.refused == {"tx_rate_limited": 1, "batch_over_burst": 1}
