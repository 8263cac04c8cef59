"""Commit certificates and duplicate-vote evidence, verified with the validator set alone."""

from __future__ import annotations

from dataclasses import replace

import pytest

from carbon_ticket.consensus import (
    CommitCertificate,
    DuplicateVoteEvidence,
    Ed25519Signer,
    InvalidCertificate,
    InvalidEvidence,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
    verify_certificate,
    verify_evidence,
    vote_sign_bytes,
)

CHAIN = "cert-test"
SIGNERS = [Ed25519Signer(bytes([i + 1]) * 32) for i in range(4)]
VSET = ValidatorSet(tuple(Validator(f"v{i}", s.public_key) for i, s in enumerate(SIGNERS)))
BLOCK = b"\x42" * 32


def _precommit(i: int, block: bytes = BLOCK, height: int = 5, round: int = 1) -> Vote:
    vote = Vote(VoteType.PRECOMMIT, height, round, block, i)
    return replace(vote, signature=SIGNERS[i].sign(vote_sign_bytes(CHAIN, vote)))


def _cert(*votes: Vote) -> CommitCertificate:
    return CommitCertificate(5, 1, BLOCK, votes)


def test_valid_certificate_passes() -> None:
    verify_certificate(CHAIN, VSET, _cert(_precommit(0), _precommit(2), _precommit(3)))


@pytest.mark.parametrize(
    ("cert", "message"),
    [
        (_cert(_precommit(0), _precommit(1)), "need 3"),
        (_cert(_precommit(0), _precommit(1), _precommit(1)), "duplicate signer"),
        (_cert(_precommit(0), _precommit(1), _precommit(2, height=6)), "height 6"),
        (_cert(_precommit(0), _precommit(1), _precommit(2, round=0)), "round 0"),
        (_cert(_precommit(0), _precommit(1), _precommit(2, block=b"\x01" * 32)), "block hash"),
        (_cert(_precommit(0), _precommit(1), replace(_precommit(2), validator_index=9)), "unknown"),
        (
            _cert(_precommit(0), _precommit(1), replace(_precommit(2), signature=b"\x00" * 64)),
            "bad signature",
        ),
        (
            _cert(_precommit(0), _precommit(1), replace(_precommit(2), type=VoteType.PREVOTE)),
            "not a precommit",
        ),
        (CommitCertificate(5, 1, b"", ()), "nil"),
    ],
)
def test_invalid_certificates_say_why(cert: CommitCertificate, message: str) -> None:
    with pytest.raises(InvalidCertificate, match=message):
        verify_certificate(CHAIN, VSET, cert)


def test_certificate_is_bound_to_the_chain_id() -> None:
    with pytest.raises(InvalidCertificate, match="bad signature"):
        verify_certificate("other", VSET, _cert(_precommit(0), _precommit(1), _precommit(2)))


def test_evidence_verification() -> None:
    a, b = _precommit(1), _precommit(1, block=b"")
    verify_evidence(CHAIN, VSET, DuplicateVoteEvidence(a, b))
    with pytest.raises(InvalidEvidence, match="same block"):
        verify_evidence(CHAIN, VSET, DuplicateVoteEvidence(a, a))
    with pytest.raises(InvalidEvidence, match="differ"):
        verify_evidence(CHAIN, VSET, DuplicateVoteEvidence(a, _precommit(2, block=b"")))
    with pytest.raises(InvalidEvidence, match="bad signature"):
        forged = replace(b, signature=b"\x00" * 64)
        verify_evidence(CHAIN, VSET, DuplicateVoteEvidence(a, forged))
