"""The public gRPC API against a real (in-process) node: every RPC, pagination, streams, errors."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.chain.params import param_names, param_value
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.tx import encode_tx, tx_hash, tx_sign_bytes
from carbon_ticket.cli.client import LedgerClient, make_body
from carbon_ticket.node.errors import ERROR_CODE_KEY, HEIGHT_KEY, TX_HASH_KEY
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc
from tests.cli.harness import running_devnet, stub_for, wallet_keys

T = 1_000_000
VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)


@dataclass
class Story:
    """What the scenario fixture committed."""

    endpoint: str
    keys: dict[str, PrivateKey]
    company: PrivateKey
    project_id: str
    report: bytes
    batch_id: str
    certificate_id: str
    retire_tx: bytes
    retire_height: int


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    root: Path = tmp_path_factory.mktemp("api") / "devnet"
    with running_devnet(root) as (info, _node), stub_for(info.endpoints[0]) as stub:
        keys: dict[str, Any] = wallet_keys(info)
        c = LedgerClient(stub)
        issuer, verifier, registrar = keys["issuer"], keys["verifier"], keys["registrar"]
        company = PrivateKey(hashlib.sha256(b"api-test/company").digest())
        report = hashlib.sha256(b"guyang sensor data 2023").digest()
        c.send(
            ledger_pb2.RegisterAccount(
                address=company.address, kind=ledger_pb2.ACCOUNT_KIND_COMPANY, name="Zhejiang Co"
            ),
            [registrar],
        )
        c.send(
            ledger_pb2.RegisterProject(
                project_id="CN15-GY-0001",
                name="Guyang state forest",
                region="CN-15",
                kind=ledger_pb2.PROJECT_KIND_FOREST,
                area_centihectares=150_000,
                methodology="CCER-14-001",
                owner=issuer.address,
                metadata_hash=bytes(range(32)),
                metadata_uri="ipfs://meta",
            ),
            [issuer],
        )
        c.send(
            ledger_pb2.AnchorData(
                project_id="CN15-GY-0001",
                data_hash=report,
                period=VINTAGE,
                uri="ipfs://sensors",
                kind="co2-flux",
            ),
            [issuer],
        )
        c.send(
            ledger_pb2.AttestReport(data_hash=report, verified_grams=150_000 * T, period=VINTAGE),
            [verifier],
        )
        issued = c.send(
            ledger_pb2.IssueBatch(
                project_id="CN15-GY-0001",
                vintage=VINTAGE,
                report_hashes=[report],
                amount_grams=150_000 * T,
                recipient=issuer.address,
            ),
            [issuer],
        )
        batch_id = _attr(issued.receipt, "issue", "batch_id")
        c.send(
            ledger_pb2.Transfer(
                entries=[
                    ledger_pb2.TransferEntry(
                        to=company.address, batch_id=batch_id, amount_grams=20_000 * T
                    )
                ]
            ),
            [issuer],
        )
        raw = c.build(
            ledger_pb2.Retire(
                batch_id=batch_id,
                amount_grams=5_000 * T,
                beneficiary="Games",
                reason="offset",
                jurisdiction="CN",
                event="14th National Winter Games",
            ),
            [company],
        )
        retired = c.submit(raw)
        yield Story(
            endpoint=info.endpoints[0],
            keys=keys,
            company=company,
            project_id="CN15-GY-0001",
            report=report,
            batch_id=batch_id,
            certificate_id=_attr(retired.receipt, "retire", "certificate_id"),
            retire_tx=retired.tx_hash,
            retire_height=retired.height,
        )


def _attr(receipt: ledger_pb2.Receipt, kind: str, key: str) -> str:
    for event in receipt.events:
        if event.type == kind:
            for attr in event.attributes:
                if attr.key == key:
                    return attr.value
    raise AssertionError(f"no {kind}.{key} in {receipt}")


@pytest.fixture()
def stub(story: Story) -> Iterator[services_pb2_grpc.LedgerServiceStub]:
    with stub_for(story.endpoint) as s:
        yield s


def _error(call: Any) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    exc: Any = info.value
    return exc.code(), exc.details(), dict(exc.trailing_metadata() or ())


# ---------------------------------------------------------------- reads


def test_status_and_health(stub: services_pb2_grpc.LedgerServiceStub, story: Story) -> None:
    status = stub.GetStatus(services_pb2.StatusRequest())
    assert status.chain_id == "carbon-devnet"
    assert status.height >= story.retire_height
    assert len(status.validators) == 1 and status.validators[0].address.startswith("ct1")
    with grpc.insecure_channel(story.endpoint) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_get_params_names_every_parameter_with_its_genesis_value(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    genesis = Genesis.from_json(stub.GetGenesis(services_pb2.GetGenesisRequest()).genesis_json)
    reply = stub.GetParams(services_pb2.GetParamsRequest())
    assert reply.height >= story.retire_height and reply.chain_id == "carbon-devnet"
    assert [p.name for p in reply.params] == list(param_names())  # a proposal's names
    # Nothing changed them on this chain: in force = genesis, as the genesis document says
    for p in reply.params:
        assert p.value == p.genesis_value == str(param_value(genesis.params, p.name)), p


def test_get_account_has_balances_roles_and_nonce(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    company = stub.GetAccount(services_pb2.GetAccountRequest(address=story.company.address))
    assert company.name == "Zhejiang Co" and company.kind == ledger_pb2.ACCOUNT_KIND_COMPANY
    assert company.nonce == 1
    assert [(b.batch_id, b.amount_grams) for b in company.balances] == [
        (story.batch_id, 15_000 * T)
    ]
    issuer = stub.GetAccount(services_pb2.GetAccountRequest(address=story.keys["issuer"].address))
    assert list(issuer.roles) == [ledger_pb2.ROLE_ISSUER]
    assert issuer.nonce == 4


def test_get_project_batch_report(stub: services_pb2_grpc.LedgerServiceStub, story: Story) -> None:
    project = stub.GetProject(services_pb2.GetProjectRequest(project_id=story.project_id))
    assert (project.region, project.kind, project.area_centihectares) == (
        "CN-15",
        ledger_pb2.PROJECT_KIND_FOREST,
        150_000,
    )
    batch = stub.GetBatch(services_pb2.GetBatchRequest(batch_id=story.batch_id))
    s = batch.supply
    assert (
        s.issued_grams,
        s.tradable_grams,
        s.retired_grams,
        s.cancelled_grams,
        s.buffer_grams,
    ) == (150_000 * T, 115_000 * T, 5_000 * T, 0, 30_000 * T)
    assert s.tradable_grams + s.retired_grams + s.cancelled_grams + s.buffer_grams == s.issued_grams
    report = stub.GetReport(services_pb2.GetReportRequest(data_hash=story.report))
    assert report.attested and report.verified_grams == 150_000 * T and report.remaining_grams == 0


def test_get_certificate_and_tx(stub: services_pb2_grpc.LedgerServiceStub, story: Story) -> None:
    cert = stub.GetCertificate(
        services_pb2.GetCertificateRequest(certificate_id=story.certificate_id)
    )
    assert cert.amount_grams == 5_000 * T and cert.event == "14th National Winter Games"
    assert cert.account == story.company.address and cert.tx_hash == story.retire_tx
    assert not cert.HasField("period")
    tx = stub.GetTx(services_pb2.GetTxRequest(tx_hash=story.retire_tx))
    assert tx.height == story.retire_height and tx.body.WhichOneof("msg") == "retire"
    assert tx.receipt.code == 0 and tx.time_ms > 0
    assert tx.envelope.signatures[0].public_key == story.company.public_key


def test_get_block_by_height_hash_and_latest(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    block = stub.GetBlock(services_pb2.GetBlockRequest(height=story.retire_height))
    header = block.committed.block.header
    assert header.height == story.retire_height
    assert block.committed.certificate.block_hash == block.block_hash
    assert len(block.committed.certificate.precommits) == 1
    assert [r.tx_hash for r in block.receipts] == [
        tx_hash(t, header.chain_id) for t in block.committed.block.txs
    ]
    by_hash = stub.GetBlock(services_pb2.GetBlockRequest(block_hash=block.block_hash))
    assert by_hash == block
    latest = stub.GetBlock(services_pb2.GetBlockRequest())
    assert latest.committed.block.header.height >= story.retire_height


# ---------------------------------------------------------------- history


def test_history_pages_walk_everything_once(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    address = story.keys["issuer"].address
    full = stub.GetAccountHistory(services_pb2.GetAccountHistoryRequest(address=address))
    assert [i.kind for i in full.items] == [
        "transfer",
        "issue_batch",
        "anchor_data",
        "register_project",
    ]
    assert full.next_page_token == ""
    seen, token = [], ""
    for _ in range(10):
        page = stub.GetAccountHistory(
            services_pb2.GetAccountHistoryRequest(address=address, page_size=1, page_token=token)
        )
        seen += list(page.items)
        token = page.next_page_token
        if not token:
            break
    assert [i.tx_hash for i in seen] == [i.tx_hash for i in full.items]
    batch = stub.GetBatchHistory(
        services_pb2.GetBatchHistoryRequest(batch_id=story.batch_id, page_size=2)
    )
    assert [i.kind for i in batch.items] == ["retire", "transfer"] and batch.next_page_token
    rest = stub.GetBatchHistory(
        services_pb2.GetBatchHistoryRequest(
            batch_id=story.batch_id, page_size=2, page_token=batch.next_page_token
        )
    )
    assert [i.kind for i in rest.items] == ["issue_batch"] and rest.next_page_token == ""


def test_a_full_last_page_has_no_token(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    # A page exactly as long as what was left carried a token to an empty page, which an app
    # showed as a blank screen (or an error) after the last real page.
    address = story.keys["issuer"].address
    for size in (4, 2):  # the whole history in one page; its last two in the second page
        first = stub.GetAccountHistory(
            services_pb2.GetAccountHistoryRequest(address=address, page_size=size)
        )
        page = first
        while page.next_page_token:
            page = stub.GetAccountHistory(
                services_pb2.GetAccountHistoryRequest(
                    address=address, page_size=size, page_token=page.next_page_token
                )
            )
            assert page.items  # never sent on to an empty page
        assert len(page.items) == size and page.next_page_token == ""
    batch = stub.GetBatchHistory(
        services_pb2.GetBatchHistoryRequest(batch_id=story.batch_id, page_size=3)
    )
    assert len(batch.items) == 3 and batch.next_page_token == ""


# ---------------------------------------------------------------- streams


def test_subscribe_blocks_from_a_past_height_has_no_gaps(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    tip = stub.GetStatus(services_pb2.StatusRequest()).height
    stream = stub.SubscribeBlocks(services_pb2.SubscribeBlocksRequest(from_height=1), timeout=20)
    # Past blocks from the store, then live ones as they commit (empty blocks every 200 ms).
    heights = [b.committed.block.header.height for b in itertools.islice(stream, tip + 3)]
    stream.cancel()
    assert heights == list(range(1, tip + 4))


def test_subscribe_events_filters_by_type_and_account(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    stream = stub.SubscribeEvents(
        services_pb2.SubscribeEventsRequest(
            from_height=1, types=["retire", "transfer"], account=story.company.address
        ),
        timeout=20,
    )
    events = list(itertools.islice(stream, 2))
    stream.cancel()
    assert [e.event.type for e in events] == ["transfer", "retire"]
    assert events[1].height == story.retire_height and events[1].tx_hash == story.retire_tx


# ---------------------------------------------------------------- submission and errors


def test_submit_many_reports_each_admission(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    c = LedgerClient(stub)
    issuer = story.keys["issuer"]
    nonce = c.next_nonce(issuer.address)
    good = [
        c.build(
            ledger_pb2.Transfer(
                entries=[
                    ledger_pb2.TransferEntry(
                        to=story.company.address, batch_id=story.batch_id, amount_grams=T
                    )
                ]
            ),
            [issuer],
            nonce=nonce + i,
        )
        for i in range(3)
    ]
    reply = stub.SubmitTxs(services_pb2.SubmitTxsRequest(txs=[*good, b"\x01junk"]))
    assert [r.accepted for r in reply.results] == [True, True, True, False]
    assert reply.results[3].error_code == "malformed_tx"
    assert reply.results[0].tx_hash == tx_hash(good[0], "carbon-devnet")
    assert reply.results[3].tx_hash == b""  # what does not parse has no id
    # They commit in nonce order, so once the last one is in, the nonce has moved by three.
    _wait_tx(stub, reply.results[2].tx_hash)
    assert c.next_nonce(issuer.address) == nonce + 3
    # Retrying the whole batch (a lost reply) is safe: the same ids, all reported accepted.
    again = stub.SubmitTxs(services_pb2.SubmitTxsRequest(txs=good))
    assert [(r.accepted, r.tx_hash) for r in again.results] == [
        (True, r.tx_hash) for r in reply.results[:3]
    ]
    assert c.next_nonce(issuer.address) == nonce + 3


def test_submit_without_waiting_then_get_tx(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    c = LedgerClient(stub)
    raw = c.build(
        ledger_pb2.Cancel(batch_id=story.batch_id, amount_grams=T, reason="moved"), [story.company]
    )
    reply = c.submit(raw, wait=False)
    assert not reply.committed and reply.tx_hash == tx_hash(raw, c.chain_id)
    _wait_tx(stub, reply.tx_hash)
    assert stub.GetTx(services_pb2.GetTxRequest(tx_hash=reply.tx_hash)).receipt.code == 0


def _wait_tx(stub: services_pb2_grpc.LedgerServiceStub, tx_hash: bytes) -> None:
    for _ in range(100):
        try:
            stub.GetTx(services_pb2.GetTxRequest(tx_hash=tx_hash))
            return
        except grpc.RpcError:
            time.sleep(0.05)
    raise AssertionError("transaction not committed within 5 s")


def _submit(stub: services_pb2_grpc.LedgerServiceStub, raw: bytes, wait: bool = False) -> Any:
    return lambda: stub.SubmitTx(
        services_pb2.SubmitTxRequest(tx=raw, wait_for_commit=wait), timeout=20
    )


def test_invalid_argument(stub: services_pb2_grpc.LedgerServiceStub, story: Story) -> None:
    code, _, meta = _error(_submit(stub, b"\x0a\xffnot a tx"))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "malformed_tx")
    code, details, meta = _error(
        lambda: stub.GetAccount(services_pb2.GetAccountRequest(address="ct1notanaddress"))
    )
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_address")
    assert "ct1notanaddress" in details
    code, _, meta = _error(lambda: stub.GetTx(services_pb2.GetTxRequest(tx_hash=b"short")))
    assert meta[ERROR_CODE_KEY] == "invalid_hash"
    code, _, meta = _error(
        lambda: stub.GetBatchHistory(
            services_pb2.GetBatchHistoryRequest(batch_id=story.batch_id, page_token="zz")
        )
    )
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "bad_page_token")
    stream = stub.SubscribeEvents(services_pb2.SubscribeEventsRequest(account="nope"), timeout=5)
    code, _, meta = _error(lambda: next(iter(stream)))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_address")


def test_failed_precondition_for_a_used_nonce(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    c = LedgerClient(stub)
    raw = c.build(
        ledger_pb2.Cancel(batch_id=story.batch_id, amount_grams=T, reason="x"),
        [story.company],
        nonce=0,
    )
    code, details, meta = _error(_submit(stub, raw))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.FAILED_PRECONDITION, "nonce_used")
    assert "next nonce" in details


def test_failed_precondition_from_a_committed_tx_carries_its_hash(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    c = LedgerClient(stub)
    raw = c.build(
        ledger_pb2.Retire(
            batch_id=story.batch_id,
            amount_grams=10**6 * T,
            beneficiary="x",
            reason="x",
            jurisdiction="CN",
        ),
        [story.company],
    )
    code, details, meta = _error(_submit(stub, raw, wait=True))
    assert (code, meta[ERROR_CODE_KEY]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "insufficient_balance",
    )
    assert "insufficient tradable balance" in details
    assert meta[TX_HASH_KEY] == tx_hash(raw, "carbon-devnet").hex() and int(meta[HEIGHT_KEY]) > 0


def test_not_found(stub: services_pb2_grpc.LedgerServiceStub, story: Story) -> None:
    cases = [
        (lambda: stub.GetBatch(services_pb2.GetBatchRequest(batch_id="NOPE-1")), "unknown_batch"),
        (
            lambda: stub.GetProject(services_pb2.GetProjectRequest(project_id="NOPE")),
            "unknown_project",
        ),
        (
            lambda: stub.GetCertificate(services_pb2.GetCertificateRequest(certificate_id="RC-0")),
            "unknown_certificate",
        ),
        (
            lambda: stub.GetReport(services_pb2.GetReportRequest(data_hash=bytes(32))),
            "unknown_report",
        ),
        (lambda: stub.GetTx(services_pb2.GetTxRequest(tx_hash=bytes(32))), "unknown_tx"),
        (lambda: stub.GetBlock(services_pb2.GetBlockRequest(height=10**9)), "unknown_block"),
        (
            lambda: stub.GetBlock(services_pb2.GetBlockRequest(block_hash=bytes(32))),
            "unknown_block",
        ),
        (
            lambda: stub.GetAccount(
                services_pb2.GetAccountRequest(address=PrivateKey(bytes(32)).address)
            ),
            "unknown_account",
        ),
        (
            lambda: stub.GetAccountHistory(
                services_pb2.GetAccountHistoryRequest(address=PrivateKey(bytes(32)).address)
            ),
            "unknown_account",
        ),
        (
            lambda: stub.GetBatchHistory(services_pb2.GetBatchHistoryRequest(batch_id="NOPE")),
            "unknown_batch",
        ),
    ]
    for call, ledger_code in cases:
        code, _, meta = _error(call)
        assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.NOT_FOUND, ledger_code)


def test_permission_denied(stub: services_pb2_grpc.LedgerServiceStub, story: Story) -> None:
    c = LedgerClient(stub)
    raw = c.build(
        ledger_pb2.RegisterProject(
            project_id="CN15-GY-0002",
            name="x",
            region="CN-15",
            kind=ledger_pb2.PROJECT_KIND_FOREST,
            area_centihectares=1,
            metadata_hash=bytes(32),
            methodology="m",
            metadata_uri="u",
            owner=story.company.address,
        ),
        [story.keys["verifier"]],
    )
    code, details, meta = _error(_submit(stub, raw, wait=True))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.PERMISSION_DENIED, "missing_role")
    assert "issuer" in details


def test_already_exists(stub: services_pb2_grpc.LedgerServiceStub, story: Story) -> None:
    c = LedgerClient(stub)
    raw = c.build(
        ledger_pb2.RegisterAccount(
            address=story.company.address, kind=ledger_pb2.ACCOUNT_KIND_COMPANY, name="again"
        ),
        [story.keys["registrar"]],
    )
    code, _, meta = _error(_submit(stub, raw, wait=True))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.ALREADY_EXISTS, "account_exists")
    # Submitting the very same bytes again is safe: same hash, same (failed) outcome, with or
    # without waiting (the tx is committed, so its outcome is known).
    for wait in (False, True):
        code, _, meta = _error(_submit(stub, raw, wait=wait))
        assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.ALREADY_EXISTS, "account_exists")
        assert meta[TX_HASH_KEY] == tx_hash(raw, "carbon-devnet").hex()


def test_resubmitting_a_committed_tx_returns_its_receipt(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    c = LedgerClient(stub)
    raw = c.build(
        ledger_pb2.Cancel(batch_id=story.batch_id, amount_grams=T, reason="retry"), [story.company]
    )
    first = _submit(stub, raw)()
    again = _submit(stub, raw, wait=True)()  # e.g. a client retrying after a network error
    assert again.committed and again.receipt.code == 0 and again.tx_hash == first.tx_hash
    assert _submit(stub, raw, wait=True)().height == again.height


def test_a_retire_retried_after_a_lost_reply_retires_once(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    """The wallet knows the id and certificate id before it submits; no one can change them;
    resubmitting the same signed Retire after a lost reply never retires a second time."""
    c = LedgerClient(stub)
    raw = c.build(
        ledger_pb2.Retire(batch_id=story.batch_id, amount_grams=T, beneficiary="Retry Co",
                          reason="offset", jurisdiction="CN"),
        [story.company],
    )  # fmt: skip
    expected_id = tx_hash(raw, "carbon-devnet")
    certificate = certificate_id(expected_id)

    def retired() -> int:
        batch = stub.GetBatch(services_pb2.GetBatchRequest(batch_id=story.batch_id), timeout=10)
        return int(batch.supply.retired_grams)

    before = retired()
    assert _submit(stub, raw)().tx_hash == expected_id  # the reply of this call is "lost"
    # A third party appends its own signature to the envelope in flight: refused, same id.
    envelope = ledger_pb2.TxEnvelope.FromString(raw)
    outsider = PrivateKey(hashlib.sha256(b"api-test/outsider").digest())
    extra = ledger_pb2.Signature(
        public_key=outsider.public_key,
        signature=outsider.sign(tx_sign_bytes("carbon-devnet", envelope.body)),
    )
    signatures = sorted([*envelope.signatures, extra], key=lambda s: s.public_key)
    del envelope.signatures[:]
    envelope.signatures.extend(signatures)  # in canonical order: only the extra one is wrong
    code, _, meta = _error(_submit(stub, envelope.SerializeToString(deterministic=True)))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT,
                                            "unexpected_signature")  # fmt: skip
    for _ in range(2):  # the wallet retries, twice
        again = _submit(stub, raw, wait=True)()
        assert again.committed and again.receipt.code == 0 and again.tx_hash == expected_id
    assert retired() == before + T
    found = stub.GetCertificate(
        services_pb2.GetCertificateRequest(certificate_id=certificate), timeout=10
    )
    assert found.amount_grams == T and found.beneficiary == "Retry Co"
    page = stub.ListRetirements(services_pb2.ListRetirementsRequest(beneficiary="Retry Co"))
    assert [item.certificate_id for item in page.items] == [certificate]


def test_list_retirements(stub: services_pb2_grpc.LedgerServiceStub, story: Story) -> None:
    def ids(**fields: Any) -> list[str]:
        request = services_pb2.ListRetirementsRequest(**fields)
        return [c.certificate_id for c in stub.ListRetirements(request, timeout=10).items]

    mine = [story.certificate_id]
    assert ids(event="14th National Winter Games", batch_id=story.batch_id) == mine
    assert ids(beneficiary="Games", project_id=story.project_id) == mine
    h = story.retire_height
    assert story.certificate_id in ids(from_height=h, to_height=h)
    assert ids(to_height=h - 1) == [] and ids(event="Other Games") == []
    page = stub.ListRetirements(services_pb2.ListRetirementsRequest(page_size=1), timeout=10)
    assert len(page.items) == 1 and page.next_page_token
    code, _, meta = _error(
        lambda: stub.ListRetirements(
            services_pb2.ListRetirementsRequest(from_height=5, to_height=4), timeout=10
        )
    )
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "bad_height_range")
    code, _, meta = _error(
        lambda: stub.ListRetirements(
            services_pb2.ListRetirementsRequest(page_token="nope"), timeout=10
        )
    )
    assert meta[ERROR_CODE_KEY] == "bad_page_token"


def test_resubmitting_a_pending_tx_is_idempotent_and_next_nonce_counts_pending(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    c = LedgerClient(stub)
    company = story.company
    nonce = stub.GetAccount(services_pb2.GetAccountRequest(address=company.address)).nonce
    msg = ledger_pb2.Cancel(batch_id=story.batch_id, amount_grams=T, reason="pending")
    later = c.build(msg, [company], nonce=nonce + 1)  # waits behind the gap at ``nonce``
    first = _submit(stub, later)()
    again = _submit(stub, later)()  # the identical tx: success with the same id, not an error
    assert again.tx_hash == first.tx_hash and not again.committed
    info = stub.GetAccount(services_pb2.GetAccountRequest(address=company.address))
    assert (info.nonce, info.next_nonce) == (nonce, nonce)  # a gap is not counted
    assert c.next_nonce(company.address) == nonce
    # Filling the gap commits both; the pending one is then answered with its receipt.
    _submit(stub, c.build(msg, [company], nonce=nonce), wait=True)()
    done = _submit(stub, later, wait=True)()
    assert done.committed and done.tx_hash == first.tx_hash
    assert _submit(stub, later)().committed  # committed: answered so even without waiting
    info = stub.GetAccount(services_pb2.GetAccountRequest(address=company.address))
    assert info.nonce == info.next_nonce == nonce + 2


def test_market_lists_refuse_over_long_ids_like_the_other_rpcs(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    # ListOrders' batch filter and ListTradePrices' project take ids as GetBatch and GetProject
    # do: up to 128 characters; beyond, field_too_long (they once scanned for a 2,000-char id).
    too_long = "x" * 2_000
    calls = [
        lambda: stub.ListOrders(services_pb2.ListOrdersRequest(batch_id=too_long)),
        lambda: stub.ListTradePrices(services_pb2.ListTradePricesRequest(project_id=too_long)),
        lambda: stub.GetBatch(services_pb2.GetBatchRequest(batch_id=too_long)),
    ]
    for call in calls:
        code, details, meta = _error(call)
        assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "field_too_long")
        assert "longer than 128 characters" in details
    longest = "x" * 128  # still an id: nothing matches it
    assert not stub.ListOrders(services_pb2.ListOrdersRequest(batch_id=longest)).items
    assert not stub.ListTradePrices(services_pb2.ListTradePricesRequest(project_id=longest)).items
    code, _, meta = _error(lambda: stub.ListTradePrices(services_pb2.ListTradePricesRequest()))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "missing_field")


def test_hostile_inputs_get_clear_errors_not_internals(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story
) -> None:
    for token in ("99999999999999999999999.0", "1.99999999999", "\u00b2.1", "1.-1", ""):
        request = services_pb2.GetBatchHistoryRequest(batch_id=story.batch_id, page_token=token)
        if not token:
            stub.GetBatchHistory(request)
            continue
        code, details, meta = _error(lambda r=request: stub.GetBatchHistory(r))
        assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "bad_page_token")
    code, details, meta = _error(
        lambda: stub.GetProject(services_pb2.GetProjectRequest(project_id="x" * 1_000_000))
    )
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "field_too_long")
    code, _, meta = _error(
        lambda: stub.GetAccount(services_pb2.GetAccountRequest(address="ct1" + "q" * 100_000))
    )
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_address")
    code, _, meta = _error(lambda: stub.GetProject(services_pb2.GetProjectRequest()))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "missing_field")
    code, _, meta = _error(
        lambda: stub.GetBlock(services_pb2.GetBlockRequest(height=1, block_hash=b"\x01" * 32))
    )
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "ambiguous_request")
    code, _, meta = _error(_submit(stub, b""))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "malformed_tx")
    stream = stub.SubscribeEvents(
        services_pb2.SubscribeEventsRequest(from_height=1, types=["retirement"]), timeout=5
    )
    code, details, meta = _error(lambda: next(iter(stream)))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.INVALID_ARGUMENT, "unknown_event_type")
    assert "retire" in details


def test_resource_exhausted_when_the_mempool_is_full(tmp_path: Path) -> None:
    with running_devnet(tmp_path / "full", max_txs=1) as (info, _node):
        keys: dict[str, Any] = wallet_keys(info)
        with stub_for(info.endpoints[0]) as stub:
            status = stub.GetStatus(services_pb2.StatusRequest())
            # Fill the one-slot pool with a tx stuck behind a nonce gap (nonce 0 never comes).
            filler = make_body(
                status.chain_id,
                keys["issuer"].address,
                1,
                ledger_pb2.Cancel(batch_id="B", amount_grams=1, reason="x"),
            )
            stub.SubmitTx(services_pb2.SubmitTxRequest(tx=encode_tx(filler, [keys["issuer"]])))
            body = make_body(
                status.chain_id,
                keys["issuer"].address,
                0,
                ledger_pb2.Cancel(batch_id="B", amount_grams=1, reason="x"),
            )
            code, details, meta = _error(_submit(stub, encode_tx(body, [keys["issuer"]])))
    assert (code, meta[ERROR_CODE_KEY]) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "mempool_full")
    assert "try again" in details


@pytest.mark.parametrize("rpc", ["SubscribeBlocks", "SubscribeEvents"])
def test_a_stream_from_a_height_far_past_the_tip_is_refused_not_left_waiting(
    stub: services_pb2_grpc.LedgerServiceStub, story: Story, rpc: str
) -> None:
    # Reproduction: from_height 2^64-1 (or another chain's height) waited silently forever
    request_type = getattr(services_pb2, f"{rpc}Request")
    for far in (2**64 - 1, stub.GetStatus(services_pb2.StatusRequest()).height + 100_001 + 50):
        stream = getattr(stub, rpc)(request_type(from_height=far), timeout=20)
        with pytest.raises(grpc.RpcError) as refused:
            next(iter(stream))
        assert refused.value.code() == grpc.StatusCode.OUT_OF_RANGE  # retry later, elsewhere
        assert dict(refused.value.trailing_metadata())[ERROR_CODE_KEY] == "from_height_too_far"
        assert "at most 100,000 blocks ahead" in refused.value.details()
    if rpc == "SubscribeBlocks":  # a few blocks ahead still waits for its height, then streams
        ahead = stub.GetStatus(services_pb2.StatusRequest()).height + 2
        stream = stub.SubscribeBlocks(request_type(from_height=ahead), timeout=20)
        assert next(iter(stream)).committed.block.header.height == ahead
        stream.cancel()
