"""Canonical sign bytes and the signer / verifier interfaces (Ed25519 by default).

``Ed25519Signer`` and ``ed25519_verify`` come from ``consensus.ed25519``, the one Ed25519 module
of the project (``chain.crypto`` uses it too).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

from carbon_ticket.consensus.ed25519 import Ed25519Signer
from carbon_ticket.consensus.ed25519 import verify as ed25519_verify
from carbon_ticket.consensus.types import Proposal, Vote

__all__ = [
    "PROPOSAL_TAG",
    "VOTE_TAG",
    "Ed25519Signer",
    "Signer",
    "Verifier",
    "ed25519_verify",
    "proposal_sign_bytes",
    "vote_sign_bytes",
]

VOTE_TAG = b"carbonticket/vote/v1\x00"
PROPOSAL_TAG = b"carbonticket/proposal/v1\x00"

_MAX_HASH_LEN = 64


def _chain_prefix(tag: bytes, chain_id: str) -> bytes:
    cid = chain_id.encode("utf-8")
    return tag + struct.pack(">H", len(cid)) + cid


@lru_cache(maxsize=64)
def _cached_prefix(tag: bytes, chain_id: str) -> bytes:
    return _chain_prefix(tag, chain_id)


def _hash_field(block_hash: bytes) -> bytes:
    if len(block_hash) > _MAX_HASH_LEN:
        raise ValueError(f"block hash of {len(block_hash)} bytes is too long")
    return struct.pack(">B", len(block_hash)) + block_hash


def vote_sign_bytes(chain_id: str, vote: Vote) -> bytes:
    """Bytes a validator signs for `vote`: tag, chain id, type, height, round, block hash.

    Layout: tag | u16 len | chain id utf-8 | u8 type | u64 height | u32 round | u8 len | hash.
    """
    return (
        _cached_prefix(VOTE_TAG, chain_id)
        + struct.pack(">BQI", int(vote.type), vote.height, vote.round)
        + _hash_field(vote.block_hash)
    )


def proposal_sign_bytes(chain_id: str, proposal: Proposal) -> bytes:
    """Bytes a proposer signs: tag, chain id, height, round, pol_round, block hash.

    Layout: tag | u16 len | chain id utf-8 | u64 height | u32 round | i32 pol_round | u8 len | hash.
    The payload is not signed; it is bound through its hash.
    """
    return (
        _cached_prefix(PROPOSAL_TAG, chain_id)
        + struct.pack(">QIi", proposal.height, proposal.round, proposal.pol_round)
        + _hash_field(proposal.block_hash)
    )


class Signer(Protocol):
    """Holds a validator's private key and signs canonical bytes with it."""

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key matching the private key."""
        ...

    def sign(self, msg: bytes) -> bytes:
        """Return the detached signature of `msg`."""
        ...


Verifier = Callable[[bytes, bytes, bytes], bool]
"""`verify(public_key, msg, signature) -> bool`; must not raise on malformed input."""
