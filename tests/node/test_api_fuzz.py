"""Fuzz of the public API: every unary ``LedgerService`` RPC with generated requests.

Against one in-process node with committed state (tests/node/api_fuzz_node.py), each request is
built from its protobuf descriptor: every field drawn from edge values (0, 1, 2^32-1, 2^63-1,
2^64-1, empty, huge, control and non-NFC text, bytes of odd lengths, unknown enum values,
repeated fields with thousands of entries up to the API limits) and from values the state holds
(addresses, ids, hashes, page tokens, voucher references), or raw bytes that may not decode at
all. As many requests are made of the state's values alone (a merchant's address with one of its
voucher references, a small page size with a token of a later page): every RPC must reach its
success path, and the lists named in ``_NEXT_PAGES`` a next page, or a fuzz that only ever met
refusals would pass unnoticed. Each answer must be a success or a clear refusal: never
``INTERNAL``/``UNKNOWN`` (nor a deadline: the node keeps answering), and every refusal carries a
ledger error code (trailer and ``ErrorInfo`` alike) that docs/api.md documents. Reads and
simulations must not move the committed height or app hash.

``SubmitTx``, ``SubmitTxs`` and ``SimulateTx`` also get mutated signed transactions (flipped and
cut bytes, another chain id, used and far nonces, 2^64-1 amounts, the wrong key, a missing role):
nothing they carry may change a balance or a supply, and a transaction that commits must have
failed its rules.

The budget is ``CARBON_TICKET_API_FUZZ_EXAMPLES`` examples per test, a multiple of it for the
transaction tests (``derandomize``, no deadline, no example database, as tests/fuzz/test_fuzz.py
runs its targets; the project registers no Hypothesis profile, and CI runs this module with the
rest): about 35 s on the development machine for the default of 25, so it is not marked slow.
``CARBON_TICKET_API_FUZZ_EXAMPLES=400`` is a deeper run (a few minutes).

Found by it: SubmitTxs answered refusals that quote long input whole (test_api_batch_refusals.py).
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # no py.typed
from grpc_status import rpc_status  # type: ignore[import-untyped]  # no stubs installed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.node.errors import ERROR_CODE_KEY, ERROR_DOMAIN
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.node.api_fuzz_node import FuzzNode, fuzz_node

pytestmark = pytest.mark.timeout(300)

# Examples per RPC and kind of request; each transaction test (one test for all the kinds of
# transaction) runs a multiple of it.
EXAMPLES = int(os.environ.get("CARBON_TICKET_API_FUZZ_EXAMPLES", "25"))
_SERVICE = services_pb2.DESCRIPTOR.services_by_name["LedgerService"]
UNARY = [m for m in _SERVICE.methods if not (m.client_streaming or m.server_streaming)]
READS = [m for m in UNARY if m.name not in {"SubmitTx", "SubmitTxs"}]
_SUBMIT = _SERVICE.methods_by_name["SubmitTx"]
_SUBMIT_MANY = _SERVICE.methods_by_name["SubmitTxs"]
_SIMULATE = _SERVICE.methods_by_name["SimulateTx"]
_DOCS = Path(__file__).resolve().parents[2] / "docs"


def _documented_codes() -> frozenset[str]:
    """Every lower-case word in a code span of docs/api.md and of docs/ledger.md (where api.md
    sends readers for the codes of the ledger rules): codes stand alone (`missing_field`) or
    after their status (`NOT_FOUND unknown_order`)."""
    words = set()
    for name in ("api.md", "ledger.md"):
        text = re.sub(r"```.*?```", "", (_DOCS / name).read_text(), flags=re.S)
        for span in re.findall(r"`([^`]+)`", text):
            words.update(re.findall(r"(?<![A-Za-z0-9_])[a-z][a-z0-9_]*(?![A-Za-z0-9_])", span))
    return frozenset(words)


DOCUMENTED_CODES = _documented_codes()
_CALL_TIMEOUT_S = 30.0

U64 = 2**64 - 1
U32 = 2**32 - 1
_U64_EDGES = [0, 1, 2, 2**31 - 1, U32, 2**32, 2**53 + 1, 2**63 - 1, 2**63, U64 - 1, U64]
_U32_EDGES = [0, 1, 2, 7, 366, 367, 1000, 1001, 2**31 - 1, 2**31, U32 - 1, U32]
_I64_EDGES = [0, 1, -1, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63)]
_I32_EDGES = [0, 1, -1, 2**31 - 1, -(2**31)]
_DAYS = [0, 1, 10101, 10102, 19700101, 20230101, 20230229, 20240229, 20231231, 20231232,
         20240101, 29991231, 99991231, 99999999, U32]  # fmt: skip
_HUGE_TEXT = "x" * 1_000_000
_TEXTS = [
    "", " ", "0", "-1", "\x00", "a\x00b", "\t\n\r", "\x7f", "\u0085", "e\u0301",  # e\u0301: not NFC
    "\u00e9", "\u202e", "\ufeff", "\ufffd", "\uffff", "\U0010ffff", "\u0663", "\u0661\u0662",
    "1.0", "0.0", "18446744073709551615.4294967295", "18446744073709551616.0",
    "18446744073709551615.4294967296", "99999999999999999999.9999999999", "1.", ".1", "1.2.3",
    "18446744073709551615", "18446744073709551616", "99999999999999999999", "1e5", "+1",
    "-0", "0x10", "RC-", "RC-" + "0" * 24, "EX-" + "F" * 24, "ct1", "CT1",
    "voting", "passed", "open", "filled", "settled", "pending", "timed_out", "Open",
]  # fmt: skip
# At and past the limits: 128 characters (ids), 1,024 bytes (filters), the request size.
_LONG_TEXTS = ["x" * 128, "x" * 129, "\U0001f600" * 128, "\u00e9" * 513, "\x00" * 300,
               "x" * 1025, "x" * 100_000, _HUGE_TEXT]  # fmt: skip


def _floats() -> st.SearchStrategy[float]:
    return st.floats(allow_nan=True, allow_infinity=True)


# ---------------------------------------------------------------- values from the state


@dataclass(frozen=True)
class Pools:
    """Values the node's state holds, offered to the fields that name them."""

    addresses: list[str]
    ids: list[str]
    hashes: list[bytes]
    tokens: list[str]
    heights: list[int]
    envelopes: list[bytes]  # committed transactions, exactly as committed
    vouchers: list[str]  # voucher references: redeemed, in another Unicode form, or not
    registered: list[str]  # the addresses of registered accounts
    # By field name, or request and field name ("ListVouchersRequest.page_token"): the values
    # the state answers that field with (a merchant's address, its voucher references, a token
    # of a later page of its vouchers, a small page size).
    answered: dict[str, list[Any]]


