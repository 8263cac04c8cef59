"""Builders for the governance tests: proposals, actions and votes on the in-memory ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import cast

from carbon_ticket.chain import Genesis, TxResult
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.governance_records import Proposal
from carbon_ticket.chain.rules.proposals import get_proposal
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import VALIDATORS, Ledger, make_genesis

YES = ledger_pb2.VOTE_OPTION_YES
NO = ledger_pb2.VOTE_OPTION_NO
ABSTAIN = ledger_pb2.VOTE_OPTION_ABSTAIN


def proposal(
    *actions: ledger_pb2.GovAction, period: int = 10, title: str = "A proposal"
) -> ledger_pb2.SubmitProposal:
    """A SubmitProposal carrying ``actions``."""
    return ledger_pb2.SubmitProposal(
        title=title,
        description_uri="https://bureau.example/proposals/1",
        description_hash=bytes(32),
        voting_period=period,
        actions=list(actions),
    )


def action(msg: object) -> ledger_pb2.GovAction:
    """A GovAction wrapping one action message (AddValidator, GrantRole, ...)."""
    fields = {
        f.message_type.name: f.name
        for f in ledger_pb2.GovAction.DESCRIPTOR.fields
        if f.message_type is not None  # every field of the oneof is a message
    }
    wrapped = ledger_pb2.GovAction()
    getattr(wrapped, fields[type(msg).__name__]).CopyFrom(msg)
    return wrapped


def vote(proposal_id: int, option: int = YES) -> ledger_pb2.CastVote:
    """A CastVote."""
    # Any int, on purpose: tests also pass options no enum names (refused by the rules).
    return ledger_pb2.CastVote(proposal_id=proposal_id, option=cast(ledger_pb2.VoteOption, option))


def submit(chain: Ledger, *actions: ledger_pb2.GovAction, period: int = 10) -> int:
    """Submit a proposal by validator 0's operator; return its id."""
    receipt = chain.ok(VALIDATORS[0], proposal(*actions, period=period))
    return int(dict(receipt.events[0].attributes)["proposal_id"])


def votes(
    chain: Ledger, proposal_id: int, voters: Sequence[PrivateKey], option: int = YES
) -> list[TxResult]:
    """Each voter votes in its own block; every vote must be accepted."""
    return [chain.ok(voter, vote(proposal_id, option)) for voter in voters]


def stored(chain: Ledger, proposal_id: int) -> Proposal:
    """The proposal as stored."""
    return get_proposal(chain.state, proposal_id)


def weighted_genesis(*powers: int) -> Genesis:
    """The test genesis with its four validators given these powers."""
    base = make_genesis()
    return replace(
        base,
        validators=tuple(replace(v, power=p) for v, p in zip(base.validators, powers, strict=True)),
    )
