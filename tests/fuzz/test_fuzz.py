"""Every fuzz target in CI, with a fixed, reproducible budget (``derandomize``, no deadline).

Each target must accept an input as a valid object or refuse it with its own typed error, never
raise anything else (tests/fuzz/targets.py). The budget per target is ``FUZZ_EXAMPLES`` inputs
(together about half a minute on the development machine); ``python -m tests.fuzz.soak`` runs
the same generators for a million inputs (docs/security.md has the figure). Each ``@example``
below is an input a fuzz run once found, kept as a regression test with the fix it led to.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.samples import samples
from tests.fuzz.strategies import strategy
from tests.fuzz.targets import TARGETS, Refused, Target, by_name, run_one

FUZZ_EXAMPLES = int(os.environ.get("CARBON_TICKET_FUZZ_EXAMPLES", "300"))


def _fuzz_settings() -> Any:
    return settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])  # fmt: skip


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One directory the file targets write their input into (removed by pytest)."""
    yield tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_target_accepts_or_refuses_with_its_own_error(target: Target, scratch: Path) -> None:
    @_fuzz_settings()
    @given(strategy(target.inputs()))
    def fuzz(value: Any) -> None:
        run_one(target, value, scratch)

    fuzz()


def test_the_samples_themselves_are_valid(scratch: Path) -> None:
    """The seeds every mutation starts from are accepted: otherwise the fuzz tests little."""
    s = samples()
    files = {
        "genesis": s.genesis_json.encode(),
        "config": s.config_toml.encode(),
        "keystore": s.keystore_json.encode(),
        "keyfile": s.keyfile_json.encode(),
        "verify-genesis": s.genesis_json.encode(),
    }
    from tests.fuzz.samples import bundle_text

    valid = {
        "tx": s.txs[0],
        "block": s.block,
        "consensus": s.proposal,
        "certificate": s.certificate,
        "sync": s.committed_block,
        "evidence": s.evidence,
        "bundle": bundle_text().encode(),
        **files,
    }
    for name, value in valid.items():
        (target,) = by_name([name])
        assert run_one(target, value, scratch), name
    for vote in s.votes:
        assert run_one(by_name(["consensus"])[0], vote, scratch)


def test_a_refusal_is_not_counted_as_valid(scratch: Path) -> None:
    (target,) = by_name(["tx"])
    assert not run_one(target, b"\x0a\x01", scratch)
    (bundle,) = by_name(["bundle"])
    assert not run_one(bundle, b"\xff", scratch)
    with pytest.raises(Refused):
        bundle.run(b"\xff", scratch)
