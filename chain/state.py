"""The state the ledger rules read: a sorted key-value space, an overlay for pending writes, and
read-only queries for the public API.

``StateReader`` is the narrow interface the rules consume; the block store implements it over
LevelDB. ``MemoryState`` is the dict-backed implementation for tests. ``StateOverlay`` collects
a block's (or a transaction's) writes on top of a reader; reads see those pending writes.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import NotFound
from carbon_ticket.chain.records import (
    ROLES,
    Account,
    Batch,
    Certificate,
    Evidence,
    Offer,
    Params,
    PointsAccount,
    Project,
    Redemption,
    Report,
    Settlement,
    Validator,
    ValidatorSet,
)

__all__ = [
    "AccountView",
    "MemoryState",
    "RangeReader",
    "StateOverlay",
    "StateReader",
    "expected_nonce",
    "get_account",
    "get_balance",
    "get_balances",
    "get_batch",
    "get_certificate",
    "get_offer",
    "get_params",
    "get_points",
    "get_points_earned",
    "get_project",
    "get_redemption",
    "get_report",
    "get_roles",
    "get_settlement",
    "get_validators",
    "has_role",
    "list_evidence",
    "list_offers",
    "validator_history",
    "validators_at",
]


@runtime_checkable
class StateReader(Protocol):
    """Read access to ledger state: point reads and sorted prefix scans."""

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None."""
        ...

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with ``prefix``, sorted by key."""
        ...


@runtime_checkable
class RangeReader(StateReader, Protocol):
    """A StateReader that also reads a key range lazily, in either direction.

    For the public API's views, never for the rules: a page of a long index (the market's price
    history) then costs what it returns, not the index's length. The rules' overlay has no
    ranges, so the consensus path cannot come to depend on them.
    """

    def scan_range(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) with ``start <= key < stop``, ascending (descending if
        ``reverse``), read as it is consumed."""
        ...


class MemoryState:
    """A dict-backed StateReader, for tests and tools. ``apply`` folds a block's writes in."""

    def __init__(self, data: Mapping[bytes, bytes] | None = None) -> None:
        self.data: dict[bytes, bytes] = dict(data or {})

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None."""
        return self.data.get(key)

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) under ``prefix``, sorted by key."""
        for key in sorted(k for k in self.data if k.startswith(prefix)):
            yield key, self.data[key]

    def scan_range(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) with ``start <= key < stop``, sorted (descending if ``reverse``)."""
        for key in sorted((k for k in self.data if start <= k < stop), reverse=reverse):
            yield key, self.data[key]

    def apply(self, writes: Mapping[bytes, bytes | None]) -> None:
        """Apply writes (None deletes) as the store would after a commit."""
        for key, value in writes.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value


_MISSING = object()


class StateOverlay:
    """Pending writes over a StateReader; reads see the writes first.

    ``writes`` maps key -> value, or None for a deletion. An overlay over another overlay is a
    transaction's scratch space: ``commit()`` folds it into its parent, dropping it discards it.
    Reads that reach the base reader are cached so a block reads each stored key once.
    """

    __slots__ = ("_base", "_cache", "writes")

    def __init__(self, base: StateReader) -> None:
        self._base = base
        self._cache: dict[bytes, bytes | None] | None = (
            None if isinstance(base, StateOverlay) else {}
        )
        self.writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        """The pending value if written, else the base value."""
        value = self.writes.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        cache = self._cache
        if cache is None:
            return self._base.get(key)
        value = cache.get(key, _MISSING)
        if value is _MISSING:
            value = cache[key] = self._base.get(key)
        return value  # type: ignore[return-value]

    def set(self, key: bytes, value: bytes) -> None:
        """Write ``value`` under ``key``."""
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        """Delete ``key``."""
        self.writes[key] = None

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """The base scan merged with pending writes under ``prefix``, sorted by key."""
        pending = sorted((k, v) for k, v in self.writes.items() if k.startswith(prefix))
        pending_keys = {k for k, _ in pending}
        base = ((k, v) for k, v in self._base.scan(prefix) if k not in pending_keys)
        for key, value in heapq.merge(base, pending, key=lambda kv: kv[0]):
            if value is not None:
                yield key, value

    def child(self) -> StateOverlay:
        """A scratch overlay over this one (for one transaction)."""
        return StateOverlay(self)

    def commit(self) -> None:
        """Fold this overlay's writes into its parent overlay."""
        if not isinstance(self._base, StateOverlay):
            raise TypeError("only a child overlay can be committed into its parent")
        self._base.writes.update(self.writes)
        self.writes = {}


# ---------------------------------------------------------------- typed reads (read-only API)


