"""A resident's redemptions and the points totals per operator (issue 15) on the shared devnet:
the gRPC calls (ListRedemptions, GetPointsTotals) with their errors, and the CLI's table and
``-o json``. Other modules use the same resident and operator, so counts are compared before and
after, never assumed."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.node.errors import ERROR_CODE_KEY
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.cli.harness import issue_fresh_batch, stub_for, wallet_keys
from tests.cli.test_residents_tx import T, chain_day, ok, run, signed_by, unique


def address_of(info: DevnetInfo, name: str) -> str:
    key: Any = wallet_keys(info)[name]
    return str(key.address)


def rpc_error(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    exc: Any = caught.value
    return exc.code(), dict(exc.trailing_metadata() or ())[ERROR_CODE_KEY]


def cli_json(*args: str) -> Any:
    result = run(*args, "-o", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def two_redemptions(shared_devnet: DevnetInfo) -> tuple[str, str, int]:
    """The resident redeems a ticket offer, then a points offer; returns both vouchers and the
    resident's redemption count before them."""
    info = shared_devnet
    with stub_for(info.endpoints[0]) as stub:
        request = services_pb2.ListRedemptionsRequest(resident=address_of(info, "resident"))
        before = stub.ListRedemptions(request, timeout=10).count
    batch_id = issue_fresh_batch(info, "CN15-RQ", 10 * T)
    ok("tx", "transfer", "--to", "@resident", "--batch", batch_id, "--amount", "0.001",
       *signed_by(info, "issuer"))  # fmt: skip
    ok("tx", "award-points", "--award", f"@resident:forest-adoption:{chain_day(5)}:40:"
       f"{unique('rq')}", *signed_by(info, "points-operator"))  # fmt: skip
    merchant = signed_by(info, "merchant")
    valid = f"{chain_day(1)}-{chain_day(-30)}"
    tickets, points = unique("rq-bike"), unique("rq-tea")
    ok("tx", "register-offer", tickets, "--description", "Bell", "--discount", "free bell",
       "--grams", "25", "--valid", valid, "--max-redemptions", "5", *merchant)  # fmt: skip
    ok("tx", "register-offer", points, "--description", "Tea", "--discount", "free tea",
       "--points", "30", "--valid", valid, "--max-redemptions", "5", *merchant)  # fmt: skip
    resident = signed_by(info, "resident")
    first, second = unique("rq-v1"), unique("rq-v2")
    ok("tx", "redeem", "@merchant", tickets, "--voucher", first, "--batch", batch_id, *resident)
    ok("tx", "redeem", "@merchant", points, "--voucher", second, *resident)
    return first, second, before


def test_list_redemptions_pages_newest_first_with_the_certificate(
    shared_devnet: DevnetInfo, two_redemptions: tuple[str, str, int]
) -> None:
    info = shared_devnet
    first, second, before = two_redemptions
    resident = address_of(info, "resident")
    with stub_for(info.endpoints[0]) as stub:
        request = services_pb2.ListRedemptionsRequest(resident=resident, page_size=1)
        page = stub.ListRedemptions(request, timeout=10)
        assert page.count == before + 2 and page.height > 0
        (newest,) = page.items
        assert (newest.voucher_ref, newest.points, newest.amount_grams) == (second, 30, 0)
        assert newest.certificate_id == "" and newest.resident == resident
        request.page_token = page.next_page_token
        older = stub.ListRedemptions(request, timeout=10)
        (paid,) = older.items
        assert (paid.voucher_ref, paid.amount_grams, paid.points) == (first, 25, 0)
        assert paid.payment == ledger_pb2.OFFER_PAYMENT_GRAMS
        assert paid.merchant == address_of(info, "merchant")
        today = stub.GetPoints(services_pb2.GetPointsRequest(address=resident), timeout=10).today
        assert paid.day in (today, int(chain_day(1)))  # a redemption's day is the chain's day
        certificate = stub.GetCertificate(
            services_pb2.GetCertificateRequest(certificate_id=paid.certificate_id), timeout=10
        )
        assert (certificate.beneficiary, certificate.reason, certificate.amount_grams) == (
            resident, "merchant redemption", 25)  # fmt: skip
        # Errors: an unregistered resident, a token this API never issued
        unknown = services_pb2.ListRedemptionsRequest(resident=PrivateKey.generate().address)
        assert rpc_error(lambda: stub.ListRedemptions(unknown, timeout=10)) == (
            grpc.StatusCode.NOT_FOUND, "unknown_account")  # fmt: skip
        forged = services_pb2.ListRedemptionsRequest(resident=resident, page_token="1.2")
        assert rpc_error(lambda: stub.ListRedemptions(forged, timeout=10)) == (
            grpc.StatusCode.INVALID_ARGUMENT, "bad_page_token")  # fmt: skip


