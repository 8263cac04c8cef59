"""What executing transactions and blocks produces: state writes, receipts and the app hash.

These types are the contract between the ledger rules (which compute them, purely) and the block
store (which persists them atomically and builds history indexes from them).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from carbon_ticket.chain.merkle import merkle_root

__all__ = ["RECEIPT_DOMAIN", "BlockResult", "Event", "TxResult", "Writes", "results_root"]

RECEIPT_DOMAIN = b"carbonticket/receipt/v1\x00"
_U16_MAX = 0xFFFF

# State key -> new value, or None to delete. Keys are the ledger's own state keys; the store
# keeps them in a namespace of its own.
Writes = Mapping[bytes, bytes | None]


@dataclass(frozen=True, slots=True)
class Event:
    """A typed ledger event, e.g. ``Event("transfer", (("from", a), ("to", b), ...))``."""

    type: str
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class TxResult:
    """The receipt of one transaction in a block. ``code == 0`` means it was applied."""

    tx_hash: bytes
    code: int = 0
    error_code: str = ""
    message: str = ""
    events: tuple[Event, ...] = ()
    # Accounts and batches this tx touched, for the store's history indexes (sorted, unique).
    accounts: tuple[str, ...] = ()
    batches: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the transaction was applied."""
        return self.code == 0

    def canonical_bytes(self) -> bytes:
        """The bytes a block's results root commits to for this receipt.

        Layout (big-endian): domain tag, tx id (32), u32 code, u16-length error code, u16 event
        count, then per event a u16-length type, a u16 attribute count and per attribute a
        u16-length key and a u32-length value (all UTF-8). The free-text ``message`` is left
        out, so rewording an error can never fork the chain; ``accounts`` and ``batches`` are
        index hints derived from the events and the transaction.
        """
        # Every block's results root hashes these for each of its receipts: written inline
        # with prepacked structs (a third of the time of a helper call per field).
        u16, u32 = _U16.pack, _U32.pack
        error_code = self.error_code.encode()
        parts = [RECEIPT_DOMAIN, self.tx_hash, u32(self.code), u16(len(error_code)), error_code,
                 u16(_count(len(self.events)))]  # fmt: skip
        append = parts.append
        for event in self.events:
            kind = event.type.encode()
            append(u16(len(kind)))
            append(kind)
            append(u16(_count(len(event.attributes))))
            for key, value in event.attributes:
                append(_key_part(key))
                raw_value = value.encode()
                append(u32(len(raw_value)))
                append(raw_value)
        return b"".join(parts)


_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


_KEY_PARTS: dict[str, bytes] = {}
_MAX_KEY_PARTS = 4096  # attribute names are a few dozen fixed words; the bound is a safeguard


def _key_part(key: str) -> bytes:
    # An attribute name's u16 length and UTF-8 bytes: the same few names recur in every
    # receipt (eight in each award's event), so each is encoded once.
    part = _KEY_PARTS.get(key)
    if part is None:
        raw = key.encode()
        part = _U16.pack(len(raw)) + raw
        if len(_KEY_PARTS) < _MAX_KEY_PARTS:
            _KEY_PARTS[key] = part
    return part


def _count(n: int) -> int:
    if n > _U16_MAX:
        raise ValueError(f"a receipt cannot hold {n} events or attributes")
    return n


@dataclass(frozen=True, slots=True)
class BlockResult:
    """The effect of a block (or of genesis): writes to apply, receipts, and the new app hash."""

    writes: dict[bytes, bytes | None] = field(default_factory=dict)
    receipts: tuple[TxResult, ...] = ()
    app_hash: bytes = b""
    _results_root: bytes = field(default=b"", init=False, repr=False, compare=False)
    _receipt_bytes: tuple[bytes, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def receipt_bytes(self) -> tuple[bytes, ...]:
        """Each receipt's ``canonical_bytes()``, in block order, computed once: the results root
        hashes them and the store keeps them as the receipts' stored form."""
        if self._receipt_bytes is None:
            leaves = tuple(r.canonical_bytes() for r in self.receipts)
            object.__setattr__(self, "_receipt_bytes", leaves)
            return leaves
        return self._receipt_bytes

    def results_root(self) -> bytes:
        """``results_root(self.receipts)``, computed once: the app and the store both check it."""
        if not self._results_root:
            object.__setattr__(self, "_results_root", merkle_root(list(self.receipt_bytes())))
        return self._results_root


def results_root(receipts: Sequence[TxResult]) -> bytes:
    """The Merkle root of a block's receipts (their ``canonical_bytes()``), in block order."""
    return merkle_root([r.canonical_bytes() for r in receipts])
