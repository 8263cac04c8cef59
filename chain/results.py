"""What executing transactions and blocks produces: state writes, receipts and the app hash.

These types are the contract between the ledger rules (which compute them, purely) and the block
store (which persists them atomically and builds history indexes from them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["BlockResult", "Event", "TxResult", "Writes"]

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


@dataclass(frozen=True, slots=True)
class BlockResult:
    """The effect of a block (or of genesis): writes to apply, receipts, and the new app hash."""

    writes: dict[bytes, bytes | None] = field(default_factory=dict)
    receipts: tuple[TxResult, ...] = ()
    app_hash: bytes = b""
