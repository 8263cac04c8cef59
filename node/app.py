"""The bridge between consensus and the ledger: proposes, validates and commits blocks.

Implements the consensus ``Application`` interface over a block store (``chain.store.BlockStore``)
and the mempool. Once per node, and no more:

- a block is decoded: the proposer builds it and never decodes its own payload; another node
  decodes a payload when it first binds it to its hash (``block_hash``) and keeps the decoded
  block by payload for ``validate`` and ``timely``;
- a block is executed: while building or validating; the ``ExecutedBlock`` (block, checked
  transactions, writes, receipts, app hash) is kept by block hash, and ``commit`` takes it by
  the certificate's block hash and writes it in one atomic batch, without decoding or executing
  again. Commit waiters get their receipts from that same object (``node.node.CommittedTx``);
- a transaction is hashed and verified: at admission (the mempool keeps the ``SignedTx``, by id
  and by envelope bytes), or here when a block brings one the mempool does not know. A block's
  tx ids are taken from the mempool's objects, by envelope bytes, not recomputed.

The consensus boundary stays bytes plus hash: the engine is generic, and payloads travel and are
saved as bytes. Decoded and executed blocks are the app's own caches, bounded and emptied at
every commit, so the engine never needs to know a block's type.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from carbon_ticket.chain import BlockContext, apply_block
from carbon_ticket.chain.block import Block, build_block
from carbon_ticket.chain.errors import InvalidBlock, LedgerError, PreconditionFailed, StorageError
from carbon_ticket.chain.results import BlockResult, TxResult
from carbon_ticket.chain.store import BlockStore
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.consensus import CommitCertificate, ValidatorSet, ValidatorSets
from carbon_ticket.node.clock_watch import ClockWatch
from carbon_ticket.node.codec import certificate_to_bytes
from carbon_ticket.node.config import TimeSettings
from carbon_ticket.node.mempool import Mempool
from carbon_ticket.node.params import LimitsSource, limits_of
from carbon_ticket.node.validators import fixed_sets

__all__ = ["INADMISSIBLE", "BuildBudget", "ExecutedBlock", "LedgerApp"]

log = logging.getLogger(__name__)

_MAX_RECEIPTS = 64
_DELAY_GROWTH = 1.1
# Room for the header and framing when filling a block up to the byte limit.
_BLOCK_OVERHEAD = 4096
_MAX_EXECUTED = 8
# Decoded payloads kept between `block_hash` and `validate` (a few proposals per round).
_MAX_DECODED = 8
# A fresh proposal carries the time its building started, and the others prevote it only if it
# arrives within message_delay_ms of that time (``timely``): building may take this share of it,
# the rest is for encoding, the network and the receivers' queues.
_BUILD_SHARE = 1 / 3
# Weight of the newest block in the running estimate of execution time per unit of work.
_COST_WEIGHT = 0.3
# Blocks lighter than this say little about the cost per unit (fixed costs dominate them).
_MIN_SAMPLE_UNITS = 50
# However slow the host, a proposal may hold this much work: the chain always moves.
_MIN_BUDGET_UNITS = 100
# Receipt codes of txs that change nothing because they are not admissible at this point of the
# chain (see chain.execute.apply_tx): wrong chain, unregistered signer, wrong nonce.
INADMISSIBLE = frozenset({"wrong_chain_id", "unknown_signer", "wrong_nonce"})


@dataclass(frozen=True, slots=True)
class ExecutedBlock:
    """A block together with the outcome of executing it against the current state."""

    block: Block
    txs: tuple[SignedTx, ...]
    result: BlockResult

    @property
    def receipts(self) -> tuple[TxResult, ...]:
        """The block's receipts, in block order."""
        return self.result.receipts