def _voucher_tokens(node: FuzzNode, page_size: int) -> list[str]:
    """The next-page tokens of the fuzz merchant's vouchers, ``page_size`` a page."""
    merchant, token = node.keys["merchant"].address, ""
    tokens: list[str] = []
    while True:
        request = services_pb2.ListVouchersRequest(
            merchant=merchant, page_size=page_size, page_token=token
        )
        token = node.stub.ListVouchers(request, timeout=10).next_page_token
        if not token:
            return tokens
        tokens.append(token)


def _redemption_tokens(node: FuzzNode) -> list[str]:
    """The next-page token of the fuzz resident's first page of two redemptions."""
    request = services_pb2.ListRedemptionsRequest(resident=node.keys["resident"].address,
                                                  page_size=2)  # fmt: skip
    return [node.stub.ListRedemptions(request, timeout=10).next_page_token]


def _answered(
    node: FuzzNode, vouchers: list[str], voucher_tokens: list[str], redemption_tokens: list[str]
) -> dict[str, list[Any]]:
    """Values the state answers, by field name or by request and field name."""
    return {
        "ListVouchersRequest.page_token": ["", *voucher_tokens],
        "ListRedemptionsRequest.page_token": ["", *redemption_tokens],
        "page_token": [""],  # the first page of any other list
        "page_size": [1, 2, 3],
        "data_hash": [node.report],
        "GetPointsRequest.address": [node.keys["resident"].address],  # only residents have points
        "GetAccountHistoryRequest.address": [node.keys["issuer"].address, node.company.address],
        # The lists' filters: "" (any) or a value that matches more than one item.
        "ListRetirementsRequest.beneficiary": ["", "Fuzz Co"],
        "ListRetirementsRequest.event": ["", "fuzz"],
        "from_height": [0],
        "to_height": [0],
        "ListTradesRequest.account": ["", node.keys["issuer"].address],
        "ExportListRequest.account": [""],  # at most one filter: the batch's
        "merchant": [node.keys["merchant"].address],
        "resident": [node.keys["resident"].address],
        "operator": [node.keys["points-operator"].address],
        "seller": [node.keys["issuer"].address],
        "voucher_ref": vouchers,
        "offer_id": node.offer_ids,
        "batch_id": [node.batch_id],
        "project_id": [node.project_id],
        "export_id": [node.export_id],
        "certificate_id": node.certificates,
        "origin_registry": [node.import_origin[0]],
        "origin_id": [node.import_origin[1]],
        "order_id": [node.order_id],
        "proposal_id": [node.proposal_id],
    }


def _pools(node: FuzzNode) -> Pools:
    registered = [k.address for k in node.keys.values()] + [node.company.address]
    stranger = PrivateKey(b"\x07" * 32).address
    address = registered[0]
    # Malformed, or written oddly (upper case is valid bech32m, a space is not).
    odd = [
        "ct1nope", address.upper(), address[:-1] + ("q" if address[-1] != "q" else "p"),
        "bc" + address[2:], address + "q", address[:20], "ct1" + "q" * 1000, " " + address,
    ]  # fmt: skip
    status = node.status()
    block_hash = status.last_block_hash
    ids = [node.batch_id, node.project_id, node.export_id, *node.certificates, "VERRA", "V-1",
           node.batch_id.lower(), node.batch_id + " ", node.batch_id[:-1], *node.offer_ids,
           *node.import_origin]  # fmt: skip
    heights = [status.height + d for d in (-1, 0, 1, 2, 3)] + [node.order_id, node.order_id + 1]
    redeemed = [*node.voucher_refs, *(unicodedata.normalize("NFD", r) for r in node.voucher_refs
                                      if not r.isascii())]  # fmt: skip
    voucher_pages = [*_voucher_tokens(node, 1), *_voucher_tokens(node, 2)]
    redemption_pages = _redemption_tokens(node)
    tokens = [f"{h}.{i}" for h in heights for i in (0, 1, U32)] + [str(h) for h in heights]
    return Pools(
        addresses=[*registered, stranger, *odd],
        ids=ids,
        hashes=[*node.tx_hashes, node.report, block_hash, bytes(32), b"\xff" * 32],
        tokens=[*tokens, *voucher_pages, *redemption_pages],
        heights=heights,
        envelopes=node.committed_txs,
        vouchers=[*redeemed, redeemed[0] + " ", redeemed[0].lower(), "FZ/8"],
        registered=[str(a) for a in registered],
        answered=_answered(node, redeemed, voucher_pages, redemption_pages),
    )


# ---------------------------------------------------------------- requests from descriptors

_ADDRESS_FIELDS = re.compile(r"address|merchant|resident|operator|seller|account|signer|^to$")
_ID_FIELDS = re.compile(r"_id$|^origin_|registry|beneficiary|event|^batch_ids$")


