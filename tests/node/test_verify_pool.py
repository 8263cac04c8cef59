"""Signature checks of a batch in worker threads (node.verify_pool, issue 19): each envelope is
checked exactly once per node, valid ones wait verified in the mempool, invalid ones are refused
with their own error, and admission keeps the order and the results it had on the event loop."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from carbon_ticket.chain.errors import InvalidTransaction, LedgerError
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.node.config import ConfigError, MempoolSettings
from carbon_ticket.node.mempool import Mempool
from carbon_ticket.node.verify_pool import PARALLEL_MIN, VerifyPool, threads_for
from tests.chain.conftest import CHAIN_ID
from tests.node.harness import InProcessNet
from tests.node.test_mempool_app import LIMITS, CountingCheck, _mempool, _register, _store


def _tampered(raw: bytes) -> bytes:
    # Flip a bit of the signature (the last bytes of the envelope): a bad_signature.
    return raw[:-1] + bytes([raw[-1] ^ 1])


def _batch(count: int, bad_every: int) -> list[bytes]:
    raws = [_register(n, f"pool-{n}") for n in range(count)]
    return [_tampered(r) if n % bad_every == bad_every - 1 else r for n, r in enumerate(raws)]


def test_threads_for_the_automatic_setting_leaves_one_core_to_the_loop() -> None:
    assert [threads_for(-1, cores) for cores in (1, 2, 4, 16)] == [0, 1, 3, 4]
    assert threads_for(0, 16) == 0 and threads_for(6, 2) == 6


def test_a_thread_count_outside_the_range_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="verify_threads"):
        MempoolSettings(verify_threads=-2)
    assert MempoolSettings().verify_threads == -1


def test_a_batch_is_checked_once_in_threads_and_admitted_without_a_second_check() -> None:
    check = CountingCheck()
    mempool = _mempool(_store(), check)
    pool = VerifyPool(2, lambda raw: check(raw, CHAIN_ID, LIMITS), mempool)
    raws = _batch(PARALLEL_MIN + 8, bad_every=5)
    try:
        refused = asyncio.run(pool.check(raws))
    finally:
        pool.close()
    bad = [r for n, r in enumerate(raws) if n % 5 == 4]
    assert set(refused) == set(bad) and pool.batches == 1
    assert all(e.code == "bad_signature" for e in refused.values())
    assert check.calls == len(raws)
    for raw in raws:
        if raw in refused:
            mempool.refuse(refused[raw])
        else:
            mempool.admit(raw)
    assert check.calls == len(raws)  # admission found every valid one verified
    assert len(mempool) == len(raws) - len(bad)
    assert mempool.rejections["bad_signature"] == len(bad)


def test_verified_returns_the_checks_and_leaves_the_mempool_as_it_was() -> None:
    # Block sync's use: a block read ahead is checked now, handed to the mempool only later.
    check = CountingCheck()
    mempool = _mempool(_store(), check)
    pool = VerifyPool(3, lambda raw: check(raw, CHAIN_ID, LIMITS), mempool)
    raws = _batch(PARALLEL_MIN + 8, bad_every=5)
    try:
        result = asyncio.run(pool.verified(raws))
    finally:
        pool.close()
    bad = [r for n, r in enumerate(raws) if n % 5 == 4]
    assert set(result.refused) == set(bad) and pool.batches == 1
    # Every valid one, once: in what order the threads' chunks come back is not promised (and
    # block sync, which asks, only hands them to the mempool).
    good = [r for r in raws if r not in bad]
    assert sorted(tx.raw for tx in result.txs) == sorted(good)
    assert check.calls == len(raws)
    assert mempool.unknown(raws) == raws  # nothing remembered
    mempool.remember(result.txs)
    assert mempool.unknown(raws) == bad


def test_small_batches_and_no_threads_leave_the_checks_to_admission() -> None:
    check = CountingCheck()
    mempool = _mempool(_store(), check)
    small = VerifyPool(2, lambda raw: check(raw, CHAIN_ID, LIMITS), mempool)
    none = VerifyPool(0, lambda raw: check(raw, CHAIN_ID, LIMITS), mempool)
    try:
        assert asyncio.run(small.check(_batch(PARALLEL_MIN - 1, bad_every=3))) == {}
        assert asyncio.run(none.check(_batch(PARALLEL_MIN * 2, bad_every=3))) == {}
    finally:
        small.close()
        none.close()
    assert check.calls == 0 and small.batches == 0


def _results(outcomes: list[SignedTx | LedgerError]) -> list[str]:
    return [o.code if isinstance(o, LedgerError) else "ok" for o in outcomes]


@pytest.mark.parametrize("threads", [0, 2])
def test_admit_many_gives_the_same_results_with_and_without_threads(
    tmp_path: Path, threads: int
) -> None:
    async def scenario() -> tuple[list[str], int, int]:
        settings = dataclasses.replace(MempoolSettings(), verify_threads=threads)
        async with InProcessNet(tmp_path, validators=1, mempool=settings) as net:
            await net.start()
            node = net.node(0)
            raws = _batch(PARALLEL_MIN * 2, bad_every=4)
            raws.append(raws[0])  # a duplicate in the same batch
            outcomes = await node.admit_many(raws)
            pool = node.verify_pool
            return _results(outcomes), len(node.mempool), pool.batches if pool else -1

    results, pending, batches = asyncio.run(scenario())
    expected = ["bad_signature" if n % 4 == 3 else "ok" for n in range(PARALLEL_MIN * 2)]
    assert results == [*expected, "duplicate_tx"]
    assert pending == expected.count("ok")
    assert batches == (1 if threads else 0)


def test_gossip_refusals_from_the_threads_are_counted_once(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, dict[str, int]]:
        settings = dataclasses.replace(MempoolSettings(), verify_threads=2)
        async with InProcessNet(tmp_path, validators=1, mempool=settings) as net:
            await net.start()
            node = net.node(0)
            raws = _batch(PARALLEL_MIN * 2, bad_every=8)
            refused = await node.precheck(raws)
            assert all(isinstance(e, InvalidTransaction) for e in refused.values())
            accepted = node.admit_gossip(raws, refused)
            assert isinstance(node.mempool, Mempool)  # the port keeps no counts
            return accepted, dict(node.mempool.rejections)

    accepted, rejections = asyncio.run(scenario())
    assert accepted == PARALLEL_MIN * 2 - PARALLEL_MIN * 2 // 8
    assert rejections == {"bad_signature": PARALLEL_MIN * 2 // 8}