def test_points_and_redemptions_of_an_account_that_is_no_resident_are_refused(
    shared_devnet: DevnetInfo,
) -> None:
    # Reproduction: GetPoints of a bureau answered zeros with the daily cap and what remained of
    # it, as for a resident who earned nothing; ListRedemptions of a merchant an empty page.
    info = shared_devnet
    with stub_for(info.endpoints[0]) as stub:
        for who in ("points-operator", "merchant"):
            address = address_of(info, who)
            points = services_pb2.GetPointsRequest(address=address)
            assert rpc_error(lambda p=points: stub.GetPoints(p, timeout=10)) == (
                grpc.StatusCode.FAILED_PRECONDITION,
                "not_resident",
            )
            redemptions = services_pb2.ListRedemptionsRequest(resident=address)
            assert rpc_error(lambda r=redemptions: stub.ListRedemptions(r, timeout=10)) == (
                grpc.StatusCode.FAILED_PRECONDITION,
                "not_resident",
            )
        resident = services_pb2.GetPointsRequest(address=address_of(info, "resident"))
        assert stub.GetPoints(resident, timeout=10).today > 0


def test_query_redemptions_table_and_json(
    shared_devnet: DevnetInfo, two_redemptions: tuple[str, str, int]
) -> None:
    info = shared_devnet
    first, second, before = two_redemptions
    node = ("--node", info.endpoints[0], "--keystore", str(info.wallet_dir))
    got = cli_json("query", "redemptions", "@resident", "--limit", "2", *node)
    assert [r["voucher_ref"] for r in got["items"]] == [second, first]
    assert got["count"] == before + 2
    assert (got["items"][1]["amount_grams"], got["items"][1]["amount_tco2e"]) == (25, "0.000025")
    assert got["items"][0]["payment"] == "points" and got["items"][0]["points"] == 30
    assert bool(got["next_page_token"]) == (before > 0)
    every = cli_json("query", "redemptions", "@resident", "--limit", "1", "--all", *node)
    assert len(every["items"]) == before + 2 and every["next_page_token"] == ""
    table = run("query", "redemptions", "@resident", "--limit", "2", *node)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].startswith(f"{before + 2} redemptions in all (height ")
    assert lines[1].split() == ["height", "day", "merchant", "offer_id", "voucher_ref", "paid",
                                "certificate_id"]  # fmt: skip
    assert second in lines[2] and "30 points" in lines[2]
    assert first in lines[3] and "0.000025 tCO2e" in lines[3] and "RC-" in lines[3]
    unknown = run("query", "redemptions", PrivateKey.generate().address, *node)
    assert unknown.exit_code == 3 and "[unknown_account]" in unknown.output


