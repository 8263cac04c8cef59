"""Queries and paced commits on a kept benchmark store: every figure reported, the store grows
by the paced blocks between existing accounts only.

Figures are not judged here (no test asserts a time); only that each is reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from carbon_ticket.cli.tools import bench_storage, bench_store_queries
from carbon_ticket.cli.tools.bench_store_queries import PacedFigures, QueryFigures
from carbon_ticket.node.store import LevelDBStore


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("kept") / "store"
    argv = ["--txs-per-block", "50", "--blocks", "2", "--accounts", "300", "--transfers", "400"]
    assert bench_storage.main([*argv, "--checkpoints", "1", "--keep", "--dir", str(store)]) == 0
    return store


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert bench_store_queries.main([*argv, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_counts_the_filler_accounts(kept: Path) -> None:
    with LevelDBStore.open(kept, chain_id=bench_storage.CHAIN_ID) as store:
        # 300 accounts: 50 signers and the busy one from phase 1, then the fillers
        assert bench_store_queries.registered_fillers(store) == 300 - 51


def test_queries_then_paced_commits_report_every_field(
    kept: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LevelDBStore.open(kept, chain_id=bench_storage.CHAIN_ID) as store:
        height = store.height
    queries, paced = run_json(
        capsys, "--dir", str(kept), "--queries", "40", "--pace", "100000", "--pace-blocks", "3",
        "--txs-per-block", "20", "--reads-per-block", "5", "--no-warm-tables", "--nonce-twice",
    )  # fmt: skip
    assert queries["phase"] == "queries" and paced["phase"] == "paced"
    assert (queries["warm_tables"], queries["nonce_twice"]) == (False, True)
    for figures, row in ((QueryFigures, queries), (PacedFigures, paced)):
        for name in figures.__dataclass_fields__:
            assert isinstance(row[name], (int, float)) and row[name] >= 0, name
    assert queries["queries"] == 40 and queries["account_ms_p50"] > 0
    assert 0 <= queries["preempted_share"] <= 1 and paced["commit_ms_p50"] > 0
    with LevelDBStore.open(kept, chain_id=bench_storage.CHAIN_ID) as store:
        assert store.height == height + 3
        assert bench_store_queries.registered_fillers(store) == 300 - 51  # nobody new


def test_the_node_query_and_the_old_one_answer_alike(kept: Path) -> None:
    with LevelDBStore.open(kept, chain_id=bench_storage.CHAIN_ID) as store:
        pending = bench_store_queries.empty_mempool(store)
        for n in range(0, 249, 31):
            address = bench_storage.filler_address(n)
            assert bench_store_queries.account_info(
                store, pending, address
            ) == bench_store_queries.nonce_twice(store, pending, address)


def test_a_directory_without_a_store_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        bench_store_queries.main(["--dir", str(tmp_path)])
    assert exit_info.value.code == 2 and "holds no store" in capsys.readouterr().err
