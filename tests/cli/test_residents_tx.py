"""The residents' transactions through the CLI (issue 15): award-points (many awards, one
outcome each), exchange-points out of the funded float, register-offer and redeem, and the
refusals of bad input, on the shared one-validator devnet."""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from carbon_ticket.chain.crypto import POINTS_FLOAT_ADDRESS, PrivateKey
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.residents_cmds import parse_award, read_awards_csv
from carbon_ticket.cli.tools.devnet import DEVNET_POINTS_DAILY_CAP, DevnetInfo
from carbon_ticket.proto import ledger_pb2
from tests.cli.harness import issue_fresh_batch, wallet_keys

T = 1_000_000
VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)


def run(*args: str) -> Result:
    env = {"CARBON_TICKET_PASSWORD": "devnet", "CARBON_TICKET_CONNECT_TIMEOUT": "1",
           "CARBON_TICKET_CONFIG": None, "CARBON_TICKET_NODE": None}  # fmt: skip
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def signed_by(info: DevnetInfo, key: str) -> list[str]:
    return ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir), "-k", key]


def ok(*args: str) -> dict[str, Any]:
    result = run(*args, "-o", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    assert data["receipt"]["code"] == 0, data
    return data


def refused(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    for fragment in fragments:
        assert fragment in result.output


def chain_day(days_ago: int = 0) -> str:
    """A day in the devnet chain's time zone (UTC+8), ``days_ago`` before today there."""
    local = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=8, days=-days_ago)
    return local.strftime("%Y%m%d")


def events(data: dict[str, Any], kind: str) -> list[dict[str, str]]:
    return [e for e in data["receipt"]["events"] if e["type"] == kind]


def unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}"


@pytest.fixture(scope="module")
def float_batch(shared_devnet: DevnetInfo) -> str:
    """A batch issued to the devnet issuer, 50 tCO2e of it transferred into the points float."""
    batch_id = issue_fresh_batch(shared_devnet, "CN15-RS", 1000 * T)
    ok("tx", "transfer", "--to", POINTS_FLOAT_ADDRESS, "--batch", batch_id, "--amount", "50",
       *signed_by(shared_devnet, "issuer"))  # fmt: skip
    return batch_id


def test_one_award_points_tx_carries_many_awards_each_with_its_outcome(
    shared_devnet: DevnetInfo,
) -> None:
    info, day = shared_devnet, chain_day(1)
    data = ok(
        "tx", "award-points",
        "--award", f"@resident:walk:{day}:30:{unique('walk')}",
        "--award", f"@resident:tree-planting:{day}:70:{unique('tree')}:{'ab' * 32}",
        "--award", f"@issuer:cycle:{day}:5:{unique('cycle')}",  # a bureau: only this one fails
        *signed_by(info, "points-operator"),
    )  # fmt: skip
    outcomes = [(a["activity"], a["points"], a["outcome"]) for a in events(data, "award")]
    assert outcomes == [("walk", "30", "ok"), ("tree_planting", "70", "ok"),
                        ("cycle", "5", "not_resident")]  # fmt: skip
    assert events(data, "award")[1]["evidence_hash"] == "ab" * 32
    assert events(data, "award_points")[0]["applied"] == "2"


