"""``carbon-ticket query``: read the ledger through a node's public gRPC API."""

from __future__ import annotations

import click

from cli.common import connect, emit, node_option, output_option, reports_errors
from proto import services_pb2

__all__ = ["query"]


@click.group()
def query() -> None:
    """Read the ledger from a node."""


@query.command("status")
@node_option
@output_option
@reports_errors
def status(node: str, output: str) -> None:
    """Chain id, height, app hash and validators of a node."""
    with connect(node) as stub:
        reply = stub.GetStatus(services_pb2.StatusRequest(), timeout=10)
    emit(
        {
            "chain_id": reply.chain_id,
            "node_name": reply.node_name,
            "height": reply.height,
            "app_hash": reply.app_hash.hex(),
            "last_block_hash": reply.last_block_hash.hex(),
            "last_block_time_ms": reply.last_block_time_ms,
            "mempool_size": reply.mempool_size,
            "validators": [
                {"name": v.name, "public_key": v.public_key.hex(), "address": v.address}
                for v in reply.validators
            ],
        },
        output,
    )