def _text(field: FieldDescriptor, pools: Pools) -> st.SearchStrategy[str]:
    name = field.name
    own: list[str] = []
    if _ADDRESS_FIELDS.search(name):
        own = pools.addresses
    elif _ID_FIELDS.search(name):
        own = pools.ids
    elif name.endswith("token"):
        own = pools.tokens
    elif name == "voucher_ref":
        own = pools.vouchers
    strategies = [st.sampled_from(_TEXTS), st.sampled_from(_LONG_TEXTS), st.text(max_size=40)]
    if own:
        strategies.insert(0, st.sampled_from(own))
    return st.one_of(strategies)


def _bytes(field: FieldDescriptor, pools: Pools) -> st.SearchStrategy[bytes]:
    own = pools.envelopes if field.name in ("tx", "txs") else pools.hashes
    return st.one_of(
        st.sampled_from(own),
        st.binary(max_size=70),
        st.sampled_from([b"", b"\x00", bytes(31), bytes(33), b"\xff" * 65, bytes(1001)]),
        st.sampled_from([b"\x80" * 300_000, os.urandom(4097)]),  # large and odd
    )


def _integers(field: FieldDescriptor, pools: Pools) -> st.SearchStrategy[int]:
    t = field.type
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        edges, bounds = _U64_EDGES + pools.heights, (0, U64)
    elif t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        edges, bounds = _U32_EDGES + (_DAYS if "day" in field.name else []), (0, U32)
    elif t in (
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SFIXED64,
    ):
        edges, bounds = _I64_EDGES, (-(2**63), 2**63 - 1)
    else:
        edges, bounds = _I32_EDGES, (-(2**31), 2**31 - 1)
    return st.one_of(st.sampled_from(edges), st.integers(*bounds))


def _scalar(field: FieldDescriptor, pools: Pools, depth: int) -> st.SearchStrategy[Any]:
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return _text(field, pools)
    if t == FieldDescriptor.TYPE_BYTES:
        return _bytes(field, pools)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return _floats()
    if t == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        assert enum is not None, field.full_name
        known = [v.number for v in enum.values]
        return st.sampled_from([*known, max(known) + 1, 99, -1, 2**31 - 1, -(2**31)])
    if t == FieldDescriptor.TYPE_MESSAGE:
        return message_strategy(_message_of(field), pools, depth + 1)
    return _integers(field, pools)


def _bulk(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    """Small elements for a repeated field of thousands of entries (the request stays far below
    ``api.max_request_bytes``)."""
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return st.sampled_from(["", "x", "x" * 129, "B-1", "\u00e9"])
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=40)
    if t == FieldDescriptor.TYPE_MESSAGE:
        return st.just(message_factory.GetMessageClass(_message_of(field))())
    if t == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([0, 1, 99])
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.just(0.0)
    return st.sampled_from([0, 1, 2**31 - 1])


_BULK_SIZES = [255, 256, 257, 1000, 1001, 9_999, 10_000, 10_001]


def _values(field: FieldDescriptor, pools: Pools, depth: int) -> st.SearchStrategy[Any]:
    if not _is_repeated(field):
        return _scalar(field, pools, depth)
    one = _scalar(field, pools, depth)
    many = st.builds(lambda v, n: [v] * n, _bulk(field), st.sampled_from(_BULK_SIZES))
    return st.one_of(st.lists(one, max_size=4), many)


def _message_of(field: FieldDescriptor) -> Descriptor:
    """The message type of a message field (the stubs allow None, which no message field has)."""
    message = field.message_type
    assert message is not None, field.full_name
    return message


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and bool(
        _message_of(field).GetOptions().map_entry
    )


_MAX_DEPTH = 3


def message_strategy(
    descriptor: Descriptor, pools: Pools, depth: int = 0
) -> st.SearchStrategy[Any]:
    """Messages of ``descriptor`` with any subset of its fields set to generated values."""
    cls = message_factory.GetMessageClass(descriptor)
    fields = [f for f in descriptor.fields if not _is_map(f)]
    if depth >= _MAX_DEPTH:
        fields = [f for f in fields if f.type != FieldDescriptor.TYPE_MESSAGE]
    optional = {f.name: _values(f, pools, depth) for f in fields}

    def build(values: dict[str, Any]) -> Any:
        message = cls()
        for name, value in values.items():
            _set(message, descriptor.fields_by_name[name], value)
        return message

    return st.fixed_dictionaries({}, optional=optional).map(build)


def _set(message: Any, field: FieldDescriptor, value: Any) -> None:
    if _is_repeated(field):
        target = getattr(message, field.name)
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value:
                target.add().CopyFrom(item)
        else:
            target.extend(value)
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        getattr(message, field.name).CopyFrom(value)
    else:
        setattr(message, field.name, value)


def _state_values(request: Descriptor, field: FieldDescriptor, pools: Pools) -> list[Any]:
    """The values of the state a ``request``'s ``field`` may name: its own by name, else those of
    its kind (registered addresses, ids, hashes, heights); none for the rest."""
    if _is_repeated(field) or field.type == FieldDescriptor.TYPE_MESSAGE:
        return []
    for name in (f"{request.name}.{field.name}", field.name):
        if name in pools.answered:
            return pools.answered[name]
    if field.type == FieldDescriptor.TYPE_STRING:
        if _ADDRESS_FIELDS.search(field.name):
            return pools.registered
        return pools.ids if _ID_FIELDS.search(field.name) else []
    if field.type == FieldDescriptor.TYPE_BYTES:
        return pools.envelopes if field.name == "tx" else pools.hashes
    if field.type in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return pools.heights
    return []


