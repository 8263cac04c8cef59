"""The residents' side as its users meet it through the CLI (issue 15): the app's backend
awarding points from a spreadsheet's CSV and reading which awards were refused, a resident
exchanging and redeeming points and seeing what is left, a merchant reading an offer's price and
its settlement in tCO2e. On the shared devnet, with a fresh resident per test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from carbon_ticket.chain.amounts import format_tco2e
from carbon_ticket.chain.crypto import POINTS_FLOAT_ADDRESS, PrivateKey
from carbon_ticket.cli.keystore import Keystore
from carbon_ticket.cli.residents_cmds import read_awards_csv
from carbon_ticket.cli.tools.devnet import DevnetInfo
from tests.cli.harness import issue_fresh_batch, running_devnet
from tests.cli.test_residents_tx import T, chain_day, ok, refused, run, signed_by, unique


def fresh_resident(info: DevnetInfo) -> str:
    """A new resident account with its key in the devnet wallet; returns the key's name."""
    key = PrivateKey.generate()
    name = f"resident-{key.address[-8:]}"
    Keystore(info.wallet_dir).add(name, key, info.wallet_password)
    ok("tx", "register-account", key.address, "--kind", "resident",
       *signed_by(info, "registrar"))  # fmt: skip
    return name


def award_rows(*rows: str) -> str:
    return "recipient,activity,day,points,ref,evidence_hash\n" + "".join(f"{r}\n" for r in rows)


# ---------------------------------------------------------------- the app's backend: awards


def test_a_csv_saved_by_a_spreadsheet_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    address = PrivateKey.generate().address
    path = tmp_path / "awards.csv"
    text = award_rows(f"{address},walk,20261130,12,app-1").replace("\n", "\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert [(a.recipient, a.points) for a in read_awards_csv(path)] == [(address, 12)]


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("@resident,walk,20261130,x,r", "on line 3 of {path}: invalid points 'x'"),
        ("@resident,jog,20261130,1,r", "on line 3 of {path}: invalid activity 'jog'"),
        ("ct1abc,walk,20261130,1,r", "on line 3 of {path}: invalid address 'ct1abc'"),
        ("@resident;walk;20261130;1;r", "write the columns recipient,activity,day,points,ref"),
    ],
)
def test_a_bad_row_in_an_awards_file_is_refused_naming_its_line(
    shared_devnet: DevnetInfo, tmp_path: Path, row: str, fragment: str
) -> None:
    path = tmp_path / "awards.csv"
    path.write_text(award_rows("@resident,walk,20261130,1,fine", row))
    result = run("tx", "award-points", "--file", str(path),
                 *signed_by(shared_devnet, "points-operator"))  # fmt: skip
    refused(result, 2, fragment.format(path=path))


