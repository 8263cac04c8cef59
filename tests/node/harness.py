"""In-process validators: real ``Node``s on one event loop, a virtual clock, no sockets, no sleeps.

Each node is made by ``node.build.build_node`` from its own home in ``tmp`` (LevelDB store, sign
state, key, genesis), exactly as ``carbon-ticket node start`` makes it, but with the shared
``VirtualClock`` and a ``MemoryNetwork`` transport, and without the gRPC server. Time moves only
in ``run_until``: it lets every ready callback and task run, checks the condition, and jumps to
the next timer. So a test reads like the story it tells, and runs in milliseconds of real time.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path

from carbon_ticket.chain import Genesis, check_tx
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.tx import SignedTx, encode_tx
from carbon_ticket.consensus import Vote, VoteType, vote_sign_bytes
from carbon_ticket.node.build import build_node
from carbon_ticket.node.clock import VirtualClock
from carbon_ticket.node.config import ConsensusSettings, MempoolSettings, NodeConfig
from carbon_ticket.node.keyfile import write_validator_key
from carbon_ticket.node.memory_transport import MemoryNetwork, PeerEndpoint
from carbon_ticket.node.node import Node
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import GENESIS_TIME_MS, REGISTRAR, VALIDATORS, key, make_genesis

__all__ = ["FAST", "CountingCheck", "InProcessNet", "register_tx"]

# The same fast timeouts as the real-process harness (tests/node/network.py).
FAST = ConsensusSettings(
    propose_timeout_ms=600,
    prevote_timeout_ms=300,
    precommit_timeout_ms=300,
    timeout_delta_ms=300,
    commit_wait_ms=20,
    empty_block_interval_ms=300,
)


def register_tx(chain_id: str, nonce: int) -> bytes:
    """The registrar's ``nonce``-th transaction: a new bureau account (any number of them are
    ready in nonce order, which makes a steady backlog or load without funding anything)."""
    body = ledger_pb2.TxBody(chain_id=chain_id, signer=REGISTRAR.address, nonce=nonce)
    body.register_account.address = PrivateKey.generate().address
    body.register_account.kind = ledger_pb2.ACCOUNT_KIND_BUREAU
    body.register_account.name = f"Bureau {nonce}"
    return encode_tx(body, [REGISTRAR])


# Loop turns allowed for one settle; far more than any chain of awaits in a node needs.
_MAX_TURNS = 100_000


class InProcessNet:
    """``validators`` validators (genesis of tests.chain.conftest) plus ``observers`` observers.

    Use as ``async with InProcessNet(tmp_path) as net:``; every node still running is shut down
    on exit. Node ``i`` listens (in memory) on its genesis network address.
    """

    def __init__(
        self,
        tmp: Path,
        validators: int = 4,
        observers: int = 0,
        consensus: ConsensusSettings = FAST,
        mempool: MempoolSettings | None = None,
    ) -> None:
        keys = tuple(VALIDATORS[:validators]) + tuple(
            key(f"validator-{i}") for i in range(len(VALIDATORS), validators)
        )
        self.genesis: Genesis = make_genesis(validators=keys)
        self.chain_id = self.genesis.chain_id
        self.clock = VirtualClock(wall_start_ms=GENESIS_TIME_MS + 1_000)
        self.network = MemoryNetwork(self.clock)
        self.keys = list(keys)
        addresses = [v.network_address for v in self.genesis.validators]
        self.configs: list[NodeConfig] = []
        for i in range(validators + observers):
            if i >= validators:
                self.keys.append(key(f"observer-{i}"))
            home = tmp / f"node{i}"
            home.mkdir(parents=True)
            listen = addresses[i] if i < validators else f"observer-{i}.memory:1"  # in memory only
            config = NodeConfig(
                home=home,
                name=f"node{i}",
                listen=listen,
                peers=() if i < validators else tuple(addresses),
                consensus=consensus,
                mempool=mempool or MempoolSettings(),
            )
            config.save()
            (home / "genesis.json").write_text(self.genesis.to_json())
            write_validator_key(config.key_path, self.keys[i], config.name)
            self.configs.append(config)
        self.nodes: list[Node | None] = [None] * len(self.configs)
        self._tmp = tmp
        self._addresses = addresses
        self._consensus, self._mempool = consensus, mempool

    def add_node(self, node_key: PrivateKey, listen: str) -> int:
        """A new node home, not started: the network's genesis and ``node_key``, listening on
        ``listen`` and dialling the genesis validators (a bureau that joins later, a fresh
        observer, a rotated key). Returns its index."""
        i = len(self.configs)
        home = self._tmp / f"node{i}"
        home.mkdir(parents=True)
        config = NodeConfig(
            home=home,
            name=f"node{i}",
            listen=listen,
            peers=tuple(a for a in self._addresses if a != listen),
            consensus=self._consensus,
            mempool=self._mempool or MempoolSettings(),
        )
        config.save()
        (home / "genesis.json").write_text(self.genesis.to_json())
        write_validator_key(config.key_path, node_key, config.name)
        self.configs.append(config)
        self.keys.append(node_key)
        self.nodes.append(None)
        return i

    async def __aenter__(self) -> InProcessNet:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for i, node in enumerate(self.nodes):
            if node is not None:
                await self.stop(i)

    # ------------------------------------------------------------------ nodes

    def node(self, i: int) -> Node:
        """Running node ``i``."""
        node = self.nodes[i]
        assert node is not None, f"node {i} is not running"
        return node

    def build(self, i: int, **config_changes: object) -> Node:
        """Make node ``i`` from its home (as after a restart), on the network, not started."""
        assert self.nodes[i] is None, f"node {i} is running"
        config = self.configs[i]
        if config_changes:
            config = dataclasses.replace(config, **config_changes)  # type: ignore[arg-type]
        address = config.listen
        # The node itself dials the validators its committed state names (Node.start).
        transport = self.network.transport(address, config.peers)
        node = build_node(config, clock=self.clock, transport=transport, serve_api=False)
        self.network.attach(address, PeerEndpoint(node, node, node.store, node.info))
        self.nodes[i] = node
        return node

    async def start(self, *indexes: int) -> None:
        """Build and start the given nodes (all when none are given)."""
        for i in indexes or range(len(self.configs)):
            node = self.nodes[i] or self.build(i)
            start = asyncio.get_running_loop().create_task(node.start())
            # Starting catches up from peers: let that run in virtual time too.
            await self.run_until(f"node {i} started", start.done)
            start.result()

    async def stop(self, i: int) -> None:
        """Shut node ``i`` down cleanly and take it off the network (its home stays)."""
        node = self.node(i)
        self.network.detach(self.configs[i].listen)
        self.nodes[i] = None
        await node.shutdown()

    async def restart(self, i: int) -> Node:
        """Stop node ``i`` and start it again from the same home and store."""
        await self.stop(i)
        await self.start(i)
        return self.node(i)

    def height(self, i: int) -> int:
        """Node ``i``'s committed height."""
        return self.node(i).store.height

    def heights(self, nodes: Iterable[int] | None = None) -> list[int]:
        """Committed heights of the given running nodes (default: all running)."""
        indexes = nodes if nodes is not None else self.running()
        return [self.height(i) for i in indexes]

    def running(self) -> list[int]:
        """Indexes of the running nodes."""
        return [i for i, node in enumerate(self.nodes) if node is not None]

    def block_hashes(self, i: int, upto: int) -> list[bytes]:
        """Hashes of node ``i``'s blocks 1..upto (shorter when it has fewer)."""
        store = self.node(i).store
        hashes = []
        for height in range(1, upto + 1):
            block = store.get_block(height)
            if block is None:
                break
            hashes.append(block.hash)
        return hashes

    def assert_same_chain(self, nodes: list[int], upto: int) -> None:
        """Every node in ``nodes`` holds identical blocks 1..upto."""
        reference = self.block_hashes(nodes[0], upto)
        assert len(reference) == upto, f"node {nodes[0]} has {len(reference)} of {upto} blocks"
        for i in nodes[1:]:
            assert self.block_hashes(i, upto) == reference, f"node {i} diverges from {nodes[0]}"

    def double_vote(self, validator: int, height: int, round_: int) -> tuple[Vote, Vote]:
        """Two prevotes signed by ``validator``'s key for different blocks: an equivocation."""
        votes = []
        for block_hash in (b"\x01" * 32, b"\x02" * 32):
            unsigned = Vote(VoteType.PREVOTE, height, round_, block_hash, validator, b"")
            signature = self.keys[validator].sign(vote_sign_bytes(self.chain_id, unsigned))
            votes.append(Vote(VoteType.PREVOTE, height, round_, block_hash, validator, signature))
        return votes[0], votes[1]

    # ------------------------------------------------------------------ time

    async def run_until(self, what: str, cond: Callable[[], bool], max_s: float = 60.0) -> float:
        """Run the nodes until ``cond()`` holds; returns the virtual seconds it took.

        Fails naming ``what`` when it does not hold within ``max_s`` virtual seconds.
        """
        start = self.clock.monotonic_s()
        while True:
            await self.settle()
            if cond():
                return self.clock.monotonic_s() - start
            due = self.clock.next_due_s()
            if due is None or due > start + max_s:
                raise AssertionError(f"{what}: not within {max_s:.0f} s of virtual time")
            self.clock.advance_to(due)

    async def run_for(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass, firing every timer due meanwhile."""
        end = self.clock.monotonic_s() + seconds
        while True:
            await self.settle()
            due = self.clock.next_due_s()
            if due is None or due > end:
                self.clock.advance_to(end)
                await self.settle()
                return
            self.clock.advance_to(due)

    async def settle(self) -> None:
        """Run until nothing is ready: no callback, task step or timer due at this moment."""
        loop = asyncio.get_running_loop()
        while True:
            for _ in range(_MAX_TURNS):
                await asyncio.sleep(0)
                if not _has_ready_callbacks(loop):
                    break
            else:
                raise AssertionError("the event loop never went idle")
            if self.clock.fire_due() == 0 and not _has_ready_callbacks(loop):
                return


def _has_ready_callbacks(loop: asyncio.AbstractEventLoop) -> bool:
    # asyncio has no public "is idle" question; its ready queue answers it. Nothing here does
    # real I/O or waits on real timers, so an empty queue means every node waits on the clock.
    ready = getattr(loop, "_ready", None)
    return bool(ready)


class CountingCheck:
    """``chain.check_tx`` that counts the transactions it checked (signatures verified)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(
        self, raw: bytes, chain_id: str, limits: Limits, *, known_id: bytes | None = None
    ) -> SignedTx:
        self.calls += 1
        return check_tx(raw, chain_id, limits, known_id=known_id)
