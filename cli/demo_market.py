"""``carbon-ticket demo --story market``: the market of issue 17 on a running devnet.

The Guyang forest's first issuance is sold to enterprises: the verifier attests 187,500 t, the
bureau issues them (20% withheld in the buffer pool) and lists the 150,000 t it holds at 14 yuan
per tonne, 10,000 t of it in an order that retires on purchase. Enterprises from Zhejiang,
Shandong and Fujian buy; the trading platform (the devnet's settlement account) confirms each
payment, and the Fujian purchase is retired on delivery for the 14th National Winter Games with
a certificate. A second Zhejiang purchase is never paid for and times out after the devnet's
payment timeout (params.market.trade_timeout_blocks), its grams going back to the order. Last,
the Shandong enterprise exports 5,000 t of its lot to another registry (CCER), which writes an
export record with its serial range. The orders, trades, price history and the export record
are printed. Each run uses a fresh project and enterprises.
"""

from __future__ import annotations

import hashlib
import secrets
import time

import click

from carbon_ticket.chain.amounts import GRAMS_PER_TONNE
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli import render
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.common import CliError, emit
from carbon_ticket.cli.demo_steps import Steps
from carbon_ticket.cli.keystore import Keystore
from carbon_ticket.cli.market_cmds import yuan
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc

__all__ = ["play_market"]

T = GRAMS_PER_TONNE
VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)
STEPS = 17
EXPORT_TONNES = 5_000
EXPORT_REGISTRY = "CCER"  # the target registry, and the Shandong enterprise's account there
EXPORT_ACCOUNT = "CCER-37-0188-QILU"
PRICE_FEN = 1_400  # 14.00 yuan per tCO2e: 150,000 t make 2.1 million yuan
ORDER_BLOCKS = 100_000  # the orders stay open long after the demo
ENTERPRISES = (
    ("zhejiang", "Zhejiang Lvyuan Environmental Technology Co."),
    ("shandong", "Shandong Qilu Steel Co."),
    ("fujian", "Fujian Minjiang Paper Co."),
)
WINTER_GAMES = {
    "beneficiary": "14th National Winter Games (Inner Mongolia, 2024)",
    "reason": "offset the emissions of the Games",
    "jurisdiction": "CN-15",
    "event": "14th National Winter Games",
}


def _attr(receipt: ledger_pb2.Receipt, kind: str, key: str) -> str:
    for event in receipt.events:
        if event.type == kind:
            for attr in event.attributes:
                if attr.key == key:
                    return attr.value
    return ""


def _issue(step: Steps, issuer: PrivateKey, verifier: PrivateKey, suffix: str) -> str:
    """Register the forest, anchor and attest its 2023 data, issue; return the batch id."""
    project_id = f"CN15-GY-{suffix}"
    data_hash = hashlib.sha256(f"guyang market flux 2023 {suffix}".encode()).digest()
    step(
        f"issuer registers forest project {project_id}: 1,500 ha state forest, Guyang county",
        ledger_pb2.RegisterProject(
            project_id=project_id, name="Guyang County State Forest Carbon Sink",
            region="CN-15", kind=ledger_pb2.PROJECT_KIND_FOREST, area_centihectares=150_000,
            methodology="CCER-14-001-V01 afforestation carbon sink", owner=issuer.address,
            metadata_hash=hashlib.sha256(project_id.encode()).digest(),
            metadata_uri=f"https://forestry.example/projects/{project_id}.json",
        ),
        issuer,
    )  # fmt: skip
    step(
        f"issuer anchors 2023 CO2-flux sensor data {data_hash.hex()[:16]}...",
        ledger_pb2.AnchorData(
            project_id=project_id, data_hash=data_hash, period=VINTAGE, kind="co2-flux",
            uri=f"https://forestry.example/data/{suffix}/flux-2023.csv",
        ),
        issuer,
    )  # fmt: skip
    step(
        "verifier attests the data: 187,500 tCO2e sequestered in 2023",
        ledger_pb2.AttestReport(data_hash=data_hash, verified_grams=187_500 * T, period=VINTAGE),
        verifier,
    )
    issued = step(
        "issuer issues 187,500 tCO2e: 150,000 t to the bureau, 37,500 t to the buffer pool",
        ledger_pb2.IssueBatch(
            project_id=project_id, vintage=VINTAGE, report_hashes=[data_hash],
            amount_grams=187_500 * T, recipient=issuer.address,
        ),
        issuer,
    )  # fmt: skip
    return _attr(issued, "issue", "batch_id")