def from_state(descriptor: Descriptor, pools: Pools) -> st.SearchStrategy[Any]:
    """Requests of ``descriptor`` whose every field the state has values for holds one of them,
    the rest left at their defaults: the success paths, which requests of generated fields
    seldom reach (a voucher is found only by its merchant and its reference at once)."""
    cls = message_factory.GetMessageClass(descriptor)
    values = {}
    for field in descriptor.fields:
        if own := _state_values(descriptor, field, pools):
            values[field.name] = st.sampled_from(own)

    def build(chosen: dict[str, Any]) -> Any:
        message = cls()
        for name, value in chosen.items():
            _set(message, descriptor.fields_by_name[name], value)
        return message

    return st.fixed_dictionaries(values).map(build)


def request_strategy(descriptor: Descriptor, pools: Pools) -> st.SearchStrategy[Any]:
    """Requests of generated fields, and requests made of the state's values."""
    return st.one_of(message_strategy(descriptor, pools), from_state(descriptor, pools))


# ---------------------------------------------------------------- raw request bytes


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _raw_fields(descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    """Wire-level pieces a generated message cannot hold: a known field with the wrong wire
    type, invalid UTF-8 in a string, a varint of 10+ bytes, a length past the end, unknown and
    out-of-range field numbers, groups, deep nesting."""
    numbers = [f.number for f in descriptor.fields] + [15, 99, 2**29 - 1]
    field = st.sampled_from(numbers)
    pieces = st.one_of(
        st.builds(lambda n, w, b: _varint(n << 3 | w) + b, field, st.integers(0, 7),
                  st.binary(max_size=12)),
        st.builds(lambda n, b: _varint(n << 3 | 2) + _varint(len(b)) + b, field,
                  st.sampled_from([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"a\xfe", b"\x80\x80"])),
        st.builds(lambda n: _varint(n << 3) + b"\xff" * 10 + b"\x01", field),
        st.builds(lambda n: _varint(n << 3 | 2) + _varint(2**31) + b"x", field),
        st.builds(lambda n: _varint(n << 3 | 2) + _varint(2**64 - 1), field),
        st.just(_varint(0) + b"\x00"),  # field number 0
        st.just(_varint((2**29) << 3)),  # field number out of range
        st.builds(lambda d: _varint(99 << 3 | 3) * d + _varint(99 << 3 | 4) * d,
                  st.sampled_from([1, 100, 1000, 100_000])),  # nested unknown groups
        st.builds(lambda d: (_varint(99 << 3 | 2) + b"\x80\x80\x80\x80\x08") * d,
                  st.sampled_from([1, 64])),
    )  # fmt: skip
    return st.lists(st.one_of(pieces, st.binary(max_size=30)), min_size=1, max_size=4).map(b"".join)


# ---------------------------------------------------------------- calls and what they answer


@dataclass(frozen=True)
class Answer:
    code: grpc.StatusCode
    message: str
    ledger_code: str  # the ledger-error-code trailer ("" on success or when absent)
    reason: str  # ErrorInfo.reason of the rich status ("" when absent)
    domain: str
    response: bytes


def call(node: FuzzNode, method: MethodDescriptor, request: bytes) -> Answer:
    """``request`` (raw bytes) sent to ``method``; its answer, successful or not."""
    path = f"/{_SERVICE.full_name}/{method.name}"
    stub = node.channel.unary_unary(path)
    try:
        response = stub(request, timeout=_CALL_TIMEOUT_S)
    except grpc.RpcError as error:
        return _refusal(error)
    return Answer(grpc.StatusCode.OK, "", "", "", "", response)


def _refusal(error: Any) -> Answer:
    trailer = dict(error.trailing_metadata() or ())
    status = rpc_status.from_call(error)
    reason = domain = ""
    if status is not None and len(status.details) == 1:
        info = error_details_pb2.ErrorInfo()
        if status.details[0].Unpack(info):
            reason, domain = info.reason, info.domain
    ledger_code = str(trailer.get(ERROR_CODE_KEY, ""))
    return Answer(error.code(), error.details() or "", ledger_code, reason, domain, b"")


def assert_clear(method: MethodDescriptor, request: bytes, answer: Answer) -> None:
    """A success that decodes as the method's response, or a refusal that says what was wrong
    in the documented way; never INTERNAL, UNKNOWN, or no answer at all."""
    where = f"{method.name}({request[:200]!r}{'...' if len(request) > 200 else ''})"
    if answer.code == grpc.StatusCode.OK:
        response = message_factory.GetMessageClass(method.output_type).FromString(answer.response)
        for result in getattr(response, "results", ()):  # SubmitTxs: one refusal per tx
            if not result.accepted:
                assert_clear_admission(where, result)
        return
    assert answer.code not in (
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNAVAILABLE,
    ), f"{where} answered {answer.code.name}: {answer.message}"
    assert answer.ledger_code, f"{where}: {answer.code.name} without a ledger error code"
    assert (answer.reason, answer.domain) == (answer.ledger_code, ERROR_DOMAIN), (where, answer)
    assert answer.ledger_code in DOCUMENTED_CODES, (
        f"{where}: {answer.ledger_code} ({answer.message}) is not documented"
    )
    assert answer.message, f"{where}: a refusal without a message"
    assert len(answer.message) <= _MAX_MESSAGE, f"{where}: a message of {len(answer.message)}"


_MAX_MESSAGE = 1_003  # 1,000 characters and "..." (docs/api.md, "Errors")


def assert_clear_admission(where: str, result: services_pb2.TxAdmission) -> None:
    """A transaction of a batch refused as SubmitTx would refuse it: a documented code and a
    message no longer than a status message."""
    assert result.error_code in DOCUMENTED_CODES, (where, result.error_code, result.message)
    assert 0 < len(result.message) <= _MAX_MESSAGE, (where, result.error_code, result.message)


@dataclass(frozen=True)
class Committed:
    height: int
    app_hash: bytes
    mempool: int


def committed(node: FuzzNode) -> Committed:
    status = node.status()  # the node still answers
    return Committed(status.height, status.app_hash, status.mempool_size)


# ---------------------------------------------------------------- the node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzNode]:
    with fuzz_node(tmp_path_factory.mktemp("api-fuzz") / "devnet") as running:
        yield running


@pytest.fixture(scope="module")
def pools(node: FuzzNode) -> Pools:
    return _pools(node)


def _fuzz_settings(scale: int = 1) -> Any:
    return settings(max_examples=EXAMPLES * scale, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])  # fmt: skip


