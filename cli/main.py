"""The ``carbon-ticket`` command: node operation, devnet, wallet, transactions and queries."""

from __future__ import annotations

import click

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="carbon-ticket-ledger", prog_name="carbon-ticket")
def cli() -> None:
    """Carbon Ticket Ledger: issue, transfer and retire digital carbon tickets on a BFT ledger."""


def _register() -> None:
    from cli.demo import demo
    from cli.keys_cmds import keys
    from cli.node_cmds import bench, devnet, genesis, node
    from cli.query_cmds import query
    from cli.tx_cmds import tx
    from cli.verify import verify

    for group in (node, devnet, genesis, keys, tx, query, demo, bench, verify):
        cli.add_command(group)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="carbon-ticket")