def _wait_for_timeout(
    stub: services_pb2_grpc.LedgerServiceStub, trade_id: int, timeout_height: int, limit_s: float
) -> int:
    """Wait until the trade timed out; return the height read. Blocks keep coming on a devnet
    (empty ones too), so this takes the payment timeout in blocks times the block interval."""
    deadline = time.monotonic() + limit_s
    request = services_pb2.ListTradesRequest(status="timed_out", page_size=50)
    while True:
        page = stub.ListTrades(request, timeout=10)
        if any(t.trade_id == trade_id for t in page.items):
            return page.height
        if time.monotonic() > deadline:
            raise CliError(
                f"trade {trade_id} had not timed out after {limit_s:g}s (due at the end of "
                f"block {timeout_height}, the chain is at {page.height}): is the network "
                "making blocks?"
            )
        time.sleep(0.2)


def play_market(
    info: DevnetInfo, client: LedgerClient, stub: services_pb2_grpc.LedgerServiceStub, output: str
) -> None:
    """Play the market story; print the orders, trades, price history and the certificate."""
    wallet = Keystore(info.wallet_dir)
    names = ("issuer", "verifier", "registrar", "platform")
    keys = {name: wallet.load(name, info.wallet_password) for name in names}
    issuer, platform = keys["issuer"], keys["platform"]
    height = client.status().height
    suffix = f"{height:04d}{secrets.token_hex(2).upper()}"
    click.echo(f"market demo on chain {client.chain_id} at height {height}")
    step = Steps(client, STEPS)

    buyers: dict[str, PrivateKey] = {}
    for province, company in ENTERPRISES:
        buyers[province] = PrivateKey.generate()
        key_name = f"{province}-{suffix.lower()}"
        wallet.add(key_name, buyers[province], info.wallet_password)
        step(
            f"registrar opens an account for a {province.capitalize()} enterprise "
            f"(wallet key {key_name})",
            ledger_pb2.RegisterAccount(
                address=buyers[province].address, kind=ledger_pb2.ACCOUNT_KIND_COMPANY,
                name=f"{company} ({suffix})",
            ),
            keys["registrar"],
        )  # fmt: skip
    batch_id = _issue(step, issuer, keys["verifier"], suffix)

    listed = step(
        f"bureau lists 140,000 tCO2e of {batch_id} at {yuan(PRICE_FEN)} yuan/t (lots >= 1,000 t)",
        ledger_pb2.SellOrder(
            batch_id=batch_id, amount_grams=140_000 * T, price_fen=PRICE_FEN,
            min_lot_grams=1_000 * T, expiry_blocks=ORDER_BLOCKS,
        ),
        issuer,
    )  # fmt: skip
    order_id = int(_attr(listed, "sell", "order_id"))
    listed_retiring = step(
        f"bureau lists 10,000 tCO2e more at {yuan(PRICE_FEN)} yuan/t, retired on purchase",
        ledger_pb2.SellOrder(
            batch_id=batch_id, amount_grams=10_000 * T, price_fen=PRICE_FEN,
            min_lot_grams=1_000 * T, expiry_blocks=ORDER_BLOCKS, retire_on_purchase=True,
        ),
        issuer,
    )  # fmt: skip
    retiring_id = int(_attr(listed_retiring, "sell", "order_id"))

    # Each purchase is confirmed right after it, well within the payment timeout.
    purchases: tuple[tuple[str, int, int, dict[str, str]], ...] = (
        ("zhejiang", order_id, 80_000, {}),
        ("shandong", order_id, 50_000, {}),
        ("fujian", retiring_id, 10_000, WINTER_GAMES),
    )
    certificate_id = ""
    for province, from_order, tonnes, claim in purchases:
        what = " to retire for the 14th National Winter Games" if claim else ""
        bought = step(
            f"{province.capitalize()} enterprise buys {tonnes:,} tCO2e of order {from_order}{what}",
            ledger_pb2.Buy(order_id=from_order, amount_grams=tonnes * T, **claim),
            buyers[province],
        )
        trade_id = int(_attr(bought, "buy", "trade_id"))
        total = int(_attr(bought, "buy", "total_fen"))
        confirmed = step(
            f"platform confirms the bank transfer of {yuan(total)} yuan for trade {trade_id}: "
            + ("the tickets are retired for the buyer" if claim else "the tickets are delivered"),
            ledger_pb2.ConfirmPayment(trade_id=trade_id),
            platform,
        )
        certificate_id = _attr(confirmed, "confirm_payment", "certificate_id") or certificate_id

    unpaid = step(
        "Zhejiang enterprise buys another 10,000 tCO2e but never pays",
        ledger_pb2.Buy(order_id=order_id, amount_grams=10_000 * T),
        buyers["zhejiang"],
    )
    unpaid_id = int(_attr(unpaid, "buy", "trade_id"))
    timeout_height = int(_attr(unpaid, "buy", "timeout_height"))
    click.echo(f"      waiting for the payment timeout at the end of block {timeout_height}...")
    seen = _wait_for_timeout(stub, unpaid_id, timeout_height, max(60.0, client.timeout * 2))
    click.echo(
        f"      trade {unpaid_id} timed out (height {seen}): 10,000 t back in order {order_id}"
    )
    export_id = _export_lot(step, stub, buyers["shandong"], batch_id)

    _print_results(stub, batch_id, certificate_id, export_id, output)


