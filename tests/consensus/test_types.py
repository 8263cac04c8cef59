"""Validator sets and canonical sign bytes."""

from __future__ import annotations

import struct

import pytest

from carbon_ticket.consensus import (
    PROPOSAL_TAG,
    VOTE_TAG,
    Ed25519Signer,
    InvalidValidatorSet,
    Proposal,
    TimeoutConfig,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
    ed25519_verify,
    proposal_sign_bytes,
    vote_sign_bytes,
)


def _vset(n: int) -> ValidatorSet:
    return ValidatorSet(tuple(Validator(f"v{i}", bytes([i + 1]) * 32) for i in range(n)))


@pytest.mark.parametrize(
    ("n", "quorum", "one_honest"), [(1, 1, 1), (4, 3, 2), (7, 5, 3), (10, 7, 4)]
)
def test_quorum_is_more_than_two_thirds(n: int, quorum: int, one_honest: int) -> None:
    vs = _vset(n)
    assert (vs.size, vs.quorum, vs.one_honest) == (n, quorum, one_honest)


def test_proposer_rotates_with_height_plus_round() -> None:
    vs = _vset(4)
    assert [vs.proposer(5, r) for r in range(4)] == [1, 2, 3, 0]


def test_index_of_and_hash() -> None:
    vs = _vset(4)
    assert vs.index_of(bytes([3]) * 32) == 2
    assert vs.index_of(b"\x00" * 32) is None
    assert vs.hash() == _vset(4).hash() != _vset(5).hash()
    assert len(vs.hash()) == 32


@pytest.mark.parametrize(
    "validators",
    [
        (),
        (Validator("a", b"short"),),
        (Validator("a", b"\x01" * 32), Validator("b", b"\x01" * 32)),
        (Validator("a", b"\x01" * 32, power=0),),
    ],
)
def test_malformed_validator_sets_are_rejected(validators: tuple[Validator, ...]) -> None:
    with pytest.raises(InvalidValidatorSet):
        ValidatorSet(validators)


def test_vote_sign_bytes_layout() -> None:
    vote = Vote(VoteType.PRECOMMIT, 7, 2, b"\xab" * 32, 3, b"sig")
    expected = (
        VOTE_TAG + struct.pack(">H", 5) + b"chain" + struct.pack(">BQI", 2, 7, 2) + b"\x20"
    ) + b"\xab" * 32
    assert vote_sign_bytes("chain", vote) == expected


def test_sign_bytes_separate_domains_chains_and_fields() -> None:
    vote = Vote(VoteType.PREVOTE, 1, 0, b"\x01" * 32, 0)
    prop = Proposal(1, 0, -1, b"\x01" * 32, b"payload", 1)
    base = vote_sign_bytes("a", vote)
    assert base != vote_sign_bytes("b", vote)
    assert base != vote_sign_bytes("a", Vote(VoteType.PRECOMMIT, 1, 0, b"\x01" * 32, 0))
    assert base != vote_sign_bytes("a", Vote(VoteType.PREVOTE, 1, 1, b"\x01" * 32, 0))
    assert base != vote_sign_bytes("a", Vote(VoteType.PREVOTE, 1, 0, b"", 0))
    pbytes = proposal_sign_bytes("a", prop)
    assert pbytes.startswith(PROPOSAL_TAG)
    # The payload is bound through the hash, not signed directly.
    assert pbytes == proposal_sign_bytes("a", Proposal(1, 0, -1, b"\x01" * 32, b"other", 1))
    assert pbytes != proposal_sign_bytes("a", Proposal(1, 1, 0, b"\x01" * 32, b"payload", 2))


def test_ed25519_signer_and_verifier() -> None:
    signer = Ed25519Signer(b"\x07" * 32)
    sig = signer.sign(b"msg")
    assert ed25519_verify(signer.public_key, b"msg", sig)
    assert not ed25519_verify(signer.public_key, b"msh", sig)
    assert not ed25519_verify(signer.public_key, b"msg", sig[:-1])
    assert not ed25519_verify(b"\x00" * 31, b"msg", sig)


def test_timeouts_grow_with_the_round() -> None:
    t = TimeoutConfig()
    assert (t.propose(0), t.propose(2), t.prevote(1), t.precommit(3)) == (1000, 2000, 1000, 2000)
