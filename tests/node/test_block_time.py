"""Block time rules: after genesis and the previous block; fresh proposals judged on receipt."""

from __future__ import annotations

import logging

import pytest

from carbon_ticket.chain.block import Block
from carbon_ticket.chain.errors import LedgerError
from carbon_ticket.chain.store import MemoryStore
from carbon_ticket.consensus import CommitCertificate, Validator, ValidatorSet
from carbon_ticket.node.app import LedgerApp
from carbon_ticket.node.clock_watch import ClockWatch
from carbon_ticket.node.config import TimeSettings
from carbon_ticket.node.mempool import Mempool
from tests.chain.conftest import GENESIS_TIME_MS, VALIDATORS
from tests.node.test_mempool_app import LIMITS, _mempool, _register, _store, check_tx

SET = ValidatorSet(tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATORS)))
NOW = GENESIS_TIME_MS + 3_600_000
TIME = TimeSettings(precision_ms=500, message_delay_ms=1500)


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _app(store: MemoryStore, pool: Mempool, clock: Clock, proposer: int = 0,
         genesis_time_ms: int = GENESIS_TIME_MS) -> LedgerApp:  # fmt: skip
    return LedgerApp(store, pool, SET, VALIDATORS[proposer].public_key, LIMITS, 1000, clock,
                     genesis_time_ms=genesis_time_ms, time_settings=TIME)  # fmt: skip


def _proposal(time_ms: int, genesis_time_ms: int = GENESIS_TIME_MS) -> tuple[bytes, bytes]:
    """Block 1 proposed by validator 1 whose clock reads ``time_ms``."""
    store = _store()
    pool = _mempool(store, check_tx)
    pool.admit(_register(0, "t"))
    app = _app(store, pool, Clock(time_ms), proposer=1, genesis_time_ms=genesis_time_ms)
    return app.propose(1, 0)


def _validator(now: int = NOW) -> tuple[LedgerApp, Clock]:
    store = _store()
    clock = Clock(now)
    return _app(store, _mempool(store, check_tx), clock), clock


def test_block_one_must_be_after_the_genesis_time() -> None:
    # Before: block 1 had no lower bound, so a proposer whose clock read 1970 was accepted.
    payload, block_hash = _proposal(5, genesis_time_ms=0)  # a proposer ignoring genesis time
    assert Block.decode(payload).header.time_ms == 5
    validator, _ = _validator()
    assert validator.validate(1, payload) is None
    # Not on the commit/sync path either, whatever a certificate says.
    with pytest.raises(LedgerError) as info:
        validator.commit(CommitCertificate(1, 0, block_hash, ()), payload)
    assert info.value.code == "bad_block_time"
    at_genesis, _ = _proposal(GENESIS_TIME_MS, genesis_time_ms=0)
    assert validator.validate(1, at_genesis) is None  # strictly after
    just_after, just_after_hash = _proposal(GENESIS_TIME_MS + 1, genesis_time_ms=0)
    assert validator.validate(1, just_after) == just_after_hash


def test_the_proposer_time_is_never_before_genesis_or_the_previous_block() -> None:
    store = _store()
    pool = _mempool(store, check_tx)
    clock = Clock(GENESIS_TIME_MS - 3_600_000)  # an hour slow, and before genesis
    app = _app(store, pool, clock)
    payload, block_hash = app.propose(1, 0)
    assert Block.decode(payload).header.time_ms == GENESIS_TIME_MS + 1
    app.commit(CommitCertificate(1, 0, block_hash, ()), payload)
    payload, _ = app.propose(2, 0)
    assert Block.decode(payload).header.time_ms == GENESIS_TIME_MS + 2
    clock.now = NOW
    payload, _ = app.propose(2, 1)
    assert Block.decode(payload).header.time_ms == NOW


@pytest.mark.parametrize(
    ("block_time", "timely"),
    [
        (NOW, True),
        (NOW + 500, True),  # ahead by the precision: fine
        (NOW + 501, False),  # further ahead: the proposer's clock is fast
        (NOW - 2_000, True),  # precision + message delay old: fine
        (NOW - 2_001, False),  # older: a slow clock or a stale proposal
        (NOW + 50_000, False),  # before: anything up to 60 s ahead was accepted
    ],
)
def test_a_fresh_proposal_is_judged_by_the_clock_on_receipt(block_time: int, timely: bool) -> None:
    payload, block_hash = _proposal(block_time)
    validator, _ = _validator()
    validator.note_proposal(block_hash, round=0, pol_round=-1)
    assert validator.timely(1, 0, payload) is timely
    # Timeliness decides a prevote, never validity: a quorum may still lock on and commit it.
    assert validator.validate(1, payload) == block_hash


def test_a_re_proposal_keeps_its_time_and_stays_valid_when_it_is_old() -> None:
    payload, block_hash = _proposal(NOW)
    validator, clock = _validator()
    clock.now = NOW + 30_000  # rounds later: the block is old, but it has a polka behind it
    validator.note_proposal(block_hash, round=1, pol_round=0)  # re-proposals are not noted
    assert not validator.timely(1, 1, payload)  # would not be prevoted as a fresh proposal
    assert validator.validate(1, payload) == block_hash  # but stays valid for L28 and commit


def test_an_own_proposal_is_timely_without_a_note() -> None:
    store = _store()
    app = _app(store, _mempool(store, check_tx), Clock(NOW))
    payload, _ = app.propose(1, 0)
    assert app.timely(1, 0, payload)


def test_the_delay_allowance_grows_by_a_tenth_each_round() -> None:
    # A network slower than configured still gets a fresh proposal through in a later round.
    payload, block_hash = _proposal(NOW - 2_600)  # 2.6 s old on receipt
    for round_, timely in ((0, False), (2, False), (4, True)):  # 1.5 s x 1.1^4 = 2.196 s
        validator, _ = _validator()
        validator.note_proposal(block_hash, round=round_, pol_round=-1)
        assert validator.timely(1, round_, payload) is timely, round_


def test_an_untimely_refusal_is_logged_naming_the_offset(caplog: pytest.LogCaptureFixture) -> None:
    payload, block_hash = _proposal(NOW + 50_000)
    validator, _ = _validator()
    validator.note_proposal(block_hash, round=0, pol_round=-1)
    with caplog.at_level(logging.WARNING, logger="carbon_ticket.node.app"):
        assert not validator.timely(1, 0, payload)
    assert "fresh proposal of validator 1 at height 1 round 0 has a block time +50.000 s" in (
        caplog.text
    )


def test_one_skewed_peer_does_not_make_an_honest_node_doubt_its_clock(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = ClockWatch(TIME, validators=4)
    with caplog.at_level(logging.WARNING, logger="carbon_ticket.node.clock_watch"):
        watch.observe(b"fast", -50_000)
        watch.observe(b"honest-1", 40)
        watch.observe(b"honest-2", 60)
    assert watch.warnings == 0 and "CLOCK" not in caplog.text


def test_a_node_whose_clock_disagrees_with_most_peers_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = ClockWatch(TIME, validators=4)
    with caplog.at_level(logging.WARNING, logger="carbon_ticket.node.clock_watch"):
        for _ in range(5):
            for peer in (b"a", b"b", b"c"):
                watch.observe(peer, 120_000 + len(peer))
    assert watch.warnings == 1  # rate-limited
    assert "clock is about +120.0 s ahead of the other validators'" in caplog.text
    behind = ClockWatch(TIME, validators=4)
    behind.observe(b"a", -120_000)
    behind.observe(b"b", -119_000)
    assert behind.warnings == 1
