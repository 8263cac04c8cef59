"""What the explorer reads from a node: its public gRPC API only (``LedgerService``).

``NodeSource`` wraps an asyncio gRPC channel to one node (a validator or an observer) with the
few calls the pages need. The public API has no call that lists projects or batches, so
``ProjectIndex`` builds that list itself from the committed blocks' receipts
(``register_project`` and ``issue`` events), reading each block once and resuming where it
stopped: the explorer needs nothing the public API does not give.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import grpc
from aiohttp import web

from carbon_ticket.cli.common import CHANNEL_OPTIONS
from carbon_ticket.proto import services_pb2, services_pb2_grpc

__all__ = ["NodeSource", "ProjectIndex"]

# Seconds one call may take: a page waits at most this long for the node.
CALL_TIMEOUT = 10.0
RECENT_BLOCKS = 20


# How a failed node call is answered. No error class of its own: the project has one error
# tree (chain/errors.py), and aiohttp's HTTP exceptions already say what a page answers.
_HTTP_ERRORS: dict[grpc.StatusCode, type[web.HTTPException]] = {
    grpc.StatusCode.NOT_FOUND: web.HTTPNotFound,
    grpc.StatusCode.INVALID_ARGUMENT: web.HTTPBadRequest,
}


def _http_error(exc: grpc.aio.AioRpcError) -> web.HTTPException:
    """The HTTP answer to a failed call: the node's reason for 404 and 400, else 502/504."""
    if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return web.HTTPGatewayTimeout(text="the node was too slow to answer")
    kind = _HTTP_ERRORS.get(exc.code())
    if kind is None:
        return web.HTTPBadGateway(text=f"the node did not answer ({exc.code().name.lower()})")
    return kind(text=exc.details() or exc.code().name.lower())


