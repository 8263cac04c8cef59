"""A validator node: drives consensus, admits transactions and notifies commit waiters.

``Node`` is handed its parts by ``node.build.build_node`` (the store, mempool, app, engine) and
talks to the outside only through ports (``node.ports``): a clock for every timer, a peer
transport, and services such as the gRPC server. So tests can drive real nodes in one process
with a virtual clock and an in-memory transport (tests/node/harness.py).

Everything runs on one asyncio event loop: gRPC handlers, consensus steps, timers and commits.
Consensus steps and block commits are synchronous calls that never await, so no two of them ever
interleave and the engine needs no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping

from carbon_ticket.chain.errors import (
    InvalidTransaction,
    LedgerError,
    StorageError,
)
from carbon_ticket.chain.store import BlockStore
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.consensus import (
    Action,
    Broadcast,
    Commit,
    DuplicateVoteEvidence,
    Engine,
    EvidenceFound,
    FetchBlock,
    Proposal,
    ScheduleTimeout,
    SyncNeeded,
    Timeout,
    Vote,
)
from carbon_ticket.node.app import ExecutedBlock, LedgerApp
from carbon_ticket.node.codec import certificate_from_bytes
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.errors import DiskFull, StoreDamaged
from carbon_ticket.node.evidence import EvidenceReporter
from carbon_ticket.node.ports import (
    Clock,
    CommittedEvent,
    CommittedTx,
    NodeInfo,
    PeerTransport,
    Service,
    TimerHandle,
    TxPool,
)
from carbon_ticket.node.sync import BlockSync
from carbon_ticket.node.validators import validator_peers
from carbon_ticket.node.verify_pool import VerifyPool

__all__ = ["CommittedEvent", "CommittedTx", "Node"]

log = logging.getLogger(__name__)

_STALL_CHECK_S = 2.0
# A shutdown step that takes longer than this is logged with the time it took.
_SLOW_SHUTDOWN_STEP_S = 2.0
# Transactions admitted between two yields to the event loop.
ADMIT_SLICE = 100
_BAD_SIGNATURE_LOG_S = 10.0
# Every this many blocks, the pending transactions admitted in the previous this many blocks,
# ending _REGOSSIP_AFTER_BLOCKS ago, are gossiped again, at most _REGOSSIP_MAX_TXS of them: each
# once (``Node._gossip_stale``).
_REGOSSIP_EVERY_BLOCKS = 10
_REGOSSIP_AFTER_BLOCKS = 5
_REGOSSIP_MAX_TXS = 1_000


def _nothing() -> None:
    pass


def _ignore_duration(seconds: float) -> None:
    pass


def _in_other_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is not loop
    except RuntimeError:
        return True


class Node:
    """One validator (or observer): consensus driving, admission and commit notification.

    It owns the parts it is given and closes them on ``shutdown``.
    """

    def __init__(
        self,
        config: NodeConfig,
        info: NodeInfo,
        *,
        store: BlockStore,
        mempool: TxPool,
        app: LedgerApp,
        engine: Engine,
        transport: PeerTransport,
        sync: BlockSync,
        clock: Clock,
        reporter: EvidenceReporter,
        verify_pool: VerifyPool | None = None,
    ) -> None:
        self.config = config
        self.info = info
        self.chain_id = info.chain_id
        # The set in effect at each height (node.validators.StateValidatorSets).
        self.validator_sets = info.validator_sets
        self.store = store
        self.mempool = mempool
        self.app = app
        self.engine = engine
        self.transport = transport
        self.sync = sync
        sync.attach(self.after_commit_synced, self.resume_after_sync, self.fail)
        self._clock = clock
        self._reporter = reporter
        self._verify_pool = verify_pool
        self.services: list[Service] = []
        self._peer_list = self._peers()
        self._subscribers: list[Callable[[CommittedEvent], None]] = []
        self._waiters: dict[bytes, list[asyncio.Future[CommittedTx]]] = {}
        self._waiting_next = False  # committed, waiting to start the next height
        self._next_height_wanted = False
        self._last_commit_s = clock.monotonic_s()
        self._height_started_s = clock.monotonic_s()
        self._timers: set[TimerHandle] = set()
        self._stopping: asyncio.Event | None = None
        self._starting: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._bad_signature_logged_s = -_BAD_SIGNATURE_LOG_S
        self._fetching: set[tuple[int, bytes]] = set()
        self._logged_lock: tuple[int, int, bytes] | None = None
        self.fatal_error: LedgerError | None = None
        # Metrics hooks (node.metrics sets them when metrics are on); no-ops otherwise.
        self.evidence_seen = 0
        self.on_dispatch: Callable[[], None] = _nothing
        self.on_block_commit_s: Callable[[float], None] = _ignore_duration

    @property
    def is_validator(self) -> bool:
        """Whether this node signs at the height consensus is deciding (else it observes).

        Per height: a node added to the set starts signing at its effective height, a removed
        one becomes an observer there.
        """
        return self.engine.index is not None

    @property
    def verify_pool(self) -> VerifyPool | None:
        """The worker threads that check signatures of batches and synced blocks (None: every
        check runs on the event loop); ``shutdown`` closes them."""
        return self._verify_pool

    # ------------------------------------------------------------------ lifecycle

    def add_service(self, service: Service) -> None:
        """Run ``service`` with the node: started first in ``start``, closed in ``shutdown``."""
        self.services.append(service)

    async def serve(self) -> None:
        """Run until ``stop()`` is called; then shut down cleanly, losing nothing committed."""
        self._stopping = asyncio.Event()
        self._starting = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
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
        """Start the services (the API port), connect peers, catch up, and join consensus."""
        for service in self.services:
            await service.start()
        # Dial the validators the committed state names (the config's list may be older).
        self.transport.set_peers(self._peer_list)
        self.transport.start()
        if self.config.debug.clock_offset_ms:
            log.warning(
                "TEST SETTING debug.clock_offset_ms = %d: this node's clock is skewed on "
                "purpose; never use it outside tests",
                self.config.debug.clock_offset_ms,
            )
        if self.config.debug.simulated_rtt_ms or self.config.debug.simulated_loss_ppm:
            log.warning(
                "TEST SETTING debug.simulated_rtt_ms = %d, simulated_loss_ppm = %d: links to "
                "peers are slowed and lossy on purpose; never use it outside benchmarks",
                self.config.debug.simulated_rtt_ms,
                self.config.debug.simulated_loss_ppm,
            )
        log.info(
            "node %s listening on %s (chain %s, height %d, %s)",
            self.config.name,
            self.config.listen,
            self.chain_id,
            self.store.height,
            "validator" if self._signs_at(self.store.height + 1) else "observer",
        )
        try:
            await self.sync.catch_up()
        except (DiskFull, StoreDamaged) as exc:
            self.fail(exc)  # our own store, not a peer: stop (stop() cancels this task)
            return
        except Exception:
            log.exception("initial block sync failed; joining consensus at height %d",
                          self.store.height + 1)  # fmt: skip
        self._start_engine()
        self._later(_STALL_CHECK_S, self._check_stall)

    async def shutdown(self) -> None:
        """Stop serving and close the store (every committed block is already synced).

        A step that takes longer than ``_SLOW_SHUTDOWN_STEP_S`` is logged with its time: a
        supervisor kills a node that does not stop within its grace period (``devnet up`` after
        10 s), and the log then says which step it was waiting for."""
        log.info("node %s stopping at height %d", self.config.name, self.store.height)
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        tasks = [*self._tasks, *self.sync.tasks()]
        for task in tasks:
            task.cancel()
        with self._timed_step("its tasks to end"):
            for task in tasks:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        for service in reversed(self.services):
            with self._timed_step(f"closing {type(service).__name__}"):
                await service.close()
        with self._timed_step("closing the peer links"):
            await self.transport.close()
        if self._verify_pool is not None:
            self._verify_pool.close()
        with self._timed_step("closing the store"):
            self.store.close()
        log.info("node %s stopped at height %d", self.config.name, self.store.height)

    @contextlib.contextmanager
    def _timed_step(self, what: str) -> Iterator[None]:
        """Log ``what`` with its time when it takes longer than ``_SLOW_SHUTDOWN_STEP_S``."""
        started_s = self._clock.monotonic_s()
        try:
            yield
        finally:
            took_s = self._clock.monotonic_s() - started_s
            if took_s > _SLOW_SHUTDOWN_STEP_S:
                log.warning("shutdown: %s took %.1f s", what, took_s)

    def _later(self, delay_s: float, callback: Callable[[], None]) -> None:
        # Every timer goes through the clock port and is remembered, so shutdown cancels them
        # all: a closed node never acts again (in-process restarts rely on it).
        def fire() -> None:
            self._timers.discard(timer)
            callback()

        timer = self._clock.call_later(delay_s, fire)
        self._timers.add(timer)

    # ------------------------------------------------------------------ consensus driving

    def on_consensus_message(self, message: Proposal | Vote) -> None:
        """Feed one peer message to the engine (signature checks happen inside)."""
        self._catch_engine_up()
        if isinstance(message, Vote):
            actions = self._engine_call(self.engine.on_vote, message)
        else:
            # Its arrival time decides whether a fresh proposal is timely (app.validate).
            self.app.note_proposal(message.block_hash, message.round, message.pol_round)
            actions = self._engine_call(self.engine.on_proposal, message)
        dropped = self.engine.last_drop
        if dropped == "bad_signature":
            self._log_bad_signatures()
        self._dispatch(actions)
        if dropped is None and self._waiting_next and self.engine.next_height_ready():
            # The next height has begun elsewhere (its first proposer proposed, or validators
            # with f+1 power signed there): start now rather than wait for transactions. One
            # validator alone cannot trigger this and defeat empty_block_interval_ms.
            self._start_next_height()

    def _log_bad_signatures(self) -> None:
        # Rate-limited: a flood of forged messages must not become a flood of log lines.
        now = self._clock.monotonic_s()
        if now - self._bad_signature_logged_s >= _BAD_SIGNATURE_LOG_S:
            self._bad_signature_logged_s = now
            log.warning("dropped consensus messages so far: %s", dict(self.engine.dropped))

    def _catch_engine_up(self) -> None:
        # Block sync may have moved the store past the engine's height: rejoin at the top.
        if not self._waiting_next and self.store.height >= self.engine.height:
            self._start_engine()

    def _dispatch(self, actions: list[Action]) -> None:
        if self.fatal_error is not None:
            return  # stopping on a store fault: act on nothing, log no lock never saved
        self._log_new_lock()
        for action in actions:
            if isinstance(action, Broadcast):
                # Peers accept consensus messages from validators only: an observer keeps quiet.
                if self.is_validator:
                    self.transport.broadcast_consensus(action.message)
            elif isinstance(action, ScheduleTimeout):
                self._later(action.delay_ms / 1000, self._timeout_callback(action.timeout))
            elif isinstance(action, Commit):
                self._commit(action)
            elif isinstance(action, EvidenceFound):
                self._on_evidence(action.evidence)
            elif isinstance(action, SyncNeeded):
                self.sync.request()
            elif isinstance(action, FetchBlock):
                self._fetch_block(action)
        self.on_dispatch()

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
            for payload in await self.transport.fetch_block(action.height, action.block_hash):
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
        self.evidence_seen += 1
        vote = evidence.vote_a
        validators = self.validator_sets.at(vote.height)
        name = "?"
        if validators is not None and vote.validator_index < validators.size:
            name = validators.validators[vote.validator_index].name
        log.warning(
            "EVIDENCE: validator %d (%s) signed conflicting votes at height %d round %d",
            vote.validator_index, name, vote.height, vote.round,
        )  # fmt: skip
        if not self.is_validator:
            return  # observers report to their operator only; validators put it on chain
        raw = self._reporter.report(evidence, self.mempool.next_nonce(self._reporter.address))
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
        self._height_started_s = self._clock.monotonic_s()
        raw = self.store.get_certificate(height) if height > 0 else None
        last_commit = certificate_from_bytes(raw) if raw is not None else None
        was_validator = self.is_validator
        self._dispatch(self._engine_call(self.engine.start, height + 1, last_commit))
        if self.is_validator != was_validator:
            # The set changed at this height: an operator waits for exactly this line.
            role = "a validator: it signs" if self.is_validator else "an observer: it does not sign"
            log.info("from height %d this node is %s", height + 1, role)

    def _signs_at(self, height: int) -> bool:
        validators = self.validator_sets.at(height)
        return validators is not None and validators.index_of(self._reporter.public_key) is not None

    def _engine_call(self, step: Callable[..., list[Action]], *args: object) -> list[Action]:
        # A broken local store is fatal: stop cleanly rather than vote on guesses.
        if self.fatal_error is not None:
            return []
        try:
            return step(*args)
        except StorageError as exc:
            self.fail(exc)
            return []

    def fail(self, exc: LedgerError) -> None:
        """Stop the node on a fault of its own store (full disk, damage): once, one line."""
        if self.fatal_error is not None:
            return
        log.critical("stopping: %s", exc)
        self.fatal_error = exc
        if self._loop is not None and _in_other_thread(self._loop):
            self._loop.call_soon_threadsafe(self.stop)  # met by a read in a worker thread
        else:
            self.stop()

    def _timeout_callback(self, timeout: Timeout) -> Callable[[], None]:
        return lambda: self._fire_timeout(timeout)

    def _fire_timeout(self, timeout: Timeout) -> None:
        self._catch_engine_up()
        self._dispatch(self._engine_call(self.engine.on_timeout, timeout))

    def _commit(self, action: Commit) -> None:
        if action.height != self.store.height + 1:
            return  # block sync got there first
        started_s = self._clock.monotonic_s()
        try:
            executed = self.app.commit(action.certificate, action.block)
        except StorageError as exc:
            self.fail(exc)
            return
        except LedgerError:
            log.exception("cannot commit decided block %d; will block-sync it", action.height)
            self.sync.request()
            return
        self.on_block_commit_s(self._clock.monotonic_s() - started_s)
        # Extra rounds mean a proposer was slow or missing: worth an operator's attention.
        log.log(
            logging.WARNING if action.certificate.round > 0 else logging.INFO,
            "committed block %d (round %d) with %d txs, %.0f ms after the previous",
            action.height,
            action.certificate.round,
            executed.block.header.tx_count,
            (self._clock.monotonic_s() - self._last_commit_s) * 1000,
        )
        self.after_commit(executed)

    def after_commit(self, executed: ExecutedBlock) -> None:
        """Notify waiters and subscribers, then schedule the next height."""
        self.after_commit_synced(executed)
        self._waiting_next = True
        self._next_height_wanted = False
        self._later(self._commit_wait_s(), self._after_commit_wait)

    def _commit_wait_s(self) -> float:
        # commit_wait_ms is the least time from the start of one height to the start of the
        # next, not a pause added after every commit: a height that took longer than that (over
        # a WAN its three message delays alone do) starts the next at once, since transactions
        # gathered while it was decided. Counting the wait from the commit instead added it to
        # every height's own duration and to every transaction's finality.
        took = self._clock.monotonic_s() - self._height_started_s
        return max(0.0, self.config.consensus.commit_wait_ms / 1000 - took)

    def after_commit_synced(self, executed: ExecutedBlock) -> None:
        """Notify commit waiters and block subscribers of a newly stored block."""
        self._last_commit_s = self._clock.monotonic_s()
        self._follow_validator_history()
        expired = self.mempool.evict_expired(self.store.height)
        if expired:
            log.info("dropped %d transactions pending for too many blocks", expired)
        height = executed.block.height
        if height % _REGOSSIP_EVERY_BLOCKS == 0:
            self._gossip_stale(height)
        event = CommittedEvent(executed, height)
        if self._waiters:
            for index, receipt in enumerate(executed.receipts):
                waiters = self._waiters.pop(receipt.tx_hash, None)
                if waiters:
                    self._resolve(waiters, CommittedTx(height, index, receipt))
        for subscriber in list(self._subscribers):
            subscriber(event)

    def _gossip_stale(self, height: int) -> None:
        # Gossip goes to each peer once, best effort: frames in flight when a link breaks (a
        # peer restarting) are lost, and a transaction only this node holds then waits for this
        # node's turn to propose. Transactions still pending some blocks after their admission
        # are sent once more (the windows of successive calls do not overlap, so one stuck
        # behind a nonce gap is not sent every time, nor crowds out newer ones); a peer that
        # holds them already refuses them by their bytes, before any signature check.
        last = height - _REGOSSIP_AFTER_BLOCKS
        raws = self.mempool.admitted_between(
            last - _REGOSSIP_EVERY_BLOCKS + 1, last, _REGOSSIP_MAX_TXS
        )
        if raws:
            self._gossip(raws)

    def _follow_validator_history(self) -> None:
        # A commit that scheduled a set change (or an address change), or reached the height
        # where one takes effect, changes whom to dial: the validators of the next height and
        # the one after, plus the configured peers.
        peers = self._peers()
        if peers == self._peer_list:
            return
        self._peer_list = peers
        log.info("validators of heights %d and %d changed; peers now: %s", self.store.height + 1,
                 self.store.height + 2, ", ".join(peers))  # fmt: skip
        self.transport.set_peers(peers)

    def _peers(self) -> list[str]:
        return validator_peers(self.validator_sets, self.config.peers, self.config.listen,
                               self._reporter.public_key)  # fmt: skip

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
        height = self.store.height
        self._later(delay, lambda: self._empty_interval_elapsed(height))

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

    def _check_stall(self) -> None:
        # Belt and braces beside SyncNeeded: when no block commits for a while, ask peers. An
        # observer hears no consensus at all (validators do not send it any): asking is how it
        # follows, so it asks every check instead of waiting two empty-block intervals (10 s
        # on a default network) behind the validators.
        quiet_s = self._clock.monotonic_s() - self._last_commit_s
        if not self.is_validator or quiet_s > max(
            _STALL_CHECK_S, self.config.consensus.empty_block_interval_ms / 1000 * 2
        ):
            self.sync.request()
        self._later(_STALL_CHECK_S, self._check_stall)

    # ------------------------------------------------------------------ transactions

    def admit(self, raw: bytes) -> SignedTx:
        """Admit one client transaction, gossip it, and wake block production."""
        tx = self.mempool.admit(raw)
        self._gossip([raw])
        self._wake_for_txs([tx])
        return tx

    async def admit_many(self, raws: list[bytes]) -> list[SignedTx | LedgerError]:
        """Admit a batch of client transactions; gossip the accepted ones.

        Admits in slices and yields in between, so a large batch of signature checks never
        holds up consensus messages.
        """
        refused = await self.precheck(raws)
        results: list[SignedTx | LedgerError] = []
        for start in range(0, len(raws), ADMIT_SLICE):
            accepted: list[SignedTx] = []
            for raw in raws[start : start + ADMIT_SLICE]:
                failed = refused.get(raw)
                if failed is not None:
                    self.mempool.refuse(failed)
                    results.append(failed)
                    continue
                try:
                    tx = self.mempool.admit(raw)
                except LedgerError as exc:
                    # Without its traceback: a batch of 10,000 refusals would otherwise keep
                    # every check's frames (and the bytes they held) until the reply is sent.
                    results.append(exc.with_traceback(None))
                else:
                    results.append(tx)
                    accepted.append(tx)
            if accepted:
                self._gossip([tx.raw for tx in accepted])
                self._wake_for_txs(accepted)
            await asyncio.sleep(0)
        return results

    def _gossip(self, raws: list[bytes]) -> None:
        if self.is_validator:
            self.transport.gossip_txs(raws)
        else:
            # Peers take gossip from validators only: an observer hands what it admitted to the
            # validators' public API, like any client (issue 18).
            self.transport.forward_txs(raws)

    async def precheck(self, raws: list[bytes]) -> Mapping[bytes, LedgerError]:
        """Verify a batch's unknown envelopes in the worker threads, if the node has them
        (``node.verify_pool``); the refusals by envelope. The valid ones wait, verified, in the
        mempool for their admission."""
        if self._verify_pool is None:
            return {}
        return await self._verify_pool.check(raws)

    def admit_gossip(
        self, raws: list[bytes], refused: Mapping[bytes, LedgerError] | None = None
    ) -> int:
        """Admit transactions gossiped by a peer (not re-gossiped: every node hears the origin).

        ``refused``: envelopes ``precheck`` found invalid: counted and logged, not checked again.
        """
        accepted: list[SignedTx] = []
        invalid: list[LedgerError] = []
        for raw in raws:
            failed = refused.get(raw) if refused else None
            if failed is not None:
                self.mempool.refuse(failed)
                if isinstance(failed, InvalidTransaction):
                    invalid.append(failed)
                continue
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
            self._later(0.0, self._start_next_height_if_waiting)

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
