"""A stand-in node whose block 7 is over gRPC's default 4 MiB reply limit, for the clients'
tests (the explorer's pages, the wallet's queries)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc


class HugeBlockNode(services_pb2_grpc.LedgerServiceServicer):
    """A node whose block 7 is over gRPC's default 4 MiB reply limit (the node sends up to its
    [api] max_message_bytes, 64 MiB by default)."""

    def __init__(self) -> None:
        body = ledger_pb2.TxBody(chain_id="c", signer=PrivateKey.generate().address,
                                 memo="m" * 900, transfer=ledger_pb2.Transfer())  # fmt: skip
        raw = ledger_pb2.TxEnvelope(body=body.SerializeToString()).SerializeToString()
        self.block = services_pb2.BlockInfo(block_hash=bytes(32))
        self.block.committed.block.header.height = 7
        self.block.committed.block.txs.extend([raw] * 6000)
        self.block.receipts.extend(
            ledger_pb2.Receipt(tx_hash=i.to_bytes(32, "big")) for i in range(6000)
        )
        assert self.block.ByteSize() > 5 * 2**20

    def GetBlock(self, request: Any, context: Any) -> services_pb2.BlockInfo:
        return self.block

    def GetStatus(self, request: Any, context: Any) -> services_pb2.StatusResponse:
        return services_pb2.StatusResponse(chain_id="c", height=9)

    def GetValidators(self, request: Any, context: Any) -> services_pb2.ValidatorSetInfo:
        return services_pb2.ValidatorSetInfo(height=7, total_power=1)


@contextmanager
def serving(servicer: services_pb2_grpc.LedgerServiceServicer) -> Iterator[str]:
    """Serve ``servicer`` on 127.0.0.1 (a free port) as a node would: replies up to 64 MiB."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_send_message_length", 64 * 2**20)])  # fmt: skip
    services_pb2_grpc.add_LedgerServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)
