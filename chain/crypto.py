"""Ed25519 keys, account addresses and signature verification (``consensus.ed25519``).

An address is ``bech32m("ct", sha256(public_key)[:20])``: short, checksummed text such as
``ct1...``. Verification is a pure function; callers verify a transaction once at admission.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NewType

from carbon_ticket.chain import bech32
from carbon_ticket.chain.errors import InvalidAddress
from carbon_ticket.consensus import ed25519
from carbon_ticket.consensus.ed25519 import PUBLIC_KEY_BYTES, Ed25519Signer

__all__ = [
    "ADDRESS_PREFIX",
    "MODULE_ADDRESS_DOMAIN",
    "POINTS_FLOAT_ADDRESS",
    "Address",
    "PrivateKey",
    "address_from_public_key",
    "module_address",
    "parse_address",
    "sha256",
    "verify_signature",
]

Address = NewType("Address", str)
ADDRESS_PREFIX = "ct"
_ADDRESS_HASH_BYTES = 20


def sha256(data: bytes) -> bytes:
    """SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()


@dataclass(frozen=True, slots=True)
class PrivateKey:
    """An Ed25519 signing key held in memory. ``seed`` is the 32-byte secret."""

    seed: bytes = field(repr=False)
    _signer: Ed25519Signer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_signer", Ed25519Signer(self.seed))

    @classmethod
    def generate(cls) -> PrivateKey:
        """A fresh random key from the operating system's CSPRNG."""
        return cls(ed25519.new_seed())

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key."""
        return self._signer.public_key

    @property
    def address(self) -> Address:
        """The account address of this key."""
        return address_from_public_key(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """A 64-byte detached signature over ``message``."""
        return self._signer.sign(message)


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``."""
    return ed25519.verify(public_key, message, signature)


# Accounts recur across transactions and bech32 in pure Python costs ~20 µs per call: both
# directions are memoised (pure functions, bounded caches).
_ADDRESS_CACHE_SIZE = 1 << 14


MODULE_ADDRESS_DOMAIN = b"carbonticket/module/v1\x00"


def module_address(name: str) -> Address:
    """The address of a module account: a hash of a fixed domain tag and name, not of a key.

    No private key belongs to it (finding a key whose address matches is a 160-bit preimage
    search), so no transaction can ever be signed for it; only the ledger rules move its tickets.
    """
    digest = sha256(MODULE_ADDRESS_DOMAIN + name.encode())
    return Address(bech32.encode(ADDRESS_PREFIX, digest[:_ADDRESS_HASH_BYTES]))


@lru_cache(maxsize=_ADDRESS_CACHE_SIZE)
def address_from_public_key(public_key: bytes) -> Address:
    """The checksummed text address of an Ed25519 public key."""
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise InvalidAddress(f"a public key is {PUBLIC_KEY_BYTES} bytes, got {len(public_key)}")
    return Address(bech32.encode(ADDRESS_PREFIX, sha256(public_key)[:_ADDRESS_HASH_BYTES]))


POINTS_FLOAT_ADDRESS = module_address("points-float")
"""The bureau float: tickets that residents' exchanges pay out (topped up by ordinary transfers)."""


@lru_cache(maxsize=_ADDRESS_CACHE_SIZE)
def parse_address(text: str) -> Address:
    """Validate address text and return its canonical (lower-case) form, or raise InvalidAddress."""
    try:
        hrp, payload = bech32.decode(text)
    except bech32.Bech32Error as exc:
        raise InvalidAddress(f"invalid address {text!r}: {exc}") from exc
    if hrp != ADDRESS_PREFIX:
        raise InvalidAddress(f"invalid address {text!r}: prefix must be {ADDRESS_PREFIX!r}")
    if len(payload) != _ADDRESS_HASH_BYTES:
        raise InvalidAddress(f"invalid address {text!r}: wrong length")
    return Address(text.lower())
