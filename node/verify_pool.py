"""Signature checks in worker threads: submitted and gossiped batches, and blocks being synced
(issue 19). A node has one pool, shared by admission and block sync.

PyNaCl releases the GIL inside ``crypto_sign_open``, so a validator with cores to spare (a bureau's
own 4-core machine) verifies a batch of transactions on several cores at once while its event
loop keeps serving votes. ``verified`` checks the envelopes the mempool does not know yet and
returns the valid transactions and the refusals by envelope, remembering nothing: block sync hands
a block's transactions to the mempool only when the block is applied. ``check`` (admission) hands
the valid ones to the mempool at once (``TxPrecheck.remember``: admission then finds them verified
and does not check them again) and returns the refusals, so an invalid transaction is checked once
too.

``[mempool] verify_threads`` sizes it: the default, -1, is one thread per core beyond the first
(at most 4); 0 keeps every check on the event loop (as before, and best when several validators
share a machine's cores, as a devnet does).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from carbon_ticket.chain.errors import LedgerError
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.node.ports import TxPrecheck

__all__ = [
    "AUTO_THREADS",
    "MAX_AUTO_THREADS",
    "PARALLEL_MIN",
    "Verified",
    "VerifyPool",
    "threads_for",
]

AUTO_THREADS = -1
MAX_AUTO_THREADS = 4
# Below this many unknown envelopes a batch is checked on the loop: the hand-off costs more.
# (Block sync had its own minimum, 64; the hand-off costs the same whoever asks.)
PARALLEL_MIN = 32


def threads_for(setting: int, cores: int | None = None) -> int:
    """Worker threads for a ``verify_threads`` setting on a machine of ``cores`` cores."""
    if setting != AUTO_THREADS:
        return setting
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return min(MAX_AUTO_THREADS, max(0, cores - 1))


@dataclass(frozen=True, slots=True)
class Verified:
    """A batch checked in the threads: its valid transactions and its refusals by envelope.

    Both are empty when the batch was left to the event loop (too small, or no threads).
    """

    txs: list[SignedTx]
    refused: dict[bytes, LedgerError]


class VerifyPool:
    """Checks batches of envelopes in ``threads`` worker threads (none: a no-op)."""

    def __init__(
        self, threads: int, check_tx: Callable[[bytes], SignedTx], pool: TxPrecheck
    ) -> None:
        self.threads = threads
        self._check_tx = check_tx
        self._pool = pool
        self._executor = (
            ThreadPoolExecutor(threads, thread_name_prefix="verify") if threads > 0 else None
        )
        self.batches = 0  # batches checked in threads (for tests and metrics)

    async def check(self, raws: Sequence[bytes]) -> dict[bytes, LedgerError]:
        """Verify the unknown envelopes of ``raws`` in the threads; the refusals by envelope.

        The valid ones are remembered by the mempool. Small batches, and a pool of no threads,
        return at once with nothing done: admission checks them on the loop as usual.
        """
        result = await self.verified(raws)
        self._pool.remember(result.txs)
        return result.refused

    async def verified(self, raws: Sequence[bytes]) -> Verified:
        """Verify the envelopes of ``raws`` the mempool does not know yet, in the threads.

        Nothing is remembered: the caller hands the valid ones to the mempool when it needs them
        there. Small batches, and a pool of no threads, come back empty at once: they are checked
        on the loop where they are used. The order of the valid transactions is not promised.
        """
        if self._executor is None:
            return Verified([], {})
        todo = self._pool.unknown(raws)
        if len(todo) < PARALLEL_MIN:
            return Verified([], {})
        loop = asyncio.get_running_loop()
        chunks = [todo[i :: self.threads] for i in range(self.threads)]
        results = await asyncio.gather(
            *(loop.run_in_executor(self._executor, self._check_chunk, chunk) for chunk in chunks)
        )
        self.batches += 1
        txs: list[SignedTx] = []
        refused: dict[bytes, LedgerError] = {}
        for valid, failed in results:
            txs.extend(valid)
            refused.update(failed)
        return Verified(txs, refused)

    def _check_chunk(self, chunk: list[bytes]) -> tuple[list[SignedTx], dict[bytes, LedgerError]]:
        valid: list[SignedTx] = []
        failed: dict[bytes, LedgerError] = {}
        for raw in chunk:
            try:
                valid.append(self._check_tx(raw))
            except LedgerError as exc:
                failed[raw] = exc.with_traceback(None)  # no frames kept (issue 20)
        return valid, failed

    def close(self) -> None:
        """Stop the threads (checks in flight are dropped)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
