"""Issue 17's registry rules: project ids, retirement use, serials, exports and imports.

Each invalid case is one clear error that changes nothing (the state is compared before/after).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon_ticket.chain import get_balance, get_batch, get_certificate, get_project
from carbon_ticket.chain.errors import InvalidRequest, NotFound
from carbon_ticket.chain.records import Certificate, Export, serial_string
from carbon_ticket.chain.registry_view import get_export, get_import, list_exports
from carbon_ticket.chain.rules.registry import export_id
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.state import MemoryState
from carbon_ticket.chain.tx import tx_id
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    COMPANY,
    ISSUER,
    OWNER,
    PROJECT_ID,
    REGISTRAR,
    VALIDATORS,
    VERIFIER,
    VINTAGE,
    Ledger,
    T,
    anchor_data,
    attest_report,
    check_code,
    data_hash,
    issue_batch,
    key,
    register_account,
    register_project,
    retire,
    transfer,
)

BRIDGE = key("bridge")
BOUNDARY = data_hash("guyang-boundary")


def _unchanged(chain: Ledger, signer: Any, msg: Any, code: str) -> None:
    """Submit ``msg``; it must fail with ``code`` and leave every state key as it was."""
    before = dict(chain.state.data)
    receipt = chain.submit(signer, msg)
    assert receipt.error_code == code, receipt
    after = {k: v for k, v in chain.state.data.items() if not k.startswith(b"nonce/")}
    assert after == {k: v for k, v in before.items() if not k.startswith(b"nonce/")}


def _supply_adds_up(chain: Ledger, batch_id: str) -> None:
    b = get_batch(chain.state, batch_id)
    total = b.tradable + b.escrowed + b.retired + b.cancelled + b.exported + b.buffer
    assert total == b.issued


# ---------------------------------------------------------------- one forest, one project


def _with_ids(**overrides: Any) -> ledger_pb2.RegisterProject:
    fields: dict[str, Any] = {
        "external_ids": ["CCER-14-2023-0042"],
        "parcel_ids": ["150221-003-017", "150221-003-018"],
        "boundary_hash": BOUNDARY,
    }
    fields.update(overrides)
    return register_project(**fields)


@pytest.fixture
def ids_ledger() -> Ledger:
    """The owner registered and the project registered with an external id and two parcels."""
    chain = Ledger()
    chain.ok(REGISTRAR, register_account(OWNER, ledger_pb2.ACCOUNT_KIND_BUREAU, "Guyang"))
    chain.ok(REGISTRAR, register_account(COMPANY))
    chain.ok(ISSUER, _with_ids())
    return chain


def test_project_keeps_its_ids(ids_ledger: Ledger) -> None:
    project = get_project(ids_ledger.state, PROJECT_ID)
    assert project.external_ids == ("CCER-14-2023-0042",)
    assert project.parcel_ids == ("150221-003-017", "150221-003-018")
    assert project.boundary_hash == BOUNDARY


@pytest.mark.parametrize(
    ("overrides", "code", "holder_named"),
    [
        ({"external_ids": ["CCER-14-2023-0042"], "parcel_ids": []}, "external_id_taken", True),
        ({"external_ids": [], "parcel_ids": ["150221-003-018"]}, "parcel_taken", True),
        (
            {"external_ids": ["VCS-9999"], "parcel_ids": ["150221-009-001", "150221-003-017"]},
            "parcel_taken",
            True,
        ),
        ({"external_ids": ["VCS-9999"], "parcel_ids": ["150221-009-001"]}, "", False),
    ],
)
def test_a_second_project_cannot_claim_a_held_id(
    ids_ledger: Ledger, overrides: dict[str, Any], code: str, holder_named: bool
) -> None:
    msg = _with_ids(project_id="CN15-GY-0002", **overrides)
    if not code:
        ids_ledger.ok(ISSUER, msg)
        assert get_project(ids_ledger.state, "CN15-GY-0002").parcel_ids == ("150221-009-001",)
        return
    before = dict(ids_ledger.state.data)
    receipt = ids_ledger.submit(ISSUER, msg)
    assert (receipt.code, receipt.error_code) == (5, code)
    assert (PROJECT_ID in receipt.message) == holder_named
    changed = {k for k in ids_ledger.state.data if before.get(k) != ids_ledger.state.data[k]}
    assert all(k.startswith(b"nonce/") for k in changed)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"external_ids": ["A", "A"]}, "duplicate_external_id"),
        ({"parcel_ids": ["P-1", "P-1"]}, "duplicate_parcel_id"),
        ({"parcel_ids": ["P-1"], "boundary_hash": b""}, "missing_field"),
        ({"boundary_hash": b"short"}, "invalid_hash"),
        ({"external_ids": [""]}, "missing_field"),
        ({"parcel_ids": [f"P-{i}" for i in range(257)]}, "too_many_entries"),
    ],
)
def test_project_id_fields_are_checked(overrides: dict[str, Any], code: str) -> None:
    chain = Ledger()
    assert check_code(chain.tx(ISSUER, _with_ids(**overrides))) == code


# ---------------------------------------------------------------- use of a retirement


def test_voluntary_is_the_default_use(batch_ledger: Ledger) -> None:
    raw = batch_ledger.tx(COMPANY, retire())
    receipt = batch_ledger.run([raw]).receipts[0]
    assert receipt.ok
    cert = get_certificate(batch_ledger.state, receipt_cert_id(raw))
    assert (cert.use, cert.scheme, cert.emitter_account) == ("voluntary", "", "")
    assert cert.corresponding_adjustment == 0


def receipt_cert_id(raw: bytes) -> str:
    envelope = ledger_pb2.TxEnvelope.FromString(raw)
    return certificate_id(tx_id("carbon-test-1", envelope.body))


def test_compliance_offset_certificate_shows_scheme_and_emitter(batch_ledger: Ledger) -> None:
    msg = retire(
        use=ledger_pb2.RETIREMENT_USE_COMPLIANCE_OFFSET,
        scheme="CN-ETS",
        emitter_account="ETS-33-000123",
        corresponding_adjustment=True,
    )
    raw = batch_ledger.tx(COMPANY, msg)
    receipt = batch_ledger.run([raw]).receipts[0]
    assert receipt.ok
    cert = get_certificate(batch_ledger.state, receipt_cert_id(raw))
    assert (cert.use, cert.scheme, cert.emitter_account, cert.corresponding_adjustment) == (
        "compliance_offset",
        "CN-ETS",
        "ETS-33-000123",
        1,
    )
    attributes = dict(receipt.events[0].attributes)
    assert attributes["use"] == "compliance_offset"
    assert attributes["corresponding_adjustment"] == "true"


@pytest.mark.parametrize(
    "fields",
    [
        {"use": ledger_pb2.RETIREMENT_USE_COMPLIANCE_OFFSET},
        {"use": ledger_pb2.RETIREMENT_USE_COMPLIANCE_OFFSET, "scheme": "CN-ETS"},
        {"use": ledger_pb2.RETIREMENT_USE_COMPLIANCE_OFFSET, "emitter_account": "ETS-1"},
        {"use": ledger_pb2.RETIREMENT_USE_VOLUNTARY, "scheme": "CN-ETS"},
        {"emitter_account": "ETS-1"},
        {"use": 7},
    ],
)
def test_unknown_use_and_scheme_combinations_are_refused(
    batch_ledger: Ledger, fields: dict[str, Any]
) -> None:
    assert check_code(batch_ledger.tx(COMPANY, retire(**fields))) == "invalid_use"


# ---------------------------------------------------------------- serials


def test_serials_are_contiguous_across_retirements_and_exports(batch_ledger: Ledger) -> None:
    first = batch_ledger.tx(COMPANY, retire(amount_grams=3 * T))
    assert batch_ledger.run([first]).receipts[0].ok
    ex = batch_ledger.tx(COMPANY, export_tickets(amount_grams=2 * T))
    assert batch_ledger.run([ex]).receipts[0].ok
    second = batch_ledger.tx(COMPANY, retire(amount_grams=5))
    assert batch_ledger.run([second]).receipts[0].ok

    c1 = get_certificate(batch_ledger.state, receipt_cert_id(first))
    e1 = get_export(batch_ledger.state, export_id_of(ex))
    c2 = get_certificate(batch_ledger.state, receipt_cert_id(second))
    ranges = [(c1.serial_first, c1.serial_last), (e1.serial_first, e1.serial_last),
              (c2.serial_first, c2.serial_last)]  # fmt: skip
    assert ranges == [(1, 3 * T), (3 * T + 1, 5 * T), (5 * T + 1, 5 * T + 5)]
    assert c2.serial == f"CTL-{BATCH_ID}-{5 * T + 1}-{5 * T + 5}"
    assert e1.serial == serial_string(BATCH_ID, 3 * T + 1, 5 * T)


# ---------------------------------------------------------------- export


def export_tickets(**overrides: Any) -> ledger_pb2.ExportTickets:
    fields: dict[str, Any] = {
        "batch_id": BATCH_ID,
        "amount_grams": 1_000 * T,
        "registry": "VERRA",
        "account": "VCS-ACCT-4711",
        "reason": "sold to an overseas buyer",
    }
    fields.update(overrides)
    return ledger_pb2.ExportTickets(**fields)


def export_id_of(raw: bytes) -> str:
    envelope = ledger_pb2.TxEnvelope.FromString(raw)
    return export_id(tx_id("carbon-test-1", envelope.body))


def test_export_moves_grams_to_the_exported_supply(batch_ledger: Ledger) -> None:
    before = get_batch(batch_ledger.state, BATCH_ID)
    raw = batch_ledger.tx(COMPANY, export_tickets())
    receipt = batch_ledger.run([raw]).receipts[0]
    assert receipt.ok
    after = get_batch(batch_ledger.state, BATCH_ID)
    assert after.exported == before.exported + 1_000 * T
    assert after.tradable == before.tradable - 1_000 * T
    assert after.cancelled == before.cancelled  # exported is not cancelled
    _supply_adds_up(batch_ledger, BATCH_ID)
    record = get_export(batch_ledger.state, export_id_of(raw))
    assert (record.account, record.registry, record.target_account, record.amount_grams) == (
        COMPANY.address,
        "VERRA",
        "VCS-ACCT-4711",
        1_000 * T,
    )
    assert dict(receipt.events[0].attributes)["serial"] == record.serial


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"amount_grams": 20_000 * T + 1}, "insufficient_balance"),
        ({"batch_id": "CN15-GY-0001-20230101-20231231-009"}, "unknown_batch"),
    ],
)
def test_export_refused_changes_nothing(
    batch_ledger: Ledger, overrides: dict[str, Any], code: str
) -> None:
    _unchanged(batch_ledger, COMPANY, export_tickets(**overrides), code)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"amount_grams": 0}, "zero_amount"),
        ({"registry": ""}, "missing_field"),
        ({"registry": "verra/x"}, "invalid_registry"),
        ({"account": ""}, "missing_field"),
    ],
)
def test_export_fields_are_checked(
    batch_ledger: Ledger, overrides: dict[str, Any], code: str
) -> None:
    assert check_code(batch_ledger.tx(COMPANY, export_tickets(**overrides))) == code


def test_exports_are_listed_by_batch_and_account_in_pages(batch_ledger: Ledger) -> None:
    made = []
    for i in range(5):
        signer = COMPANY if i % 2 == 0 else ISSUER
        raw = batch_ledger.tx(signer, export_tickets(amount_grams=(i + 1) * T))
        assert batch_ledger.run([raw]).receipts[0].ok
        made.append((signer.address, export_id_of(raw)))

    def walk(**filters: str) -> list[str]:
        out, token = [], ""
        while True:
            page = list_exports(batch_ledger.state, page_size=2, start=int(token or 0), **filters)
            out += [e.export_id for e in page.items]
            token = page.next_page_token
            if not token:
                return out

    assert walk() == [ex for _, ex in made]
    assert walk(batch_id=BATCH_ID) == [ex for _, ex in made]
    assert walk(account=COMPANY.address) == [ex for who, ex in made if who == COMPANY.address]
    assert walk(batch_id="CN15-GY-0001-20230101-20231231-009") == []


class _CountingState:
    """A range-reading state that counts the index entries its scans yield."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self.scanned = 0

    def get(self, key: bytes) -> bytes | None:
        return self._state.get(key)

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self._counted(self._state.scan(prefix))

    def scan_range(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return self._counted(self._state.scan_range(start, stop, reverse))

    def _counted(self, items: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        for item in items:
            self.scanned += 1
            yield item


def test_a_filtered_export_page_reads_its_own_size_not_the_index_before_it(
    batch_ledger: Ledger,
) -> None:
    # Reproduction: a page of one batch's or account's exports scanned that index from its first
    # export on every page, so the last page of a long history read all of it.
    for i in range(12):
        raw = batch_ledger.tx(COMPANY, export_tickets(amount_grams=(i + 1) * T))
        assert batch_ledger.run([raw]).receipts[0].ok
    state = _CountingState(batch_ledger.state)
    filters: dict[str, str]
    for filters in ({"batch_id": BATCH_ID}, {"account": str(COMPANY.address)}):
        seen: list[str] = []
        reads: list[int] = []
        token = ""
        while True:
            state.scanned = 0
            page = list_exports(state, page_size=2, start=int(token or 0), **filters)
            reads.append(state.scanned)
            seen += [e.export_id for e in page.items]
            token = page.next_page_token
            if not token:
                break
        assert len(seen) == len(set(seen)) == 12
        assert max(reads) <= 3, reads  # the page's 2 and the one that makes its token


# ---------------------------------------------------------------- import


def import_batch(**overrides: Any) -> ledger_pb2.ImportBatch:
    fields: dict[str, Any] = {
        "origin_registry": "CCER",
        "origin_id": "CCER-2023-000187",
        "project_id": PROJECT_ID,
        "vintage": VINTAGE,
        "amount_grams": 5_000 * T,
        "recipient": COMPANY.address,
    }
    fields.update(overrides)
    return ledger_pb2.ImportBatch(**fields)


@pytest.fixture
def bridge_ledger(batch_ledger: Ledger) -> Ledger:
    """Plus a registered bridge account holding the bridge role."""
    batch_ledger.ok(REGISTRAR, register_account(BRIDGE, ledger_pb2.ACCOUNT_KIND_COMPANY, "Bridge"))
    grant = ledger_pb2.GrantRole(address=BRIDGE.address, role=ledger_pb2.ROLE_BRIDGE)
    batch_ledger.ok(VALIDATORS[0], grant, cosigners=VALIDATORS[1:])
    return batch_ledger


def test_import_creates_a_batch_once(bridge_ledger: Ledger) -> None:
    receipt = bridge_ledger.ok(BRIDGE, import_batch())
    batch_id = dict(receipt.events[0].attributes)["batch_id"]
    assert batch_id == f"{PROJECT_ID}-20230101-20231231-002"
    batch = get_batch(bridge_ledger.state, batch_id)
    assert (batch.issued, batch.tradable, batch.buffer) == (5_000 * T, 5_000 * T, 0)
    _supply_adds_up(bridge_ledger, batch_id)
    record = get_import(bridge_ledger.state, "CCER", "CCER-2023-000187")
    assert (record.batch_id, record.bridge) == (batch_id, BRIDGE.address)
    # The same origin again, even for another amount or recipient: refused, nothing changes.
    _unchanged(bridge_ledger, BRIDGE, import_batch(amount_grams=1), "already_imported")


@pytest.mark.parametrize(
    ("signer", "overrides", "code"),
    [
        ("company", {}, "missing_role"),
        ("bridge", {"project_id": "CN33-AJ-0001"}, "unknown_project"),
        ("bridge", {"recipient": key("stranger").address}, "unknown_account"),
    ],
)
def test_import_refused_changes_nothing(
    bridge_ledger: Ledger, signer: str, overrides: dict[str, Any], code: str
) -> None:
    who = BRIDGE if signer == "bridge" else COMPANY
    _unchanged(bridge_ledger, who, import_batch(**overrides), code)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"amount_grams": 0}, "zero_amount"),
        ({"origin_registry": "ccer"}, "invalid_registry"),
        ({"origin_id": ""}, "missing_field"),
        ({"recipient": ""}, "missing_field"),
    ],
)
def test_import_fields_are_checked(
    bridge_ledger: Ledger, overrides: dict[str, Any], code: str
) -> None:
    assert check_code(bridge_ledger.tx(BRIDGE, import_batch(**overrides))) == code


