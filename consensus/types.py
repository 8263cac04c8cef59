"""Value types of the consensus protocol: validators, messages, timeouts, actions."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from carbon_ticket.consensus.errors import InvalidValidatorSet

__all__ = [
    "Action",
    "Broadcast",
    "Commit",
    "CommitCertificate",
    "DuplicateVoteEvidence",
    "EvidenceFound",
    "FetchBlock",
    "FixedValidatorSets",
    "Proposal",
    "ScheduleTimeout",
    "Step",
    "SyncNeeded",
    "Timeout",
    "TimeoutConfig",
    "Validator",
    "ValidatorSet",
    "ValidatorSets",
    "Vote",
    "VoteType",
]

_VALSET_TAG = b"carbonticket/valset/v1\x00"
ED25519_KEY_LEN = 32


class VoteType(IntEnum):
    """The two vote kinds of a Tendermint round."""

    PREVOTE = 1
    PRECOMMIT = 2


class Step(IntEnum):
    """Steps of a round, in signing order; REBROADCAST only names the retransmission timer."""

    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3
    REBROADCAST = 4


@dataclass(frozen=True, slots=True)
class Validator:
    """One validator: a display name and its 32-byte Ed25519 public key."""

    name: str
    public_key: bytes
    power: int = 1


@dataclass(frozen=True, slots=True)
class ValidatorSet:
    """An ordered validator set; a validator's index is its position in `validators`."""

    validators: tuple[Validator, ...]
    _index: dict[bytes, int] = field(init=False, repr=False, compare=False, hash=False)
    _total: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Verify the set is usable before anything relies on it.
        if not self.validators:
            raise InvalidValidatorSet("validator set is empty")
        index: dict[bytes, int] = {}
        for i, v in enumerate(self.validators):
            if len(v.public_key) != ED25519_KEY_LEN:
                raise InvalidValidatorSet(f"validator {i} ({v.name!r}) key is not 32 bytes")
            if v.power <= 0:
                raise InvalidValidatorSet(f"validator {i} ({v.name!r}) has power {v.power}")
            if v.public_key in index:
                raise InvalidValidatorSet(f"validator {i} ({v.name!r}) duplicates a key")
            index[v.public_key] = i
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_total", sum(v.power for v in self.validators))

    @property
    def size(self) -> int:
        """Number of validators."""
        return len(self.validators)

    @property
    def total_power(self) -> int:
        """Sum of all voting power."""
        return self._total

    @property
    def quorum(self) -> int:
        """Smallest power strictly above two thirds: floor(2 * total / 3) + 1."""
        return self._total * 2 // 3 + 1

    @property
    def one_honest(self) -> int:
        """Smallest power that must include an honest validator (f + 1 for n = 3f + 1)."""
        return self._total - self.quorum + 1

    def power_of(self, index: int) -> int:
        """Voting power of the validator at `index`."""
        return self.validators[index].power

    def proposer(self, height: int, round: int) -> int:
        """Index of the proposer for (height, round): (height + round) mod n."""
        return (height + round) % len(self.validators)

    def index_of(self, public_key: bytes) -> int | None:
        """Index of the validator with this key, or None if it is not a member."""
        return self._index.get(public_key)

    def canonical_bytes(self) -> bytes:
        """Deterministic encoding of the set, the input of `hash()`."""
        parts = [_VALSET_TAG, struct.pack(">I", len(self.validators))]
        for v in self.validators:
            name = v.name.encode("utf-8")
            parts.append(struct.pack(">H", len(name)))
            parts.append(name)
            parts.append(v.public_key)
            parts.append(struct.pack(">Q", v.power))
        return b"".join(parts)

    def hash(self) -> bytes:
        """SHA-256 over the canonical bytes of the set."""
        return hashlib.sha256(self.canonical_bytes()).digest()


class ValidatorSets(Protocol):
    """The validator set in effect at each height, as far as it is known.

    A change decided by the block at height H takes effect at H + 2, so once block H - 1 is
    committed the sets of H and H + 1 are known; answers never change once given.
    """

    def at(self, height: int) -> ValidatorSet | None:
        """The set in effect at `height`, or None if not known yet."""
        ...


class FixedValidatorSets:
    """One validator set at every height (tests, and chains whose set never changes)."""

    __slots__ = ("_validators",)

    def __init__(self, validators: ValidatorSet) -> None:
        self._validators = validators

    def at(self, height: int) -> ValidatorSet | None:
        """The one set, whatever the height."""
        return self._validators


@dataclass(frozen=True, slots=True)
class Vote:
    """A signed prevote or precommit; an empty `block_hash` is a vote for nil."""

    type: VoteType
    height: int
    round: int
    block_hash: bytes
    validator_index: int
    signature: bytes = b""


@dataclass(frozen=True, slots=True)
class Proposal:
    """A signed block proposal; the signature covers the hash, the hash binds the payload."""

    height: int
    round: int
    pol_round: int
    block_hash: bytes
    block: bytes
    proposer_index: int
    signature: bytes = b""


@dataclass(frozen=True, slots=True)
class CommitCertificate:
    """More than 2/3 of precommits for one block in one round: proof the block is final."""

    height: int
    round: int
    block_hash: bytes
    precommits: tuple[Vote, ...]


@dataclass(frozen=True, slots=True)
class DuplicateVoteEvidence:
    """Two votes by one validator for the same height, round and type but different blocks."""

    vote_a: Vote
    vote_b: Vote


@dataclass(frozen=True, slots=True)
class Timeout:
    """A timer the engine asked for; the node hands it back to `Engine.on_timeout`."""

    height: int
    round: int
    step: Step


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    """Timeout settings in milliseconds; round r waits base + r * delta_ms."""

    propose_ms: int = 1000
    prevote_ms: int = 500
    precommit_ms: int = 500
    delta_ms: int = 500
    rebroadcast_ms: int = 1000

    def propose(self, round: int) -> int:
        """Delay of the propose timeout in `round`."""
        return self.propose_ms + round * self.delta_ms

    def prevote(self, round: int) -> int:
        """Delay of the prevote timeout in `round`."""
        return self.prevote_ms + round * self.delta_ms

    def precommit(self, round: int) -> int:
        """Delay of the precommit timeout in `round`."""
        return self.precommit_ms + round * self.delta_ms


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send `message` to every peer (the engine has already processed it itself)."""

    message: Proposal | Vote


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    """Call `Engine.on_timeout(timeout)` after `delay_ms`."""

    timeout: Timeout
    delay_ms: int


@dataclass(frozen=True, slots=True)
class Commit:
    """`block` is final at `height`; store it with `certificate`, apply it, then call start."""

    height: int
    block: bytes
    certificate: CommitCertificate


@dataclass(frozen=True, slots=True)
class EvidenceFound:
    """A validator signed two conflicting votes; report it and put it on chain."""

    evidence: DuplicateVoteEvidence


@dataclass(frozen=True, slots=True)
class SyncNeeded:
    """The engine is stalled while more than f validators are at `seen_height` > its height.

    The node should fetch committed blocks with certificates from peers (block sync).
    """

    height: int
    seen_height: int


@dataclass(frozen=True, slots=True)
class FetchBlock:
    """A quorum (or our own lock) names `block_hash` at `height` but we lack its payload.

    The node should ask peers for the block by hash and hand the answer to `Engine.on_block`;
    the engine binds it to the hash itself, so a wrong answer costs nothing but the fetch.
    """

    height: int
    block_hash: bytes


Action = Broadcast | ScheduleTimeout | Commit | EvidenceFound | SyncNeeded | FetchBlock
