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
- liveness after GST: once the network is synchronous and every crashed node is back, every honest
  node commits `target_extra` more heights within `liveness_ms` of virtual time.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from consensus import (
    Broadcast,
    Commit,
    ConsensusError,
    Ed25519Signer,
    Engine,
    EvidenceFound,
    InMemorySafetyStore,
    Proposal,
    ScheduleTimeout,
    SyncNeeded,
    TimeoutConfig,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
    ed25519_verify,
    proposal_sign_bytes,
    verify_certificate,
    verify_evidence,
    vote_sign_bytes,
)

CHAIN_ID = "carbonticket-sim"
BEHAVIOURS = ("silent", "equivocate", "double_vote", "invalid", "amnesia", "lock_breaker")

_DELIVER, _TIMER, _CRASH, _RESTART, _SYNC, _STABLE = range(6)


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

    def propose(self, height: int, round: int) -> tuple[bytes, bytes]:
        payload = b"blk|%d|%d|%d|" % (height, self.index, round) + self.rng.randbytes(8)
        return payload, hashlib.sha256(payload).digest()

    def invalid_block(self, height: int, round: int) -> tuple[bytes, bytes]:
        payload = b"bad|%d|%d|%d|" % (height, self.index, round) + self.rng.randbytes(8)
        return payload, hashlib.sha256(payload).digest()

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


def make_plan(seed: int, n: int | None = None, profile: str = "mixed") -> Plan:
    """Draw a plan from `seed`: profile "mixed" (n = 4 or 7 unless given) or "lock_stress"."""
    if profile == "lock_stress":
        return lock_stress_plan(seed)
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
    partitions = []
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

    def learn(self, msg: Proposal | Vote) -> None:
        if msg.block_hash:
            self.known.setdefault(msg.height, set()).add(msg.block_hash)

    def emit(self, msg: Proposal | Vote) -> None:
        sim = self.sim
        rng = sim.rng
        others = [j for j in range(sim.plan.n) if j != self.index]
        if isinstance(msg, Proposal):
            if msg.proposer_index != self.index:
                sim.broadcast(self.index, msg)
                return
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
        if msg.validator_index != self.index:
            sim.broadcast(self.index, msg)
            return
        if self.behaviour == "lock_breaker":
            self.break_locks(msg, others)
            return
        if self.behaviour == "invalid":
            bad = [h for h in self.known.get(msg.height, ()) if h != msg.block_hash]
            target = rng.choice(bad) if bad else hashlib.sha256(rng.randbytes(8)).digest()
            sim.broadcast(self.index, self.sign_vote(replace(msg, block_hash=target)))
            return
        if self.behaviour in ("double_vote", "amnesia"):
            choices = sorted(self.known.get(msg.height, set()) | {b""})
            choices = [h for h in choices if h != msg.block_hash]
            if choices:
                alt = self.sign_vote(replace(msg, block_hash=rng.choice(choices)))
                self.split_send(others, msg, alt)
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


