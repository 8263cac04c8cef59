"""Block headers and blocks: canonical header hashing, wire encoding and transaction proofs.

A header's hash is SHA-256 over canonical bytes built here (a domain tag, then fixed-width
big-endian fields; only the chain id is length-prefixed), never over protobuf, so two nodes can
never disagree on a hash because of serialisation. Blocks travel and are stored as the protobuf
``Block``; decoding accepts only canonical encodings and rejects malformed input with
``InvalidTransaction`` (code ``malformed_block``).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from chain.errors import InvalidTransaction
from chain.limits import Limits
from chain.merkle import MerkleProof, merkle_proof, merkle_root, verify_proof
from proto import ledger_pb2

__all__ = [
    "GENESIS_PREV_HASH",
    "HASH_BYTES",
    "HEADER_DOMAIN",
    "Block",
    "Header",
    "build_block",
    "tx_root",
    "verify_tx_proof",
]

HEADER_DOMAIN = b"carbonticket/header/v1\x00"
HASH_BYTES = 32
# The prev_hash that block 1 carries: height 0 is the genesis state, which has no header.
GENESIS_PREV_HASH = bytes(HASH_BYTES)
_MAX_CHAIN_ID_BYTES = 64
_U64 = 2**64
_U32 = 2**32
_FIXED = struct.Struct(">QQ32s32s32s32s32sI")
_MALFORMED = "malformed_block"


def _malformed(message: str) -> InvalidTransaction:
    return InvalidTransaction(message, _MALFORMED)


def tx_root(txs: Sequence[bytes]) -> bytes:
    """The Merkle root of a block's transactions (over their hashes, in block order)."""
    return merkle_root([hashlib.sha256(tx).digest() for tx in txs])


@dataclass(frozen=True, slots=True)
class Header:
    """A block header. ``app_hash`` is the application state hash *after* this block."""

    chain_id: str
    height: int
    time_ms: int
    prev_hash: bytes
    tx_root: bytes
    app_hash: bytes
    proposer: bytes  # the proposer's 32-byte Ed25519 public key
    validators_hash: bytes
    tx_count: int
    _hash: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cid = self.chain_id.encode()
        if not 0 < len(cid) <= _MAX_CHAIN_ID_BYTES:
            raise _malformed(f"header chain id must be 1 to {_MAX_CHAIN_ID_BYTES} bytes")
        for name in ("height", "time_ms"):
            value = getattr(self, name)
            if not 0 <= value < _U64:
                raise _malformed(f"header {name} {value} is outside uint64")
        if not 0 <= self.tx_count < _U32:
            raise _malformed(f"header tx_count {self.tx_count} is outside uint32")
        for name in ("prev_hash", "tx_root", "app_hash", "proposer", "validators_hash"):
            value = getattr(self, name)
            if len(value) != HASH_BYTES:
                raise _malformed(f"header {name} must be {HASH_BYTES} bytes, got {len(value)}")
        object.__setattr__(self, "_hash", hashlib.sha256(self.canonical_bytes()).digest())

    def canonical_bytes(self) -> bytes:
        """The exact bytes the header hash covers."""
        cid = self.chain_id.encode()
        return (
            HEADER_DOMAIN
            + len(cid).to_bytes(2, "big")
            + cid
            + _FIXED.pack(
                self.height,
                self.time_ms,
                self.prev_hash,
                self.tx_root,
                self.app_hash,
                self.proposer,
                self.validators_hash,
                self.tx_count,
            )
        )

    def hash(self) -> bytes:
        """SHA-256 of ``canonical_bytes()``: the block's id."""
        return self._hash

    def to_proto(self) -> ledger_pb2.BlockHeader:
        """The wire form of this header."""
        return ledger_pb2.BlockHeader(
            chain_id=self.chain_id,
            height=self.height,
            time_ms=self.time_ms,
            prev_hash=self.prev_hash,
            tx_root=self.tx_root,
            app_hash=self.app_hash,
            proposer=self.proposer,
            validators_hash=self.validators_hash,
            tx_count=self.tx_count,
        )

    @classmethod
    def from_proto(cls, msg: ledger_pb2.BlockHeader) -> Header:
        """A header from its wire form; raises InvalidTransaction when a field is out of shape."""
        return cls(
            chain_id=msg.chain_id,
            height=msg.height,
            time_ms=msg.time_ms,
            prev_hash=msg.prev_hash,
            tx_root=msg.tx_root,
            app_hash=msg.app_hash,
            proposer=msg.proposer,
            validators_hash=msg.validators_hash,
            tx_count=msg.tx_count,
        )

    def encode(self) -> bytes:
        """The header as deterministic protobuf bytes."""
        return self.to_proto().SerializeToString(deterministic=True)

    @classmethod
    def decode(cls, raw: bytes) -> Header:
        """Parse canonical protobuf header bytes; raises InvalidTransaction when malformed."""
        msg = ledger_pb2.BlockHeader()
        _parse_canonical(msg, raw, "block header")
        return cls.from_proto(msg)


