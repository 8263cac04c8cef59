"""The block store's key layout, implemented once over any ordered key-value backend.

``KVStore`` holds every read and write of the layout documented in docs/storage.md; a backend
(``KVBackend``) only needs ordered reads, snapshots and atomic durable batch writes.
``MemoryKV`` is the dict-backed backend (``chain.store.MemoryStore``); ``node.store`` supplies
LevelDB. Both stores therefore behave the same by construction.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import DecodeError

from carbon_ticket.chain import keys
from carbon_ticket.chain.block import GENESIS_PREV_HASH, HASH_BYTES, Block, Header
from carbon_ticket.chain.errors import InvalidBlock, InvalidTransaction, StorageError
from carbon_ticket.chain.records import Certificate
from carbon_ticket.chain.results import RECEIPT_DOMAIN, BlockResult, Event, TxResult
from carbon_ticket.chain.tx import tx_hash as compute_tx_id
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "FORMAT_VERSION",
    "MAX_HISTORY_PAGE",
    "HistoryEntry",
    "KVBackend",
    "KVReader",
    "KVSnapshot",
    "KVStore",
    "RetirementEntry",
    "RetirementPage",
    "RetirementQuery",
    "TxLocation",
    "decode_receipt",
    "encode_receipt",
    "name_key",
    "read_tip",
    "receipt_to_proto",
]

# 2: tx ids are tx_id() (the signed bytes), headers carry a results root (issue 12).
# 3: headers carry next_validators_hash (header v3, issue 16).
# 4: batch records carry escrowed and exported grams (issue 17: the market, exports); project
#    records their external and parcel ids, certificates their use and serial range (issue 17).
# 5: the issue 17 records as they landed: a format-4 store written before them (batch supply
#    only) would be misread, so it is refused like any older format.
# 6: receipts are stored as their canonical bytes (``encode_receipt``), not as protobuf. A
#    format-5 store is read as it is (both receipt forms are read) and marked 6 by its next
#    block; a release that writes format 5 refuses a format-6 store instead of misreading it.
FORMAT_VERSION = 6
_READ_AS_IS = frozenset({5})  # older formats this node reads and upgrades with its next block
_UPGRADE_HINT = (
    f"this node cannot read it; move the directory away and let the node sync the chain from "
    f"format-{FORMAT_VERSION} peers, or start a new chain (each format change changed block "
    "hashes)"
)
MAX_HISTORY_PAGE = 1000

# Key layout (docs/storage.md). Heights are uint64 and tx indexes uint32, big-endian, so keys
# sort by height; history keys carry everything and have empty values.
K_FORMAT = b"m/format"
_FORMAT_BYTES = FORMAT_VERSION.to_bytes(4, "big")
K_CHAIN_ID = b"m/chain_id"
K_GENESIS = b"m/genesis"
K_TIP = b"m/tip"  # height(8) || app_hash(32) || last block hash(32)
P_HEADER = b"h/"  # height -> BlockHeader proto
P_TX = b"t/"  # height || index -> len(raw)(4) || raw TxEnvelope || receipt (encode_receipt)
P_BLOCK_HASH = b"i/"  # block hash -> height
P_CERT = b"c/"  # height -> CommitCertificate proto (opaque here)
P_STATE = b"s/"  # the rules' state key -> value
P_TX_INDEX = b"x/"  # tx hash -> height || index
P_ACCOUNT = b"a/"  # name_key(address) || height || index -> b""
P_BATCH = b"b/"  # name_key(batch id) || height || index -> b""
# The public retirement register: height || index -> certificate id, for every retirement and
# per beneficiary, event, batch and project (name_key of the text || height || index).
P_RETIRED = b"r/"
P_RETIRED_BY_BENEFICIARY = b"rb/"
P_RETIRED_BY_EVENT = b"re/"
P_RETIRED_BY_BATCH = b"rt/"
P_RETIRED_BY_PROJECT = b"rp/"
# A filtered register page reads at most this many index entries, so a filter that matches
# rarely cannot make one call scan the whole register; the page then ends early with a cursor.
MAX_RETIREMENT_SCAN = 10_000

_U64 = struct.Struct(">Q")
_POS = struct.Struct(">QI")
_TIP = struct.Struct(">Q32s32s")
_LEN = struct.Struct(">I")
_NAME_KEY_BYTES = 20


@functools.lru_cache(maxsize=1 << 16)
def name_key(name: str) -> bytes:
    """Fixed-width key part for an address or batch id: 20 bytes of its SHA-256."""
    return hashlib.sha256(name.encode()).digest()[:_NAME_KEY_BYTES]


def receipt_to_proto(result: TxResult) -> ledger_pb2.Receipt:
    """The protobuf form of a receipt, as the API answers it."""
    msg = ledger_pb2.Receipt(
        tx_hash=result.tx_hash,
        code=result.code,
        error_code=result.error_code,
        message=result.message,
    )
    for event in result.events:
        ev = msg.events.add(type=event.type)
        for key, value in event.attributes:
            ev.attributes.add(key=key, value=value)
    return msg


# The stored form of a receipt: this byte, the u32-length free-text message, then the receipt's
# canonical bytes after their domain tag and tx id (the index keys hold the id). No protobuf
# Receipt starts with 0xFF (field 31, wire type 7 does not exist), so receipts stored before
# this form (protobuf, until 2026-12-02) are still told apart and read.
_RECEIPT_FORM = b"\xff"
_CANONICAL_HEAD = len(RECEIPT_DOMAIN) + HASH_BYTES
_U16 = struct.Struct(">H")


def encode_receipt(result: TxResult, canonical: bytes | None = None) -> bytes:
    """A receipt's stored form. The tx hash, accounts and batches live in the index keys.

    ``canonical`` is ``result.canonical_bytes()`` when the caller has it: a block's results root
    computed them all (``BlockResult.receipt_bytes``), so committing a block encodes nothing
    again (building a protobuf cost ~16 µs per award event, a fifth of an award's execution).
    """
    body = result.canonical_bytes() if canonical is None else canonical
    message = result.message.encode()
    return b"".join((_RECEIPT_FORM, _LEN.pack(len(message)), message, body[_CANONICAL_HEAD:]))


def decode_receipt(tx_hash: bytes, raw: bytes) -> TxResult:
    """The TxResult of a stored receipt (``accounts`` and ``batches`` are left empty).

    Raises ``struct.error`` (or protobuf's DecodeError, for the older form) for bytes that are
    not a whole receipt.
    """
    if raw[:1] == _RECEIPT_FORM:
        try:
            return _decode_stored_receipt(tx_hash, raw)
        except UnicodeDecodeError as exc:
            raise struct.error(f"receipt text is not UTF-8: {exc}") from exc
    return _decode_proto_receipt(tx_hash, raw)


def _decode_stored_receipt(tx_hash: bytes, raw: bytes) -> TxResult:
    # Written out inline: history pages decode a receipt per entry, and an award transaction's
    # holds 1,200 attributes. Slices are not bounds-checked one by one: a length that runs past
    # the end leaves ``pos`` past it, so the next unpack or the final check fails.
    u16, u32 = _U16.unpack_from, _LEN.unpack_from
    pos = len(_RECEIPT_FORM)
    end = pos + 4 + u32(raw, pos)[0]
    message = raw[pos + 4 : end].decode()
    code = u32(raw, end)[0]
    pos = end + 4
    end = pos + 2 + u16(raw, pos)[0]
    error_code = raw[pos + 2 : end].decode()
    count = u16(raw, end)[0]
    pos = end + 2
    events = []
    for _ in range(count):
        end = pos + 2 + u16(raw, pos)[0]
        kind = raw[pos + 2 : end].decode()
        pairs = u16(raw, end)[0]
        pos = end + 2
        attributes = []
        for _ in range(pairs):
            end = pos + 2 + u16(raw, pos)[0]
            key = raw[pos + 2 : end].decode()
            pos = end + 4 + u32(raw, end)[0]
            attributes.append((key, raw[end + 4 : pos].decode()))
        events.append(Event(kind, tuple(attributes)))
    if pos != len(raw):
        raise struct.error(
            "receipt truncated" if pos > len(raw) else "trailing bytes after a receipt"
        )
    return TxResult(
        tx_hash=tx_hash, code=code, error_code=error_code, message=message, events=tuple(events)
    )


def _decode_proto_receipt(tx_hash: bytes, raw: bytes) -> TxResult:
    # The stored form until 2026-12-02: a protobuf Receipt without its tx hash.
    msg = ledger_pb2.Receipt()
    msg.ParseFromString(raw)
    events = tuple(
        Event(ev.type, tuple((a.key, a.value) for a in ev.attributes)) for ev in msg.events
    )
    return TxResult(
        tx_hash=tx_hash,
        code=msg.code,
        error_code=msg.error_code,
        message=msg.message,
        events=events,
    )


@dataclass(frozen=True, slots=True)
class TxLocation:
    """A committed transaction: where it is, its bytes and its receipt."""

    height: int
    index: int
    tx_hash: bytes
    raw: bytes
    result: TxResult


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One transaction in an account's or a batch's history."""

    height: int
    index: int

    @property
    def cursor(self) -> tuple[int, int]:
        """Pass as ``before=`` to get the page of entries older than this one."""
        return (self.height, self.index)


@dataclass(frozen=True, slots=True)
class RetirementQuery:
    """Which retirements to list: every given field must match exactly ("" / 0 = any)."""

    beneficiary: str = ""
    event: str = ""
    batch_id: str = ""
    project_id: str = ""
    from_height: int = 0  # inclusive; 0 = from the first block
    to_height: int = 0  # inclusive; 0 = up to the tip

    def matches(self, cert: Certificate) -> bool:
        """True when ``cert`` satisfies every given field."""
        return all(
            not want or want == have
            for want, have in (
                (self.beneficiary, cert.beneficiary),
                (self.event, cert.event),
                (self.batch_id, cert.batch_id),
                (self.project_id, cert.project_id),
            )
        )

    def index_prefix(self) -> bytes:
        """The register index to scan: the most selective field given, else every retirement."""
        for prefix, value in (
            (P_RETIRED_BY_BATCH, self.batch_id),
            (P_RETIRED_BY_BENEFICIARY, self.beneficiary),
            (P_RETIRED_BY_EVENT, self.event),
            (P_RETIRED_BY_PROJECT, self.project_id),
        ):
            if value:
                return prefix + name_key(value)
        return P_RETIRED


@dataclass(frozen=True, slots=True)
class RetirementEntry:
    """One retirement in the register: where its Retire tx committed, and its certificate."""

    height: int
    index: int
    certificate: Certificate


@dataclass(frozen=True, slots=True)
class RetirementPage:
    """Retirements newest first; ``cursor`` (pass as ``before=``) is None on the last page."""

    entries: list[RetirementEntry]
    cursor: tuple[int, int] | None


def retirement_index_items(
    height: int, index: int, cert: Certificate
) -> list[tuple[bytes, bytes | None]]:
    """The register index entries of a certificate created by tx ``index`` of block ``height``."""
    pos = _POS.pack(height, index)
    value = cert.certificate_id.encode()
    items: list[tuple[bytes, bytes | None]] = [
        (P_RETIRED + pos, value),
        (P_RETIRED_BY_BENEFICIARY + name_key(cert.beneficiary) + pos, value),
        (P_RETIRED_BY_BATCH + name_key(cert.batch_id) + pos, value),
        (P_RETIRED_BY_PROJECT + name_key(cert.project_id) + pos, value),
    ]
    if cert.event:
        items.append((P_RETIRED_BY_EVENT + name_key(cert.event) + pos, value))
    return items


def _certificates_created(result: TxResult, writes: dict[bytes, bytes | None]) -> list[Certificate]:
    """The certificates a successful tx wrote (named by its ``retire`` events)."""
    if not result.ok:
        return []
    found = []
    for event in result.events:
        if event.type != "retire":
            continue
        cert_id = dict(event.attributes).get("certificate_id", "")
        raw = writes.get(keys.certificate_key(cert_id))
        if raw is not None:
            found.append(Certificate.decode(raw))
    return found


# ---------------------------------------------------------------- interfaces


class KVReader(Protocol):
    """Ordered byte-string key-value reads (a database or a snapshot of one)."""

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or None."""
        ...

    def iterate(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Items with ``start <= key < stop`` in key order (descending when ``reverse``)."""
        ...


class KVSnapshot(KVReader, Protocol):
    """A frozen view of a backend; release it with ``close()``."""

    def close(self) -> None:
        """Release the snapshot."""
        ...


class KVBackend(KVReader, Protocol):
    """An ordered key-value database with atomic, durable batch writes."""

    def write(self, items: list[tuple[bytes, bytes | None]]) -> None:
        """Apply every put (None deletes) as one atomic write, durable when it returns."""
        ...

    def snapshot(self) -> KVSnapshot:
        """A consistent read-only view of the current contents."""
        ...

    def close(self) -> None:
        """Release the database."""
        ...


# ---------------------------------------------------------------- the layout, over a backend


@dataclass(frozen=True, slots=True)
class _Tip:
    chain_id: str = ""
    height: int = 0
    app_hash: bytes = b""
    last_hash: bytes = GENESIS_PREV_HASH
    initialized: bool = False


class _Reader:
    """Every read of the layout, over a KVReader and the tip it was taken at."""

    def __init__(self, kv: KVReader, tip: _Tip, name: str) -> None:
        self._kv = kv
        self._tip = tip
        self.name = name

    def _corrupt(self, what: str, exc: Exception | None = None) -> StorageError:
        detail = f": {exc}" if exc is not None else ""
        return StorageError(f"block store {self.name} is inconsistent: {what}{detail}")

    @property
    def chain_id(self) -> str:
        """The chain this store belongs to ("" before genesis)."""
        return self._tip.chain_id

    @property
    def height(self) -> int:
        """Height of the last committed block (0 = genesis only)."""
        return self._tip.height

    @property
    def app_hash(self) -> bytes:
        """Application state hash after the last committed block (or genesis)."""
        return self._tip.app_hash

    @property
    def last_hash(self) -> bytes:
        """Hash of the last header: the ``prev_hash`` the next block must carry."""
        return self._tip.last_hash

    @property
    def initialized(self) -> bool:
        """True once genesis has been written."""
        return self._tip.initialized

    def last_header(self) -> Header | None:
        """The header of the last committed block; None at height 0."""
        return self.get_header(self._tip.height) if self._tip.height else None

    def get(self, key: bytes) -> bytes | None:
        """The value of the rules' state ``key``, or None."""
        return self._kv.get(P_STATE + key)

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every state (key, value) whose key starts with ``prefix``, sorted by key."""
        full = P_STATE + prefix
        cut = len(P_STATE)
        for key, value in self._kv.iterate(full, keys.prefix_end(full)):
            yield key[cut:], value

    def scan_range(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Every state (key, value) with ``start <= key < stop``, ascending (descending if
        ``reverse``), read from the backend as it is consumed."""
        cut = len(P_STATE)
        for key, value in self._kv.iterate(P_STATE + start, P_STATE + stop, reverse):
            yield key[cut:], value

    def genesis(self) -> bytes | None:
        """The genesis document this store was created from."""
        return self._kv.get(K_GENESIS)

    def get_header(self, height: int) -> Header | None:
        """The header at ``height``, or None."""
        if not 0 < height <= self._tip.height:
            return None
        raw = self._kv.get(P_HEADER + _U64.pack(height))
        if raw is None:
            raise self._corrupt(f"header {height} is missing")
        try:
            return Header.decode(raw)
        except InvalidBlock as exc:
            raise self._corrupt(f"header {height} does not decode", exc) from exc

    def get_block(self, height: int) -> Block | None:
        """The block at ``height``, or None."""
        header = self.get_header(height)
        if header is None:
            return None
        start = P_TX + _U64.pack(height)
        txs = tuple(
            value[4 : 4 + _LEN.unpack_from(value)[0]]
            for _, value in self._kv.iterate(start, keys.prefix_end(start))
        )
        try:
            return Block(header=header, txs=txs)
        except InvalidBlock as exc:
            raise self._corrupt(f"block {height} has lost transactions", exc) from exc

    def get_receipts(self, height: int) -> list[TxResult] | None:
        """The receipts of block ``height`` in block order (for results-root proofs), or None."""
        header = self.get_header(height)
        if header is None:
            return None
        start = P_TX + _U64.pack(height)
        receipts: list[TxResult] = []
        for key, value in self._kv.iterate(start, keys.prefix_end(start)):
            index = _POS.unpack_from(key, len(P_TX))[1]
            try:
                size = _LEN.unpack_from(value)[0]
                tx_id = compute_tx_id(value[4 : 4 + size], header.chain_id)
                receipts.append(decode_receipt(tx_id, value[4 + size :]))
            except (DecodeError, struct.error, InvalidTransaction) as exc:
                raise self._corrupt(f"tx {index} of block {height} does not decode", exc) from exc
        if len(receipts) != header.tx_count:
            raise self._corrupt(f"block {height} has lost receipts")
        return receipts

    def get_block_height(self, block_hash: bytes) -> int | None:
        """The height of the block with this hash, or None."""
        raw = self._kv.get(P_BLOCK_HASH + block_hash)
        if raw is None:
            return None
        height: int = _U64.unpack(raw)[0]
        return height if height <= self._tip.height else None

    def get_certificate(self, height: int) -> bytes | None:
        """The serialised CommitCertificate that committed the block at ``height``."""
        if not 0 < height <= self._tip.height:
            return None
        return self._kv.get(P_CERT + _U64.pack(height))

    def _location(self, height: int, index: int, tx_hash: bytes | None) -> TxLocation | None:
        value = self._kv.get(P_TX + _POS.pack(height, index))
        if value is None:
            return None
        try:
            size = _LEN.unpack_from(value)[0]
            raw = value[4 : 4 + size]
            tx_hash = tx_hash or compute_tx_id(raw, self._tip.chain_id)
            result = decode_receipt(tx_hash, value[4 + size :])
        except (DecodeError, struct.error, InvalidTransaction) as exc:
            raise self._corrupt(f"tx {index} of block {height} does not decode", exc) from exc
        return TxLocation(height=height, index=index, tx_hash=tx_hash, raw=raw, result=result)

    def get_tx(self, tx_hash: bytes) -> TxLocation | None:
        """A committed transaction by hash, with its receipt, or None."""
        value = self._kv.get(P_TX_INDEX + tx_hash)
        if value is None:
            return None
        height, index = _POS.unpack(value)
        if height > self._tip.height:
            return None
        location = self._location(height, index, tx_hash)
        if location is None:
            raise self._corrupt(f"tx {tx_hash.hex()} is indexed but block {height} lacks it")
        return location

    def get_tx_at(self, height: int, index: int) -> TxLocation | None:
        """Transaction ``index`` of block ``height``, with its receipt, or None."""
        if not (0 < height <= self._tip.height and 0 <= index < 2**32):
            return None
        return self._location(height, index, None)

    def _history(
        self, prefix: bytes, limit: int, before: tuple[int, int] | None
    ) -> list[HistoryEntry]:
        limit = max(0, min(limit, MAX_HISTORY_PAGE))
        stop = keys.prefix_end(prefix) if before is None else prefix + _POS.pack(*before)
        entries: list[HistoryEntry] = []
        if limit == 0:
            return entries
        cut = len(prefix)
        for key, _ in self._kv.iterate(prefix, stop, reverse=True):
            height, index = _POS.unpack_from(key, cut)
            entries.append(HistoryEntry(height, index))
            if len(entries) >= limit:
                break
        return entries

    def account_history(
        self, address: str, limit: int = 100, before: tuple[int, int] | None = None
    ) -> list[HistoryEntry]:
        """Transactions that touched ``address``, newest first, older than ``before``.

        At most ``min(limit, MAX_HISTORY_PAGE)`` entries; page on with ``entries[-1].cursor``.
        """
        return self._history(P_ACCOUNT + name_key(address), limit, before)

    def batch_history(
        self, batch_id: str, limit: int = 100, before: tuple[int, int] | None = None
    ) -> list[HistoryEntry]:
        """Transactions that touched ``batch_id``, newest first, older than ``before``."""
        return self._history(P_BATCH + name_key(batch_id), limit, before)

    def list_retirements(
        self, query: RetirementQuery, limit: int = 100, before: tuple[int, int] | None = None
    ) -> RetirementPage:
        """The public retirement register: certificates matching ``query``, newest first.

        At most ``min(limit, MAX_HISTORY_PAGE)`` entries older than ``before``; a page ends early
        (with a cursor) after ``MAX_RETIREMENT_SCAN`` index entries that did not all match. A
        full page has a cursor only when another matching entry follows it (one more is read to
        know), so no client is sent on to an empty page.
        """
        limit = max(0, min(limit, MAX_HISTORY_PAGE))
        prefix = query.index_prefix()
        first = prefix + _POS.pack(query.from_height, 0)  # the height's first possible entry
        stop = prefix + _POS.pack(query.to_height + 1, 0) if query.to_height else None
        if before is not None and (stop is None or prefix + _POS.pack(*before) < stop):
            stop = prefix + _POS.pack(*before)
        if stop is None:
            stop = keys.prefix_end(prefix)
        entries: list[RetirementEntry] = []
        cursor: tuple[int, int] | None = None
        if limit == 0 or stop <= first:
            return RetirementPage(entries, None)
        cut = len(prefix)
        for scanned, (key, value) in enumerate(self._kv.iterate(first, stop, reverse=True), 1):
            height, index = _POS.unpack_from(key, cut)
            raw = self.get(keys.certificate_key(value.decode()))
            if raw is None:
                raise self._corrupt(f"retirement register names unknown certificate {value!r}")
            cert = Certificate.decode(raw)
            if query.matches(cert):
                if len(entries) == limit:  # one more matches: another page follows this one
                    cursor = (entries[-1].height, entries[-1].index)
                    break
                entries.append(RetirementEntry(height, index, cert))
            if scanned >= MAX_RETIREMENT_SCAN:
                cursor = (height, index)
                break
        return RetirementPage(entries, cursor)


class _SnapshotView(_Reader):
    """A read-only view at one moment; reads the tip from the snapshot itself."""

    def __init__(self, snap: KVSnapshot, name: str) -> None:
        super().__init__(snap, read_tip(snap, name), name)
        self._snap = snap

    def close(self) -> None:
        """Release the snapshot."""
        self._snap.close()

    def __enter__(self) -> _SnapshotView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_tip(kv: KVReader, name: str) -> _Tip:
    """Read and check the store's metadata; raise StorageError naming ``name`` when it is off."""

    def bad(what: str) -> StorageError:
        return StorageError(f"block store {name} is inconsistent: {what}")

    raw_format = kv.get(K_FORMAT)
    if raw_format is None:
        for key, _ in kv.iterate(b"", b"\xff" * 64):
            raise StorageError(
                f"block store {name} holds data (key {key[:16]!r}) but records no format "
                f"version (this node writes version {FORMAT_VERSION}): {_UPGRADE_HINT}"
            )
        return _Tip()
    if len(raw_format) != 4:
        raise bad("the format version is unreadable")
    version = int.from_bytes(raw_format, "big")
    if version > FORMAT_VERSION:
        raise StorageError(
            f"block store {name} has format version {version}, newer than this node's "
            f"{FORMAT_VERSION}; upgrade the node"
        )
    if version < FORMAT_VERSION and version not in _READ_AS_IS:
        raise StorageError(
            f"block store {name} has format version {version}, older than this node's "
            f"{FORMAT_VERSION}: {_UPGRADE_HINT}"
        )
    raw_chain, raw_tip = kv.get(K_CHAIN_ID), kv.get(K_TIP)
    if raw_chain is None or raw_tip is None or kv.get(K_GENESIS) is None:
        raise bad("chain id, genesis or tip record is missing")
    if len(raw_tip) != _TIP.size:
        raise bad("the tip record is unreadable")
    height, app_hash, last_hash = _TIP.unpack(raw_tip)
    tip = _Tip(raw_chain.decode(), height, app_hash, last_hash, True)
    if height == 0:
        if last_hash != GENESIS_PREV_HASH:
            raise bad("height is 0 but the last block hash is set")
    else:
        raw_header = kv.get(P_HEADER + _U64.pack(height))
        if raw_header is None:
            raise bad(f"height is {height} but block {height} is missing")
        try:
            header = Header.decode(raw_header)
        except InvalidBlock as exc:
            raise bad(f"header {height} does not decode: {exc}") from exc
        if header.hash() != last_hash or header.app_hash != app_hash:
            raise bad(f"the tip record does not match header {height}")
        if kv.get(P_CERT + _U64.pack(height)) is None:
            raise bad(f"the certificate of block {height} is missing")
    if kv.get(P_HEADER + _U64.pack(height + 1)) is not None:
        raise bad(f"height is {height} but block {height + 1} exists")
    return tip


class KVStore(_Reader):
    """A BlockStore over an ordered key-value backend: the layout of docs/storage.md."""

    def __init__(self, kv: KVBackend, name: str, expected_chain_id: str | None = None) -> None:
        tip = read_tip(kv, name)
        if expected_chain_id is not None and tip.initialized and tip.chain_id != expected_chain_id:
            raise StorageError(
                f"block store {name} belongs to chain {tip.chain_id!r}, expected "
                f"{expected_chain_id!r}; nothing was written"
            )
        super().__init__(kv, tip, name)
        self._backend = kv
        self._expected_chain_id = expected_chain_id
        self._closed = False
        # A format this node reads as it is (_READ_AS_IS): the next block marks it as ours.
        raw_format = kv.get(K_FORMAT)
        self._mark_format = raw_format is not None and raw_format != _FORMAT_BYTES

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"block store {self.name} is closed")

    def init_genesis(self, chain_id: str, genesis_json: bytes, result: BlockResult) -> None:
        """Write the genesis document and state at height 0; only on an empty store."""
        self._check_open()
        if self._tip.initialized:
            raise StorageError(
                f"block store {self.name} already holds chain {self._tip.chain_id!r}"
            )
        if self._expected_chain_id is not None and chain_id != self._expected_chain_id:
            raise StorageError(
                f"block store {self.name} was opened for chain {self._expected_chain_id!r}, "
                f"genesis is for {chain_id!r}"
            )
        if not chain_id or len(result.app_hash) != HASH_BYTES:
            raise StorageError("genesis needs a chain id and a 32-byte app hash")
        items: list[tuple[bytes, bytes | None]] = [
            (K_FORMAT, _FORMAT_BYTES),
            (K_CHAIN_ID, chain_id.encode()),
            (K_GENESIS, genesis_json),
            (K_TIP, _TIP.pack(0, result.app_hash, GENESIS_PREV_HASH)),
        ]
        items.extend((P_STATE + k, v) for k, v in sorted(result.writes.items()))
        self._backend.write(items)
        self._tip = _Tip(chain_id, 0, result.app_hash, GENESIS_PREV_HASH, True)

    def _check_block(self, block: Block, result: BlockResult) -> list[bytes]:
        header = block.header
        tip = self._tip
        if not tip.initialized:
            raise StorageError(f"block store {self.name} has no genesis yet")
        if header.chain_id != tip.chain_id:
            raise StorageError(
                f"block is for chain {header.chain_id!r}, store holds {tip.chain_id!r}"
            )
        if header.height != tip.height + 1:
            raise StorageError(
                f"block store {self.name} is at height {tip.height}; "
                f"cannot commit block {header.height}"
            )
        if header.prev_hash != tip.last_hash:
            raise StorageError(f"block {header.height} does not extend the stored chain")
        if header.app_hash != result.app_hash:
            raise StorageError(f"block {header.height} app hash differs from the executed result")
        if len(result.receipts) != len(block.txs):
            raise StorageError(
                f"block {header.height} has {len(block.txs)} txs "
                f"but {len(result.receipts)} receipts"
            )
        try:
            hashes = block.tx_hashes()
        except InvalidBlock as exc:
            raise StorageError(f"block {header.height} carries an unparsable tx: {exc}") from exc
        for i, (h, receipt) in enumerate(zip(hashes, result.receipts, strict=True)):
            if receipt.tx_hash != h:
                raise StorageError(f"receipt {i} of block {header.height} is for another tx")
        if not block.verify_tx_root():
            raise StorageError(f"block {header.height} tx_root does not match its transactions")
        if result.results_root() != header.results_root:
            raise StorageError(f"block {header.height} results_root does not match its receipts")
        return hashes

    def commit_block(self, block: Block, certificate: bytes, result: BlockResult) -> None:
        """Persist a committed block with its certificate and effects as one atomic write.

        Refuses (StorageError, nothing written) a block that does not extend the tip, whose app
        hash differs from ``result``, or whose receipts or tx root do not match its transactions.
        """
        self._check_open()
        hashes = self._check_block(block, result)
        header = block.header
        height = header.height
        block_hash = header.hash()
        hkey = _U64.pack(height)
        items: list[tuple[bytes, bytes | None]] = [
            (P_HEADER + hkey, header.encode()),
            (P_BLOCK_HASH + block_hash, hkey),
            (P_CERT + hkey, certificate),
        ]
        for index, (raw, tx_hash, receipt, canonical) in enumerate(
            zip(block.txs, hashes, result.receipts, result.receipt_bytes(), strict=True)
        ):
            pos = _POS.pack(height, index)
            stored = encode_receipt(receipt, canonical)
            items.append((P_TX + pos, _LEN.pack(len(raw)) + raw + stored))
            items.append((P_TX_INDEX + tx_hash, pos))
            items.extend((P_ACCOUNT + name_key(a) + pos, b"") for a in receipt.accounts)
            items.extend((P_BATCH + name_key(b) + pos, b"") for b in receipt.batches)
            for cert in _certificates_created(receipt, result.writes):
                items.extend(retirement_index_items(height, index, cert))
        items.extend((P_STATE + k, v) for k, v in result.writes.items())
        items.append((K_TIP, _TIP.pack(height, header.app_hash, block_hash)))
        if self._mark_format:  # in the same write as the first receipts of the new form
            items.append((K_FORMAT, _FORMAT_BYTES))
        self._backend.write(items)
        self._mark_format = False
        self._tip = _Tip(self._tip.chain_id, height, header.app_hash, block_hash, True)

    def snapshot(self) -> _SnapshotView:
        """A consistent read-only view at the current height; close it (or use ``with``)."""
        self._check_open()
        return _SnapshotView(self._backend.snapshot(), self.name)

    def close(self) -> None:
        """Release the backend; further writes raise StorageError."""
        if not self._closed:
            self._closed = True
            self._backend.close()
