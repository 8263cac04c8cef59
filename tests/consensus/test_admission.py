"""Round window and next-height buffer: what one validator may make the engine hold."""

from __future__ import annotations

from carbon_ticket.consensus import Proposal, Vote, VoteType
from carbon_ticket.consensus.admission import (
    FUTURE_QUOTA,
    PEER_CATCHUP_ROUNDS,
    FutureBuffer,
    RoundWindow,
)
from tests.consensus.test_engine import VSET


def test_rounds_up_to_the_next_are_open_to_everyone() -> None:
    window = RoundWindow()
    window.enter(5)
    assert all(window.allows(0, r) for r in range(7))


def test_each_validator_opens_only_a_few_rounds_beyond_and_gets_them_back_on_arrival() -> None:
    window = RoundWindow()
    for r in range(10, 10 + PEER_CATCHUP_ROUNDS):
        assert window.allows(1, r)
        window.admit(1, r)
    assert not window.allows(1, 100)
    assert window.allows(1, 10)  # already opened: still allowed
    assert window.allows(2, 100)  # another validator's quota is its own
    window.enter(11)  # rounds 10..12 are now ordinary
    assert window.allows(1, 100)


def _vote(index: int, height: int, round: int) -> Vote:
    return Vote(VoteType.PREVOTE, height, round, b"", index, b"s")


def test_the_buffer_keeps_a_quota_per_signer_and_hands_out_one_height() -> None:
    buf = FutureBuffer()
    added = [buf.add(("v", r, 3), _vote(3, 2, r), 3) for r in range(FUTURE_QUOTA + 5)]
    assert added.count(True) == FUTURE_QUOTA
    assert buf.add(("v", 0, 1), _vote(1, 2, 0), 1)
    assert len(buf.take(2)) == FUTURE_QUOTA + 1 and len(buf) == 0
    assert buf.add(("v", 0, 3), _vote(3, 3, 0), 3)  # quotas are counted afresh


def test_the_next_height_has_begun_with_its_first_proposal_or_f_plus_one_signers() -> None:
    buf = FutureBuffer()
    later = Proposal(2, 1, -1, b"h", b"b", VSET.proposer(2, 1), b"s")
    buf.add(("p", 1, b"h"), later, later.proposer_index)
    buf.add(("v", 0, later.proposer_index), _vote(later.proposer_index, 2, 0), 3)
    assert not buf.started(2, VSET)  # one validator, a later round's proposer at that
    buf.add(("v", 0, 0), _vote(0, 2, 0), 0)
    assert buf.started(2, VSET)  # two distinct signers: f + 1 at n = 4
    other = FutureBuffer()
    first = Proposal(2, 0, -1, b"h", b"b", VSET.proposer(2, 0), b"s")
    other.add(("p", 0, b"h"), first, first.proposer_index)
    assert other.started(2, VSET)
