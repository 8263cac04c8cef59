"""Seeded fault schedules: agreement, certificates, signatures and liveness on every seed.

A failing seed prints its plan and the replay command, e.g.
``CONSENSUS_SEED=123 CONSENSUS_PROFILE=mixed python -m pytest tests/consensus -k replay``.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter

import pytest

from carbon_ticket.consensus import Engine
from tests.consensus.sim import (
    BEHAVIOURS,
    SET_CHANGE_BEHAVIOURS,
    BlockForgettingEngine,
    FrozenIndexEngine,
    LockIgnoringEngine,
    NextWithCurrentSetEngine,
    Simulation,
    StaleSetEngine,
    TimelinessAsValidityEngine,
    UnboundedRoundsEngine,
    UnboundPayloadEngine,
    make_plan,
    run_seed,
)
from tests.consensus.sim_valsets import KINDS, safe_step

MIXED_SEEDS = 1000
LOCK_STRESS_SEEDS = 200
BATCH = 100
# Issue 11 profiles in CI: (profile, validator count or None for 4 or 7 by seed, seeds).
ISSUE11_CI = (
    ("tamper_hub", 4, 100),
    ("tamper_hub", 7, 100),
    ("tamper_outsider", 4, 100),
    ("tamper_outsider", 7, 100),
    ("crash_all", None, 250),
    ("vote_flood", None, 150),
    ("future_flood", None, 200),
    ("skewed_clock", None, 100),
)
# Issue 16 profiles in CI (validator set changes): (profile, seeds); about 40 s together here.
SET_CHANGE_CI = (("set_change", 300), ("set_change_byzantine", 300))
# How many seeds a deliberately weakened engine gets to show its flaw.
WEAKENED_SEEDS = 40


def _check(seeds: range, profile: str, n: int | None = None) -> None:
    failures = []
    for seed in seeds:
        result = run_seed(seed, n=n, profile=profile)
        if not result.ok:
            failures.append(result.report())
    assert not failures, "\n".join(failures)


def _first_violation(
    engine: type[Engine], profile: str, n: int | None = None
) -> tuple[int, str] | None:
    for seed in range(WEAKENED_SEEDS):
        result = run_seed(seed, n=n, honest_engine=engine, profile=profile)
        if result.violation is not None:
            return seed, result.violation.prop
    return None


@pytest.mark.parametrize("start", range(0, MIXED_SEEDS, BATCH))
def test_mixed_fault_schedules_hold_every_property(start: int) -> None:
    _check(range(start, start + BATCH), "mixed")


@pytest.mark.parametrize("start", range(0, LOCK_STRESS_SEEDS, BATCH))
def test_lock_stress_schedules_hold_every_property(start: int) -> None:
    _check(range(start, start + BATCH), "lock_stress")


@pytest.mark.parametrize(
    ("profile", "n", "start"),
    [(p, n, start) for p, n, seeds in ISSUE11_CI for start in range(0, seeds, 50)],
)
def test_issue11_schedules_hold_every_property(profile: str, n: int | None, start: int) -> None:
    # Safety as everywhere, plus: every height commits within MAX_ROUNDS_AFTER_CALM rounds
    # once calm, and a flood leaves the engine holding a bounded number of vote sets/proposals.
    seeds = dict(((p, m), k) for p, m, k in ISSUE11_CI)[(profile, n)]
    _check(range(start, min(start + 50, seeds)), profile, n)


def test_issue11_ci_runs_at_least_a_thousand_seeds() -> None:
    assert sum(seeds for _, _, seeds in ISSUE11_CI) >= 1000


@pytest.mark.parametrize("n", [4, 7])
def test_engine_trusting_unbound_payloads_is_stopped_by_an_outsider(n: int) -> None:
    found = _first_violation(UnboundPayloadEngine, "tamper_outsider", n)
    assert found is not None and found[1] in ("liveness", "round-bound", "relay")


@pytest.mark.parametrize("n", [4, 7])
def test_engine_trusting_unbound_payloads_is_stopped_by_a_hub(n: int) -> None:
    found = _first_violation(UnboundPayloadEngine, "tamper_hub", n)
    assert found is not None and found[1] in ("liveness", "round-bound", "relay")


def test_engine_forgetting_its_locked_block_stalls_when_every_node_restarts() -> None:
    found = _first_violation(BlockForgettingEngine, "crash_all")
    assert found is not None and found[1] in ("liveness", "round-bound")


def test_engine_opening_any_round_is_caught_by_the_vote_flood() -> None:
    found = _first_violation(UnboundedRoundsEngine, "vote_flood")
    assert found is not None and found[1] == "memory"


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


@pytest.mark.parametrize("profile", ["mixed", "set_change_byzantine"])
def test_a_seed_replays_identically(profile: str) -> None:
    a, b = run_seed(7, profile=profile), run_seed(7, profile=profile)
    assert (a.heights, a.events, a.end_time) == (b.heights, b.events, b.end_time)


def test_replay() -> None:
    """Re-run one seed: CONSENSUS_SEED (default 1) and CONSENSUS_PROFILE (default mixed)."""
    seed = int(os.environ.get("CONSENSUS_SEED", "1"))
    profile = os.environ.get("CONSENSUS_PROFILE", "mixed")
    result = run_seed(seed, profile=profile)
    print(result.report())
    assert result.ok, result.report()


def test_engine_taking_untimely_blocks_for_invalid_is_caught_by_skewed_clocks() -> None:
    # A validator whose clock disagrees must still lock on and commit what a quorum decides;
    # an engine that folds timeliness into validity leaves it deciding nothing by consensus.
    found = _first_violation(TimelinessAsValidityEngine, "skewed_clock")
    assert found is not None and found[1] == "skewed-decide"


@pytest.mark.parametrize(
    ("profile", "start"),
    [(p, start) for p, seeds in SET_CHANGE_CI for start in range(0, seeds, 100)],
)
def test_set_change_schedules_hold_every_property(profile: str, start: int) -> None:
    # Safety, validity and liveness as everywhere, with every certificate and piece of evidence
    # checked against the set of its own height, no removed validator's vote in a certificate,
    # and no signature from an honest node at a height where it is not a validator.
    seeds = dict(SET_CHANGE_CI)[profile]
    _check(range(start, min(start + 100, seeds)), profile)


def test_set_change_ci_covers_every_kind_of_change_within_the_rule() -> None:
    plans = [make_plan(s, profile=p) for p, seeds in SET_CHANGE_CI for s in range(seeds)]
    kinds = Counter(c.kind for p in plans for c in p.changes)
    assert all(kinds[k] >= 50 for k in KINDS), kinds
    assert sum(len(p.changes) >= 2 for p in plans) > 200
    assert {len(p.genesis) for p in plans} == {4, 5, 7}
    behaviours = Counter(b for p in plans for b in p.byzantine.values())
    assert set(behaviours) == set(SET_CHANGE_BEHAVIOURS)
    assert sum(p.real_crypto for p in plans) >= 50
    for plan in plans:
        sets = [plan.genesis, *(c.members for c in plan.changes)]
        for old, new in itertools.pairwise(sets):
            assert safe_step(old, new), plan.describe()
        for members in sets:
            byz = sum(power for node, power in members if node in plan.byzantine)
            assert 3 * byz < sum(power for _, power in members), plan.describe()
        decided = [c.decided for c in plan.changes]
        assert all(b >= a + 2 for a, b in itertools.pairwise(decided))


def test_joined_validators_sign_certificates_from_their_effective_height() -> None:
    joined_votes = 0
    for seed in range(10):
        sim = Simulation(make_plan(seed, profile="set_change"))
        result = sim.run()
        assert result.ok, result.report()
        genesis = {node for node, _ in sim.plan.genesis}
        chain = sim.nodes[sim.honest[0]].chain
        for height, (_, cert) in enumerate(chain, start=1):
            signers = {sim.schedule.node_at(height, v.validator_index) for v in cert.precommits}
            joined_votes += len(signers - genesis)
    assert joined_votes > 0


def test_engine_keeping_the_genesis_set_is_caught_by_set_changes() -> None:
    found = _first_violation(StaleSetEngine, "set_change")
    assert found is not None and found[1] in (
        "certificate",
        "validity",
        "removed-counted",
        "non-member-signed",
    )


def test_engine_keeping_its_genesis_index_is_caught_signing_after_removal() -> None:
    found = _first_violation(FrozenIndexEngine, "set_change")
    assert found is not None and found[1] in ("non-member-signed", "crash")


def test_engine_judging_next_height_votes_by_the_current_set_is_caught_by_a_removed_validator() -> (
    None
):
    # A validator removed at H signs nil votes for H early: an engine that parks them by the
    # set of H - 1 counts them at H under another validator's index.
    found = _first_violation(NextWithCurrentSetEngine, "set_change_byzantine")
    assert found is not None and found[1] in ("evidence", "certificate", "agreement")
