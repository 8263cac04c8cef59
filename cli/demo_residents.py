"""``carbon-ticket demo --story residents``: the residents' flow of issue 15 on a running devnet.

The bureau tops up the points float with tickets of a fresh forest batch; a registrar opens a
resident account with no name (personal data stays in the city app's database); the app's
backend (the devnet's points operator) awards points for walking, cycling and tree planting over
three days, and on the third day the resident reaches the daily cap (the award beyond it is
rejected on its own); the resident exchanges points for tickets out of the float and redeems
them at a merchant for a bicycle-service discount. The retirement certificate naming the
resident and the merchant's settlement are printed. Each run uses a fresh resident, batch, offer
and voucher, so it can be repeated against the same network.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import Any

import click

from carbon_ticket.chain.amounts import GRAMS_PER_TONNE
from carbon_ticket.chain.crypto import POINTS_FLOAT_ADDRESS, PrivateKey
from carbon_ticket.cli import render
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.common import emit
from carbon_ticket.cli.demo_steps import Steps
from carbon_ticket.cli.keystore import Keystore
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = ["play_residents"]

T = GRAMS_PER_TONNE
VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)
STEPS = 11
FLOAT_TONNES = 1_000
OFFER_GRAMS = 100  # tickets a bicycle-service discount costs


def _attr(receipt: ledger_pb2.Receipt, kind: str, key: str) -> list[str]:
    return [a.value for e in receipt.events if e.type == kind for a in e.attributes if a.key == key]


def _days_before(day: int, count: int) -> int:
    current = datetime.date(day // 10_000, day // 100 % 100, day % 100)
    earlier = current - datetime.timedelta(days=count)
    return earlier.year * 10_000 + earlier.month * 100 + earlier.day


def _fund_float(step: Steps, keys: dict[str, PrivateKey], suffix: str) -> str:
    """The bureau issues a fresh batch and transfers part of it into the points float."""
    issuer, verifier = keys["issuer"], keys["verifier"]
    project_id = f"CN15-RS-{suffix}"
    data_hash = hashlib.sha256(f"residents float {suffix}".encode()).digest()
    step(
        f"issuer registers forest project {project_id} whose tickets fund the points float",
        ledger_pb2.RegisterProject(
            project_id=project_id, name="Daqingshan Forest Carbon Sink", region="CN-15",
            kind=ledger_pb2.PROJECT_KIND_FOREST, area_centihectares=50_000,
            methodology="CCER-14-001-V01 afforestation carbon sink", owner=issuer.address,
            metadata_hash=data_hash, metadata_uri=f"https://forestry.example/{project_id}.json",
        ),
        issuer,
    )  # fmt: skip
    step(
        "issuer anchors the 2023 forest survey",
        ledger_pb2.AnchorData(project_id=project_id, data_hash=data_hash, period=VINTAGE,
                              uri=f"https://forestry.example/data/{suffix}.csv", kind="survey"),
        issuer,
    )  # fmt: skip
    step(
        "verifier attests the survey: 10,000 tCO2e",
        ledger_pb2.AttestReport(data_hash=data_hash, verified_grams=10_000 * T, period=VINTAGE),
        verifier,
    )
    issued = step(
        "issuer issues 10,000 tCO2e",
        ledger_pb2.IssueBatch(project_id=project_id, vintage=VINTAGE, report_hashes=[data_hash],
                              amount_grams=10_000 * T, recipient=issuer.address),
        issuer,
    )  # fmt: skip
    batch_id = _attr(issued, "issue", "batch_id")[0]
    step(
        f"bureau tops up the points float with {FLOAT_TONNES:,} tCO2e of {batch_id}",
        ledger_pb2.Transfer(entries=[ledger_pb2.TransferEntry(
            to=POINTS_FLOAT_ADDRESS, batch_id=batch_id, amount_grams=FLOAT_TONNES * T)]),
        issuer,
    )  # fmt: skip
    return batch_id


def _award(resident: str, activity: int, day: int, points: int, ref: str) -> ledger_pb2.Award:
    return ledger_pb2.Award(recipient=resident, activity=activity,  # type: ignore[arg-type]
                            day=day, points=points, external_ref=ref)  # fmt: skip


def play_residents(info: DevnetInfo, client: LedgerClient, stub: Any, output: str) -> None:
    """Play the residents' story (see the module docstring) and print what it produced."""
    wallet = Keystore(info.wallet_dir)
    names = ("issuer", "verifier", "registrar", "points-operator", "merchant")
    keys = {name: wallet.load(name, info.wallet_password) for name in names}
    height = client.status().height
    suffix = f"{height:04d}{secrets.token_hex(2).upper()}"
    step = Steps(client, STEPS)
    click.echo(f"residents' demo on chain {client.chain_id} at height {height}")
    batch_id = _fund_float(step, keys, suffix)

    resident = PrivateKey.generate()
    key_name = f"resident-{suffix.lower()}"
    wallet.add(key_name, resident, info.wallet_password)
    step(
        f"registrar opens a resident account with no name on chain (wallet key {key_name})",
        ledger_pb2.RegisterAccount(address=resident.address, kind=ledger_pb2.ACCOUNT_KIND_RESIDENT),
        keys["registrar"],
    )
    points = stub.GetPoints(services_pb2.GetPointsRequest(address=resident.address), timeout=10)
    today, cap, rate = points.today, points.daily_cap or 1_000, points.points_per_gram
    first, second = _days_before(today, 2), _days_before(today, 1)
    operator = keys["points-operator"]
    A = ledger_pb2
    step(
        f"the app awards {first:08d}: 3 km walk 120 points, 8 km cycle 200 points; "
        f"{second:08d}: tree planting 300 points",
        A.AwardPoints(awards=[
            _award(resident.address, A.ACTIVITY_WALK, first, 120, f"app-{suffix}-1"),
            _award(resident.address, A.ACTIVITY_CYCLE, first, 200, f"app-{suffix}-2"),
            _award(resident.address, A.ACTIVITY_TREE_PLANTING, second, 300, f"app-{suffix}-3"),
        ]),
        operator,
    )  # fmt: skip
    capped = step(
        f"the app awards {today:08d}: cycling {cap // 2} and walking {cap - cap // 2} points "
        f"(the daily cap of {cap}), then 50 more for a walk: rejected alone",
        A.AwardPoints(awards=[
            _award(resident.address, A.ACTIVITY_CYCLE, today, cap // 2, f"app-{suffix}-4"),
            _award(resident.address, A.ACTIVITY_WALK, today, cap - cap // 2, f"app-{suffix}-5"),
            _award(resident.address, A.ACTIVITY_WALK, today, 50, f"app-{suffix}-6"),
        ]),
        operator,
    )  # fmt: skip
    click.echo(f"      award outcomes: {', '.join(_attr(capped, 'award', 'outcome'))}")
    grams = OFFER_GRAMS
    step(
        f"resident exchanges {grams * rate:,} points for {render.tco2e(grams)} of tickets from "
        "the float",
        A.ExchangePoints(grams=grams, batch_id=batch_id),
        resident,
    )
    offer_id = f"bike-service-{suffix.lower()}"
    step(
        f"merchant registers offer {offer_id}: 20% off a bicycle service for "
        f"{render.tco2e(OFFER_GRAMS)}",
        A.RegisterOffer(
            offer_id=offer_id, description="Bicycle service at Qingcheng Cycles",
            payment=A.OFFER_PAYMENT_GRAMS, amount=OFFER_GRAMS,
            discount="20% off a bicycle service",
            validity=A.Period(start_date=today, end_date=today), max_redemptions=1_000,
            jurisdiction="CN-15",
        ),
        keys["merchant"],
    )  # fmt: skip
    redeemed = step(
        f"resident redeems {offer_id} with voucher QC-{suffix}: the tickets are retired",
        A.Redeem(merchant=keys["merchant"].address, offer_id=offer_id,
                 voucher_ref=f"QC-{suffix}", batch_id=batch_id),
        resident,
    )  # fmt: skip
    cert_id = _attr(redeemed, "redeem", "certificate_id")[0]
    cert = stub.GetCertificate(
        services_pb2.GetCertificateRequest(certificate_id=cert_id), timeout=10
    )
    points = stub.GetPoints(services_pb2.GetPointsRequest(address=resident.address), timeout=10)
    merchant = stub.GetMerchant(
        services_pb2.GetMerchantRequest(merchant=keys["merchant"].address, from_day=today,
                                        to_day=today), timeout=10)  # fmt: skip
    click.echo("")
    click.echo("retirement certificate")
    emit(render.certificate(cert), output)
    click.echo("")
    click.echo("resident's points")
    emit(render.message_dict(points), output)
    redemptions = stub.ListRedemptions(
        services_pb2.ListRedemptionsRequest(resident=resident.address), timeout=10
    )
    click.echo("")
    click.echo("merchant's settlement")
    emit(render.merchant(merchant), output)
    click.echo("")
    click.echo("resident's redemptions")
    emit([render.redemption(r) for r in redemptions.items], output)
