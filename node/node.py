"""A validator node: wires store, mempool, consensus engine, peers and gRPC services together.

Everything runs on one asyncio event loop: gRPC handlers, consensus steps, timers and commits.
Consensus steps and block commits are synchronous calls that never await, so no two of them ever
interleave and the engine needs no locks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from chain import Genesis, expected_nonce, get_params, init_chain
from chain.errors import InvalidTransaction, LedgerError, PreconditionFailed, StorageError
from chain.results import TxResult
from chain.tx import SignedTx
from consensus import (
    Action,
    Broadcast,
    Commit,
    DuplicateVoteEvidence,
    Ed25519Signer,
    Engine,
    EvidenceFound,
    FetchBlock,
    Proposal,
    ScheduleTimeout,
    SyncNeeded,
    Timeout,
    TimeoutConfig,
    Validator,
    ValidatorSet,
    Vote,
)
from node.app import ExecutedBlock, LedgerApp
from node.codec import certificate_from_bytes, message_to_proto
from node.config import ConfigError, NodeConfig
from node.evidence import EvidenceReporter, checker_with_evidence
from node.keyfile import load_validator_key
from node.mempool import Mempool
from node.peer_auth import ObserverList, PeerAuthenticator, PeerAuthInterceptor, peer_call_signers
from node.peers import MAX_PEER_MESSAGE_BYTES, PeerSet, channel_options
from node.safety import FileSafetyStore
from node.store import LevelDBStore
from node.sync import BlockSync
from node.tls import peer_credentials, server_credentials
from proto import services_pb2, services_pb2_grpc

__all__ = ["CommittedEvent", "CommittedTx", "Node"]

log = logging.getLogger(__name__)

_STALL_CHECK_S = 2.0
# Transactions admitted between two yields to the event loop.
ADMIT_SLICE = 100
_BAD_SIGNATURE_LOG_S = 10.0


def wall_clock_ms() -> int:
    """Milliseconds since the Unix epoch (block times come from the proposer's clock)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class CommittedEvent:
    """What subscribers learn about each committed block: the app's executed block itself."""

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


class Node:
    """One validator (or observer) process."""

    def __init__(self, config: NodeConfig, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self.config = config
        clock_ms = _skewed(clock_ms, config.debug.clock_offset_ms)
        self._clock_ms = clock_ms
        self.genesis = _load_genesis(config)
        self.chain_id = self.genesis.chain_id
        self.key = load_validator_key(config.key_path)
        config.data_path.mkdir(parents=True, exist_ok=True)
        self.store = LevelDBStore.open(config.data_path / "blocks", chain_id=self.chain_id)
        if not self.store.initialized:
            self.store.init_genesis(
                self.chain_id, self.genesis.to_json().encode(), init_chain(self.genesis)
            )
        self.params = get_params(self.store)
        self.validators = ValidatorSet(
            tuple(Validator(v.name, v.public_key) for v in self.genesis.validators)
        )
        # Every transaction check (admission, blocks, sync) also verifies reported evidence.
        self.check_tx = checker_with_evidence(self.validators)
        self.mempool = Mempool(
            self.chain_id,
            self.params.limits,
            config.mempool,
            self.check_tx,
            lambda address: expected_nonce(self.store, address),
            lambda: self.store.height,
        )
        self.app = LedgerApp(
            self.store,
            self.mempool,
            self.validators,
            self.key.public_key,
            self.params.limits,
            config.consensus.max_block_txs,
            clock_ms,
            genesis_time_ms=self.genesis.genesis_time_ms,
            time_settings=config.time,
        )
        c = config.consensus
        self.engine = Engine(
            self.chain_id,
            self.validators,
            Ed25519Signer(self.key.seed),
            FileSafetyStore(config.data_path / "sign_state"),
            self.app,
            TimeoutConfig(
                propose_ms=c.propose_timeout_ms,
                prevote_ms=c.prevote_timeout_ms,
                precommit_ms=c.precommit_timeout_ms,
                delta_ms=c.timeout_delta_ms,
            ),
        )
        # Peer calls are signed with the node key and checked against the set in effect.
        self.peer_auth = PeerAuthenticator(
            self.chain_id, lambda: self.validators, ObserverList.parse(config.observers), clock_ms
        )
        self.peers = PeerSet(
            self._peer_addresses(),
            tls=peer_credentials(config),
            interceptors=peer_call_signers(self.key, self.chain_id, clock_ms),
        )
        self.sync = BlockSync(self)
        self.is_validator = self.engine.index is not None
        self._reporter = EvidenceReporter(self.chain_id, self.key)
        self._subscribers: list[Callable[[CommittedEvent], None]] = []
        self._waiters: dict[bytes, list[asyncio.Future[CommittedTx]]] = {}
        self._waiting_next = False  # committed, waiting to start the next height
        self._next_height_wanted = False
        self._last_commit_s = time.monotonic()
        self._server: grpc.aio.Server | None = None
        self._stopping: asyncio.Event | None = None
        self._starting: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._bad_signature_logged_s = -_BAD_SIGNATURE_LOG_S
        self._fetching: set[tuple[int, bytes]] = set()
        self._logged_lock: tuple[int, int, bytes] | None = None
        self.fatal_error: LedgerError | None = None

    # ------------------------------------------------------------------ lifecycle

    def _peer_addresses(self) -> list[str]:
        if self.config.peers:
            return [p for p in self.config.peers if p != self.config.listen]
        own = self.key.public_key
        return [v.network_address for v in self.genesis.validators if v.public_key != own]

    async def serve(self) -> None:
        """Run until ``stop()`` is called; then shut down cleanly, losing nothing committed."""
        self._stopping = asyncio.Event()
        self._starting = asyncio.current_task()
        try:
            await self.start()
            self._starting = None
            await self._stopping.wait()
        except asyncio.CancelledError:
            if not self._stopping.is_set():
                raise  # cancelled by someone else than stop()
        finally:
            await self.shutdown()

    def stop(self) -> None:
        """Ask ``serve()`` to return (safe to call from a signal handler)."""
        if self._stopping is not None:
            self._stopping.set()
        if self._starting is not None:
            # Still catching up at start: stop now instead of after the whole catch-up.
            self._starting.cancel()

    async def start(self) -> None:
        """Open the gRPC port, connect peers, catch up, and join consensus."""
        from node.service_peer import PeerServicer
        from node.service_public import LedgerServicer

        # The transport admits up to twice the peer limit so that the servicers see (and log)
        # oversized messages instead of gRPC dropping them silently.
        server = grpc.aio.server(
            options=channel_options(2 * MAX_PEER_MESSAGE_BYTES),
            interceptors=[PeerAuthInterceptor(self.peer_auth)],
        )
        services_pb2_grpc.add_PeerServiceServicer_to_server(PeerServicer(self), server)
        services_pb2_grpc.add_LedgerServiceServicer_to_server(LedgerServicer(self), server)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        names = (
            services_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name,
            services_pb2.DESCRIPTOR.services_by_name["PeerService"].full_name,
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(names, server)
        credentials = server_credentials(self.config)
        if credentials is None:
            port = server.add_insecure_port(self.config.listen)
        else:
            port = server.add_secure_port(self.config.listen, credentials)
        if port == 0:
            raise ConfigError(f"cannot listen on {self.config.listen}")
        await server.start()
        self._server = server
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        self.peers.start()
        if self.config.debug.clock_offset_ms:
            log.warning(
                "TEST SETTING debug.clock_offset_ms = %d: this node's clock is skewed on "
                "purpose; never use it outside tests",
                self.config.debug.clock_offset_ms,
            )
        log.info(
            "node %s listening on %s (chain %s, height %d, %s)",
            self.config.name,
            self.config.listen,
            self.chain_id,
            self.store.height,
            "validator" if self.is_validator else "observer",
        )
        try:
            await self.sync.catch_up()
        except Exception:
            log.exception("initial block sync failed; joining consensus at height %d",
                          self.store.height + 1)  # fmt: skip
        self._start_engine()
        self._tasks.append(asyncio.get_running_loop().create_task(self._watch_stalls()))

    async def shutdown(self) -> None:
        """Stop serving and close the store (every committed block is already synced)."""
        tasks = [*self._tasks, *self.sync.tasks()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self._server is not None:
            await self._server.stop(grace=1.0)
        await self.peers.close()
        self.sync.close()
        self.store.close()
        log.info("node %s stopped at height %d", self.config.name, self.store.height)

    # ------------------------------------------------------------------ consensus driving

    def on_consensus_message(self, message: Proposal | Vote) -> None:
        """Feed one peer message to the engine (signature checks happen inside)."""
        self._catch_engine_up()
        dropped = self.engine.dropped
        bad_before, dropped_before = dropped["bad_signature"], sum(dropped.values())
        if isinstance(message, Vote):
            actions = self._engine_call(self.engine.on_vote, message)
        else:
            # Its arrival time decides whether a fresh proposal is timely (app.validate).
            self.app.note_proposal(message.block_hash, message.round, message.pol_round)
            actions = self._engine_call(self.engine.on_proposal, message)
        if dropped["bad_signature"] > bad_before:
            self._log_bad_signatures()
        self._dispatch(actions)
        accepted = sum(dropped.values()) == dropped_before
        if accepted and self._waiting_next and self.engine.next_height_ready():
            # The next height has begun elsewhere (its first proposer proposed, or validators
            # with f+1 power signed there): start now rather than wait for transactions. One
            # validator alone cannot trigger this and defeat empty_block_interval_ms.
            self._start_next_height()

    def _log_bad_signatures(self) -> None:
        # Rate-limited: a flood of forged messages must not become a flood of log lines.
        now = time.monotonic()
        if now - self._bad_signature_logged_s >= _BAD_SIGNATURE_LOG_S:
            self._bad_signature_logged_s = now
            log.warning("dropped consensus messages so far: %s", dict(self.engine.dropped))

    def _catch_engine_up(self) -> None:
        # Block sync may have moved the store past the engine's height: rejoin at the top.
        if not self._waiting_next and self.store.height >= self.engine.height:
            self._start_engine()

    def _dispatch(self, actions: list[Action]) -> None:
        self._log_new_lock()
        loop = asyncio.get_running_loop()
        for action in actions:
            if isinstance(action, Broadcast):
                # Peers accept consensus messages from validators only: an observer keeps quiet.
                if self.is_validator:
                    self.peers.broadcast_consensus(message_to_proto(action.message))
            elif isinstance(action, ScheduleTimeout):
                loop.call_later(action.delay_ms / 1000, self._fire_timeout, action.timeout)
            elif isinstance(action, Commit):
                self._commit(action)
            elif isinstance(action, EvidenceFound):
                self._on_evidence(action.evidence)
            elif isinstance(action, SyncNeeded):
                self.sync.request()
            elif isinstance(action, FetchBlock):
                self._fetch_block(action)

    def _log_new_lock(self) -> None:
        # A polka this node locked on: written before its precommit leaves, so an operator (and
        # the all-validators-killed test) can tell a lock that a crash left without a commit.
        locked_round, locked_hash = self.engine.lock
        key = (self.engine.height, locked_round, locked_hash)
        if locked_round >= 0 and key != self._logged_lock:
            self._logged_lock = key
            log.info("consensus: locked on block %s at height %d round %d",
                     locked_hash.hex()[:16], self.engine.height, locked_round)  # fmt: skip

    def _fetch_block(self, action: FetchBlock) -> None:
        key = (action.height, action.block_hash)
        if key in self._fetching:
            return
        self._fetching.add(key)
        task = asyncio.get_running_loop().create_task(self._fetch_block_from_peers(action))
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    async def _fetch_block_from_peers(self, action: FetchBlock) -> None:
        # The engine binds each answer to the hash itself: a lying peer costs one decode.
        try:
            for payload in await self.peers.fetch_block(action.height, action.block_hash):
                if self.engine.height != action.height:
                    return
                self._dispatch(self._engine_call(self.engine.on_block, action.height, payload))
        finally:
            self._fetching.discard((action.height, action.block_hash))

    def proposal_block(self, height: int, block_hash: bytes) -> bytes | None:
        """A block by hash for a peer deciding `height`: from consensus, or already committed."""
        payload = self.engine.block_for(height, block_hash)
        if payload is None and 0 < height <= self.store.height:
            block = self.store.get_block(height)
            if block is not None and block.hash == block_hash:
                payload = block.encode()
        return payload

    def _on_evidence(self, evidence: DuplicateVoteEvidence) -> None:
        vote = evidence.vote_a
        name = self.validators.validators[vote.validator_index].name
        log.warning(
            "EVIDENCE: validator %d (%s) signed conflicting votes at height %d round %d",
            vote.validator_index, name, vote.height, vote.round,
        )  # fmt: skip
        if not self.is_validator:
            return  # observers report to their operator only; validators put it on chain
        raw = self._reporter.report(evidence, self.mempool.next_nonce(self.key.address))
        if raw is None:
            return
        try:
            self.admit(raw)
        except LedgerError as exc:
            log.warning("could not submit the evidence report: %s", exc)

    def _start_engine(self) -> None:
        # Hand the engine the certificate of the last block, so it can re-send its precommits
        # to peers still deciding that height.
        height = self.store.height
        raw = self.store.get_certificate(height) if height > 0 else None
        last_commit = certificate_from_bytes(raw) if raw is not None else None
        self._dispatch(self._engine_call(self.engine.start, height + 1, last_commit))

    def _engine_call(self, step: Callable[..., list[Action]], *args: object) -> list[Action]:
        # A broken local store is fatal: stop cleanly rather than vote on guesses.
        if self.fatal_error is not None:
            return []
        try:
            return step(*args)
        except StorageError as exc:
            self._fail(exc)
            return []

    def _fail(self, exc: LedgerError) -> None:
        log.critical("stopping: %s", exc)
        self.fatal_error = exc
        self.stop()

    def _fire_timeout(self, timeout: Timeout) -> None:
        self._catch_engine_up()
        self._dispatch(self._engine_call(self.engine.on_timeout, timeout))

    def _commit(self, action: Commit) -> None:
        if action.height != self.store.height + 1:
            return  # block sync got there first
        try:
            executed = self.app.commit(action.certificate, action.block)
        except StorageError as exc:
            self._fail(exc)
            return
        except LedgerError:
            log.exception("cannot commit decided block %d; will block-sync it", action.height)
            self.sync.request()
            return
        # Extra rounds mean a proposer was slow or missing: worth an operator's attention.
        log.log(
            logging.WARNING if action.certificate.round > 0 else logging.INFO,
            "committed block %d (round %d) with %d txs, %.0f ms after the previous",
            action.height,
            action.certificate.round,
            executed.block.header.tx_count,
            (time.monotonic() - self._last_commit_s) * 1000,
        )
        self.after_commit(executed)

    def after_commit(self, executed: ExecutedBlock) -> None:
        """Notify waiters and subscribers, then schedule the next height."""
        self.after_commit_synced(executed)
        self._waiting_next = True
        self._next_height_wanted = False
        loop = asyncio.get_running_loop()
        loop.call_later(self.config.consensus.commit_wait_ms / 1000, self._after_commit_wait)

    def after_commit_synced(self, executed: ExecutedBlock) -> None:
        """Notify commit waiters and block subscribers of a newly stored block."""
        self._last_commit_s = time.monotonic()
        expired = self.mempool.evict_expired(self.store.height)
        if expired:
            log.info("dropped %d transactions pending for too many blocks", expired)
        height = executed.block.height
        event = CommittedEvent(executed, height)
        if self._waiters:
            for index, receipt in enumerate(executed.receipts):
                waiters = self._waiters.pop(receipt.tx_hash, None)
                if waiters:
                    self._resolve(waiters, CommittedTx(height, index, receipt))
        for subscriber in list(self._subscribers):
            subscriber(event)

    @staticmethod
    def _resolve(waiters: list[asyncio.Future[CommittedTx]], committed: CommittedTx) -> None:
        for fut in waiters:
            if not fut.done():
                fut.set_result(committed)

    def _after_commit_wait(self) -> None:
        if not self._waiting_next:
            return
        self._next_height_wanted = True
        if self.mempool.has_ready():
            self._start_next_height()
            return
        delay = self.config.consensus.empty_block_interval_ms / 1000
        asyncio.get_running_loop().call_later(
            delay, self._empty_interval_elapsed, self.store.height
        )

    def _empty_interval_elapsed(self, height: int) -> None:
        if self._waiting_next and self.store.height == height:
            self._start_next_height()

    def _start_next_height(self) -> None:
        self._waiting_next = False
        self._next_height_wanted = False
        self._start_engine()

    def resume_after_sync(self) -> None:
        """Called after block sync: rejoin consensus at the store's height if it moved on."""
        if self.store.height >= self.engine.height:
            self._waiting_next = False
            self._start_engine()

    async def _watch_stalls(self) -> None:
        # Belt and braces beside SyncNeeded: when no block commits for a while, ask peers.
        while True:
            await asyncio.sleep(_STALL_CHECK_S)
            if time.monotonic() - self._last_commit_s > max(
                _STALL_CHECK_S, self.config.consensus.empty_block_interval_ms / 1000 * 2
            ):
                self.sync.request()

    # ------------------------------------------------------------------ transactions

    def admit(self, raw: bytes) -> SignedTx:
        """Admit one client transaction, gossip it, and wake block production."""
        self._check_accepts_txs()
        tx = self.mempool.admit(raw)
        self._gossip([raw])
        self._wake_for_txs([tx])
        return tx

    async def admit_many(self, raws: list[bytes]) -> list[SignedTx | LedgerError]:
        """Admit a batch of client transactions; gossip the accepted ones.

        Admits in slices and yields in between, so a large batch of signature checks never
        holds up consensus messages.
        """
        self._check_accepts_txs()
        results: list[SignedTx | LedgerError] = []
        for start in range(0, len(raws), ADMIT_SLICE):
            accepted: list[SignedTx] = []
            for raw in raws[start : start + ADMIT_SLICE]:
                try:
                    tx = self.mempool.admit(raw)
                except LedgerError as exc:
                    results.append(exc)
                else:
                    results.append(tx)
                    accepted.append(tx)
            if accepted:
                self._gossip([tx.raw for tx in accepted])
                self._wake_for_txs(accepted)
            await asyncio.sleep(0)
        return results

    def _check_accepts_txs(self) -> None:
        # Validators accept gossip from validators only, so a transaction an observer admitted
        # would never reach a block: refuse it with a clear error instead.
        if not self.is_validator:
            raise PreconditionFailed(
                "this node is an observer: submit transactions to a validator", "observer_node"
            )

    def _gossip(self, raws: list[bytes]) -> None:
        # Peers accept gossip from validators only (an observer's peers would refuse it).
        if self.is_validator:
            self.peers.gossip_txs(raws)

    def admit_gossip(self, raws: list[bytes]) -> int:
        """Admit transactions gossiped by a peer (not re-gossiped: every node hears the origin)."""
        accepted: list[SignedTx] = []
        invalid: list[LedgerError] = []
        for raw in raws:
            try:
                accepted.append(self.mempool.admit(raw))
            except InvalidTransaction as exc:
                invalid.append(exc)  # a peer relaying garbage is worth a line in the log
            except LedgerError:
                pass  # duplicates and used nonces are normal in gossip
        if invalid:
            log.warning("gossip: refused %d invalid transactions (last: %s)", len(invalid),
                        invalid[-1].message)  # fmt: skip
        self._wake_for_txs(accepted)
        return len(accepted)

    def _wake_for_txs(self, txs: list[SignedTx]) -> None:
        # Only a transaction that can go into the next block starts it (one stuck behind a nonce
        # gap must not make empty blocks). Deferred to the next loop turn: a block is never
        # committed inside an admission call, so a caller can always register
        # wait_for_commit() right after admit() returns.
        if self._waiting_next and self._next_height_wanted and any(map(self.mempool.is_ready, txs)):
            asyncio.get_running_loop().call_soon(self._start_next_height_if_waiting)

    def _start_next_height_if_waiting(self) -> None:
        if self._waiting_next:
            self._start_next_height()

    def wait_for_commit(self, tx_hash: bytes) -> asyncio.Future[CommittedTx]:
        """A future resolved, with its receipt, when the transaction with this id commits."""
        fut: asyncio.Future[CommittedTx] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(tx_hash, []).append(fut)
        fut.add_done_callback(lambda f: self._forget_waiter(tx_hash, f))
        return fut

    def _forget_waiter(self, tx_hash: bytes, fut: asyncio.Future[CommittedTx]) -> None:
        # A waiter that timed out is cancelled: drop it so waiters never pile up.
        waiters = self._waiters.get(tx_hash)
        if waiters is not None and fut in waiters:
            waiters.remove(fut)
            if not waiters:
                del self._waiters[tx_hash]

    def subscribe(self, callback: Callable[[CommittedEvent], None]) -> Callable[[], None]:
        """Call ``callback`` for every committed block; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)


def _skewed(clock_ms: Callable[[], int], offset_ms: int) -> Callable[[], int]:
    # Test setting [debug] clock_offset_ms: the node's whole view of wall time moves by it.
    if offset_ms == 0:
        return clock_ms
    return lambda: clock_ms() + offset_ms


def _load_genesis(config: NodeConfig) -> Genesis:
    try:
        text = config.genesis_path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read genesis file {config.genesis_path}: {exc}") from exc
    return Genesis.from_json(text)