def test_points_totals_per_operator_and_activity(
    shared_devnet: DevnetInfo, two_redemptions: tuple[str, str, int]
) -> None:
    info = shared_devnet
    operator = address_of(info, "points-operator")
    day = chain_day(5)
    with stub_for(info.endpoints[0]) as stub:
        request = services_pb2.GetPointsTotalsRequest(operator=operator, from_day=int(day))
        reply = stub.GetPointsTotals(request, timeout=10)
        # The last day defaults to the chain's today (the last block's day, UTC+8)
        resident = services_pb2.GetPointsRequest(address=address_of(info, "resident"))
        today = stub.GetPoints(resident, timeout=10).today
        assert (reply.from_day, reply.to_day) == (int(day), today)
        (mine,) = reply.operators
        forest = ledger_pb2.ACTIVITY_FOREST_ADOPTION
        adoption = [a.points for a in mine.activities if a.activity == forest]
        assert mine.operator == operator and adoption and adoption[0] >= 40
        assert mine.points == sum(a.points for a in mine.activities) >= mine.period_points
        assert mine.period_points == sum(d.points for d in mine.days)
        (first_day,) = [d for d in mine.days if d.day == int(day)]
        assert sum(a.points for a in first_day.activities) == first_day.points >= 40
        every = stub.GetPointsTotals(services_pb2.GetPointsTotalsRequest(), timeout=10)
        assert operator in [o.operator for o in every.operators]
        stranger = services_pb2.GetPointsTotalsRequest(operator=PrivateKey.generate().address)
        assert rpc_error(lambda: stub.GetPointsTotals(stranger, timeout=10)) == (
            grpc.StatusCode.NOT_FOUND, "unknown_account")  # fmt: skip
        backwards = services_pb2.GetPointsTotalsRequest(from_day=20261202, to_day=20261201)
        assert rpc_error(lambda: stub.GetPointsTotals(backwards, timeout=10)) == (
            grpc.StatusCode.INVALID_ARGUMENT, "invalid_period")  # fmt: skip
        too_long = services_pb2.GetPointsTotalsRequest(from_day=20240101, to_day=20261201)
        assert rpc_error(lambda: stub.GetPointsTotals(too_long, timeout=10)) == (
            grpc.StatusCode.INVALID_ARGUMENT, "period_too_long")  # fmt: skip


def test_query_points_totals_table_and_json(
    shared_devnet: DevnetInfo, two_redemptions: tuple[str, str, int]
) -> None:
    info = shared_devnet
    node = ("--node", info.endpoints[0], "--keystore", str(info.wallet_dir))
    day = chain_day(5)
    got = cli_json("query", "points-totals", "@points-operator", "--from", day, *node)
    (mine,) = got["operators"]
    assert mine["operator"] == address_of(info, "points-operator")
    assert "forest_adoption" in [a["activity"] for a in mine["activities"]]
    assert mine["days"][0]["day"] == int(day)
    table = run("query", "points-totals", "--from", day, *node)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["operator", "activity", "all", "time", "days",
                                f"{day}..{got['to_day']}"]  # fmt: skip
    adoption = [line for line in lines if "forest_adoption" in line and mine["operator"] in line]
    assert adoption and int(adoption[0].split()[2]) >= 40
    assert any(line.startswith(f"{day} ") and "forest_adoption" in line for line in lines)
    bad = run("query", "points-totals", "--from", "2026-12-01", *node)
    assert bad.exit_code == 2 and "YYYYMMDD" in bad.output


def test_get_merchant_refuses_a_day_that_is_no_calendar_day(shared_devnet: DevnetInfo) -> None:
    # It used to fail INTERNAL when the default from_day was counted back from such a to_day
    merchant = address_of(shared_devnet, "merchant")
    with stub_for(shared_devnet.endpoints[0]) as stub:
        for from_day, to_day in ((0, 20261340), (20260230, 20261201)):
            request = services_pb2.GetMerchantRequest(
                merchant=merchant, from_day=from_day, to_day=to_day
            )
            assert rpc_error(lambda r=request: stub.GetMerchant(r, timeout=10)) == (
                grpc.StatusCode.INVALID_ARGUMENT, "invalid_day")  # fmt: skip