def _run(test: Callable[..., None], strategy: st.SearchStrategy[Any]) -> None:
    _fuzz_settings()(given(strategy)(test))()


# ---------------------------------------------------------------- reads (and every RPC's decoding)


# Fewer examples than this need not reach every success path (about half the requests are made
# of the state's values; the default budget, 25, is well above it).
_REACH_BUDGET = 10
# The lists, whose next page the requests must reach too (the state holds more than a small page
# of each; the pools, what the pages are of, small page sizes and tokens of later pages).
_NEXT_PAGES = {m.name for m in UNARY if "next_page_token" in m.output_type.fields_by_name}


def _reached(method: MethodDescriptor, answer: Answer) -> set[str]:
    """What an answer shows its request reached: a success, a page with a next page."""
    if answer.code != grpc.StatusCode.OK:
        return set()
    response = message_factory.GetMessageClass(method.output_type).FromString(answer.response)
    return {"success", *(["next page"] if getattr(response, "next_page_token", "") else [])}


@pytest.mark.parametrize("method", UNARY, ids=lambda m: m.name)
def test_generated_requests_get_an_answer_or_a_clear_refusal(
    method: MethodDescriptor, node: FuzzNode, pools: Pools
) -> None:
    before = committed(node)
    reached: set[str] = set()  # what the answers showed: every RPC must reach a success

    def fuzz(request: Any) -> None:
        raw = request.SerializeToString()
        answer = call(node, method, raw)
        assert_clear(method, raw, answer)
        reached.update(_reached(method, answer))
        if method in READS:
            assert committed(node) == before, f"{method.name} changed the committed state"

    _run(fuzz, request_strategy(method.input_type, pools))
    if EXAMPLES >= _REACH_BUDGET:
        missing = {"success", *(["next page"] if method.name in _NEXT_PAGES else [])} - reached
        assert not missing, f"no {method.name} request reached a {' or a '.join(missing)}"
    if method not in READS:
        # Generated transactions are garbage or copies of committed ones (answered as retries):
        # nothing to commit.
        assert committed(node) == before


@pytest.mark.parametrize("method", UNARY, ids=lambda m: m.name)
def test_raw_request_bytes_get_an_answer_or_a_clear_refusal(
    method: MethodDescriptor, node: FuzzNode
) -> None:
    before = committed(node)

    def fuzz(raw: bytes) -> None:
        assert_clear(method, raw, call(node, method, raw))

    _run(fuzz, st.one_of(st.binary(max_size=300), _raw_fields(method.input_type)))
    assert committed(node) == before, f"{method.name} changed the committed state"


# ---------------------------------------------------------------- simulated transactions

_MESSAGES = cast(
    "list[FieldDescriptor]", list(ledger_pb2.TxBody.DESCRIPTOR.oneofs_by_name["msg"].fields)
)


def _member_of(message: Any) -> str:
    """The TxBody field that carries ``message``."""
    return next(f.name for f in _MESSAGES if _message_of(f).name == type(message).__name__)


def _bodies(node: FuzzNode, pools: Pools) -> st.SearchStrategy[ledger_pb2.TxBody]:
    """Transaction bodies of every kind with generated fields, a chain id and nonce from the
    edges (the draft's empty and 0 included) and a signer from the state or not."""

    def body(member: FieldDescriptor, message: Any, chain: str, signer: str, nonce: int,
             memo: str) -> ledger_pb2.TxBody:  # fmt: skip
        built = ledger_pb2.TxBody(chain_id=chain, signer=signer, nonce=nonce, memo=memo)
        getattr(built, member.name).CopyFrom(message)
        return built

    member = st.sampled_from(_MESSAGES)
    return member.flatmap(
        lambda m: st.builds(
            body,
            st.just(m),
            message_strategy(_message_of(m), pools, depth=1),
            st.sampled_from(["", node.chain_id, node.chain_id + "x", "\u00e9", "x" * 300]),
            st.sampled_from(pools.addresses),
            st.one_of(st.sampled_from([0, 1, 2, 5, 999, 1000, 2**63, U64]), st.integers(0, U64)),
            st.sampled_from(["", "memo", "x" * 10_000, "\x00"]),
        )
    )


_FAR_NONCE = 2**62  # past any nonce gap: a transaction that passes its checks is still refused


def test_generated_transactions_are_simulated_or_refused_clearly(
    node: FuzzNode, pools: Pools
) -> None:
    """Simulated as drawn; submitted (in a batch) with a nonce no account reaches, so that the
    field checks answer but nothing is admitted."""
    keys = {str(k.address): k for k in [*node.keys.values(), node.company]}
    before = committed(node)

    def fuzz(body: ledger_pb2.TxBody, sign: bool) -> None:
        key = keys.get(str(body.signer))
        if sign and key is not None:
            raw = encode_tx(body, [key])
        else:
            raw = ledger_pb2.TxEnvelope(body=body.SerializeToString()).SerializeToString()
        request = services_pb2.SimulateTxRequest(tx=raw).SerializeToString()
        assert_clear(_SIMULATE, request, call(node, _SIMULATE, request))
        assert committed(node) == before, "a simulation changed the committed state"
        if key is not None:
            assert_refused_far_ahead(node, body, key)
            assert committed(node) == before, "a refused submission changed the committed state"

    _fuzz_settings(8)(given(_bodies(node, pools), st.booleans())(fuzz))()