def test_awards_from_a_csv_file_and_the_daily_cap(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    info, day = shared_devnet, chain_day(2)
    awards = tmp_path / "awards.csv"
    awards.write_text(
        "recipient,activity,day,points,ref,evidence_hash\n"
        f"@resident,cycle,{day},{DEVNET_POINTS_DAILY_CAP - 1},{unique('csv:a')},\n"
        "\n"
        f"@resident,walk,{day},1,{unique('csv:b')}\n"
    )
    data = ok("tx", "award-points", "--file", str(awards), *signed_by(info, "points-operator"))
    assert [a["outcome"] for a in events(data, "award")] == ["ok", "ok"]
    # The day is full: one more point is refused before signing, with the ledger's code
    over = run("tx", "award-points", "--award", f"@resident:walk:{day}:1:{unique('over')}",
               *signed_by(info, "points-operator"))  # fmt: skip
    refused(over, 3, "refused before signing", "daily cap", "[daily_cap_exceeded]")


def test_award_refusals_name_the_rule(shared_devnet: DevnetInfo) -> None:
    info, ref = shared_devnet, unique("dup")
    operator = signed_by(info, "points-operator")
    ok("tx", "award-points", "--award", f"@resident:walk:{chain_day(3)}:1:{ref}", *operator)
    cases = [
        (f"@resident:walk:{chain_day(3)}:1:{ref}", operator, "[duplicate_ref]"),
        (f"@resident:walk:{chain_day(-2)}:1:{unique('f')}", operator, "[day_in_future]"),
        (f"@resident:walk:{chain_day(30)}:1:{unique('o')}", operator, "[day_too_old]"),
        (f"@resident:walk:{chain_day(3)}:1:{unique('r')}", signed_by(info, "merchant"),
         "[missing_role]"),
    ]  # fmt: skip
    for award, signer, code in cases:
        refused(run("tx", "award-points", "--award", award, *signer), 3, code)


@pytest.mark.parametrize(
    ("award", "fragment"),
    [
        ("@resident:walk:20260101:1", "RESIDENT:ACTIVITY:DAY:POINTS:REF"),
        ("@resident:jog:20260101:1:r", "invalid activity 'jog'"),
        ("@resident:walk:20260230:1:r", "invalid day '20260230'"),
        ("@resident:walk:20260101:0:r", "invalid points '0'"),
        ("@resident:walk:20260101:-1:r", "invalid points '-1'"),
        ("@resident:walk:20260101:1: ", "external reference is empty"),
        ("@resident:walk:20260101:1:r:zz", "invalid evidence hash"),
    ],
)
def test_malformed_awards_are_bad_input(
    shared_devnet: DevnetInfo, award: str, fragment: str
) -> None:
    result = run(
        "tx", "award-points", "--award", award, *signed_by(shared_devnet, "points-operator")
    )
    refused(result, 2, fragment)


def test_award_parsing_without_a_node(tmp_path: Path) -> None:
    address = PrivateKey.generate().address
    award = parse_award(f"{address}:forest-grassland-protection:20261130:12:app-1")
    got = (award.recipient, award.activity, award.day, award.points, award.external_ref)
    kind = ledger_pb2.ACTIVITY_FOREST_GRASSLAND_PROTECTION
    assert got == (address, kind, 20261130, 12, "app-1")
    path = tmp_path / "a.csv"
    path.write_text(f'{address},other,20261130,3,"ref:with:colons"\n')
    assert [a.external_ref for a in read_awards_csv(path)] == ["ref:with:colons"]


def test_exchange_then_redeem_tickets_and_points_at_a_merchant(
    shared_devnet: DevnetInfo, float_batch: str
) -> None:
    info = shared_devnet
    resident = signed_by(info, "resident")
    ok("tx", "award-points", "--award", f"@resident:cycle:{chain_day(4)}:400:{unique('ex')}",
       *signed_by(info, "points-operator"))  # fmt: skip
    # 10 points a gram (the default rate): 20 grams take 200 points out of the float
    data = ok("tx", "exchange-points", "--grams", "20", *resident)
    assert data["receipt"]["code"] == 0
    refused(run("tx", "exchange-points", "--amount", "1", *resident), 3, "refused before signing")
    refused(run("tx", "exchange-points", *resident), 2, "exactly one of --amount")
    # A merchant's offer paid in tickets retires them with a certificate naming the resident
    merchant = signed_by(info, "merchant")
    offer, points_offer = unique("bike"), unique("tea")
    valid = f"{chain_day(1)}-{chain_day(-30)}"
    ok("tx", "register-offer", offer, "--description", "Bicycle service",
       "--discount", "10% off", "--grams", "15", "--valid", valid, "--max-redemptions", "1",
       *merchant)  # fmt: skip
    ok("tx", "register-offer", points_offer, "--description", "Tea", "--discount", "1 free tea",
       "--points", "50", "--valid", valid, "--max-redemptions", "100", *merchant)  # fmt: skip
    voucher = unique("v")
    data = ok("tx", "redeem", "@merchant", offer, "--voucher", voucher, "--batch", float_batch,
              *resident)  # fmt: skip
    (redeemed,) = events(data, "redeem")
    assert redeemed["payment"] == "grams" and redeemed["certificate_id"]
    assert (redeemed["resident"], redeemed["offer_id"]) == (
        wallet_keys(info)["resident"].address,
        offer,
    )
    data = ok("tx", "redeem", "@merchant", points_offer, "--voucher", unique("v"), *resident)
    assert events(data, "redeem")[0]["payment"] == "points"
    # An exhausted offer, a repeated voucher, an offer by a non-merchant: each one clear refusal
    again = run("tx", "redeem", "@merchant", offer, "--voucher", unique("v"), "--batch",
                float_batch, *resident)  # fmt: skip
    refused(again, 3, "refused before signing")
    repeated = run("tx", "redeem", "@merchant", points_offer, "--voucher", voucher, *resident)
    refused(repeated, 3, "refused before signing")
    offer_args = ("tx", "register-offer", unique("x"), "--description", "d", "--discount", "d",
                  "--valid", valid, "--max-redemptions", "1")  # fmt: skip
    refused(run(*offer_args, "--points", "1", *resident), 3, "[missing_role]")
    refused(run(*offer_args, *merchant), 2, "exactly one of --grams and --points")


def test_query_points_offers_and_merchant(shared_devnet: DevnetInfo, float_batch: str) -> None:
    info = shared_devnet
    node = ("--node", info.endpoints[0], "--keystore", str(info.wallet_dir))
    today = chain_day(0)
    ok("tx", "award-points", "--award", f"@resident:walk:{today}:7:{unique('q')}",
       *signed_by(info, "points-operator"))  # fmt: skip
    result = run("query", "points", "@resident", *node, "-o", "json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert got["today"] == int(today) and got["earned_today"] >= 7
    assert got["daily_cap"] == DEVNET_POINTS_DAILY_CAP
    assert got["remaining_today"] == DEVNET_POINTS_DAILY_CAP - got["earned_today"]
    assert got["balance"] == got["awarded"] - got["exchanged"] - got["redeemed"]
    assert got["history"][0]["day"] == int(today)
    table = run("query", "points", "@resident", *node)
    assert table.exit_code == 0 and "earned_today" in table.output, table.output
    offer = unique("q-offer")
    ok("tx", "register-offer", offer, "--description", "Cinema", "--discount", "half price",
       "--points", "5", "--valid", f"{today}-{today}", "--max-redemptions", "3",
       *signed_by(info, "merchant"))  # fmt: skip
    ok("tx", "redeem", "@merchant", offer, "--voucher", unique("qv"), *signed_by(info, "resident"))
    result = run("query", "offers", "@merchant", *node, "-o", "json")
    assert result.exit_code == 0, result.output
    mine = [o for o in json.loads(result.output) if o["offer_id"] == offer]
    assert mine and mine[0]["redemptions"] == 1
    result = run("query", "merchant", "@merchant", "--from", today, "--to", today, *node,
                 "-o", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert got["period"]["redemptions"] >= 1 and got["period"]["points"] >= 5
    assert got["total"]["redemptions"] >= got["period"]["redemptions"]
    assert [d["day"] for d in got["days"]] == [int(today)]
    unknown = PrivateKey.generate().address
    refused(run("query", "points", unknown, *node), 3, "[unknown_account]")


def test_a_resident_is_registered_without_a_name_and_a_company_is_not(
    shared_devnet: DevnetInfo,
) -> None:
    registrar = signed_by(shared_devnet, "registrar")
    address = PrivateKey.generate().address
    data = ok("tx", "register-account", address, "--kind", "resident", *registrar)
    assert data["receipt"]["events"][0]["name"] == ""
    company = run("tx", "register-account", PrivateKey.generate().address, *registrar)
    refused(company, 2, "--name is required for a company account")
