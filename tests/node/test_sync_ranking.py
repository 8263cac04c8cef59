"""Block sync ranks peers by what they delivered: fake peers in-process, no sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from carbon_ticket.chain.errors import LedgerError
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.node.sync import EXCLUDE_AT, BlockSync, PeerScores
from carbon_ticket.proto import ledger_pb2, services_pb2

CHAIN = "carbon-test"
DEADLINE_S = 0.2  # per-block deadline in these tests (real default: node.sync.BLOCK_DEADLINE_S)


class FakePeer:
    """Claims ``claims``; serves blocks up to ``serves`` (then ends the stream), optionally
    hanging after ``hang_after`` blocks or sending a bad block at ``bad_at``."""

    def __init__(self, address: str, calls: list[str], claims: int, serves: int | None = None,
                 hang_after: int | None = None, bad_at: int | None = None) -> None:  # fmt: skip
        self.address = address
        self.claims = claims
        self.serves = claims if serves is None else serves
        self.hang_after = hang_after
        self.bad_at = bad_at
        self._calls = calls

    async def status(self, timeout_s: float) -> services_pb2.PeerStatus:
        return services_pb2.PeerStatus(chain_id=CHAIN, height=self.claims)

    async def blocks(
        self, from_height: int, max_blocks: int, timeout_s: float
    ) -> AsyncIterator[ledger_pb2.CommittedBlock]:
        self._calls.append(self.address)
        heights = range(from_height, min(from_height + max_blocks, self.serves + 1))
        for sent, height in enumerate(heights):
            if self.hang_after is not None and sent >= self.hang_after:
                await asyncio.sleep(3600)  # holds the stream: the deadline must end it
            committed = ledger_pb2.CommittedBlock()
            committed.block.header.height = height
            if height == self.bad_at:
                committed.block.header.app_hash = b"bad"
            await asyncio.sleep(0)
            yield committed


class FakeSync(BlockSync):
    """BlockSync whose 'apply' just checks the fake marker and moves the fake store on."""

    def apply(self, committed: ledger_pb2.CommittedBlock) -> None:
        if committed.block.header.app_hash == b"bad":
            raise LedgerError("certificate does not verify", "bad_certificate")
        self.store.height += 1  # type: ignore[misc]

    async def _preverify(self, raws: Sequence[bytes]) -> list[SignedTx]:
        return []


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _sync(peers: list[FakePeer], clock: FakeClock | None = None) -> tuple[FakeSync, Any]:
    node = SimpleNamespace(store=SimpleNamespace(height=0))
    scores = PeerScores(clock or FakeClock(), half_life_s=300.0)
    unused: Any = None  # 'apply' and '_preverify' are faked: no validators, app or pool needed
    sync = FakeSync(
        CHAIN, unused, node.store, unused, pool=unused, verify=unused,
        peers=lambda: peers, scores=scores, block_deadline_s=DEADLINE_S,
    )  # fmt: skip
    return sync, node


def _catch_up(sync: FakeSync) -> int:
    return asyncio.run(sync.catch_up())


def test_a_peer_that_claimed_more_than_it_delivered_is_tried_last_next_time() -> None:
    calls: list[str] = []
    liar = FakePeer("liar", calls, claims=1_000, serves=0)
    honest = FakePeer("honest", calls, claims=20)
    sync, node = _sync([liar, honest])
    # First catch-up: nothing is known, so the greatest claim goes first (and is found out).
    assert asyncio.run(sync.catch_up()) == 20
    assert calls == ["liar", "honest"]
    assert sync.scores.penalty("liar") > 0 == sync.scores.penalty("honest")
    # Later catch-ups: the peer that delivered goes first, whatever the liar claims.
    calls.clear()
    honest.claims = honest.serves = 40
    assert _catch_up(sync) == 20
    assert calls[0] == "honest"
    assert node.store.height == 40


def test_a_peer_ending_its_stream_short_of_its_claim_is_penalised() -> None:
    calls: list[str] = []
    short = FakePeer("short", calls, claims=100, serves=30)
    honest = FakePeer("honest", calls, claims=90)
    sync, node = _sync([short, honest])
    assert _catch_up(sync) == 90
    assert node.store.height == 90
    assert sync.scores.penalty("short") > 0 == sync.scores.penalty("honest")
    assert calls[:2] == ["short", "honest"]


def test_one_slow_peer_cannot_hold_catch_up() -> None:
    # Before: a peer could hold the stream for the whole 60 s call timeout, in every catch-up.
    calls: list[str] = []
    slow = FakePeer("slow", calls, claims=60, hang_after=3)
    honest = FakePeer("honest", calls, claims=50)
    sync, node = _sync([slow, honest])
    applied = asyncio.run(sync.catch_up())
    # 3 blocks from the slow peer, then the deadline passes it over; the honest peer serves
    # up to 50; the slow one is tried again for the rest and hangs again after 3 more.
    assert node.store.height >= 50 and applied == node.store.height
    assert calls[:2] == ["slow", "honest"]
    penalty = sync.scores.penalty("slow")
    assert penalty >= 2.0 and sync.scores.penalty("honest") == 0
    ranked = sync.scores.rank([(slow, 60), (honest, 50)])
    assert [p.address for p, _ in ranked] == ["honest", "slow"]


def test_an_invalid_block_costs_most_and_penalties_decay() -> None:
    clock = FakeClock()
    calls: list[str] = []
    forger = FakePeer("forger", calls, claims=30, bad_at=5)
    short = FakePeer("short", calls, claims=30, serves=0)
    honest = FakePeer("honest", calls, claims=30)
    sync, node = _sync([forger, short, honest], clock)
    assert _catch_up(sync) == 30
    assert node.store.height == 30
    forged, lied = sync.scores.penalty("forger"), sync.scores.penalty("short")
    assert forged > lied > 0
    clock.now += 300.0  # one half-life
    assert sync.scores.penalty("forger") == pytest.approx(forged / 2)
    # Ranking: honest, then the one that only lied, then the one that forged.
    ranked = sync.scores.rank([(forger, 99), (short, 99), (honest, 31)])
    assert [p.address for p, _ in ranked] == ["honest", "short", "forger"]


def test_a_full_delivery_halves_a_penalty() -> None:
    scores = PeerScores(FakeClock())
    scores.punish("p", 4.0)
    scores.reward("p")
    assert scores.penalty("p") == pytest.approx(2.0)
    scores.reward("never-punished")
    assert scores.penalty("never-punished") == 0.0


def test_a_repeat_liar_is_not_tried_while_an_honest_peer_answers() -> None:
    # At the chain's tip honest peers are not ahead; a liar still claims to be. After a few
    # failures it is left out, instead of costing a deadline in every catch-up.
    calls: list[str] = []
    liar = FakePeer("liar", calls, claims=1_000, serves=10, hang_after=0)
    honest = FakePeer("honest", calls, claims=10)
    sync, node = _sync([liar, honest])
    for _ in range(4):
        calls.clear()
        asyncio.run(sync.catch_up())
    assert node.store.height == 10
    assert sync.scores.penalty("liar") >= EXCLUDE_AT
    assert calls == []  # the last catch-up asked nobody for blocks
    # Alone (no other peer answers), even a penalised peer is tried: it may be right.
    alone, alone_node = _sync([FakePeer("alone", calls, claims=12)])
    alone.scores.punish("alone", 2 * EXCLUDE_AT)
    assert _catch_up(alone) == 12 and alone_node.store.height == 12
