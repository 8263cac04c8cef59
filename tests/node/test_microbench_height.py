"""The per-height microbenchmark runs and reports (figures are printed, never judged here)."""

from __future__ import annotations

import asyncio
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
