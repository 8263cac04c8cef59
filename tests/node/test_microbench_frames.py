"""The frame-cost microbenchmark runs and reports (figures are printed, never judged here)."""

from __future__ import annotations

import pytest

from tests.node import microbench_frames

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]  # real processes


@pytest.mark.parametrize("transport", ["grpc", "tcp", "grpc-link", "tcp-link"])
def test_microbench_frames_moves_every_frame_and_reports_both_sides(transport: str) -> None:
    cost = microbench_frames.measure(transport, count=50, gap_ms=1.0, payload=100)
    # measure() raises unless the receiver counted every frame; the CPU figures are not judged.
    assert cost.transport == transport and cost.frames == 50
