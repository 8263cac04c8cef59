"""Double-sign protection: the durable record of the last thing a validator signed.

Rule enforced by `SignGuard`: a signature at (height, round, step) is saved before it leaves the
engine; nothing is ever signed at a lower (height, round, step); at the same position only the
stored signature over identical bytes may be re-emitted. The record also carries the lock, so a
restarted validator keeps honouring it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Protocol

from consensus.errors import SafetyStoreError
from consensus.signing import Signer
from consensus.types import Step

__all__ = ["InMemorySafetyStore", "SafetyStore", "SignGuard", "SignState"]

_STATE_TAG = b"carbonticket/signstate/v1\x00"
_FIXED = struct.Struct(">QIBi")


@dataclass(frozen=True, slots=True)
class SignState:
    """Last signed position and bytes, the value signed, and the lock held when it was signed.

    `block_hash` lets a restarted validator re-send exactly the vote it signed before the crash.
    """

    height: int
    round: int
    step: Step
    sign_bytes: bytes
    signature: bytes
    locked_round: int = -1
    locked_hash: bytes = b""
    block_hash: bytes = b""

    @property
    def position(self) -> tuple[int, int, int]:
        """(height, round, step), ordered the way signing must progress."""
        return (self.height, self.round, int(self.step))

    def to_bytes(self) -> bytes:
        """Canonical encoding, for stores that persist raw bytes (e.g. an fsync'd file)."""
        return b"".join(
            (
                _STATE_TAG,
                _FIXED.pack(self.height, self.round, int(self.step), self.locked_round),
                struct.pack(">I", len(self.sign_bytes)),
                self.sign_bytes,
                struct.pack(">H", len(self.signature)),
                self.signature,
                struct.pack(">B", len(self.locked_hash)),
                self.locked_hash,
                struct.pack(">B", len(self.block_hash)),
                self.block_hash,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignState:
        """Decode `to_bytes` output; raises SafetyStoreError on anything malformed."""
        try:
            if not data.startswith(_STATE_TAG):
                raise ValueError("unknown tag")
            pos = len(_STATE_TAG)
            height, rnd, step, locked_round = _FIXED.unpack_from(data, pos)
            pos += _FIXED.size
            (n,) = struct.unpack_from(">I", data, pos)
            pos += 4
            sign_bytes = data[pos : pos + n]
            pos += n
            (n,) = struct.unpack_from(">H", data, pos)
            pos += 2
            signature = data[pos : pos + n]
            pos += n
            (n,) = struct.unpack_from(">B", data, pos)
            pos += 1
            locked_hash = data[pos : pos + n]
            pos += n
            (n,) = struct.unpack_from(">B", data, pos)
            pos += 1
            block_hash = data[pos : pos + n]
            pos += n
            if pos != len(data) or len(sign_bytes) + len(signature) == 0:
                raise ValueError("length mismatch")
            return cls(
                height,
                rnd,
                Step(step),
                sign_bytes,
                signature,
                locked_round,
                locked_hash,
                block_hash,
            )
        except (ValueError, struct.error) as exc:
            raise SafetyStoreError(f"corrupt sign state: {exc}") from exc


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
        block_hash: bytes,
        locked_round: int,
        locked_hash: bytes,
    ) -> bytes | None:
        """Signature for `sign_bytes` at this position, or None if it could conflict."""
        last = self.last
        position = (height, round, int(step))
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
        signature = self._signer.sign(sign_bytes)
        state = SignState(
            height, round, step, sign_bytes, signature, locked_round, locked_hash, block_hash
        )
        self._store.save(state)
        self.last = state
        return signature
