"""The bridge between consensus and the ledger: proposes, validates and commits blocks.

Implements the consensus ``Application`` interface over the block store and the mempool. Every
block is executed once per node: the proposer executes while building, other validators while
validating, and the result (state writes, receipts, app hash) is kept by block hash until the
commit writes it in one atomic batch. Transactions that are in the mempool were verified at
admission and are not verified again; unknown ones are checked and verified here, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chain import BlockContext, apply_block
from chain.block import Block, build_block
from chain.errors import LedgerError, StorageError
from chain.limits import Limits
from chain.results import BlockResult
from chain.tx import SignedTx, tx_hash
from consensus import CommitCertificate, ValidatorSet
from node.codec import certificate_to_bytes
from node.mempool import Mempool
from node.store import LevelDBStore

__all__ = ["INADMISSIBLE", "ExecutedBlock", "LedgerApp"]

log = logging.getLogger(__name__)

# Validators refuse a proposal whose time is further than this ahead of their own clock.
MAX_CLOCK_DRIFT_MS = 60_000
# Room for the header and framing when filling a block up to the byte limit.
_BLOCK_OVERHEAD = 4096
_MAX_EXECUTED = 8
# Decoded payloads kept between `block_hash` and `validate` (a few proposals per round).
_MAX_DECODED = 8
# Receipt codes of txs that change nothing because they are not admissible at this point of the
# chain (see chain.execute.apply_tx): wrong chain, unregistered signer, wrong nonce.
INADMISSIBLE = frozenset({"wrong_chain_id", "unknown_signer", "wrong_nonce"})


@dataclass(frozen=True, slots=True)
class ExecutedBlock:
    """A block together with the outcome of executing it against the current state."""

    block: Block
    txs: tuple[SignedTx, ...]
    result: BlockResult


class LedgerApp:
    """Consensus Application over the store: ``propose``, ``validate`` and ``commit``."""

    def __init__(
        self,
        store: LevelDBStore,
        mempool: Mempool,
        validators: ValidatorSet,
        proposer_key: bytes,
        limits: Limits,
        max_block_txs: int,
        clock_ms: Callable[[], int],
    ) -> None:
        self.store = store
        self.mempool = mempool
        self.validators = validators
        self.chain_id = store.chain_id
        self._proposer_key = proposer_key
        self._limits = limits
        self._max_block_txs = min(max_block_txs, limits.max_block_txs)
        self._clock_ms = clock_ms
        self._validators_hash = validators.hash()
        self._executed: dict[bytes, ExecutedBlock] = {}
        # Payload bytes -> decoded block, so validating a bound proposal does not decode again.
        self._decoded: dict[bytes, Block] = {}

    # ------------------------------------------------------------------ Application interface

    def propose(self, height: int, round: int) -> tuple[bytes, bytes]:
        """Build, execute and encode the next block from the mempool."""
        self._expect_next(height)
        txs = self.mempool.reap(self._max_block_txs, self._limits.max_block_bytes - _BLOCK_OVERHEAD)
        last = self.store.last_header()
        prev_time = last.time_ms if last is not None else 0
        time_ms = max(self._clock_ms(), prev_time + 1)
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
            prev_hash=self._prev_hash(),
            app_hash=result.app_hash,
            proposer=self._proposer_key,
            validators_hash=self._validators_hash,
            txs=[tx.raw for tx in txs],
        )
        self._remember(ExecutedBlock(block, tuple(txs), result))
        return block.encode(), block.hash

    def block_hash(self, height: int, payload: bytes) -> bytes | None:
        """The header hash ``payload`` commits to, or None if it is not a block for ``height``.

        Decodes, checks the height and the tx root, and hashes the header: no execution, so it is
        cheap enough to run on every incoming proposal before the engine stores it.
        """
        block = self._decoded.get(payload)
        if block is None:
            try:
                block = Block.decode(payload, self._limits)
            except LedgerError:
                return None
            if block.height != height or not block.verify_tx_root():
                return None
            self._decoded[payload] = block
            while len(self._decoded) > _MAX_DECODED:
                del self._decoded[next(iter(self._decoded))]
        return block.hash if block.height == height else None

    def validate(self, height: int, payload: bytes) -> bytes | None:
        """The block hash when ``payload`` is a valid next block, else None (logged)."""
        try:
            executed = self.execute_payload(height, payload, check_time=True)
        except StorageError:
            raise  # our own store is broken: not the proposer's fault, and fatal for the node
        except LedgerError as exc:
            log.warning("rejected proposed block at height %d: %s", height, exc)
            return None
        return executed.block.hash

    # ------------------------------------------------------------------ commit and sync

    def execute_payload(self, height: int, payload: bytes, *, check_time: bool) -> ExecutedBlock:
        """Decode, check and execute a block for ``height``; raise LedgerError when invalid."""
        block = self._decoded.get(payload)
        if block is None:
            block = Block.decode(payload, self._limits)
        return self.execute_block(height, block, check_time=check_time)

    def execute_block(self, height: int, block: Block, *, check_time: bool) -> ExecutedBlock:
        """Check and execute a decoded block for ``height``; raise LedgerError when invalid."""
        cached = self._executed.get(block.hash)
        # Same header is not enough: the transactions must be the very same too.
        if cached is not None and cached.block.txs == block.txs:
            return cached
        self._check_header(block, height, check_time)
        txs = self._signed_txs(block)
        result = self._execute(height, block.header.time_ms, txs)
        # Verify every tx was admissible here: a replayed or out-of-order tx would only get a
        # failed receipt, but it must not be in a block at all (it would shadow the original's
        # index entry and history). An honest proposer never includes one.
        for receipt in result.receipts:
            if receipt.error_code in INADMISSIBLE:
                raise LedgerError(
                    f"block {height} carries an inadmissible transaction "
                    f"{receipt.tx_hash.hex()[:16]}...: {receipt.message}",
                    "inadmissible_tx",
                )
        if result.app_hash != block.header.app_hash:
            raise LedgerError(
                f"block {height} claims app hash {block.header.app_hash.hex()[:16]}..., "
                f"executing it gives {result.app_hash.hex()[:16]}...",
                "app_hash_mismatch",
            )
        executed = ExecutedBlock(block, txs, result)
        self._remember(executed)
        return executed

    def _remember(self, executed: ExecutedBlock) -> None:
        # One executed proposal per round is normal; keep a bounded number until the commit.
        self._executed[executed.block.hash] = executed
        while len(self._executed) > _MAX_EXECUTED:
            del self._executed[next(iter(self._executed))]

    def commit(self, height: int, payload: bytes, certificate: CommitCertificate) -> ExecutedBlock:
        """Persist a decided block with its certificate in one synced batch."""
        return self.commit_block(Block.decode(payload, self._limits), certificate)

    def commit_block(self, block: Block, certificate: CommitCertificate) -> ExecutedBlock:
        """Execute (unless done already) and persist a decided block with its certificate."""
        executed = self.execute_block(block.height, block, check_time=False)
        if executed.block.hash != certificate.block_hash:
            raise LedgerError("certificate is for another block", "certificate_mismatch")
        self.store.commit_block(executed.block, certificate_to_bytes(certificate), executed.result)
        self._executed.clear()
        self._decoded.clear()
        self.mempool.remove_committed(
            (tx.tx_hash for tx in executed.txs), (tx.signer for tx in executed.txs)
        )
        return executed

    # ------------------------------------------------------------------ internals

    def _expect_next(self, height: int) -> None:
        if height != self.store.height + 1:
            raise LedgerError(
                f"asked for height {height}, the store is at {self.store.height}", "wrong_height"
            )

    def _prev_hash(self) -> bytes:
        last = self.store.last_header()
        return last.hash() if last is not None else bytes(32)

    def _check_header(self, block: Block, height: int, check_time: bool) -> None:
        header = block.header
        # Verify the block extends our chain, under our validator set.
        self._expect_next(height)
        if header.chain_id != self.chain_id:
            raise LedgerError(f"block is for chain {header.chain_id!r}", "wrong_chain_id")
        if header.height != height:
            raise LedgerError(f"block says height {header.height}, expected {height}", "bad_block")
        if header.prev_hash != self._prev_hash():
            raise LedgerError("block does not extend the last committed block", "bad_block")
        if header.validators_hash != self._validators_hash:
            raise LedgerError("block names another validator set", "bad_block")
        if self.validators.index_of(header.proposer) is None:
            raise LedgerError("block proposer is not a validator", "bad_block")
        # Verify time moves forward and is not far in the future.
        last = self.store.last_header()
        if last is not None and header.time_ms <= last.time_ms:
            raise LedgerError("block time does not move forward", "bad_block_time")
        if check_time and header.time_ms > self._clock_ms() + MAX_CLOCK_DRIFT_MS:
            raise LedgerError("block time is too far in the future", "bad_block_time")
        if not block.verify_tx_root():
            raise LedgerError("block tx_root does not match its transactions", "bad_block")

    def _signed_txs(self, block: Block) -> tuple[SignedTx, ...]:
        seen: set[bytes] = set()
        txs: list[SignedTx] = []
        for raw in block.txs:
            digest = tx_hash(raw)
            if digest in seen:
                raise LedgerError("block carries the same transaction twice", "duplicate_tx")
            seen.add(digest)
            txs.append(self.mempool.verified(raw, digest))
        return tuple(txs)

    def _execute(self, height: int, time_ms: int, txs: Sequence[SignedTx]) -> BlockResult:
        ctx = BlockContext(
            chain_id=self.chain_id,
            height=height,
            time_ms=time_ms,
            prev_app_hash=self.store.app_hash,
        )
        return apply_block(self.store, ctx, txs)
