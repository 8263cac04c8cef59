"""Keystore files: owner-only directory, damaged files, unknown algorithms."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import nacl.pwhash
import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.keystore import Keystore, KeystoreError, WrongPassword

FAST = {
    "opslimit": nacl.pwhash.argon2id.OPSLIMIT_MIN,
    "memlimit": nacl.pwhash.argon2id.MEMLIMIT_MIN,
}


def test_directory_and_files_are_owner_only(tmp_path: Path) -> None:
    store = Keystore(tmp_path / "wallet", **FAST)
    store.add("alice", PrivateKey.generate(), "pw")
    assert stat.S_IMODE((tmp_path / "wallet").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "wallet" / "alice.json").stat().st_mode) == 0o600


def test_damaged_file_is_a_clear_error_and_does_not_break_the_listing(tmp_path: Path) -> None:
    store = Keystore(tmp_path, **FAST)
    key = PrivateKey.generate()
    store.add("good", key, "pw")
    (tmp_path / "broken.json").write_text(json.dumps({"version": 1}))
    assert [k.name for k in store.list()] == ["good"]
    with pytest.raises(KeystoreError, match="damaged"):
        store.info("broken")
    assert store.load("good", "pw").seed == key.seed
    with pytest.raises(WrongPassword):
        store.load("good", "nope")


def test_unknown_kdf_or_cipher_is_refused(tmp_path: Path) -> None:
    store = Keystore(tmp_path, **FAST)
    store.add("k", PrivateKey.generate(), "pw")
    path = tmp_path / "k.json"
    doc = json.loads(path.read_text())
    doc["kdf"]["name"] = "md5"
    path.write_text(json.dumps(doc))
    with pytest.raises(KeystoreError, match="unsupported"):
        store.load("k", "pw")


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("memlimit", 2**40, "outside"),  # a terabyte: would exhaust memory before failing
        ("opslimit", 2**32 - 1, "outside"),  # four billion passes: hours of CPU
        ("memlimit", 0, "outside"),
        ("opslimit", "3", "must be an integer"),
        ("memlimit", 65536.0, "must be an integer"),
        ("opslimit", True, "must be an integer"),
    ],
)
def test_kdf_cost_read_from_a_file_is_bounded_before_any_work(
    tmp_path: Path, field: str, value: object, fragment: str
) -> None:
    """A key file names its own Argon2id cost; a hostile one is refused, not derived."""
    store = Keystore(tmp_path, **FAST)
    store.add("k", PrivateKey.generate(), "pw")
    path = tmp_path / "k.json"
    doc = json.loads(path.read_text())
    doc["kdf"][field] = value
    path.write_text(json.dumps(doc))
    with pytest.raises(KeystoreError, match=fragment) as info:
        store.load("k", "pw")
    assert f"{field}" in info.value.message and "damaged" in info.value.message


def test_a_short_ciphertext_is_damage_not_a_wrong_password(tmp_path: Path) -> None:
    store = Keystore(tmp_path, **FAST)
    store.add("k", PrivateKey.generate(), "pw")
    path = tmp_path / "k.json"
    doc = json.loads(path.read_text())
    doc["ciphertext"] = doc["ciphertext"][:40]
    path.write_text(json.dumps(doc))
    with pytest.raises(KeystoreError, match="wrong length") as info:
        store.load("k", "pw")
    assert not isinstance(info.value, WrongPassword)
