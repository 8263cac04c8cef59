"""Merkle trees over transaction hashes, RFC 6962 / RFC 9162 style, with inclusion proofs.

Leaves and inner nodes are hashed under different one-byte prefixes (``0x00`` leaf, ``0x01``
node), so a leaf can never be passed off as an inner node (second-preimage attacks). A tree of
``n`` leaves splits at the largest power of two below ``n``; building level by level and carrying
an odd last node up unchanged gives exactly that tree. The root of no leaves is ``sha256(b"")``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["EMPTY_ROOT", "MerkleProof", "leaf_hash", "merkle_proof", "merkle_root", "verify_proof"]

_LEAF = b"\x00"
_NODE = b"\x01"
_sha256 = hashlib.sha256

EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """The hash of one leaf as it enters the tree: ``sha256(0x00 || leaf)``."""
    return _sha256(_LEAF + leaf).digest()


def _next_level(level: list[bytes]) -> list[bytes]:
    out = [_sha256(_NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        out.append(level[-1])
    return out


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle root of ``leaves`` (transaction hashes, in block order)."""
    if not leaves:
        return EMPTY_ROOT
    level = [_sha256(_LEAF + leaf).digest() for leaf in leaves]
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


@dataclass(frozen=True, slots=True)
class MerkleProof:
    """An inclusion proof: the leaf's ``index``, the tree ``size`` and the sibling hashes."""

    index: int
    size: int
    path: tuple[bytes, ...]


def merkle_proof(leaves: Sequence[bytes], index: int) -> MerkleProof:
    """The inclusion proof of ``leaves[index]``; raises IndexError when out of range."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} is outside a tree of {len(leaves)} leaves")
    level = [_sha256(_LEAF + leaf).digest() for leaf in leaves]
    path: list[bytes] = []
    i = index
    while len(level) > 1:
        sibling = i ^ 1
        if sibling < len(level):  # an odd last node has no sibling at this level
            path.append(level[sibling])
        level = _next_level(level)
        i >>= 1
    return MerkleProof(index=index, size=len(leaves), path=tuple(path))


def verify_proof(root: bytes, leaf: bytes, proof: MerkleProof) -> bool:
    """True when ``proof`` shows that ``leaf`` is at ``proof.index`` of the tree with ``root``.

    This is the verification algorithm of RFC 9162, section 2.1.3.2.
    """
    if not 0 <= proof.index < proof.size:
        return False
    fn, sn = proof.index, proof.size - 1
    r = _sha256(_LEAF + leaf).digest()
    for p in proof.path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _sha256(_NODE + p + r).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(_NODE + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
