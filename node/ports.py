"""The narrow interfaces the node's parts talk through (ports), each with its contract.

``node.build.build_node`` wires real implementations together; tests wire in-memory ones
(``node.clock.VirtualClock``, ``node.memory_transport.MemoryNetwork``) to drive real nodes in
one process without sockets or sleeps. Who uses which port:

    Node            <- Clock, PeerTransport, TxPool, BlockStore, Service  (given, not built)
    BlockSync       <- StoreView, SyncApp, TxPrecheck, SyncPeer          (not the Node)
    LedgerServicer  <- TxSubmitter, StoreView, PendingTxs, NodeInfo, Simulator
    PeerServicer    <- ConsensusInbox, BlockSource, StoreView, NodeInfo
    transports      -> ConsensusInbox, BlockSource (of the receiving node)

Everything runs on one asyncio event loop; no port method may block it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from carbon_ticket.chain import Genesis
from carbon_ticket.chain.block import Block
from carbon_ticket.chain.errors import LedgerError
from carbon_ticket.chain.results import TxResult
from carbon_ticket.chain.simulate import Simulation
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.consensus import CommitCertificate, Proposal, Vote
from carbon_ticket.node.app import ExecutedBlock
from carbon_ticket.node.validators import StateValidatorSets
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = [
    "BlockSource",
    "Clock",
    "CommittedEvent",
    "CommittedTx",
    "ConsensusInbox",
    "ConsensusMessage",
    "NodeInfo",
    "PeerTransport",
    "PendingTxs",
    "Service",
    "Simulator",
    "SyncApp",
    "SyncPeer",
    "TimerHandle",
    "TxPool",
    "TxPrecheck",
    "TxSubmitter",
]

ConsensusMessage = Proposal | Vote


@dataclass(frozen=True, slots=True)
class CommittedEvent:
    """What subscribers learn about each committed block."""

    executed: ExecutedBlock
    height: int


@dataclass(frozen=True, slots=True)
class CommittedTx:
    """What a commit waiter learns: where its transaction landed and its receipt.

    Taken from the executed block in memory, not read back from the store.
    """

    height: int
    index: int
    result: TxResult


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """The constants every part may read: who this node is and which chain it serves."""

    name: str
    chain_id: str
    genesis: Genesis
    # The set in effect at each height, from committed state (never the genesis set alone).
    validator_sets: StateValidatorSets


# ---------------------------------------------------------------------- time


class TimerHandle(Protocol):
    """A scheduled callback; ``cancel`` makes sure it never runs (no-op once it ran)."""

    def cancel(self) -> None:
        """Do not run the callback."""
        ...


class Clock(Protocol):
    """Every reading of time and every timer of a node goes through this port.

    ``wall_ms`` is the node's view of the calendar (block times, call signatures); it may be
    skewed on purpose in tests. ``monotonic_s`` only ever measures intervals.
    """

    def wall_ms(self) -> int:
        """Milliseconds since the Unix epoch, as this node sees it."""
        ...

    def monotonic_s(self) -> float:
        """Seconds on a clock that never goes back (for intervals only)."""
        ...

    def call_later(self, delay_s: float, callback: Callable[[], object]) -> TimerHandle:
        """Run ``callback`` on the event loop after ``delay_s`` seconds (0: on a later turn).

        What ``callback`` returns is dropped (as ``loop.call_later`` does), so any callable fits.
        """
        ...


# ---------------------------------------------------------------------- peers


class SyncPeer(Protocol):
    """What block sync needs from one peer (node.peers.PeerLink; in-memory and fakes in tests)."""

    address: str

    async def status(self, timeout_s: float) -> services_pb2.PeerStatus | None:
        """The peer's status, or None when unreachable."""
        ...

    def blocks(
        self, from_height: int, max_blocks: int, timeout_s: float
    ) -> AsyncIterator[ledger_pb2.CommittedBlock]:
        """Committed blocks from ``from_height`` on (raises on a broken stream)."""
        ...


class PeerTransport(Protocol):
    """The node's outbound side towards the other validators; best effort, never blocking.

    Lost messages are tolerated by design: consensus re-broadcasts on timers and a node that
    falls behind catches up by block sync.
    """

    def start(self) -> None:
        """Connect (inside the running event loop)."""
        ...

    async def close(self) -> None:
        """Stop sending and release the connections."""
        ...

    def broadcast_consensus(self, message: ConsensusMessage) -> None:
        """Queue a proposal or vote for every peer."""
        ...

    def gossip_txs(self, raws: list[bytes]) -> None:
        """Queue raw transactions for every peer."""
        ...

    def forward_txs(self, raws: list[bytes]) -> None:
        """Queue transactions submitted to an observer for the peers' public API (best effort)."""
        ...

    async def fetch_block(self, height: int, block_hash: bytes) -> list[bytes]:
        """Ask the peers for a block being decided, by hash: the (unverified) answers."""
        ...

    def sync_peers(self) -> Sequence[SyncPeer]:
        """The peers block sync may fetch committed blocks from."""
        ...

    def set_peers(self, addresses: Sequence[str]) -> None:
        """Send to exactly these peers from now on (the validator set moved on); the links
        to peers still listed are kept as they are."""
        ...


