"""Offline verification of commit certificates and duplicate-vote evidence."""

from __future__ import annotations

from carbon_ticket.consensus.errors import InvalidCertificate, InvalidEvidence
from carbon_ticket.consensus.signing import Verifier, ed25519_verify, vote_sign_bytes
from carbon_ticket.consensus.types import (
    CommitCertificate,
    DuplicateVoteEvidence,
    ValidatorSet,
    VoteType,
)

__all__ = ["verify_certificate", "verify_evidence"]


def verify_certificate(
    chain_id: str,
    validators: ValidatorSet,
    cert: CommitCertificate,
    verifier: Verifier = ed25519_verify,
) -> None:
    """Check that `cert` proves its block final; raise InvalidCertificate saying why not.

    Every structural check runs before any signature is verified; each signature is verified once.
    """
    # Verify the certificate names a real block.
    if not cert.block_hash:
        raise InvalidCertificate(f"height {cert.height}: certificate is for nil")
    seen: set[int] = set()
    power = 0
    for vote in cert.precommits:
        # Verify each vote is a precommit for exactly this height, round and block.
        where = f"height {cert.height}: precommit of validator {vote.validator_index}"
        if vote.type != VoteType.PRECOMMIT:
            raise InvalidCertificate(f"{where} has vote type {int(vote.type)}, not a precommit")
        if vote.height != cert.height:
            raise InvalidCertificate(f"{where} is for height {vote.height}")
        if vote.round != cert.round:
            raise InvalidCertificate(f"{where} is for round {vote.round}, not {cert.round}")
        if vote.block_hash != cert.block_hash:
            raise InvalidCertificate(f"{where} is for another block hash")
        # Verify the signer is a member and signs only once.
        if not 0 <= vote.validator_index < validators.size:
            raise InvalidCertificate(f"{where}: unknown validator index")
        if vote.validator_index in seen:
            raise InvalidCertificate(f"{where}: duplicate signer")
        seen.add(vote.validator_index)
        power += validators.power_of(vote.validator_index)
    # Verify the signers hold more than two thirds of the power.
    if power < validators.quorum:
        raise InvalidCertificate(
            f"height {cert.height}: precommits carry power {power}, need {validators.quorum} "
            f"(more than 2/3 of {validators.total_power})"
        )
    # Verify every signature, once each.
    for vote in cert.precommits:
        key = validators.validators[vote.validator_index].public_key
        if not verifier(key, vote_sign_bytes(chain_id, vote), vote.signature):
            raise InvalidCertificate(
                f"height {cert.height}: bad signature from validator {vote.validator_index}"
            )


def verify_evidence(
    chain_id: str,
    validators: ValidatorSet,
    evidence: DuplicateVoteEvidence,
    verifier: Verifier = ed25519_verify,
) -> None:
    """Check that `evidence` is two validly signed, conflicting votes by one validator."""
    a, b = evidence.vote_a, evidence.vote_b
    # Verify the two votes are for the same position by the same member, with different blocks.
    if (a.type, a.height, a.round, a.validator_index) != (
        b.type,
        b.height,
        b.round,
        b.validator_index,
    ):
        raise InvalidEvidence("votes differ in type, height, round or validator")
    if a.block_hash == b.block_hash:
        raise InvalidEvidence("votes are for the same block; nothing conflicts")
    if not 0 <= a.validator_index < validators.size:
        raise InvalidEvidence(f"unknown validator index {a.validator_index}")
    key = validators.validators[a.validator_index].public_key
    for vote in (a, b):
        if not verifier(key, vote_sign_bytes(chain_id, vote), vote.signature):
            raise InvalidEvidence(f"bad signature from validator {vote.validator_index}")
