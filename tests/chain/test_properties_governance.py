"""A property over random proposal and vote sequences: tallies never exceed the total power, a
proposal executes at most once, statuses only move from voting to one closed status."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon_ticket.chain import keys as state_keys
from carbon_ticket.chain.governance_records import CLOSED_STATUSES, Proposal
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import VALIDATORS, Ledger
from tests.chain.governance import action, proposal, vote, weighted_genesis

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

submit_op = st.tuples(
    st.just("submit"), st.integers(0, 3), st.integers(1, 6), st.integers(0, 10_000)
)
vote_op = st.tuples(st.just("vote"), st.integers(0, 3), st.integers(1, 6), st.integers(1, 3))
idle_op = st.tuples(st.just("idle"), st.just(0), st.just(0), st.just(0))
ops = st.lists(st.one_of(submit_op, vote_op, idle_op), min_size=1, max_size=40)
powers = st.tuples(*(st.integers(1, 5) for _ in range(4)))


def _proposals(chain: Ledger) -> dict[int, Proposal]:
    return {
        state_keys.decode_u64(k[len(state_keys.PROPOSAL) :]): Proposal.decode(v)
        for k, v in chain.state.scan(state_keys.PROPOSAL)
    }


def _change(bps: int) -> ledger_pb2.GovAction:
    return action(
        ledger_pb2.ChangeParams(
            changes=[ledger_pb2.ParamChange(name="buffer_share_bps", value=str(bps))]
        )
    )


@SETTINGS
@given(powers, ops)
def test_random_proposals_and_votes_keep_the_governance_invariants(
    power: tuple[int, int, int, int], operations: list[tuple[str, int, int, int]]
) -> None:
    chain = Ledger(weighted_genesis(*power))
    total = sum(power)
    executions: Counter[str] = Counter()
    seen: dict[int, str] = {}
    for kind, who, a, b in operations:
        signer = VALIDATORS[who]
        if kind == "submit":
            events = chain.submit(signer, proposal(_change(b), period=a)).events
        elif kind == "vote":
            events = chain.submit(signer, vote(a, b)).events
        else:
            chain.run([])
            events = ()
        executions.update(
            dict(e.attributes)["proposal_id"] for e in events if e.type == "proposal_passed"
        )
        for pid, current in _proposals(chain).items():
            assert current.yes_power + current.no_power + current.abstain_power <= total
            assert current.total_power == total
            before = seen.get(pid, "voting")
            assert before in ("voting", current.status), (pid, before, current)
            if current.status in CLOSED_STATUSES:
                assert current.closed_height <= current.deadline_height
            if current.status == "passed":
                assert current.yes_power * 3 > total * 2
            seen[pid] = current.status
    assert all(count == 1 for count in executions.values())  # executed at most once
    assert set(executions) == {str(pid) for pid, status in seen.items() if status == "passed"}
    for pid in seen:
        # one vote per operator at most
        assert len(list(chain.state.scan(state_keys.proposal_vote_prefix(pid)))) <= 4