def assert_refused_far_ahead(node: FuzzNode, body: ledger_pb2.TxBody, key: PrivateKey) -> None:
    """``body`` with a nonce no account reaches, signed by ``key``, submitted in a batch: refused
    clearly by its field checks or for the nonce, never admitted."""
    far = ledger_pb2.TxBody()
    far.CopyFrom(body)
    far.nonce = _FAR_NONCE
    batch = services_pb2.SubmitTxsRequest(txs=[encode_tx(far, [key])]).SerializeToString()
    answer = call(node, _SUBMIT_MANY, batch)
    assert_clear(_SUBMIT_MANY, batch, answer)
    [result] = services_pb2.SubmitTxsResponse.FromString(answer.response).results
    assert not result.accepted, far


# ---------------------------------------------------------------- mutated signed transactions


@dataclass(frozen=True)
class Holdings:
    """What no invalid transaction may change: balances and the batch's supply."""

    balances: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]
    supply: bytes


def holdings(node: FuzzNode) -> Holdings:
    accounts = [node.keys["issuer"].address, node.company.address]
    balances = []
    for address in accounts:
        info = node.stub.GetAccount(services_pb2.GetAccountRequest(address=address), timeout=10)
        balances.append((address, tuple((b.batch_id, b.amount_grams) for b in info.balances)))
    batch = node.stub.GetBatch(services_pb2.GetBatchRequest(batch_id=node.batch_id), timeout=10)
    return Holdings(tuple(balances), batch.supply.SerializeToString(deterministic=True))


def _next_nonce(node: FuzzNode, key: PrivateKey) -> int:
    request = services_pb2.GetSigningInfoRequest(address=key.address)
    return int(node.stub.GetSigningInfo(request, timeout=10).next_nonce)


_AMOUNTS = [U64, U64 - 1, 2**63, 2**63 - 1, 2**53 + 1, 10**15, 1_000 * 10**6 + 1]


def _messages(node: FuzzNode) -> list[Callable[[int], Any]]:
    """Ledger messages of the issuer that would move grams, by amount."""
    company, batch = node.company.address, node.batch_id
    return [
        lambda a: ledger_pb2.Transfer(
            entries=[ledger_pb2.TransferEntry(to=company, batch_id=batch, amount_grams=a)]
        ),
        lambda a: ledger_pb2.Transfer(
            entries=[ledger_pb2.TransferEntry(to=company, batch_id=batch, amount_grams=a)] * 2
        ),
        lambda a: ledger_pb2.Retire(
            batch_id=batch, amount_grams=a, beneficiary="B", reason="r", jurisdiction="CN"
        ),
        lambda a: ledger_pb2.SellOrder(
            batch_id=batch, amount_grams=a, price_fen=a, min_lot_grams=a, expiry_blocks=a
        ),
        lambda a: ledger_pb2.ExportTickets(
            batch_id=batch, amount_grams=a, registry="VERRA", account="V-2"
        ),
        lambda a: ledger_pb2.Buy(order_id=node.order_id, amount_grams=a),
        lambda a: ledger_pb2.Cancel(batch_id=batch, amount_grams=a, reason="r"),
    ]


@dataclass(frozen=True)
class Mutation:
    """How a valid transaction of the issuer was spoiled."""

    kind: str
    arg: Any
    amount: int
    message: int


def _mutations() -> st.SearchStrategy[Mutation]:
    def of(kind: str, arg: st.SearchStrategy[Any]) -> st.SearchStrategy[Mutation]:
        return st.builds(Mutation, st.just(kind), arg, st.integers(1, 10**6), st.integers(0, 6))

    return st.one_of(
        of("flip", st.tuples(st.integers(0, 10**6), st.integers(1, 255))),
        of("truncate", st.integers(0, 10**6)),
        of("append", st.binary(min_size=1, max_size=40)),
        of("chain", st.sampled_from(["", "carbon-other", "x" * 300, "\u00e9"])),
        of("nonce", st.sampled_from(["used", "previous", "far", 2**63, U64 - 1, U64])),
        of("amount", st.sampled_from(_AMOUNTS)),
        of("key", st.sampled_from(["other", "stranger", "both", "none", "twice"])),
        of("role", st.sampled_from(["issue", "register", "grant"])),
        # A committed transaction sent again: a retry (its first answer), or a tampered copy.
        of("replay", st.tuples(st.integers(0, 100), st.integers(0, 10**6), st.integers(0, 255))),
    )


def _spoiled(node: FuzzNode, m: Mutation) -> bytes:
    """The issuer's transaction (or the company's, for a missing role) spoiled by ``m``."""
    if m.kind == "replay":
        which, at, mask = m.arg
        replayed = bytearray(node.committed_txs[which % len(node.committed_txs)])
        replayed[at % len(replayed)] ^= mask
        return bytes(replayed)
    issuer, company = node.keys["issuer"], node.company
    signer, amount = issuer, m.amount
    if m.kind == "amount":
        amount = m.arg
    message = _messages(node)[m.message](amount)
    if m.kind == "role":  # the company holds none of the roles these need
        signer = company
        message = {
            "issue": ledger_pb2.IssueBatch(
                project_id=node.project_id, vintage=ledger_pb2.Period(
                    start_date=20230101, end_date=20231231),
                report_hashes=[node.report], amount_grams=amount, recipient=company.address),
            "register": ledger_pb2.RegisterAccount(
                address=PrivateKey.generate().address, kind=ledger_pb2.ACCOUNT_KIND_COMPANY,
                name="N"),
            "grant": ledger_pb2.GrantRole(address=company.address, role=ledger_pb2.ROLE_ISSUER),
        }[m.arg]  # fmt: skip
    nonce = _next_nonce(node, signer)
    chain = node.chain_id
    if m.kind == "nonce":
        # "far": past [mempool] max_nonce_gap (1,000) even after the example's other
        # transactions used up their nonces (the next one is read before any is sent).
        far = nonce + 2_000
        nonce = {"used": 0, "previous": max(nonce - 1, 0), "far": far}.get(m.arg, m.arg)
    if m.kind == "chain":
        chain = m.arg
    body = ledger_pb2.TxBody(chain_id=chain, signer=signer.address, nonce=nonce)
    member = _member_of(message)
    getattr(body, member).CopyFrom(message)
    keys = [signer]
    if m.kind == "key":
        other = PrivateKey(b"\x09" * 32)
        keys = {"other": [company], "stranger": [other], "both": [signer, company], "none": [],
                "twice": [signer, signer]}[m.arg]  # fmt: skip
    raw = encode_tx(body, keys)
    if m.kind == "flip":
        at, mask = m.arg
        spoilt = bytearray(raw)
        spoilt[at % len(raw)] ^= mask
        raw = bytes(spoilt)
    elif m.kind == "truncate":
        raw = raw[: m.arg % len(raw)]
    elif m.kind == "append":
        raw += m.arg
    return raw


