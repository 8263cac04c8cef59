"""``carbon-ticket demo``: the real story, step by step, against a running devnet.

A forest project in Inner Mongolia (CN-15): 1,500 ha of state forest in Guyang county, sensor data
anchored on chain, attested by the verifier, 150,000 t issued by the bureau, 20,000 t sold to an
enterprise from Zhejiang, and 5,000 t retired for the 14th National Winter Games. Each run uses a
fresh project id and enterprise account, so it can be repeated against the same network, also
after a run that stopped waiting (exit 6): its pending transactions keep their nonces and the
next run signs after them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import click

from carbon_ticket.chain.amounts import GRAMS_PER_TONNE
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli import render
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.common import (
    check_node_address,
    connect,
    emit,
    output_option,
    reports_errors,
)
from carbon_ticket.cli.demo_steps import Steps
from carbon_ticket.cli.keystore import Keystore
from carbon_ticket.cli.tools.devnet import load_devnet
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = ["demo"]

T = GRAMS_PER_TONNE
VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)
GAMES = ledger_pb2.Period(start_date=20240217, end_date=20240227)


def _attr(receipt: ledger_pb2.Receipt, kind: str, key: str) -> str:
    for event in receipt.events:
        if event.type == kind:
            for attr in event.attributes:
                if attr.key == key:
                    return attr.value
    return ""


@click.command()
@click.option(
    "--home",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("devnet"),
    show_default=True,
    help="Directory of a running devnet.",
)
@click.option("--node", help="Node to talk to (default: the devnet's first node).")
@click.option(
    "--timeout", default=30.0, show_default=True, help="Seconds to wait for each step's commit."
)
@click.option(
    "--story",
    type=click.Choice(["issuance", "residents", "market"]),
    default="issuance",
    show_default=True,
    help="issuance: the Guyang forest; residents: points, exchange and a merchant discount; "
    "market: sell orders, purchases, payment confirmation, a retirement and a timeout.",
)
@output_option
@reports_errors
def demo(home: Path, node: str | None, timeout: float, story: str, output: str) -> None:
    """Play the Guyang forest story (or --story residents) on a running devnet and print the
    retirement certificate."""
    info = load_devnet(home)
    if story == "residents":
        from carbon_ticket.cli.demo_residents import play_residents

        endpoint = check_node_address(node) if node else info.endpoints[0]
        with connect(endpoint, tls=info.client_tls()) as stub:
            play_residents(info, LedgerClient(stub, timeout=timeout), stub, output)
        return
    if story == "market":
        from carbon_ticket.cli.demo_market import play_market

        endpoint = check_node_address(node) if node else info.endpoints[0]
        with connect(endpoint, tls=info.client_tls()) as stub:
            play_market(info, LedgerClient(stub, timeout=timeout), stub, output)
        return
    wallet = Keystore(info.wallet_dir)
    issuer = wallet.load("issuer", info.wallet_password)
    verifier = wallet.load("verifier", info.wallet_password)
    registrar = wallet.load("registrar", info.wallet_password)
    endpoint = check_node_address(node) if node else info.endpoints[0]
    with connect(endpoint, tls=info.client_tls()) as stub:
        client = LedgerClient(stub, timeout=timeout)
        height = client.status().height
        suffix = f"{height:04d}{secrets.token_hex(2).upper()}"
        project_id = f"CN15-GY-{suffix}"
        step = Steps(client, 7)
        click.echo(f"demo on chain {client.chain_id} at height {height}, node {endpoint}")

        enterprise = PrivateKey.generate()
        key_name = f"zhejiang-{suffix.lower()}"
        wallet.add(key_name, enterprise, info.wallet_password)
        step(
            f"registrar opens an account for a Zhejiang enterprise (wallet key {key_name})",
            ledger_pb2.RegisterAccount(
                address=enterprise.address,
                kind=ledger_pb2.ACCOUNT_KIND_COMPANY,
                name=f"Zhejiang Lvyuan Environmental Technology Co. ({suffix})",
            ),
            registrar,
        )
        document = json.dumps(
            {
                "project": project_id,
                "county": "Guyang",
                "area_ha": 1500,
                "forest": "state forest",
                "region": "CN-15",
            }
        ).encode()
        step(
            f"issuer registers forest project {project_id}: 1,500 ha state forest, Guyang county",
            ledger_pb2.RegisterProject(
                project_id=project_id,
                name="Guyang County State Forest Carbon Sink",
                region="CN-15",
                kind=ledger_pb2.PROJECT_KIND_FOREST,
                area_centihectares=150_000,
                methodology="CCER-14-001-V01 afforestation carbon sink",
                owner=issuer.address,
                metadata_hash=hashlib.sha256(document).digest(),
                metadata_uri=f"https://forestry.example/projects/{project_id}.json",
            ),
            issuer,
        )
        sensors = f"guyang co2 flux towers 2023 {suffix}".encode()
        data_hash = hashlib.sha256(sensors).digest()
        step(
            f"issuer anchors 2023 CO2-flux sensor data {data_hash.hex()[:16]}...",
            ledger_pb2.AnchorData(
                project_id=project_id,
                data_hash=data_hash,
                period=VINTAGE,
                uri=f"https://forestry.example/data/{suffix}/flux-2023.csv",
                kind="co2-flux",
            ),
            issuer,
        )
        step(
            "verifier attests the data: 150,000 tCO2e sequestered in 2023",
            ledger_pb2.AttestReport(
                data_hash=data_hash, verified_grams=150_000 * T, period=VINTAGE
            ),
            verifier,
        )
        issued = step(
            "issuer issues 150,000 tCO2e (20% withheld in the buffer pool)",
            ledger_pb2.IssueBatch(
                project_id=project_id,
                vintage=VINTAGE,
                report_hashes=[data_hash],
                amount_grams=150_000 * T,
                recipient=issuer.address,
            ),
            issuer,
        )
        batch_id = _attr(issued, "issue", "batch_id")
        step(
            f"bureau sells 20,000 tCO2e of {batch_id} to the Zhejiang enterprise",
            ledger_pb2.Transfer(
                entries=[
                    ledger_pb2.TransferEntry(
                        to=enterprise.address, batch_id=batch_id, amount_grams=20_000 * T
                    )
                ]
            ),
            issuer,
        )
        retired = step(
            "enterprise retires 5,000 tCO2e for the 14th National Winter Games",
            ledger_pb2.Retire(
                batch_id=batch_id,
                amount_grams=5_000 * T,
                beneficiary="14th National Winter Games (Inner Mongolia, 2024)",
                reason="offset the emissions of the Games",
                jurisdiction="CN-15",
                event="14th National Winter Games",
                period=GAMES,
            ),
            enterprise,
        )
        cert_id = _attr(retired, "retire", "certificate_id")
        cert = stub.GetCertificate(
            services_pb2.GetCertificateRequest(certificate_id=cert_id), timeout=10
        )
        supply = stub.GetBatch(services_pb2.GetBatchRequest(batch_id=batch_id), timeout=10)
    click.echo("")
    click.echo("retirement certificate")
    emit(render.certificate(cert), output)
    if output == "table":
        click.echo("")
        click.echo("batch supply")
        shown = render.batch(supply)["supply"]
        keep = ("issued", "tradable", "retired", "cancelled", "buffer")
        emit({f"{k}_{unit}": shown[f"{k}_{unit}"] for k in keep for unit in ("grams", "tco2e")},
             output)  # fmt: skip
