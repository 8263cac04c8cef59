"""A property over random proposal and vote sequences: tallies never exceed the total power, a
proposal executes at most once, statuses only move from voting to one closed status."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon_ticket.chain import keys as state_keys
from carbon_ticket.chain import validator_history
from carbon_ticket.chain.governance_records import CLOSED_STATUSES, Proposal
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import VALIDATORS, Ledger, key
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


CANDIDATES = tuple(key(f"candidate-{i}") for i in range(6))
ALL_KEYS = (*VALIDATORS, *CANDIDATES)

# One round: an operator proposes one or two set changes, then some operators (the genesis ones
# and the first candidates, once added) vote on each in turn, mostly yes, so that changes do pass
# (two of them in consecutive blocks: the second must wait for the first) and the rule is
# exercised; idle blocks let scheduled changes take effect.
change = st.tuples(
    st.sampled_from(("add", "remove", "power")),
    st.integers(0, len(ALL_KEYS) - 1),  # the validator acted on
    st.integers(1, 8),  # power (above 6 a join moves more than 1/3 of 3+3+3+3)
)
set_round = st.tuples(
    st.integers(0, 5),  # the proposer
    st.lists(change, min_size=1, max_size=2),  # proposals, voted on in turn
    st.permutations(range(6)),  # the voters, in order ...
    st.integers(2, 6),  # ... how many of them vote
    st.lists(st.sampled_from((1, 1, 1, 1, 2, 3)), min_size=6, max_size=6),  # their options
    st.integers(0, 3),  # idle blocks after the round
)


def _set_action(kind: str, target: int, power: int) -> ledger_pb2.GovAction:
    # Joins are of candidates; leaves and power changes of the genesis validators and the
    # first two candidates.
    who = CANDIDATES[target % len(CANDIDATES)] if kind == "add" else ALL_KEYS[target % 6]
    if kind == "add":
        return action(
            ledger_pb2.AddValidator(
                name=who.address[-8:], public_key=who.public_key,
                network_address=f"{who.address[-8:]}.example:1", power=power,
            )
        )  # fmt: skip
    if kind == "remove":
        return action(ledger_pb2.RemoveValidator(public_key=who.public_key))
    return action(ledger_pb2.SetValidatorPower(public_key=who.public_key, power=power))


@SETTINGS
@given(st.lists(set_round, min_size=2, max_size=10))
def test_random_set_changes_by_proposal_keep_the_rule_of_a_change(
    rounds: list[tuple[int, list[tuple[str, int, int]], list[int], int, list[int], int]],
) -> None:
    chain = Ledger(weighted_genesis(3, 3, 3, 3))
    for proposer, changes, voters, count, options, idle in rounds:
        ids = []
        for kind, target, power in changes:
            receipt = chain.submit(ALL_KEYS[proposer], proposal(_set_action(kind, target, power)))
            ids += [int(dict(e.attributes)["proposal_id"]) for e in receipt.events]
        for voter, option in zip(voters[:count], options, strict=False):
            for pid in ids:
                chain.submit(ALL_KEYS[voter], vote(pid, option))
        for _ in range(idle):
            chain.run([])
        history = validator_history(chain.state)
        for (start, old), (effective, new) in pairwise(history):
            # The rule, restated: at least 4 validators; the unchanged ones (same key, same
            # power) hold more than 2/3 of the old and of the new power; one change pending.
            before = {v.public_key: v.power for v in old}
            unchanged = sum(v.power for v in new if before.get(v.public_key) == v.power)
            assert len(new) >= 4
            assert unchanged * 3 > sum(before.values()) * 2
            assert unchanged * 3 > sum(v.power for v in new) * 2
            assert effective >= start + 2
        assert effective_power_ok(chain)


def effective_power_ok(chain: Ledger) -> bool:
    """Every stored tally counts at most the power of the set it was taken in."""
    for current in _proposals(chain).values():
        counted = current.yes_power + current.no_power + current.abstain_power
        if counted > current.total_power:
            return False
    return True
