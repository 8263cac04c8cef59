"""Shell completion: ``carbon-ticket completion bash|zsh|fish`` prints the script a shell loads.

Commands, options and choices complete as click completes them. On top of that, every place
that takes a wallet key completes the keystore's key names: ``-k/--key`` of a transaction,
``keys show|export NAME``, and every address documented as "(or @key)" completes ``@name``.
Names come from the keystore the command would open (``--keystore`` if typed, else
$CARBON_TICKET_KEYSTORE, the client config file or ~/.carbon-ticket/keystore); no key is
decrypted and a completion never prints an error into the shell.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import click
from click.shell_completion import CompletionItem, get_completion_class

from carbon_ticket.cli.common import EXIT_USAGE, CliError, keystore_directory, reports_errors
from carbon_ticket.cli.keystore import Keystore

__all__ = ["COMPLETE_VAR", "SHELLS", "completion", "install_key_completion", "key_names"]

PROG = "carbon-ticket"
COMPLETE_VAR = "_CARBON_TICKET_COMPLETE"  # click's variable for this program name
SHELLS = ("bash", "zsh", "fish")

# Where a command's help says an argument takes "@key": "ADDRESS (or @key)", "MERCHANT
# (address or @key)", "RESIDENT's (address or @key)".
_ARGUMENT_TAKES_KEY = r"\b{name}(?:'s)? \((?:address )?or @key"
# Commands whose NAME argument is a key of the keystore
_KEY_NAME_COMMANDS = frozenset({("keys", "show"), ("keys", "export")})

Complete = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def key_names(ctx: click.Context) -> list[str]:
    """The names of the keys in the keystore this command would open (none if unreadable)."""
    typed = ctx.params.get("keystore")
    try:
        directory = keystore_directory(typed if isinstance(typed, Path) else None)
        return [info.name for info in Keystore(directory).list()]
    except Exception:  # a completion must never print a traceback into the shell
        return []


def _complete_key(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    return [CompletionItem(n) for n in key_names(ctx) if n.startswith(incomplete)]


def _complete_at_key(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    # An address is typed, not completed; "@" (or nothing yet) offers the keystore's names
    if incomplete and not incomplete.startswith("@"):
        return []
    return [CompletionItem(f"@{n}") for n in key_names(ctx) if f"@{n}".startswith(incomplete)]


def _key_completer(
    path: tuple[str, ...], command: click.Command, param: click.Parameter
) -> Complete | None:
    if isinstance(param, click.Option):
        if param.name == "key":
            return _complete_key
        if "@key" in (param.help or ""):
            return _complete_at_key
        return None
    if isinstance(param, click.Argument):
        if param.name == "name" and path[-2:] in _KEY_NAME_COMMANDS:
            return _complete_key
        pattern = _ARGUMENT_TAKES_KEY.format(name=re.escape(param.human_readable_name))
        if re.search(pattern, command.help or ""):
            return _complete_at_key
    return None


def _commands(
    group: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, group
    if isinstance(group, click.Group):
        for name, command in group.commands.items():
            yield from _commands(command, (*path, name))


def install_key_completion(root: click.Group) -> list[tuple[str, ...]]:
    """Give every parameter of ``root``'s commands that takes a key its completion; returns the
    (command path + parameter name) of each, for the tests."""
    installed = []
    for path, command in _commands(root):
        for param in command.params:
            complete = _key_completer(path, command, param)
            if complete is not None:
                param._custom_shell_complete = complete  # click's hook for shell_complete=
                installed.append((*path, str(param.name)))
    return installed


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