# ---------------------------------------------------------------- properties

_HOLDERS = (COMPANY, ISSUER)
_OPERATION = st.tuples(
    st.sampled_from(["retire", "export", "transfer", "cancel"]),
    st.integers(0, 1),  # which holder signs
    # grams: a few, or whole tonnes; some exceed what the holder has left
    st.one_of(st.integers(1, 10), st.integers(1, 3_000).map(lambda t: t * T)),
)


def _ranges(chain: Ledger, batch_id: str) -> list[tuple[int, int]]:
    """Every serial range of the batch's certificates and exports, sorted."""
    found = [
        (c.serial_first, c.serial_last)
        for c in (Certificate.decode(v) for _, v in chain.state.scan(b"cert/"))
        if c.batch_id == batch_id
    ]
    found += [
        (e.serial_first, e.serial_last)
        for e in (Export.decode(v) for _, v in chain.state.scan(b"export/"))
        if e.batch_id == batch_id
    ]
    return sorted(found)


def _message(kind: str, who: int, grams: int) -> Any:
    if kind == "retire":
        return retire(amount_grams=grams)
    if kind == "export":
        return export_tickets(amount_grams=grams)
    if kind == "transfer":
        return transfer((_HOLDERS[1 - who], BATCH_ID, grams))
    return ledger_pb2.Cancel(batch_id=BATCH_ID, amount_grams=grams, reason="loss")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=st.lists(_OPERATION, min_size=1, max_size=12))
