"""``carbon-ticket keys``: the encrypted wallet keystore (Argon2id + XSalsa20-Poly1305)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO

import click

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.common import (
    EXIT_USAGE,
    EXIT_WALLET,
    CliError,
    chosen_output,
    emit,
    keystore_option,
    open_keystore,
    output_option,
    password,
    reports_errors,
    secret_line,
    stdin_is_terminal,
)
from carbon_ticket.cli.completion import complete_key_name
from carbon_ticket.cli.keystore import KeyInfo

__all__ = ["keys"]


def _info(info: KeyInfo, keystore: Path) -> dict[str, str]:
    return {
        "name": info.name,
        "address": info.address,
        "public_key": info.public_key.hex(),
        "keystore": str(keystore),
    }


@click.group()
def keys() -> None:
    """Create, import, list, show and export wallet keys.

    The password comes from $CARBON_TICKET_PASSWORD when set, else from a hidden prompt; without
    a terminal (a pipe, CI) from the first line of stdin.
    """


@keys.command("new")
@click.argument("name")
@keystore_option
@output_option
@reports_errors
def keys_new(name: str, keystore: Path, output: str) -> None:
    """Generate a new key NAME and store it encrypted."""
    store = open_keystore(keystore)
    store.check_new(name)
    info = store.add(name, PrivateKey.generate(), password(confirm=True))
    emit(_info(info, keystore), output)


@keys.command("import")
@click.argument("name")
@click.option(
    "--seed-file",
    type=click.File("r"),
    help="File holding the 32-byte seed in hex "
    "('-' for stdin); without it the seed is prompted for.",
)
@click.option(
    "--validator-key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Import a node's validator_key.json (to co-sign governance transactions).",
)
@keystore_option
@output_option
@reports_errors
def keys_import(
    name: str,
    seed_file: IO[str] | None,
    validator_key: Path | None,
    keystore: Path,
    output: str,
) -> None:
    """Import an existing key as NAME (hex seed, or a validator key file)."""
    store = open_keystore(keystore)
    store.check_new(name)
    if validator_key is not None:
        from carbon_ticket.node.keyfile import load_validator_key

        key = load_validator_key(validator_key)
    else:
        text = seed_file.read() if seed_file is not None else _prompt_seed()
        key = _seed_key(text)
    info = store.add(name, key, password(confirm=True))
    emit(_info(info, keystore), output)


def _prompt_seed() -> str:
    if not stdin_is_terminal():  # a pipe: its first line, as for the password (common.password)
        return secret_line(sys.stdin, "seed", "pipe it in or use --seed-file FILE")
    try:
        text: str = click.prompt("Seed (64 hex digits)", hide_input=True, err=True)
    except click.Abort:
        message = "no seed given (use --seed-file FILE, or '-' for stdin)"
        raise CliError(message, EXIT_WALLET) from None
    return text


def _seed_key(text: str) -> PrivateKey:
    try:
        seed = bytes.fromhex(text.strip())
        return PrivateKey(seed)
    except ValueError:
        raise CliError("a seed is 32 bytes written as 64 hex digits", EXIT_USAGE) from None


@keys.command("list")
@keystore_option
@output_option
@reports_errors
def keys_list(keystore: Path, output: str) -> None:
    """Every key in the keystore, with its address."""
    found = open_keystore(keystore).list()
    if chosen_output(output) == "json":
        click.echo(json.dumps([_info(i, keystore) for i in found], indent=2))
    elif not found:
        click.echo(f"no keys in {keystore}; create one with: carbon-ticket keys new NAME")
    else:
        width = max(len(i.name) for i in found)
        for info in found:
            click.echo(f"{info.name.ljust(width)}  {info.address}")


@keys.command("show")
@click.argument("name", shell_complete=complete_key_name)
@keystore_option
@output_option
@reports_errors
def keys_show(name: str, keystore: Path, output: str) -> None:
    """Address and public key of NAME (no password needed)."""
    emit(_info(open_keystore(keystore).info(name), keystore), output)


@keys.command("export")
@click.argument("name", shell_complete=complete_key_name)
@keystore_option
@click.option(
    "--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal)."
)
@output_option
@reports_errors
def keys_export(name: str, keystore: Path, yes: bool, output: str) -> None:
    """Print the secret seed of NAME in hex (anyone holding it controls the account)."""
    store = open_keystore(keystore)
    info = store.info(name)  # a missing key fails before any prompt
    if not yes:
        _confirm_export(name)
    key = store.load(name, password())
    if chosen_output(output) == "json":
        emit({"name": info.name, "address": info.address, "seed": key.seed.hex()}, output)
        return
    click.echo(key.seed.hex())


def _confirm_export(name: str) -> None:
    """Ask on the terminal; without one (a script, a pipe) ``--yes`` is required."""
    if not stdin_is_terminal():
        raise CliError(
            f"no terminal to confirm printing the seed of {name!r} on: pass --yes", EXIT_WALLET
        )
    try:
        confirmed = click.confirm(f"Print the secret seed of {name!r} on the terminal?", err=True)
    except click.Abort:
        confirmed = False
    if not confirmed:
        raise CliError("not confirmed; the seed was not printed", EXIT_WALLET)
