"""Peer streams (issue 19): consensus and gossip as signed, numbered frames of one Stream call.

Checked in-process against ``PeerAuthenticator.verified_frames`` and over a real gRPC port with
``PeerAuthInterceptor``: the opening is signed like any call, every frame carries its own
signature and the next number, the caller's role is asked again on each frame, and a node sends
through ``PeerLink`` with the stream (falling back to calls when a peer does not serve it)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterable

import grpc
import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.node.peer_auth import (
    FrameSigner,
    ObserverList,
    PeerAuthenticator,
    PeerAuthError,
    PeerAuthInterceptor,
    peer_call_signers,
)
from carbon_ticket.node.peers import PeerLink
from carbon_ticket.proto import services_pb2, services_pb2_grpc
from tests.cli.harness import reserved_address
from tests.node.frame_peers import CHAIN, KEYS

STRANGER = PrivateKey.generate()
TXS = services_pb2.PEER_FRAME_KIND_TXS
CONSENSUS = services_pb2.PEER_FRAME_KIND_CONSENSUS


def _clock() -> int:
    return time.time_ns() // 1_000_000


def _auth(members: set[bytes] | None = None) -> PeerAuthenticator:
    allowed = members if members is not None else {k.public_key for k in KEYS}
    return PeerAuthenticator(CHAIN, allowed.__contains__, ObserverList(), _clock)


async def _frames(items: Iterable[services_pb2.PeerFrame]) -> AsyncIterator[services_pb2.PeerFrame]:
    for item in items:
        yield item


def _verified(auth: PeerAuthenticator, key: PrivateKey, frames: list[services_pb2.PeerFrame],
              metadata: tuple[tuple[str, str], ...]) -> list[int]:  # fmt: skip
    async def run() -> list[int]:
        who, nonce = auth.check_stream("Stream", metadata)
        assert who == key.public_key
        return [f.seq async for f in auth.verified_frames("Stream", who, nonce, _frames(frames))]

    return asyncio.run(run())


def _txs(*raws: bytes) -> bytes:
    return services_pb2.TxBatch(txs=list(raws)).SerializeToString()


def test_signed_numbered_frames_pass() -> None:
    stream = FrameSigner(KEYS[0], CHAIN, _clock).open("Stream")
    frames = [stream.frame(TXS, _txs(b"a")), stream.frame(CONSENSUS, b""), stream.frame(TXS, b"")]
    assert _verified(_auth(), KEYS[0], frames, stream.metadata) == [1, 2, 3]


@pytest.mark.parametrize("fault", ["replayed", "skipped", "tampered", "other_stream", "other_key"])
def test_a_bad_frame_ends_the_stream(fault: str) -> None:
    stream = FrameSigner(KEYS[0], CHAIN, _clock).open("Stream")
    first, second = stream.frame(TXS, _txs(b"a")), stream.frame(TXS, _txs(b"b"))
    bad = {
        "replayed": first,
        "skipped": stream.frame(TXS, _txs(b"c")),  # seq 3 where 2 is due
        "tampered": services_pb2.PeerFrame(
            seq=2, kind=TXS, payload=_txs(b"evil"), signature=second.signature
        ),
        "other_stream": FrameSigner(KEYS[0], CHAIN, _clock).open("Stream").frame(TXS, b"x"),
        "other_key": FrameSigner(KEYS[1], CHAIN, _clock).open("Stream").frame(TXS, b"x"),
    }[fault]
    if fault in ("other_stream", "other_key"):
        bad = services_pb2.PeerFrame(seq=2, kind=bad.kind, payload=bad.payload,
                                     signature=bad.signature)  # fmt: skip
    with pytest.raises(PeerAuthError) as info:
        _verified(_auth(), KEYS[0], [first, bad], stream.metadata)
    expected = "bad_frame_seq" if fault in ("replayed", "skipped") else "bad_frame_signature"
    assert info.value.code == expected


def test_a_validator_removed_mid_stream_is_cut_off_at_its_next_frame() -> None:
    members = {k.public_key for k in KEYS}
    auth = _auth(members)
    stream = FrameSigner(KEYS[2], CHAIN, _clock).open("Stream")

    async def run() -> list[int]:
        key, nonce = auth.check_stream("Stream", stream.metadata)
        seen = []
        frames = (stream.frame(TXS, b"") for _ in range(3))
        async for frame in auth.verified_frames("Stream", key, nonce, _frames(frames)):
            seen.append(frame.seq)
            members.discard(KEYS[2].public_key)  # the set changed after its first frame
        return seen

    with pytest.raises(PeerAuthError) as info:
        asyncio.run(run())
    assert info.value.code == "not_a_validator"


def test_an_unsigned_or_stranger_stream_does_not_open() -> None:
    with pytest.raises(PeerAuthError):
        _auth().check_stream("Stream", ())
    stream = FrameSigner(STRANGER, CHAIN, _clock).open("Stream")
    with pytest.raises(PeerAuthError) as info:
        _auth().check_stream("Stream", stream.metadata)
    assert info.value.code == "not_a_validator"


class _Peer(services_pb2_grpc.PeerServiceServicer):
    def __init__(self) -> None:
        self.frames: list[tuple[int, bytes]] = []
        self.calls: list[str] = []

    async def Stream(
        self, frames: AsyncIterator[services_pb2.PeerFrame], context: object
    ) -> services_pb2.PeerAck:
        async for frame in frames:
            self.frames.append((frame.kind, frame.payload))
        return services_pb2.PeerAck(accepted=len(self.frames))

    async def GossipTxs(
        self, request: services_pb2.TxBatch, context: object
    ) -> services_pb2.PeerAck:
        self.calls.append("GossipTxs")
        return services_pb2.PeerAck(accepted=len(request.txs))


class _OldPeer:
    """A peer of an earlier release: its PeerService has no Stream method at all."""

    def __init__(self) -> None:
        self.gossiped: list[bytes] = []

    async def GossipTxs(
        self, request: services_pb2.TxBatch, context: object
    ) -> services_pb2.PeerAck:
        self.gossiped.extend(request.txs)
        return services_pb2.PeerAck(accepted=len(request.txs))

    def handlers(self) -> grpc.GenericRpcHandler:
        gossip = grpc.unary_unary_rpc_method_handler(
            self.GossipTxs,
            request_deserializer=services_pb2.TxBatch.FromString,
            response_serializer=services_pb2.PeerAck.SerializeToString,
        )
        return grpc.method_handlers_generic_handler(
            "carbonticket.v1.PeerService", {"GossipTxs": gossip}
        )


async def _wait(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _with_server(peer: _Peer | _OldPeer, test: object, address: str = "127.0.0.1:0") -> None:
    server = grpc.aio.server(interceptors=[PeerAuthInterceptor(_auth())])
    if isinstance(peer, _OldPeer):
        server.add_generic_rpc_handlers((peer.handlers(),))
    else:
        services_pb2_grpc.add_PeerServiceServicer_to_server(peer, server)
    port = server.add_insecure_port(address)
    await server.start()
    try:
        await test(f"127.0.0.1:{port}")  # type: ignore[operator]
    finally:
        await server.stop(None)


def test_a_peer_link_sends_gossip_as_frames_of_one_stream() -> None:
    peer = _Peer()

    async def test(address: str) -> None:
        link = PeerLink(address, interceptors=peer_call_signers(KEYS[0], CHAIN, _clock),
                        frames=FrameSigner(KEYS[0], CHAIN, _clock))  # fmt: skip
        link.start()
        try:
            for n in range(5):
                link.send_txs([b"tx-%d" % n])
                await asyncio.sleep(0.01)
            await _wait(lambda: sum(len(services_pb2.TxBatch.FromString(p).txs)
                                    for _, p in peer.frames) == 5)  # fmt: skip
        finally:
            await link.close()

    asyncio.run(_with_server(peer, test))
    assert peer.calls == [] and {kind for kind, _ in peer.frames} == {TXS}


def test_a_stranger_s_stream_is_refused_and_nothing_reaches_the_servicer() -> None:
    peer = _Peer()

    async def test(address: str) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = services_pb2_grpc.PeerServiceStub(channel)
            stream = FrameSigner(STRANGER, CHAIN, _clock).open("Stream")
            frames = _frames([stream.frame(TXS, _txs(b"a"))])
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.Stream(frames, metadata=stream.metadata, timeout=5)
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED

    asyncio.run(_with_server(peer, test))
    assert peer.frames == []


def test_a_peer_without_stream_gets_the_calls_instead() -> None:
    peer = _OldPeer()

    async def test(address: str) -> None:
        link = PeerLink(address, interceptors=peer_call_signers(KEYS[0], CHAIN, _clock),
                        frames=FrameSigner(KEYS[0], CHAIN, _clock))  # fmt: skip
        link.start()
        try:
            # The batch that opened the refused stream is sent again by a call, before what
            # comes after it; from then on the link makes calls.
            link.send_txs([b"early"])
            await _wait(lambda: not link.streaming)
            link.send_txs([b"later"])
            await _wait(lambda: b"later" in peer.gossiped)
            assert peer.gossiped == [b"early", b"later"]
        finally:
            await link.close()

    asyncio.run(_with_server(peer, test))


def test_a_reserved_address_refuses_calls_keeps_other_programs_out_and_lets_our_server_in() -> None:
    # Before: the port was bound and released, so another program could take it before the
    # test's server did (and the link would have talked to that program).
    with reserved_address() as address:
        host, _, port = address.rpartition(":")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=5).close()
        with socket.socket() as other, pytest.raises(OSError):
            other.bind((host, int(port)))
        peer = _Peer()

        async def call(bound: str) -> None:
            assert bound == address
            async with grpc.aio.insecure_channel(bound) as channel:
                async with asyncio.timeout(30):  # a guard, not a measure
                    await channel.channel_ready()

        asyncio.run(_with_server(peer, call, address))


async def _feed(link: PeerLink) -> None:
    for n in range(10_000):  # a batch every 20 ms: frames are always waiting for the stream
        link.send_txs([b"tx-%d" % n])
        await asyncio.sleep(0.02)


def test_failures_count_on_while_a_peer_is_down_and_end_once_a_frame_is_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Before: taking a frame from the queue (and queueing one) reset the count, so with frames
    # waiting every failed stream looked like the first: logged each time, no longer pause.
    peer = _Peer()

    async def test(address: str) -> None:
        link = PeerLink(address, interceptors=peer_call_signers(KEYS[0], CHAIN, _clock),
                        frames=FrameSigner(KEYS[0], CHAIN, _clock))  # fmt: skip
        link.start()
        feeder = asyncio.get_running_loop().create_task(_feed(link))
        try:
            await _wait(lambda: link.failures >= 3)
            assert _logged(caplog, "unreachable") == 1
            await _with_server(peer, lambda _: _wait(lambda: peer.frames and link.failures == 0),
                               address)  # fmt: skip
        finally:
            feeder.cancel()
            await link.close()

    caplog.set_level(logging.INFO, logger="carbon_ticket.node.peers")
    # Nothing listens there until the server starts; no other program can take the port.
    with reserved_address() as address:
        asyncio.run(test(address))


def test_a_refused_stream_counts_as_a_failure_though_its_first_frames_went_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    peer = _Peer()
    caplog.set_level(logging.INFO, logger="carbon_ticket.node.peers")
    asyncio.run(_with_server(peer, lambda address: _fail_three_times(address, STRANGER)))
    assert _logged(caplog, "refused our call") == 1 and peer.frames == []


async def _fail_three_times(address: str, key: PrivateKey) -> None:
    """Feed a link signed by ``key`` until its stream to ``address`` failed 3 times in a row."""
    link = PeerLink(address, interceptors=peer_call_signers(key, CHAIN, _clock),
                    frames=FrameSigner(key, CHAIN, _clock))  # fmt: skip
    link.start()
    feeder = asyncio.get_running_loop().create_task(_feed(link))
    try:
        await _wait(lambda: link.failures >= 3)
    finally:
        feeder.cancel()
        await link.close()


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


class _AbortingPeer(_Peer):
    """A peer that takes a stream's first frame and then aborts it (as for a batch over its
    limits): the stream never works, however many frames went out first."""

    async def Stream(
        self, frames: AsyncIterator[services_pb2.PeerFrame], context: grpc.aio.ServicerContext
    ) -> services_pb2.PeerAck:
        async for frame in frames:
            self.frames.append((frame.kind, frame.payload))
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many messages")
        return services_pb2.PeerAck()


def test_a_stream_the_peer_keeps_aborting_counts_as_failures_in_a_row(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Before: each stream's written frame reset the count, so every abort looked like the
    # first: logged each time and retried after the shortest pause.
    peer = _AbortingPeer()
    caplog.set_level(logging.INFO, logger="carbon_ticket.node.peers")
    asyncio.run(_with_server(peer, lambda address: _fail_three_times(address, KEYS[0])))
    assert len(peer.frames) >= 3 and _logged(caplog, "unreachable") == 1
