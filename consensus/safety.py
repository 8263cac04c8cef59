"""Double-sign protection: the durable record of what a validator signed at its current height.

Rule enforced by `SignGuard`: a signature at (height, round, step) is saved before it leaves the
engine; nothing is ever signed at a lower (height, round, step); at the same position only the
stored signature over identical bytes may be re-emitted. The record also carries the lock, the
valid value (with the prevotes proving each) and the validator's own recent votes, so a restarted
validator keeps honouring its lock, can re-propose its valid value with its proof-of-lock, and can
re-send votes its peers may never have received.

The payloads of the locked and valid blocks are saved with the record (`SafetyStore.save(state,
blocks)`) only when they change, in the same durable write as the signature that depends on them,
before it leaves: a node locked on a block after a crash still holds that block, so a lock can
never outlive every copy of its block.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import Protocol

from carbon_ticket.consensus.errors import SafetyStoreError
from carbon_ticket.consensus.signing import Signer
from carbon_ticket.consensus.types import Step, Vote, VoteType

__all__ = [
    "HeldValues",
    "InMemorySafetyStore",
    "SafetyStore",
    "SavedBlocks",
    "SignGuard",
    "SignState",
]

_STATE_TAG_V1 = b"carbonticket/signstate/v1\x00"
_STATE_TAG = b"carbonticket/signstate/v2\x00"
_FIXED = struct.Struct(">QIBi")
_VOTE_FIXED = struct.Struct(">BQII")


@dataclass(frozen=True, slots=True)
class SignState:
    """Last signed position and bytes, the lock held then, and own votes of recent rounds.

    `votes` holds this validator's signed votes at `height` in rounds `round - 1` and `round`;
    `lock_votes` the prevotes that justified the lock, so peers can be shown why it is held;
    `valid_votes` those of the valid value (the polka a re-proposal cites as its POL round).
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
    valid_round: int = -1
    valid_hash: bytes = b""
    valid_votes: tuple[Vote, ...] = ()

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
            _pack_votes(parts, votes)
        parts.append(struct.pack(">iB", self.valid_round, len(self.valid_hash)))
        parts.append(self.valid_hash)
        _pack_votes(parts, self.valid_votes)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> SignState:
        """Decode `to_bytes` output (or a version-1 file, which has no valid value).

        Raises SafetyStoreError on anything malformed.
        """
        try:
            return _decode(data)
        except (ValueError, struct.error) as exc:
            raise SafetyStoreError(f"corrupt sign state: {exc}") from exc


def _pack_votes(parts: list[bytes], votes: tuple[Vote, ...]) -> None:
    # Up to 2 rounds x 2 types of own votes, or one quorum of prevotes: a byte is enough for n<=255.
    parts.append(struct.pack(">B", len(votes)))
    for v in votes:
        parts.append(_VOTE_FIXED.pack(int(v.type), v.height, v.round, v.validator_index))
        parts.append(struct.pack(">B", len(v.block_hash)) + v.block_hash)
        parts.append(struct.pack(">H", len(v.signature)) + v.signature)


class _Reader:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def fixed(self, fmt: struct.Struct) -> tuple[int, ...]:
        values = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return values

    def votes(self) -> tuple[Vote, ...]:
        (count,) = self.fixed(struct.Struct(">B"))
        votes = []
        for _ in range(count):
            vtype, vh, vr, vi = self.fixed(_VOTE_FIXED)
            block_hash = self.blob(">B")
            vsig = self.blob(">H")
            votes.append(Vote(VoteType(vtype), vh, vr, block_hash, vi, vsig))
        return tuple(votes)

    def blob(self, len_fmt: str) -> bytes:
        (n,) = struct.unpack_from(len_fmt, self.data, self.pos)
        self.pos += struct.calcsize(len_fmt)
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def _decode(data: bytes) -> SignState:
    # Version 1 (before issue 11) lacks the valid value; it still loads, with none.
    if data.startswith(_STATE_TAG):
        version, r = 2, _Reader(data, len(_STATE_TAG))
    elif data.startswith(_STATE_TAG_V1):
        version, r = 1, _Reader(data, len(_STATE_TAG_V1))
    else:
        raise ValueError("unknown tag")
    height, rnd, step, locked_round = r.fixed(_FIXED)
    sign_bytes = r.blob(">I")
    signature = r.blob(">H")
    locked_hash = r.blob(">B")
    votes, lock_votes = r.votes(), r.votes()
    valid_round, valid_hash = -1, b""
    valid_votes: tuple[Vote, ...] = ()
    if version == 2:
        (valid_round,) = r.fixed(struct.Struct(">i"))
        valid_hash = r.blob(">B")
        valid_votes = r.votes()
    if r.pos != len(data):
        raise ValueError("trailing bytes")
    return SignState(
        height,
        rnd,
        Step(step),
        sign_bytes,
        signature,
        locked_round,
        locked_hash,
        votes,
        lock_votes,
        valid_round,
        valid_hash,
        valid_votes,
    )


