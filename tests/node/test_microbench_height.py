"""The per-height microbenchmark runs and reports (figures are printed, never judged here)."""

from __future__ import annotations

import asyncio
import gc
import re
from pathlib import Path

import pytest

from tests.node import microbench_height


@pytest.mark.parametrize("per_block", [0, 5])
def test_microbench_height_reports_cpu_and_fsyncs_per_height(
    tmp_path: Path, per_block: int, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(microbench_height._run(tmp_path, 3, per_block, None))
    out = capsys.readouterr().out
    line = re.search(r"(\d+) heights of (\d+) txs.*CPU ([\d.]+) ms per height.*fsyncs ([\d.]+)",
                     out)  # fmt: skip
    assert line is not None, out
    assert int(line[1]) >= 3 and int(line[2]) == per_block
    # Every height signs a prevote and a precommit at least: two journal fsyncs per validator.
    assert float(line[4]) >= 2.0


def test_microbench_height_tunes_the_collector_only_while_it_measures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = gc.get_threshold()
    asyncio.run(microbench_height._run(tmp_path, 3, 5, None, gc_stats=True, tuned_gc=True))
    assert re.search(r"garbage collector: gen0 \d+ runs", capsys.readouterr().out)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
