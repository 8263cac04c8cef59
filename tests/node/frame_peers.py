"""In-process peers for the frame link tests: a gRPC PeerService and a frame port per peer.

Each ``FramePeer`` is the receiving half of a node: the real ``PeerServicer`` (its Stream call
and ``receive_frames``) and ``FrameListener`` behind the real ``PeerAuthenticator``, over an
inbox that records what reaches consensus and the mempool. ``link_to`` makes the sending half:
a ``PeerLink`` signed by a validator key, dialling frame ports like a node does.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from types import SimpleNamespace
from typing import Any

import grpc

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.errors import LedgerError
from carbon_ticket.consensus import Validator, ValidatorSet
from carbon_ticket.node.frame_link import (
    MAX_PENDING_OPENINGS,
    MAX_PENDING_PER_HOST,
    FrameDialer,
    FrameListener,
)
from carbon_ticket.node.peer_auth import (
    FrameSigner,
    ObserverList,
    PeerAuthenticator,
    PeerAuthInterceptor,
    peer_call_signers,
)
from carbon_ticket.node.peers import FRAME_RECHECK_S, PeerLink
from carbon_ticket.node.ports import ConsensusMessage
from carbon_ticket.node.service_peer import PeerServicer
from carbon_ticket.proto import services_pb2, services_pb2_grpc

CHAIN = "carbon-test"
KEYS = [PrivateKey.generate() for _ in range(4)]
VALIDATORS = ValidatorSet(tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(KEYS)))


def clock_ms() -> int:
    """The wall clock, as nodes sign with it."""
    return time.time_ns() // 1_000_000


class Inbox:
    """What reaches consensus and the mempool, in order."""

    def __init__(self) -> None:
        self.messages: list[ConsensusMessage] = []
        self.txs: list[bytes] = []

    def on_consensus_message(self, message: ConsensusMessage) -> None:
        self.messages.append(message)

    async def precheck(self, raws: list[bytes]) -> Mapping[bytes, LedgerError]:
        return {}

    def admit_gossip(
        self, raws: list[bytes], refused: Mapping[bytes, LedgerError] | None = None
    ) -> int:
        self.txs.extend(raws)
        return len(raws)


class FramePeer:
    """One peer's receiving side: a gRPC port and, unless ``frame_port`` is False, a frame port."""

    def __init__(
        self,
        *,
        frame_port: bool = True,
        tls: ssl.SSLContext | None = None,
        advertise: Callable[[], int] | None = None,
        observers: tuple[bytes, ...] = (),
        max_pending: int = MAX_PENDING_OPENINGS,
        max_pending_per_host: int = MAX_PENDING_PER_HOST,
        listen: str = "127.0.0.1:0",
    ) -> None:
        # ``advertise``: the frame port GetStatus tells (default: the listener's). ``listen``:
        # where the frame port binds, when started (by start(), or later by the test).
        self.inbox = Inbox()
        self.auth = PeerAuthenticator(CHAIN, {k.public_key for k in KEYS}.__contains__,
                                      ObserverList(frozenset(observers)), clock_ms)  # fmt: skip
        store = SimpleNamespace(height=0, app_hash=b"", last_header=lambda: None)
        info = SimpleNamespace(chain_id=CHAIN, validator_sets=SimpleNamespace(at=_validators))
        unused: Any = None
        port = advertise or (lambda: self.listener.port)
        self.servicer = PeerServicer(self.inbox, unused, store, info,  # type: ignore[arg-type]
                                     frame_port=port)  # fmt: skip
        # Which carrier each batch of frames came by: "tcp:..." (a frame link) or gRPC's peer.
        self.carriers: list[str] = []
        self.listener = FrameListener(listen, self.auth, self._deliver, tls,
                                      max_pending=max_pending,
                                      max_pending_per_host=max_pending_per_host)  # fmt: skip
        self._with_frame_port = frame_port
        self._server: grpc.aio.Server | None = None
        self.address = ""

    async def _deliver(self, frames: AsyncIterator[services_pb2.PeerFrame], peer: str) -> int:
        self.carriers.append(peer)
        return await self.servicer.receive_frames(frames, peer)

    async def start(self) -> FramePeer:
        server = grpc.aio.server(interceptors=[PeerAuthInterceptor(self.auth)])
        services_pb2_grpc.add_PeerServiceServicer_to_server(_Recording(self), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server = server
        self.address = f"127.0.0.1:{port}"
        if self._with_frame_port:
            await self.listener.start()
        return self

    async def close(self) -> None:
        await self.listener.close()
        if self._server is not None:
            await self._server.stop(None)


class _Recording(services_pb2_grpc.PeerServiceServicer):
    # The peer's servicer, noting the Stream calls' carrier like the frame port's.
    def __init__(self, peer: FramePeer) -> None:
        self._peer = peer

    async def Stream(
        self, frames: AsyncIterator[services_pb2.PeerFrame], context: grpc.aio.ServicerContext
    ) -> services_pb2.PeerAck:
        self._peer.carriers.append(f"grpc:{context.peer()}")
        return await self._peer.servicer.Stream(frames, context)

    async def GetStatus(
        self, request: services_pb2.PeerStatusRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.PeerStatus:
        return await self._peer.servicer.GetStatus(request, context)


def _validators(height: int) -> ValidatorSet:
    return VALIDATORS


def link_to(peer: FramePeer, key: PrivateKey = KEYS[0], tls: ssl.SSLContext | None = None,
            chain_id: str = CHAIN,
            frame_recheck_s: float = FRAME_RECHECK_S) -> PeerLink:  # fmt: skip
    """A started link to ``peer`` sending as ``key``, dialling frame ports."""
    link = PeerLink(peer.address, interceptors=peer_call_signers(key, chain_id, clock_ms),
                    frames=FrameSigner(key, chain_id, clock_ms),
                    dialer=FrameDialer(tls), frame_recheck_s=frame_recheck_s)  # fmt: skip
    link.start()
    return link


async def wait_for(cond: Callable[[], object], timeout: float = 10.0) -> None:
    """Until ``cond()`` holds (a bound on waiting, not a timed assert)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)
