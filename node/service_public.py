"""gRPC servicer of the public ledger API (thin: decode, one call into the node, encode)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import grpc

from chain.errors import LedgerError
from chain.results import TxResult
from node.errors import abort_with
from proto import ledger_pb2, services_pb2, services_pb2_grpc

if TYPE_CHECKING:
    from node.node import Node

__all__ = ["LedgerServicer", "receipt_to_proto"]

_DEFAULT_WAIT_S = 30.0


def receipt_to_proto(result: TxResult) -> ledger_pb2.Receipt:
    """The wire form of a transaction receipt."""
    return ledger_pb2.Receipt(
        tx_hash=result.tx_hash,
        code=result.code,
        error_code=result.error_code,
        message=result.message,
        events=[
            ledger_pb2.Event(
                type=e.type,
                attributes=[ledger_pb2.Attribute(key=k, value=v) for k, v in e.attributes],
            )
            for e in result.events
        ],
    )


class LedgerServicer(services_pb2_grpc.LedgerServiceServicer):
    """Submit transactions and read node status."""

    def __init__(self, node: Node) -> None:
        self._node = node

    async def SubmitTx(
        self, request: services_pb2.SubmitTxRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.SubmitTxResponse:
        try:
            tx = self._node.admit(request.tx)
        except LedgerError as exc:
            await abort_with(context, exc)
            raise AssertionError("unreachable") from exc
        response = services_pb2.SubmitTxResponse(tx_hash=tx.tx_hash)
        if not request.wait_for_commit:
            return response
        remaining = context.time_remaining()
        timeout = _DEFAULT_WAIT_S if remaining is None else max(remaining - 0.05, 0.0)
        try:
            event = await asyncio.wait_for(self._node.wait_for_commit(tx.tx_hash), timeout)
        except TimeoutError:
            return response
        for receipt in event.executed.result.receipts:
            if receipt.tx_hash == tx.tx_hash:
                response.receipt.CopyFrom(receipt_to_proto(receipt))
        response.committed = True
        response.height = event.height
        return response

    async def SubmitTxs(
        self, request: services_pb2.SubmitTxsRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.SubmitTxsResponse:
        response = services_pb2.SubmitTxsResponse()
        for outcome in self._node.admit_many(list(request.txs)):
            if isinstance(outcome, LedgerError):
                response.results.add(
                    accepted=False, error_code=outcome.code, message=outcome.message
                )
            else:
                response.results.add(tx_hash=outcome.tx_hash, accepted=True)
        return response

    async def GetStatus(
        self, request: services_pb2.StatusRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.StatusResponse:
        node = self._node
        last = node.store.last_header()
        response = services_pb2.StatusResponse(
            chain_id=node.chain_id,
            height=node.store.height,
            app_hash=node.store.app_hash,
            node_name=node.config.name,
            mempool_size=len(node.mempool),
        )
        if last is not None:
            response.last_block_hash = last.hash()
            response.last_block_time_ms = last.time_ms
        for v in node.genesis.validators:
            response.validators.add(name=v.name, public_key=v.public_key, address=v.address)
        return response
