"""Deterministic discrete-event simulator for the consensus engine.

A run is fully determined by its seed: the fault plan (validator count, Byzantine behaviours,
drops, delays, duplicates, corruption, partitions, crashes, GST) and every random choice of the
network come from `random.Random` instances seeded from it. Time is virtual (milliseconds); events
are ordered by (time, sequence number), so two runs of one seed are identical.

Checked on every run (a violation stops the run and is reported with the seed):
- agreement: no two honest nodes commit different blocks at one height;
- certificates: every commit carries a certificate that `verify_certificate` accepts;
- no conflicting signature: an honest node (across restarts) never signs two different messages
  at one (height, round, step);
- evidence only ever accuses Byzantine validators;
- an honest node never sends a proposal whose payload does not hash to its block hash;
- liveness after GST: once the network is synchronous and every crashed node is back, every honest
  node commits `target_extra` more heights within `liveness_ms` of virtual time;
- validity: every committed block is a valid block of its height, proposed by a member of the
  validator set in effect at that height.

Validator set changes (profiles `set_change` and `set_change_byzantine`, see sim_valsets.py):
every certificate and piece of evidence is checked against the set of its own height, and no
certificate ever carries a vote of a validator removed before its height.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from carbon_ticket.consensus import (
    Broadcast,
    Commit,
    ConsensusError,
    Ed25519Signer,
    Engine,
    EvidenceFound,
    FetchBlock,
    FixedValidatorSets,
    InMemorySafetyStore,
    Proposal,
    ScheduleTimeout,
    SyncNeeded,
    TimeoutConfig,
    ValidatorSet,
    Vote,
    VoteType,
    ed25519_verify,
    proposal_sign_bytes,
    verify_certificate,
    verify_evidence,
    vote_sign_bytes,
)
from tests.consensus.sim_valsets import (
    Members,
    NodeView,
    Schedule,
    SetChange,
    draw_changes,
)

CHAIN_ID = "carbonticket-sim"
BEHAVIOURS = ("silent", "equivocate", "double_vote", "invalid", "amnesia", "lock_breaker")
# Profiles of issue 11: payload tampering, every node crashing, floods from one validator.
ISSUE11_PROFILES = (
    "tamper_hub",
    "tamper_outsider",
    "crash_all",
    "vote_flood",
    "future_flood",
    "skewed_clock",
)
# Profiles of issue 16: validator set changes under faults, without and with Byzantine members.
SET_CHANGE_PROFILES = ("set_change", "set_change_byzantine")
# A removed validator that keeps signing at later heights (set_change_byzantine only).
SET_CHANGE_BEHAVIOURS = (*BEHAVIOURS, "zombie")
PROFILES = ("mixed", "lock_stress", *ISSUE11_PROFILES, *SET_CHANGE_PROFILES)
# Once the network is calm and every node is back, every height must commit within this many
# rounds (counted from the round a node was in when things calmed, for the height in progress).
MAX_ROUNDS_AFTER_CALM = 8
# Vote-set allowance per validator for rounds above the current one + 1 (catch-up rounds).
HOLDING_CATCHUP = 2

_DELIVER, _TIMER, _CRASH, _RESTART, _SYNC, _STABLE, _BLOCK, _BATCH, _FLOOD = range(9)


# ----------------------------------------------------------------------------- crypto


def _fake_sig(public_key: bytes, msg: bytes) -> bytes:
    digest = hashlib.sha256(public_key + msg).digest()
    return digest + digest


class FakeSigner:
    """Test-only keyed hash 'signature': cheap, deterministic, NOT secure (anyone can forge)."""

    def __init__(self, seed: bytes) -> None:
        self.public_key = hashlib.sha256(b"fake-pk" + seed).digest()

    def sign(self, msg: bytes) -> bytes:
        return _fake_sig(self.public_key, msg)


def fake_verify(public_key: bytes, msg: bytes, signature: bytes) -> bool:
    """Verifier matching FakeSigner."""
    return signature == _fake_sig(public_key, msg)


# -------------------------------------------------------------------------------- app


class SimApp:
    """Blocks are `blk|height|proposer|round|noise`; hash = sha256(payload); `bad|` is invalid."""

    def __init__(self, index: int, rng: random.Random) -> None:
        self.index = index
        self.rng = rng
        self.validate_calls = 0
        self.hash_calls = 0
        # Proposers whose fresh blocks this node judges untimely (a skewed clock somewhere).
        self.late_proposers: set[int] = set()

    def propose(self, height: int, round: int) -> tuple[bytes, bytes]:
        payload = b"blk|%d|%d|%d|" % (height, self.index, round) + self.rng.randbytes(8)
        return payload, hashlib.sha256(payload).digest()

    def invalid_block(self, height: int, round: int) -> tuple[bytes, bytes]:
        payload = b"bad|%d|%d|%d|" % (height, self.index, round) + self.rng.randbytes(8)
        return payload, hashlib.sha256(payload).digest()

    def block_hash(self, height: int, payload: bytes) -> bytes | None:
        self.hash_calls += 1
        return hashlib.sha256(payload).digest()

    def timely(self, height: int, round: int, payload: bytes) -> bool:
        parts = payload.split(b"|")
        proposer = parts[2] if len(parts) > 2 else b""
        return not (proposer.isdigit() and int(proposer) in self.late_proposers)

    def validate(self, height: int, payload: bytes) -> bytes | None:
        self.validate_calls += 1
        if not payload.startswith(b"blk|%d|" % height):
            return None
        return hashlib.sha256(payload).digest()


# ------------------------------------------------------------------------------- plan


@dataclass
class Plan:
    """Everything a seed decides about one schedule."""

    seed: int
    n: int
    byzantine: dict[int, str]
    drop: float
    dup: float
    corrupt: float
    delay: tuple[int, int]
    post_gst_delay: tuple[int, int]
    gst: int
    partitions: list[tuple[int, int, tuple[frozenset[int], ...]]]
    crashes: list[tuple[int, int, int]]
    real_crypto: bool
    timeouts: TimeoutConfig
    target_extra: int = 3
    liveness_ms: int = 60_000
    profile: str = "mixed"
    # Issue-11 faults: "hub" (a Byzantine validator relays tampered copies of proposals) or
    # "outsider" (a non-validator injects them); all honest nodes crash at once in this window
    # as soon as one of them holds a lock; flood sizes; whether the round bound is checked.
    tamper: str = ""
    lock_crash: tuple[int, int] | None = None
    flood_votes: int = 0
    flood_proposals: int = 0
    future_flood: int = 0
    round_bound: bool = False
    # Honest validators whose clocks disagree with everyone else's: each finds the others' fresh
    # proposals untimely, and they find its proposals untimely (at most f of them).
    skewed: tuple[int, ...] = ()
    # Issue-16 set changes: the genesis set (empty: nodes 0..n-1, power 1), the changes, and a
    # height every honest node must reach (past the last change) before the run may end.
    genesis: Members = ()
    changes: tuple[SetChange, ...] = ()
    min_target: int = 0

    @property
    def stable_at(self) -> int:
        """Virtual time from which the network is synchronous and every honest node is up."""
        return max([self.gst, *(r for _, _, r in self.crashes)])

    def describe(self) -> str:
        byz = ", ".join(f"{i}:{b}" for i, b in sorted(self.byzantine.items())) or "none"
        parts = [
            f"profile={self.profile} n={self.n} byzantine=[{byz}] drop={self.drop} dup={self.dup}",
            f"corrupt={self.corrupt} delay={self.delay} gst={self.gst}ms",
            f"partitions={len(self.partitions)} crashes={self.crashes}",
            f"tamper={self.tamper or 'none'} lock_crash={self.lock_crash}",
            f"flood={self.flood_votes}v/{self.flood_proposals}p future_flood={self.future_flood}",
            f"skewed={list(self.skewed)}",
            f"genesis={list(self.genesis)} changes={[(c.decided, c.kind) for c in self.changes]}",
            f"crypto={'ed25519' if self.real_crypto else 'fake'} timeouts={self.timeouts}",
        ]
        return " ".join(parts)


def lock_stress_plan(seed: int) -> Plan:
    """n=4 with one omniscient `lock_breaker`, lossy and slow for a long time before GST.

    The schedule family where a validator that ignores its lock gets caught quickly.
    """
    rng = random.Random(f"lock-{seed}")
    return Plan(
        seed=seed,
        n=4,
        byzantine={rng.randrange(4): "lock_breaker"},
        drop=0.2,
        dup=0.0,
        corrupt=0.0,
        delay=(1, 100),
        post_gst_delay=(1, 50),
        gst=8000,
        partitions=[],
        crashes=[],
        real_crypto=False,
        timeouts=TimeoutConfig(100, 50, 50, 20, 300),
        liveness_ms=20_000,
        profile="lock_stress",
    )


def _calm_timeouts() -> TimeoutConfig:
    return TimeoutConfig(propose_ms=200, prevote_ms=100, precommit_ms=100, delta_ms=50,
                         rebroadcast_ms=300)  # fmt: skip


def issue11_plan(seed: int, profile: str, n: int | None = None) -> Plan:
    """The adversarial schedules of issue 11 (see ISSUE11_PROFILES); n = 4 or 7 unless given."""
    rng = random.Random(f"{profile}-{seed}")
    n = n if n is not None else rng.choice((4, 7))
    gst = rng.choice((0, 1000, 2500, 4000))
    plan = Plan(
        seed=seed,
        n=n,
        byzantine={},
        drop=rng.choice((0.0, 0.05, 0.15)),
        dup=rng.choice((0.0, 0.05)),
        corrupt=0.0,
        delay=(5, rng.choice((30, 80, 200))),
        post_gst_delay=(5, 30),
        gst=gst,
        partitions=[],
        crashes=[],
        real_crypto=False,
        timeouts=_calm_timeouts(),
        liveness_ms=30_000,
        profile=profile,
        round_bound=True,
    )
    byz = rng.randrange(n)
    if profile == "tamper_hub":
        plan.tamper = "hub"
        plan.byzantine = {byz: "tamper_hub"}
    elif profile == "tamper_outsider":
        plan.tamper = "outsider"
    elif profile == "crash_all":
        plan.gst = max(gst, 3000)
        start = rng.randint(0, 1500)
        plan.lock_crash = (start, start + 1000)
        for node in range(n):
            for _ in range(rng.choice((0, 1, 1, 2))):
                at = rng.randint(0, plan.gst)
                plan.crashes.append((node, at, at + rng.randint(20, 1500)))
    elif profile == "vote_flood":
        plan.byzantine = {byz: "flooder"}
        plan.flood_votes = 2_000
        plan.flood_proposals = 200
    elif profile == "future_flood":
        plan.byzantine = {byz: "future_flooder"}
        plan.future_flood = 40 * n
    elif profile == "skewed_clock":
        plan.skewed = tuple(sorted(rng.sample(range(n), (n - 1) // 3)))
    else:
        raise ValueError(f"unknown profile {profile!r}")
    return plan


def set_change_plan(seed: int, profile: str) -> Plan:
    """Joins, leaves, power changes and key rotations under delays, drops, duplicates,
    reordering, partitions and crashes; with `set_change_byzantine`, up to f Byzantine members
    (by power, in every set) with the behaviours of "mixed" or "zombie"."""
    rng = random.Random(f"{profile}-{seed}")
    size = rng.choice((4, 5, 7))
    n = size + rng.choice((1, 2, 3))
    genesis = tuple((i, 1) for i in range(size))
    byzantine: dict[int, str] = {}
    if profile == "set_change_byzantine":
        for i in rng.sample(range(size), rng.randint(1, (size - 1) // 3)):
            byzantine[i] = rng.choice(SET_CHANGE_BEHAVIOURS)
    zombies = [i for i, b in byzantine.items() if b == "zombie"]
    for extra in zombies[1:]:
        byzantine[extra] = "double_vote"  # one zombie per run: it must leave in the first step
    changes = draw_changes(
        rng, genesis, range(size, n), set(byzantine), set(zombies[:1]), rng.randint(1, 3)
    )
    honest = [i for i in range(n) if i not in byzantine]
    gst = rng.choice((0, 500, 1500, 3000))
    lo = rng.randint(1, 20)
    hi = lo + rng.choice((10, 60, 300))
    partitions: list[tuple[int, int, tuple[frozenset[int], ...]]] = []
    if rng.random() < 0.3:
        start = rng.randint(0, max(gst, 1))
        order = list(range(n))
        rng.shuffle(order)
        cut = rng.randint(1, n - 1)
        groups = (frozenset(order[:cut]), frozenset(order[cut:]))
        partitions.append((start, min(gst, start + rng.randint(200, 2000)), groups))
    crashes = []
    for node in rng.sample(honest, rng.choice((0, 0, 1))):
        at = rng.randint(0, max(gst, 300))
        crashes.append((node, at, at + rng.randint(50, 2000)))
    last = changes[-1].effective if changes else 1
    return Plan(
        seed=seed,
        n=n,
        byzantine=byzantine,
        drop=rng.choice((0.0, 0.05, 0.2)),
        dup=rng.choice((0.0, 0.05, 0.2)),
        corrupt=rng.choice((0.0, 0.0, 0.02)),
        delay=(lo, hi),
        post_gst_delay=(lo, min(hi, lo + 50)),
        gst=gst,
        partitions=partitions,
        crashes=crashes,
        real_crypto=seed % 10 == 0,
        timeouts=TimeoutConfig(
            propose_ms=rng.choice((150, 300)),
            prevote_ms=rng.choice((80, 150)),
            precommit_ms=rng.choice((80, 150)),
            delta_ms=rng.choice((50, 100)),
            rebroadcast_ms=rng.choice((300, 600)),
        ),
        profile=profile,
        genesis=genesis,
        changes=tuple(changes),
        min_target=last + 2,
    )


def make_plan(seed: int, n: int | None = None, profile: str = "mixed") -> Plan:
    """Draw a plan from `seed` for `profile` (one of PROFILES); "mixed" has n = 4 or 7."""
    if profile == "lock_stress":
        return lock_stress_plan(seed)
    if profile in ISSUE11_PROFILES:
        return issue11_plan(seed, profile, n)
    if profile in SET_CHANGE_PROFILES:
        return set_change_plan(seed, profile)
    rng = random.Random(f"plan-{seed}")
    n = n if n is not None else rng.choice((4, 7))
    f = (n - 1) // 3
    nbyz = rng.randint(0, f)
    byz_nodes = rng.sample(range(n), nbyz)
    byzantine = {i: rng.choice(BEHAVIOURS) for i in byz_nodes}
    honest = [i for i in range(n) if i not in byzantine]
    lo = rng.randint(1, 20)
    hi = lo + rng.choice((10, 60, 300, 1200))
    gst = rng.choice((0, 500, 1500, 3000, 5000))
    partitions: list[tuple[int, int, tuple[frozenset[int], ...]]] = []
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        start = rng.randint(0, max(gst, 1))
        end = min(gst, start + rng.randint(200, 3000))
        order = list(range(n))
        rng.shuffle(order)
        cut = rng.randint(1, n - 1)
        partitions.append((start, end, (frozenset(order[:cut]), frozenset(order[cut:]))))
    crashes = []
    for node in rng.sample(honest, rng.choice((0, 0, 1, 1, 2))):
        at = rng.randint(0, max(gst, 300))
        crashes.append((node, at, at + rng.randint(50, 2500)))
    timeouts = TimeoutConfig(
        propose_ms=rng.choice((150, 300, 600)),
        prevote_ms=rng.choice((80, 150)),
        precommit_ms=rng.choice((80, 150)),
        delta_ms=rng.choice((50, 100, 200)),
        rebroadcast_ms=rng.choice((300, 600)),
    )
    return Plan(
        seed=seed,
        n=n,
        byzantine=byzantine,
        drop=rng.choice((0.0, 0.05, 0.2, 0.4)),
        dup=rng.choice((0.0, 0.05, 0.2)),
        corrupt=rng.choice((0.0, 0.0, 0.02)),
        delay=(lo, hi),
        post_gst_delay=(lo, min(hi, lo + 50)),
        gst=gst,
        partitions=partitions,
        crashes=crashes,
        real_crypto=seed % 10 == 0,
        timeouts=timeouts,
    )


# ------------------------------------------------------------------------------ nodes


class Violation(Exception):
    """A checked property failed."""

    def __init__(self, prop: str, detail: str) -> None:
        super().__init__(f"{prop}: {detail}")
        self.prop = prop
        self.detail = detail


@dataclass
class SimNode:
    """An honest node: what survives a crash (store, chain, app) plus its current engine."""

    index: int
    store: InMemorySafetyStore
    app: SimApp
    engine: Engine | None = None
    chain: list[tuple[bytes, Any]] = field(default_factory=list)
    alive: bool = True
    epoch: int = 0
    restarts: int = 0
    syncing: bool = False


class ByzNode:
    """A Byzantine validator: an engine whose outgoing messages are twisted by a behaviour."""

    def __init__(self, sim: Simulation, index: int, behaviour: str, engine: Engine | None) -> None:
        self.sim = sim
        self.index = index
        self.behaviour = behaviour
        self.engine = engine
        self.known: dict[int, set[bytes]] = {}
        schedule = sim.schedule
        self.removed_at = schedule.removed_at(index)
        # The index a removed validator held last, which it keeps signing with.
        self.old_index = (
            schedule.index_of(index, self.removed_at - 1) if self.removed_at is not None else None
        )
        self.echoed: set[tuple[int, int, int]] = set()

    def own_index(self, height: int) -> int | None:
        """This node's validator index at `height`, None when it is not a member there."""
        return self.sim.schedule.index_of(self.index, height)

    def learn(self, msg: Proposal | Vote) -> None:
        if msg.block_hash:
            self.known.setdefault(msg.height, set()).add(msg.block_hash)
        if self.behaviour == "tamper_hub" and isinstance(msg, Proposal):
            # The hub relays a copy with the same signature but a junk payload, fast.
            proposer = self.sim.schedule.node_at(msg.height, msg.proposer_index)
            self.sim.inject_tampered(msg, exclude=(self.index, proposer if proposer else -1))
        if self.behaviour == "zombie" and isinstance(msg, Vote):
            self.sign_after_removal(msg)

    def sign_after_removal(self, vote: Vote) -> None:
        """A removed validator signs what the members vote, under the index it held last.

        At its last height as a member it also signs nil votes for the first height it is out,
        early, so they reach nodes still deciding the height before (and their next-height
        buffer): those must be judged by the next height's set, where it is no member.
        """
        if self.removed_at is None or self.old_index is None:
            return
        if vote.height == self.removed_at - 1:
            for vtype in VoteType:
                self.echo(Vote(vtype, self.removed_at, vote.round, b"", self.old_index))
        elif vote.height >= self.removed_at:
            self.echo(replace(vote, validator_index=self.old_index))

    def echo(self, vote: Vote) -> None:
        key = (vote.height, vote.round, int(vote.type))
        if key in self.echoed:
            return
        self.echoed.add(key)
        self.sim.zombie_votes += 1
        self.sim.broadcast(self.index, self.sign_vote(vote))

    def emit(self, msg: Proposal | Vote) -> None:
        sim = self.sim
        rng = sim.rng
        others = [j for j in range(sim.plan.n) if j != self.index]
        if isinstance(msg, Proposal):
            if msg.proposer_index != self.own_index(msg.height):
                sim.broadcast(self.index, msg)
                return
            if self.behaviour == "tamper_hub":
                sim.inject_tampered(msg, exclude=(self.index,))
            if self.behaviour == "equivocate":
                payload, block_hash = sim.apps[self.index].propose(msg.height, msg.round)
                alt = self.sign_proposal(replace(msg, block=payload, block_hash=block_hash))
                self.split_send(others, msg, alt)
                return
            if self.behaviour in ("amnesia", "lock_breaker") and msg.pol_round >= 0:
                # Forget the valid value: propose something new, tempting nodes off their locks.
                payload, block_hash = sim.apps[self.index].propose(msg.height, msg.round)
                fresh = replace(msg, block=payload, block_hash=block_hash, pol_round=-1)
                sim.broadcast(self.index, self.sign_proposal(fresh))
                return
            if self.behaviour == "invalid":
                payload, block_hash = sim.apps[self.index].invalid_block(msg.height, msg.round)
                bad = self.sign_proposal(replace(msg, block=payload, block_hash=block_hash))
                self.known.setdefault(msg.height, set()).add(block_hash)
                sim.broadcast(self.index, bad)
                return
            sim.broadcast(self.index, msg)
            return
        if msg.validator_index != self.own_index(msg.height):
            sim.broadcast(self.index, msg)
            return
        if self.behaviour == "lock_breaker":
            self.break_locks(msg, others)
            return
        if self.behaviour == "invalid":
            others_known = sorted(h for h in self.known.get(msg.height, ()) if h != msg.block_hash)
            target = (
                rng.choice(others_known)
                if others_known
                else hashlib.sha256(rng.randbytes(8)).digest()
            )
            sim.broadcast(self.index, self.sign_vote(replace(msg, block_hash=target)))
            return
        if self.behaviour in ("double_vote", "amnesia"):
            choices = sorted(self.known.get(msg.height, set()) | {b""})
            choices = [h for h in choices if h != msg.block_hash]
            if choices:
                alt_vote = self.sign_vote(replace(msg, block_hash=rng.choice(choices)))
                self.split_send(others, msg, alt_vote)
                return
        sim.broadcast(self.index, msg)

    def break_locks(self, vote: Vote, others: list[int]) -> None:
        """Omniscient attacker: help one node decide, then push every other node elsewhere."""
        sim = self.sim
        decided = sim.decided.get(vote.height)
        if decided is not None:
            # Someone decided: vote for anything else, to everyone.
            alternatives = sorted(self.known.get(vote.height, set()) - {decided})
            target = alternatives[-1] if alternatives else b""
            sim.broadcast(self.index, self.sign_vote(replace(vote, block_hash=target)))
            return
        if vote.type == VoteType.PRECOMMIT and vote.block_hash:
            # Complete a commit at exactly one peer; everyone else sees nil and moves on.
            lucky = sim.rng.choice(others)
            nil = self.sign_vote(replace(vote, block_hash=b""))
            for j in others:
                sim.send(self.index, j, vote if j == lucky else nil)
            return
        sim.broadcast(self.index, vote)

    def split_send(self, others: list[int], a: Proposal | Vote, b: Proposal | Vote) -> None:
        for j in others:
            roll = self.sim.rng.random()
            if roll < 0.45:
                self.sim.send(self.index, j, a)
            elif roll < 0.9:
                self.sim.send(self.index, j, b)
            else:
                self.sim.send(self.index, j, a)
                self.sim.send(self.index, j, b)

    def sign_proposal(self, p: Proposal) -> Proposal:
        signer = self.sim.signers[self.index]
        return replace(p, signature=signer.sign(proposal_sign_bytes(CHAIN_ID, p)))

    def sign_vote(self, v: Vote) -> Vote:
        signer = self.sim.signers[self.index]
        return replace(v, signature=signer.sign(vote_sign_bytes(CHAIN_ID, v)))

    def flood(self) -> None:
        """Sign floods of votes for distinct future rounds and proposals for many rounds."""
        sim, engine = self.sim, self.engine
        if engine is None:
            return
        plan, rng = sim.plan, sim.rng
        h, r0 = engine.height, engine.round
        me = self.own_index(h)
        if me is None:
            return
        batch: list[Proposal | Vote] = []
        for k in range(plan.flood_votes):
            vtype = VoteType.PREVOTE if k % 2 == 0 else VoteType.PRECOMMIT
            block_hash = rng.randbytes(32) if k % 3 else b""
            batch.append(self.sign_vote(Vote(vtype, h, r0 + 3 + k, block_hash, me)))
        rnd = 0
        vset = sim.schedule.set_at(h)
        for _ in range(plan.flood_proposals):
            while vset.proposer(h, rnd) != me:
                rnd += 1
            payload = b"blk|%d|%d|%d|" % (h, self.index, rnd) + rng.randbytes(4096)
            p = Proposal(h, rnd, -1, hashlib.sha256(payload).digest(), payload, me)
            batch.append(self.sign_proposal(p))
            rnd += 1
        sim.send_batch(self.index, batch)

    def flood_next_height(self, height: int) -> None:
        """Fill other nodes' next-height buffers with signed votes for many rounds of `height`."""
        rng = self.sim.rng
        me = self.own_index(height)
        if me is None:
            return
        batch: list[Proposal | Vote] = []
        for k in range(self.sim.plan.future_flood):
            vtype = VoteType.PREVOTE if k % 2 == 0 else VoteType.PRECOMMIT
            block_hash = rng.randbytes(32) if k % 3 else b""
            batch.append(self.sign_vote(Vote(vtype, height, k // 2, block_hash, me)))
        self.sim.send_batch(self.index, batch)


class LockIgnoringEngine(Engine):
    """Deliberately broken engine: prevotes any valid proposal regardless of its lock."""

    def _accepts_new(self, block_hash: bytes) -> bool:
        return True

    def _accepts_pol(self, block_hash: bytes, pol_round: int) -> bool:
        return True


class UnboundPayloadEngine(Engine):
    """Deliberately broken engine (the pre-issue-11 flaw): trusts a proposal's payload unchecked."""

    def _payload_bound(self, p: Proposal) -> bool:
        return True


class TimelinessAsValidityEngine(Engine):
    """Deliberately broken engine: counts an untimely block as invalid, so a validator whose clock
    disagrees can never lock on or commit the blocks the others decide."""

    def _is_valid(self, block_hash: bytes) -> bool:
        payload = self._hs.payloads.get(block_hash)
        if payload is None or not self._app.timely(self.height, self.round, payload):
            return False
        return super()._is_valid(block_hash)


class BlockForgettingEngine(Engine):
    """Deliberately broken engine (the pre-issue-11 flaw): keeps its lock over a restart but
    not the locked block."""

    def _saved_blocks(self) -> dict[bytes, bytes]:
        return {}


class UnboundedRoundsEngine(Engine):
    """Deliberately broken engine (the pre-issue-11 flaw): opens vote sets for any round."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._window.allows = lambda index, round: True  # type: ignore[method-assign]


# ------------------------------------------------------------------------- simulation


@dataclass
class Result:
    """Outcome of one seeded run."""

    seed: int
    plan: Plan
    violation: Violation | None
    heights: list[int]
    events: int
    end_time: int

    @property
    def ok(self) -> bool:
        return self.violation is None

    def report(self) -> str:
        """Human-readable failure report with the replay command."""
        status = "ok" if self.ok else f"VIOLATION {self.violation}"
        return (
            f"seed {self.seed}: {status}\n  plan: {self.plan.describe()}\n"
            f"  heights={self.heights} events={self.events} t={self.end_time}ms\n"
            f"  replay: CONSENSUS_SEED={self.seed} CONSENSUS_PROFILE={self.plan.profile} "
            "python -m pytest tests/consensus -k replay"
        )


class Simulation:
    """Runs one plan to completion (target reached after stability) or to a violation."""

    def __init__(
        self,
        plan: Plan,
        honest_engine: type[Engine] = Engine,
        max_events: int = 400_000,
    ) -> None:
        self.plan = plan
        self.honest_engine = honest_engine
        self.max_events = max_events
        self.rng = random.Random(f"net-{plan.seed}")
        self.now = 0
        self._seq = 0
        self._queue: list[tuple[int, int, int, Any, Any, Any]] = []
        n = plan.n
        if plan.real_crypto:
            self.signers: list[Any] = [
                Ed25519Signer(hashlib.sha256(b"key%d-%d" % (plan.seed, i)).digest())
                for i in range(n)
            ]
            self.verify: Callable[[bytes, bytes, bytes], bool] = ed25519_verify
        else:
            self.signers = [FakeSigner(b"key%d-%d" % (plan.seed, i)) for i in range(n)]
            self.verify = fake_verify
        genesis = plan.genesis or tuple((i, 1) for i in range(n))
        self.schedule = Schedule([s.public_key for s in self.signers], genesis, plan.changes)
        # Nodes that were removed from the set and may keep signing (Byzantine "zombie").
        self.zombie_votes = 0
        self.apps = [SimApp(i, random.Random(f"app-{plan.seed}-{i}")) for i in range(n)]
        for i, app in enumerate(self.apps):
            app.late_proposers = (set(range(n)) - {i}) if i in plan.skewed else set(plan.skewed)
        self.honest = [i for i in range(n) if i not in plan.byzantine]
        self.nodes: dict[int, SimNode] = {}
        self.byz: dict[int, ByzNode] = {}
        self.decided: dict[int, bytes] = {}
        self.signed: dict[tuple[int, int, int, int], bytes] = {}
        self.target: int | None = None
        self.events = 0
        # Honest node -> (height, round) when the network calmed, for MAX_ROUNDS_AFTER_CALM.
        self.calm: dict[int, tuple[int, int]] = {}
        # Honest node -> heights it decided by consensus (not block sync) after calm.
        self.decided_after_calm: dict[int, int] = {}
        self.lock_crash_done = False
        self.max_rounds_seen = 0

    # -- plumbing

    def push(self, at: int, kind: int, a: Any = None, b: Any = None, c: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, kind, a, b, c))

    def make_engine(self, i: int, store: InMemorySafetyStore, cls: type[Engine]) -> Engine:
        node = self.nodes.get(i)
        # An honest node knows the sets up to its committed height + 2; others know them all.
        view = (
            NodeView(self.schedule, lambda: len(node.chain)) if node is not None else self.schedule
        )
        return cls(
            CHAIN_ID,
            view,
            self.signers[i],
            store,
            self.apps[i],
            self.plan.timeouts,
            self.verify,
        )

    def partitioned(self, a: int, b: int) -> bool:
        now = self.now
        for start, end, groups in self.plan.partitions:
            if start <= now < end:
                for g in groups:
                    if (a in g) != (b in g):
                        return True
        return False

    def send(self, src: int, dst: int, msg: Proposal | Vote, fast: bool = False) -> None:
        plan = self.plan
        rng = self.rng
        if fast or (plan.tamper == "hub" and (src in self.byz or dst in self.byz)):
            # The tampering relay sits close to everyone: its copies arrive first.
            self.push(self.now + rng.randint(1, 3), _DELIVER, dst, msg, self._epoch(dst))
            return
        if self.now < plan.gst:
            if self.partitioned(src, dst) or rng.random() < plan.drop:
                return
            lo, hi = plan.delay
            if plan.corrupt and rng.random() < plan.corrupt:
                sig = bytearray(msg.signature or b"\x00")
                sig[0] ^= 0x01
                msg = replace(msg, signature=bytes(sig))
        else:
            lo, hi = plan.post_gst_delay
        epoch = self._epoch(dst)
        self.push(self.now + rng.randint(lo, hi), _DELIVER, dst, msg, epoch)
        if plan.dup and rng.random() < plan.dup:
            self.push(self.now + rng.randint(lo, hi), _DELIVER, dst, msg, epoch)

    def broadcast(self, src: int, msg: Proposal | Vote) -> None:
        if self.plan.tamper == "outsider" and isinstance(msg, Proposal):
            # A non-validator that can reach every peer port copies each proposal it sees.
            self.inject_tampered(msg, exclude=(src,))
        for dst in range(self.plan.n):
            if dst != src:
                self.send(src, dst, msg)

    def inject_tampered(self, p: Proposal, exclude: tuple[int, ...]) -> None:
        """Send copies of `p` with the same signature and a junk payload, ahead of the original."""
        junk = replace(p, block=b"junk|" + self.rng.randbytes(16))
        for dst in range(self.plan.n):
            if dst not in exclude:
                self.send(-1, dst, junk, fast=True)

    def send_batch(self, src: int, batch: list[Proposal | Vote]) -> None:
        """Deliver a flood as one event per destination (cheap to simulate)."""
        lo, hi = self.plan.post_gst_delay
        for dst in range(self.plan.n):
            if dst != src:
                self.push(self.now + self.rng.randint(lo, hi), _BATCH, dst, batch, self._epoch(dst))

    def _epoch(self, i: int) -> int:
        node = self.nodes.get(i)
        return node.epoch if node is not None else 0

    # -- honest node effects

    def run_actions(self, i: int, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, Broadcast):
                msg = action.message
                if i in self.byz:
                    self.byz[i].emit(msg)
                    continue
                self.record_signature(i, msg)
                if (
                    isinstance(msg, Proposal)
                    and hashlib.sha256(msg.block).digest() != msg.block_hash
                ):
                    raise Violation("relay", f"honest node {i} relayed a tampered proposal")
                self.broadcast(i, msg)
            elif isinstance(action, ScheduleTimeout):
                self.push(self.now + action.delay_ms, _TIMER, i, action.timeout, self._epoch(i))
            elif isinstance(action, Commit):
                if i in self.nodes:
                    self.on_commit(self.nodes[i], action)
                else:
                    byz = self.byz[i]
                    self.run_actions(i, byz.engine.start(action.height + 1))  # type: ignore[union-attr]
                    if byz.behaviour == "future_flooder":
                        byz.flood_next_height(action.height + 1)
            elif isinstance(action, EvidenceFound):
                self.on_evidence(i, action)
            elif isinstance(action, SyncNeeded) and i in self.nodes:
                self.request_sync(self.nodes[i])
            elif isinstance(action, FetchBlock) and i in self.nodes:
                self.request_block(i, action)

    def request_block(self, i: int, action: FetchBlock) -> None:
        """Ask every reachable peer for a block by hash (a tampering hub answers junk)."""
        for j in range(self.plan.n):
            if j == i or self.partitioned(i, j):
                continue
            byz = self.byz.get(j)
            if byz is not None:
                if byz.behaviour == "tamper_hub":
                    junk = b"junk|" + self.rng.randbytes(16)
                    self.push(self.now + 2, _BLOCK, i, (action.height, junk), self._epoch(i))
                    continue
                engine = byz.engine
            else:
                peer = self.nodes[j]
                engine = peer.engine if peer.alive else None
            payload = engine.block_for(action.height, action.block_hash) if engine else None
            if payload is None and byz is None and self.nodes[j].alive:
                payload = self.committed_block(self.nodes[j], action.height, action.block_hash)
            if payload is None:
                continue
            if self.now < self.plan.gst and self.rng.random() < self.plan.drop:
                continue
            lo, hi = self.plan.post_gst_delay if self.now >= self.plan.gst else self.plan.delay
            at = self.now + 2 * self.rng.randint(lo, hi)
            self.push(at, _BLOCK, i, (action.height, payload), self._epoch(i))

    @staticmethod
    def committed_block(peer: SimNode, height: int, block_hash: bytes) -> bytes | None:
        """As the node serves GetProposalBlock: a block it already committed, by hash."""
        if not 0 < height <= len(peer.chain):
            return None
        block, cert = peer.chain[height - 1]
        return block if cert.block_hash == block_hash else None

    def record_signature(self, i: int, msg: Proposal | Vote) -> None:
        me = self.schedule.index_of(i, msg.height)
        if me is None:
            self.check_not_signed_by(i, msg)
            return
        if isinstance(msg, Proposal):
            if msg.proposer_index != me:
                return
            key = (i, msg.height, msg.round, 0)
        else:
            if msg.validator_index != me:
                return
            key = (i, msg.height, msg.round, int(msg.type))
        prev = self.signed.setdefault(key, msg.block_hash)
        if prev != msg.block_hash:
            node = self.nodes[i]
            raise Violation(
                "conflicting-signature",
                f"honest node {i} (restarts={node.restarts}) signed two values at "
                f"height {key[1]} round {key[2]} step {key[3]}",
            )

    def check_certificate(self, where: str, cert: Any) -> None:
        """The certificate proves its block to the set of its own height, with no removed voter."""
        try:
            verify_certificate(CHAIN_ID, self.schedule.set_at(cert.height), cert, self.verify)
        except ConsensusError as exc:
            raise Violation("certificate", f"{where} height {cert.height}: {exc}") from exc
        for byz in self.byz.values():
            if byz.removed_at is None or cert.height < byz.removed_at:
                continue
            key = self.signers[byz.index].public_key
            for vote in cert.precommits:
                if self.verify(key, vote_sign_bytes(CHAIN_ID, vote), vote.signature):
                    raise Violation(
                        "removed-counted",
                        f"{where}: certificate of height {cert.height} counts removed "
                        f"validator {byz.index} (removed at {byz.removed_at})",
                    )

    def check_not_signed_by(self, i: int, msg: Proposal | Vote) -> None:
        """An honest node outside the set of a height (not yet joined, or removed) signs nothing
        there; what it sends for that height can only be a relay of members' messages."""
        sign_bytes = (
            proposal_sign_bytes(CHAIN_ID, msg)
            if isinstance(msg, Proposal)
            else vote_sign_bytes(CHAIN_ID, msg)
        )
        if self.verify(self.signers[i].public_key, sign_bytes, msg.signature):
            raise Violation(
                "non-member-signed",
                f"honest node {i} signed at height {msg.height}, where it is not a validator",
            )

    def on_commit(self, node: SimNode, action: Commit) -> None:
        cert = action.certificate
        self.check_certificate(f"node {node.index}", cert)
        if hashlib.sha256(action.block).digest() != cert.block_hash:
            raise Violation("certificate", f"node {node.index}: block does not match its hash")
        if action.height != len(node.chain) + 1:
            raise Violation(
                "sequence", f"node {node.index} committed {action.height} at {len(node.chain)}"
            )
        assert node.engine is not None
        self.check_round_bound(node, action.height, node.engine.round)
        if node.index in self.calm:
            self.decided_after_calm[node.index] = self.decided_after_calm.get(node.index, 0) + 1
        self.apply_block(node, action.block, cert)
        self.run_actions(node.index, node.engine.start(action.height + 1))

    def check_round_bound(self, node: SimNode, height: int, round: int) -> None:
        """After calm, a height must commit within MAX_ROUNDS_AFTER_CALM rounds."""
        calm = self.calm.get(node.index)
        if not self.plan.round_bound or calm is None or height < calm[0]:
            return
        used = round - calm[1] if height == calm[0] else round
        self.max_rounds_seen = max(self.max_rounds_seen, used)
        if used > MAX_ROUNDS_AFTER_CALM:
            raise Violation(
                "round-bound",
                f"node {node.index} needed {used} rounds after calm to commit height {height}",
            )

    def apply_block(self, node: SimNode, block: bytes, cert: Any) -> None:
        height = len(node.chain) + 1
        parts = block.split(b"|")
        proposer = int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else -1
        if (
            parts[:2] != [b"blk", b"%d" % height]
            or self.schedule.index_of(proposer, height) is None
        ):
            raise Violation(
                "validity",
                f"node {node.index} committed at height {height} a block that is invalid or "
                f"not proposed by a member: {block[:40]!r}",
            )
        prev = self.decided.setdefault(height, cert.block_hash)
        if prev != cert.block_hash:
            raise Violation(
                "agreement", f"node {node.index} committed a different block at height {height}"
            )
        node.chain.append((block, cert))

    def on_evidence(self, i: int, action: EvidenceFound) -> None:
        ev = action.evidence
        height = ev.vote_a.height
        try:
            verify_evidence(CHAIN_ID, self.schedule.set_at(height), ev, self.verify)
        except ConsensusError as exc:
            raise Violation("evidence", f"node {i} reported invalid evidence: {exc}") from exc
        accused = self.schedule.node_at(height, ev.vote_a.validator_index)
        if accused not in self.plan.byzantine:
            raise Violation("evidence", f"node {i} accused honest validator {accused}")

    def request_sync(self, node: SimNode) -> None:
        if node.syncing:
            return
        best = None
        for j in self.honest:
            peer = self.nodes[j]
            if j == node.index or not peer.alive or self.partitioned(node.index, j):
                continue
            if len(peer.chain) > len(node.chain) and (
                best is None or len(peer.chain) > len(best.chain)
            ):
                best = peer
        if best is None:
            return
        node.syncing = True
        lo, hi = self.plan.post_gst_delay
        self.push(self.now + self.rng.randint(lo, hi), _SYNC, node.index, best.index, node.epoch)

    def on_sync(self, node: SimNode, source: SimNode) -> None:
        node.syncing = False
        start = len(node.chain)
        blocks = source.chain[start:]
        if not blocks:
            return
        for block, cert in blocks:
            # Block sync: verify the certificate against the set of its height before applying.
            self.check_certificate(f"sync to node {node.index}", cert)
            self.apply_block(node, block, cert)
        assert node.engine is not None
        self.run_actions(node.index, node.engine.start(len(node.chain) + 1, node.chain[-1][1]))

    # -- main loop

    def setup(self) -> None:
        for i in range(self.plan.n):
            behaviour = self.plan.byzantine.get(i)
            if behaviour is None:
                node = SimNode(i, InMemorySafetyStore(), self.apps[i])
                self.nodes[i] = node
                node.engine = self.make_engine(i, node.store, self.honest_engine)
            else:
                cls = LockIgnoringEngine if behaviour in ("amnesia", "lock_breaker") else Engine
                engine = (
                    None
                    if behaviour == "silent"
                    else self.make_engine(i, InMemorySafetyStore(), cls)
                )
                self.byz[i] = ByzNode(self, i, behaviour, engine)
        for node_i, at, back in self.plan.crashes:
            self.push(at, _CRASH, node_i)
            self.push(back, _RESTART, node_i)
        self.push(self.plan.stable_at, _STABLE)
        for i, byz in self.byz.items():
            if byz.behaviour == "flooder":
                self.push(self.rng.randint(0, self.plan.gst + 1), _FLOOD, i)
                self.push(self.plan.stable_at + self.rng.randint(0, 2000), _FLOOD, i)
        for i in range(self.plan.n):
            engine = self.nodes[i].engine if i in self.nodes else self.byz[i].engine
            if engine is not None:
                self.run_actions(i, engine.start(1))

    def done(self) -> bool:
        target = self.target
        if target is None or any(len(self.nodes[i].chain) < target for i in self.honest):
            return False
        # A skewed validator that lagged at calm catches up by sync; it must then go on to
        # decide by consensus, so the run waits for that too.
        return all(self.decided_after_calm.get(i, 0) > 0 for i in self.plan.skewed)

    def run(self) -> Result:
        violation = None
        try:
            self.setup()
            self._loop()
        except Violation as exc:
            violation = exc
        except (ConsensusError, LookupError, ValueError) as exc:
            # The engine must never raise on peer input: report it with the seed like the rest.
            violation = Violation("crash", f"{type(exc).__name__}: {exc}")
        heights = [len(self.nodes[i].chain) for i in self.honest]
        return Result(self.plan.seed, self.plan, violation, heights, self.events, self.now)

    def check_skewed_decide(self) -> None:
        """A validator whose clock disagrees still decides heights by consensus after calm:
        timeliness sways its prevote, never its judgement of validity. (The run goes on past
        the target until each has, within the liveness window: see ``done``.)"""
        for i in self.plan.skewed:
            if self.decided_after_calm.get(i, 0) == 0:
                raise Violation(
                    "skewed-decide",
                    f"skewed node {i} decided no height by consensus within {self.plan.liveness_ms}"
                    "ms after calm (only by block sync)",
                )

    def _loop(self) -> None:
        plan = self.plan
        deadline = plan.stable_at + plan.liveness_ms
        queue = self._queue
        while queue:
            at, _, kind, a, b, c = heapq.heappop(queue)
            if at > deadline:
                break
            self.now = at
            self.events += 1
            if self.events > self.max_events:
                raise Violation("budget", f"more than {self.max_events} events")
            if kind == _DELIVER:
                self.deliver(a, b, c)
            elif kind == _TIMER:
                self.fire(a, b, c)
            elif kind == _CRASH:
                self.crash(self.nodes[a])
            elif kind == _RESTART:
                self.restart(self.nodes[a])
            elif kind == _SYNC:
                node = self.nodes[a]
                if node.alive and node.epoch == c:
                    self.on_sync(node, self.nodes[b])
                else:
                    node.syncing = False
            elif kind == _STABLE:
                top = max(len(self.nodes[i].chain) for i in self.honest)
                self.target = max(top + plan.target_extra, plan.min_target)
                for i in self.honest:
                    engine = self.nodes[i].engine
                    if engine is not None:
                        self.calm[i] = (engine.height, engine.round)
            elif kind == _BLOCK:
                self.deliver_block(a, b, c)
            elif kind == _BATCH:
                self.deliver_batch(a, b, c)
            elif kind == _FLOOD:
                self.byz[a].flood()
            if plan.lock_crash is not None and not self.lock_crash_done:
                self.crash_all_if_locked()
            if self.target is not None and kind != _STABLE and self.done():
                return
            if self.target is not None and self.done():
                return
        if not self.done():
            heights = {i: len(self.nodes[i].chain) for i in self.honest}
            if self.target is not None and min(heights.values()) >= self.target:
                self.check_skewed_decide()
            raise Violation(
                "liveness",
                f"target height {self.target} not reached by all honest nodes within "
                f"{plan.liveness_ms}ms after stability at {plan.stable_at}ms: {heights}",
            )

    def crash(self, node: SimNode) -> None:
        if not node.alive:
            return
        node.alive = False
        node.epoch += 1
        node.engine = None
        node.syncing = False

    def restart(self, node: SimNode) -> None:
        if node.alive:
            return
        node.alive = True
        node.restarts += 1
        node.engine = self.make_engine(node.index, node.store, self.honest_engine)
        last = node.chain[-1][1] if node.chain else None
        self.run_actions(node.index, node.engine.start(len(node.chain) + 1, last))

    def crash_all_if_locked(self) -> None:
        """Within the plan's window, crash every honest node at once as soon as one is locked."""
        assert self.plan.lock_crash is not None
        start, end = self.plan.lock_crash
        if not start <= self.now <= end:
            return
        engines = [n.engine for n in self.nodes.values() if n.alive and n.engine is not None]
        if not any(e.lock[0] >= 0 and not e.decided for e in engines):
            return
        self.lock_crash_done = True
        for node in self.nodes.values():
            self.crash(node)
            self.push(self.now + self.rng.randint(20, 800), _RESTART, node.index)

    def live_engine(self, dst: int, epoch: int) -> Engine | None:
        if dst in self.byz:
            return self.byz[dst].engine
        node = self.nodes[dst]
        if not node.alive or node.epoch != epoch:
            return None
        return node.engine

    def deliver_block(self, dst: int, item: tuple[int, bytes], epoch: int) -> None:
        engine = self.live_engine(dst, epoch)
        if engine is not None:
            self.run_actions(dst, engine.on_block(*item))

    def deliver_batch(self, dst: int, batch: list[Proposal | Vote], epoch: int) -> None:
        engine = self.live_engine(dst, epoch)
        if engine is None or dst in self.byz:
            return
        for msg in batch:
            actions = engine.on_proposal(msg) if isinstance(msg, Proposal) else engine.on_vote(msg)
            if actions:
                self.run_actions(dst, actions)
                if self.nodes[dst].engine is not engine:
                    return
        self.check_holdings(dst, engine)

    def check_holdings(self, i: int, engine: Engine) -> None:
        """A flood from one validator must leave the engine holding a bounded amount."""
        vote_sets, proposals = engine.holdings()
        rounds = engine.round + 2
        if vote_sets > 2 * (rounds + HOLDING_CATCHUP * self.plan.n) or proposals > 3 * rounds:
            raise Violation(
                "memory",
                f"node {i} holds {vote_sets} vote sets and {proposals} proposals "
                f"at round {engine.round}",
            )

    def deliver(self, dst: int, msg: Proposal | Vote, epoch: int) -> None:
        if dst in self.byz:
            byz = self.byz[dst]
            byz.learn(msg)
            if byz.engine is None:
                return
            engine = byz.engine
        else:
            node = self.nodes[dst]
            if not node.alive or node.epoch != epoch or node.engine is None:
                return
            engine = node.engine
        actions = engine.on_proposal(msg) if isinstance(msg, Proposal) else engine.on_vote(msg)
        if actions:
            self.run_actions(dst, actions)

    def fire(self, i: int, timeout: Any, epoch: int) -> None:
        if i in self.byz:
            engine = self.byz[i].engine
        else:
            node = self.nodes[i]
            if not node.alive or node.epoch != epoch:
                return
            engine = node.engine
        if engine is not None:
            actions = engine.on_timeout(timeout)
            if actions:
                self.run_actions(i, actions)


def run_seed(
    seed: int,
    n: int | None = None,
    honest_engine: type[Engine] = Engine,
    profile: str = "mixed",
) -> Result:
    """Run the schedule of `seed` and return its result (never raises on a violation)."""
    return Simulation(make_plan(seed, n, profile), honest_engine).run()


class StaleSetEngine(Engine):
    """Deliberately broken engine: keeps the genesis set after a change (counts removed
    validators' votes, refuses added validators' ones, weighs the old powers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sets = FixedValidatorSets(self.validators)


class NextWithCurrentSetEngine(Engine):
    """Deliberately broken engine: verifies next-height messages with the current height's set
    (a validator removed at the next height can still get its votes parked and counted)."""

    def _set_for(self, height: int) -> ValidatorSet | None:
        if height == self.height + 1:
            return self._current
        return super()._set_for(height)


class FrozenIndexEngine(Engine):
    """Deliberately broken engine: keeps the index it had in the genesis set, so a removed
    validator goes on signing and a key that joins later never starts."""

    _first: tuple[int | None] | None = None

    def _own_index(self, validators: ValidatorSet) -> int | None:
        if self._first is None:
            self._first = (super()._own_index(validators),)
        return self._first[0]
