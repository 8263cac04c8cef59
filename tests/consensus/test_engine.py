"""Engine rules, driven directly with hand-made messages (no simulator)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from carbon_ticket.consensus import (
    Action,
    Broadcast,
    Commit,
    Engine,
    EvidenceFound,
    InMemorySafetyStore,
    Proposal,
    ScheduleTimeout,
    Step,
    Timeout,
    TimeoutConfig,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
    proposal_sign_bytes,
    verify_certificate,
    vote_sign_bytes,
)
from tests.consensus.sim import FakeSigner, SimApp, fake_verify

CHAIN = "engine-test"
SIGNERS = [FakeSigner(b"%d" % i) for i in range(4)]
VSET = ValidatorSet(tuple(Validator(f"v{i}", s.public_key) for i, s in enumerate(SIGNERS)))
TIMEOUTS = TimeoutConfig()


class _App(SimApp):
    def __init__(self) -> None:
        import random

        super().__init__(0, random.Random(1))


def _engine(index: int | None, store: InMemorySafetyStore | None = None) -> Engine:
    signer = SIGNERS[index] if index is not None else None
    return Engine(
        CHAIN, VSET, signer, store or InMemorySafetyStore(), _App(), TIMEOUTS, fake_verify
    )


def _block(height: int, tag: bytes = b"x") -> tuple[bytes, bytes]:
    payload = b"blk|%d|" % height + tag
    return payload, hashlib.sha256(payload).digest()


def _proposal(height: int, round: int, tag: bytes = b"x", pol: int = -1) -> Proposal:
    payload, block_hash = _block(height, tag)
    proposer = VSET.proposer(height, round)
    p = Proposal(height, round, pol, block_hash, payload, proposer)
    return replace(p, signature=SIGNERS[proposer].sign(proposal_sign_bytes(CHAIN, p)))


def _vote(vtype: VoteType, height: int, round: int, block_hash: bytes, i: int) -> Vote:
    v = Vote(vtype, height, round, block_hash, i)
    return replace(v, signature=SIGNERS[i].sign(vote_sign_bytes(CHAIN, v)))


def _sent(actions: Sequence[object]) -> list[Proposal | Vote]:
    return [a.message for a in actions if isinstance(a, Broadcast)]


def _run_network(engines: list[Engine], heights: int) -> list[list[Commit]]:
    """Deliver every broadcast to every other engine, in order, until `heights` are committed."""
    commits: list[list[Commit]] = [[] for _ in engines]
    queue: list[tuple[int, list[Action]]] = [(i, e.start(1)) for i, e in enumerate(engines)]
    while queue:
        src, actions = queue.pop(0)
        for action in actions:
            if isinstance(action, Broadcast):
                msg = action.message
                for j, e in enumerate(engines):
                    if j != src:
                        out = e.on_proposal(msg) if isinstance(msg, Proposal) else e.on_vote(msg)
                        queue.append((j, list(out)))
            elif isinstance(action, Commit):
                commits[src].append(action)
                if action.height < heights:
                    queue.append((src, list(engines[src].start(action.height + 1))))
    return commits


def test_four_validators_and_an_observer_commit_the_same_blocks() -> None:
    engines = [_engine(i) for i in range(4)] + [_engine(None)]
    commits = _run_network(engines, heights=3)
    for per_node in commits:
        assert [c.height for c in per_node] == [1, 2, 3]
        for c in per_node:
            verify_certificate(CHAIN, VSET, c.certificate, fake_verify)
    assert len({tuple(c.certificate.block_hash for c in per_node) for per_node in commits}) == 1


def test_proposer_broadcasts_a_signed_proposal_and_prevotes_it() -> None:
    engine = _engine(VSET.proposer(1, 0))
    actions = engine.start(1)
    sent = _sent(actions)
    assert isinstance(sent[0], Proposal) and isinstance(sent[1], Vote)
    assert sent[1].type == VoteType.PREVOTE and sent[1].block_hash == sent[0].block_hash
    assert any(isinstance(a, ScheduleTimeout) for a in actions)


def test_bad_signature_and_non_member_input_is_dropped_not_raised() -> None:
    engine = _engine(0)
    engine.start(1)
    p = _proposal(1, 0)
    assert engine.on_proposal(replace(p, signature=b"\x00" * 64)) == []
    assert engine.on_proposal(replace(p, proposer_index=3)) == []
    assert engine.on_vote(replace(_vote(VoteType.PREVOTE, 1, 0, b"", 1), validator_index=7)) == []
    assert engine.on_vote(replace(_vote(VoteType.PREVOTE, 1, 0, b"", 1), round=1)) == []
    assert engine.dropped["bad_signature"] == 2 and engine.dropped["malformed"] == 2


def test_each_step_says_whether_it_took_the_message_or_why_not() -> None:
    # The node decides on this (start the next height early, log forgeries), so it must not have
    # to infer it from counters.
    engine = _engine(0)
    engine.start(1)
    p = _proposal(1, 0)
    engine.on_proposal(replace(p, signature=b"\x00" * 64))
    assert engine.last_drop == "bad_signature"
    engine.on_proposal(p)
    assert engine.last_drop is None
    engine.on_proposal(p)
    assert engine.last_drop == "duplicate"
    engine.on_vote(_vote(VoteType.PREVOTE, 1, 0, p.block_hash, 1))
    assert engine.last_drop is None
    engine.on_vote(replace(_vote(VoteType.PREVOTE, 1, 0, b"", 1), validator_index=7))
    assert engine.last_drop == "malformed"


def test_invalid_block_gets_a_nil_prevote() -> None:
    engine = _engine(0)
    engine.start(1)
    p = _proposal(1, 0)
    payload = b"bad|1|"
    bad = replace(p, block=payload, block_hash=hashlib.sha256(payload).digest())
    bad = replace(bad, signature=SIGNERS[1].sign(proposal_sign_bytes(CHAIN, bad)))
    votes = _sent(engine.on_proposal(bad))
    assert votes == [replace(votes[0], block_hash=b"")]


def test_locked_validator_refuses_a_fresh_value_in_a_later_round() -> None:
    engine = _engine(0)
    engine.start(1)
    p = _proposal(1, 0)
    engine.on_proposal(p)
    actions = []
    for i in (1, 2):
        actions += engine.on_vote(_vote(VoteType.PREVOTE, 1, 0, p.block_hash, i))
    precommits = [m for m in _sent(actions) if isinstance(m, Vote)]
    assert precommits[-1].type == VoteType.PRECOMMIT and precommits[-1].block_hash == p.block_hash
    for i in (1, 2):
        engine.on_vote(_vote(VoteType.PRECOMMIT, 1, 0, b"", i))
    engine.on_timeout(Timeout(1, 0, Step.PRECOMMIT))
    assert engine.round == 1
    fresh = _proposal(1, 1, tag=b"other")
    vote = _sent(engine.on_proposal(fresh))[0]
    assert isinstance(vote, Vote)
    assert vote.type == VoteType.PREVOTE and vote.block_hash == b""


def test_duplicate_votes_become_evidence() -> None:
    engine = _engine(0)
    engine.start(1)
    engine.on_proposal(_proposal(1, 0))
    engine.on_vote(_vote(VoteType.PREVOTE, 1, 0, b"", 2))
    actions = engine.on_vote(_vote(VoteType.PREVOTE, 1, 0, _proposal(1, 0).block_hash, 2))
    evidence = [a.evidence for a in actions if isinstance(a, EvidenceFound)]
    assert len(evidence) == 1 and evidence[0].vote_a.block_hash == b""


def test_next_height_messages_are_buffered_until_start() -> None:
    engine = _engine(0)
    engine.start(1)
    p = _proposal(2, 0)
    assert engine.on_proposal(p) == []
    votes = _sent(engine.start(2))
    assert any(isinstance(v, Vote) and v.block_hash == p.block_hash for v in votes)


def test_restart_resends_the_stored_vote_and_never_signs_a_conflicting_one() -> None:
    store = InMemorySafetyStore()
    engine = _engine(0, store)
    engine.start(1)
    engine.on_proposal(_proposal(1, 0))
    assert store.state is not None
    first = store.state.signature
    restarted = _engine(0, store)
    resent = _sent(restarted.start(1))
    assert [v.signature for v in resent if isinstance(v, Vote)] == [first]
    assert restarted.step == Step.PREVOTE
    # A proposal timeout would make a fresh engine prevote nil; the restarted one stays silent.
    assert _sent(restarted.on_timeout(Timeout(1, 0, Step.PROPOSE))) == []
    assert store.saves == 1


def test_an_untimely_fresh_proposal_is_prevoted_nil_but_can_still_be_locked_and_committed() -> None:
    """Timeliness decides this node's prevote only: the block stays valid, so when a quorum
    prevotes it (their clocks agree with the proposer's) this node locks on it and commits it."""
    engine = _engine(2)
    app = engine._app
    assert isinstance(app, SimApp)
    proposer = VSET.proposer(1, 0)
    payload = b"blk|1|%d|0|late" % proposer
    block_hash = hashlib.sha256(payload).digest()
    p = Proposal(1, 0, -1, block_hash, payload, proposer)
    p = replace(p, signature=SIGNERS[proposer].sign(proposal_sign_bytes(CHAIN, p)))
    app.late_proposers.add(proposer)
    engine.start(1)
    prevotes = [m for m in _sent(engine.on_proposal(p)) if isinstance(m, Vote)]
    assert [(v.type, v.block_hash) for v in prevotes] == [(VoteType.PREVOTE, b"")]
    others = [i for i in range(4) if i != 2]
    actions: list[object] = []
    for i in others:
        actions += engine.on_vote(_vote(VoteType.PREVOTE, 1, 0, block_hash, i))
    precommits = [m for m in _sent(actions) if isinstance(m, Vote)]
    assert [(v.type, v.block_hash) for v in precommits] == [(VoteType.PRECOMMIT, block_hash)]
    assert engine.lock == (0, block_hash)
    for i in others:
        actions += engine.on_vote(_vote(VoteType.PRECOMMIT, 1, 0, block_hash, i))
    commits = [a for a in actions if isinstance(a, Commit)]
    assert [c.certificate.block_hash for c in commits] == [block_hash]


def test_a_timely_fresh_proposal_gets_a_prevote_for_its_block() -> None:
    engine = _engine(2)
    engine.start(1)
    p = _proposal(1, 0)
    prevotes = [m for m in _sent(engine.on_proposal(p)) if isinstance(m, Vote)]
    assert [(v.type, v.block_hash) for v in prevotes] == [(VoteType.PREVOTE, p.block_hash)]


def test_a_double_vote_for_the_next_height_is_kept_and_becomes_evidence() -> None:
    """Both votes of an equivocation that arrive while we still decide the previous height wait
    in the next-height buffer (within the signer's quota), so starting the height finds it."""
    engine = _engine(2)
    engine.start(1)
    a = _vote(VoteType.PREVOTE, 2, 0, hashlib.sha256(b"a").digest(), 3)
    b = _vote(VoteType.PREVOTE, 2, 0, hashlib.sha256(b"b").digest(), 3)
    assert engine.on_vote(a) == [] and engine.on_vote(b) == []
    found = [x for x in engine.start(2) if isinstance(x, EvidenceFound)]
    assert [(e.evidence.vote_a, e.evidence.vote_b) for e in found] == [(a, b)]
