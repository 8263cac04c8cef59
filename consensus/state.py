"""Per-height bookkeeping of the engine: proposals, vote tallies, round senders."""

from __future__ import annotations

from dataclasses import dataclass, field

from carbon_ticket.consensus.types import Proposal, Vote

__all__ = ["HeightState", "VoteSet"]


@dataclass(slots=True)
class VoteSet:
    """Votes of one type in one round, with power tallied per block hash.

    `votes` keeps each validator's first vote (it alone counts toward `total`). A conflicting later
    vote from an equivocator is still counted toward its own block hash when the engine allows it:
    the paper counts distinct senders per value, and honest nodes must be able to see a quorum
    that other honest nodes saw even if they received an equivocator's other vote first.
    """

    votes: dict[int, Vote] = field(default_factory=dict)
    extra: list[Vote] = field(default_factory=list)
    voters: dict[bytes, set[int]] = field(default_factory=dict)
    power: dict[bytes, int] = field(default_factory=dict)
    total: int = 0

    def add(self, vote: Vote, power: int, count_conflict: bool) -> Vote | None:
        """Record `vote`; return the validator's first vote if this one conflicts with it."""
        index = vote.validator_index
        prev = self.votes.get(index)
        if prev is not None and prev.block_hash == vote.block_hash:
            return None
        voters = self.voters.setdefault(vote.block_hash, set())
        if prev is None:
            self.votes[index] = vote
            self.total += power
        elif not count_conflict or index in voters:
            return prev
        else:
            self.extra.append(vote)
        voters.add(index)
        self.power[vote.block_hash] = self.power.get(vote.block_hash, 0) + power
        return prev

    def all_votes(self) -> list[Vote]:
        """Every counted vote, first votes then counted conflicting ones."""
        return [*self.votes.values(), *self.extra]

    def for_block(self, block_hash: bytes) -> list[Vote]:
        """Counted votes for `block_hash`, ordered by validator index."""
        found = [v for v in self.all_votes() if v.block_hash == block_hash]
        return sorted(found, key=lambda v: v.validator_index)

    def quorum_hash(self, quorum: int) -> bytes | None:
        """The non-nil block hash holding at least `quorum` power, if any."""
        for block_hash, power in self.power.items():
            if block_hash and power >= quorum:
                return block_hash
        return None


@dataclass(slots=True)
class HeightState:
    """Everything the engine learned about its current height; replaced on `start`."""

    # round -> block hash -> proposal; the first entry of a round is "the" proposal of that round.
    # Only proposals whose payload hashes to their signed block hash are ever stored.
    proposals: dict[int, dict[bytes, Proposal]] = field(default_factory=dict)
    prevotes: dict[int, VoteSet] = field(default_factory=dict)
    precommits: dict[int, VoteSet] = field(default_factory=dict)
    # Payloads bound to their hash (stored proposals, fetched or restored blocks), validated or not.
    payloads: dict[bytes, bytes] = field(default_factory=dict)
    # Validated payloads by block hash: valid(v) in the paper is `v in valid_blocks`.
    valid_blocks: dict[bytes, bytes] = field(default_factory=dict)
    # Bound payloads the application refused (never asked again at this height).
    invalid: set[bytes] = field(default_factory=set)
    # Wanted block hashes already asked of peers since the last retransmission tick.
    fetching: set[bytes] = field(default_factory=set)
    # Distinct senders (and their power) of rounds above the current one, for the skip rule.
    senders: dict[int, set[int]] = field(default_factory=dict)
    sender_power: dict[int, int] = field(default_factory=dict)
    skip_to: int = -1
    # Block hash -> round in which it gathered a precommit quorum.
    commit_candidates: dict[bytes, int] = field(default_factory=dict)
    # "For the first time" flags of the paper, by round.
    prevote_timeout_rounds: set[int] = field(default_factory=set)
    precommit_timeout_rounds: set[int] = field(default_factory=set)
    polka_rounds: set[int] = field(default_factory=set)
    evidence_keys: set[tuple[int, int, int]] = field(default_factory=set)
    # Round -> block hash that gathered a prevote quorum there (a "polka").
    polkas: dict[int, bytes] = field(default_factory=dict)
    locked_round: int = -1
    locked_hash: bytes = b""
    lock_votes: tuple[Vote, ...] = ()
    valid_round: int = -1
    valid_hash: bytes = b""
    # The polka of a valid value restored after a restart (its prevotes, to re-send and cite).
    valid_votes: tuple[Vote, ...] = ()

    def wanted(self) -> set[bytes]:
        """Block hashes a quorum or our own lock names: their payload is needed to go on."""
        hashes = {*self.polkas.values(), *self.commit_candidates, self.locked_hash, self.valid_hash}
        hashes.discard(b"")
        return hashes

    def first_proposal(self, round: int) -> Proposal | None:
        """The first proposal accepted for `round`."""
        by_hash = self.proposals.get(round)
        if not by_hash:
            return None
        return next(iter(by_hash.values()))

    def has_proposal(self, round: int, block_hash: bytes) -> bool:
        """Whether a proposal for `block_hash` was accepted in `round`."""
        by_hash = self.proposals.get(round)
        return by_hash is not None and block_hash in by_hash
