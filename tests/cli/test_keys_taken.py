"""A new key under a name the keystore already holds: ``keys new`` and ``keys import``.

The name is the user's input, so it is bad input (exit 2, as an invalid name is), not a wallet
problem (5, which it was): one line that says how to choose another name or remove the old key,
asked before any password, and the stored key is never touched.
"""

from __future__ import annotations

from pathlib import Path
from unittest.mock import patch

import pytest
from click.testing import CliRunner, Result

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.keystore import TEST_KDF, InvalidKeyName, Keystore
from carbon_ticket.cli.main import cli
from carbon_ticket.node.keyfile import write_validator_key

OLD = PrivateKey.generate()


@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    """A keystore holding the key ``carol``."""
    directory = tmp_path / "ks"
    Keystore(directory, TEST_KDF.opslimit, TEST_KDF.memlimit).add("carol", OLD, "pw")
    return directory


def run(*args: str) -> Result:
    # No password anywhere (no variable, an empty stdin): asking for one would fail with exit 5.
    return CliRunner().invoke(cli, list(args), input="", catch_exceptions=False,
                              env={"CARBON_TICKET_PASSWORD": None})  # fmt: skip


def refused_as_taken(result: Result, keystore: Path) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in ("error: a key named 'carol' already exists", "choose another name",
                     f"remove {keystore / 'carol.json'} first", "[key_name_taken]"):  # fmt: skip
        assert fragment in lines[0], lines[0]
    assert result.stdout == ""


def test_keys_new_over_a_stored_name_is_bad_input(keystore: Path) -> None:
    before = (keystore / "carol.json").read_bytes()
    refused_as_taken(run("keys", "new", "carol", "--keystore", str(keystore)), keystore)
    assert (keystore / "carol.json").read_bytes() == before
    assert sorted(p.name for p in keystore.iterdir()) == ["carol.json"]


def test_keys_import_over_a_stored_name_is_bad_input(keystore: Path, tmp_path: Path) -> None:
    before = (keystore / "carol.json").read_bytes()
    seed = tmp_path / "seed.txt"
    seed.write_text(PrivateKey.generate().seed.hex())
    validator_key = tmp_path / "validator_key.json"
    write_validator_key(validator_key, PrivateKey.generate(), "bureau-node-9")
    for source in (["--seed-file", str(seed)], ["--validator-key", str(validator_key)]):
        result = run("keys", "import", "carol", *source, "--keystore", str(keystore))
        refused_as_taken(result, keystore)
    assert (keystore / "carol.json").read_bytes() == before
    assert Keystore(keystore).load("carol", "pw").seed == OLD.seed


def test_a_name_taken_between_the_check_and_the_write_is_refused_alike(keystore: Path) -> None:
    # Another process stores `carol` after check_new looked: the exclusive create refuses it with
    # the same error instead of a FileExistsError traceback.
    before = (keystore / "carol.json").read_bytes()
    store = Keystore(keystore, TEST_KDF.opslimit, TEST_KDF.memlimit)
    with patch.object(Keystore, "check_new"), pytest.raises(InvalidKeyName) as caught:
        store.add("carol", PrivateKey.generate(), "pw")
    assert caught.value.code == "key_name_taken" and "choose another name" in str(caught.value)
    assert (keystore / "carol.json").read_bytes() == before
