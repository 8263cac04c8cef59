"""Shell completion (cli/completion.py): the scripts, and key names where a command takes a key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.shell_completion import BashComplete
from click.testing import CliRunner

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.completion import COMPLETE_VAR, install_key_completion
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


def test_every_address_the_wallet_reads_as_at_key_completes(keystore: Path) -> None:
    # Every command parameter parsed by parse_address_arg says "(or @key)" in its help, and so
    # completes; these were parsed so but did not say it
    installed = set(install_key_completion(cli))
    for path in [
        ("query", "points", "address"),
        ("query", "merchant", "merchant"),
        ("tx", "grant-role", "address"),
        ("tx", "revoke-role", "address"),
        ("tx", "appoint-issuer", "issuer"),
        ("tx", "transfer", "signer"),
        ("tx", "redeem", "merchant"),
        ("query", "redemptions", "resident"),
    ]:
        assert path in installed, path


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
