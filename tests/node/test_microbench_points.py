"""The microbenchmarks of awards and admission run and report (figures are never judged here)."""

from __future__ import annotations

import re

import pytest

from tests.node import microbench_admit, microbench_points, microbench_reads


def test_microbench_points_reports_both_workloads_and_their_ratio(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--residents", "20", "--blocks", "2", "--txs-per-block", "3", "--awards-per-tx", "5",
            "--transfers-per-block", "15", "--profile", "awards"]  # fmt: skip
    assert microbench_points.main(argv) == 0
    out = capsys.readouterr().out
    assert "30 awards in 2 blocks of 3 x 5; 30 transfers in 2 blocks of 15" in out
    for unit in ("award", "transfer"):
        pattern = (rf"^{unit}\s+admit\s+([\d.]+)\s+propose\s+([\d.]+)\s+validate\s+([\d.]+)"
                   rf"\s+commit\s+([\d.]+)\s+validator\s+([\d.]+) us$")  # fmt: skip
        line = re.search(pattern, out, re.M)
        assert line is not None, out
        admit, _, validate, commit, share = (float(g) for g in line.groups())
        assert share == pytest.approx(admit + validate + commit, abs=0.2)
    assert re.search(r"ratio \(transfer / award, a validator's share\): [\d.]+", out)
    assert "process_award_points" in out  # the profile of the awards' steps


def test_every_measured_block_commits_everything_it_was_given() -> None:
    setup, blocks = microbench_points._award_blocks(residents=4, blocks=2, per_block=2, per_tx=3)
    seconds = microbench_points.measure(setup, blocks)
    assert set(seconds) == set(microbench_points.STEPS)
    assert all(s >= 0 for s in seconds.values())


def test_microbench_reads_reports_pages_and_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--residents", "10", "--blocks", "2", "--txs-per-block", "3", "--awards-per-tx", "10",
            "--rounds", "1"]  # fmt: skip
    assert microbench_reads.main(argv) == 0
    out = capsys.readouterr().out
    pattern = (r"^history, 100 entries: before [\d.]+ ms \(7 items, [\d.]+ MB\); now 7 items "
               r"\([\d.]+ MB, token -\) cold [\d.]+ ms, kept [\d.]+ ms \| GetBlock \(3 txs, "
               r"33 events\): from the store [\d.]+ ms, from the commit [\d.]+ ms, shared "
               r"[\d.]+ ms, without receipts [\d.]+ ms \| SubscribeEvents, 8 streams, that block: "
               r"alone [\d.]+ ms, "
               r"shared \(from the commit\) [\d.]+ ms$")  # fmt: skip
    assert re.search(pattern, out, re.M), out  # 6 award txs and the registration


def test_microbench_admit_reports_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert microbench_admit.main(["--transfers", "20", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    for step in ("parse", "id", "signature set", "ed25519", "decode_tx", "message", "check_tx",
                 "admit", "pool's own"):  # fmt: skip
        assert re.search(rf"^{re.escape(step)}\s+-?[\d.]+$", out, re.M), out
    assert re.search(r"^the signature's share of admission: [\d.]+$", out, re.M), out
