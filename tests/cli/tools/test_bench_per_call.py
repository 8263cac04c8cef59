"""`carbon-ticket bench --per-call`: the load submits that many transactions per call."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from carbon_ticket.cli.main import cli

pytestmark = [pytest.mark.timeout(300)]


@pytest.mark.slow
def test_bench_per_call_one_makes_one_call_per_transaction() -> None:
    cmd = [sys.executable, "-P", "-m", "carbon_ticket.cli", "bench", "--validators", "2",
           "--duration", "3", "--rate", "60", "--accounts", "32", "--per-call", "1",
           "--json"]  # fmt: skip
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["per_call"] == 1
    assert result["committed"] == result["submitted"] > 0
    assert result["submit_calls"] == result["submitted"]


def test_bench_per_call_is_refused_with_the_points_workload() -> None:
    # In-process: the option is refused before anything starts.
    result = CliRunner().invoke(cli, ["bench", "--workload", "points", "--per-call", "5"])
    assert result.exit_code == 2 and "--per-call" in result.output
