"""The wallet's encrypted keystore: one JSON file per key in a directory.

Each seed is encrypted with XSalsa20-Poly1305 (PyNaCl ``SecretBox``, authenticated encryption)
under a key derived from the password with Argon2id (``nacl.pwhash.argon2id``). A wrong password
fails authentication and is reported as such; nothing is ever decrypted partially.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.errors import LedgerError, NotFound
from carbon_ticket.chain.jsontext import parse_json

__all__ = [
    "DEFAULT_KDF",
    "TEST_KDF",
    "THROWAWAY_KDF",
    "InvalidKeyName",
    "KdfCost",
    "KeyInfo",
    "Keystore",
    "KeystoreError",
    "WrongPassword",
]

_VERSION = 1
# The KDF cost a key file may ask for. A file names its own Argon2id cost, so without a bound a
# hostile or damaged file could make unlocking take hours or gigabytes: the wallet accepts from
# libsodium's minimum up to its "sensitive" profile (4 passes, 1 GiB), above any it writes.
_OPSLIMIT_RANGE = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE)
_MEMLIMIT_RANGE = (nacl.pwhash.argon2id.MEMLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE)
# Nonce, authenticator and the 32-byte seed: the only length a sealed seed can have.
_SEALED_BYTES = nacl.secret.SecretBox.NONCE_SIZE + nacl.secret.SecretBox.MACBYTES + 32
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


@dataclass(frozen=True, slots=True)
class KdfCost:
    """Argon2id's cost for keys a keystore writes: passes and memory in bytes. Each key file
    records the cost it was written with, and unlocking it pays that cost again."""

    opslimit: int
    memlimit: int


# What every key a user makes costs (libsodium's "interactive" profile, ~0.07 s and 64 MiB).
DEFAULT_KDF = KdfCost(
    nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
)
# libsodium's minimum, for keys nobody needs to guard, passed explicitly: the tests' keys, and
# the wallets of the devnets that `bench`, `chaos` and `abuse` make for one run (their password
# is written beside them in devnet.json, so a dear KDF protects nothing there; it only cost
# each run ~2 s of CPU). No command option takes it, and a key a user makes or imports costs
# DEFAULT_KDF in any keystore (each file records its own cost), so no such key can end up
# this cheap to guess.
THROWAWAY_KDF = KdfCost(nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
TEST_KDF = THROWAWAY_KDF  # the name the tests use


class KeystoreError(LedgerError):
    """A keystore file or key name that cannot be used."""

    default_code = "keystore_error"


class InvalidKeyName(KeystoreError):
    """A key name the keystore cannot hold: bad input (exit 2), not a wallet problem. Malformed
    (``invalid_key_name``), or for a new key, the name of a stored one (``key_name_taken``)."""

    default_code = "invalid_key_name"


class WrongPassword(KeystoreError):
    """The password does not decrypt the key."""

    default_code = "wrong_password"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """Public facts about a stored key (no secret)."""

    name: str
    address: str
    public_key: bytes


class Keystore:
    """A directory of encrypted wallet keys."""

    def __init__(
        self,
        directory: str | Path,
        opslimit: int = DEFAULT_KDF.opslimit,
        memlimit: int = DEFAULT_KDF.memlimit,
    ) -> None:
        self.directory = Path(directory)
        self._opslimit = opslimit
        self._memlimit = memlimit

    def _path(self, name: str) -> Path:
        if not name or len(name) > 64 or set(name) - _NAME_CHARS or name.startswith("."):
            raise InvalidKeyName(
                f"invalid key name {name!r}: a name is 1 to 64 letters, digits, '-', '_' or '.', "
                "and does not start with '.'"
            )
        return self.directory / f"{name}.json"

    def check_new(self, name: str) -> None:
        """Raise InvalidKeyName unless ``name`` is a valid name not used yet (before prompting)."""
        path = self._path(name)
        if path.exists():
            raise self._taken(name, path)

    def _taken(self, name: str, path: Path) -> InvalidKeyName:
        # Never overwritten: the stored key may be the only copy of an account's seed.
        return InvalidKeyName(
            f"a key named {name!r} already exists in {self.directory}: choose another name, or "
            f"remove {path} first (`carbon-ticket keys export {name}` prints its seed, if you "
            "still need that key)",
            "key_name_taken",
        )

    def add(self, name: str, key: PrivateKey, password: str) -> KeyInfo:
        """Encrypt and store ``key`` under ``name``; refuses to overwrite an existing key."""
        self.check_new(name)
        path = self._path(name)
        salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
        box = nacl.secret.SecretBox(self._derive(password, salt, self._opslimit, self._memlimit))
        sealed = box.encrypt(key.seed)
        doc = {
            "version": _VERSION,
            "name": name,
            "address": key.address,
            "public_key": key.public_key.hex(),
            "kdf": {
                "name": "argon2id",
                "salt": salt.hex(),
                "opslimit": self._opslimit,
                "memlimit": self._memlimit,
            },
            "cipher": "xsalsa20-poly1305",
            "ciphertext": bytes(sealed).hex(),
        }
        # Owner-only: even key names and addresses are nobody else's business.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made since check_new, by another process
            raise self._taken(name, path) from None
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
        return KeyInfo(name, key.address, key.public_key)

    def info(self, name: str) -> KeyInfo:
        """Public facts of a stored key; NotFound when there is no such key."""
        doc = self._read(name)
        try:
            return KeyInfo(str(doc["name"]), str(doc["address"]), bytes.fromhex(doc["public_key"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise KeystoreError(f"key file for {name!r} is damaged: {exc}") from exc

    def list(self) -> list[KeyInfo]:
        """Every readable stored key, sorted by name (damaged files are skipped)."""
        if not self.directory.is_dir():
            return []
        infos = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                infos.append(self.info(path.stem))
            except LedgerError:
                continue  # `keys show NAME` names the problem with that one file
        return infos

    def load(self, name: str, password: str) -> PrivateKey:
        """Decrypt a stored key; WrongPassword when the password does not open it."""
        doc = self._read(name)
        try:
            kdf = doc["kdf"]
            if kdf["name"] != "argon2id" or doc["cipher"] != "xsalsa20-poly1305":
                raise ValueError(f"unsupported kdf {kdf['name']!r} or cipher {doc['cipher']!r}")
            salt = bytes.fromhex(kdf["salt"])
            sealed = bytes.fromhex(doc["ciphertext"])
            opslimit = _kdf_cost(kdf["opslimit"], "opslimit", _OPSLIMIT_RANGE)
            memlimit = _kdf_cost(kdf["memlimit"], "memlimit", _MEMLIMIT_RANGE)
            if len(salt) != nacl.pwhash.argon2id.SALTBYTES or len(sealed) != _SEALED_BYTES:
                raise ValueError("salt or ciphertext has the wrong length")
        except (KeyError, ValueError, TypeError) as exc:
            raise KeystoreError(f"key file for {name!r} is damaged: {exc}") from exc
        box = nacl.secret.SecretBox(self._derive(password, salt, opslimit, memlimit))
        try:
            seed = box.decrypt(sealed)
        except nacl.exceptions.CryptoError:
            raise WrongPassword(f"wrong password for key {name!r}") from None
        key = PrivateKey(seed)
        if key.address != doc.get("address"):
            raise KeystoreError(f"key file for {name!r} does not match its address")
        return key

    def _read(self, name: str) -> dict[str, Any]:
        path = self._path(name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"no key named {name!r} in {self.directory}: `carbon-ticket keys list` shows "
                f"the keys there; make one with `keys new {name}` or bring one with "
                f"`keys import {name} --seed-file FILE` (or --validator-key FILE)",
                "key_not_found",
            ) from None
        except OSError as exc:
            raise KeystoreError(f"cannot read key file {path}: {exc}") from exc
        doc = parse_json(raw, f"key file {path}", KeystoreError)
        if not isinstance(doc, dict) or doc.get("version") != _VERSION:
            raise KeystoreError(f"key file {path} has an unknown format")
        return doc

    @staticmethod
    def _derive(password: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        return nacl.pwhash.argon2id.kdf(
            nacl.secret.SecretBox.KEY_SIZE,
            password.encode(),
            salt,
            opslimit=opslimit,
            memlimit=memlimit,
        )


def _kdf_cost(value: Any, what: str, bounds: tuple[int, int]) -> int:
    """A KDF cost from a key file, checked before any work is spent on it."""
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"argon2id {what} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(
            f"argon2id {what} {value} is outside the {low} to {high} this wallet accepts "
            "(a file asking for more could make unlocking it take hours)"
        )
    return value
