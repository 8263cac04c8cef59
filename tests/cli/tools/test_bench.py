"""The benchmark command runs end to end and reports every figure (values are not judged here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_bench_json_reports_every_figure() -> None:
    cmd = [sys.executable, "-P", "-m", "carbon_ticket.cli", "bench", "--validators", "4",
           "--duration", "4", "--rate", "150", "--accounts", "64", "--sync", "--json"]  # fmt: skip
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
    assert result["sync_tps"] > 0 and result["sync_blocks"] > 0


def test_bench_rejects_a_bad_rate() -> None:
    cmd = [sys.executable, "-P", "-m", "carbon_ticket.cli", "bench", "--rate", "fast"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "--rate" in done.stderr


def test_points_bench_reports_committed_awards() -> None:
    cmd = [sys.executable, "-P", "-m", "carbon_ticket.cli", "bench", "--workload", "points",
           "--validators", "2", "--duration", "3", "--accounts", "200", "--json"]  # fmt: skip
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["txs_committed"] > 0 and result["awards_rejected"] == 0
    # every award of every committed transaction applied, and the figure counts awards
    assert result["awards_applied"] == result["txs_committed"] * result["awards_per_tx"]
    assert result["committed_awards_per_s"] > result["committed_txs_per_s"]


def test_points_bench_refuses_a_rate() -> None:
    cmd = [sys.executable, "-P", "-m", "carbon_ticket.cli", "bench", "--workload", "points",
           "--rate", "10"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "no --rate" in done.stderr
