"""Outbound links to the other validators: batched consensus messages and transaction gossip.

``PeerSet`` is the gRPC implementation of the ``node.ports.PeerTransport`` port.

One ``PeerLink`` per peer owns a gRPC channel and two queues. A sender task drains each queue and
ships everything waiting at once, so a burst of votes or transactions costs one message.
Sends are best effort: consensus tolerates lost messages (the engine re-broadcasts on a timer and
a node that falls behind catches up by block sync), so a down peer never blocks this node.

With a ``FrameSigner`` (every node has one) a link ships its batches as signed frames of one
long-lived ``PeerService.Stream`` call instead of one ``SendConsensus`` / ``GossipTxs`` call each:
a gRPC call costs the two nodes several times what a stream message does, and at moderate load,
with small batches, those calls were a large share of a validator's CPU (issue 19). A broken
stream is opened again after a short pause; a peer that does not serve ``Stream`` (an older
release: UNIMPLEMENTED) is sent the two calls as before.

With a ``FrameDialer`` the same frames go on a plain TCP connection instead (node.frame_link),
cheaper again per frame, when the peer advertises a frame port in its ``GetStatus`` answer and
that port can be reached; otherwise, or for a peer of an older release, by the Stream call. The
choice is made each time the link (re)opens, and a link on the Stream call tries the frame port
again every ``FRAME_RECHECK_S`` or so (node.carrier_switch), so it does not stay on the dearer
carrier for as long as the call lasts when the port comes up later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

import grpc

from carbon_ticket.node.carrier_switch import CarrierSwitch, Frame, Handover, OpenedFrameLink
from carbon_ticket.node.codec import message_to_proto
from carbon_ticket.node.frame_link import MAX_PEER_MESSAGE_BYTES, FrameDialer, FrameQueue
from carbon_ticket.node.peer_auth import FrameSigner, OutboundStream, PeerAuthError
from carbon_ticket.node.ports import ConsensusMessage, SyncPeer
from carbon_ticket.node.wan_sim import WanSimulation
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc

__all__ = [
    "FRAME_RECHECK_S",
    "GOSSIP_GAP_S",
    "MAX_PEER_MESSAGE_BYTES",
    "PeerLink",
    "PeerSet",
    "channel_options",
]

log = logging.getLogger(__name__)

_SEND_TIMEOUT_S = 5.0
_MAX_TXS_PER_GOSSIP = 500
_MAX_QUEUED_TXS = 100_000
_MAX_QUEUED_CONSENSUS = 500  # below the receiver's per-batch limit
_FETCH_TIMEOUT_S = 3.0
_MAX_IN_FLIGHT = 256  # batches in flight on one simulated WAN link
_MAX_QUEUED_FRAMES = 256  # frames waiting for the stream; beyond it the senders wait
_STREAM_RETRY_S = 0.2  # pause before opening a broken stream again, doubled while it fails
_STREAM_RETRY_MAX_S = 2.0
# A link whose frames go by the Stream call although the peer has (or may get) a frame port
# tries that port again after this long, then less often while it does not answer, up to
# _FRAME_RECHECK_GROWTH times as long: each try is one GetStatus call and one connection attempt.
FRAME_RECHECK_S = 30.0
_FRAME_RECHECK_GROWTH = 4
# Least time between two rounds of gossip to one peer. A link that was quiet sends at once; on a
# busy one (clients submitting one transaction per call) what arrives meanwhile goes in the next
# round (one batch, or several back to back past _MAX_TXS_PER_GOSSIP; an observer's forwards
# share the rounds). Each batch is a stream frame costing the two nodes ~0.3 ms of CPU each in
# gRPC alone (tests/node/microbench_frames.py), so one frame per submission made gossip, not the
# transactions, the larger cost; 10 ms is small beside a height on a LAN (50 ms by default).
GOSSIP_GAP_S = 0.010
# A peer's verdict on our key, set or clock (a configuration problem), not a network fault.
_REFUSALS = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


def channel_options(max_bytes: int = MAX_PEER_MESSAGE_BYTES) -> list[tuple[str, int]]:
    """gRPC channel/server options used between validators."""
    return [
        ("grpc.max_send_message_length", max_bytes),
        ("grpc.max_receive_message_length", max_bytes),
        ("grpc.keepalive_time_ms", 10_000),
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
    ]


class PeerLink:
    """A best-effort, batching sender to one peer."""

    def __init__(
        self,
        address: str,
        tls: grpc.ChannelCredentials | None = None,
        interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
        wan: WanSimulation | None = None,
        frames: FrameSigner | None = None,
        dialer: FrameDialer | None = None,
        frame_recheck_s: float = FRAME_RECHECK_S,
    ) -> None:
        self.address = address
        # With frames: dial the peer's frame port when it has one (None: Stream calls only).
        self._dialer = dialer
        self._frame_recheck_s = frame_recheck_s
        self._frame_link_unreachable_logged = False
        # The last refusal of our status calls that was logged (None: answered since): block
        # sync asks every 2 s, and one line per refusal flooded an unlisted observer's log.
        self._status_refusal_logged: str | None = None
        # Frames of one Stream call (None, or a peer without Stream: one call per batch).
        self._frames = frames
        self._outbox: FrameQueue = asyncio.Queue(_MAX_QUEUED_FRAMES)
        # [debug] simulated_rtt_ms / simulated_loss_ppm: benchmarks of validators in several cities.
        self._wan = wan if wan is not None and wan.active else None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._tls = tls  # None: plaintext
        # node.peer_auth.peer_call_signers: every call on the channel is signed by the node key.
        self._interceptors = list(interceptors)
        # grpc.aio channels belong to the event loop that creates them: made in start().
        self._channel: grpc.aio.Channel | None = None
        self._stub: services_pb2_grpc.PeerServiceStub | None = None
        self._consensus: list[services_pb2.ConsensusMessage] = []
        self._txs: list[bytes] = []
        self._forwards: list[bytes] = []  # an observer's submissions, for the public API
        self._public: services_pb2_grpc.LedgerServiceStub | None = None
        self._wake_consensus = asyncio.Event()
        self._wake_txs = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.failures = 0

    def start(self) -> None:
        """Open the channel and start the sender tasks (inside the running event loop)."""
        if self._tls is None:
            self._channel = grpc.aio.insecure_channel(
                self.address, options=channel_options(), interceptors=self._interceptors
            )
        else:
            self._channel = grpc.aio.secure_channel(
                self.address, self._tls, options=channel_options(), interceptors=self._interceptors
            )
        self._stub = services_pb2_grpc.PeerServiceStub(self._channel)
        self._public = services_pb2_grpc.LedgerServiceStub(self._channel)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._run_consensus(), name=f"consensus to {self.address}"),
            loop.create_task(self._run_gossip(), name=f"gossip to {self.address}"),
        ]
        if self._frames is not None:
            self._tasks.append(
                loop.create_task(self._run_stream(), name=f"stream to {self.address}")
            )

    @property
    def streaming(self) -> bool:
        """Whether batches go as frames of a Stream call (False: one call per batch)."""
        return self._frames is not None

    @property
    def stub(self) -> services_pb2_grpc.PeerServiceStub:
        """The PeerService stub (after ``start``)."""
        if self._stub is None:
            raise RuntimeError(f"peer link {self.address} is not started")
        return self._stub

    async def status(self, timeout_s: float) -> services_pb2.PeerStatus | None:
        """The peer's status, or None when it cannot be had in time (block sync's view)."""
        try:
            status = await self.stub.GetStatus(services_pb2.PeerStatusRequest(), timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                self._log_status_refusal(str(exc.details()))
            return None
        if self._status_refusal_logged is not None:
            log.info("peer %s answers our status calls again", self.address)
            self._status_refusal_logged = None
        return status

    def _log_status_refusal(self, details: str) -> None:
        # Once per refusal, not once per call: it lasts until that peer's operator acts
        if details == self._status_refusal_logged:
            return
        self._status_refusal_logged = details
        log.warning(
            "peer %s refused our status calls: %s; if this node is an observer or a validator "
            "that is joining, that peer's operator must list this node's public key in [peers] "
            "observers of its config.toml and restart it (logged again only if this changes)",
            self.address,
            details,
        )

    async def blocks(
        self, from_height: int, max_blocks: int, timeout_s: float
    ) -> AsyncIterator[ledger_pb2.CommittedBlock]:
        """Stream committed blocks from ``from_height`` (raises grpc.aio.AioRpcError)."""
        request = services_pb2.GetBlocksRequest(from_height=from_height, max_blocks=max_blocks)
        call = self.stub.GetBlocks(request, timeout=timeout_s)
        try:
            async for committed in call:
                yield committed
        finally:
            call.cancel()  # abandoned early (deadline, invalid block): end the call now

    async def close(self) -> None:
        """Stop sending and close the channel."""
        for task in [*self._tasks, *self._in_flight]:
            task.cancel()
        for task in [*self._tasks, *self._in_flight]:
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self._channel is not None:
            await self._channel.close()

    def send_consensus(self, message: services_pb2.ConsensusMessage) -> None:
        """Queue one consensus message."""
        self._consensus.append(message)
        if len(self._consensus) > _MAX_QUEUED_CONSENSUS:
            # The peer is not keeping up: drop the oldest (the engine re-broadcasts what matters).
            del self._consensus[: len(self._consensus) - _MAX_QUEUED_CONSENSUS]
        self._wake_consensus.set()

    def send_txs(self, txs: Iterable[bytes]) -> None:
        """Queue transactions for gossip (dropped when the queue is full: the peer gets them in
        blocks anyway)."""
        room = _MAX_QUEUED_TXS - len(self._txs)
        if room > 0:
            self._txs.extend(list(txs)[:room])
            self._wake_txs.set()

    def forward_txs(self, txs: Iterable[bytes]) -> None:
        """Queue transactions for the peer's public SubmitTxs (an observer's way in: peers take
        gossip from validators only); dropped like gossip when the queue is full."""
        room = _MAX_QUEUED_TXS - len(self._forwards)
        if room > 0:
            self._forwards.extend(list(txs)[:room])
            self._wake_txs.set()

    async def fetch_block(self, height: int, block_hash: bytes) -> bytes | None:
        """Ask this peer for a block of the height being decided by hash; None if it has none."""
        request = services_pb2.GetProposalBlockRequest(height=height, block_hash=block_hash)
        if self._wan is not None:
            await asyncio.sleep(self._wan.round_trip_s)  # the request and its reply cross the WAN
        try:
            reply = await self.stub.GetProposalBlock(request, timeout=_FETCH_TIMEOUT_S)
        except grpc.aio.AioRpcError:
            return None
        return reply.block if reply.found else None

    async def _run_consensus(self) -> None:
        # Its own task, so that a vote never waits behind a large transaction batch.
        while True:
            await self._wake_consensus.wait()
            self._wake_consensus.clear()
            while self._consensus:
                batch, self._consensus = self._consensus, []
                await self._send(batch, self._ship_consensus)

    async def _run_gossip(self) -> None:
        while True:
            await self._wake_txs.wait()
            self._wake_txs.clear()
            while self._txs:
                batch_txs = self._txs[:_MAX_TXS_PER_GOSSIP]
                del self._txs[:_MAX_TXS_PER_GOSSIP]
                await self._send(batch_txs, self._ship_txs)
            while self._forwards and self._public is not None:
                batch_txs = self._forwards[:_MAX_TXS_PER_GOSSIP]
                del self._forwards[:_MAX_TXS_PER_GOSSIP]
                request = services_pb2.SubmitTxsRequest(txs=batch_txs)
                await self._call(self._public.SubmitTxs(request, timeout=_SEND_TIMEOUT_S))
            await asyncio.sleep(GOSSIP_GAP_S)

    def _ship_consensus(self, kept: list[services_pb2.ConsensusMessage]) -> Awaitable[object]:
        batch = services_pb2.ConsensusBatch(messages=kept)
        if self._frames is not None:
            return self._outbox.put(
                (services_pb2.PEER_FRAME_KIND_CONSENSUS, batch.SerializeToString())
            )
        return self.stub.SendConsensus(batch, timeout=_SEND_TIMEOUT_S)

    def _ship_txs(self, kept: list[bytes]) -> Awaitable[object]:
        batch = services_pb2.TxBatch(txs=kept)
        if self._frames is not None:
            return self._outbox.put((services_pb2.PEER_FRAME_KIND_TXS, batch.SerializeToString()))
        return self.stub.GossipTxs(batch, timeout=_SEND_TIMEOUT_S)

    async def _run_stream(self) -> None:
        # One link at a time carries every frame: a frame link or a Stream call, opened again
        # after a pause when broken, the pause doubling with each failure in a row. A Stream
        # call gives way to the frame link once the peer's frame port answers (``_probe``).
        while self._frames is not None:
            # Opened once there is something to send: an observer never sends consensus or
            # gossip frames (validators refuse its Stream), and an idle link holds no call.
            first: Frame | None = await self._outbox.get()
            link: OpenedFrameLink | None = None
            try:
                link = await self._open_frame_link()
            except PeerAuthError as exc:  # the peer's verdict on our opening
                self._note_failure(exc.status, exc.message)
                first = None  # dropped, as the frames of a refused Stream call
            if link is None and first is not None:
                handover = await self._run_stream_call(first)
                if handover is not None:
                    link, first = handover.link, handover.held
            if link is not None:
                await self._pump_frame_link(link, first)
            if self._frames is None:
                return  # the peer serves no Stream: one call per batch from now on
            await asyncio.sleep(_stream_pause_s(self.failures))

    async def _run_stream_call(self, first: Frame) -> Handover | None:
        # Until the call breaks, or ends between two frames because the peer's frame port
        # answered meanwhile: then that frame link and the frame the call held for it. The
        # call's last frames are delivered when it ends (the peer answers after handling
        # them), so none arrives after the frame link's first. None also when the peer does
        # not serve Stream (calls from now on).
        assert self._frames is not None
        loop = asyncio.get_running_loop()
        failures_before = self.failures
        opened_s = loop.time()
        stream = self._frames.open("Stream")
        switch = CarrierSwitch(self._start_probe())
        call = self.stub.Stream(self._frame_source(stream, first, switch),
                                metadata=stream.metadata)  # fmt: skip
        try:
            await call
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                self._fall_back_to_calls(first)
            else:
                if exc.code() in _REFUSALS or loop.time() - opened_s < _STREAM_RETRY_MAX_S:
                    # The first frames can be written before the peer's refusal (or its abort
                    # of a stream it will not take, such as a batch over its limits) arrives:
                    # a stream that failed that soon never worked, and the run of failures
                    # goes on, so the log stays quiet and the pause keeps growing.
                    self.failures = max(self.failures, failures_before)
                self._note_failure(exc.code(), exc.details())
        except BaseException:
            call.cancel()
            await switch.settle(keep=False)
            raise
        call.cancel()
        link = await switch.settle(keep=self._frames is not None)
        if link is None:
            return None
        log.info("peer %s: its frame port answers now: frames go by it again", self.address)
        return Handover(link, switch.held)

    def _start_probe(self) -> asyncio.Task[OpenedFrameLink] | None:
        if self._dialer is None:
            return None
        return asyncio.get_running_loop().create_task(
            self._probe(), name=f"frame port of {self.address}"
        )

    async def _probe(self) -> OpenedFrameLink:
        # While frames go by the Stream call: the peer's frame port, tried again after
        # frame_recheck_s and then less often while it does not answer (a peer that started
        # its frame port late, a firewall rule fixed since). One GetStatus call and one
        # connection attempt each time; the Stream call runs on meanwhile.
        wait_s = self._frame_recheck_s
        while True:
            await asyncio.sleep(wait_s)
            try:
                link = await self._open_frame_link()
            except PeerAuthError as exc:  # its Stream call is taken: only the port refuses
                log.debug("peer %s refused our frame link: %s", self.address, exc.message)
                link = None
            if link is not None:
                return link
            wait_s = min(2 * wait_s, _FRAME_RECHECK_GROWTH * self._frame_recheck_s)

    async def _open_frame_link(self) -> OpenedFrameLink | None:
        # None when the peer has no frame port this node can reach (none advertised, an older
        # release, a firewall): the Stream call then. PeerAuthError when it refused the opening.
        if self._dialer is None or self._frames is None:
            return None
        status = await self.status(_FETCH_TIMEOUT_S)
        if status is None or not status.frame_port:
            return None  # a peer that is down fails the Stream call, counted there
        opened_s = asyncio.get_running_loop().time()
        stream = self._frames.open("Stream")
        host = self.address.rpartition(":")[0]
        try:
            connection = await self._dialer.open(host, status.frame_port, stream)
        except (OSError, EOFError) as exc:
            if not self._frame_link_unreachable_logged:
                self._frame_link_unreachable_logged = True  # once a run: its Stream call works
                log.info("peer %s: frame port %d unreachable (%r): frames go by the gRPC port",
                         self.address, status.frame_port, exc)  # fmt: skip
            return None
        self._frame_link_unreachable_logged = False
        link = OpenedFrameLink(connection, stream, opened_s, self.failures)
        self.failures = 0  # it took our opening: the peer is there
        return link

    async def _pump_frame_link(self, link: OpenedFrameLink, first: Frame | None) -> None:
        # Until the connection breaks.
        loop = asyncio.get_running_loop()
        try:
            await link.connection.pump(link.stream, first, self._outbox)
        except OSError as exc:
            if loop.time() - link.opened_s < _STREAM_RETRY_MAX_S:
                self.failures = max(self.failures, link.failures_before)  # as a Stream call's
            self._note_failure(grpc.StatusCode.UNAVAILABLE, f"frame link: {exc!r}")
        finally:
            await link.connection.close()

    async def _frame_source(
        self, stream: OutboundStream, first: Frame, switch: CarrierSwitch
    ) -> AsyncIterator[services_pb2.PeerFrame]:
        frame: Frame | None = first
        while frame is not None:
            yield stream.frame(*frame)
            # gRPC asks for the next frame only once it has written this one (a failed write
            # ends the call instead): the peer is reachable, and the run of failures is over
            # unless it refuses the stream (``_run_stream``). Taking a frame from the queue
            # proves nothing: a call to a peer that is down takes one before it fails.
            self.failures = 0
            frame = await switch.next_frame(self._outbox)

    def _fall_back_to_calls(self, first: tuple[services_pb2.PeerFrameKind, bytes]) -> None:
        log.info("peer %s does not serve Stream (an older release): one call per batch",
                 self.address)  # fmt: skip
        self._frames = None
        # What was waiting for the stream goes by calls, in the order it was queued, before
        # what is queued for calls already: the refused stream's first frame, then the rest.
        pending = [first]
        while not self._outbox.empty():
            pending.append(self._outbox.get_nowait())
        consensus: list[services_pb2.ConsensusMessage] = []
        txs: list[bytes] = []
        for kind, payload in pending:
            if kind == services_pb2.PEER_FRAME_KIND_CONSENSUS:
                consensus.extend(services_pb2.ConsensusBatch.FromString(payload).messages)
            else:
                txs.extend(services_pb2.TxBatch.FromString(payload).txs)
        self._consensus[:0] = consensus
        self._txs[:0] = txs
        self._wake_consensus.set()
        self._wake_txs.set()

    async def _send(self, batch: list[Any], make_call: Callable[[list[Any]], object]) -> None:
        """Ship a batch now, or (on a simulated WAN) drop its lost share and let the rest arrive
        half a round trip later without holding up the batches behind it."""
        if self._wan is None:
            await self._call(make_call(batch))
            return
        kept = self._wan.survivors(batch)
        if not kept:
            return
        if len(self._in_flight) >= _MAX_IN_FLIGHT:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.get_running_loop().create_task(self._arrive_later(kept, make_call))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _arrive_later(
        self, kept: list[Any], make_call: Callable[[list[Any]], object]
    ) -> None:
        assert self._wan is not None
        await asyncio.sleep(self._wan.one_way_s)
        await self._call(make_call(kept))

    async def _call(self, call: object) -> None:
        try:
            await call  # type: ignore[misc]
        except grpc.aio.AioRpcError as exc:
            self._note_failure(exc.code(), exc.details())
        else:
            # A call answered: the peer is there. A batch put in the stream's queue (``call``
            # is then no gRPC call) is not: the stream's writes tell (``_frame_source``).
            if isinstance(call, grpc.aio.Call):
                self.failures = 0

    def _note_failure(self, code: grpc.StatusCode, details: str | None) -> None:
        self.failures += 1
        if code in _REFUSALS:
            # Not a network fault: a configuration (key, validator set, clock) problem.
            if self.failures == 1 or self.failures % 100 == 0:
                log.warning("peer %s refused our call (%s): %s", self.address,
                            code.name, details)  # fmt: skip
        elif self.failures == 1 or self.failures % 100 == 0:
            log.info("peer %s unreachable (%s), %d failures", self.address, code.name,
                     self.failures)  # fmt: skip


def _stream_pause_s(failures: int) -> float:
    """The pause before opening a stream again after ``failures`` failures in a row."""
    doublings = min(max(failures - 1, 0), 8)  # 2**8 times the first pause is past the most
    return min(_STREAM_RETRY_S * 2**doublings, _STREAM_RETRY_MAX_S)


class PeerSet:
    """All outbound peer links of a node (the gRPC ``PeerTransport``)."""

    def __init__(
        self,
        addresses: Iterable[str],
        tls: grpc.ChannelCredentials | None = None,
        interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
        wan: WanSimulation | None = None,
        frames: FrameSigner | None = None,
        dialer: FrameDialer | None = None,
    ) -> None:
        # ``tls``: channel credentials from node.tls.peer_credentials (None: plaintext).
        self._tls = tls
        self._interceptors = list(interceptors)
        self._wan = wan
        self._frames = frames
        self._dialer = dialer
        self.links = [self._link(a) for a in dict.fromkeys(addresses)]
        self._started = False
        self._closing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Start every link's sender."""
        self._started = True
        for link in self.links:
            link.start()

    async def close(self) -> None:
        """Stop every link."""
        self._started = False
        await asyncio.gather(*(link.close() for link in self.links), *self._closing)

    def set_peers(self, addresses: Sequence[str]) -> None:
        """Link to exactly ``addresses``: new links are opened, dropped ones closed."""
        wanted = list(dict.fromkeys(addresses))
        current = {link.address: link for link in self.links}
        for link in self.links:
            if link.address not in wanted and self._started:
                task = asyncio.get_running_loop().create_task(link.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        links = []
        for address in wanted:
            known = current.get(address)
            if known is None:
                known = self._link(address)
                if self._started:
                    known.start()
            links.append(known)
        self.links = links

    def _link(self, address: str) -> PeerLink:
        return PeerLink(address, self._tls, self._interceptors, self._wan, self._frames,
                        self._dialer)  # fmt: skip

    def broadcast_consensus(self, message: ConsensusMessage) -> None:
        """Queue a consensus message for every peer (encoded once for all)."""
        encoded = message_to_proto(message)
        for link in self.links:
            link.send_consensus(encoded)

    async def fetch_block(self, height: int, block_hash: bytes) -> list[bytes]:
        """Ask every peer at once for a block by hash; the answers (unverified) that came back."""
        asks = (link.fetch_block(height, block_hash) for link in self.links)
        answers = await asyncio.gather(*asks)
        return [a for a in answers if a is not None]

    def gossip_txs(self, raws: list[bytes]) -> None:
        """Queue transactions for every peer."""
        for link in self.links:
            link.send_txs(raws)

    def forward_txs(self, raws: list[bytes]) -> None:
        """Queue an observer's submitted transactions for every peer's public API."""
        for link in self.links:
            link.forward_txs(raws)

    def sync_peers(self) -> Sequence[SyncPeer]:
        """Every link: block sync asks each for its status."""
        return self.links
