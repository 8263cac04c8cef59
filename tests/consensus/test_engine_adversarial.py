"""Engine behaviour under the attacks and crashes of issue 11, driven by hand (no simulator)."""

from __future__ import annotations

import hashlib
import heapq
import random
from dataclasses import replace

from carbon_ticket.consensus import (
    Broadcast,
    Commit,
    Engine,
    FetchBlock,
    InMemorySafetyStore,
    Proposal,
    ScheduleTimeout,
    Step,
    Timeout,
    TimeoutConfig,
    Vote,
    VoteType,
    proposal_sign_bytes,
)
from carbon_ticket.consensus.admission import FUTURE_QUOTA, PEER_CATCHUP_ROUNDS
from tests.consensus.sim import BlockForgettingEngine, SimApp, fake_verify
from tests.consensus.test_engine import CHAIN, SIGNERS, VSET, _proposal, _sent, _vote

TIMEOUTS = TimeoutConfig(propose_ms=200, prevote_ms=100, precommit_ms=100, delta_ms=50)


_APPS = iter(range(1_000_000))


class _CountingApp(SimApp):
    # A fresh random stream per process incarnation: a restarted proposer must not rebuild,
    # by chance, the very block it lost.
    def __init__(self, index: int) -> None:
        super().__init__(index, random.Random(next(_APPS)))


def _engine(
    index: int, store: InMemorySafetyStore | None = None, cls: type[Engine] = Engine
) -> Engine:
    return cls(
        CHAIN,
        VSET,
        SIGNERS[index],
        store if store is not None else InMemorySafetyStore(),
        _CountingApp(index),
        TIMEOUTS,
        fake_verify,
    )


def _tampered(p: Proposal) -> Proposal:
    return replace(p, block=b"junk|" + p.block)


# ------------------------------------------------------------------------ payload binding


def test_a_tampered_copy_arriving_first_is_dropped_and_the_genuine_proposal_is_prevoted() -> None:
    engine = _engine(0)
    engine.start(1)
    genuine = _proposal(1, 0)
    assert engine.on_proposal(_tampered(genuine)) == []
    assert engine.dropped["payload_mismatch"] == 1
    prevotes = [m for m in _sent(engine.on_proposal(genuine)) if isinstance(m, Vote)]
    assert prevotes[0].type == VoteType.PREVOTE and prevotes[0].block_hash == genuine.block_hash


def test_a_tampered_copy_is_never_relayed() -> None:
    engine = _engine(0)
    engine.start(1)
    genuine = _proposal(1, 0)
    engine.on_proposal(_tampered(genuine))
    engine.on_proposal(genuine)
    # Two quiet ticks: the second re-sends everything held for this round.
    engine.on_timeout(Timeout(1, 0, Step.REBROADCAST))
    relayed = _sent(engine.on_timeout(Timeout(1, 0, Step.REBROADCAST)))
    proposals = [m for m in relayed if isinstance(m, Proposal)]
    assert proposals == [genuine]


def test_a_second_different_proposal_in_a_round_is_neither_stored_nor_executed() -> None:
    engine = _engine(0)
    engine.start(1)
    engine.on_proposal(_proposal(1, 0))
    app = engine._app
    assert isinstance(app, SimApp)
    calls = app.validate_calls
    engine.on_proposal(_proposal(1, 0, tag=b"other"))
    assert engine.holdings()[1] == 1 and app.validate_calls == calls
    assert engine.dropped["extra_proposal"] == 1


# --------------------------------------------------------------------------- bounded cost


def test_a_flood_of_votes_and_proposals_in_one_height_leaves_bounded_holdings() -> None:
    engine = _engine(0)
    engine.start(1)
    app = engine._app
    assert isinstance(app, SimApp)
    flooder = 2
    rng = random.Random(5)
    for k in range(50_000):
        vtype = VoteType.PREVOTE if k % 2 else VoteType.PRECOMMIT
        engine.on_vote(_vote(vtype, 1, 2 + k, rng.randbytes(32), flooder))
    proposals = 0
    rnd = 0
    while proposals < 300:
        if VSET.proposer(1, rnd) == flooder:
            padded = _proposal(1, rnd, tag=b"%d|" % rnd + bytes(65_536))
            engine.on_proposal(padded)
            proposals += 1
        rnd += 1
    vote_sets, stored = engine.holdings()
    # Rounds 0 and 1 (prevotes + precommits) plus the flooder's catch-up rounds.
    assert vote_sets <= 2 * 2 + 2 * PEER_CATCHUP_ROUNDS
    assert stored <= 2
    assert app.validate_calls <= 1
    assert engine.dropped["far_round"] >= 50_000 - PEER_CATCHUP_ROUNDS


