"""The storage benchmark runs at tiny sizes, reports every row and field, writes the node's keys.

Figures are not judged here (no test asserts a time); only that each is reported.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from carbon_ticket.chain import keys
from carbon_ticket.chain.state import get_account, get_balances
from carbon_ticket.cli.tools import bench_storage
from carbon_ticket.cli.tools.bench_storage import TARGET, FillPlan, Row, filler_address, main
from carbon_ticket.node.store import LevelDBStore

TINY = ["--txs-per-block", "50", "--blocks", "2"]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    assert main([*TINY, *argv, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_json_reports_every_row_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    lines = run_json(
        capsys, "--accounts", "400", "--transfers", "600", "--checkpoints", "3",
        "--dir", str(store),
    )  # fmt: skip
    assert [line["phase"] for line in lines] == ["signed", "fill", "fill", "fill", "reopen"]
    signed, *rows, reopen = lines
    for key in ("envelope_bytes", "commit_ms_p50", "commit_ms_max",
                "bytes_per_transfer_written", "bytes_per_transfer_compacted"):  # fmt: skip
        assert isinstance(signed[key], (int, float)) and signed[key] > 0, key
    fields = {f.name for f in dataclasses.fields(Row)}
    for row in rows:
        assert set(row) == fields | {"phase"}
        for name in fields - {"fill_s"}:
            assert isinstance(row[name], (int, float)) and row[name] > 0, name
        assert row["rss_anon_bytes"] <= row["rss_bytes"]
    transfers = [row["transfers"] for row in rows]
    assert transfers == sorted(set(transfers))
    # the last row is the end of the fill: the measured transfers plus --transfers, --accounts
    assert rows[-1]["transfers"] == 2 * 50 + 600 and rows[-1]["accounts"] == 400
    for key in ("cold_account_and_page_ms", "page_entries", "account_ms_p50", "account_ms_p99",
                "history_ms_p50", "history_ms_p99", "data_bytes", "peak_rss_bytes"):  # fmt: skip
        assert isinstance(reopen[key], (int, float)) and reopen[key] > 0, key
    assert not store.exists()  # removed without --keep


def test_text_prints_the_curve_under_its_header(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TINY, "--accounts", "300", "--transfers", "200", "--checkpoints", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    header = out.index(bench_storage.ROW_HEADER)
    assert len(out[header + 1 : header + 3]) == 2
    assert out[header + 3].startswith("after reopening:")
    assert out[header + 2].split()[:2] == ["300", "300"]  # 100 measured + 200 filler; accounts


def test_default_transfers_stay_half_the_new_accounts(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "--accounts", "351", "--checkpoints", "1")[1:-1]
    # 50 signers and the busy account exist; 300 new accounts, 150 filler transfers
    assert rows[-1]["accounts"] == 351 and rows[-1]["transfers"] == 100 + 150


def test_the_store_holds_what_the_node_writes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store_dir = tmp_path / "store"
    run_json(capsys, "--accounts", "200", "--transfers", "300", "--keep", "--dir", str(store_dir))
    with LevelDBStore.open(store_dir, chain_id=bench_storage.CHAIN_ID) as store:
        # every filler account is registered as register_account registers it
        for n in range(200 - 51):
            assert get_account(store, filler_address(n)).nonce >= 0
        busy = get_account(store, TARGET)
        assert busy.account.address == TARGET and busy.account.kind == "resident"
        assert get_balances(store, TARGET) == {
            bench_storage.BATCH: keys.decode_u64(
                store.get(keys.balance_key(TARGET, bench_storage.BATCH)) or b""
            )
        }
        # the busy account received one transfer per block, each in its history and receipts
        history = store.account_history(TARGET, 1000)
        assert len(history) == store.height
        loc = store.get_tx_at(history[0].height, history[0].index)
        assert loc is not None and loc.result.events[0].type == "transfer"
        assert dict(loc.result.events[0].attributes)["to"] == TARGET
        assert store.get_tx(loc.tx_hash) is not None
        assert store.batch_history(bench_storage.BATCH, 1000)


def test_the_fill_spreads_registrations_over_the_transfers() -> None:
    plan = FillPlan(transfers=1000, registrations=250, per_block=100, checkpoints=4)
    assert plan.marks() == [250, 500, 750, 1000]
    assert plan.registered_after(0) == 25  # one block ahead: the first block has senders
    assert plan.registered_after(900) == plan.registered_after(1000) == 250
    counts = [plan.registered_after(done) for done in range(0, 1000, 100)]
    assert counts == sorted(counts)


def test_zero_transfers_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--transfers", "0"])
    assert exit_info.value.code == 2 and "--transfers" in capsys.readouterr().err


def test_a_run_without_dir_leaves_no_temporary_directory_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the store inside the temporary directory was removed, the directory was not.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main([*TINY, "--accounts", "300", "--transfers", "200", "--checkpoints", "1"]) == 0
    assert list(tmp_path.iterdir()) == []
