"""``carbon-ticket chaos`` with real validator processes: a short run loses nothing and no node
diverges; the JSON it prints carries the promised figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.chaos import FAULT_KINDS


def _chaos_mounts() -> list[str]:
    return [line for line in Path("/proc/mounts").read_text().splitlines() if "chaos" in line]


def test_bad_arguments_are_refused_before_anything_starts() -> None:
    runner = CliRunner()
    for args in (["--cycles", "0"], ["--validators", "3"], ["--stall-limit", "0"]):
        result = runner.invoke(cli, ["chaos", *args, "--json"])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_short_chaos_run_loses_nothing_and_nothing_diverges(tmp_path: Path) -> None:
    # Seed 1 schedules a kill of two validators (no quorum for a while), then a disk that fills
    # up under a running node (skipped where mounting a tmpfs is not permitted). Two cycles: a
    # third one, on seed 1 a second full disk, took a quarter of the run and checked nothing new.
    home = tmp_path / "chaos"
    result = CliRunner().invoke(
        cli, ["chaos", "--cycles", "2", "--seed", "1", "--home", str(home), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["lost"] == 0
    assert data["divergent_heights"] == 0
    assert data["cycles"] == 2 and sum(data["faults"].values()) == 2
    assert set(data["faults"]) <= set(FAULT_KINDS)
    # The seed names the schedule (this pins it; a change to how faults draw from the seeded
    # generator changes it, and this comment with it).
    assert data["faults"] == {"kill_two": 1, "disk_full": 1}
    # The load ran through the faults and the chain grew.
    assert data["committed"] > 0 and data["final_height"] > 0
    assert data["ok"] is True and data["lagging_nodes"] == [] and data["failed_cycles"] == []
    # The small filesystem of the disk fault is gone again.
    assert _chaos_mounts() == []
    assert not any((home / "devnet").glob("chaos-node*"))
