"""The benchmark command runs end to end and reports every figure (values are not judged here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbon_ticket.cli.main import cli

# The runs start real validator processes (slow); refusals of bad options are checked in-process:
# they come before anything starts, so a subprocess would only add its start-up.
pytestmark = [pytest.mark.timeout(300)]


def _refused(*args: str) -> str:
    """``bench *args`` in-process: it must exit 2 (usage); its output."""
    result = CliRunner().invoke(cli, ["bench", *args])
    assert result.exit_code == 2, result.output
    return result.output


@pytest.mark.slow
def test_bench_json_reports_every_figure_and_sets_verify_threads_on_every_validator(
    tmp_path: Path,
) -> None:
    home = tmp_path / "bench"
    cmd = [sys.executable, "-P", "-m", "carbon_ticket.cli", "bench", "--validators", "4",
           "--duration", "4", "--rate", "150", "--accounts", "64", "--sync",
           "--verify-threads", "2", "--home", str(home), "--json"]  # fmt: skip
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "\r" not in done.stderr and "funding" not in done.stderr  # --json: no progress
    result = json.loads(done.stdout)
    for key in ("committed_tps", "latency_ms", "verify_per_core", "efficiency", "validators",
                "cores", "blocks_per_s", "txs_per_block", "node_cpu_percent", "node_peak_rss_mb",
                "disk_bytes_per_tx", "sync_tps"):  # fmt: skip
        assert key in result, key
    assert set(result["latency_ms"]) == {"p50", "p95", "p99"}
    assert result["validators"] == 4 and len(result["node_peak_rss_mb"]) == 4
    assert result["committed"] == result["submitted"] > 0
    assert result["committed_tps"] > 0 and result["verify_per_core"] > 0
    assert result["sync_tps"] > 0 and result["sync_blocks"] > 0 and result["sync_verify_tps"] > 0
    assert result["sync_start_s"] > 0
    # --verify-threads reaches every validator's config (the sync node, node4, is no validator)
    assert result["verify_threads"] == 2
    for i in range(4):
        assert "verify_threads = 2" in (home / f"devnet/node{i}/config.toml").read_text()
    # The second catch-up checked every signature: its node's config said so.
    assert "verify_tx_signatures = true" in (home / "devnet/node4/config.toml").read_text()


def test_bench_rejects_a_bad_rate() -> None:
    assert "--rate" in _refused("--rate", "fast")


@pytest.mark.slow
def test_points_bench_reports_committed_awards() -> None:
    # 6 s, not 3: at saturation two validators on two cores commit a block of ~4,000 transfers
    # every ~2.4 s, and a 3 s run's steady window (after its first 0.6 s) could hold none, so
    # the transfer figures were None (one CI run of 2026-12-03; 82.9 tx/s from a single block in
    # two of three runs by hand)
    cmd = [sys.executable, "-P", "-m", "carbon_ticket.cli", "bench", "--workload", "points",
           "--validators", "2", "--duration", "6", "--accounts", "200", "--json"]  # fmt: skip
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["txs_committed"] > 0 and result["awards_rejected"] == 0
    # every award of every committed transaction applied, and the figure counts awards
    assert result["awards_applied"] == result["txs_committed"] * result["awards_per_tx"]
    assert result["committed_awards_per_s"] > result["committed_txs_per_s"]
    assert result["steady_awards_per_s"] > 0 and len(result["node_cpu_percent"]) == 2
    assert result["node_cpu_us_per_award"] > 0 and result["transfer_node_cpu_us_per_tx"] > 0
    assert result["blocks_per_s"] > 0 and result["txs_per_block"] > 0
    # the transfer saturation phase of the same invocation, and the ratio of the two
    transfers = result["transfers"]
    assert transfers["offered"] == "max" and transfers["validators"] == 2
    assert transfers["committed"] > 0 and result["transfer_tps"] > 0
    ratio = result["steady_awards_per_s"] / transfers["committed_tps"]
    assert result["awards_per_transfer_ratio"] == round(ratio, 2)


def test_points_bench_refuses_a_rate() -> None:
    assert "no --rate" in _refused("--workload", "points", "--rate", "10")


@pytest.mark.slow
def test_bench_half_rate_over_a_simulated_wan_reports_both_runs() -> None:
    # 8 s: with 200 ms round trips and 1 % of messages lost, a block can take seconds on a busy
    # machine, and the half run must see at least one in its window.
    cmd = [sys.executable, "-P", "-m", "carbon_ticket.cli", "bench", "--validators", "4",
           "--duration", "8", "--rate", "half", "--accounts", "64", "--wan-rtt-ms", "200",
           "--wan-loss", "0.01", "--json"]  # fmt: skip
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    saturation, half = result["saturation"], result["half"]
    assert saturation["offered"] == "max" and saturation["committed"] > 0
    assert half["offered"] == f"{max(saturation['committed_tps'] / 2, 1.0):g} tx/s"
    assert half["committed"] > 0
    for run in (saturation, half):
        assert run["wan_rtt_ms"] == 200 and run["wan_loss"] == 0.01
        # A commit needs a proposal and two vote rounds to cross the links: at least one round
        # trip, so a lower figure would mean the links were not slowed at all.
        assert run["latency_ms"]["p50"] >= 200


@pytest.mark.parametrize(
    ("option", "value"), [("--wan-loss", "1"), ("--wan-loss", "-0.1"), ("--wan-rtt-ms", "-5")]
)
def test_bench_rejects_impossible_wan_links(option: str, value: str) -> None:
    assert option in _refused(option, value)
