"""Shell completion (cli/completion.py): the scripts, and key names where a command takes a key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.shell_completion import BashComplete
from click.testing import CliRunner

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.completion import COMPLETE_VAR
from carbon_ticket.cli.keystore import TEST_KDF, Keystore
from carbon_ticket.cli.main import cli


@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    store = Keystore(tmp_path / "keys", TEST_KDF.opslimit, TEST_KDF.memlimit)
    for name in ("alice", "bob", "bureau-1"):
        store.add(name, PrivateKey.generate(), "pw")
    return tmp_path / "keys"


def complete(args: list[str], incomplete: str) -> list[str]:
    """What the shell is offered for ``carbon-ticket ARGS INCOMPLETE<TAB>``."""
    completer = BashComplete(cli, {}, "carbon-ticket", COMPLETE_VAR)
    return [item.value for item in completer.get_completions(args, incomplete)]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script_of_each_shell(shell: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert f"{COMPLETE_VAR}={shell}_complete" in result.output
    assert "carbon-ticket" in result.output


def test_an_unknown_shell_is_bad_input() -> None:
    result = CliRunner().invoke(cli, ["completion", "powershell"])
    assert result.exit_code == 2 and "powershell" in result.output


def test_key_options_complete_the_keystores_names(keystore: Path) -> None:
    base = ["--keystore", str(keystore)]
    assert complete(["tx", "transfer", *base, "-k"], "") == ["alice", "bob", "bureau-1"]
    assert complete(["tx", "transfer", *base, "--key"], "b") == ["bob", "bureau-1"]
    assert complete(["keys", "show", *base], "al") == ["alice"]
    assert complete(["keys", "export", *base], "") == ["alice", "bob", "bureau-1"]


def test_addresses_that_may_name_a_key_complete_at_names(
    keystore: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARBON_TICKET_KEYSTORE", str(keystore))  # as a user sets it once
    assert complete(["tx", "transfer", "--to"], "@") == ["@alice", "@bob", "@bureau-1"]
    assert complete(["tx", "transfer", "--to"], "@bu") == ["@bureau-1"]
    assert complete(["tx", "transfer", "--to"], "ct1q") == []  # an address is typed, not guessed
    assert complete(["query", "account"], "@a") == ["@alice"]
    assert complete(["tx", "grant-role"], "@") == ["@alice", "@bob", "@bureau-1"]
    assert complete(["query", "merchant"], "@b") == ["@bob", "@bureau-1"]
    # A plain text option offers nothing of the keystore
    assert complete(["tx", "transfer", "--batch"], "") == []


def _commands(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):  # the root loads its commands when asked for them
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from _commands(sub, (*path, name))


# An argument whose command's help says it may be a key: "ADDRESS (or @key)", "MERCHANT
# (address or @key)", "RESIDENT's (address or @key)"
_ARGUMENT_SAYS_KEY = r"\b{name}(?:'s)? \((?:address )?or @key"
_KEY_NAME_ARGUMENTS = {("keys", "show", "name"), ("keys", "export", "name")}
# Options whose help mentions @key but whose value is more than an address
_COMPOSITE = {("tx", "propose", "add_validator")}


def _documented_key_parameters() -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """(parameters that name a key, addresses that may be @key) as the help texts say."""
    names, addresses = set(), set()
    for path, command in _commands(cli):
        for param in command.params:
            where = (*path, str(param.name))
            if param.name == "key" or where in _KEY_NAME_ARGUMENTS:
                names.add(where)
            elif isinstance(param, click.Option) and "@key" in (param.help or ""):
                addresses.add(where)
            elif isinstance(param, click.Argument):
                pattern = _ARGUMENT_SAYS_KEY.format(name=re.escape(param.human_readable_name))
                if re.search(pattern, command.help or ""):
                    addresses.add(where)
    return names, addresses - _COMPOSITE


def _completing_key_parameters(keystore: Path) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """(parameters completing key names, parameters completing @names), asked of each one."""
    names, addresses = set(), set()
    for path, command in _commands(cli):
        ctx = click.Context(command, info_name=path[-1] if path else "carbon-ticket")
        ctx.params["keystore"] = keystore
        for param in command.params:
            where = (*path, str(param.name))
            offered = [item.value for item in param.shell_complete(ctx, "")]
            if offered == ["alice", "bob", "bureau-1"]:
                names.add(where)
            elif offered == ["@alice", "@bob", "@bureau-1"]:
                addresses.add(where)
            else:
                assert not any("alice" in value for value in offered), (where, offered)
    return names, addresses


def test_exactly_the_parameters_that_take_a_key_complete_key_names(keystore: Path) -> None:
    # Both ways: every parameter whose help says it takes a key (or an address or @key)
    # completes, and no other; a composite value such as --add-validator NAME:KEY:HOST:PORT
    # does not get "@alice" offered as the whole value
    documented_names, documented_addresses = _documented_key_parameters()
    names, addresses = _completing_key_parameters(keystore)
    assert names == documented_names
    assert addresses == documented_addresses
    assert ("tx", "grant-role", "address") in addresses and ("tx", "transfer", "to") in addresses
    assert len(addresses) >= 40 and len(names) >= 25
    assert complete(["tx", "propose", "--keystore", str(keystore), "--add-validator"], "") == []


def test_a_missing_or_damaged_keystore_completes_nothing_and_says_nothing(tmp_path: Path) -> None:
    missing = ["--keystore", str(tmp_path / "none")]
    assert complete(["tx", "transfer", *missing, "-k"], "") == []
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.json").write_text("{not json")
    assert complete(["tx", "transfer", "--keystore", str(tmp_path / "bad"), "-k"], "") == []


def test_the_installed_command_answers_the_shells_protocol(keystore: Path) -> None:
    # The real entry point, as bash calls it on <TAB>
    env = dict(os.environ, COMP_WORDS="carbon-ticket tx transfer --to @", COMP_CWORD="4")
    env.update({COMPLETE_VAR: "bash_complete", "CARBON_TICKET_KEYSTORE": str(keystore)})
    script = "from carbon_ticket.cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["plain,@alice", "plain,@bob", "plain,@bureau-1"]
    assert done.stderr == ""


def test_a_command_loads_only_what_it_needs(tmp_path: Path) -> None:
    # The root group loads a command when it runs (cli/main.py): `keys list` (every wallet
    # start, every completion) no longer imports the node, the rules' execution, the
    # benchmarks or the explorer first. Checked by what was imported, not by a time.
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from carbon_ticket.cli.main import cli\n"
        f"result = CliRunner().invoke(cli, ['keys', 'list', '--keystore', {str(tmp_path)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(done.stdout.split())
    assert "carbon_ticket.cli.keys_cmds" in loaded
    for heavy in ("carbon_ticket.node.service_public", "carbon_ticket.chain.execute",
                  "carbon_ticket.cli.tools.bench", "carbon_ticket.cli.explorer.app",
                  "carbon_ticket.cli.tx_cmds", "carbon_ticket.chain.rules"):  # fmt: skip
        assert heavy not in loaded, heavy
    # Nor the consensus engine (chain.crypto needs consensus.ed25519 only: the package's names
    # load on first use) nor any node module (ConfigError is in chain.errors, not node.config,
    # which loaded node.peer_auth).
    assert "carbon_ticket.consensus.ed25519" in loaded
    others = {m for m in loaded if m.startswith(("carbon_ticket.consensus.", "carbon_ticket.node"))}
    assert others == {"carbon_ticket.consensus.ed25519"}, sorted(others)
    # ...and the whole command set still loads, each command under its own name
    root = click.Context(cli)
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        assert command is not None and command.name == name
