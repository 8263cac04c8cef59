"""The validator set in effect at each height, read from committed state (``ValidatorSets``).

A set change decided by block H takes effect at H + 2 (chain/rules/validators.py), so once the
store holds block H the sets of every height up to H + 2 are known, and no later one is. Every
part of the node that asks "who are the validators?" asks this one object, with a height:

- the consensus engine, for the height it decides;
- ``LedgerApp``, for the ``validators_hash`` and ``next_validators_hash`` of a header;
- block sync, for the set a certificate of height h must be signed by (the state after h - 1);
- the evidence check, for the set of the double vote's height; governance co-signatures, for
  the set of the next block;
- peer authentication and the peer list, for the sets of the next height and the one after.

The history is read again only when the store's height moved (a commit may add an entry), and
each entry becomes a consensus ``ValidatorSet`` once, kept by its stored bytes, so a set keeps
its identity (and its hash is computed once) for as long as it is in effect. Reads can come
from block sync's verification threads too: the cache is one tuple, replaced whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import NotFound
from carbon_ticket.chain.records import Validator as ValidatorRecord
from carbon_ticket.chain.records import ValidatorSet as ValidatorSetRecord
from carbon_ticket.chain.state import StateReader
from carbon_ticket.consensus import FixedValidatorSets, Validator, ValidatorSet, ValidatorSets

__all__ = [
    "KNOWN_AHEAD",
    "SetEntry",
    "StateValidatorSets",
    "consensus_set",
    "fixed_sets",
    "validator_peers",
]

# Once block H is committed the sets of heights up to H + KNOWN_AHEAD are decided.
KNOWN_AHEAD = 2


def fixed_sets(validators: ValidatorSets | ValidatorSet) -> ValidatorSets:
    """``validators`` as a ``ValidatorSets`` (a plain set is in effect at every height)."""
    if isinstance(validators, ValidatorSet):
        return FixedValidatorSets(validators)
    return validators


def consensus_set(records: tuple[ValidatorRecord, ...]) -> ValidatorSet:
    """The consensus view of a stored set: name, key and power, in stored (index) order."""
    return ValidatorSet(tuple(Validator(v.name, v.public_key, v.power) for v in records))


@dataclass(frozen=True, slots=True)
class SetEntry:
    """One entry of the history: the set in effect from ``effective_height`` on."""

    effective_height: int
    records: tuple[ValidatorRecord, ...]
    validators: ValidatorSet
    hash: bytes  # the consensus set's hash (what headers name), computed once


class StateValidatorSets:
    """``consensus.ValidatorSets`` over a store's committed state, with ledger records too."""

    def __init__(self, state: StateReader, height: Callable[[], int]) -> None:
        # ``height``: the last committed height of ``state`` (asked on every call).
        self._state = state
        self._height = height
        self._by_bytes: dict[bytes, SetEntry] = {}
        self._cache: tuple[int, tuple[SetEntry, ...]] = (-1, ())
        self._cosigners: tuple[int, frozenset[str]] = (-1, frozenset())

    # ------------------------------------------------------------------ the engine's interface

    def at(self, height: int) -> ValidatorSet | None:
        """The consensus set in effect at ``height``, or None if it is not decided yet."""
        entry = self.entry_at(height)
        return entry.validators if entry is not None else None

    # ------------------------------------------------------------------ the node's questions

    def entry_at(self, height: int) -> SetEntry | None:
        """The history entry in effect at ``height``, or None beyond the known heights."""
        last, entries = self._entries()
        if height > last + KNOWN_AHEAD:
            return None
        found = entries[0]
        for entry in entries:
            if entry.effective_height > max(height, 1):
                break
            found = entry
        return found

    def records_at(self, height: int) -> tuple[ValidatorRecord, ...] | None:
        """The stored validators (with network and operator addresses) in effect at ``height``."""
        entry = self.entry_at(height)
        return entry.records if entry is not None else None

    def history(self) -> tuple[SetEntry, ...]:
        """Every entry, oldest first (the genesis set takes effect at height 1)."""
        return self._entries()[1]

    def upcoming(self) -> tuple[SetEntry, ...]:
        """The entries in effect at the next height and the one after (one or two entries)."""
        last, entries = self._entries()
        soon = [e for e in entries if e.effective_height <= last + KNOWN_AHEAD]
        in_effect = [e for e in soon if e.effective_height <= last + 1][-1:]
        return (*in_effect, *[e for e in soon if e.effective_height > last + 1])

    def is_member_soon(self, public_key: bytes) -> bool:
        """Whether ``public_key`` validates at the next height or the one after.

        Peers are authenticated against both: a validator that joins at H + 2 must be heard
        (its votes of H + 2 may arrive early), and one that leaves keeps access until it is out
        of both sets.
        """
        return any(e.validators.index_of(public_key) is not None for e in self.upcoming())

    def cosigners(self) -> frozenset[str]:
        """The accounts that may co-sign governance for the next block: each validator's own
        address and its operator's, of the set in effect at the next height."""
        last = self._entries()[0]
        cached = self._cosigners
        if cached[0] != last:
            records = self.records_at(last + 1) or ()
            cached = (last, frozenset(a for v in records for a in (v.address, v.operator_address)))
            self._cosigners = cached
        return cached[1]

    # ------------------------------------------------------------------ internals

    def _entries(self) -> tuple[int, tuple[SetEntry, ...]]:
        height = self._height()
        cached = self._cache
        if cached[0] == height:
            return cached
        entries = tuple(
            self._entry(keys.decode_u64(key[len(keys.VALIDATOR_SET) :]), raw)
            for key, raw in self._state.scan(keys.VALIDATOR_SET)
        )
        if not entries:
            raise NotFound("state has no validator set; was the genesis applied?", "no_genesis")
        self._cache = (height, entries)
        return self._cache

    def _entry(self, effective_height: int, raw: bytes) -> SetEntry:
        entry = self._by_bytes.get(raw)
        if entry is None or entry.effective_height != effective_height:
            records = ValidatorSetRecord.decode(raw).validators
            validators = consensus_set(records)
            entry = SetEntry(effective_height, records, validators, validators.hash())
            self._by_bytes[raw] = entry
        return entry


def validator_peers(
    validators: StateValidatorSets, configured: Sequence[str], listen: str, own_key: bytes
) -> list[str]:
    """The configured peers and the network addresses of the validators of the next height and
    the one after (this node and its own address left out), each once, in that order."""
    addresses = list(configured)
    for entry in validators.upcoming():
        addresses.extend(v.network_address for v in entry.records if v.public_key != own_key)
    return [a for a in dict.fromkeys(addresses) if a != listen]