def _export_lot(
    step: Steps, stub: services_pb2_grpc.LedgerServiceStub, holder: PrivateKey, batch_id: str
) -> str:
    """The Shandong enterprise exports part of its lot to another registry (the message
    ``carbon-ticket tx export`` sends); print the export record; return its id."""
    exported = step(
        f"Shandong enterprise exports {EXPORT_TONNES:,} tCO2e to registry {EXPORT_REGISTRY} "
        f"account {EXPORT_ACCOUNT}: no longer tradable here, never counted twice",
        ledger_pb2.ExportTickets(
            batch_id=batch_id, amount_grams=EXPORT_TONNES * T, registry=EXPORT_REGISTRY,
            account=EXPORT_ACCOUNT, reason="sold on to a buyer in the CCER registry",
        ),
        holder,
    )  # fmt: skip
    export_id = _attr(exported, "export", "export_id")
    record = stub.ExportGet(services_pb2.ExportGetRequest(export_id=export_id), timeout=10)
    click.echo(f"      export record {export_id}: serials {record.serial}")
    return export_id


def _print_results(
    stub: services_pb2_grpc.LedgerServiceStub,
    batch_id: str,
    certificate_id: str,
    export_id: str,
    output: str,
) -> None:
    orders = stub.ListOrders(services_pb2.ListOrdersRequest(batch_id=batch_id), timeout=10)
    trades = [
        t
        for o in orders.items
        for t in stub.ListTrades(
            services_pb2.ListTradesRequest(order_id=o.order_id), timeout=10
        ).items
    ]
    project_id = orders.items[0].project_id
    prices = stub.ListTradePrices(
        services_pb2.ListTradePricesRequest(project_id=project_id, vintage=VINTAGE), timeout=10
    )
    cert = stub.GetCertificate(
        services_pb2.GetCertificateRequest(certificate_id=certificate_id), timeout=10
    )
    supply = stub.GetBatch(services_pb2.GetBatchRequest(batch_id=batch_id), timeout=10)
    exported = stub.ExportGet(services_pb2.ExportGetRequest(export_id=export_id), timeout=10)
    sold = sum(p.total_fen for p in prices.items)
    if output == "json":
        emit(
            {
                "orders": [render.message_dict(o) for o in orders.items],
                "trades": [render.message_dict(t) for t in trades],
                "prices": [render.message_dict(p) for p in prices.items],
                "certificate": render.certificate(cert),
                "export": render.message_dict(exported),
                "batch": render.batch(supply),
            },
            output,
        )
        return
    click.echo("")
    click.echo(f"orders of {batch_id}")
    for o in orders.items:
        click.echo(
            f"  order {o.order_id}: {o.status}, {o.remaining_grams // T:,} t left, "
            f"{o.sold_grams // T:,} t sold at {yuan(o.price_fen)} yuan/t"
            + (", retired on purchase" if o.retire_on_purchase else "")
        )
    click.echo("trades")
    for t in sorted(trades, key=lambda t: t.trade_id):
        click.echo(
            f"  trade {t.trade_id} (order {t.order_id}): {t.amount_grams // T:,} t, "
            f"{yuan(t.total_fen)} yuan, {t.status}"
            + (f", certificate {t.certificate_id}" if t.certificate_id else "")
        )
    click.echo(f"price history of {project_id} 2023: {len(prices.items)} settled trades, "
               f"{yuan(sold)} yuan in all")  # fmt: skip
    click.echo("")
    click.echo("retirement certificate")
    emit(render.certificate(cert), output)
    click.echo("")
    click.echo("export record")
    click.echo(
        f"  {exported.export_id}: {exported.amount_grams // T:,} t of {exported.batch_id} to "
        f"{exported.registry} account {exported.target_account}, serials {exported.serial}"
    )
    click.echo("")
    click.echo("batch supply")
    shown = render.batch(supply)["supply"]
    keep = ("issued", "tradable", "escrowed", "retired", "cancelled", "exported", "buffer")
    emit({f"{k}_tco2e": shown[f"{k}_tco2e"] for k in keep}, output)
