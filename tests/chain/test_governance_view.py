"""The governance views behind ListProposals, GetProposal and GetValidators."""

from __future__ import annotations

import pytest

from carbon_ticket.chain.errors import InvalidRequest, NotFound
from carbon_ticket.chain.governance_view import list_proposals, proposal_view, validator_set_view
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import ISSUER, VALIDATORS, Ledger, key
from tests.chain.governance import NO, YES, action, submit, vote, votes

GRANT = action(ledger_pb2.GrantRole(address=ISSUER.address, role=ledger_pb2.ROLE_VERIFIER))
FREEZE = action(ledger_pb2.FreezeAccount(address=ISSUER.address, reason="audit"))


def test_proposals_are_listed_newest_first_with_paging_and_a_status_filter(
    ledger: Ledger,
) -> None:
    ids = [submit(ledger, FREEZE) for _ in range(5)]
    votes(ledger, ids[1], VALIDATORS[:2], NO)  # rejected
    first = list_proposals(ledger.state, "", 2)
    assert [p.proposal_id for p in first.proposals] == [5, 4] and first.next_before == 4
    second = list_proposals(ledger.state, "", 2, first.next_before)
    assert [p.proposal_id for p in second.proposals] == [3, 2] and second.next_before == 2
    last = list_proposals(ledger.state, "", 2, second.next_before)
    assert [p.proposal_id for p in last.proposals] == [1] and last.next_before is None
    rejected = list_proposals(ledger.state, "rejected", 10)
    assert [p.proposal_id for p in rejected.proposals] == [2] and rejected.next_before is None
    assert [p.proposal_id for p in list_proposals(ledger.state, "voting", 10).proposals] == [
        5, 4, 3, 1,
    ]  # fmt: skip
    with pytest.raises(InvalidRequest, match="not one of"):
        list_proposals(ledger.state, "pending", 10)


def test_a_proposal_view_shows_each_vote_with_its_power(ledger: Ledger) -> None:
    pid = submit(ledger, GRANT)
    ledger.ok(VALIDATORS[1], vote(pid, NO))
    ledger.ok(VALIDATORS[0], vote(pid, YES))
    view = proposal_view(ledger.state, pid)
    assert sorted((v.voter, v.option, v.power) for v in view.votes) == sorted(
        [(VALIDATORS[1].address, "no", 1), (VALIDATORS[0].address, "yes", 1)]
    )
    assert (view.proposal.yes_power, view.proposal.no_power) == (1, 1)
    with pytest.raises(NotFound):
        proposal_view(ledger.state, 42)


def test_the_validator_set_view_shows_the_set_and_the_pending_change(ledger: Ledger) -> None:
    new = key("bureau-node-4")
    add = action(
        ledger_pb2.AddValidator(
            name="bureau-node-4", public_key=new.public_key, network_address="n4.example:1"
        )
    )
    pid = submit(ledger, add)
    votes(ledger, pid, VALIDATORS[:3])
    decided = ledger.height
    now = validator_set_view(ledger.state, 0, ledger.height)
    assert (now.height, now.effective_height, len(now.validators)) == (decided + 1, 1, 4)
    assert (now.pending_height, len(now.pending)) == (decided + 2, 5)
    later = validator_set_view(ledger.state, decided + 2, ledger.height)
    assert (later.effective_height, len(later.validators), later.pending_height) == (
        decided + 2, 5, None,
    )  # fmt: skip
    assert validator_set_view(ledger.state, 1, ledger.height).pending_height == decided + 2
    with pytest.raises(InvalidRequest, match="not decided"):
        validator_set_view(ledger.state, decided + 3, ledger.height)
