"""Block sync: a node that is behind fetches committed blocks with their certificates.

Each fetched block is trusted only after its commit certificate verifies against the validator
set in effect at its height (more than 2/3 of its power precommitted exactly that header hash;
the set comes from the state the blocks before it left, so a node syncing from genesis follows
every set change) and executing it reproduces the
app hash in its header. Then it is committed like any other block and the node rejoins consensus.

The transactions' own signatures are not checked again by default (``[sync]
verify_tx_signatures = false``): the header hash the certificate signs commits to every envelope,
signatures included (``envelopes_root``), and no honest validator precommits a block before it has
verified every signature in it, so with at most f faulty validators a certified block carries
only valid signatures. Checking them again costs more than half of a syncing node's CPU and
guards only against more than 2/3 of the voting power signing forged transactions; an auditor's
node that wants that guard sets ``verify_tx_signatures = true`` (a retirement's offline proof,
``carbon-ticket verify``, checks its transaction's signature either way). Then blocks are read
ahead of the one executing (at most ``_READ_AHEAD_BLOCKS``) and their signatures checked
meanwhile in the node's worker threads (``node.verify_pool``, shared with admission). Either
way blocks are applied strictly in order, and nothing read ahead of an invalid block is applied.

Peers are ranked by what they delivered, not by the height they claim: each peer has a penalty
score (decaying with a half-life) raised when it claimed to be ahead but delivered nothing or
less than it claimed, let a block wait beyond the per-block deadline, or sent an invalid block.
The least penalised peer ahead is tried first (the highest claim breaks ties), so a liar is tried
last in later catch-ups too, and a slow peer loses the stream after one per-block deadline. A
peer penalised beyond ``EXCLUDE_AT`` is not tried at all while a less penalised peer answers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import grpc

from carbon_ticket.chain.block import Block
from carbon_ticket.chain.errors import InvalidBlock, LedgerError, StorageError
from carbon_ticket.chain.store import StoreView
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.consensus import (
    ConsensusError,
    ValidatorSet,
    ValidatorSets,
    verify_certificate,
)
from carbon_ticket.node.app import ExecutedBlock
from carbon_ticket.node.codec import certificate_from_proto
from carbon_ticket.node.errors import DiskFull, StoreDamaged
from carbon_ticket.node.ports import SyncApp, SyncPeer, TxPrecheck
from carbon_ticket.node.validators import fixed_sets
from carbon_ticket.node.verify_pool import VerifyPool
from carbon_ticket.proto import ledger_pb2

__all__ = ["BLOCK_DEADLINE_S", "EXCLUDE_AT", "BlockSync", "PeerScores", "SyncPeer"]

log = logging.getLogger(__name__)

_STATUS_TIMEOUT_S = 2.0
_FETCH_TIMEOUT_S = 60.0
_BLOCKS_PER_REQUEST = 200
# Blocks received and being checked ahead of the one executing: enough to keep the verification
# threads busy while a block executes, few enough to bound memory (a block is a few MiB at most).
_READ_AHEAD_BLOCKS = 3
# Fetches of fewer blocks than this are logged at DEBUG (an observer following the chain).
_QUIET_FETCH_BLOCKS = 100
# How long the next block of a stream may take to arrive before the peer loses the stream.
# A full block (a few MiB) crosses a slow WAN link in well under this.
BLOCK_DEADLINE_S = 5.0
# Penalties (decaying by half every PENALTY_HALF_LIFE_S).
PENALTY_HALF_LIFE_S = 300.0
_NOTHING_DELIVERED = 2.0  # claimed to be ahead, sent nothing
_SHORT_DELIVERY = 1.0  # ended the stream before the height it claimed
_TOO_SLOW = 2.0  # a block missed the per-block deadline
_INVALID = 10.0  # a block or certificate that does not verify: a proven lie
_INTERRUPTED = 0.5  # the stream broke (network trouble is not always the peer's fault)
# A peer penalised this much is not tried at all while a less penalised peer answers (it is
# only "behind" a liar's claim): a liar at the chain's tip would cost a deadline per catch-up.
EXCLUDE_AT = 5.0


@dataclass(slots=True)
class _Score:
    penalty: float
    at_s: float


class PeerScores:
    """Per-peer penalty scores that decay exponentially with time."""

    def __init__(
        self,
        clock_s: Callable[[], float] = time.monotonic,
        half_life_s: float = PENALTY_HALF_LIFE_S,
    ) -> None:
        self._clock_s = clock_s
        self._half_life_s = half_life_s
        self._scores: dict[str, _Score] = {}

    def penalty(self, address: str) -> float:
        """The peer's current (decayed) penalty; 0 for a peer never penalised."""
        score = self._scores.get(address)
        if score is None:
            return 0.0
        elapsed = max(0.0, self._clock_s() - score.at_s)
        return score.penalty * math.pow(0.5, elapsed / self._half_life_s)

    def punish(self, address: str, amount: float) -> None:
        """Add ``amount`` to the peer's penalty."""
        self._scores[address] = _Score(self.penalty(address) + amount, self._clock_s())

    def reward(self, address: str) -> None:
        """A full, valid delivery halves the peer's penalty."""
        if address in self._scores:
            self._scores[address] = _Score(self.penalty(address) / 2, self._clock_s())

    def rank(self, candidates: Sequence[tuple[SyncPeer, int]]) -> list[tuple[SyncPeer, int]]:
        """Least penalised first; among equals, the highest claimed height first."""
        return sorted(candidates, key=lambda c: (round(self.penalty(c[0].address), 3), -c[1]))


