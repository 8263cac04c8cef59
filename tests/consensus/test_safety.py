"""The signature-safety guard and the durable sign state."""

from __future__ import annotations

import pytest

from carbon_ticket.consensus import (
    InMemorySafetyStore,
    SafetyStoreError,
    SignGuard,
    SignState,
    Step,
    Vote,
    VoteType,
)
from tests.consensus.sim import FakeSigner


def _guard(store: InMemorySafetyStore | None = None) -> tuple[SignGuard, InMemorySafetyStore]:
    store = store if store is not None else InMemorySafetyStore()
    return SignGuard(FakeSigner(b"k"), store), store


def test_saves_before_returning_a_signature() -> None:
    guard, store = _guard()
    sig = guard.sign(1, 0, Step.PREVOTE, b"bytes", -1, b"")
    assert sig is not None and store.state is not None
    assert store.state.position == (1, 0, 2) and store.state.signature == sig


def test_same_position_only_re_emits_the_same_signature() -> None:
    guard, store = _guard()
    sig = guard.sign(1, 0, Step.PREVOTE, b"a", -1, b"")
    assert guard.sign(1, 0, Step.PREVOTE, b"a", -1, b"") == sig
    assert guard.sign(1, 0, Step.PREVOTE, b"b", -1, b"") is None
    assert store.saves == 1


def test_never_signs_below_the_stored_position_even_after_restart() -> None:
    guard, store = _guard()
    guard.sign(2, 3, Step.PRECOMMIT, b"x", 3, b"h" * 32)
    restarted, _ = _guard(store)
    assert restarted.sign(2, 3, Step.PREVOTE, b"y", -1, b"") is None
    assert restarted.sign(2, 2, Step.PRECOMMIT, b"y", -1, b"") is None
    assert restarted.sign(1, 9, Step.PRECOMMIT, b"y", -1, b"") is None
    assert restarted.sign(2, 3, Step.PRECOMMIT, b"x", 3, b"h" * 32) is not None
    assert restarted.sign(2, 4, Step.PROPOSE, b"z", 3, b"h" * 32) is not None


def test_history_keeps_own_votes_of_the_last_two_rounds() -> None:
    guard, store = _guard()
    for rnd in range(3):
        for step, vtype in ((Step.PREVOTE, VoteType.PREVOTE), (Step.PRECOMMIT, VoteType.PRECOMMIT)):
            vote = Vote(vtype, 4, rnd, b"", 0)
            guard.sign(4, rnd, step, b"%d%d" % (rnd, step), -1, b"", vote)
    assert store.state is not None
    assert sorted((v.round, int(v.type)) for v in store.state.votes) == [
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    ]
    assert all(v.signature for v in store.state.votes)


def test_sign_state_round_trips_through_bytes() -> None:
    vote = Vote(VoteType.PRECOMMIT, 9, 2, b"\x01" * 32, 3, b"s" * 64)
    state = SignState(9, 2, Step.PRECOMMIT, b"bytes", b"s" * 64, 2, b"\x01" * 32, (vote,), (vote,))
    assert SignState.from_bytes(state.to_bytes()) == state
    with pytest.raises(SafetyStoreError):
        SignState.from_bytes(state.to_bytes()[:-1])
    with pytest.raises(SafetyStoreError):
        SignState.from_bytes(b"garbage")
