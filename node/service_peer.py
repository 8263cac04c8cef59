"""gRPC servicer for validator-to-validator traffic (thin: decode, hand to a port, encode).

Every call reaching a handler here has been authenticated by ``node.peer_auth``'s server
interceptor (signed by a validator of the set in effect, or, for read-only methods, by a listed
observer): the handlers need no check of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from carbon_ticket.chain.errors import ResourceExhausted
from carbon_ticket.chain.kvstore import KVSnapshot
from carbon_ticket.chain.store import StoreView
from carbon_ticket.consensus import ValidatorSets, Vote
from carbon_ticket.node.backup import snapshot_chunks
from carbon_ticket.node.codec import PeerMessageError, message_from_proto
from carbon_ticket.node.peers import MAX_PEER_MESSAGE_BYTES
from carbon_ticket.node.ports import BlockSource, ConsensusInbox, ConsensusMessage, NodeInfo
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc

__all__ = ["PeerServicer", "committed_block", "from_member", "peer_status"]

log = logging.getLogger(__name__)

_MAX_BLOCKS_PER_CALL = 500
_ADMIT_SLICE = 100
# A validator sends a few messages per step; anything far larger is an attack or a bug.
_MAX_CONSENSUS_BATCH = 1_000
_Batch = TypeVar("_Batch", services_pb2.ConsensusBatch, services_pb2.TxBatch)


class PeerServicer(services_pb2_grpc.PeerServiceServicer):
    """Receives consensus messages and gossip, and serves blocks to nodes that are behind."""

    def __init__(
        self,
        inbox: ConsensusInbox,
        blocks: BlockSource,
        store: StoreView,
        info: NodeInfo,
        snapshots: Callable[[], KVSnapshot] | None = None,
        frame_port: Callable[[], int] = lambda: 0,
    ) -> None:
        # The port of this node's frame link (node.frame_link), told to peers in GetStatus;
        # asked on each call: it is known once the listener is bound, after this is made.
        self._frame_port = frame_port
        self._snapshots = snapshots  # None: this node serves no backups
        self._inbox = inbox
        self._blocks = blocks
        self._store = store
        self._info = info
        self.malformed = 0

    async def _refuse_oversized(self, request: Message, context: grpc.aio.ServicerContext) -> None:
        size = request.ByteSize()
        if size > MAX_PEER_MESSAGE_BYTES:
            self.malformed += 1
            log.warning("refused an oversized message (%d bytes, limit %d) from %s", size,
                        MAX_PEER_MESSAGE_BYTES, context.peer())  # fmt: skip
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "message too large")

    async def SendConsensus(
        self, request: services_pb2.ConsensusBatch, context: grpc.aio.ServicerContext
    ) -> services_pb2.PeerAck:
        await self._refuse_oversized(request, context)
        try:
            self._check_batch_size(request, context.peer())
        except ResourceExhausted as exc:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, exc.message)
        return services_pb2.PeerAck(accepted=await self._consensus_batch(request, context.peer()))

    async def GossipTxs(
        self, request: services_pb2.TxBatch, context: grpc.aio.ServicerContext
    ) -> services_pb2.PeerAck:
        await self._refuse_oversized(request, context)
        return services_pb2.PeerAck(accepted=await self._gossip_batch(list(request.txs)))

    async def Stream(
        self, frames: AsyncIterator[services_pb2.PeerFrame], context: grpc.aio.ServicerContext
    ) -> services_pb2.PeerAck:
        """The traffic of SendConsensus and GossipTxs as frames of one stream (each frame's
        signature and number checked by node.peer_auth before it reaches here)."""
        try:
            accepted = await self.receive_frames(frames, context.peer())
        except ResourceExhausted as exc:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, exc.message)
        return services_pb2.PeerAck(accepted=accepted)

    async def receive_frames(self, frames: AsyncIterator[services_pb2.PeerFrame], peer: str) -> int:
        """Hand verified frames to consensus and the mempool, from a Stream call or a frame
        link (node.frame_link); how many messages and transactions were accepted.

        ResourceExhausted (a batch over the limit) ends the stream: its sender is broken.
        """
        accepted = 0
        async for frame in frames:
            if frame.kind == services_pb2.PEER_FRAME_KIND_CONSENSUS:
                batch = self._decode_frame(services_pb2.ConsensusBatch, frame, peer)
                if batch is not None:
                    self._check_batch_size(batch, peer)
                    accepted += await self._consensus_batch(batch, peer)
            elif frame.kind == services_pb2.PEER_FRAME_KIND_TXS:
                txs = self._decode_frame(services_pb2.TxBatch, frame, peer)
                if txs is not None:
                    accepted += await self._gossip_batch(list(txs.txs))
            else:
                self._log_bad_frame(f"unknown frame kind {frame.kind}", peer)
        return accepted

    def _decode_frame(
        self, kind: type[_Batch], frame: services_pb2.PeerFrame, peer: str
    ) -> _Batch | None:
        try:
            return kind.FromString(frame.payload)
        except DecodeError as exc:
            self._log_bad_frame(f"undecodable {kind.__name__}: {exc}", peer)
            return None

    def _log_bad_frame(self, reason: str, peer: str) -> None:
        # A signed frame that does not decode is a bug of the sender: dropped, counted, logged.
        self.malformed += 1
        log.warning("dropped a stream frame from %s: %s", peer, reason)

    def _check_batch_size(self, batch: services_pb2.ConsensusBatch, peer: str) -> None:
        count = len(batch.messages)
        if count <= _MAX_CONSENSUS_BATCH:
            return
        self.malformed += 1
        log.warning("refused a batch of %d consensus messages from %s (limit %d)",
                    count, peer, _MAX_CONSENSUS_BATCH)  # fmt: skip
        raise ResourceExhausted("too many messages in a batch", "consensus_batch_too_large")

    async def _consensus_batch(self, request: services_pb2.ConsensusBatch, peer: str) -> int:
        accepted = refused = 0
        reason = ""
        for n, msg in enumerate(request.messages):
            if n and n % _ADMIT_SLICE == 0:
                await asyncio.sleep(0)  # signature checks must not starve the event loop
            try:
                message = message_from_proto(msg)
            except PeerMessageError as exc:
                refused, reason = refused + 1, f"malformed consensus message: {exc}"
                continue
            if not from_member(message, self._info.validator_sets):
                refused, reason = refused + 1, "consensus message from non-validator index"
                continue
            self._inbox.on_consensus_message(message)
            accepted += 1
        if refused:
            # One line per batch, however many messages it held.
            self.malformed += refused
            log.warning("dropped %d of %d messages from %s; last: %s",
                        refused, len(request.messages), peer, reason)  # fmt: skip
        return accepted

    async def _gossip_batch(self, txs: list[bytes]) -> int:
        # Admit in slices and yield in between, so consensus messages are not held up by a
        # large batch of signature checks.
        refused = await self._inbox.precheck(txs)  # in worker threads, where there are some
        accepted = 0
        for start in range(0, len(txs), _ADMIT_SLICE):
            accepted += self._inbox.admit_gossip(txs[start : start + _ADMIT_SLICE], refused)
            await asyncio.sleep(0)
        return accepted

    async def GetBlocks(
        self, request: services_pb2.GetBlocksRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ledger_pb2.CommittedBlock]:
        store = self._store
        count = min(request.max_blocks or _MAX_BLOCKS_PER_CALL, _MAX_BLOCKS_PER_CALL)
        first = max(request.from_height, 1)
        for height in range(first, min(first + count, store.height + 1)):
            committed = committed_block(store, height)
            if committed is None:
                return
            yield committed

    async def GetSnapshot(
        self, request: services_pb2.SnapshotRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[services_pb2.SnapshotChunk]:
        # Only the node's own key reaches here (peer_auth.OPERATOR_METHODS).
        if self._snapshots is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this node serves no backups")
            return
        snap = self._snapshots()
        chunks = snapshot_chunks(snap)
        try:
            while True:
                # LevelDB reads run in a thread: consensus keeps its event loop meanwhile.
                chunk = await asyncio.to_thread(next, chunks, None)
                if chunk is None:
                    break
                yield services_pb2.SnapshotChunk(
                    entries=[services_pb2.SnapshotEntry(key=k, value=v) for k, v in chunk]
                )
            yield services_pb2.SnapshotChunk(done=True)
        finally:
            chunks.close()
            snap.close()

    async def GetProposalBlock(
        self, request: services_pb2.GetProposalBlockRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.ProposalBlock:
        payload = self._blocks.proposal_block(request.height, request.block_hash)
        if payload is None:
            return services_pb2.ProposalBlock(found=False)
        return services_pb2.ProposalBlock(found=True, block=payload)

    async def GetStatus(
        self, request: services_pb2.PeerStatusRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.PeerStatus:
        status = peer_status(self._store, self._info.chain_id)
        status.frame_port = self._frame_port()
        return status


def from_member(message: ConsensusMessage, validators: ValidatorSets) -> bool:
    """True when a consensus message names a validator index of the set in effect at its
    height (signatures are checked later, by the engine). A height whose set is not known yet
    passes: the engine keeps such messages in a bounded buffer and checks them later."""
    index = message.validator_index if isinstance(message, Vote) else message.proposer_index
    members = validators.at(message.height)
    return index >= 0 and (members is None or index < members.size)


def committed_block(store: StoreView, height: int) -> ledger_pb2.CommittedBlock | None:
    """Block ``height`` with its commit certificate, as block sync receives it; None if absent."""
    block = store.get_block(height)
    cert = store.get_certificate(height)
    if block is None or cert is None:
        return None
    committed = ledger_pb2.CommittedBlock(block=block.to_proto())
    committed.certificate.ParseFromString(cert)
    return committed


def peer_status(store: StoreView, chain_id: str) -> services_pb2.PeerStatus:
    """Where this node's chain stands, as a peer sees it."""
    last = store.last_header()
    return services_pb2.PeerStatus(
        chain_id=chain_id,
        height=store.height,
        app_hash=store.app_hash,
        last_block_hash=last.hash() if last is not None else b"",
    )
