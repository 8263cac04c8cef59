"""The story behind the ledger: Guyang's state forest, from sensor data to a retired ticket."""

from __future__ import annotations

from carbon_ticket.chain import (
    get_balances,
    get_batch,
    get_certificate,
    get_project,
    get_report,
)
from carbon_ticket.chain.amounts import format_tco2e, parse_tco2e
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    ISSUER,
    REGISTRAR,
    VERIFIER,
    Ledger,
    data_hash,
    key,
)

FOREST_FARM = key("guyang-state-forest-farm")
ZHEJIANG = key("zhejiang-manufacturing-group")


def test_guyang_forest_to_winter_games_certificate() -> None:
    chain = Ledger()
    # The registrar opens accounts for the forest farm and a Zhejiang enterprise.
    chain.ok(
        REGISTRAR,
        ledger_pb2.RegisterAccount(
            address=FOREST_FARM.address,
            kind=ledger_pb2.ACCOUNT_KIND_BUREAU,
            name="Guyang County State Forest Farm",
        ),
    )
    chain.ok(
        REGISTRAR,
        ledger_pb2.RegisterAccount(
            address=ZHEJIANG.address,
            kind=ledger_pb2.ACCOUNT_KIND_COMPANY,
            name="Zhejiang Manufacturing Group (Hangzhou)",
        ),
    )

    # The bureau registers the ~1,500 ha state forest in Inner Mongolia (CN-15).
    chain.ok(
        ISSUER,
        ledger_pb2.RegisterProject(
            project_id="CN15-GY-0001",
            name="Guyang County state forest carbon sink",
            region="CN-15",
            kind=ledger_pb2.PROJECT_KIND_FOREST,
            area_centihectares=150_000,
            methodology="CCER-14-001-V01 afforestation carbon sink",
            owner=FOREST_FARM.address,
            metadata_hash=data_hash("guyang-project-design-document"),
            metadata_uri="https://lyj.baotou.example/carbon/CN15-GY-0001",
        ),
    )
    # Sensor data (CO2 flux towers, 2023) is anchored by its hash.
    flux = data_hash("guyang-co2-flux-towers-2023.parquet")
    year = ledger_pb2.Period(start_date=20230101, end_date=20231231)
    chain.ok(
        ISSUER,
        ledger_pb2.AnchorData(
            project_id="CN15-GY-0001",
            data_hash=flux,
            period=year,
            uri="ipfs://bafy-guyang-flux-2023",
            kind="co2-flux",
        ),
    )
    # A third-party verifier attests 150,000 tCO2e.
    chain.ok(
        VERIFIER,
        ledger_pb2.AttestReport(data_hash=flux, verified_grams=parse_tco2e("150000"), period=year),
    )
    # The bureau issues the batch to itself; 20% is withheld in the buffer pool.
    issued = chain.ok(
        ISSUER,
        ledger_pb2.IssueBatch(
            project_id="CN15-GY-0001",
            vintage=year,
            report_hashes=[flux],
            amount_grams=parse_tco2e("150000"),
            recipient=ISSUER.address,
        ),
    )
    batch_id = dict(issued.events[0].attributes)["batch_id"]
    assert batch_id == "CN15-GY-0001-20230101-20231231-001"

    # The Zhejiang enterprise buys 20,000 t ...
    chain.ok(
        ISSUER,
        ledger_pb2.Transfer(
            entries=[
                ledger_pb2.TransferEntry(
                    to=ZHEJIANG.address, batch_id=batch_id, amount_grams=parse_tco2e("20000")
                )
            ]
        ),
    )
    # ... and, once the Games are over (March 2024), retires 5,000 t for them.
    chain.base_time_ms = 1_709_251_200_000
    retired = chain.ok(ZHEJIANG, ledger_pb2.Retire(
        batch_id=batch_id, amount_grams=parse_tco2e("5000"),
        beneficiary="Organising committee of the 14th National Winter Games",
        reason="Offset of event emissions", jurisdiction="CN-15",
        event="14th National Winter Games (Hulunbuir, 2024)",
        period=ledger_pb2.Period(start_date=20240217, end_date=20240227),
    ))  # fmt: skip

    # The certificate reads back from state with beneficiary, reason and batch.
    cert_id = dict(retired.events[0].attributes)["certificate_id"]
    cert = get_certificate(chain.state, cert_id)
    assert cert.beneficiary == "Organising committee of the 14th National Winter Games"
    assert cert.reason == "Offset of event emissions"
    assert cert.batch_id == batch_id and cert.project_id == "CN15-GY-0001"
    assert format_tco2e(cert.amount_grams) == "5000"
    assert cert.account == ZHEJIANG.address and cert.event.startswith("14th National Winter Games")
    assert cert.vintage.start_date == 20230101 and cert.tx_hash == retired.tx_hash

    # Supplies add up; the project, report and balances tell the same story.
    batch = get_batch(chain.state, batch_id)
    assert [
        format_tco2e(g)
        for g in (batch.issued, batch.tradable, batch.retired, batch.cancelled, batch.buffer)
    ] == ["150000", "115000", "5000", "0", "30000"]
    assert batch.tradable + batch.retired + batch.cancelled + batch.buffer == batch.issued
    assert get_balances(chain.state, ZHEJIANG.address) == {batch_id: parse_tco2e("15000")}
    assert get_balances(chain.state, ISSUER.address) == {batch_id: parse_tco2e("100000")}
    assert get_report(chain.state, flux).remaining_grams == 0
    assert get_project(chain.state, "CN15-GY-0001").area_centihectares == 150_000