def expected_nonce(state: StateReader, address: str) -> int:
    """The next nonce ``address`` must use; raise NotFound if it is not a registered account."""
    raw = state.get(keys.nonce_key(address))
    if raw is None:
        raise NotFound(
            f"account {address} is not registered; ask a registrar to register it",
            "unknown_account",
        )
    return keys.decode_u64(raw)


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account with its roles and next nonce, as the public API shows it."""

    account: Account
    roles: tuple[str, ...]
    nonce: int


def has_role(state: StateReader, role: str, address: str) -> bool:
    """True when ``address`` holds ``role``."""
    return state.get(keys.role_key(role, address)) is not None


def get_roles(state: StateReader, address: str) -> tuple[str, ...]:
    """The roles ``address`` holds, in the fixed role order."""
    return tuple(r for r in ROLES[1:] if has_role(state, r, address))


def get_account(state: StateReader, address: str) -> AccountView:
    """A registered account with roles and nonce; raise NotFound (``unknown_account``)."""
    raw = state.get(keys.account_key(address))
    if raw is None:
        raise NotFound(f"account {address} is not registered", "unknown_account")
    return AccountView(
        Account.decode(raw), get_roles(state, address), expected_nonce(state, address)
    )


def get_balance(state: StateReader, address: str, batch_id: str) -> int:
    """Tradable grams of one batch held by ``address`` (0 if none)."""
    raw = state.get(keys.balance_key(address, batch_id))
    return 0 if raw is None else keys.decode_u64(raw)


def get_balances(state: StateReader, address: str) -> dict[str, int]:
    """Every non-zero tradable balance of ``address`` by batch id (a prefix scan)."""
    prefix = keys.balance_prefix(address)
    return {
        key[len(prefix) :].decode(): keys.decode_u64(value) for key, value in state.scan(prefix)
    }


def get_project(state: StateReader, project_id: str) -> Project:
    """A registered project; raise NotFound (``unknown_project``)."""
    raw = state.get(keys.project_key(project_id))
    if raw is None:
        raise NotFound(f"project {project_id} is not registered", "unknown_project")
    return Project.decode(raw)


def get_report(state: StateReader, data_hash: bytes) -> Report:
    """An anchored report by data hash; raise NotFound (``unknown_report``)."""
    raw = state.get(keys.report_key(data_hash))
    if raw is None:
        raise NotFound(f"no report with data hash {data_hash.hex()} is anchored", "unknown_report")
    return Report.decode(raw)


def get_batch(state: StateReader, batch_id: str) -> Batch:
    """A batch with its supply counters; raise NotFound (``unknown_batch``)."""
    raw = state.get(keys.batch_key(batch_id))
    if raw is None:
        raise NotFound(f"batch {batch_id} does not exist", "unknown_batch")
    return Batch.decode(raw)


def get_certificate(state: StateReader, certificate_id: str) -> Certificate:
    """A retirement certificate; raise NotFound (``unknown_certificate``)."""
    raw = state.get(keys.certificate_key(certificate_id))
    if raw is None:
        raise NotFound(
            f"retirement certificate {certificate_id} does not exist", "unknown_certificate"
        )
    return Certificate.decode(raw)


def get_params(state: StateReader) -> Params:
    """The chain parameters in force: the genesis', as governance last changed them."""
    raw = state.get(keys.PARAMS)
    if raw is None:
        raise NotFound("state has no chain parameters; was init_chain run?", "no_genesis")
    return Params.decode(raw)


def validator_history(state: StateReader) -> list[tuple[int, tuple[Validator, ...]]]:
    """Every validator set with the height it takes effect at, oldest first (genesis is 1)."""
    history = [
        (keys.decode_u64(key[len(keys.VALIDATOR_SET) :]), ValidatorSet.decode(raw).validators)
        for key, raw in state.scan(keys.VALIDATOR_SET)
    ]
    if not history:
        raise NotFound("state has no validator set; was init_chain run?", "no_genesis")
    return history


def validators_at(state: StateReader, height: int) -> tuple[Validator, ...]:
    """The validator set in effect at ``height``, in consensus index order.

    Known for every height up to the last committed height + 2 (a change decided at H takes
    effect at H + 2); for a later height this is the latest scheduled set.
    """
    effective = [v for start, v in validator_history(state) if start <= max(height, 1)]
    return effective[-1]


def get_validators(state: StateReader) -> tuple[Validator, ...]:
    """The latest scheduled validator set (which may take effect only at a coming height)."""
    return validator_history(state)[-1][1]


def list_evidence(state: StateReader, offender: str | None = None) -> list[Evidence]:
    """Double-vote evidence on record, against one validator (by address) or all, in key order."""
    prefix = keys.evidence_prefix(offender) if offender else keys.EVIDENCE
    return [Evidence.decode(value) for _key, value in state.scan(prefix)]


# ---------------------------------------------------------------- residents' points (read-only)


def get_points(state: StateReader, address: str) -> PointsAccount:
    """A resident's points account (all zero if the resident never earned points)."""
    raw = state.get(keys.points_key(address))
    return PointsAccount() if raw is None else PointsAccount.decode(raw)


def get_points_earned(state: StateReader, address: str, day: int) -> int:
    """Points awarded to a resident for one chain-local day (what the daily cap counts)."""
    raw = state.get(keys.points_day_key(address, day))
    return 0 if raw is None else keys.decode_u64(raw)


def get_offer(state: StateReader, merchant: str, offer_id: str) -> Offer:
    """A merchant's offer; raise NotFound (``unknown_offer``)."""
    raw = state.get(keys.offer_key(merchant, offer_id))
    if raw is None:
        raise NotFound(f"merchant {merchant} has no offer {offer_id!r}", "unknown_offer")
    return Offer.decode(raw)


def list_offers(state: StateReader, merchant: str) -> list[Offer]:
    """Every offer of a merchant, by offer id."""
    return [Offer.decode(value) for _key, value in state.scan(keys.offer_prefix(merchant))]


def get_redemption(state: StateReader, merchant: str, voucher_ref: str) -> Redemption:
    """The redemption of a merchant's voucher; raise NotFound (``unknown_voucher``)."""
    raw = state.get(keys.voucher_key(merchant, voucher_ref))
    if raw is None:
        raise NotFound(
            f"merchant {merchant} has no redemption with voucher {voucher_ref!r}",
            "unknown_voucher",
        )
    return Redemption.decode(raw)


def get_settlement(state: StateReader, merchant: str, day: int | None = None) -> Settlement:
    """A merchant's settlement totals, all time or for one chain-local day (zero if none)."""
    key = keys.settlement_key(merchant) if day is None else keys.settlement_day_key(merchant, day)
    raw = state.get(key)
    return Settlement() if raw is None else Settlement.decode(raw)