class BuildBudget:
    """How much work the next proposal may hold so that building it takes at most ``budget_s``.

    Estimated from this node's own execution of recent blocks (proposed or validated), in
    seconds per work unit: on a host where the CPU is short the estimate grows and proposals
    shrink, so they still arrive timely; otherwise the budget is far above ``max_block_txs``
    and changes nothing. Before a first estimate there is no bound. Proposer-side only: which
    blocks are valid does not depend on it (issue 19: a 4,000-transfer block took 4.6 s to
    build on a loaded host, arrived untimely, and the height went to another round).
    """

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.seconds_per_unit: float | None = None

    def observe(self, units: int, seconds: float) -> None:
        """Note that executing ``units`` of work took ``seconds``."""
        if units < _MIN_SAMPLE_UNITS:
            return
        cost = seconds / units
        known = self.seconds_per_unit
        self.seconds_per_unit = cost if known is None else known + _COST_WEIGHT * (cost - known)

    def units(self) -> int | None:
        """The most work the next proposal should hold, or None before any estimate."""
        if not self.seconds_per_unit:
            return None
        return max(_MIN_BUDGET_UNITS, int(self.budget_s / self.seconds_per_unit))


@dataclass(frozen=True, slots=True)
class _Receipt:
    # When a fresh proposal arrived (this node's clock), and for which round.
    received_ms: int
    round: int


