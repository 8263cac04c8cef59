"""The engine with a validator set per height: index, proposer, votes and power follow the set
in effect at each message's height (hand-made messages, no simulator)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import replace

import pytest

from carbon_ticket.consensus import (
    Broadcast,
    Commit,
    Engine,
    FixedValidatorSets,
    InMemorySafetyStore,
    InvalidValidatorSet,
    Proposal,
    Step,
    SyncNeeded,
    Timeout,
    TimeoutConfig,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
    proposal_sign_bytes,
    vote_sign_bytes,
)
from tests.consensus.sim import FakeSigner, SimApp, fake_verify

CHAIN = "valset-test"
SIGNERS = [FakeSigner(b"vs%d" % i) for i in range(6)]


def _set(*members: int | tuple[int, int]) -> ValidatorSet:
    pairs = [m if isinstance(m, tuple) else (m, 1) for m in members]
    return ValidatorSet(tuple(Validator(f"v{i}", SIGNERS[i].public_key, p) for i, p in pairs))


# Validator 3 leaves and validator 4 joins in its place: decided at 1, in effect from 3.
SET_A = _set(0, 1, 2, 3)
SET_B = _set(0, 1, 2, 4)


class _Sets:
    """Sets by height; `known` caps what can be answered (a node knows up to committed + 2)."""

    def __init__(self, starts: dict[int, ValidatorSet], known: int = 10**9) -> None:
        self.starts = starts
        self.known = known

    def at(self, height: int) -> ValidatorSet | None:
        if height > self.known:
            return None
        return self.starts[max(h for h in self.starts if h <= height)]


class _CountingVerify:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, key: bytes, msg: bytes, sig: bytes) -> bool:
        self.calls += 1
        return fake_verify(key, msg, sig)


def _engine(signer: int | None, sets: object = None, verify: object = fake_verify) -> Engine:
    return Engine(
        CHAIN,
        sets if sets is not None else _Sets({1: SET_A, 3: SET_B}),  # type: ignore[arg-type]
        SIGNERS[signer] if signer is not None else None,
        InMemorySafetyStore(),
        SimApp(0, random.Random(1)),
        TimeoutConfig(),
        verify,  # type: ignore[arg-type]
    )


def _proposal(vset: ValidatorSet, height: int, round: int = 0) -> Proposal:
    index = vset.proposer(height, round)
    signer = next(s for s in SIGNERS if s.public_key == vset.validators[index].public_key)
    payload = b"blk|%d|x" % height
    p = Proposal(height, round, -1, hashlib.sha256(payload).digest(), payload, index)
    return replace(p, signature=signer.sign(proposal_sign_bytes(CHAIN, p)))


def _vote(signer: int, index: int, height: int, block_hash: bytes, vtype: VoteType) -> Vote:
    v = Vote(vtype, height, 0, block_hash, index)
    return replace(v, signature=SIGNERS[signer].sign(vote_sign_bytes(CHAIN, v)))


def _sent_votes(actions: Sequence[object]) -> list[Vote]:
    return [a.message for a in actions if isinstance(a, Broadcast) and isinstance(a.message, Vote)]


def test_the_index_is_recomputed_at_each_start() -> None:
    leaving, joining = _engine(3), _engine(4)
    for height, index_leaving, index_joining in ((1, 3, None), (2, 3, None), (3, None, 3)):
        leaving.start(height)
        joining.start(height)
        assert (leaving.index, joining.index) == (index_leaving, index_joining)
    assert leaving.validators == SET_B == joining.validators


def test_a_validator_out_of_the_set_signs_nothing_there() -> None:
    # Height 3's round-0 proposer index is 3: validator 3 at height 2, validator 4 at height 3.
    leaving = _engine(3)
    leaving.start(2)
    leaving.start(3)
    actions = leaving.start(3) + leaving.on_timeout(Timeout(3, 0, Step.PROPOSE))
    assert not [a for a in actions if isinstance(a, Broadcast)]


def test_an_added_validator_proposes_at_its_first_height_and_its_proposal_is_accepted() -> None:
    joining = _engine(4)
    joining.start(2)
    sent = [a.message for a in joining.start(3) if isinstance(a, Broadcast)]
    assert [type(m) for m in sent] == [Proposal, Vote]
    proposal = sent[0]
    assert isinstance(proposal, Proposal) and proposal.proposer_index == 3
    member = _engine(0)
    member.start(3)
    votes = _sent_votes(member.on_proposal(proposal))
    assert member.last_drop is None
    assert [(v.type, v.block_hash) for v in votes] == [(VoteType.PREVOTE, proposal.block_hash)]


def test_a_removed_validators_vote_is_not_counted_at_its_first_height_out() -> None:
    engine = _engine(0)
    engine.start(3)
    p = _proposal(SET_B, 3)
    engine.on_proposal(p)
    engine.on_vote(_vote(1, 1, 3, p.block_hash, VoteType.PREVOTE))
    # Validator 3 signs with the index it held at height 2; at height 3 that index is 4's.
    assert engine.on_vote(_vote(3, 3, 3, p.block_hash, VoteType.PREVOTE)) == []
    assert engine.last_drop == "bad_signature"
    assert engine.step == Step.PREVOTE  # two prevotes of four: no polka, no precommit
    precommits = _sent_votes(engine.on_vote(_vote(2, 2, 3, p.block_hash, VoteType.PREVOTE)))
    assert [v.type for v in precommits] == [VoteType.PRECOMMIT]


def test_next_height_messages_are_verified_against_the_next_set() -> None:
    engine = _engine(0)
    engine.start(2)
    assert not engine.next_height_ready()
    p = _proposal(SET_B, 3)  # by validator 4, not yet a member at height 2
    assert engine.on_proposal(p) == [] and engine.last_drop is None
    engine.on_vote(_vote(3, 3, 3, p.block_hash, VoteType.PREVOTE))
    assert engine.last_drop == "bad_signature"
    assert engine.next_height_ready()  # the round-0 proposal of height 3 was seen
    votes = _sent_votes(engine.start(3))
    assert [(v.type, v.block_hash) for v in votes] == [(VoteType.PREVOTE, p.block_hash)]


def test_the_power_and_quorum_are_those_of_the_messages_height() -> None:
    heavy = _set(0, 1, 2, (3, 3))  # total 6, quorum 5: three light validators are not enough
    engine = _engine(0, _Sets({1: SET_A, 2: heavy}))
    engine.start(2)
    p = _proposal(heavy, 2)
    engine.on_proposal(p)
    engine.on_vote(_vote(1, 1, 2, p.block_hash, VoteType.PREVOTE))
    engine.on_vote(_vote(2, 2, 2, p.block_hash, VoteType.PREVOTE))
    assert engine.step == Step.PREVOTE
    actions = engine.on_vote(_vote(3, 3, 2, p.block_hash, VoteType.PREVOTE))
    assert [v.type for v in _sent_votes(actions)] == [VoteType.PRECOMMIT]
    for i in (1, 3):
        actions += engine.on_vote(_vote(i, i, 2, p.block_hash, VoteType.PRECOMMIT))
    commits = [a for a in actions if isinstance(a, Commit)]
    assert [len(c.certificate.precommits) for c in commits] == [3]


def test_a_next_height_message_whose_set_is_unknown_is_dropped_unverified() -> None:
    verify = _CountingVerify()
    sets = _Sets({1: SET_A, 3: SET_B}, known=2)
    engine = _engine(0, sets, verify)
    engine.start(2)
    p = _proposal(SET_B, 3)
    assert engine.on_proposal(p) == [] and engine.last_drop == "unknown_set"
    assert verify.calls == 0 and not engine.next_height_ready()
    sets.known = 3
    votes = _sent_votes(engine.start(3))
    # Nothing was parked: starting height 3 finds no proposal to prevote.
    assert votes == []


def test_a_far_future_message_is_only_a_one_shot_hint_to_sync() -> None:
    verify = _CountingVerify()
    engine = _engine(0, verify=verify)
    engine.start(1)
    forged = Vote(VoteType.PREVOTE, 50, 0, b"", 2, b"junk")
    assert engine.on_vote(forged) == [] and engine.last_drop == "far_future"
    assert verify.calls == 0

    def tick() -> list[SyncNeeded]:
        actions = engine.on_timeout(Timeout(1, 0, Step.REBROADCAST))
        return [a for a in actions if isinstance(a, SyncNeeded)]

    assert tick() == []  # the first tick only sets the marker
    assert tick() == [SyncNeeded(1, 50)]
    assert tick() == []  # used once; a sender must send again to cost another fetch


def test_starting_a_height_whose_set_is_unknown_raises_and_changes_nothing() -> None:
    engine = _engine(0, _Sets({1: SET_A}, known=1))
    engine.start(1)
    with pytest.raises(InvalidValidatorSet):
        engine.start(2)
    assert (engine.height, engine.index, engine.validators) == (1, 0, SET_A)


def test_a_plain_set_and_fixed_sets_behave_the_same() -> None:
    plain, fixed = _engine(1, SET_A), _engine(1, FixedValidatorSets(SET_A))
    for engine in (plain, fixed):
        engine.start(5)
    assert (plain.index, plain.validators) == (fixed.index, fixed.validators) == (1, SET_A)
