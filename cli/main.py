"""The ``carbon-ticket`` command: node operation, devnet, wallet, transactions and queries."""

from __future__ import annotations

import importlib
from collections.abc import Callable

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


def _node() -> click.Command:
    from carbon_ticket.cli.backup_cmds import BACKUP_COMMANDS
    from carbon_ticket.cli.node_cmds import node

    for command in BACKUP_COMMANDS:
        node.add_command(command)
    return node


def _tx() -> click.Command:
    from carbon_ticket.cli.governance_cmds import GOVERNANCE_TX_COMMANDS
    from carbon_ticket.cli.market_cmds import MARKET_TX_COMMANDS
    from carbon_ticket.cli.registry_cmds import REGISTRY_TX_COMMANDS
    from carbon_ticket.cli.residents_cmds import RESIDENT_TX_COMMANDS
    from carbon_ticket.cli.tx_cmds import tx

    for command in (*RESIDENT_TX_COMMANDS, *GOVERNANCE_TX_COMMANDS, *MARKET_TX_COMMANDS,
                    *REGISTRY_TX_COMMANDS):  # fmt: skip
        tx.add_command(command)
    return tx


def _query() -> click.Command:
    from carbon_ticket.cli.governance_cmds import GOVERNANCE_QUERY_COMMANDS
    from carbon_ticket.cli.market_cmds import MARKET_QUERY_COMMANDS
    from carbon_ticket.cli.query_cmds import query
    from carbon_ticket.cli.registry_cmds import REGISTRY_QUERY_COMMANDS
    from carbon_ticket.cli.residents_query_cmds import RESIDENT_QUERY_COMMANDS

    for command in (*RESIDENT_QUERY_COMMANDS, *GOVERNANCE_QUERY_COMMANDS, *MARKET_QUERY_COMMANDS,
                    *REGISTRY_QUERY_COMMANDS):  # fmt: skip
        query.add_command(command)
    return query


def _from(module: str, name: str) -> Callable[[], click.Command]:
    def load() -> click.Command:
        command: click.Command = getattr(importlib.import_module(module), name)
        return command

    return load


_CLI = "carbon_ticket.cli."
# Each command, and how to load it: a command imports its module (and what that needs) only
# when it runs, so `carbon-ticket keys list` does not load the node, the benchmarks and the
# explorer first (0.92 -> 0.43 s on the 2-core development machine, then 0.31 s; docs/cli.md).
_LOADERS: dict[str, Callable[[], click.Command]] = {
    "abuse": _from(_CLI + "tools.abuse", "abuse"),
    "bench": _from(_CLI + "node_cmds", "bench"),
    "chaos": _from(_CLI + "tools.chaos_cmd", "chaos"),
    "completion": _from(_CLI + "completion", "completion"),
    "demo": _from(_CLI + "demo", "demo"),
    "devnet": _from(_CLI + "node_cmds", "devnet"),
    "explorer": _from(_CLI + "explorer", "explorer"),
    "genesis": _from(_CLI + "node_cmds", "genesis"),
    "keys": _from(_CLI + "keys_cmds", "keys"),
    "node": _node,
    "query": _query,
    "tx": _tx,
    "verify": _from(_CLI + "verify", "verify"),
}


class _LazyGroup(click.Group):
    """The root group: lists every command by name and loads one when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_LOADERS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _LOADERS:
            self.add_command(_LOADERS[cmd_name](), cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=_LazyGroup, help=_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="carbon-ticket-ledger", prog_name="carbon-ticket")
def cli() -> None:
    """The ``carbon-ticket`` group; its help is ``_HELP`` (the exit codes from EXIT_CODES)."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="carbon-ticket")
