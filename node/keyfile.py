"""The validator's signing key file (``validator_key.json``, mode 0600).

Validators sign consensus messages unattended, so this key is stored unencrypted like other BFT
nodes do; protect it with file permissions (see docs/operations.md). Wallet keys for people use the
encrypted keystore instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.jsontext import parse_json
from carbon_ticket.node.config import ConfigError

__all__ = ["load_validator_key", "write_validator_key"]


def write_validator_key(path: Path, key: PrivateKey, name: str) -> None:
    """Write ``key`` to ``path`` readable by the owner only; refuses to overwrite."""
    doc = {
        "name": name,
        "public_key": key.public_key.hex(),
        "address": key.address,
        "seed": key.seed.hex(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")


def load_validator_key(path: Path) -> PrivateKey:
    """Read a validator key file; raise ConfigError naming the file when it is unusable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"validator key file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"validator key file {path} is unreadable: {exc}") from exc
    doc = parse_json(raw, f"validator key file {path}", ConfigError)
    try:
        key = PrivateKey(bytes.fromhex(doc["seed"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"validator key file {path} is unreadable: {exc}") from exc
    if "public_key" in doc and doc["public_key"] != key.public_key.hex():
        raise ConfigError(f"validator key file {path}: public key does not match the seed")
    return key
