"""Governance proposals and votes.

Any operator of a validator in the set in effect submits a proposal: one or more governance
actions (``chain.rules.gov_actions``), checked against the current state when submitted, and a
voting period in blocks (deadline = submit height + period). Each operator votes once, yes, no or
abstain; its vote counts the power of the validators it operates in the set in effect when the
tally is taken (at every vote), so a removed validator's vote stops counting. The moment yes
holds more than 2/3 of the total power the actions execute in that same block, all or nothing:
if one fails the proposal is ``failed`` with the error and nothing of the actions is written
(the vote itself stays). A proposal is ``rejected`` once yes can no longer pass 2/3 (no and
abstain hold at least 1/3), and ``expired`` at the end of its deadline block if still voting.
Statuses only ever move from ``voting`` to one closed status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import (
    AlreadyExists,
    InvalidTransaction,
    LedgerError,
    NotFound,
    PreconditionFailed,
    StorageError,
)
from carbon_ticket.chain.governance_records import VOTE_OPTIONS, Proposal, ProposalVote
from carbon_ticket.chain.records import Validator
from carbon_ticket.chain.results import Event
from carbon_ticket.chain.rules._common import BlockContext, Effects, event, read_u64
from carbon_ticket.chain.rules.gov_actions import execute_actions
from carbon_ticket.chain.rules.governance import operated_power, require_operator
from carbon_ticket.chain.state import StateOverlay, StateReader, get_params, validators_at
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "Tally",
    "expire_proposals",
    "get_proposal",
    "process_cast_vote",
    "process_submit_proposal",
    "proposal_actions",
    "tally_votes",
]


@dataclass(frozen=True, slots=True)
class Tally:
    """Voting power per option and in total, in one validator set."""

    yes: int = 0
    no: int = 0
    abstain: int = 0
    total: int = 0

    @property
    def passes(self) -> bool:
        """Yes holds more than 2/3 of the total power."""
        return self.yes * 3 > self.total * 2

    @property
    def cannot_pass(self) -> bool:
        """Even if every validator yet to vote voted yes, yes would not pass 2/3."""
        return (self.total - self.no - self.abstain) * 3 <= self.total * 2


def get_proposal(state: StateReader, proposal_id: int) -> Proposal:
    """A proposal by id; raise NotFound (``unknown_proposal``)."""
    raw = state.get(keys.proposal_key(proposal_id))
    if raw is None:
        raise NotFound(f"proposal {proposal_id} does not exist", "unknown_proposal")
    return Proposal.decode(raw)


def proposal_actions(proposal: Proposal) -> tuple[ledger_pb2.GovAction, ...]:
    """The proposal's actions, parsed from the bytes its proposer signed."""
    return tuple(ledger_pb2.GovAction.FromString(raw) for raw in proposal.actions)


def tally_votes(state: StateReader, proposal_id: int, validators: tuple[Validator, ...]) -> Tally:
    """The votes on a proposal weighed with the power of ``validators`` (the set in effect)."""
    options: dict[str, str] = {}
    powers = {"yes": 0, "no": 0, "abstain": 0, "": 0}
    for validator in validators:
        operator = validator.operator_address
        if operator not in options:
            raw = state.get(keys.proposal_vote_key(proposal_id, operator))
            options[operator] = "" if raw is None else ProposalVote.decode(raw).option
        powers[options[operator]] += validator.power
    return Tally(powers["yes"], powers["no"], powers["abstain"], sum(v.power for v in validators))


def process_submit_proposal(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.SubmitProposal
) -> Effects:
    """Record a proposal open for votes until its deadline height."""
    signer = tx.body.signer
    governance = get_params(state).governance
    validators = validators_at(state, ctx.height)
    # Verify the signer operates a validator in effect
    require_operator(validators, signer, "submitting a proposal")
    # Verify the voting period and the number of actions fit the governance parameters
    period = msg.voting_period or governance.default_voting_period
    if not governance.min_voting_period <= period <= governance.max_voting_period:
        raise InvalidTransaction(
            f"voting period {period} blocks is outside params.governance "
            f"({governance.min_voting_period} to {governance.max_voting_period})",
            "invalid_voting_period",
        )
    if len(msg.actions) > governance.max_actions:
        raise InvalidTransaction(
            f"the proposal carries {len(msg.actions)} actions, params.governance.max_actions "
            f"is {governance.max_actions}",
            "too_many_actions",
        )
    proposal_id = read_u64(state, keys.NEXT_PROPOSAL_ID) or 1
    # Verify every action would execute against the current state
    execute_actions(state.child(), ctx, proposal_id, msg.actions, check_only=True)

    proposal = Proposal(
        proposal_id=proposal_id,
        proposer=signer,
        title=msg.title,
        description_uri=msg.description_uri,
        description_hash=msg.description_hash,
        actions=tuple(a.SerializeToString(deterministic=True) for a in msg.actions),
        submit_height=ctx.height,
        deadline_height=ctx.height + period,
        tx_hash=tx.tx_hash,
        total_power=sum(v.power for v in validators),
    )
    state.set(keys.proposal_key(proposal_id), proposal.encode())
    state.set(keys.proposal_deadline_key(proposal.deadline_height, proposal_id), b"\x01")
    state.set(keys.NEXT_PROPOSAL_ID, keys.encode_u64(proposal_id + 1))
    return Effects(
        events=(
            event(
                "submit_proposal",
                ("proposal_id", str(proposal_id)),
                ("proposer", signer),
                ("deadline_height", str(proposal.deadline_height)),
                ("actions", str(len(msg.actions))),
            ),
        ),
        accounts=(signer,),
    )


