"""Read-only views of governance over a committed state: proposals with their votes, and the
validator set in effect at a height with the change scheduled after it (issue 16).

Pure: the caller passes the committed height. Proposals are listed newest first; a listing
reads every proposal record (governance makes few), never the votes.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import InvalidRequest
from carbon_ticket.chain.governance_records import PROPOSAL_STATUSES, Proposal, ProposalVote
from carbon_ticket.chain.records import Validator
from carbon_ticket.chain.rules.proposals import get_proposal
from carbon_ticket.chain.rules.validators import ACTIVATION_DELAY
from carbon_ticket.chain.state import StateReader, validator_history

__all__ = [
    "ProposalPage",
    "ProposalView",
    "ValidatorSetView",
    "list_proposals",
    "proposal_view",
    "validator_set_view",
]


@dataclass(frozen=True, slots=True)
class ProposalView:
    """A proposal and every vote cast on it, by voter address."""

    proposal: Proposal
    votes: tuple[ProposalVote, ...]


@dataclass(frozen=True, slots=True)
class ProposalPage:
    """A page of proposals, newest first, and the id to continue below (None: no more)."""

    proposals: tuple[Proposal, ...]
    next_before: int | None


@dataclass(frozen=True, slots=True)
class ValidatorSetView:
    """The set in effect at ``height`` (from ``effective_height``) and the next scheduled one."""

    height: int
    effective_height: int
    validators: tuple[Validator, ...]
    pending_height: int | None  # a change scheduled after ``height`` takes effect here
    pending: tuple[Validator, ...]


def proposal_view(state: StateReader, proposal_id: int) -> ProposalView:
    """A proposal with its votes; raise NotFound (``unknown_proposal``)."""
    proposal = get_proposal(state, proposal_id)
    votes = tuple(
        ProposalVote.decode(raw) for _key, raw in state.scan(keys.proposal_vote_prefix(proposal_id))
    )
    return ProposalView(proposal, votes)


def list_proposals(
    state: StateReader, status: str, size: int, before: int | None = None
) -> ProposalPage:
    """Up to ``size`` proposals with ``status`` ("" = any) and an id below ``before``, newest
    first; raise InvalidRequest for an unknown status."""
    if status and status not in PROPOSAL_STATUSES:
        raise InvalidRequest(
            f"status {status!r} is not one of {', '.join(PROPOSAL_STATUSES)}", "invalid_status"
        )
    matching = [
        proposal
        for proposal in (Proposal.decode(raw) for _key, raw in state.scan(keys.PROPOSAL))
        if (not status or proposal.status == status)
        and (before is None or proposal.proposal_id < before)
    ]
    page = tuple(reversed(matching[-size:])) if size > 0 else ()
    more = len(matching) > len(page) and page
    return ProposalPage(page, page[-1].proposal_id if more else None)


def validator_set_view(state: StateReader, height: int, committed_height: int) -> ValidatorSetView:
    """The set in effect at ``height`` (0 = the next height); raise InvalidRequest beyond the
    last decided height (committed + 2)."""
    height = height or committed_height + 1
    if height > committed_height + ACTIVATION_DELAY:
        raise InvalidRequest(
            f"the validator set of height {height} is not decided yet; the chain is at height "
            f"{committed_height}, so sets are known up to height "
            f"{committed_height + ACTIVATION_DELAY}",
            "height_not_decided",
        )
    history = validator_history(state)
    index = max(i for i, (start, _v) in enumerate(history) if start <= height or i == 0)
    effective, validators = history[index]
    pending_height, pending = history[index + 1] if index + 1 < len(history) else (None, ())
    return ValidatorSetView(height, effective, validators, pending_height, pending)
