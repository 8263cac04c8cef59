"""CPU per peer frame: a gRPC asyncio stream against a plain asyncio TCP stream (issue 19).

    python -m tests.node.microbench_frames [--frames 3000] [--gap-ms 2] [--payload 400] [--links]

Below saturation a validator spends much of its time moving small messages (votes, proposals,
gossip batches of a few transactions) through `PeerService.Stream`. This measures what one such
message costs on each side, apart from everything the node does with it: a sender process writes
``--frames`` `PeerFrame`s of ``--payload`` bytes, one every ``--gap-ms`` (0: back to back), and a
receiver process reads them, once over a gRPC asyncio client-stream (the code path of
node.peers.PeerLink and node.service_peer.Stream, without signing or checking) and once over an
asyncio TCP connection with a 4-byte length before each frame. It prints CPU microseconds per
frame of the sender and the receiver (user + system time of the whole process, gRPC's own
threads included), minus the sender's cost of pacing alone, measured the same way.

With ``--links`` it also times the node's real links, signing and checking included: a
``PeerLink`` sending votes (``send_consensus``, one every ``--gap-ms``) to a receiver that
checks them as a node does (``PeerAuthInterceptor`` and the Stream call: "grpc-link"; the
``FrameListener`` of node.frame_link: "tcp-link"), in CPU µs per vote.

Figures are printed, never judged: CPU time, so other load on the host matters less than for
wall-clock benchmarks; run it on a quiet host anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized

import grpc

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.tools.bench import proc_usage
from carbon_ticket.consensus import Vote, VoteType
from carbon_ticket.node.codec import message_to_proto
from carbon_ticket.node.frame_link import FrameDialer, FrameListener
from carbon_ticket.node.peer_auth import (
    FrameSigner,
    ObserverList,
    PeerAuthenticator,
    PeerAuthInterceptor,
    peer_call_signers,
)
from carbon_ticket.node.peers import PeerLink
from carbon_ticket.proto import services_pb2, services_pb2_grpc

_LENGTH = struct.Struct(">I")
_CHAIN = "microbench"
_LINKS = ("grpc-link", "tcp-link")


@dataclass(frozen=True, slots=True)
class FrameCost:
    """CPU microseconds per frame on each side of one transport."""

    transport: str
    frames: int
    gap_ms: float
    sender_us: float
    receiver_us: float


def _process_cpu_s(pid: int) -> float:
    usage = proc_usage(pid)
    if usage is None:
        raise RuntimeError(f"the receiver process {pid} is gone")
    return usage.cpu_s


class _Receiver(services_pb2_grpc.PeerServiceServicer):
    async def Stream(
        self, frames: AsyncIterator[services_pb2.PeerFrame], context: grpc.aio.ServicerContext
    ) -> services_pb2.PeerAck:
        count = 0
        async for _ in frames:
            count += 1
        return services_pb2.PeerAck(accepted=count)


async def _serve_grpc(ports: Queue[int]) -> None:
    server = grpc.aio.server()
    services_pb2_grpc.add_PeerServiceServicer_to_server(_Receiver(), server)
    ports.put(server.add_insecure_port("127.0.0.1:0"))
    await server.start()
    await server.wait_for_termination()


async def _serve_tcp(ports: Queue[int]) -> None:
    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        count = 0
        while True:
            try:
                (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
                services_pb2.PeerFrame.FromString(await reader.readexactly(size))
            except asyncio.IncompleteReadError:
                break
            count += 1
        writer.write(_LENGTH.pack(count))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(receive, "127.0.0.1", 0)
    ports.put(server.sockets[0].getsockname()[1])
    await server.serve_forever()


def _clock_ms() -> int:
    return time.time_ns() // 1_000_000


class _LinkReceiver(services_pb2_grpc.PeerServiceServicer):
    """A node's receiving side of both links, counting the consensus messages that pass."""

    def __init__(self, sender: bytes, arrived: Synchronized[int], frame_port: bool) -> None:
        self.auth = PeerAuthenticator(_CHAIN, {sender}.__contains__, ObserverList(), _clock_ms)
        self.listener = FrameListener("127.0.0.1:0", self.auth, self.deliver)
        self._arrived = arrived
        self._frame_port = frame_port

    async def deliver(self, frames: AsyncIterator[services_pb2.PeerFrame], peer: str) -> int:
        async for frame in frames:
            batch = services_pb2.ConsensusBatch.FromString(frame.payload)
            with self._arrived.get_lock():
                self._arrived.value += len(batch.messages)
        return 0

    async def Stream(
        self, frames: AsyncIterator[services_pb2.PeerFrame], context: grpc.aio.ServicerContext
    ) -> services_pb2.PeerAck:
        return services_pb2.PeerAck(accepted=await self.deliver(frames, context.peer()))

    async def GetStatus(
        self, request: services_pb2.PeerStatusRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.PeerStatus:
        port = self.listener.port if self._frame_port else 0
        return services_pb2.PeerStatus(chain_id=_CHAIN, frame_port=port)


async def _serve_link(
    ports: Queue[int], transport: str, sender: bytes, arrived: Synchronized[int]
) -> None:
    receiver = _LinkReceiver(sender, arrived, frame_port=transport == "tcp-link")
    server = grpc.aio.server(interceptors=[PeerAuthInterceptor(receiver.auth)])
    services_pb2_grpc.add_PeerServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await receiver.listener.start()
    ports.put(port)
    await server.wait_for_termination()


def _receiver_main(
    transport: str, ports: Queue[int], sender: bytes, arrived: Synchronized[int]
) -> None:
    if transport in _LINKS:
        asyncio.run(_serve_link(ports, transport, sender, arrived))
    else:
        asyncio.run(_serve_grpc(ports) if transport == "grpc" else _serve_tcp(ports))


def _frames(count: int, payload: int) -> list[services_pb2.PeerFrame]:
    body = os.urandom(payload)
    return [
        services_pb2.PeerFrame(
            seq=n + 1,
            kind=services_pb2.PEER_FRAME_KIND_CONSENSUS,
            payload=body,
            signature=bytes(64),
        )
        for n in range(count)
    ]


async def _pace(gap_s: float) -> None:
    if gap_s > 0:
        await asyncio.sleep(gap_s)


async def _send_grpc(port: int, frames: list[services_pb2.PeerFrame], gap_s: float) -> int:
    queue: asyncio.Queue[services_pb2.PeerFrame | None] = asyncio.Queue()

    async def source() -> AsyncIterator[services_pb2.PeerFrame]:
        while (frame := await queue.get()) is not None:
            yield frame

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = services_pb2_grpc.PeerServiceStub(channel).Stream(source())
        for frame in frames:
            queue.put_nowait(frame)
            await _pace(gap_s)
        queue.put_nowait(None)
        return (await call).accepted


async def _send_tcp(port: int, frames: list[services_pb2.PeerFrame], gap_s: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for frame in frames:
        data = frame.SerializeToString()
        writer.write(_LENGTH.pack(len(data)) + data)
        await writer.drain()
        await _pace(gap_s)
    writer.write_eof()
    (count,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    writer.close()
    return int(count)


async def _send_link(
    port: int, count: int, gap_s: float, key: PrivateKey, arrived: Synchronized[int]
) -> int:
    link = PeerLink(f"127.0.0.1:{port}", interceptors=peer_call_signers(key, _CHAIN, _clock_ms),
                    frames=FrameSigner(key, _CHAIN, _clock_ms), dialer=FrameDialer())  # fmt: skip
    link.start()
    vote = message_to_proto(Vote(VoteType.PREVOTE, 1, 0, b"h" * 32, 0, b"s" * 64))
    try:
        for _ in range(count):
            link.send_consensus(vote)
            await _pace(gap_s)
        deadline = time.monotonic() + 60
        while arrived.value < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{arrived.value} of {count} votes arrived")
            await asyncio.sleep(0.01)
    finally:
        await link.close()
    return int(arrived.value)


async def _pacing_only(count: int, gap_s: float) -> None:
    for _ in range(count):
        await _pace(gap_s)


def measure(transport: str, count: int, gap_ms: float, payload: int) -> FrameCost:
    """Send ``count`` frames over ``transport`` ("grpc" or "tcp"; "grpc-link" or "tcp-link":
    votes by a PeerLink); CPU per frame (per vote) on each side."""
    context = multiprocessing.get_context("spawn")
    ports: Queue[int] = context.Queue()
    key = PrivateKey.generate()
    arrived = context.Value("q", 0)
    receiver = context.Process(
        target=_receiver_main, args=(transport, ports, key.public_key, arrived), daemon=True
    )
    receiver.start()
    try:
        port = ports.get(timeout=30)
        frames = _frames(count, payload)
        gap_s = gap_ms / 1000
        started = time.process_time()
        asyncio.run(_pacing_only(count, gap_s))
        pacing_s = time.process_time() - started
        receiver_before = _process_cpu_s(receiver.pid or 0)
        started = time.process_time()
        if transport in _LINKS:
            received = asyncio.run(_send_link(port, count, gap_s, key, arrived))
        else:
            send = _send_grpc if transport == "grpc" else _send_tcp
            received = asyncio.run(send(port, frames, gap_s))
        sender_s = time.process_time() - started - pacing_s
        receiver_s = _process_cpu_s(receiver.pid or 0) - receiver_before
    finally:
        receiver.kill()
        receiver.join()
    if received != count:
        raise RuntimeError(f"{transport}: {received} of {count} frames arrived")
    return FrameCost(transport, count, gap_ms, sender_s / count * 1e6, receiver_s / count * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--gap-ms", type=float, default=2.0)
    parser.add_argument("--payload", type=int, default=400)
    parser.add_argument("--links", action="store_true", help="also time the real peer links")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.links and args.gap_ms <= 0:
        # Back to back, a link's queue drops the oldest votes past 500 (as a node's does for a
        # peer that cannot keep up) while it opens: not every vote would arrive.
        parser.error("--links needs --gap-ms > 0")
    transports = ("grpc", "tcp", *(_LINKS if args.links else ()))
    costs = [measure(t, args.frames, args.gap_ms, args.payload) for t in transports]
    if args.json:
        print(json.dumps([asdict(c) for c in costs]))
        return
    print(f"{args.frames} frames of {args.payload} bytes, one every {args.gap_ms} ms "
          "(CPU µs per frame, whole process):")  # fmt: skip
    for cost in costs:
        print(
            f"  {cost.transport:9} sender {cost.sender_us:6.0f}  receiver {cost.receiver_us:6.0f}"
        )


if __name__ == "__main__":
    main()