class NodeSource:
    """The public API of one node, over an asyncio channel opened by ``open()``."""

    def __init__(self, address: str, credentials: grpc.ChannelCredentials | None = None) -> None:
        self.address = address
        self._credentials = credentials  # None: plaintext
        self._channel: grpc.aio.Channel | None = None
        self._stub: services_pb2_grpc.LedgerServiceStub | None = None

    async def open(self) -> None:
        """Open the channel (it connects lazily, so a node started later is found)."""
        if self._credentials is None:
            self._channel = grpc.aio.insecure_channel(self.address, options=CHANNEL_OPTIONS)
        else:
            self._channel = grpc.aio.secure_channel(
                self.address, self._credentials, options=CHANNEL_OPTIONS
            )
        self._stub = services_pb2_grpc.LedgerServiceStub(self._channel)

    async def close(self) -> None:
        """Close the channel and cancel its calls."""
        if self._channel is not None:
            await self._channel.close()

    @property
    def stub(self) -> services_pb2_grpc.LedgerServiceStub:
        """The LedgerService stub; ``open()`` first."""
        if self._stub is None:
            raise RuntimeError("NodeSource.open() was not called")
        return self._stub

    async def _call(self, method: str, request: object) -> object:
        # grpc is untyped: each caller casts the reply to the message its method returns.
        try:
            return await getattr(self.stub, method)(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            raise _http_error(exc) from exc

    async def status(self) -> services_pb2.StatusResponse:
        """GetStatus: chain id, height, the validators."""
        reply = await self._call("GetStatus", services_pb2.StatusRequest())
        return cast(services_pb2.StatusResponse, reply)

    async def validators(self, height: int) -> services_pb2.ValidatorSetInfo:
        """GetValidators: the set in effect at ``height`` (0 = the next block's)."""
        request = services_pb2.GetValidatorsRequest(height=height)
        return cast(services_pb2.ValidatorSetInfo, await self._call("GetValidators", request))

    async def params(self) -> services_pb2.ParamsInfo:
        """GetParams: every chain parameter in force for the next block, with its genesis
        value."""
        reply = await self._call("GetParams", services_pb2.GetParamsRequest())
        return cast(services_pb2.ParamsInfo, reply)

    async def block(self, height: int, receipts: bool = True) -> services_pb2.BlockInfo:
        """GetBlock of one height (without its receipts unless ``receipts``)."""
        request = services_pb2.GetBlockRequest(height=height, without_receipts=not receipts)
        return cast(services_pb2.BlockInfo, await self._call("GetBlock", request))

    async def block_by_hash(self, block_hash: bytes) -> services_pb2.BlockInfo:
        """GetBlock of one block hash, without its receipts (what finds its height)."""
        request = services_pb2.GetBlockRequest(block_hash=block_hash, without_receipts=True)
        return cast(services_pb2.BlockInfo, await self._call("GetBlock", request))

    async def tx(self, tx_hash: bytes) -> services_pb2.TxInfo:
        """GetTx: a committed transaction (its body decoded) and its receipt."""
        reply = await self._call("GetTx", services_pb2.GetTxRequest(tx_hash=tx_hash))
        return cast(services_pb2.TxInfo, reply)

    async def account(self, address: str) -> services_pb2.AccountInfo:
        """GetAccount: kind, name, roles, nonce and balances."""
        reply = await self._call("GetAccount", services_pb2.GetAccountRequest(address=address))
        return cast(services_pb2.AccountInfo, reply)

    async def account_history(
        self, address: str, page_token: str, page_size: int
    ) -> services_pb2.HistoryPage:
        """One page of GetAccountHistory, newest first."""
        request = services_pb2.GetAccountHistoryRequest(
            address=address, page_token=page_token, page_size=page_size
        )
        return cast(services_pb2.HistoryPage, await self._call("GetAccountHistory", request))

    async def points(self, address: str) -> services_pb2.PointsInfo:
        """GetPoints: a resident's points (the default week of history)."""
        reply = await self._call("GetPoints", services_pb2.GetPointsRequest(address=address))
        return cast(services_pb2.PointsInfo, reply)

    async def merchant(self, address: str) -> services_pb2.MerchantInfo:
        """GetMerchant: a merchant's offers and settlement totals (all time; the default
        period)."""
        request = services_pb2.GetMerchantRequest(merchant=address)
        return cast(services_pb2.MerchantInfo, await self._call("GetMerchant", request))

    async def vouchers(self, address: str, page_size: int) -> services_pb2.RedemptionPage:
        """The first page of ListVouchers: the vouchers redeemed at a merchant, by reference."""
        request = services_pb2.ListVouchersRequest(merchant=address, page_size=page_size)
        return cast(services_pb2.RedemptionPage, await self._call("ListVouchers", request))

    async def recent_blocks(
        self, height: int, count: int = RECENT_BLOCKS
    ) -> list[services_pb2.BlockInfo]:
        """The ``count`` blocks up to ``height``, newest first, without their receipts (the home
        page lists headers: an award block's receipts would be most of its megabytes)."""
        heights = range(height, max(0, height - count), -1)
        return list(await asyncio.gather(*(self.block(h, receipts=False) for h in heights)))

    async def project(self, project_id: str) -> services_pb2.ProjectInfo:
        """GetProject."""
        request = services_pb2.GetProjectRequest(project_id=project_id)
        return cast(services_pb2.ProjectInfo, await self._call("GetProject", request))

    async def batch(self, batch_id: str) -> services_pb2.BatchInfo:
        """GetBatch (with the batch's supply totals)."""
        request = services_pb2.GetBatchRequest(batch_id=batch_id)
        return cast(services_pb2.BatchInfo, await self._call("GetBatch", request))

    async def batches(self, batch_ids: Sequence[str]) -> list[services_pb2.BatchInfo]:
        """GetBatch of each id, in order."""
        return list(await asyncio.gather(*(self.batch(b) for b in batch_ids)))

    async def retirements(
        self,
        beneficiary: str,
        event: str,
        page_token: str,
        page_size: int,
        *,
        project_id: str = "",
        batch_id: str = "",
    ) -> services_pb2.RetirementPage:
        """One page of the public retirement register (ListRetirements), newest first."""
        request = services_pb2.ListRetirementsRequest(
            beneficiary=beneficiary,
            event=event,
            project_id=project_id,
            batch_id=batch_id,
            page_token=page_token,
            page_size=page_size,
        )
        return cast(services_pb2.RetirementPage, await self._call("ListRetirements", request))

    async def certificate(self, certificate_id: str) -> services_pb2.RetirementCertificate:
        """GetCertificate."""
        request = services_pb2.GetCertificateRequest(certificate_id=certificate_id)
        reply = await self._call("GetCertificate", request)
        return cast(services_pb2.RetirementCertificate, reply)

    async def certificate_proof(self, certificate_id: str) -> services_pb2.CertificateProof:
        """GetCertificateProof: everything the bundle needs."""
        request = services_pb2.GetCertificateProofRequest(certificate_id=certificate_id)
        reply = await self._call("GetCertificateProof", request)
        return cast(services_pb2.CertificateProof, reply)

    async def blocks_from(self, start: int, end: int) -> list[services_pb2.BlockInfo]:
        """Blocks ``start``..``end`` (inclusive) read from one SubscribeBlocks stream."""
        out: list[services_pb2.BlockInfo] = []
        if start > end:
            return out
        call = self.stub.SubscribeBlocks(services_pb2.SubscribeBlocksRequest(from_height=start))
        try:
            async with asyncio.timeout(CALL_TIMEOUT * 3):
                async for info in call:
                    out.append(info)
                    if info.committed.block.header.height >= end:
                        break
        except grpc.aio.AioRpcError as exc:
            raise _http_error(exc) from exc
        except TimeoutError as exc:
            raise web.HTTPGatewayTimeout(text="the node was too slow to send its blocks") from exc
        finally:
            call.cancel()
        return out


@dataclass
class ProjectIndex:
    """Project ids in registration order, each with its batch ids in issue order.

    Built from the ``register_project`` and ``issue`` events of committed receipts; ``height``
    is the last block read. ``catch_up`` reads the blocks the node committed since.
    """

    projects: dict[str, list[str]] = field(default_factory=dict)
    height: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def add_block(self, info: services_pb2.BlockInfo) -> None:
        """Record the projects and batches the block's successful transactions created."""
        for receipt in info.receipts:
            for event in receipt.events:
                attrs = {a.key: a.value for a in event.attributes}
                if event.type == "register_project":
                    self.projects.setdefault(attrs["project_id"], [])
                elif event.type == "issue":
                    self.projects.setdefault(attrs["project_id"], []).append(attrs["batch_id"])
        self.height = info.committed.block.header.height

    async def catch_up(self, source: NodeSource, height: int) -> None:
        """Read every block up to ``height`` not read yet (one caller at a time)."""
        async with self._lock:
            while self.height < height:
                for info in await source.blocks_from(self.height + 1, height):
                    self.add_block(info)
