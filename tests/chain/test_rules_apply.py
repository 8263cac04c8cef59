"""apply_block / apply_tx: the nonce rule, receipts, the overlay, the app hash and purity."""

from __future__ import annotations

import ast
import pathlib

import pytest

from carbon_ticket.chain import (
    BlockContext,
    MemoryState,
    StateOverlay,
    apply_block,
    apply_tx,
    check_tx,
    compute_app_hash,
    expected_nonce,
)
from carbon_ticket.chain.errors import NotFound, StorageError
from carbon_ticket.chain.keys import batch_key, nonce_key
from carbon_ticket.chain.records import (
    Account,
    Batch,
    Certificate,
    Params,
    Period,
    Project,
    Report,
    Validator,
)
from carbon_ticket.chain.results import BlockResult
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    LIMITS,
    OWNER,
    RESIDENT,
    Ledger,
    T,
    retire,
    transfer,
)


def test_expected_nonce(batch_ledger: Ledger) -> None:
    assert expected_nonce(batch_ledger.state, COMPANY.address) == 0
    batch_ledger.ok(COMPANY, transfer((OWNER, BATCH_ID, 1)))
    assert expected_nonce(batch_ledger.state, COMPANY.address) == 1
    with pytest.raises(NotFound) as info:
        expected_nonce(batch_ledger.state, RESIDENT.address)
    assert info.value.code == "unknown_account"


def test_failed_rule_consumes_only_the_nonce(batch_ledger: Ledger) -> None:
    result = batch_ledger.run([batch_ledger.tx(COMPANY, transfer((OWNER, BATCH_ID, 10**12)))])
    assert not result.receipts[0].ok
    assert result.writes == {nonce_key(COMPANY.address): (1).to_bytes(8, "big")}
    # The same bytes again: now a wrong nonce, and nothing at all changes.
    replay = batch_ledger.run([batch_ledger.blocks[-1][0]])
    assert replay.receipts[0].error_code == "wrong_nonce" and replay.writes == {}


def test_a_block_of_sequential_nonces(batch_ledger: Ledger) -> None:
    raws = [batch_ledger.tx(COMPANY, transfer((OWNER, BATCH_ID, T)), nonce=n) for n in range(3)]
    result = batch_ledger.run(raws)
    assert [r.ok for r in result.receipts] == [True, True, True]
    assert expected_nonce(batch_ledger.state, COMPANY.address) == 3


def test_replay_within_a_block_is_rejected(batch_ledger: Ledger) -> None:
    raw = batch_ledger.tx(COMPANY, transfer((OWNER, BATCH_ID, T)))
    result = batch_ledger.run([raw, raw])
    assert [r.error_code for r in result.receipts] == ["", "wrong_nonce"]


def test_wrong_chain_in_context_changes_nothing(batch_ledger: Ledger) -> None:
    tx = check_tx(batch_ledger.tx(COMPANY, transfer((OWNER, BATCH_ID, T))), CHAIN_ID, LIMITS)
    ctx = BlockContext("other", 9, 0, bytes(32))
    result = apply_block(batch_ledger.state, ctx, [tx])
    assert result.receipts[0].error_code == "wrong_chain_id" and result.writes == {}


def test_apply_tx_incrementally_matches_apply_block(batch_ledger: Ledger) -> None:
    raws = [
        batch_ledger.tx(COMPANY, transfer((OWNER, BATCH_ID, T)), nonce=0),
        batch_ledger.tx(COMPANY, transfer((OWNER, BATCH_ID, T)), nonce=7),  # dropped
        batch_ledger.tx(COMPANY, transfer((OWNER, BATCH_ID, T)), nonce=1),
    ]
    txs = [check_tx(r, CHAIN_ID, LIMITS) for r in raws]
    ctx = BlockContext(CHAIN_ID, 99, 123, batch_ledger.app_hash)
    overlay = StateOverlay(batch_ledger.state)
    kept, receipts = [], []
    for tx in txs:
        receipt = apply_tx(overlay, ctx, tx)
        if receipt.error_code != "wrong_nonce":
            kept.append(tx)
            receipts.append(receipt)
    proposed = BlockResult(
        writes=dict(overlay.writes),
        receipts=tuple(receipts),
        app_hash=compute_app_hash(ctx.prev_app_hash, overlay.writes),
    )
    assert proposed == apply_block(batch_ledger.state, ctx, kept)


def test_app_hash_is_independent_of_write_order() -> None:
    writes = {b"a": b"1", b"b": None, b"c": b""}
    reordered = dict(reversed(list(writes.items())))
    assert compute_app_hash(bytes(32), writes) == compute_app_hash(bytes(32), reordered)
    assert compute_app_hash(bytes(32), writes) != compute_app_hash(
        bytes(32), {b"a": b"1", b"c": b""}
    )
    assert compute_app_hash(bytes(32), {b"ab": b"c"}) != compute_app_hash(bytes(32), {b"a": b"bc"})
    assert compute_app_hash(bytes(32), writes) != compute_app_hash(b"\x01" * 32, writes)


