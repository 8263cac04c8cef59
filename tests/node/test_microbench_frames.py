"""The frame-cost microbenchmark runs and reports (figures are printed, never judged here)."""

from __future__ import annotations

import pytest

from tests.node import microbench_frames


@pytest.mark.parametrize("transport", ["grpc", "tcp"])
def test_microbench_frames_moves_every_frame_and_reports_both_sides(transport: str) -> None:
    cost = microbench_frames.measure(transport, count=50, gap_ms=1.0, payload=100)
    # measure() raises unless the receiver counted every frame.
    assert cost.transport == transport and cost.frames == 50
    # CPU figures of real processes (clock ticks of 10 ms: small runs may read 0), not judged.
    assert cost.receiver_us >= 0