class ConsensusInbox(Protocol):
    """The receiving side of peer traffic (the node): consensus messages and gossip."""

    def on_consensus_message(self, message: ConsensusMessage) -> None:
        """Feed one peer message to consensus (signatures are checked inside)."""
        ...

    async def precheck(self, raws: list[bytes]) -> Mapping[bytes, LedgerError]:
        """Verify a batch's signatures ahead of admission where the node has worker threads;
        the refusals by envelope (``admit_gossip`` takes them)."""
        ...

    def admit_gossip(
        self, raws: list[bytes], refused: Mapping[bytes, LedgerError] | None = None
    ) -> int:
        """Admit transactions gossiped by a peer; returns how many were new and valid."""
        ...


class BlockSource(Protocol):
    """Serves a block being decided to a peer that lacks it."""

    def proposal_block(self, height: int, block_hash: bytes) -> bytes | None:
        """The encoded block with this hash for ``height``, or None."""
        ...


# ---------------------------------------------------------------------- transactions


class PendingTxs(Protocol):
    """Read access to the pending transactions (the public API's view of the mempool)."""

    def __len__(self) -> int: ...

    def __contains__(self, tx_hash: bytes) -> bool: ...

    def next_nonce(self, signer: str, committed: int | None = None) -> int:
        """The nonce ``signer``'s next transaction must carry, counting pending ones (after
        ``committed``, the committed nonce, when given; else read from the store)."""
        ...


class TxPrecheck(Protocol):
    """What block sync needs to verify a fetched block's transactions ahead of time."""

    def unknown(self, raws: Iterable[bytes]) -> list[bytes]:
        """The envelopes not verified yet (matched by their bytes: nothing is hashed here)."""
        ...

    def remember(self, txs: Iterable[SignedTx]) -> None:
        """Keep transactions verified elsewhere."""
        ...


class TxPool(PendingTxs, TxPrecheck, Protocol):
    """The mempool as the node drives it (node.mempool.Mempool)."""

    def admit(self, raw: bytes) -> SignedTx:
        """Check, verify and add one transaction; a LedgerError says why not."""
        ...

    def refuse(self, exc: LedgerError) -> None:
        """Count a transaction refused by a check made before admission."""
        ...

    def has_ready(self) -> bool:
        """True when a transaction could go into the next block."""
        ...

    def is_ready(self, tx: SignedTx) -> bool:
        """True when ``tx`` could go into the next block (no nonce gap before it)."""
        ...

    def evict_expired(self, height: int) -> int:
        """Drop transactions pending too long at ``height``; returns how many."""
        ...

    def admitted_between(self, first: int, last: int, limit: int) -> list[bytes]:
        """Envelopes of at most ``limit`` pending transactions admitted at ``first..last``."""
        ...


class TxSubmitter(Protocol):
    """What the public API calls to submit transactions and follow commits (the node)."""

    def admit(self, raw: bytes) -> SignedTx:
        """Admit one client transaction and gossip it; a LedgerError says why not."""
        ...

    async def admit_many(self, raws: list[bytes]) -> list[SignedTx | LedgerError]:
        """Admit a batch; one outcome per transaction, in order."""
        ...

    def wait_for_commit(self, tx_hash: bytes) -> asyncio.Future[CommittedTx]:
        """A future resolved when the transaction with this hash is committed."""
        ...

    def subscribe(self, callback: Callable[[CommittedEvent], None]) -> Callable[[], None]:
        """Call ``callback`` for every committed block; returns an unsubscribe function."""
        ...


class Simulator(Protocol):
    """Runs a transaction against the committed state without committing or admitting it
    (node.simulator.LedgerSimulator)."""

    def simulate(self, raw: bytes) -> Simulation:
        """The receipt ``raw`` would get in the next block; a LedgerError when malformed."""
        ...


# ---------------------------------------------------------------------- storage and app


class SyncApp(Protocol):
    """What block sync needs of the application: commit a verified, fetched block."""

    def commit(
        self, certificate: CommitCertificate, block: Block | bytes, *, certified: bool = False
    ) -> ExecutedBlock:
        """Execute (unless held already) and persist ``block``, committed by ``certificate``
        (``certified``: the caller verified the certificate, which vouches for the block's
        transaction signatures)."""
        ...


# ---------------------------------------------------------------------- services


class Service(Protocol):
    """Something a node runs beside consensus (the gRPC server): started first, closed last."""

    async def start(self) -> None:
        """Start serving (raise ConfigError when it cannot)."""
        ...

    async def close(self) -> None:
        """Stop serving."""
        ...
