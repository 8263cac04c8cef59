"""One in-process node with committed state for the API fuzz tests (tests/node/test_api_fuzz.py).

A one-validator devnet as ``tests.cli.harness.running_devnet`` makes it, but with no empty
blocks (the committed height and app hash move only when a transaction commits, so a read that
changed them would show) and the ``[api]`` limits raised far above what one fuzzing client sends
(a refusal for the rate would hide what the request itself gets). The state: accounts of every
kind, a project, a report, a batch, transfers, a retirement, a market purchase that retires on
delivery (order, trade, certificate), two settled trades of another order, two of each of orders,
exports and proposals (open for votes), an import; and the residents' side: a merchant's two
offers (one paid in points, one in tickets) redeemed five times. Every list the API pages holds
more than one small page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools.devnet import init_devnet
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc
from tests.cli.harness import NodeThread, free_port, make_fast, wallet_keys
from tests.cli.purchases import purchase_certificate

__all__ = ["FuzzNode", "fuzz_node"]

T = 1_000_000
_NO_EMPTY_BLOCKS_MS = 24 * 3600 * 1000  # a day: no empty block while a test runs
# The merchant's offers: (offer id, payment, price in points or grams) and the voucher references
# each was redeemed with. References sort apart from the order they were redeemed in, and one is
# not ASCII (stored NFC; a client may send it NFD).
_POINTS_OFFER = ("fz-coffee", ledger_pb2.OFFER_PAYMENT_POINTS, 100)
_TICKETS_OFFER = ("fz-bicycle", ledger_pb2.OFFER_PAYMENT_GRAMS, 2_000)
_IMPORT_ORIGIN = ("CCER", "CCER-FZ-1")  # (registry, id) of the batch imported from elsewhere
_REDEMPTIONS = [
    (_POINTS_OFFER, "FZ/7"), (_POINTS_OFFER, "FZ/10"), (_TICKETS_OFFER, "FZ/caf\u00e9"),
    (_POINTS_OFFER, "FZ/2"), (_TICKETS_OFFER, "FZ-0"),
]  # fmt: skip


@dataclass
class FuzzNode:
    """The running node, a channel to it, and the values its committed state holds."""

    channel: grpc.Channel
    stub: services_pb2_grpc.LedgerServiceStub
    thread: NodeThread
    chain_id: str
    keys: dict[str, PrivateKey]
    company: PrivateKey
    batch_id: str
    project_id: str
    report: bytes
    certificates: list[str]
    export_id: str
    order_id: int
    import_origin: tuple[str, str]  # (origin registry, origin id) of the imported batch
    proposal_id: int
    offer_ids: list[str]
    voucher_refs: list[str]  # in the order redeemed, as committed (NFC)
    committed_txs: list[bytes] = field(default_factory=list)  # envelopes, exactly as committed
    tx_hashes: list[bytes] = field(default_factory=list)

    def client(self) -> LedgerClient:
        return LedgerClient(self.stub, timeout=20, chain_id=self.chain_id)

    def status(self) -> services_pb2.StatusResponse:
        return self.stub.GetStatus(services_pb2.StatusRequest(), timeout=10)


def _attr(reply: Any, kind: str, name: str) -> str:
    for event in reply.receipt.events:
        if event.type == kind:
            return next(a.value for a in event.attributes if a.key == name)
    raise AssertionError(f"no {kind} event in {reply}")


@contextmanager
def fuzz_node(root: Path) -> Iterator[FuzzNode]:
    """The node of ``root`` (a fresh directory), running with its state committed."""
    info = init_devnet(root, validators=1, base_port=free_port(), wallet_kdf=TEST_KDF)
    config = make_fast(info.node_home(0))
    config = replace(
        config,
        consensus=replace(config.consensus, empty_block_interval_ms=_NO_EMPTY_BLOCKS_MS),
        api=replace(
            config.api,
            requests_per_second=1_000_000,
            request_burst=1_000_000,
            request_bytes_per_second=1 << 32,
            max_request_bytes=32 << 20,
            txs_per_second=10_000_000,
            tx_burst=100_000,
        ),
    )
    config.save()
    thread = NodeThread(config).start()
    channel = grpc.insecure_channel(info.endpoints[0])
    try:
        stub = services_pb2_grpc.LedgerServiceStub(channel)
        yield _committed_state(info, thread, channel, stub)
    finally:
        channel.close()
        thread.stop()


def _committed_state(
    info: Any, thread: NodeThread, channel: grpc.Channel, stub: services_pb2_grpc.LedgerServiceStub
) -> FuzzNode:
    keys: dict[str, Any] = wallet_keys(info)
    chain_id = stub.GetStatus(services_pb2.StatusRequest(), timeout=10).chain_id
    c = LedgerClient(stub, timeout=20, chain_id=chain_id)
    issuer, verifier, registrar = keys["issuer"], keys["verifier"], keys["registrar"]
    company = PrivateKey(hashlib.sha256(b"api-fuzz/company").digest())
    replies = [
        c.send(
            ledger_pb2.RegisterAccount(
                address=company.address, kind=ledger_pb2.ACCOUNT_KIND_COMPANY, name="Fuzz Co"
            ),
            [registrar],
        )
    ]
    certificates = [purchase_certificate(info, tonnes=20)]  # issues a batch of its own
    project_id = "CN15-FZ-0001"
    report = hashlib.sha256(b"api-fuzz report").digest()
    vintage = ledger_pb2.Period(start_date=20230101, end_date=20231231)
    replies.append(c.send(ledger_pb2.RegisterProject(
        project_id=project_id, name="Fuzz forest", region="CN-15",
        kind=ledger_pb2.PROJECT_KIND_FOREST, area_centihectares=100, methodology="m",
        owner=issuer.address, metadata_hash=report, metadata_uri="https://x/p",
    ), [issuer]))  # fmt: skip
    replies.append(c.send(ledger_pb2.AnchorData(
        project_id=project_id, data_hash=report, period=vintage, uri="https://x/d", kind="survey"
    ), [issuer]))  # fmt: skip
    replies.append(c.send(ledger_pb2.AttestReport(
        data_hash=report, verified_grams=1_000 * T, period=vintage
    ), [verifier]))  # fmt: skip
    issued = c.send(ledger_pb2.IssueBatch(
        project_id=project_id, vintage=vintage, report_hashes=[report], amount_grams=1_000 * T,
        recipient=issuer.address,
    ), [issuer])  # fmt: skip
    replies.append(issued)
    batch_id = _attr(issued, "issue", "batch_id")
    replies.append(c.send(ledger_pb2.Transfer(entries=[
        ledger_pb2.TransferEntry(to=company.address, batch_id=batch_id, amount_grams=100 * T)
    ]), [issuer]))  # fmt: skip
    retired = c.send(ledger_pb2.Retire(
        batch_id=batch_id, amount_grams=10 * T, beneficiary="Fuzz Co", reason="offset",
        jurisdiction="CN", event="fuzz",
    ), [company])  # fmt: skip
    replies.append(retired)
    certificates.append(_attr(retired, "retire", "certificate_id"))
    sold = c.send(ledger_pb2.SellOrder(
        batch_id=batch_id, amount_grams=50 * T, price_fen=5_600, min_lot_grams=T,
        expiry_blocks=100_000,
    ), [issuer])  # fmt: skip
    replies.append(sold)
    exported = c.send(ledger_pb2.ExportTickets(
        batch_id=batch_id, amount_grams=5 * T, registry="VERRA", account="V-1", reason="moved"
    ), [company])  # fmt: skip
    replies.append(exported)
    imported = c.send(ledger_pb2.ImportBatch(
        origin_registry=_IMPORT_ORIGIN[0], origin_id=_IMPORT_ORIGIN[1], project_id=project_id,
        vintage=vintage, amount_grams=3 * T, recipient=company.address,
    ), [keys["bridge"]])  # fmt: skip
    replies.append(imported)
    _attr(imported, "import_batch", "batch_id")
    # Open for votes while the fuzz runs (no one votes); harmless had it passed.
    grant = ledger_pb2.GrantRole(address=keys["points-operator"].address,
                                 role=ledger_pb2.ROLE_MERCHANT)  # fmt: skip
    proposed = c.send(ledger_pb2.SubmitProposal(
        title="Fuzz", description_uri="https://x/g", description_hash=report,
        actions=[ledger_pb2.GovAction(grant_role=grant)],
    ), [keys["operator0"]])  # fmt: skip
    replies.append(proposed)
    replies += _second_of_each(c, keys, company, batch_id, int(_attr(sold, "sell", "order_id")))
    redeemed = _redemptions(c, keys, batch_id)
    replies.extend(redeemed)
    vouchers = [_attr(r, "redeem", "certificate_id") for r in redeemed[-len(_REDEMPTIONS) :]]
    certificates += [v for v in vouchers if v]  # those paid in tickets
    hashes = [r.tx_hash for r in replies]
    proofs = [
        stub.GetTxProof(services_pb2.GetTxProofRequest(tx_hash=h), timeout=10) for h in hashes
    ]
    return FuzzNode(
        channel=channel,
        stub=stub,
        thread=thread,
        chain_id=chain_id,
        keys=keys,
        company=company,
        batch_id=batch_id,
        project_id=project_id,
        report=report,
        certificates=certificates,
        export_id=_attr(exported, "export", "export_id"),
        order_id=int(_attr(sold, "sell", "order_id")),
        import_origin=_IMPORT_ORIGIN,
        proposal_id=int(_attr(proposed, "submit_proposal", "proposal_id")),
        offer_ids=[_POINTS_OFFER[0], _TICKETS_OFFER[0]],
        voucher_refs=[ref for _offer, ref in _REDEMPTIONS],
        committed_txs=[p.tx for p in proofs],
        tx_hashes=hashes,
    )


def _second_of_each(
    c: LedgerClient, keys: dict[str, Any], company: PrivateKey, batch_id: str, order_id: int
) -> list[services_pb2.SubmitTxResponse]:
    """Two trades of the issuer's order, both settled (none left pending to time out while the
    fuzz runs), a second order, export and proposal: every list of the state has two pages."""
    issuer, buyer = keys["issuer"], keys["verifier"]
    replies = []
    for _ in range(2):
        bought = c.send(ledger_pb2.Buy(order_id=order_id, amount_grams=T), [buyer])
        trade_id = int(_attr(bought, "buy", "trade_id"))
        paid = c.send(ledger_pb2.ConfirmPayment(trade_id=trade_id), [issuer])
        _attr(paid, "confirm_payment", "trade_id")
        replies += [bought, paid]
    replies.append(c.send(ledger_pb2.SellOrder(
        batch_id=batch_id, amount_grams=10 * T, price_fen=5_800, min_lot_grams=T,
        expiry_blocks=100_000,
    ), [issuer]))  # fmt: skip
    _attr(replies[-1], "sell", "order_id")
    replies.append(c.send(ledger_pb2.ExportTickets(
        batch_id=batch_id, amount_grams=T, registry="VERRA", account="V-2", reason="moved"
    ), [company]))  # fmt: skip
    _attr(replies[-1], "export", "export_id")
    grant = ledger_pb2.GrantRole(address=keys["bridge"].address, role=ledger_pb2.ROLE_MERCHANT)
    replies.append(c.send(ledger_pb2.SubmitProposal(
        title="Fuzz 2", actions=[ledger_pb2.GovAction(grant_role=grant)]
    ), [keys["operator0"]]))  # fmt: skip
    _attr(replies[-1], "submit_proposal", "proposal_id")
    return replies


def _redemptions(
    c: LedgerClient, keys: dict[str, Any], batch_id: str
) -> list[services_pb2.SubmitTxResponse]:
    """The merchant's offers, the points and tickets the resident pays with, and the resident's
    redemptions, last (each checked to have committed as what it is)."""
    merchant, resident = keys["merchant"], keys["resident"]
    points = services_pb2.GetPointsRequest(address=resident.address)
    today = c.stub.GetPoints(points, timeout=10).today
    replies = []
    for offer_id, payment, amount in (_POINTS_OFFER, _TICKETS_OFFER):
        replies.append(c.send(ledger_pb2.RegisterOffer(
            offer_id=offer_id, description="Fuzz offer", payment=payment, amount=amount,
            discount="10%", validity=ledger_pb2.Period(start_date=20240101, end_date=20991231),
            max_redemptions=10, jurisdiction="CN",
        ), [merchant]))  # fmt: skip
        _attr(replies[-1], "register_offer", "offer_id")
    priced = [offer for offer, _ref in _REDEMPTIONS]
    owed_points = sum(a for _o, p, a in priced if p == ledger_pb2.OFFER_PAYMENT_POINTS)
    owed_grams = sum(a for _o, p, a in priced if p == ledger_pb2.OFFER_PAYMENT_GRAMS)
    award = ledger_pb2.Award(recipient=resident.address, activity=ledger_pb2.ACTIVITY_WALK,
                             day=today, points=owed_points, external_ref="fz-award-1")  # fmt: skip
    replies.append(c.send(ledger_pb2.AwardPoints(awards=[award]), [keys["points-operator"]]))
    assert _attr(replies[-1], "award_points", "applied") == "1", replies[-1]
    replies.append(c.send(ledger_pb2.Transfer(entries=[
        ledger_pb2.TransferEntry(to=resident.address, batch_id=batch_id, amount_grams=owed_grams)
    ]), [keys["issuer"]]))  # fmt: skip
    _attr(replies[-1], "transfer", "to")
    for (offer_id, payment, _amount), ref in _REDEMPTIONS:
        paid_with = batch_id if payment == ledger_pb2.OFFER_PAYMENT_GRAMS else ""
        replies.append(c.send(ledger_pb2.Redeem(
            merchant=merchant.address, offer_id=offer_id, voucher_ref=ref, batch_id=paid_with
        ), [resident]))  # fmt: skip
        _attr(replies[-1], "redeem", "voucher_ref")
    return replies