def test_supply_and_serials_hold_for_any_sequence(operations: list[tuple[str, int, int]]) -> None:
    chain = Ledger()
    chain.ok(REGISTRAR, register_account(OWNER, ledger_pb2.ACCOUNT_KIND_BUREAU, "Guyang"))
    chain.ok(REGISTRAR, register_account(COMPANY))
    chain.ok(ISSUER, register_project())
    chain.ok(ISSUER, anchor_data())
    chain.ok(VERIFIER, attest_report())
    chain.ok(ISSUER, issue_batch(amount_grams=10_000 * T))
    chain.ok(ISSUER, transfer((COMPANY, BATCH_ID, 3_000 * T)))
    for kind, who, grams in operations:
        signer = _HOLDERS[who]
        msg = _message(kind, who, grams)
        chain.submit(signer, msg)  # may fail (too little left); the invariants hold either way
        _supply_adds_up(chain, BATCH_ID)
        batch = get_batch(chain.state, BATCH_ID)
        held = sum(get_balance(chain.state, h.address, BATCH_ID) for h in _HOLDERS)
        assert held == batch.tradable
        # Serial ranges: contiguous from 1, never overlapping, exactly retired + exported long.
        ranges = _ranges(chain, BATCH_ID)
        next_serial = 1
        for first, last in ranges:
            assert first == next_serial and last >= first
            next_serial = last + 1
        assert next_serial - 1 == batch.retired + batch.exported


def test_export_listing_refuses_two_filters(batch_ledger: Ledger) -> None:
    # Bad page tokens are the API's to refuse (node.api_codec.decode_sequence_token, tested in
    # tests/node/test_api_list_errors.py): the view takes the number a token names.
    with pytest.raises(InvalidRequest) as caught:
        list_exports(batch_ledger.state, batch_id=BATCH_ID, account="ct1x")
    assert caught.value.code == "invalid_filter"


def test_unknown_export_and_import_are_not_found(batch_ledger: Ledger) -> None:
    with pytest.raises(NotFound) as caught:
        get_export(batch_ledger.state, "EX-000000000000000000000000")
    assert caught.value.code == "unknown_export"
    with pytest.raises(NotFound) as caught:
        get_import(batch_ledger.state, "CCER", "nothing")
    assert caught.value.code == "unknown_import"