def _wait_committed(node: FuzzNode, tx_hash: bytes) -> services_pb2.TxInfo:
    """The committed transaction ``tx_hash`` (admitted with the next nonce: it commits in the
    next block, made at once; no time is asserted, only that it comes)."""
    for _ in range(2_000):
        try:
            return node.stub.GetTx(services_pb2.GetTxRequest(tx_hash=tx_hash), timeout=10)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND, error
        time.sleep(0.01)
    raise AssertionError(f"admitted transaction {tx_hash.hex()} never committed")


def _assert_failed_if_committed(node: FuzzNode, tx_hash: bytes, what: str) -> None:
    if tx_hash in node.tx_hashes:
        return  # committed before the fuzz: a retry, answered as the first time
    info = _wait_committed(node, tx_hash)
    assert info.receipt.code != 0, f"{what} committed and succeeded: {info.receipt}"


def test_mutated_transactions_are_refused_clearly_and_change_nothing(node: FuzzNode) -> None:
    def fuzz(mutations: list[Mutation], wait: bool) -> None:
        before = holdings(node)
        raws = [_spoiled(node, m) for m in mutations]
        for m, raw in zip(mutations, raws, strict=True):
            simulate = services_pb2.SimulateTxRequest(tx=raw).SerializeToString()
            answer = call(node, _SIMULATE, simulate)
            assert_clear(_SIMULATE, simulate, answer)
            if answer.code == grpc.StatusCode.OK:
                reply = services_pb2.SimulateTxResponse.FromString(answer.response)
                # Only an envelope cut before its signatures may simulate as a success: the
                # unsigned draft its body is.
                assert reply.receipt.code != 0 or not reply.signatures_verified, (m, reply)
        first, rest = raws[0], raws[1:]
        request = services_pb2.SubmitTxRequest(tx=first, wait_for_commit=wait)
        answer = call(node, _SUBMIT, request.SerializeToString())
        assert_clear(_SUBMIT, request.SerializeToString(), answer)
        if answer.code == grpc.StatusCode.OK:
            submitted = services_pb2.SubmitTxResponse.FromString(answer.response)
            _assert_failed_if_committed(node, submitted.tx_hash, f"{mutations[0]}")
        if rest:
            request_many = services_pb2.SubmitTxsRequest(txs=rest).SerializeToString()
            answer = call(node, _SUBMIT_MANY, request_many)
            assert_clear(_SUBMIT_MANY, request_many, answer)
            results = services_pb2.SubmitTxsResponse.FromString(answer.response).results
            assert len(results) == len(rest)
            for m, result in zip(mutations[1:], results, strict=True):
                if result.accepted:
                    _assert_failed_if_committed(node, result.tx_hash, f"{m}")
                else:
                    assert_clear_admission(f"{m}", result)
        assert holdings(node) == before, f"{mutations} changed balances or supply"
        assert node.status().mempool_size == 0, f"{mutations} left a transaction pending"

    mutations = st.lists(_mutations(), min_size=1, max_size=4)
    _fuzz_settings(4)(given(mutations, st.booleans())(fuzz))()


# ---------------------------------------------------------------- one field at an edge


