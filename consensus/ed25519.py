"""Ed25519 signing and verification (PyNaCl): the one implementation of the project.

A leaf module: it imports nothing from the project, so both ``consensus`` (votes, proposals)
and ``chain`` (transactions, addresses) use it. That is the one import allowed between the two
packages, chain -> consensus.ed25519 (tests/test_quality.py); consensus never imports chain.
"""

from __future__ import annotations

import nacl.bindings
import nacl.exceptions
import nacl.signing

__all__ = [
    "PUBLIC_KEY_BYTES",
    "SEED_BYTES",
    "SIGNATURE_BYTES",
    "Ed25519Signer",
    "new_seed",
    "verify",
]

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
SEED_BYTES = 32


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``.

    Never raises on malformed input: a key or signature of the wrong size is simply not valid.
    """
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        # The binding directly: no key object to build, and the same check VerifyKey makes.
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.CryptoError, ValueError):
        return False
    return True


def new_seed() -> bytes:
    """A fresh random 32-byte secret seed from the operating system's CSPRNG."""
    return bytes(nacl.signing.SigningKey.generate())


class Ed25519Signer:
    """Holds an Ed25519 private key (from a 32-byte seed or a SigningKey) and signs with it."""

    __slots__ = ("_key", "_public_key")

    def __init__(self, seed_or_signing_key: bytes | nacl.signing.SigningKey) -> None:
        if isinstance(seed_or_signing_key, nacl.signing.SigningKey):
            self._key = seed_or_signing_key
        else:
            if len(seed_or_signing_key) != SEED_BYTES:
                raise ValueError(f"an Ed25519 seed is {SEED_BYTES} bytes")
            self._key = nacl.signing.SigningKey(bytes(seed_or_signing_key))
        self._public_key = bytes(self._key.verify_key)

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self._public_key

    def sign(self, msg: bytes) -> bytes:
        """Return the 64-byte detached Ed25519 signature of ``msg``."""
        return bytes(self._key.sign(msg).signature)
