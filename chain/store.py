"""The block store interface and its in-memory implementation.

``BlockStore`` is what the node and the rules use: state reads (``get``/``scan``, the rules'
``StateReader``), blocks, certificates, transactions with receipts, account and batch history,
and ``commit_block``, which persists a committed block and everything it changed as ONE atomic
write. ``chain.kvstore.KVStore`` implements it once over an ordered key-value backend;
``MemoryStore`` plugs in a dict and ``node.store.LevelDBStore`` plugs in LevelDB. The key layout
is in docs/storage.md.

Consistency: a single ``get``, ``scan`` or history page never sees half a block. Callers that
combine several reads (a balance and its history) take a ``snapshot()``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Protocol

from carbon_ticket.chain.block import Block, Header
from carbon_ticket.chain.kvstore import (
    FORMAT_VERSION,
    MAX_HISTORY_PAGE,
    HistoryEntry,
    KVStore,
    RetirementPage,
    RetirementQuery,
    TxLocation,
)
from carbon_ticket.chain.results import BlockResult, TxResult

__all__ = [
    "FORMAT_VERSION",
    "MAX_HISTORY_PAGE",
    "BlockStore",
    "HistoryEntry",
    "MemoryKV",
    "MemoryStore",
    "Snapshot",
    "StoreView",
    "TxLocation",
]


class StoreView(Protocol):
    """Read access to a block store, at its tip or at a snapshot."""

    @property
    def chain_id(self) -> str:
        """The chain this store belongs to ("" before genesis)."""
        ...

    @property
    def height(self) -> int:
        """Height of the last committed block (0 = genesis only, or empty before genesis)."""
        ...

    @property
    def app_hash(self) -> bytes:
        """Application state hash after the last committed block (or genesis)."""
        ...

    @property
    def last_hash(self) -> bytes:
        """Hash of the last header: the ``prev_hash`` the next block must carry."""
        ...

    @property
    def initialized(self) -> bool:
        """True once genesis has been written."""
        ...

    def last_header(self) -> Header | None:
        """The header of the last committed block; None at height 0."""
        ...

    def get(self, key: bytes) -> bytes | None:
        """The value of the rules' state ``key``, or None."""
        ...

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every state (key, value) whose key starts with ``prefix``, sorted by key."""
        ...

    def scan_range(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Every state (key, value) with ``start <= key < stop``, ascending (descending if
        ``reverse``), read as it is consumed (``chain.state.RangeReader``)."""
        ...

    def genesis(self) -> bytes | None:
        """The genesis document this store was created from."""
        ...

    def get_header(self, height: int) -> Header | None:
        """The header at ``height``, or None."""
        ...

    def get_block(self, height: int) -> Block | None:
        """The block at ``height``, or None."""
        ...

    def get_receipts(self, height: int) -> list[TxResult] | None:
        """The receipts of block ``height`` in block order (for results-root proofs), or None."""
        ...

    def get_block_height(self, block_hash: bytes) -> int | None:
        """The height of the block with this hash, or None."""
        ...

    def get_certificate(self, height: int) -> bytes | None:
        """The serialised CommitCertificate that committed the block at ``height``."""
        ...

    def get_tx(self, tx_hash: bytes) -> TxLocation | None:
        """A committed transaction by hash, with its receipt, or None."""
        ...

    def get_tx_at(self, height: int, index: int) -> TxLocation | None:
        """Transaction ``index`` of block ``height``, with its receipt, or None."""
        ...

    def account_history(
        self, address: str, limit: int = 100, before: tuple[int, int] | None = None
    ) -> list[HistoryEntry]:
        """Transactions that touched ``address``, newest first, older than ``before``."""
        ...

    def batch_history(
        self, batch_id: str, limit: int = 100, before: tuple[int, int] | None = None
    ) -> list[HistoryEntry]:
        """Transactions that touched ``batch_id``, newest first, older than ``before``."""
        ...

    def list_retirements(
        self, query: RetirementQuery, limit: int = 100, before: tuple[int, int] | None = None
    ) -> RetirementPage:
        """The public retirement register: certificates matching ``query``, newest first."""
        ...


class Snapshot(StoreView, Protocol):
    """A consistent read-only view; a context manager that releases itself."""

    def close(self) -> None:
        """Release the snapshot."""
        ...

    def __enter__(self) -> Snapshot: ...

    def __exit__(self, *exc: object) -> None: ...


class BlockStore(StoreView, Protocol):
    """The block store: reads plus the two writes, genesis and committed blocks."""

    def init_genesis(self, chain_id: str, genesis_json: bytes, result: BlockResult) -> None:
        """Write the genesis document and state at height 0; only on an empty store."""
        ...

    def commit_block(self, block: Block, certificate: bytes, result: BlockResult) -> None:
        """Persist a committed block with its certificate and effects as one atomic write."""
        ...

    def snapshot(self) -> Snapshot:
        """A consistent read-only view at the current height."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


class MemoryKV:
    """A dict plus a sorted key list: the in-memory KVBackend (writes are trivially durable)."""

    def __init__(self, data: dict[bytes, bytes] | None = None) -> None:
        self._data: dict[bytes, bytes] = dict(data or {})
        self._keys: list[bytes] = sorted(self._data)

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or None."""
        return self._data.get(key)

    def iterate(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Items with ``start <= key < stop``; taken eagerly so later writes do not leak in."""
        lo = bisect.bisect_left(self._keys, start)
        hi = bisect.bisect_left(self._keys, stop, lo)
        keys = self._keys[lo:hi]
        if reverse:
            keys.reverse()
        return iter([(k, self._data[k]) for k in keys])

    def write(self, items: list[tuple[bytes, bytes | None]]) -> None:
        """Apply every put and delete."""
        for key, value in items:
            if value is None:
                if self._data.pop(key, None) is not None:
                    del self._keys[bisect.bisect_left(self._keys, key)]
            else:
                if key not in self._data:
                    bisect.insort(self._keys, key)
                self._data[key] = value

    def snapshot(self) -> MemoryKV:
        """A copy of the current contents (O(n): fine for tests)."""
        return MemoryKV(self._data)

    def close(self) -> None:
        """Nothing to release."""

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every stored item in key order (the raw layout, for tests and tools)."""
        return iter([(k, self._data[k]) for k in self._keys])


class MemoryStore(KVStore):
    """The in-memory BlockStore for tests: the same layout and checks as the LevelDB store."""

    def __init__(self, kv: MemoryKV | None = None, chain_id: str | None = None) -> None:
        self.kv = kv if kv is not None else MemoryKV()
        super().__init__(self.kv, "<memory>", chain_id)
