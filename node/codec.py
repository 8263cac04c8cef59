"""Conversion between consensus value types and their protobuf wire form (the peer edge).

Decoding never trusts the peer: every field is range-checked and malformed input raises
``PeerMessageError`` so the caller can log and drop it.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from carbon_ticket.chain.errors import InvalidRequest
from carbon_ticket.consensus import CommitCertificate, Proposal, Vote, VoteType
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = [
    "PeerMessageError",
    "certificate_from_bytes",
    "certificate_from_proto",
    "certificate_to_bytes",
    "certificate_to_proto",
    "message_from_proto",
    "message_to_proto",
    "vote_from_proto",
    "vote_to_proto",
]

_HASH_LEN = 32
_SIG_LEN = 64


class PeerMessageError(InvalidRequest):
    """A consensus message or certificate from a peer that is malformed."""

    default_code = "malformed_peer_message"


def vote_to_proto(vote: Vote) -> ledger_pb2.Vote:
    """The wire form of a vote."""
    return ledger_pb2.Vote(
        type=int(vote.type),  # type: ignore[arg-type]
        height=vote.height,
        round=vote.round,
        block_hash=vote.block_hash,
        validator_index=vote.validator_index,
        signature=vote.signature,
    )


def vote_from_proto(msg: ledger_pb2.Vote) -> Vote:
    """A vote from its wire form; raises PeerMessageError on a malformed one."""
    if msg.type not in (VoteType.PREVOTE, VoteType.PRECOMMIT):
        raise PeerMessageError(f"unknown vote type {msg.type}")
    if msg.block_hash and len(msg.block_hash) != _HASH_LEN:
        raise PeerMessageError("vote block hash must be empty (nil) or 32 bytes")
    if len(msg.signature) != _SIG_LEN:
        raise PeerMessageError("vote signature must be 64 bytes")
    return Vote(
        type=VoteType(msg.type),
        height=msg.height,
        round=msg.round,
        block_hash=msg.block_hash,
        validator_index=msg.validator_index,
        signature=msg.signature,
    )


def proposal_to_proto(p: Proposal) -> ledger_pb2.Proposal:
    """The wire form of a proposal."""
    return ledger_pb2.Proposal(
        height=p.height,
        round=p.round,
        pol_round=p.pol_round,
        block_hash=p.block_hash,
        block=p.block,
        proposer_index=p.proposer_index,
        signature=p.signature,
    )


def proposal_from_proto(msg: ledger_pb2.Proposal) -> Proposal:
    """A proposal from its wire form; raises PeerMessageError on a malformed one."""
    if len(msg.block_hash) != _HASH_LEN:
        raise PeerMessageError("proposal block hash must be 32 bytes")
    if len(msg.signature) != _SIG_LEN:
        raise PeerMessageError("proposal signature must be 64 bytes")
    if not -1 <= msg.pol_round < msg.round and msg.pol_round != -1:
        raise PeerMessageError(f"proposal pol_round {msg.pol_round} out of range")
    return Proposal(
        height=msg.height,
        round=msg.round,
        pol_round=msg.pol_round,
        block_hash=msg.block_hash,
        block=msg.block,
        proposer_index=msg.proposer_index,
        signature=msg.signature,
    )


def message_to_proto(message: Proposal | Vote) -> services_pb2.ConsensusMessage:
    """Wrap a proposal or vote for the peer service."""
    if isinstance(message, Vote):
        return services_pb2.ConsensusMessage(vote=vote_to_proto(message))
    return services_pb2.ConsensusMessage(proposal=proposal_to_proto(message))


def message_from_proto(msg: services_pb2.ConsensusMessage) -> Proposal | Vote:
    """Unwrap a peer's consensus message; raises PeerMessageError when empty or malformed."""
    kind = msg.WhichOneof("msg")
    if kind == "vote":
        return vote_from_proto(msg.vote)
    if kind == "proposal":
        return proposal_from_proto(msg.proposal)
    raise PeerMessageError("empty consensus message")


def certificate_to_proto(cert: CommitCertificate) -> ledger_pb2.CommitCertificate:
    """The wire and storage form of a commit certificate."""
    return ledger_pb2.CommitCertificate(
        height=cert.height,
        round=cert.round,
        block_hash=cert.block_hash,
        precommits=[vote_to_proto(v) for v in cert.precommits],
    )


def certificate_from_proto(msg: ledger_pb2.CommitCertificate) -> CommitCertificate:
    """A certificate from its wire form (structure only; verify it with the validator set)."""
    if len(msg.block_hash) != _HASH_LEN:
        raise PeerMessageError("certificate block hash must be 32 bytes")
    return CommitCertificate(
        height=msg.height,
        round=msg.round,
        block_hash=msg.block_hash,
        precommits=tuple(vote_from_proto(v) for v in msg.precommits),
    )


def certificate_to_bytes(cert: CommitCertificate) -> bytes:
    """Serialised certificate, as stored beside its block."""
    return certificate_to_proto(cert).SerializeToString(deterministic=True)


def certificate_from_bytes(raw: bytes) -> CommitCertificate:
    """Parse a stored or received certificate; raises PeerMessageError when malformed."""
    msg = ledger_pb2.CommitCertificate()
    try:
        msg.ParseFromString(raw)
    except DecodeError as exc:
        raise PeerMessageError(f"malformed certificate: {exc}") from exc
    return certificate_from_proto(msg)
