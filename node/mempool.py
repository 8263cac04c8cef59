"""The pool of admitted, not yet committed transactions.

Admission hashes a transaction once (its id, to refuse duplicates cheaply), then runs every
stateless check and verifies every signature exactly once; the resulting ``SignedTx`` is kept, by
id and by its exact envelope bytes, so that a block carrying the transaction reuses that object:
it is neither hashed nor verified again on this node (``known``, ``checked``). The pool is
bounded in count and bytes, rejects duplicates and transactions whose nonce is used or too far
ahead, and hands out transactions in nonce order per account.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from carbon_ticket.chain.errors import (
    AlreadyExists,
    LedgerError,
    PreconditionFailed,
    ResourceExhausted,
)
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.tx import SignedTx, decode_certified_tx, tx_hash
from carbon_ticket.node.config import MempoolSettings
from carbon_ticket.node.params import LimitsSource, limits_of

__all__ = ["CheckTx", "Mempool", "MempoolStats"]


class CheckTx(Protocol):
    """``chain.check_tx`` or a wrapper of it: every stateless check and signature verification.

    ``known_id`` is the transaction's id when the caller hashed it already.
    """

    def __call__(
        self, raw: bytes, chain_id: str, limits: Limits, *, known_id: bytes | None = None
    ) -> SignedTx: ...


NonceOf = Callable[[str], int]
_RECENT_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class MempoolStats:
    """Counters for status and metrics."""

    size: int
    bytes: int
    admitted: int
    rejected: int


class Mempool:
    """Bounded, nonce-ordered pool of verified transactions."""

    def __init__(
        self,
        chain_id: str,
        limits: LimitsSource,
        settings: MempoolSettings,
        check_tx: CheckTx,
        nonce_of: NonceOf,
        height_of: Callable[[], int] = lambda: 0,
    ) -> None:
        self._chain_id = chain_id
        self._limits_of = limits_of(limits)  # read each time: governance may change them
        self._settings = settings
        self._check_tx = check_tx
        self._nonce_of = nonce_of
        self._height_of = height_of
        self._txs: dict[bytes, SignedTx] = {}  # insertion-ordered
        self._envelopes: dict[bytes, SignedTx] = {}  # the pending ones by envelope bytes
        self._admitted_at: dict[bytes, int] = {}  # tx hash -> height when admitted (ordered)
        self._slots: dict[str, dict[int, bytes]] = {}  # signer -> nonce -> tx hash
        self._bytes = 0
        # Hashes committed recently: a re-sent copy is answered "already committed" cheaply.
        self._recent: OrderedDict[bytes, None] = OrderedDict()
        # Transactions verified while validating a proposal before their gossip arrived, by
        # envelope bytes (ids leave signatures out): when the gossip (or a client) brings them
        # later, admission reuses the verification.
        self._verified: OrderedDict[bytes, SignedTx] = OrderedDict()
        self.admitted = 0
        self.rejected = 0
        # Refusals by error code, for metrics (node.metrics reads it at scrape time).
        self.rejections: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._txs)

    @property
    def _limits(self) -> Limits:
        return self._limits_of()

    def __contains__(self, tx_hash_: bytes) -> bool:
        return tx_hash_ in self._txs

    def stats(self) -> MempoolStats:
        """Current size and counters."""
        return MempoolStats(len(self._txs), self._bytes, self.admitted, self.rejected)

    def refuse(self, exc: LedgerError) -> None:
        """Count a transaction refused by a check made elsewhere (node.verify_pool)."""
        self.rejected += 1
        self.rejections[exc.code] += 1

    def admit(self, raw: bytes) -> SignedTx:
        """Check, verify and add one transaction; raise a LedgerError saying why not."""
        try:
            tx = self._admit(raw)
        except Exception as exc:
            self.rejected += 1
            self.rejections[exc.code if isinstance(exc, LedgerError) else "internal"] += 1
            raise
        self.admitted += 1
        return tx

    def _admit(self, raw: bytes) -> SignedTx:
        # Verify it is new before paying for a signature check; an envelope that differs from
        # the one we hold (ids leave signatures out) is checked on its own first, so a tampered
        # copy of a pending or committed tx gets its own error, not "already known".
        if raw in self._envelopes:
            raise AlreadyExists("transaction is already pending", "duplicate_tx")
        # Hashed once per node: a tx verified in a block before its gossip came has its id.
        verified = self._verified.get(raw)
        digest = verified.tx_hash if verified is not None else tx_hash(raw, self._chain_id)
        pending = self._txs.get(digest)
        if pending is not None:
            if pending.raw != raw:
                self._check_tx(raw, self._chain_id, self._limits, known_id=digest)
            raise AlreadyExists("transaction is already pending", "duplicate_tx")
        if digest in self._recent:
            self._check_tx(raw, self._chain_id, self._limits, known_id=digest)
            raise AlreadyExists("transaction is already committed", "duplicate_tx")
        if len(self._txs) >= self._settings.max_txs or (
            self._bytes + len(raw) > self._settings.max_bytes
        ):
            raise ResourceExhausted("mempool is full, try again shortly", "mempool_full")
        tx = self._verified.pop(raw, None)  # same envelope only: the id leaves signatures out
        if tx is None:
            tx = self._check_tx(raw, self._chain_id, self._limits, known_id=digest)
        signer, nonce = tx.signer, tx.body.nonce
        # Verify the nonce is neither used nor too far ahead, and the slot is free.
        expected = self._nonce_of(signer)
        if nonce < expected:
            raise PreconditionFailed(
                f"nonce {nonce} of {signer} is already used; the next nonce is {expected}",
                "nonce_used",
            )
        if nonce >= expected + self._settings.max_nonce_gap:
            raise PreconditionFailed(
                f"nonce {nonce} of {signer} is too far ahead of the next nonce {expected}",
                "nonce_too_high",
            )
        slots = self._slots.setdefault(signer, {})
        if nonce in slots:
            raise AlreadyExists(
                f"another transaction of {signer} with nonce {nonce} is pending", "nonce_pending"
            )
        slots[nonce] = digest
        self._txs[digest] = tx
        self._envelopes[raw] = tx
        self._admitted_at[digest] = self._height_of()
        self._bytes += len(raw)
        return tx

    def known(self, raw: bytes) -> SignedTx | None:
        """The checked transaction with exactly these envelope bytes, if this node has one.

        Pending and recently verified transactions are found, by their bytes (the id leaves
        signatures out, so only the very same envelope may reuse a check), without hashing.
        """
        return self._envelopes.get(raw) or self._verified.get(raw)

    def known_id(self, raw: bytes) -> bytes | None:
        """The id of a known envelope (``known``), or None: for ``Block.decode``'s ``id_of``."""
        tx = self.known(raw)
        return tx.tx_hash if tx is not None else None

    def checked(self, raw: bytes, digest: bytes) -> SignedTx:
        """The checked form of a transaction met in a block (id ``digest``): verified at most
        once per node, and not hashed again.

        Pending and previously seen transactions are reused; others are checked now and
        remembered, so their gossip arriving later costs no second verification.
        """
        tx = self.known(raw)
        if tx is None:
            tx = self._check_tx(raw, self._chain_id, self._limits, known_id=digest)
            self._remember(tx)
        return tx

    def certified(self, raw: bytes, digest: bytes) -> SignedTx:
        """Like ``checked``, for a transaction of a block whose commit certificate is verified:
        decoded, not checked (``chain.tx.decode_certified_tx``). Not remembered as verified: a
        later proposal carrying the same envelope is checked in full.
        """
        tx = self.known(raw)
        return tx if tx is not None else decode_certified_tx(raw, digest)

    def unknown(self, raws: Iterable[bytes]) -> list[bytes]:
        """The envelopes this node has not verified yet (matched by bytes, so none is hashed)."""
        return [raw for raw in raws if self.known(raw) is None]

    def remember(self, txs: Iterable[SignedTx]) -> None:
        """Keep transactions verified elsewhere (e.g. by block sync's worker threads)."""
        for tx in txs:
            if tx.raw not in self._envelopes:
                self._remember(tx)

    def _remember(self, tx: SignedTx) -> None:
        self._verified[tx.raw] = tx
        while len(self._verified) > _RECENT_LIMIT // 2:
            self._verified.popitem(last=False)

    def next_nonce(self, signer: str, committed: int | None = None) -> int:
        """The nonce a new transaction of ``signer`` should carry, counting pending ones.

        Counts only the pending run that follows the committed nonce: behind a gap, the first
        free nonce is the one that fills it. ``committed`` is the committed nonce when the
        caller has just read it (GetAccount): then the store is not read again.
        """
        slots = self._slots.get(signer, {})
        nonce = self._nonce_of(signer) if committed is None else committed
        while nonce in slots:
            nonce += 1
        return nonce

    def has_ready(self) -> bool:
        """True when some pending transaction could go into the next block (its account's next
        nonce is pending); transactions stuck behind a nonce gap do not count."""
        return any(self._nonce_of(signer) in slots for signer, slots in self._slots.items())

    def is_ready(self, tx: SignedTx) -> bool:
        """True when ``tx`` carries its account's next nonce."""
        return tx.body.nonce == self._nonce_of(tx.signer)

    def evict_expired(self, height: int) -> int:
        """Drop transactions admitted more than ``tx_ttl_blocks`` heights ago; returns how many.

        Bounds the time a transaction stuck behind a nonce gap (or refused by every proposer)
        holds pool space.
        """
        expired = []
        for digest, admitted_at in self._admitted_at.items():
            if height - admitted_at <= self._settings.tx_ttl_blocks:
                break  # insertion order is admission order
            expired.append(digest)
        for digest in expired:
            self._drop(self._txs[digest])
        return len(expired)

    def admitted_between(self, first: int, last: int, limit: int) -> list[bytes]:
        """The envelopes of at most ``limit`` pending transactions admitted at heights
        ``first..last``, oldest first (for gossiping them again)."""
        raws: list[bytes] = []
        for digest, admitted_at in self._admitted_at.items():
            if admitted_at > last or len(raws) >= limit:
                break  # insertion order is admission order
            if admitted_at >= first:
                raws.append(self._txs[digest].raw)
        return raws

    def reap(self, max_units: int, max_bytes: int) -> list[SignedTx]:
        """Pending transactions worth up to ``max_units`` of work (``SignedTx.work_units``: a
        one-entry transfer is one) and ``max_bytes``, in arrival order, each account's in nonce
        order. So at most ``max_units`` transactions, and fewer when they are heavy.

        A transaction whose predecessor nonce is not pending waits for it. The first one is
        taken whatever its weight, so that no transaction is too heavy ever to be proposed.
        """
        chosen: list[SignedTx] = []
        size = units = 0
        done: set[str] = set()
        for tx in self._txs.values():
            signer = tx.signer
            if signer in done:
                continue
            done.add(signer)
            slots = self._slots.get(signer, {})
            nonce = self._nonce_of(signer)
            while nonce in slots:
                candidate = self._txs[slots[nonce]]
                weight = candidate.work_units
                if size + len(candidate.raw) > max_bytes or (chosen and units + weight > max_units):
                    return chosen
                chosen.append(candidate)
                size += len(candidate.raw)
                units += weight
                nonce += 1
            if units >= max_units:
                break
        return chosen

    def remove_committed(self, txs: Sequence[SignedTx]) -> None:
        """Drop committed transactions and any pending ones whose nonce is now used."""
        for committed in txs:
            digest = committed.tx_hash
            self._recent[digest] = None
            self._verified.pop(committed.raw, None)
            tx = self._txs.get(digest)  # the pending copy may be another envelope of it
            if tx is not None:
                self._drop(tx)
        while len(self._recent) > _RECENT_LIMIT:
            self._recent.popitem(last=False)
        for signer in {tx.signer for tx in txs}:
            slots = self._slots.get(signer)
            if not slots:
                continue
            expected = self._nonce_of(signer)
            for nonce in [n for n in slots if n < expected]:
                self._drop(self._txs[slots[nonce]])

    def _drop(self, tx: SignedTx) -> None:
        del self._txs[tx.tx_hash]
        del self._envelopes[tx.raw]
        del self._admitted_at[tx.tx_hash]
        self._bytes -= len(tx.raw)
        slots = self._slots[tx.signer]
        del slots[tx.body.nonce]
        if not slots:
            del self._slots[tx.signer]