def test_catch_up_rounds_still_let_f_plus_one_validators_move_us_ahead() -> None:
    engine = _engine(0)
    engine.start(1)
    for i in (1, 2):
        engine.on_vote(_vote(VoteType.PREVOTE, 1, 7, b"", i))
    assert engine.round == 7


def test_one_validator_cannot_fill_the_next_height_buffer() -> None:
    engine = _engine(0)
    engine.start(1)
    for k in range(500):
        engine.on_vote(_vote(VoteType.PREVOTE, 2, k, b"", 3))
    assert engine.dropped["future_quota"] == 500 - FUTURE_QUOTA
    honest = _proposal(2, 0)
    engine.on_proposal(honest)
    engine.on_vote(_vote(VoteType.PREVOTE, 2, 0, honest.block_hash, 1))
    sent = _sent(engine.start(2))
    assert any(isinstance(m, Vote) and m.block_hash == honest.block_hash for m in sent)
    assert engine.holdings()[0] <= 2 * 2 + 2 * PEER_CATCHUP_ROUNDS


def test_the_next_height_starts_early_only_on_its_proposal_or_f_plus_one_signers() -> None:
    engine = _engine(0)
    engine.start(1)
    for k in range(5):
        engine.on_vote(_vote(VoteType.PREVOTE, 2, k, b"", 3))
    assert not engine.next_height_ready()  # one validator, however many messages
    engine.on_vote(_vote(VoteType.PREVOTE, 2, 0, b"", 2))
    assert engine.next_height_ready()  # f + 1 = 2 distinct validators at n = 4
    other = _engine(0)
    other.start(1)
    other.on_proposal(_proposal(2, 1))  # a later round's proposer is not enough
    assert not other.next_height_ready()
    other.on_proposal(_proposal(2, 0))
    assert other.next_height_ready()


# ------------------------------------------------------------- restarts and block fetching


class _Net:
    """All engines connected with instant delivery; timers fire in virtual-time order."""

    def __init__(self, engines: list[Engine]) -> None:
        self.engines = engines
        self.now = 0
        self.timers: list[tuple[int, int, int, Timeout]] = []
        self.seq = 0
        self.commits: dict[int, list[Commit]] = {i: [] for i in range(len(engines))}
        self.fetches = 0

    def run(self, src: int, actions: list[object]) -> None:
        queue = [(src, actions)]
        while queue:
            i, acts = queue.pop(0)
            for action in acts:
                if isinstance(action, Broadcast):
                    msg = action.message
                    for j, e in enumerate(self.engines):
                        if j != i:
                            handle = e.on_proposal if isinstance(msg, Proposal) else e.on_vote
                            queue.append((j, list(handle(msg))))  # type: ignore[arg-type]
                elif isinstance(action, ScheduleTimeout):
                    self.seq += 1
                    entry = (self.now + action.delay_ms, self.seq, i, action.timeout)
                    heapq.heappush(self.timers, entry)
                elif isinstance(action, Commit):
                    self.commits[i].append(action)
                elif isinstance(action, FetchBlock):
                    self.fetches += 1
                    for j, e in enumerate(self.engines):
                        payload = e.block_for(action.height, action.block_hash)
                        if j != i and payload is not None:
                            queue.append(
                                (i, list(self.engines[i].on_block(action.height, payload)))
                            )

    def until_all_commit(self, limit_ms: int) -> bool:
        while self.timers and not all(self.commits.values()):
            at, _, i, timeout = heapq.heappop(self.timers)
            if at > limit_ms:
                return False
            self.now = at
            self.run(i, list(self.engines[i].on_timeout(timeout)))
        return all(self.commits.values())


