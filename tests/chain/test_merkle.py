"""Merkle roots and inclusion proofs: RFC 6962 shape, every leaf provable, tampering fails."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon_ticket.chain import merkle
from carbon_ticket.chain.merkle import (
    EMPTY_ROOT,
    MerkleProof,
    leaf_hash,
    merkle_proof,
    merkle_root,
    verify_proof,
)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, written recursively as in the RFC."""
    n = len(leaves)
    if n == 0:
        return sha(b"")
    if n == 1:
        return sha(b"\x00" + leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:]))


def leaves_of(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(32) for _ in range(n)]


def test_empty_and_single_leaf_roots() -> None:
    assert merkle_root([]) == EMPTY_ROOT == sha(b"")
    leaf = b"\x07" * 32
    assert merkle_root([leaf]) == leaf_hash(leaf) == sha(b"\x00" + leaf)


@pytest.mark.parametrize("n", [*range(1, 34), 100, 257, 1000])
def test_root_matches_rfc6962_recursion(n: int) -> None:
    leaves = leaves_of(n, n)
    assert merkle_root(leaves) == reference_root(leaves)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 9, 31, 64, 100])
def test_every_leaf_has_a_verifying_proof(n: int) -> None:
    leaves = leaves_of(n, n)
    root = merkle_root(leaves)
    for i, leaf in enumerate(leaves):
        proof = merkle_proof(leaves, i)
        assert verify_proof(root, leaf, proof), (n, i)


@given(
    st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70, unique=True), st.data()
)
def test_proofs_fail_for_tampered_leaf_index_root_or_path(
    leaves: list[bytes], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(leaves) - 1))
    root = merkle_root(leaves)
    proof = merkle_proof(leaves, i)
    assert verify_proof(root, leaves[i], proof)
    tampered = bytes([leaves[i][0] ^ 1]) + leaves[i][1:]
    assert not verify_proof(root, tampered, proof)
    assert not verify_proof(merkle_root([*leaves, b"x" * 32]), leaves[i], proof)
    if len(leaves) > 1:
        other = (i + 1) % len(leaves)
        if leaves[other] != leaves[i]:
            assert not verify_proof(root, leaves[i], MerkleProof(other, proof.size, proof.path))
        bad_path = (bytes(32), *proof.path[1:])
        assert not verify_proof(root, leaves[i], MerkleProof(i, proof.size, bad_path))
        assert not verify_proof(root, leaves[i], MerkleProof(i, proof.size, proof.path[:-1]))
    assert not verify_proof(root, leaves[i], MerkleProof(i, proof.size, (*proof.path, bytes(32))))


def test_root_does_not_bind_the_size_so_headers_carry_tx_count() -> None:
    # RFC 6962 roots do not commit to the tree size: a proof for leaf 0 of 3 leaves has the
    # same shape as one for 4. chain.block.verify_tx_proof therefore checks the size against
    # the header's tx_count (tested in test_block.py).
    leaves = leaves_of(3)
    proof = merkle_proof(leaves, 0)
    assert verify_proof(merkle_root(leaves), leaves[0], MerkleProof(0, 4, proof.path))


def test_out_of_range_index_is_rejected() -> None:
    leaves = leaves_of(4)
    with pytest.raises(IndexError):
        merkle_proof(leaves, 4)
    with pytest.raises(IndexError):
        merkle_proof([], 0)
    assert not verify_proof(merkle_root(leaves), leaves[0], MerkleProof(4, 4, ()))
    assert not verify_proof(merkle_root(leaves), leaves[0], MerkleProof(-1, 4, ()))


def test_inner_node_cannot_pose_as_a_leaf() -> None:
    leaves = leaves_of(4)
    inner = sha(b"\x01" + leaf_hash(leaves[0]) + leaf_hash(leaves[1]))
    root = merkle_root(leaves)
    # A two-leaf tree over the inner nodes would have the same shape without domain separation.
    assert merkle_root([inner, sha(b"\x01" + leaf_hash(leaves[2]) + leaf_hash(leaves[3]))]) != root


def test_root_and_proof_of_5000_leaves_hash_each_node_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Linear work, counted rather than timed (no test asserts a time): a tree of n leaves has
    # n leaf hashes and n - 1 inner ones, and a proof is as cheap as the root.
    calls = 0
    real = merkle._sha256

    def counted(data: bytes = b"") -> Any:
        nonlocal calls
        calls += 1
        return real(data)

    monkeypatch.setattr(merkle, "_sha256", counted)
    leaves = leaves_of(5000)
    root = merkle_root(leaves)
    assert calls == 2 * 5000 - 1
    calls = 0
    proof = merkle_proof(leaves, 4321)
    assert calls == 2 * 5000 - 1 and len(proof.path) <= 13  # ceil(log2(5000))
    assert verify_proof(root, leaves[4321], proof)