def test_overlay_reads_its_writes_and_merges_scans() -> None:
    base = MemoryState({b"k/1": b"a", b"k/2": b"b", b"x": b"y"})
    overlay = StateOverlay(base)
    overlay.set(b"k/3", b"c")
    overlay.delete(b"k/1")
    child = overlay.child()
    child.set(b"k/0", b"z")
    assert list(child.scan(b"k/")) == [(b"k/0", b"z"), (b"k/2", b"b"), (b"k/3", b"c")]
    assert child.get(b"k/1") is None and child.get(b"x") == b"y"
    child.commit()
    assert overlay.writes == {b"k/3": b"c", b"k/1": None, b"k/0": b"z"}
    with pytest.raises(TypeError):
        overlay.commit()


def test_records_round_trip() -> None:
    period = Period(20230101, 20231231)
    records = [
        Params(),
        Validator("node", b"\x01" * 32, "127.0.0.1:1", "ct1"),
        Account("ct1a", "company", "名字", "", 0),
        Project("P-1", "n", "CN-15", "forest", 1, "m", b"\x02" * 32, "", "ct1o", "ct1i", 3, 4),
        Report(b"\x03" * 32, "P-1", period, "u", "co2-flux", "ct1a", 1),
        Report(b"\x03" * 32, "P-1", period, "u", "co2-flux", "ct1a", 1, "ct1v", 5, period, 5, 2),
        Batch("B", "P-1", period, "i", "r", (b"x", b"yz"), 10, 5, 1, 1, 3, 0, 1, 2),
        Certificate("RC-1", "B", "P-1", period, 5, "b", "r", "CN", "", "ct1a", None, 1, 2, b"h"),
        Certificate("RC-1", "B", "P-1", period, 5, "b", "r", "CN", "e", "ct1a", period, 1, 2, b"h"),
    ]
    for record in records:
        assert type(record).decode(record.encode()) == record
        assert record.encode() == type(record).decode(record.encode()).encode()  # canonical
    with pytest.raises(StorageError):
        Account.decode(records[0].encode())
    with pytest.raises(StorageError):
        Account.decode(records[2].encode() + b"\x00")
    with pytest.raises(StorageError):
        Account.decode(records[2].encode()[:-1])


FORBIDDEN = {"time", "random", "socket", "os", "grpc", "plyvel", "threading", "asyncio", "secrets"}
RULE_MODULES = [
    "state.py",
    "check.py",
    "check_fields.py",
    "check_governance.py",
    "params.py",
    "governance_records.py",
    "execute.py",
    "genesis.py",
    "records.py",
    "keys.py",
    "rules",
]


def test_rules_import_no_io_clock_or_randomness() -> None:
    root = pathlib.Path(__file__).resolve().parents[2] / "chain"
    files = [
        p
        for name in RULE_MODULES
        for p in ([root / name] if name.endswith(".py") else (root / name).glob("*.py"))
    ]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )  # fmt: skip
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_project_records_its_issuer_in_the_encoding() -> None:
    a = Project("P-1", "n", "CN-15", "forest", 1, "m", b"\x02" * 32, "", "ct1o", "ct1i", 3, 4)
    b = Project("P-1", "n", "CN-15", "forest", 1, "m", b"\x02" * 32, "", "ct1o", "ct1j", 3, 4)
    assert a.encode() != b.encode()
    assert Project.decode(a.encode()).issuer == "ct1i"
    # A record written without the issuer field (the old layout) does not decode silently.
    old = a.encode().replace(b"\x00\x00\x00\x04ct1i", b"")
    with pytest.raises(StorageError):
        Project.decode(old)


@pytest.mark.parametrize("corrupt", [False, True], ids=["intact", "corrupt batch record"])
def test_storage_errors_propagate_instead_of_failing_the_tx(
    batch_ledger: Ledger, corrupt: bool
) -> None:
    if corrupt:
        batch_ledger.state.data[batch_key(BATCH_ID)] = b"B\x00garbage"
    raw = batch_ledger.tx(COMPANY, retire())
    tx = check_tx(raw, CHAIN_ID, LIMITS)
    ctx = BlockContext(CHAIN_ID, 99, 0, batch_ledger.app_hash)
    if not corrupt:
        assert apply_block(batch_ledger.state, ctx, [tx]).receipts[0].ok
        return
    with pytest.raises(StorageError) as info:
        apply_block(batch_ledger.state, ctx, [tx])
    assert info.value.code == "corrupt_state"
    overlay = StateOverlay(batch_ledger.state)
    with pytest.raises(StorageError):
        apply_tx(overlay, ctx, tx)
