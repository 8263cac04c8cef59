"""The virtual-time finality microbenchmark runs and reports (figures are printed, not judged)."""

from __future__ import annotations

import pytest

from tests.node import microbench_finality

pytestmark = pytest.mark.timeout(120)


def test_finality_over_a_wan_takes_at_least_three_message_delays() -> None:
    result = microbench_finality.measure(one_way_ms=25, commit_wait_ms=50, rate=100, txs=20)
    # Proposal, prevotes, precommits: no transaction commits sooner, whatever the machine.
    assert 3 * 25 <= result.p50_ms <= result.p99_ms