@dataclass(frozen=True, slots=True)
class SavedBlocks:
    """The locked / valid block payloads (block hash -> encoded block) held at `height`."""

    height: int
    payloads: dict[bytes, bytes]


class SafetyStore(Protocol):
    """Durable storage of the last `SignState` and of the blocks it holds a lock or valid value on.

    `save` must be durable when it returns, for the state and the blocks given with it alike.
    """

    def load(self) -> SignState | None:
        """The last saved state, or None if nothing was ever signed."""
        ...

    def save(self, state: SignState, blocks: SavedBlocks | None = None) -> None:
        """Persist `state` durably before returning (e.g. append and fsync).

        With `blocks`, the saved payloads are replaced by them in the same durable write: one
        fsync covers a new lock and the precommit that depends on it.
        """
        ...

    def load_blocks(self, height: int) -> dict[bytes, bytes]:
        """Block payloads by hash saved for `height` (empty if none, or saved for another)."""
        ...


class InMemorySafetyStore:
    """A SafetyStore kept in memory; survives simulated restarts when the object is reused."""

    def __init__(self, state: SignState | None = None) -> None:
        self.state = state
        self.saves = 0
        self.block_saves = 0
        self.blocks: tuple[int, dict[bytes, bytes]] = (0, {})

    def load(self) -> SignState | None:
        """Return the last saved state."""
        return self.state

    def save(self, state: SignState, blocks: SavedBlocks | None = None) -> None:
        """Remember `state` (and `blocks`)."""
        self.state = state
        self.saves += 1
        if blocks is not None:
            self.blocks = (blocks.height, dict(blocks.payloads))
            self.block_saves += 1

    def load_blocks(self, height: int) -> dict[bytes, bytes]:
        """Return the payloads saved for `height`."""
        saved_height, blocks = self.blocks
        return dict(blocks) if saved_height == height else {}


@dataclass(frozen=True, slots=True)
class HeldValues:
    """What a signature is given under: the lock and the valid value, each with its polka.

    `blocks` carries the payloads of the locked and valid blocks (by hash) that the engine holds;
    the guard saves them when they change, before the signature leaves.
    """

    locked_round: int = -1
    locked_hash: bytes = b""
    lock_votes: tuple[Vote, ...] = ()
    valid_round: int = -1
    valid_hash: bytes = b""
    valid_votes: tuple[Vote, ...] = ()
    blocks: tuple[tuple[bytes, bytes], ...] = ()


class SignGuard:
    """Signs through a Signer only when the SafetyStore allows it; saves before returning."""

    def __init__(self, signer: Signer, store: SafetyStore) -> None:
        self._signer = signer
        self._store = store
        self.last = store.load()
        self.refused = 0
        self._saved_blocks: tuple[int, frozenset[bytes]] | None = None

    def saved_blocks(self, height: int) -> dict[bytes, bytes]:
        """Locked / valid block payloads saved at `height` (to restore them after a restart)."""
        blocks = self._store.load_blocks(height)
        self._saved_blocks = (height, frozenset(blocks))
        return blocks

    def sign_held(
        self,
        height: int,
        round: int,
        step: Step,
        sign_bytes: bytes,
        held: HeldValues,
        vote: Vote | None = None,
    ) -> bytes | None:
        """`sign` under a lock and valid value; saves their payloads first if they changed."""
        last = self.last
        if last is not None and (height, round, int(step)) <= last.position:
            # Refused or re-emitted: nothing new leaves, so nothing new needs saving.
            return self.sign(height, round, step, sign_bytes, -1, b"", vote)
        return self._sign_new(height, round, step, sign_bytes, held, vote,
                              self._blocks_to_save(height, held.blocks))  # fmt: skip

    def _blocks_to_save(
        self, height: int, blocks: tuple[tuple[bytes, bytes], ...]
    ) -> SavedBlocks | None:
        # Only when they changed: the payload of a ~1 MB block is written about once per height.
        hashes = frozenset(h for h, _ in blocks)
        if not hashes or self._saved_blocks == (height, hashes):
            return None
        return SavedBlocks(height, dict(blocks))

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
        held = HeldValues(locked_round, locked_hash, lock_votes)
        return self._sign_new(height, round, step, sign_bytes, held, vote)

    def _sign_new(
        self,
        height: int,
        round: int,
        step: Step,
        sign_bytes: bytes,
        held: HeldValues,
        vote: Vote | None,
        blocks: SavedBlocks | None = None,
    ) -> bytes:
        last = self.last
        history: tuple[Vote, ...] = ()
        if last is not None:
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
            held.locked_round,
            held.locked_hash,
            history,
            held.lock_votes,
            held.valid_round,
            held.valid_hash,
            held.valid_votes,
        )
        self._store.save(state, blocks)
        if blocks is not None:
            self._saved_blocks = (blocks.height, frozenset(blocks.payloads))
        self.last = state
        return signature