def test_an_awards_file_with_only_its_header_says_so(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    path = tmp_path / "awards.csv"
    path.write_text(award_rows())
    result = run("tx", "award-points", "--file", str(path),
                 *signed_by(shared_devnet, "points-operator"))  # fmt: skip
    refused(result, 2, f"no awards in {path}")


def test_two_awards_sharing_a_reference_are_bad_input_naming_both(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    ref, day = unique("twice"), chain_day(1)
    path = tmp_path / "awards.csv"
    path.write_text(award_rows(f"@resident,cycle,{day},2,{ref}"))
    result = run("tx", "award-points", "--award", f"@resident:walk:{day}:1:{ref}",
                 "--file", str(path), *signed_by(shared_devnet, "points-operator"))  # fmt: skip
    refused(result, 2, "[duplicate_ref]", f"on line 2 of {path}", "--award '@resident:walk")


def test_the_table_lists_each_refused_award_with_where_it_was_written(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    info, day = shared_devnet, chain_day(1)
    resident = fresh_resident(info)
    path = tmp_path / "awards.csv"
    path.write_text(award_rows(
        f"@{resident},walk,{day},30,{unique('j')}",
        f"@issuer,walk,{day},5,{unique('j')}",
        f"@{resident},cycle,{chain_day(-3)},5,{unique('j')}",
    ))  # fmt: skip
    award = f"@{resident}:tree-planting:{day}:20:{unique('j')}"
    result = run("tx", "award-points", "--award", award, "--file", str(path),
                 *signed_by(info, "points-operator"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 of 4 awards applied (50 points); 2 refused:" in result.output
    assert f"award 2 (on line 3 of {path}): not_resident" in result.output
    assert f"award 3 (on line 4 of {path}): day_in_future" in result.output


# ---------------------------------------------------------------- a resident: points left


@pytest.fixture(scope="module")
def funded_float(shared_devnet: DevnetInfo) -> str:
    """A fresh batch, 1 tCO2e of it in the points float. Its id sorts after the float's batch
    of test_residents_tx, whose exchanges name no batch (the float pays in batch-id order)."""
    batch_id = issue_fresh_batch(shared_devnet, "CN15-RZ", 100 * T)
    ok("tx", "transfer", "--to", POINTS_FLOAT_ADDRESS, "--batch", batch_id, "--amount", "1",
       *signed_by(shared_devnet, "issuer"))  # fmt: skip
    return batch_id


def test_an_exchange_and_a_points_redemption_show_the_points_left(
    shared_devnet: DevnetInfo, funded_float: str
) -> None:
    info = shared_devnet
    resident = fresh_resident(info)
    ok("tx", "award-points", "--award", f"@{resident}:walk:{chain_day(1)}:300:{unique('pl')}",
       *signed_by(info, "points-operator"))  # fmt: skip
    # 10 points a gram: 10 g cost 100 of the 300
    data = ok("tx", "exchange-points", "--grams", "10", "--batch", funded_float,
              *signed_by(info, resident))  # fmt: skip
    assert data["points_balance"] == 200
    offer = unique("pl-tea")
    ok("tx", "register-offer", offer, "--description", "Tea", "--discount", "free tea",
       "--points", "50", "--valid", f"{chain_day(0)}-{chain_day(-5)}", "--max-redemptions", "9",
       *signed_by(info, "merchant"))  # fmt: skip
    table = run("tx", "redeem", "@merchant", offer, "--voucher", unique("pl-v"),
                *signed_by(info, resident))  # fmt: skip
    assert table.exit_code == 0, table.output
    assert [line.split() for line in table.output.splitlines() if "points_balance" in line] == [
        ["points_balance", "150"]
    ]
    got: dict[str, Any] = json.loads(
        run("query", "points", f"@{resident}", *signed_by(info, resident)[:4], "-o", "json").output
    )
    assert got["balance"] == 150


# ---------------------------------------------------------------- a merchant: prices in tCO2e


def test_an_offer_in_tickets_is_priced_and_settled_in_tco2e(
    shared_devnet: DevnetInfo, funded_float: str
) -> None:
    info, today = shared_devnet, chain_day(0)
    node = signed_by(info, "merchant")[:4]
    resident = fresh_resident(info)
    ok("tx", "award-points", "--award", f"@{resident}:cycle:{chain_day(1)}:400:{unique('mt')}",
       *signed_by(info, "points-operator"))  # fmt: skip
    ok("tx", "exchange-points", "--amount", "0.00003", "--batch", funded_float,
       *signed_by(info, resident))  # fmt: skip
    offer = unique("mt-bike")
    ok("tx", "register-offer", offer, "--description", "Bicycle service", "--discount", "20% off",
       "--amount", "0.000025", "--valid", f"{today}-{today}", "--max-redemptions", "2",
       *signed_by(info, "merchant"))  # fmt: skip
    listed = json.loads(run("query", "offers", "@merchant", *node, "-o", "json").output)
    (mine,) = [o for o in listed if o["offer_id"] == offer]
    assert (mine["payment"], mine["amount"], mine["amount_tco2e"]) == ("grams", 25, "0.000025")
    table = run("query", "offers", "@merchant", *node).output
    (row,) = [line for line in table.splitlines() if f"offer_id={offer} " in line]
    assert "amount=0.000025 tCO2e" in row
    ok("tx", "redeem", "@merchant", offer, "--voucher", unique("mt-v"), "--batch", funded_float,
       *signed_by(info, resident))  # fmt: skip
    got = json.loads(run("query", "merchant", "@merchant", "--from", today, "--to", today, *node,
                         "-o", "json").output)  # fmt: skip
    for totals in (got["total"], got["period"], got["days"][-1]["totals"]):
        assert totals["tco2e"] == format_tco2e(totals["grams"])
    assert [o["amount_tco2e"] for o in got["offers"] if o["offer_id"] == offer] == ["0.000025"]
    table = run("query", "merchant", "@merchant", "--from", today, "--to", today, *node).output
    assert f"tco2e        {got['period']['tco2e']}" in table


@pytest.mark.parametrize(
    ("command", "days", "fragment"),
    [
        (("query", "points-totals"), ("--from", "20261301"), "invalid --from '20261301'"),
        (("query", "points-totals"), ("--from", "20261203", "--to", "20261201"), "is after --to"),
        (("query", "points-totals"), ("--from", "20250101", "--to", "20261203"), "at most 366"),
        (("query", "merchant", "@merchant"), ("--to", "20260230"), "invalid --to '20260230'"),
        (("query", "merchant", "@merchant"), ("--from", "20261203", "--to", "20261201"),
         "is after --to"),
    ],
)  # fmt: skip
def test_a_query_period_that_is_no_calendar_period_is_bad_input(
    shared_devnet: DevnetInfo, command: tuple[str, ...], days: tuple[str, ...], fragment: str
) -> None:
    result = run(*command, *days, *signed_by(shared_devnet, "merchant")[:4])
    refused(result, 2, fragment)


def test_the_demo_shows_tickets_in_tco2e(tmp_path: Path) -> None:
    # Its own devnet: the demo puts a batch in the float, which pays exchanges in batch-id order
    with running_devnet(tmp_path / "devnet") as (info, _node):
        played = run("demo", "--home", str(info.home), "--story", "residents")
    assert played.exit_code == 0, played.output
    assert "exchanges 1,000 points for 0.0001 tCO2e of tickets" in played.output
    assert "20% off a bicycle service for 0.0001 tCO2e" in played.output
    settlement = played.output.split("merchant's settlement", 1)[1]
    assert "amount=0.0001 tCO2e" in settlement and "tco2e=0.0001" in settlement


def test_redemptions_of_a_merchant_say_where_a_merchant_reads_them(
    shared_devnet: DevnetInfo,
) -> None:
    info = shared_devnet
    node = signed_by(info, "merchant")[:4]
    merchant = run("query", "redemptions", "@merchant", *node)
    refused(merchant, 2, "is a merchant account", "carbon-ticket query merchant ct1",
            "[not_resident]")  # fmt: skip
    refused(run("query", "redemptions", "@issuer", *node, "-o", "json"), 2, "a bureau account")
    # A resident who redeemed nothing yet is no error
    none = run("query", "redemptions", f"@{fresh_resident(info)}", *node)
    assert none.exit_code == 0 and none.output.startswith("0 redemptions in all"), none.output