def _bases(node: FuzzNode) -> list[tuple[str, Any]]:
    """Plausible transactions of every kind the devnet's keys may sign: (key name, message)."""
    k = node.keys
    batch, project, report = node.batch_id, node.project_id, node.report
    vintage = ledger_pb2.Period(start_date=20230101, end_date=20231231)
    points = services_pb2.GetPointsRequest(address=k["resident"].address)
    today = node.stub.GetPoints(points, timeout=10).today
    award = ledger_pb2.Award(recipient=k["resident"].address, activity=ledger_pb2.ACTIVITY_WALK,
                             day=today, points=10, external_ref="r-1",
                             evidence_hash=report)  # fmt: skip
    return [
        (
            "registrar",
            ledger_pb2.RegisterAccount(
                address=PrivateKey(b"\x03" * 32).address,
                kind=ledger_pb2.ACCOUNT_KIND_COMPANY,
                name="N",
            ),
        ),
        (
            "registrar",
            ledger_pb2.GrantRole(address=node.company.address, role=ledger_pb2.ROLE_ISSUER),
        ),
        (
            "registrar",
            ledger_pb2.RevokeRole(address=k["merchant"].address, role=ledger_pb2.ROLE_MERCHANT),
        ),
        (
            "issuer",
            ledger_pb2.RegisterProject(
                project_id="CN15-FZ-0002",
                name="P",
                region="CN-15",
                kind=ledger_pb2.PROJECT_KIND_FOREST,
                area_centihectares=1,
                methodology="m",
                owner=k["issuer"].address,
                metadata_hash=report,
                metadata_uri="u",
                external_ids=["e"],
                parcel_ids=["p"],
                boundary_hash=report,
            ),
        ),
        (
            "issuer",
            ledger_pb2.AnchorData(
                project_id=project, data_hash=bytes(range(32)), period=vintage, uri="u", kind="k"
            ),
        ),
        ("verifier", ledger_pb2.AttestReport(data_hash=report, verified_grams=1, period=vintage)),
        (
            "issuer",
            ledger_pb2.IssueBatch(
                project_id=project,
                vintage=vintage,
                report_hashes=[report],
                amount_grams=1,
                recipient=k["issuer"].address,
            ),
        ),
        (
            "issuer",
            ledger_pb2.Transfer(
                entries=[
                    ledger_pb2.TransferEntry(
                        to=node.company.address, batch_id=batch, amount_grams=1
                    )
                ]
            ),
        ),
        (
            "issuer",
            ledger_pb2.Retire(
                batch_id=batch,
                amount_grams=1,
                beneficiary="b",
                reason="r",
                jurisdiction="CN",
                event="e",
                period=vintage,
                use=ledger_pb2.RETIREMENT_USE_COMPLIANCE_OFFSET,
                scheme="s",
                emitter_account="a",
                corresponding_adjustment=True,
            ),
        ),
        ("issuer", ledger_pb2.Cancel(batch_id=batch, amount_grams=1, reason="r")),
        (
            "issuer",
            ledger_pb2.Reversal(
                batch_id=batch, amount_grams=1, loss_report_hash=report, reason="fire"
            ),
        ),
        (
            "issuer",
            ledger_pb2.SellOrder(
                batch_id=batch,
                amount_grams=10**6,
                price_fen=5_600,
                min_lot_grams=1,
                expiry_blocks=10,
            ),
        ),
        ("verifier", ledger_pb2.Buy(order_id=node.order_id, amount_grams=10**6)),
        ("issuer", ledger_pb2.ConfirmPayment(trade_id=1)),
        ("issuer", ledger_pb2.CancelOrder(order_id=node.order_id)),
        (
            "issuer",
            ledger_pb2.ExportTickets(
                batch_id=batch, amount_grams=1, registry="VERRA", account="V-2", reason="r"
            ),
        ),
        (
            "issuer",
            ledger_pb2.ImportBatch(
                origin_registry="CCER",
                origin_id="1",
                project_id=project,
                recipient=k["issuer"].address,
                vintage=vintage,
                amount_grams=1,
            ),
        ),
        ("points-operator", ledger_pb2.AwardPoints(awards=[award])),
        ("resident", ledger_pb2.ExchangePoints(grams=1, batch_id=batch)),
        (
            "merchant",
            ledger_pb2.RegisterOffer(
                offer_id="o-1",
                description="d",
                payment=ledger_pb2.OFFER_PAYMENT_GRAMS,
                amount=1,
                discount="10%",
                validity=ledger_pb2.Period(start_date=20240101, end_date=20991231),
                max_redemptions=5,
                jurisdiction="CN",
            ),
        ),
        (
            "resident",
            ledger_pb2.Redeem(
                merchant=k["merchant"].address, offer_id="o-1", voucher_ref="v-1", batch_id=batch
            ),
        ),
        ("issuer", ledger_pb2.AppointIssuer(project_id=project, issuer=k["issuer"].address)),
        (
            "issuer",
            ledger_pb2.SubmitProposal(title="t", description_uri="u", description_hash=report),
        ),
        ("issuer", ledger_pb2.CastVote(proposal_id=1, option=ledger_pb2.VOTE_OPTION_YES)),
    ]


def _leaves(message: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, field) of every scalar field of ``message`` reachable through set messages and the
    first element of repeated messages, each a place for one edge value."""
    for field in message.DESCRIPTOR.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if _is_map(field):
                continue
            if _is_repeated(field):
                items = getattr(message, field.name)
                if items:
                    yield from _leaves(items[0], (*path, field.name, 0))
            else:
                yield from _leaves(getattr(message, field.name), (*path, field.name))
        else:
            yield (*path, field.name), field


def _with_edge(message: Any, path: tuple[Any, ...], field: FieldDescriptor, value: Any) -> Any:
    copy = type(message)()
    copy.CopyFrom(message)
    target = copy
    for step in path[:-1]:
        target = target[step] if isinstance(step, int) else getattr(target, step)
    if _is_repeated(field):
        items = getattr(target, path[-1])
        del items[:]
        items.extend(value)
    else:
        setattr(target, path[-1], value)
    return copy


def test_one_field_of_a_transaction_at_an_edge_is_simulated_or_refused_clearly(
    node: FuzzNode, pools: Pools
) -> None:
    bases = _bases(node)
    keys = {**node.keys, "company": node.company}
    before = committed(node)

    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        signer, message = data.draw(st.sampled_from(bases), label="base")
        leaves = list(_leaves(message))
        path, field = data.draw(st.sampled_from(leaves), label="field")
        value = data.draw(_values(field, pools, _MAX_DEPTH), label="value")
        edged = _with_edge(message, path, field, value)
        key = keys[signer]
        body = ledger_pb2.TxBody(chain_id=node.chain_id, signer=key.address,
                                 nonce=_next_nonce(node, key))  # fmt: skip
        member = _member_of(edged)
        getattr(body, member).CopyFrom(edged)
        request = services_pb2.SimulateTxRequest(tx=encode_tx(body, [key])).SerializeToString()
        assert_clear(_SIMULATE, request, call(node, _SIMULATE, request))
        assert committed(node) == before, "a simulation changed the committed state"
        assert_refused_far_ahead(node, body, key)

    _fuzz_settings(12)(fuzz)()