class LockIgnoringEngine(Engine):
    """Deliberately broken engine: prevotes any valid proposal regardless of its lock."""

    def _accepts_new(self, block_hash: bytes) -> bool:
        return True

    def _accepts_pol(self, block_hash: bytes, pol_round: int) -> bool:
        return True


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
        self.validators = ValidatorSet(
            tuple(Validator(f"v{i}", s.public_key) for i, s in enumerate(self.signers))
        )
        self.apps = [SimApp(i, random.Random(f"app-{plan.seed}-{i}")) for i in range(n)]
        self.honest = [i for i in range(n) if i not in plan.byzantine]
        self.nodes: dict[int, SimNode] = {}
        self.byz: dict[int, ByzNode] = {}
        self.decided: dict[int, bytes] = {}
        self.signed: dict[tuple[int, int, int, int], bytes] = {}
        self.target: int | None = None
        self.events = 0

    # -- plumbing

    def push(self, at: int, kind: int, a: Any = None, b: Any = None, c: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, kind, a, b, c))

    def make_engine(self, i: int, store: InMemorySafetyStore, cls: type[Engine]) -> Engine:
        return cls(
            CHAIN_ID,
            self.validators,
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

    def send(self, src: int, dst: int, msg: Proposal | Vote) -> None:
        plan = self.plan
        rng = self.rng
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
        for dst in range(self.plan.n):
            if dst != src:
                self.send(src, dst, msg)

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
                self.broadcast(i, msg)
            elif isinstance(action, ScheduleTimeout):
                self.push(self.now + action.delay_ms, _TIMER, i, action.timeout, self._epoch(i))
            elif isinstance(action, Commit):
                if i in self.nodes:
                    self.on_commit(self.nodes[i], action)
                else:
                    self.run_actions(i, self.byz[i].engine.start(action.height + 1))  # type: ignore[union-attr]
            elif isinstance(action, EvidenceFound):
                self.on_evidence(i, action)
            elif isinstance(action, SyncNeeded) and i in self.nodes:
                self.request_sync(self.nodes[i])

    def record_signature(self, i: int, msg: Proposal | Vote) -> None:
        if isinstance(msg, Proposal):
            if msg.proposer_index != i:
                return
            key = (i, msg.height, msg.round, 0)
        else:
            if msg.validator_index != i:
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

    def on_commit(self, node: SimNode, action: Commit) -> None:
        cert = action.certificate
        try:
            verify_certificate(CHAIN_ID, self.validators, cert, self.verify)
        except ConsensusError as exc:
            raise Violation(
                "certificate", f"node {node.index} height {action.height}: {exc}"
            ) from exc
        if hashlib.sha256(action.block).digest() != cert.block_hash:
            raise Violation("certificate", f"node {node.index}: block does not match its hash")
        if action.height != len(node.chain) + 1:
            raise Violation(
                "sequence", f"node {node.index} committed {action.height} at {len(node.chain)}"
            )
        self.apply_block(node, action.block, cert)
        assert node.engine is not None
        self.run_actions(node.index, node.engine.start(action.height + 1))

    def apply_block(self, node: SimNode, block: bytes, cert: Any) -> None:
        height = len(node.chain) + 1
        prev = self.decided.setdefault(height, cert.block_hash)
        if prev != cert.block_hash:
            raise Violation(
                "agreement", f"node {node.index} committed a different block at height {height}"
            )
        node.chain.append((block, cert))

    def on_evidence(self, i: int, action: EvidenceFound) -> None:
        ev = action.evidence
        try:
            verify_evidence(CHAIN_ID, self.validators, ev, self.verify)
        except ConsensusError as exc:
            raise Violation("evidence", f"node {i} reported invalid evidence: {exc}") from exc
        accused = ev.vote_a.validator_index
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
            # Block sync: verify the certificate against the validator set before applying.
            try:
                verify_certificate(CHAIN_ID, self.validators, cert, self.verify)
            except ConsensusError as exc:
                raise Violation("certificate", f"sync to node {node.index}: {exc}") from exc
            self.apply_block(node, block, cert)
        assert node.engine is not None
        self.run_actions(node.index, node.engine.start(len(node.chain) + 1, node.chain[-1][1]))

    # -- main loop

    def setup(self) -> None:
        for i in range(self.plan.n):
            behaviour = self.plan.byzantine.get(i)
            if behaviour is None:
                node = SimNode(i, InMemorySafetyStore(), self.apps[i])
                node.engine = self.make_engine(i, node.store, self.honest_engine)
                self.nodes[i] = node
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
        for i in range(self.plan.n):
            engine = self.nodes[i].engine if i in self.nodes else self.byz[i].engine
            if engine is not None:
                self.run_actions(i, engine.start(1))

    def done(self) -> bool:
        target = self.target
        return target is not None and all(len(self.nodes[i].chain) >= target for i in self.honest)

    def run(self) -> Result:
        violation = None
        try:
            self.setup()
            self._loop()
        except Violation as exc:
            violation = exc
        heights = [len(self.nodes[i].chain) for i in self.honest]
        return Result(self.plan.seed, self.plan, violation, heights, self.events, self.now)

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
                node = self.nodes[a]
                node.alive = False
                node.epoch += 1
                node.engine = None
                node.syncing = False
            elif kind == _RESTART:
                node = self.nodes[a]
                node.alive = True
                node.restarts += 1
                node.engine = self.make_engine(a, node.store, self.honest_engine)
                last = node.chain[-1][1] if node.chain else None
                self.run_actions(a, node.engine.start(len(node.chain) + 1, last))
            elif kind == _SYNC:
                node = self.nodes[a]
                if node.alive and node.epoch == c:
                    self.on_sync(node, self.nodes[b])
                else:
                    node.syncing = False
            elif kind == _STABLE:
                self.target = max(len(self.nodes[i].chain) for i in self.honest) + plan.target_extra
            if self.target is not None and kind != _STABLE and self.done():
                return
            if self.target is not None and self.done():
                return
        if not self.done():
            heights = {i: len(self.nodes[i].chain) for i in self.honest}
            raise Violation(
                "liveness",
                f"target height {self.target} not reached by all honest nodes within "
                f"{plan.liveness_ms}ms after stability at {plan.stable_at}ms: {heights}",
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
