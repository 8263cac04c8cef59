"""An in-memory ``PeerTransport``: several nodes of one process talking without sockets.

``MemoryNetwork`` connects the transports it hands out. Every message crosses the wire format
(encoded and decoded like over gRPC) and arrives through the clock after ``latency_s``, never
inside the sender's call, so a node's step never runs another node's code. A test can take a
node off the network (``detach``), split it (``partition``) or drop messages (``drop``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass

from carbon_ticket.chain.store import StoreView
from carbon_ticket.node.codec import PeerMessageError, message_from_proto, message_to_proto
from carbon_ticket.node.ports import (
    BlockSource,
    Clock,
    ConsensusInbox,
    ConsensusMessage,
    NodeInfo,
    SyncPeer,
)
from carbon_ticket.node.service_peer import committed_block, from_member, peer_status
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = ["MemoryNetwork", "MemoryTransport", "PeerEndpoint"]

# What a drop rule sees: sender, receiver and the message ("txs" for a gossip batch).
DropRule = Callable[[str, str, ConsensusMessage | str], bool]


@dataclass(frozen=True, slots=True)
class PeerEndpoint:
    """The receiving side of one node, as its peers reach it."""

    inbox: ConsensusInbox
    blocks: BlockSource
    store: StoreView
    info: NodeInfo


class MemoryNetwork:
    """Connects in-memory transports by address; deliveries are scheduled on ``clock``."""

    def __init__(self, clock: Clock, latency_s: float = 0.0) -> None:
        self._clock = clock
        self.latency_s = latency_s
        self._endpoints: dict[str, PeerEndpoint] = {}
        self._groups: dict[str, int] | None = None
        self.drop: DropRule | None = None
        self.delivered = 0
        self.dropped = 0

    def transport(self, address: str, peers: Iterable[str]) -> MemoryTransport:
        """The transport of the node at ``address``, sending to ``peers``."""
        return MemoryTransport(self, address, [p for p in peers if p != address])

    def attach(self, address: str, endpoint: PeerEndpoint) -> None:
        """Put a node on the network: messages to ``address`` now reach it."""
        self._endpoints[address] = endpoint

    def detach(self, address: str) -> None:
        """Take the node at ``address`` off the network (stopped or crashed)."""
        self._endpoints.pop(address, None)

    def partition(self, *groups: Iterable[str]) -> None:
        """Only nodes of the same group reach each other (unlisted nodes reach nobody)."""
        self._groups = {address: n for n, group in enumerate(groups) for address in group}

    def heal(self) -> None:
        """End any partition."""
        self._groups = None

    def endpoint(self, sender: str, receiver: str) -> PeerEndpoint | None:
        """The receiver's endpoint when ``sender`` can reach it now, else None."""
        if self._groups is not None:
            group = self._groups.get(sender)
            if group is None or self._groups.get(receiver) != group:
                return None
        return self._endpoints.get(receiver)

    def send(
        self, sender: str, receiver: str, what: ConsensusMessage | str, deliver: DeliverFn
    ) -> None:
        """Deliver after the latency, if the receiver can be reached then and no rule drops it."""
        if self.drop is not None and self.drop(sender, receiver, what):
            self.dropped += 1
            return

        def arrive() -> None:
            endpoint = self.endpoint(sender, receiver)
            if endpoint is None:
                self.dropped += 1
                return
            self.delivered += 1
            deliver(endpoint)

        self._clock.call_later(self.latency_s, arrive)


DeliverFn = Callable[[PeerEndpoint], None]


class MemoryTransport:
    """One node's ``PeerTransport`` on a ``MemoryNetwork``."""

    def __init__(self, network: MemoryNetwork, address: str, peers: Sequence[str]) -> None:
        self.network = network
        self.address = address
        self.peers = list(peers)
        self._open = False

    def start(self) -> None:
        """Start sending."""
        self._open = True

    async def close(self) -> None:
        """Stop sending."""
        self._open = False

    def broadcast_consensus(self, message: ConsensusMessage) -> None:
        """Send the message's wire form to every peer."""
        if not self._open:
            return
        wire = message_to_proto(message).SerializeToString()
        for peer in self.peers:
            self.network.send(self.address, peer, message, _consensus_delivery(wire))

    def gossip_txs(self, raws: list[bytes]) -> None:
        """Send the transactions to every peer."""
        if not self._open:
            return
        batch = list(raws)
        for peer in self.peers:
            self.network.send(self.address, peer, "txs", _gossip_delivery(batch))

    def forward_txs(self, raws: list[bytes]) -> None:
        """An observer's submissions: delivered to every peer like gossip."""
        self.gossip_txs(raws)

    async def fetch_block(self, height: int, block_hash: bytes) -> list[bytes]:
        """Every reachable peer's answer, at once."""
        answers = []
        for peer in self.peers:
            endpoint = self.network.endpoint(self.address, peer)
            if endpoint is not None:
                payload = endpoint.blocks.proposal_block(height, block_hash)
                if payload is not None:
                    answers.append(payload)
        return answers

    def set_peers(self, addresses: Sequence[str]) -> None:
        """Send to these peers from now on."""
        self.peers = [a for a in addresses if a != self.address]

    def sync_peers(self) -> Sequence[SyncPeer]:
        """A sync view of every peer."""
        return [MemorySyncPeer(self.network, self.address, peer) for peer in self.peers]


def _consensus_delivery(wire: bytes) -> DeliverFn:
    def deliver(endpoint: PeerEndpoint) -> None:
        # Checked at the door like PeerServicer.SendConsensus does.
        try:
            message = message_from_proto(services_pb2.ConsensusMessage.FromString(wire))
        except PeerMessageError:
            return
        if from_member(message, endpoint.info.validator_sets):
            endpoint.inbox.on_consensus_message(message)

    return deliver


def _gossip_delivery(raws: list[bytes]) -> DeliverFn:
    def deliver(endpoint: PeerEndpoint) -> None:
        endpoint.inbox.admit_gossip(raws)

    return deliver


class MemorySyncPeer:
    """Block sync's view of one in-memory peer: its status and committed blocks."""

    def __init__(self, network: MemoryNetwork, sender: str, address: str) -> None:
        self._network = network
        self._sender = sender
        self.address = address

    async def status(self, timeout_s: float) -> services_pb2.PeerStatus | None:
        """The peer's status, or None when it cannot be reached."""
        endpoint = self._network.endpoint(self._sender, self.address)
        if endpoint is None:
            return None
        return peer_status(endpoint.store, endpoint.info.chain_id)

    async def blocks(
        self, from_height: int, max_blocks: int, timeout_s: float
    ) -> AsyncIterator[ledger_pb2.CommittedBlock]:
        """Committed blocks from ``from_height``; the stream ends when the peer goes away."""
        first = max(from_height, 1)
        for height in range(first, first + max_blocks):
            endpoint = self._network.endpoint(self._sender, self.address)
            if endpoint is None or height > endpoint.store.height:
                return
            committed = committed_block(endpoint.store, height)
            if committed is None:
                return
            yield committed