def process_cast_vote(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.CastVote
) -> Effects:
    """Record an operator's vote, re-tally, and close the proposal if the vote decides it."""
    signer = tx.body.signer
    # Verify the proposal exists and the signer operates a validator in effect
    proposal = get_proposal(state, msg.proposal_id)
    validators = validators_at(state, ctx.height)
    require_operator(validators, signer, "voting on a proposal")
    # Verify the proposal is still open and the operator has not voted on it
    _require_voting(proposal, ctx.height)
    vote_key = keys.proposal_vote_key(proposal.proposal_id, signer)
    if state.get(vote_key) is not None:
        raise AlreadyExists(
            f"operator {signer} already voted on proposal {proposal.proposal_id}",
            "already_voted",
        )

    option = VOTE_OPTIONS[msg.option]
    power = operated_power(validators, (signer,))
    vote = ProposalVote(proposal.proposal_id, signer, option, power, ctx.height, tx.tx_hash)
    state.set(vote_key, vote.encode())
    tally = tally_votes(state, proposal.proposal_id, validators)
    decided, outcome = _decide(state, ctx, proposal, tally)
    state.set(keys.proposal_key(proposal.proposal_id), decided.encode())
    if not decided.voting:
        state.delete(keys.proposal_deadline_key(proposal.deadline_height, proposal.proposal_id))
    cast = event(
        "cast_vote",
        ("proposal_id", str(proposal.proposal_id)),
        ("voter", signer),
        ("option", option),
        ("power", str(power)),
        ("status", decided.status),
    )
    return Effects(events=(cast, *outcome), accounts=(signer,))


def _require_voting(proposal: Proposal, height: int) -> None:
    if proposal.status == "expired" or (proposal.voting and height > proposal.deadline_height):
        raise PreconditionFailed(
            f"proposal {proposal.proposal_id} took votes until height "
            f"{proposal.deadline_height}; this is height {height}",
            "vote_after_deadline",
        )
    if not proposal.voting:
        raise PreconditionFailed(
            f"proposal {proposal.proposal_id} is {proposal.status} since height "
            f"{proposal.closed_height} and takes no more votes",
            "proposal_closed",
        )


def _decide(
    state: StateOverlay, ctx: BlockContext, proposal: Proposal, tally: Tally
) -> tuple[Proposal, tuple[Event, ...]]:
    """The proposal after a tally, and the events of its outcome (its actions' if it passed)."""
    counted = replace(
        proposal,
        yes_power=tally.yes,
        no_power=tally.no,
        abstain_power=tally.abstain,
        total_power=tally.total,
    )
    pid = ("proposal_id", str(proposal.proposal_id))
    if tally.passes:
        scratch = state.child()
        try:
            action_events = execute_actions(
                scratch, ctx, proposal.proposal_id, proposal_actions(proposal)
            )
        except StorageError:
            raise
        except LedgerError as error:
            failed = replace(
                counted,
                status="failed",
                closed_height=ctx.height,
                error_code=error.code,
                error=error.message,
            )
            return failed, (
                event("proposal_failed", pid, ("error_code", error.code), ("error", error.message)),
            )
        scratch.commit()
        passed = replace(counted, status="passed", closed_height=ctx.height)
        return passed, (event("proposal_passed", pid), *action_events)
    if tally.cannot_pass:
        rejected = replace(counted, status="rejected", closed_height=ctx.height)
        return rejected, (event("proposal_rejected", pid),)
    return counted, ()


def expire_proposals(state: StateOverlay, ctx: BlockContext) -> None:
    """End of block: proposals whose deadline is this height and still voting expire.

    Reads only the deadline index of this height, so it costs O(proposals expiring now).
    """
    prefix = keys.proposal_deadline_prefix(ctx.height)
    for key, _value in list(state.scan(prefix)):
        proposal_id = keys.decode_u64(key[len(prefix) :])
        proposal = get_proposal(state, proposal_id)
        state.delete(key)
        if proposal.voting:
            expired = replace(proposal, status="expired", closed_height=ctx.height)
            state.set(keys.proposal_key(proposal_id), expired.encode())