def _parse_canonical(msg: ledger_pb2.Block | ledger_pb2.BlockHeader, raw: bytes, what: str) -> None:
    # Only canonical encodings: unknown fields or odd varints would let two byte strings carry
    # the same block and hide data from readers that ignore them.
    try:
        msg.ParseFromString(raw)
    except DecodeError as exc:
        raise _malformed(f"malformed {what}: {exc}") from exc
    msg.DiscardUnknownFields()  # protobuf re-emits unknown fields; drop them before comparing
    if msg.SerializeToString(deterministic=True) != raw:
        raise _malformed(f"{what} is not canonically encoded")


@dataclass(frozen=True, slots=True)
class Block:
    """A header and its transactions (raw ``TxEnvelope`` bytes, in execution order)."""

    header: Header
    txs: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if self.header.tx_count != len(self.txs):
            raise _malformed(
                f"header says {self.header.tx_count} transactions, the block has {len(self.txs)}"
            )

    @property
    def hash(self) -> bytes:
        """The block's id: its header hash."""
        return self.header.hash()

    @property
    def height(self) -> int:
        """The header's height."""
        return self.header.height

    def tx_hashes(self) -> list[bytes]:
        """The hashes of the transactions, in block order."""
        return [hashlib.sha256(tx).digest() for tx in self.txs]

    def verify_tx_root(self) -> bool:
        """True when the header's ``tx_root`` is the Merkle root of the transactions."""
        return merkle_root(self.tx_hashes()) == self.header.tx_root

    def tx_proof(self, index: int) -> MerkleProof:
        """A proof that ``txs[index]`` is in this block, checkable with ``verify_tx_proof``."""
        return merkle_proof(self.tx_hashes(), index)

    def to_proto(self) -> ledger_pb2.Block:
        """The wire form of this block."""
        return ledger_pb2.Block(header=self.header.to_proto(), txs=self.txs)

    def encode(self) -> bytes:
        """The block as deterministic protobuf bytes."""
        return self.to_proto().SerializeToString(deterministic=True)

    @classmethod
    def from_proto(cls, msg: ledger_pb2.Block) -> Block:
        """A block from its wire form; raises InvalidTransaction when out of shape."""
        if not msg.HasField("header"):
            raise _malformed("block has no header")
        return cls(header=Header.from_proto(msg.header), txs=tuple(msg.txs))

    @classmethod
    def decode(cls, raw: bytes, limits: Limits | None = None) -> Block:
        """Parse canonical block bytes within ``limits``; raises InvalidTransaction if malformed.

        The transactions themselves are not decoded, and ``tx_root`` is not checked here: call
        ``verify_tx_root()`` before trusting the block's contents.
        """
        if limits is not None and len(raw) > limits.max_block_bytes:
            raise _malformed(f"block is {len(raw)} bytes, the limit is {limits.max_block_bytes}")
        msg = ledger_pb2.Block()
        _parse_canonical(msg, raw, "block")
        if limits is not None and len(msg.txs) > limits.max_block_txs:
            raise _malformed(
                f"block has {len(msg.txs)} transactions, the limit is {limits.max_block_txs}"
            )
        return cls.from_proto(msg)


def build_block(
    *,
    chain_id: str,
    height: int,
    time_ms: int,
    prev_hash: bytes,
    app_hash: bytes,
    proposer: bytes,
    validators_hash: bytes,
    txs: Sequence[bytes],
) -> Block:
    """A block over ``txs`` with ``tx_root`` and ``tx_count`` computed from them."""
    txs = tuple(txs)
    header = Header(
        chain_id=chain_id,
        height=height,
        time_ms=time_ms,
        prev_hash=prev_hash,
        tx_root=tx_root(txs),
        app_hash=app_hash,
        proposer=proposer,
        validators_hash=validators_hash,
        tx_count=len(txs),
    )
    return Block(header=header, txs=txs)


def verify_tx_proof(header: Header, raw_tx: bytes, proof: MerkleProof) -> bool:
    """True when ``proof`` shows ``raw_tx`` is transaction ``proof.index`` of ``header``'s block.

    Needs the header alone: the proof's tree size must equal ``header.tx_count`` and the path
    must lead from the transaction's hash to ``header.tx_root``.
    """
    if proof.size != header.tx_count:
        return False
    return verify_proof(header.tx_root, hashlib.sha256(raw_tx).digest(), proof)
