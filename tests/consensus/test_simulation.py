"""Seeded fault schedules: agreement, certificates, signatures and liveness on every seed.

A failing seed prints its plan and the replay command, e.g.
``CONSENSUS_SEED=123 CONSENSUS_PROFILE=mixed python -m pytest tests/consensus -k replay``.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from tests.consensus.sim import BEHAVIOURS, LockIgnoringEngine, make_plan, run_seed

MIXED_SEEDS = 1000
LOCK_STRESS_SEEDS = 200
BATCH = 100


def _check(seeds: range, profile: str) -> None:
    failures = []
    for seed in seeds:
        result = run_seed(seed, profile=profile)
        if not result.ok:
            failures.append(result.report())
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("start", range(0, MIXED_SEEDS, BATCH))
def test_mixed_fault_schedules_hold_every_property(start: int) -> None:
    _check(range(start, start + BATCH), "mixed")


@pytest.mark.parametrize("start", range(0, LOCK_STRESS_SEEDS, BATCH))
def test_lock_stress_schedules_hold_every_property(start: int) -> None:
    _check(range(start, start + BATCH), "lock_stress")


def test_ci_schedules_cover_the_fault_space() -> None:
    plans = [make_plan(seed) for seed in range(MIXED_SEEDS)]
    sizes = Counter(p.n for p in plans)
    behaviours = Counter(b for p in plans for b in p.byzantine.values())
    assert sizes[4] > 300 and sizes[7] > 300
    assert set(behaviours) == set(BEHAVIOURS)
    assert sum(p.real_crypto for p in plans) >= 100
    assert sum(bool(p.crashes) for p in plans) > 200
    assert sum(bool(p.partitions) for p in plans) > 200
    assert sum(p.drop > 0 and p.dup > 0 for p in plans) > 200
    assert sum(len(p.byzantine) == (p.n - 1) // 3 for p in plans) > 200


def test_weakened_engine_that_ignores_its_lock_is_caught() -> None:
    # Same simulator, same schedules as the lock-stress CI set; only the honest engine differs.
    for seed in range(LOCK_STRESS_SEEDS):
        result = run_seed(seed, honest_engine=LockIgnoringEngine, profile="lock_stress")
        if result.violation is not None and result.violation.prop == "agreement":
            return
    pytest.fail(f"no agreement violation found in {LOCK_STRESS_SEEDS} lock-stress schedules")


def test_a_seed_replays_identically() -> None:
    a, b = run_seed(7), run_seed(7)
    assert (a.heights, a.events, a.end_time) == (b.heights, b.events, b.end_time)


def test_replay() -> None:
    """Re-run one seed: CONSENSUS_SEED (default 1) and CONSENSUS_PROFILE (default mixed)."""
    seed = int(os.environ.get("CONSENSUS_SEED", "1"))
    profile = os.environ.get("CONSENSUS_PROFILE", "mixed")
    result = run_seed(seed, profile=profile)
    print(result.report())
    assert result.ok, result.report()