def _ignore_synced(executed: ExecutedBlock) -> None:
    return None


def _log_fatal(exc: StorageError) -> None:
    log.critical("block sync stopped: %s", exc)


def _ignore_finished() -> None:
    return None


class BlockSync:
    """Catches a node up from its peers; at most one catch-up runs at a time.

    It reads the chain's height from ``store``, verifies each certificate against the set in
    effect at its height (``validators.at``: read from the state the previous block left),
    checks the transactions' signatures ahead in ``verify`` (the node's pool of threads), hands
    them to ``pool`` (the mempool) when their block is applied, commits through ``app`` and
    tells whoever ``attach``-ed (the node) about each synced block and the end of every
    background catch-up.
    """

    def __init__(
        self,
        chain_id: str,
        validators: ValidatorSets | ValidatorSet,
        store: StoreView,
        app: SyncApp,
        *,
        pool: TxPrecheck,
        verify: VerifyPool,
        peers: Callable[[], Sequence[SyncPeer]],
        scores: PeerScores | None = None,
        block_deadline_s: float = BLOCK_DEADLINE_S,
        verify_tx_signatures: bool = True,
    ) -> None:
        self.chain_id = chain_id
        self.validators = fixed_sets(validators)  # the set in effect at each height
        self.store = store
        self.app = app
        self._pool_txs = pool
        self._verify = verify
        self._peers = peers
        self.scores = scores if scores is not None else PeerScores()
        self._block_deadline_s = block_deadline_s
        # False: a verified certificate vouches for the transactions' signatures (see the module
        # docstring); True: each is checked again, in the worker threads.
        self._verify_tx_signatures = verify_tx_signatures
        self._on_synced: Callable[[ExecutedBlock], None] = _ignore_synced
        self._on_finished: Callable[[], None] = _ignore_finished
        self._on_fatal: Callable[[StorageError], None] = _log_fatal
        self._task: asyncio.Task[None] | None = None
        self.blocks_synced = 0
        self.target_height = 0  # the height the current catch-up aims at (for progress display)

    def attach(
        self,
        on_synced: Callable[[ExecutedBlock], None],
        on_finished: Callable[[], None],
        on_fatal: Callable[[StorageError], None] | None = None,
    ) -> None:
        """Call ``on_synced`` after each synced block is stored, ``on_finished`` after each
        background catch-up (successful or not) and ``on_fatal`` when the local store fails."""
        self._on_synced = on_synced
        self._on_finished = on_finished
        if on_fatal is not None:
            self._on_fatal = on_fatal

    def request(self) -> None:
        """Start a catch-up in the background unless one is running."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def tasks(self) -> list[asyncio.Task[None]]:
        """The running catch-up task, if any (for shutdown)."""
        return [self._task] if self._task is not None and not self._task.done() else []

    async def _run(self) -> None:
        try:
            await self.catch_up()
        except (DiskFull, StoreDamaged) as exc:
            self._on_fatal(exc)
        except Exception:
            log.exception("block sync failed; will retry when asked again")
        finally:
            # Whatever happened, the engine must continue from the store's height.
            self._on_finished()

    async def catch_up(self) -> int:
        """Fetch and apply blocks until no reachable peer is ahead; returns blocks applied.

        Peers are tried least penalised first (see ``PeerScores``); a peer that serves nothing
        or an invalid block is also skipped for the rest of this catch-up.
        """
        total = 0
        skipped: set[str] = set()
        while True:
            candidates = [c for c in await self._peers_ahead() if c[0].address not in skipped]
            if not candidates:
                return total
            peer, height = self.scores.rank(candidates)[0]
            applied = await self._fetch_from(peer, height)
            total += applied
            if applied == 0:
                skipped.add(peer.address)

    async def _peers_ahead(self) -> list[tuple[SyncPeer, int]]:
        peers = list(self._peers())
        if not peers:
            return []
        statuses = await asyncio.gather(*(peer.status(_STATUS_TIMEOUT_S) for peer in peers))
        answering = [
            (peer, int(status.height))
            for peer, status in zip(peers, statuses, strict=True)
            if status is not None and status.chain_id == self.chain_id
        ]
        trusted = [c for c in answering if self.scores.penalty(c[0].address) < EXCLUDE_AT]
        # Only when every peer that answers is heavily penalised are those tried at all.
        candidates = trusted if trusted else answering
        return [c for c in candidates if c[1] > self.store.height]

    async def _fetch_from(self, peer: SyncPeer, target: int) -> int:
        store = self.store
        start = store.height + 1
        if start > target:
            return 0
        # What the peer's claim promises for this request.
        promised = min(target, start + _BLOCKS_PER_REQUEST - 1)
        # An observer follows by fetching a few blocks every couple of seconds: only a real
        # catch-up is worth a line at INFO.
        level = logging.INFO if target - start >= _QUIET_FETCH_BLOCKS else logging.DEBUG
        log.log(level, "block sync: fetching %d..%d from %s", start, target, peer.address)
        self.target_height = target
        applied, penalty, why = 0, 0.0, ""
        stream = peer.blocks(start, _BLOCKS_PER_REQUEST, _FETCH_TIMEOUT_S)
        ahead: asyncio.Queue[_Fetched | _StreamEnd] = asyncio.Queue(_READ_AHEAD_BLOCKS)
        reader = asyncio.get_running_loop().create_task(self._read_ahead(stream, ahead))
        try:
            while True:
                item = await ahead.get()
                if isinstance(item, _StreamEnd):
                    if item.error is not None:
                        raise item.error
                    break
                committed = item.committed
                if committed.block.header.height != store.height + 1:
                    item.checks.cancel()
                    continue  # consensus committed it meanwhile, or the peer sent junk
                # The checks ran in threads while the blocks before this one executed; they are
                # handed to the pool only now, so read-ahead cannot evict them before use.
                verified = await item.checks
                if verified:
                    self._pool_txs.remember(verified)
                self.apply(committed)
                applied += 1
        except TimeoutError:
            penalty, why = _TOO_SLOW, f"no block within {self._block_deadline_s:.1f} s"
        except grpc.aio.AioRpcError as exc:
            penalty, why = _INTERRUPTED, f"interrupted: {exc.code().name}"
        except (DiskFull, StoreDamaged):
            raise  # our own store failed: not the peer's fault, and fatal for this node
        except (LedgerError, ConsensusError) as exc:
            penalty, why = _INVALID, f"sent an invalid block: {exc}"
        finally:
            # Nothing read ahead of the last applied block is applied: stop reading, drop the
            # rest (and its pending checks), then end the call.
            await _stop(reader)
            _discard(ahead)
            await _close(stream)
        if not why and store.height < promised:
            # The stream ended early: the peer claimed blocks it did not deliver.
            penalty = _NOTHING_DELIVERED if applied == 0 else _SHORT_DELIVERY
            why = f"claimed height {target} but delivered up to {store.height}"
        if penalty:
            self.scores.punish(peer.address, penalty)
            log.warning("block sync: peer %s %s (penalty now %.1f)", peer.address, why,
                        self.scores.penalty(peer.address))  # fmt: skip
        else:
            self.scores.reward(peer.address)
        self.blocks_synced += applied
        return applied

    async def _read_ahead(
        self,
        stream: AsyncIterator[ledger_pb2.CommittedBlock],
        ahead: asyncio.Queue[_Fetched | _StreamEnd],
    ) -> None:
        # Receives the next blocks while the current one executes, and starts each one's
        # signature checks in the worker threads as soon as it arrives: fetching, checking and
        # executing overlap. The queue's bound limits the blocks held in memory. How the stream
        # ended (an error included) is queued after the last block, so the blocks before it
        # are still applied in order.
        end = _StreamEnd()
        try:
            while True:
                try:
                    # Not asyncio.wait_for: in Python 3.11 it can swallow our cancellation when
                    # the block arrives at the same moment, and the reader would then wait
                    # forever to queue a block nobody takes.
                    async with asyncio.timeout(self._block_deadline_s):
                        committed = await anext(stream)
                except StopAsyncIteration:
                    break
                await ahead.put(_Fetched(committed, self._start_checks(committed.block.txs)))
        except Exception as exc:  # a deadline, a broken call, or anything else: raised in order
            end = _StreamEnd(exc)
        await ahead.put(end)

    def _start_checks(self, raws: Sequence[bytes]) -> asyncio.Future[list[SignedTx]]:
        if self._verify_tx_signatures:
            return asyncio.ensure_future(self._preverify(raws))
        nothing: asyncio.Future[list[SignedTx]] = asyncio.get_running_loop().create_future()
        nothing.set_result([])  # the certificate will vouch for them
        return nothing

    async def _preverify(self, raws: Sequence[bytes]) -> list[SignedTx]:
        """Verify the envelopes the mempool has not verified yet, in the node's worker threads.

        Signature checks of a fetched block run in threads (PyNaCl releases the GIL) while the
        event loop executes the blocks before it. Invalid transactions are simply left out;
        applying the block then rejects it.
        """
        return (await self._verify.verified(raws)).txs

    def apply(self, committed: ledger_pb2.CommittedBlock) -> None:
        """Verify one fetched block and its certificate, then commit it."""
        block = Block.from_proto(committed.block)
        cert = certificate_from_proto(committed.certificate)
        # Verify the certificate proves exactly this block final.
        if cert.block_hash != block.hash or cert.height != block.height:
            raise InvalidBlock("certificate does not match the block", "certificate_mismatch")
        # Verify it against the set of its height, which the block before it made known.
        validators = self.validators.at(cert.height)
        if validators is None:
            raise InvalidBlock(f"no known validator set for height {cert.height}",
                               "certificate_mismatch")  # fmt: skip
        verify_certificate(self.chain_id, validators, cert)
        # Executed here, unless held already; from here on the certificate is verified.
        executed = self.app.commit(cert, block, certified=not self._verify_tx_signatures)
        self._on_synced(executed)


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A block read ahead, with its transactions' signature checks (running or done)."""

    committed: ledger_pb2.CommittedBlock
    checks: asyncio.Future[list[SignedTx]]


@dataclass(frozen=True, slots=True)
class _StreamEnd:
    """The end of a stream: normal, or the error that ended it (a deadline, a broken call)."""

    error: BaseException | None = None


async def _stop(task: asyncio.Task[None]) -> None:
    # asyncio.wait, not await: the reader's cancellation must not look like our own.
    task.cancel()
    await asyncio.wait([task])


def _discard(ahead: asyncio.Queue[_Fetched | _StreamEnd]) -> None:
    # Blocks read ahead of an invalid block or a failure are dropped unapplied.
    while not ahead.empty():
        item = ahead.get_nowait()
        if isinstance(item, _Fetched):
            item.checks.cancel()


async def _close(stream: AsyncIterator[ledger_pb2.CommittedBlock]) -> None:
    # Ends the call behind an abandoned stream (an async generator closes its gRPC call).
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except (grpc.aio.AioRpcError, RuntimeError):
            pass
