"""Double-sign protection: the durable record of what a validator signed at its current height.

Rule enforced by `SignGuard`: a signature at (height, round, step) is saved before it leaves the
engine; nothing is ever signed at a lower (height, round, step); at the same position only the
stored signature over identical bytes may be re-emitted. The record also carries the lock and the
validator's own recent votes, so a restarted validator keeps honouring its lock and can re-send
votes its peers may never have received.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import Protocol

from consensus.errors import SafetyStoreError
from consensus.signing import Signer
from consensus.types import Step, Vote, VoteType

__all__ = ["InMemorySafetyStore", "SafetyStore", "SignGuard", "SignState"]

_STATE_TAG = b"carbonticket/signstate/v1\x00"
_FIXED = struct.Struct(">QIBi")
_VOTE_FIXED = struct.Struct(">BQII")


@dataclass(frozen=True, slots=True)
class SignState:
    """Last signed position and bytes, the lock held then, and own votes of recent rounds.

    `votes` holds this validator's signed votes at `height` in rounds `round - 1` and `round`;
    `lock_votes` the prevotes that justified the lock, so peers can be shown why it is held.
    """

    height: int
    round: int
    step: Step
    sign_bytes: bytes
    signature: bytes
    locked_round: int = -1
    locked_hash: bytes = b""
    votes: tuple[Vote, ...] = ()
    lock_votes: tuple[Vote, ...] = ()

    @property
    def position(self) -> tuple[int, int, int]:
        """(height, round, step), ordered the way signing must progress."""
        return (self.height, self.round, int(self.step))

    def to_bytes(self) -> bytes:
        """Canonical encoding, for stores that persist raw bytes (e.g. an fsync'd file)."""
        parts = [
            _STATE_TAG,
            _FIXED.pack(self.height, self.round, int(self.step), self.locked_round),
            struct.pack(">I", len(self.sign_bytes)),
            self.sign_bytes,
            struct.pack(">H", len(self.signature)),
            self.signature,
            struct.pack(">B", len(self.locked_hash)),
            self.locked_hash,
        ]
        for votes in (self.votes, self.lock_votes):
            parts.append(struct.pack(">B", len(votes)))
            for v in votes:
                parts.append(_VOTE_FIXED.pack(int(v.type), v.height, v.round, v.validator_index))
                parts.append(struct.pack(">B", len(v.block_hash)) + v.block_hash)
                parts.append(struct.pack(">H", len(v.signature)) + v.signature)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> SignState:
        """Decode `to_bytes` output; raises SafetyStoreError on anything malformed."""
        try:
            return _decode(data)
        except (ValueError, struct.error) as exc:
            raise SafetyStoreError(f"corrupt sign state: {exc}") from exc


class _Reader:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def fixed(self, fmt: struct.Struct) -> tuple[int, ...]:
        values = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return values

    def blob(self, len_fmt: str) -> bytes:
        (n,) = struct.unpack_from(len_fmt, self.data, self.pos)
        self.pos += struct.calcsize(len_fmt)
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def _decode(data: bytes) -> SignState:
    if not data.startswith(_STATE_TAG):
        raise ValueError("unknown tag")
    r = _Reader(data, len(_STATE_TAG))
    height, rnd, step, locked_round = r.fixed(_FIXED)
    sign_bytes = r.blob(">I")
    signature = r.blob(">H")
    locked_hash = r.blob(">B")
    lists: list[tuple[Vote, ...]] = []
    for _ in range(2):
        (count,) = r.fixed(struct.Struct(">B"))
        votes = []
        for _ in range(count):
            vtype, vh, vr, vi = r.fixed(_VOTE_FIXED)
            block_hash = r.blob(">B")
            vsig = r.blob(">H")
            votes.append(Vote(VoteType(vtype), vh, vr, block_hash, vi, vsig))
        lists.append(tuple(votes))
    if r.pos != len(data):
        raise ValueError("trailing bytes")
    return SignState(
        height, rnd, Step(step), sign_bytes, signature, locked_round, locked_hash, *lists
    )


class SafetyStore(Protocol):
    """Durable storage of the last `SignState`; `save` must be durable when it returns."""

    def load(self) -> SignState | None:
        """The last saved state, or None if nothing was ever signed."""
        ...

    def save(self, state: SignState) -> None:
        """Persist `state` durably (e.g. write, fsync, rename) before returning."""
        ...


class InMemorySafetyStore:
    """A SafetyStore kept in memory; survives simulated restarts when the object is reused."""

    def __init__(self, state: SignState | None = None) -> None:
        self.state = state
        self.saves = 0

    def load(self) -> SignState | None:
        """Return the last saved state."""
        return self.state

    def save(self, state: SignState) -> None:
        """Remember `state`."""
        self.state = state
        self.saves += 1


class SignGuard:
    """Signs through a Signer only when the SafetyStore allows it; saves before returning."""

    def __init__(self, signer: Signer, store: SafetyStore) -> None:
        self._signer = signer
        self._store = store
        self.last = store.load()
        self.refused = 0

    def sign(
        self,
        height: int,
        round: int,
        step: Step,
        sign_bytes: bytes,
        locked_round: int,
        locked_hash: bytes,
        vote: Vote | None = None,
        lock_votes: tuple[Vote, ...] = (),
    ) -> bytes | None:
        """Signature for `sign_bytes` at this position, or None if it could conflict.

        `vote` (unsigned) is the vote these bytes encode, kept in the stored history.
        """
        last = self.last
        position = (height, round, int(step))
        history: tuple[Vote, ...] = ()
        if last is not None:
            # Verify we never go back, and never sign different bytes at the same position.
            if position < last.position:
                self.refused += 1
                return None
            if position == last.position:
                if sign_bytes == last.sign_bytes:
                    return last.signature
                self.refused += 1
                return None
            history = tuple(v for v in last.votes if v.height == height and v.round >= round - 1)
        signature = self._signer.sign(sign_bytes)
        if vote is not None:
            history = (*history, replace(vote, signature=signature))
        state = SignState(
            height,
            round,
            step,
            sign_bytes,
            signature,
            locked_round,
            locked_hash,
            history,
            lock_votes,
        )
        self._store.save(state)
        self.last = state
        return signature
