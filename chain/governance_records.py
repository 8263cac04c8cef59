"""Governance records in state: proposals, their votes and account freezes.

Same canonical encoding as ``chain.records`` (they are ``Record`` subclasses); kept apart so
that the ledger's record module stays about tickets and accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from carbon_ticket.chain.records import Record

__all__ = [
    "CLOSED_STATUSES",
    "PROPOSAL_STATUSES",
    "VOTE_OPTIONS",
    "Freeze",
    "Proposal",
    "ProposalVote",
]

# Index = proto ``VoteOption`` value.
VOTE_OPTIONS: tuple[str, ...] = ("", "yes", "no", "abstain")
# voting -> passed (executed) | failed (passed, an action failed: nothing changed)
#        | rejected (yes can no longer pass 2/3) | expired (deadline reached while voting)
PROPOSAL_STATUSES: tuple[str, ...] = ("voting", "passed", "failed", "rejected", "expired")
CLOSED_STATUSES = frozenset(PROPOSAL_STATUSES[1:])


@dataclass(frozen=True, slots=True)
class Proposal(Record):
    """A governance proposal: what it would do, its voting window, its last tally and outcome.

    The tally powers are those of the set in effect at the last vote (or at closing); ``error``
    and ``error_code`` say why a passed proposal failed to execute.
    """

    TAG: ClassVar[bytes] = b"G"
    KINDS: ClassVar[str] = "usssbBuubsuuuuuss"

    proposal_id: int
    proposer: str  # the operator that submitted it
    title: str
    description_uri: str
    description_hash: bytes
    actions: tuple[bytes, ...]  # each a serialised GovAction, as signed
    submit_height: int
    deadline_height: int  # last height at which votes count
    tx_hash: bytes  # the submitting transaction
    status: str = "voting"  # one of PROPOSAL_STATUSES
    yes_power: int = 0
    no_power: int = 0
    abstain_power: int = 0
    total_power: int = 0
    closed_height: int = 0  # 0 while voting
    error_code: str = ""
    error: str = ""

    @property
    def voting(self) -> bool:
        """True while votes are accepted."""
        return self.status == "voting"


@dataclass(frozen=True, slots=True)
class ProposalVote(Record):
    """One operator's vote on a proposal, with the power it carried when cast."""

    TAG: ClassVar[bytes] = b"Q"
    KINDS: ClassVar[str] = "ussuub"

    proposal_id: int
    voter: str  # operator address
    option: str  # one of VOTE_OPTIONS[1:]
    power: int  # power of the voter's validators in the set in effect when it voted
    height: int
    tx_hash: bytes


@dataclass(frozen=True, slots=True)
class Freeze(Record):
    """Why and since when an account is frozen (it can receive but not send)."""

    TAG: ClassVar[bytes] = b"F"
    KINDS: ClassVar[str] = "ssuu"

    address: str
    reason: str
    proposal_id: int
    height: int