class LedgerApp:
    """Consensus Application over the store: ``propose``, ``validate`` and ``commit``."""

    def __init__(
        self,
        store: BlockStore,
        mempool: Mempool,
        validators: ValidatorSets | ValidatorSet,
        proposer_key: bytes,
        limits: LimitsSource,
        max_block_txs: int,
        clock_ms: Callable[[], int],
        *,
        genesis_time_ms: int = 0,
        time_settings: TimeSettings | None = None,
        work_clock_s: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.store = store
        self.mempool = mempool
        # The set in effect at each height (node.validators.StateValidatorSets in a node).
        self.validator_sets = fixed_sets(validators)
        self.chain_id = store.chain_id
        self._proposer_key = proposer_key
        self._limits_of = limits_of(limits)  # read each time: governance may change them
        self._max_block_txs = max_block_txs
        self._clock_ms = clock_ms
        self._genesis_time_ms = genesis_time_ms
        self._time = time_settings or TimeSettings()
        # Times execution for the build budget (a clock of its own, so tests can drive it).
        self._work_clock_s = work_clock_s
        self.build_budget = BuildBudget(self._time.message_delay_ms / 1000 * _BUILD_SHARE)
        # Fresh proposals' arrival times by block hash, until validate judges them.
        self._receipts: dict[bytes, _Receipt] = {}
        self.clock_watch = ClockWatch(self._time, self._set_at(store.height + 1).size)
        # Executed blocks by hash, until the commit (which takes one of them).
        self._executed: dict[bytes, ExecutedBlock] = {}
        # Payload bytes -> bound block (decoded, roots checked), so nothing decodes twice. The
        # engine hands the same bytes object around, whose hash Python computes once.
        self._decoded: dict[bytes, Block] = {}

    # ------------------------------------------------------------------ Application interface

    def propose(self, height: int, round: int) -> tuple[bytes, bytes]:
        """Build, execute and encode the next block from the mempool."""
        self._expect_next(height)
        limits = self._limits_of()
        # In work units (a one-entry transfer is one), so also at most this many transactions;
        # fewer when this host could not build that much in time (``BuildBudget``).
        max_units = min(self._max_block_txs, limits.max_block_txs)
        affordable = self.build_budget.units()
        if affordable is not None and affordable < max_units:
            log.debug("proposal of height %d limited to %d units of work by the build budget",
                      height, affordable)  # fmt: skip
            max_units = affordable
        txs = self.mempool.reap(max_units, limits.max_block_bytes - _BLOCK_OVERHEAD)
        time_ms = max(self._clock_ms(), self._min_time_ms() + 1)
        result = self._execute(height, time_ms, txs)
        inadmissible = {r.tx_hash for r in result.receipts if r.error_code in INADMISSIBLE}
        if inadmissible:
            # Rare (the mempool hands out txs in nonce order): drop them and execute again.
            txs = [tx for tx in txs if tx.tx_hash not in inadmissible]
            result = self._execute(height, time_ms, txs)
        block = build_block(
            chain_id=self.chain_id,
            height=height,
            time_ms=time_ms,
            prev_hash=self.store.last_hash,
            app_hash=result.app_hash,
            proposer=self._proposer_key,
            validators_hash=self._set_at(height).hash(),
            next_validators_hash=self._set_at(height + 1).hash(),
            txs=[tx.raw for tx in txs],
            receipts=result.receipts,
            tx_ids=[tx.tx_hash for tx in txs],  # hashed at admission, not again
            receipts_root=result.results_root(),  # computed once, the store checks it too
        )
        payload = block.encode()
        self._remember_decoded(payload, block)  # our own payload is never decoded
        self._remember(ExecutedBlock(block, tuple(txs), result))
        return payload, block.hash

    def block_hash(self, height: int, payload: bytes) -> bytes | None:
        """The header hash ``payload`` commits to, or None if it is not a block for ``height``.

        Decodes (once: see ``_bound``), checks the height and the tx root, and hashes the
        header: no execution, so it is cheap enough to run on every incoming proposal.
        """
        block = self._bound(height, payload)
        return block.hash if block is not None else None

    def validate(self, height: int, payload: bytes) -> bytes | None:
        """The block hash when ``payload`` is a valid next block, else None (logged).

        Validity only: whether a fresh proposal was timely is a separate question (``timely``),
        so that a block some validators found late can still be locked on and committed.
        """
        block = self._bound(height, payload)
        if block is None:
            log.warning("rejected proposed block at height %d: it does not decode as a block "
                        "of this height with matching roots", height)  # fmt: skip
            return None
        try:
            executed = self.execute_block(height, block)
        except StorageError:
            raise  # our own store is broken: not the proposer's fault, and fatal for the node
        except LedgerError as exc:
            log.warning("rejected proposed block at height %d: %s", height, exc)
            return None
        return executed.block.hash

    def timely(self, height: int, round: int, payload: bytes) -> bool:
        """Whether a fresh proposal of ``payload`` in ``round`` was timely when it arrived.

        Proposer-based timestamps: asked by the engine before it prevotes a fresh proposal
        (L22 only; a re-proposed block keeps its old time and is not judged again). Our own
        proposals carry our own clock. A proposal whose arrival was not noted is not timely.
        """
        block = self._bound(height, payload)
        if block is None:
            return False
        header = block.header
        if header.proposer == self._proposer_key:
            return True
        receipt = self._receipts.get(block.hash)
        if receipt is None:
            log.warning("no arrival time noted for the fresh proposal of height %d round %d; "
                        "prevoting nil", height, round)  # fmt: skip
            return False
        precision = self._time.precision_ms
        # The delay allowance grows by 10% a round (as in CometBFT), so that a network slower
        # than configured still gets a timely proposal through after some rounds.
        delay = int(self._time.message_delay_ms * _DELAY_GROWTH ** min(round, 100))
        offset = receipt.received_ms - header.time_ms  # > 0: the proposal is older than our clock
        self.clock_watch.observe(header.proposer, offset)
        if -precision <= offset <= precision + delay:
            return True
        log.warning(
            "fresh proposal of validator %s at height %d round %d has a block time %+.3f s from "
            "this node's clock on receipt (allowed -%.3f..+%.3f s); prevoting nil",
            self._set_at(height).index_of(header.proposer), height, round, -offset / 1000,
            (precision + delay) / 1000, precision / 1000,
        )  # fmt: skip
        return False

    def note_proposal(self, block_hash: bytes, round: int, pol_round: int) -> None:
        """Record when a fresh proposal arrived (this node's clock), before consensus sees it.

        Called by the node for every proposal it receives; ``timely`` judges the block time
        against it. Re-proposals (``pol_round >= 0``) keep their old time and are not noted.
        """
        if pol_round >= 0 or block_hash in self._receipts:
            return
        self._receipts[block_hash] = _Receipt(self._clock_ms(), round)
        while len(self._receipts) > _MAX_RECEIPTS:
            del self._receipts[next(iter(self._receipts))]

    # ------------------------------------------------------------------ execute and commit

    def execute_block(self, height: int, block: Block, *, certified: bool = False) -> ExecutedBlock:
        """Check and execute a decoded block for ``height``; raise LedgerError when invalid.

        Executed once per block: the result is kept by block hash for ``commit``. ``certified``:
        a verified commit certificate vouches for this exact block (block sync), so the
        transactions' own signatures are not checked again (``Mempool.certified``).
        """
        cached = self._executed.get(block.hash)
        # Same header is not enough: the transactions must be the very same too.
        if cached is not None and (cached.block is block or cached.block.txs == block.txs):
            return cached
        self._check_header(block, height)
        txs = self._signed_txs(block, certified)
        result = self._execute(height, block.header.time_ms, txs)
        # Verify every tx was admissible here: a replayed or out-of-order tx would only get a
        # failed receipt, but it must not be in a block at all (it would shadow the original's
        # index entry and history). An honest proposer never includes one.
        for receipt in result.receipts:
            if receipt.error_code in INADMISSIBLE:
                raise InvalidBlock(
                    f"block {height} carries an inadmissible transaction "
                    f"{receipt.tx_hash.hex()[:16]}...: {receipt.message}",
                    "inadmissible_tx",
                )
        if result.app_hash != block.header.app_hash:
            raise InvalidBlock(
                f"block {height} claims app hash {block.header.app_hash.hex()[:16]}..., "
                f"executing it gives {result.app_hash.hex()[:16]}...",
                "app_hash_mismatch",
            )
        if result.results_root() != block.header.results_root:
            raise InvalidBlock(
                f"block {height} claims a results root its receipts do not give",
                "results_root_mismatch",
            )
        executed = ExecutedBlock(block, txs, result)
        self._remember(executed)
        return executed

    def _remember(self, executed: ExecutedBlock) -> None:
        # One executed proposal per round is normal; keep a bounded number until the commit.
        self._executed[executed.block.hash] = executed
        while len(self._executed) > _MAX_EXECUTED:
            del self._executed[next(iter(self._executed))]

    def commit(
        self, certificate: CommitCertificate, block: Block | bytes, *, certified: bool = False
    ) -> ExecutedBlock:
        """Persist the block ``certificate`` decides, with the certificate, in one synced batch.

        ``block`` is the decided payload as consensus holds it, or a block that block sync
        fetched with the certificate. Either way the block this node executed under the
        certificate's hash is what gets written, neither decoded nor executed again; ``block``
        is only decoded and executed when this node never executed it (sync, or a payload
        evicted from the bounded cache). Raise LedgerError when it is not the next valid block.
        ``certified``: the caller verified ``certificate``, which then vouches for the
        transactions' signatures (``execute_block``).
        """
        executed = self._executed.get(certificate.block_hash)
        if executed is None:
            decided = self._decided(certificate, block)
            executed = self.execute_block(certificate.height, decided, certified=certified)
        if executed.block.hash != certificate.block_hash:
            raise InvalidBlock("certificate is for another block", "certificate_mismatch")
        self.store.commit_block(executed.block, certificate_to_bytes(certificate), executed.result)
        self._executed.clear()
        self._decoded.clear()
        self.mempool.remove_committed(executed.txs)
        return executed

    # ------------------------------------------------------------------ internals

    def _set_at(self, height: int) -> ValidatorSet:
        # Only asked for the next height and the one after: both known once the previous
        # block is committed (a change decided by block H takes effect at H + 2).
        validators = self.validator_sets.at(height)
        if validators is None:
            raise PreconditionFailed(
                f"the validator set of height {height} is not known yet", "wrong_height"
            )
        return validators

    def _decided(self, certificate: CommitCertificate, block: Block | bytes) -> Block:
        # Verify the certificate is for this block before executing anything.
        decided = block if isinstance(block, Block) else self._bound(certificate.height, block)
        if decided is None or decided.hash != certificate.block_hash:
            raise InvalidBlock("certificate is for another block", "certificate_mismatch")
        return decided

    def _bound(self, height: int, payload: bytes) -> Block | None:
        """The block ``payload`` encodes, if it is one for ``height`` with matching tx roots.

        Decoded at most once per payload: the result is kept until the next commit. Tx ids come
        from the mempool's checked transactions where it has them (hashed at admission).
        """
        block = self._decoded.get(payload)
        if block is None:
            try:
                block = Block.decode(payload, self._limits_of(), id_of=self.mempool.known_id)
            except LedgerError:
                return None
            if block.height != height or not block.verify_tx_root():
                return None
            self._remember_decoded(payload, block)
        return block if block.height == height else None

    def _remember_decoded(self, payload: bytes, block: Block) -> None:
        self._decoded[payload] = block
        while len(self._decoded) > _MAX_DECODED:
            del self._decoded[next(iter(self._decoded))]

    def _expect_next(self, height: int) -> None:
        if height != self.store.height + 1:
            raise PreconditionFailed(
                f"asked for height {height}, the store is at {self.store.height}", "wrong_height"
            )

    def _min_time_ms(self) -> int:
        # A block's time must be strictly greater than this.
        last = self.store.last_header()
        return max(self._genesis_time_ms, last.time_ms if last is not None else 0)

    def _check_header(self, block: Block, height: int) -> None:
        header = block.header
        # Verify the block extends our chain, under our validator set.
        self._expect_next(height)
        if header.chain_id != self.chain_id:
            raise InvalidBlock(f"block is for chain {header.chain_id!r}", "wrong_chain_id")
        if header.height != height:
            raise InvalidBlock(f"block says height {header.height}, expected {height}")
        if header.prev_hash != self.store.last_hash:
            raise InvalidBlock("block does not extend the last committed block")
        validators = self._set_at(height)
        if header.validators_hash != validators.hash():
            raise InvalidBlock(f"block names another validator set than the one of height {height}",
                               "wrong_validators_hash")  # fmt: skip
        if header.next_validators_hash != self._set_at(height + 1).hash():
            raise InvalidBlock(f"block names another next validator set than the one of height "
                               f"{height + 1}", "wrong_validators_hash")  # fmt: skip
        if validators.index_of(header.proposer) is None:
            raise InvalidBlock(f"block proposer is not a validator at height {height}")
        # Verify time moves forward, from the genesis time on (block 1 too). How far it may be
        # from the clock is judged on receipt of a fresh proposal (validate), not here: a
        # decided or re-proposed block keeps the time it was judged by.
        if header.time_ms <= self._min_time_ms():
            raise InvalidBlock(
                f"block time {header.time_ms} is not after the previous block's or the "
                f"genesis time ({self._min_time_ms()})",
                "bad_block_time",
            )
        # A block sync fetched has no ids yet: take the mempool's (an envelope that does not
        # parse fails the root check instead).
        with contextlib.suppress(LedgerError):
            block.take_ids(self.mempool.known_id)
        if not block.verify_tx_root():
            raise InvalidBlock("block tx_root does not match its transactions")

    def _signed_txs(self, block: Block, certified: bool) -> tuple[SignedTx, ...]:
        seen: set[bytes] = set()
        txs: list[SignedTx] = []
        check = self.mempool.certified if certified else self.mempool.checked
        for raw, digest in zip(block.txs, block.tx_hashes(), strict=True):
            if digest in seen:
                raise InvalidBlock("block carries the same transaction twice", "duplicate_tx")
            seen.add(digest)
            txs.append(check(raw, digest))
        return tuple(txs)

    def _execute(self, height: int, time_ms: int, txs: Sequence[SignedTx]) -> BlockResult:
        ctx = BlockContext(
            chain_id=self.chain_id,
            height=height,
            time_ms=time_ms,
            prev_app_hash=self.store.app_hash,
        )
        started = self._work_clock_s()
        result = apply_block(self.store, ctx, txs)
        self.build_budget.observe(sum(tx.work_units for tx in txs), self._work_clock_s() - started)
        return result