def _lock_two_then_restart_everyone(cls: type[Engine]) -> tuple[_Net, list[InMemorySafetyStore]]:
    """n = 4, height 1: validators 0 and 1 lock round 0's block, 2 and 3 never see the polka."""
    stores = [InMemorySafetyStore() for _ in range(4)]
    engines = [_engine(i, stores[i]) for i in range(4)]
    proposer = VSET.proposer(1, 0)
    sent: dict[int, list[Proposal | Vote]] = {}
    for i, e in enumerate(engines):
        sent[i] = _sent(e.start(1))
    proposal = next(m for m in sent[proposer] if isinstance(m, Proposal))
    for i, e in enumerate(engines):
        if i != proposer:
            sent[i] += _sent(e.on_proposal(proposal))
    prevotes = [m for msgs in sent.values() for m in msgs if isinstance(m, Vote)]
    for i in (0, 1):
        for v in prevotes:
            if v.validator_index != i:
                engines[i].on_vote(v)
    assert [e.lock[1] for e in engines] == [proposal.block_hash] * 2 + [b""] * 2
    # Every process is killed: only the stores survive.
    restarted = [_engine(i, stores[i], cls) for i in range(4)]
    net = _Net(restarted)
    for i, e in enumerate(restarted):
        net.run(i, list(e.start(1)))
    return net, stores


def test_every_node_restarting_right_after_two_locked_still_commits() -> None:
    net, stores = _lock_two_then_restart_everyone(Engine)
    assert net.until_all_commit(limit_ms=10_000)
    decided = {c[0].certificate.block_hash for c in net.commits.values()}
    assert len(decided) == 1
    # The locked block was durable with the lock: one payload save per locked node.
    assert [s.block_saves for s in stores[:2]] == [1, 1]


def test_forgetting_the_locked_block_across_the_restart_stalls_the_chain() -> None:
    # The pre-issue-11 behaviour: the review saw 33 rounds / 120 s of virtual time with no commit.
    net, _ = _lock_two_then_restart_everyone(BlockForgettingEngine)
    assert not net.until_all_commit(limit_ms=120_000)
    assert max(e.round for e in net.engines) > 20


def test_a_node_missing_a_quorum_block_fetches_it_by_hash() -> None:
    engine = _engine(0)
    engine.start(1)
    p = _proposal(1, 0)
    actions: list[object] = []
    for i in (1, 2, 3):
        actions += engine.on_vote(_vote(VoteType.PRECOMMIT, 1, 0, p.block_hash, i))
    assert FetchBlock(1, p.block_hash) in actions
    junk = b"blk|1|not-it"
    assert engine.on_block(1, junk) == [] and engine.dropped["unwanted_block"] == 1
    commits = [a for a in engine.on_block(1, p.block) if isinstance(a, Commit)]
    assert commits and commits[0].block == p.block


def test_a_restarted_proposer_re_proposes_its_valid_block_with_the_polka() -> None:
    store = InMemorySafetyStore()
    proposer = VSET.proposer(1, 1)
    engine = _engine(proposer, store)
    engine.start(1)
    p = _proposal(1, 0)
    engine.on_proposal(p)
    for i in range(4):
        if i != proposer:
            engine.on_vote(_vote(VoteType.PREVOTE, 1, 0, p.block_hash, i))
    assert engine.lock == (0, p.block_hash)
    restarted = _engine(proposer, store)
    restarted.start(1)
    for i in range(4):
        if i != proposer:
            restarted.on_vote(_vote(VoteType.PRECOMMIT, 1, 0, b"", i))
    sent = _sent(restarted.on_timeout(Timeout(1, 0, Step.PRECOMMIT)))
    reproposed = [m for m in sent if isinstance(m, Proposal)]
    assert reproposed and reproposed[0].block_hash == p.block_hash
    assert reproposed[0].pol_round == 0 and reproposed[0].block == p.block
    pol = [m for m in sent if isinstance(m, Vote) and m.round == 0 and m.type == VoteType.PREVOTE]
    assert len(pol) >= 3


def test_payload_hash_helper_matches_the_sim_app() -> None:
    payload = b"blk|1|x"
    assert _CountingApp(0).block_hash(1, payload) == hashlib.sha256(payload).digest()


def test_proposal_signature_covers_the_hash_only() -> None:
    # Why binding is needed: the signature of a copy with another payload still verifies.
    p = _proposal(1, 0)
    assert proposal_sign_bytes(CHAIN, p) == proposal_sign_bytes(CHAIN, _tampered(p))
