"""Shell completion: ``carbon-ticket completion bash|zsh|fish`` prints the script a shell loads.

Commands, options and choices complete as click completes them. On top of that, every place
that takes a wallet key completes the keystore's key names: ``-k/--key`` of a transaction,
``keys show|export NAME`` (``complete_key_name``), and every address that may be ``@key``
completes ``@name`` (``complete_address_or_key``): each declares it with ``shell_complete=``.
Names come from the keystore the command would open (``--keystore`` if typed, else
$CARBON_TICKET_KEYSTORE, the client config file or ~/.carbon-ticket/keystore); no key is
decrypted and a completion never prints an error into the shell.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from click.shell_completion import CompletionItem, get_completion_class

from carbon_ticket.cli.common import EXIT_USAGE, CliError, keystore_directory, reports_errors
from carbon_ticket.cli.keystore import Keystore

__all__ = ["COMPLETE_VAR", "SHELLS", "complete_address_or_key", "complete_key_name", "completion"]

PROG = "carbon-ticket"
COMPLETE_VAR = "_CARBON_TICKET_COMPLETE"  # click's variable for this program name
SHELLS = ("bash", "zsh", "fish")


def key_names(ctx: click.Context) -> list[str]:
    """The names of the keys in the keystore this command would open (none if unreadable)."""
    typed = ctx.params.get("keystore")
    try:
        directory = keystore_directory(typed if isinstance(typed, Path) else None)
        return [info.name for info in Keystore(directory).list()]
    except Exception:  # a completion must never print a traceback into the shell
        return []


def complete_key_name(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``shell_complete`` of a parameter that names a wallet key (``-k``, ``keys show NAME``)."""
    return [CompletionItem(n) for n in key_names(ctx) if n.startswith(incomplete)]


def complete_address_or_key(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``shell_complete`` of an address that may be ``@key`` (``cli.common.parse_address_arg``):
    "@" (or nothing yet) offers the keystore's names; an address is typed, not completed."""
    if incomplete and not incomplete.startswith("@"):
        return []
    return [CompletionItem(f"@{n}") for n in key_names(ctx) if f"@{n}".startswith(incomplete)]


def _default_shell() -> str:
    name = Path(os.environ.get("SHELL", "")).name
    return name if name in SHELLS else "bash"


_HELP = f"""Print the shell completion script for SHELL (default: your $SHELL, else bash).

\b
Install it once:
  bash: {PROG} completion bash > ~/.local/share/bash-completion/completions/{PROG}
  zsh:  {PROG} completion zsh > ~/.zfunc/_{PROG}
        (~/.zshrc: fpath+=(~/.zfunc); autoload -U compinit; compinit)
  fish: {PROG} completion fish > ~/.config/fish/completions/{PROG}.fish
then open a new shell. Commands, options and choices complete; so do key names after
-k/--key and after @ where an address may name a wallet key (--to @<TAB>).
"""


@click.command("completion", help=_HELP)
@click.argument("shell", required=False, type=click.Choice(SHELLS))
@reports_errors
def completion(shell: str | None) -> None:
    shell = shell or _default_shell()
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - every one of SHELLS is built into click
        raise CliError(f"no completion for {shell}", EXIT_USAGE)
    root = click.get_current_context().find_root().command
    click.echo(cls(root, {}, PROG, COMPLETE_VAR).source())
