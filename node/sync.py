"""Block sync: a node that is behind fetches committed blocks with their certificates.

Each fetched block is trusted only after its commit certificate verifies against the validator
set (more than 2/3 of precommits for exactly that header hash) and executing it reproduces the
app hash in its header. Then it is committed like any other block and the node rejoins consensus.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import grpc

from chain.block import Block
from chain.errors import LedgerError
from chain.tx import SignedTx, tx_hash
from consensus import ConsensusError, verify_certificate
from node.codec import certificate_from_proto
from node.peers import PeerLink
from proto import ledger_pb2, services_pb2

if TYPE_CHECKING:
    from node.node import Node

__all__ = ["BlockSync"]

log = logging.getLogger(__name__)

_STATUS_TIMEOUT_S = 2.0
_FETCH_TIMEOUT_S = 60.0
_BLOCKS_PER_REQUEST = 200
_PARALLEL_MIN = 64  # below this many unknown txs, threads cost more than they save


class BlockSync:
    """Catches the node up from its peers; at most one catch-up runs at a time."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._task: asyncio.Task[None] | None = None
        self.blocks_synced = 0
        self._workers = max(1, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="sync-verify")

    def request(self) -> None:
        """Start a catch-up in the background unless one is running."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def close(self) -> None:
        """Stop the verification threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def tasks(self) -> list[asyncio.Task[None]]:
        """The running catch-up task, if any (for shutdown)."""
        return [self._task] if self._task is not None and not self._task.done() else []

    async def _run(self) -> None:
        try:
            await self.catch_up()
        except Exception:
            log.exception("block sync failed; will retry when asked again")
        finally:
            # Whatever happened, the engine must continue from the store's height.
            self._node.resume_after_sync()

    async def catch_up(self) -> int:
        """Fetch and apply blocks until no reachable peer is ahead; returns blocks applied.

        Peers are tried from the highest claimed height down; a peer that serves nothing or an
        invalid block is skipped for the rest of this catch-up, so one lying peer cannot stop it.
        """
        total = 0
        skipped: set[str] = set()
        while True:
            candidates = [c for c in await self._peers_ahead() if c[0].address not in skipped]
            if not candidates:
                return total
            link, height = candidates[0]
            applied = await self._fetch_from(link, height)
            total += applied
            if applied == 0:
                skipped.add(link.address)

    async def _peers_ahead(self) -> list[tuple[PeerLink, int]]:
        links = self._node.peers.links
        if not links:
            return []
        statuses = await asyncio.gather(*(self._status(link) for link in links))
        ahead = [
            (link, int(status.height))
            for link, status in zip(links, statuses, strict=True)
            if status is not None
            and status.chain_id == self._node.chain_id
            and status.height > self._node.store.height
        ]
        return sorted(ahead, key=lambda item: -item[1])

    @staticmethod
    async def _status(link: PeerLink) -> services_pb2.PeerStatus | None:
        try:
            return await link.stub.GetStatus(
                services_pb2.PeerStatusRequest(), timeout=_STATUS_TIMEOUT_S
            )
        except grpc.aio.AioRpcError:
            return None

    async def _fetch_from(self, link: PeerLink, target: int) -> int:
        node = self._node
        applied = 0
        start = node.store.height + 1
        if start > target:
            return 0
        log.info("block sync: fetching %d..%d from %s", start, target, link.address)
        request = services_pb2.GetBlocksRequest(from_height=start, max_blocks=_BLOCKS_PER_REQUEST)
        try:
            async for committed in link.stub.GetBlocks(request, timeout=_FETCH_TIMEOUT_S):
                if committed.block.header.height != node.store.height + 1:
                    continue  # consensus committed it meanwhile, or the peer sent junk
                await self._preverify(committed.block.txs)
                self.apply(committed)
                applied += 1
        except grpc.aio.AioRpcError as exc:
            log.info("block sync from %s interrupted: %s", link.address, exc.code().name)
        except (LedgerError, ConsensusError) as exc:
            log.warning("block sync: peer %s sent an invalid block: %s", link.address, exc)
        self.blocks_synced += applied
        return applied

    async def _preverify(self, raws: Sequence[bytes]) -> None:
        # Signature checks of a fetched block run in worker threads (PyNaCl releases the GIL):
        # a catching-up node uses every core and its event loop keeps serving meanwhile. Invalid
        # transactions are simply not remembered; applying the block then rejects it.
        mempool = self._node.mempool
        todo = mempool.unknown((raw, tx_hash(raw, self._node.chain_id)) for raw in raws)
        if len(todo) < _PARALLEL_MIN:
            return
        loop = asyncio.get_running_loop()
        chunks = [todo[i :: self._workers] for i in range(self._workers)]
        results = await asyncio.gather(
            *(loop.run_in_executor(self._pool, self._check_chunk, chunk) for chunk in chunks)
        )
        for verified in results:
            mempool.remember(verified)

    def _check_chunk(self, chunk: list[tuple[bytes, bytes]]) -> list[SignedTx]:
        node = self._node
        verified = []
        for raw, _digest in chunk:
            try:
                verified.append(node.check_tx(raw, node.chain_id, node.params.limits))
            except LedgerError:
                continue
        return verified

    def apply(self, committed: ledger_pb2.CommittedBlock) -> None:
        """Verify one fetched block and its certificate, then commit it."""
        node = self._node
        block = Block.from_proto(committed.block)
        cert = certificate_from_proto(committed.certificate)
        # Verify the certificate proves exactly this block final.
        if cert.block_hash != block.hash or cert.height != block.height:
            raise LedgerError("certificate does not match the block", "certificate_mismatch")
        verify_certificate(node.chain_id, node.validators, cert)
        executed = node.app.commit_block(block, cert)  # no re-encode/re-decode
        node.after_commit_synced(executed)
