"""The ``carbon-ticket`` command: node operation, devnet, wallet, transactions and queries."""

from __future__ import annotations

import click

from carbon_ticket.cli.common import EXIT_CODES

__all__ = ["cli", "main"]

_HELP = """Carbon Ticket Ledger: issue, transfer and retire digital carbon tickets on a BFT ledger.

\b
Node address: --node HOST:PORT, else $CARBON_TICKET_NODE, else `node` in the client config
file ($CARBON_TICKET_CONFIG, else ~/.carbon-ticket/client.toml), else 127.0.0.1:26600.
Output: -o json on every command that prints (API field names, grams beside tCO2e, RFC 3339
times beside epoch ms).
Exit codes (see docs/cli.md):
""" + "\n".join(f"  {code} {meaning}" for code, meaning in sorted(EXIT_CODES.items()))


@click.group(help=_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="carbon-ticket-ledger", prog_name="carbon-ticket")
def cli() -> None:
    """The ``carbon-ticket`` group; its help is ``_HELP`` (the exit codes from EXIT_CODES)."""


def _register() -> None:
    from carbon_ticket.cli.backup_cmds import BACKUP_COMMANDS
    from carbon_ticket.cli.demo import demo
    from carbon_ticket.cli.explorer import explorer
    from carbon_ticket.cli.governance_cmds import GOVERNANCE_QUERY_COMMANDS, GOVERNANCE_TX_COMMANDS
    from carbon_ticket.cli.keys_cmds import keys
    from carbon_ticket.cli.market_cmds import MARKET_QUERY_COMMANDS, MARKET_TX_COMMANDS
    from carbon_ticket.cli.node_cmds import bench, devnet, genesis, node
    from carbon_ticket.cli.query_cmds import query
    from carbon_ticket.cli.registry_cmds import REGISTRY_QUERY_COMMANDS, REGISTRY_TX_COMMANDS
    from carbon_ticket.cli.residents_cmds import RESIDENT_TX_COMMANDS
    from carbon_ticket.cli.residents_query_cmds import RESIDENT_QUERY_COMMANDS
    from carbon_ticket.cli.tx_cmds import tx
    from carbon_ticket.cli.verify import verify

    for command in (*RESIDENT_TX_COMMANDS, *GOVERNANCE_TX_COMMANDS, *MARKET_TX_COMMANDS,
                    *REGISTRY_TX_COMMANDS):  # fmt: skip
        tx.add_command(command)
    for command in (*RESIDENT_QUERY_COMMANDS, *GOVERNANCE_QUERY_COMMANDS, *MARKET_QUERY_COMMANDS,
                    *REGISTRY_QUERY_COMMANDS):  # fmt: skip
        query.add_command(command)

    for command in BACKUP_COMMANDS:
        node.add_command(command)
    for group in (node, devnet, genesis, keys, tx, query, demo, bench, verify, explorer):
        cli.add_command(group)
    from carbon_ticket.cli.tools.abuse import abuse  # issue 20: API limits under abuse

    cli.add_command(abuse)

    from carbon_ticket.cli.tools.chaos_cmd import chaos

    cli.add_command(chaos)

    from carbon_ticket.cli.completion import completion

    cli.add_command(completion)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="carbon-ticket")
