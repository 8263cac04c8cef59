"""The numbered steps both demo stories print (issuance, residents)."""

from __future__ import annotations

from typing import Any

import click

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.common import EXIT_PENDING, CliError
from carbon_ticket.proto import ledger_pb2

__all__ = ["Steps"]


class Steps:
    """Numbered steps of a demo story: submit, wait for the commit, print one line each; a step
    that is not committed in time or fails stops the story with a clear error."""

    def __init__(self, client: LedgerClient, total: int) -> None:
        self.client = client
        self.total = total
        self.number = 0

    def __call__(self, title: str, msg: Any, key: PrivateKey) -> ledger_pb2.Receipt:
        self.number += 1
        where = f"{self.number}/{self.total}"
        reply = self.client.send(msg, [key])
        if not reply.committed:
            tx_id = reply.tx_hash.hex()
            raise CliError(
                f"step {where}: tx {tx_id} was submitted but not committed within "
                f"{self.client.timeout:g}s (is the network short of a quorum?); check it with: "
                f"carbon-ticket query tx {tx_id} -- rerunning the demo is safe",
                EXIT_PENDING,
            )
        if reply.receipt.code != 0:
            raise CliError(f"step {where} failed: {reply.receipt.message}")
        click.echo(f"[{where}] {title}")
        click.echo(f"      committed at height {reply.height}, tx {reply.tx_hash.hex()}")
        return reply.receipt
