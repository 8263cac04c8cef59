"""Block headers and blocks: canonical header hashing, wire encoding, tx and receipt proofs.

A header's hash is SHA-256 over canonical bytes built here (a domain tag, then fixed-width
big-endian fields; only the chain id is length-prefixed), never over protobuf, so two nodes can
never disagree on a hash because of serialisation. Blocks travel and are stored as the protobuf
``Block``; decoding accepts only canonical encodings and rejects malformed input with
``InvalidBlock`` (code ``malformed_block``).

The header commits to the block's transactions by id (``tx_root``, over ``chain.tx.tx_id``: the
signed bytes, never the signatures) and to their outcomes (``results_root``, over each
receipt's ``canonical_bytes()``), so both a transaction and its receipt can be proven from a
header alone. Signatures are authorisation, checked by every node before it executes a block;
two envelopes of one transaction yield the same receipts, which the results root pins.
``envelopes_root`` (over SHA-256 of each envelope, signatures included) ties the exact bytes a
block carries to its hash, so that nobody relaying a signed proposal can swap a signature and
keep the block hash: what a proposer signed is byte for byte what every node executes and stores.

The header names the consensus validator set in effect at its height (``validators_hash``) and
at the next (``next_validators_hash``). A set change decided by block H takes effect at H + 2,
so both are known from the state before the block is built; a light client that trusts a header
learns from it which set must sign the next one (``carbon-ticket verify`` follows that chain).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from carbon_ticket.chain.canonical import parse_canonical
from carbon_ticket.chain.errors import InvalidBlock, InvalidTransaction
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.merkle import MerkleProof, merkle_proof, merkle_root, verify_proof
from carbon_ticket.chain.results import TxResult, results_root
from carbon_ticket.chain.tx import tx_hash
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "GENESIS_PREV_HASH",
    "HASH_BYTES",
    "HEADER_DOMAIN",
    "Block",
    "Header",
    "build_block",
    "envelopes_root",
    "receipt_proof",
    "results_root",
    "tx_root",
    "verify_receipt_proof",
    "verify_tx_id_proof",
    "verify_tx_proof",
]

HEADER_DOMAIN = b"carbonticket/header/v3\x00"
HASH_BYTES = 32
# The prev_hash that block 1 carries: height 0 is the genesis state, which has no header.
GENESIS_PREV_HASH = bytes(HASH_BYTES)
_MAX_CHAIN_ID_BYTES = 64
_U64 = 2**64
_U32 = 2**32
_FIXED = struct.Struct(">QQ32s32s32s32s32s32s32s32sI")
_MALFORMED = "malformed_block"


def _malformed(message: str) -> InvalidBlock:
    return InvalidBlock(message, _MALFORMED)


# The id of an envelope this node has hashed already (its mempool's), or None.
IdOf = Callable[[bytes], bytes | None]


def _tx_ids(chain_id: str, txs: Sequence[bytes], id_of: IdOf | None = None) -> tuple[bytes, ...]:
    try:
        if id_of is None:
            return tuple(tx_hash(tx, chain_id) for tx in txs)
        return tuple(id_of(tx) or tx_hash(tx, chain_id) for tx in txs)
    except InvalidTransaction as exc:
        raise _malformed(f"block carries a transaction that does not parse: {exc}") from exc


def tx_root(chain_id: str, txs: Sequence[bytes]) -> bytes:
    """The Merkle root of a block's transactions: over their ids (``tx_id``), in block order."""
    return merkle_root(_tx_ids(chain_id, txs))


def envelopes_root(txs: Sequence[bytes]) -> bytes:
    """The Merkle root over SHA-256 of each envelope (body and signatures), in block order."""
    return merkle_root([hashlib.sha256(tx).digest() for tx in txs])


def receipt_proof(receipts: Sequence[TxResult], index: int) -> MerkleProof:
    """A proof that ``receipts[index]`` is in the block, checkable with ``verify_receipt_proof``."""
    return merkle_proof([r.canonical_bytes() for r in receipts], index)


@dataclass(frozen=True, slots=True)
class Header:
    """A block header. ``app_hash`` is the application state hash *after* this block."""

    chain_id: str
    height: int
    time_ms: int
    prev_hash: bytes
    tx_root: bytes
    results_root: bytes  # Merkle root of this block's receipts
    envelopes_root: bytes  # Merkle root of the envelopes' hashes: binds signatures to the hash
    app_hash: bytes
    proposer: bytes  # the proposer's 32-byte Ed25519 public key
    validators_hash: bytes  # the consensus set in effect at this height
    next_validators_hash: bytes  # the set in effect at height + 1 (known: see module docstring)
    tx_count: int
    _hash: bytes = field(init=False, repr=False, compare=False)
    # The header's protobuf bytes once known (received or encoded once): stored as they are.
    _wire: bytes = field(default=b"", init=False, repr=False, compare=False)

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
        for name in (
            "prev_hash",
            "tx_root",
            "results_root",
            "envelopes_root",
            "app_hash",
            "proposer",
            "validators_hash",
            "next_validators_hash",
        ):
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
                self.results_root,
                self.envelopes_root,
                self.app_hash,
                self.proposer,
                self.validators_hash,
                self.next_validators_hash,
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
            results_root=self.results_root,
            envelopes_root=self.envelopes_root,
            app_hash=self.app_hash,
            proposer=self.proposer,
            validators_hash=self.validators_hash,
            next_validators_hash=self.next_validators_hash,
            tx_count=self.tx_count,
        )

    @classmethod
    def from_proto(cls, msg: ledger_pb2.BlockHeader) -> Header:
        """A header from its wire form; raises InvalidBlock when a field is out of shape."""
        return cls(
            chain_id=msg.chain_id,
            height=msg.height,
            time_ms=msg.time_ms,
            prev_hash=msg.prev_hash,
            tx_root=msg.tx_root,
            results_root=msg.results_root,
            envelopes_root=msg.envelopes_root,
            app_hash=msg.app_hash,
            proposer=msg.proposer,
            validators_hash=msg.validators_hash,
            next_validators_hash=msg.next_validators_hash,
            tx_count=msg.tx_count,
        )

    def encode(self) -> bytes:
        """The header as deterministic protobuf bytes (the bytes it arrived as, if decoded)."""
        if not self._wire:
            object.__setattr__(self, "_wire", self.to_proto().SerializeToString(deterministic=True))
        return self._wire

    @classmethod
    def decode(cls, raw: bytes) -> Header:
        """Parse canonical protobuf header bytes; raises InvalidBlock when malformed."""
        msg = ledger_pb2.BlockHeader()
        parse_canonical(msg, raw, "block header", InvalidBlock, _MALFORMED)
        header = cls.from_proto(msg)
        object.__setattr__(header, "_wire", raw)
        return header


def _first_field_bytes(raw: bytes) -> bytes:
    """The payload of the length-delimited field 1 that a canonical ``Block`` starts with.

    Only called on bytes that passed the canonical check, which puts the header first.
    """
    if not raw or raw[0] != 0x0A:  # field 1, wire type 2
        return b""
    length, shift, pos = 0, 0, 1
    while True:
        byte = raw[pos]
        length |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return raw[pos : pos + length]
        shift += 7


@dataclass(frozen=True, slots=True)
class Block:
    """A header and its transactions (raw ``TxEnvelope`` bytes, in execution order)."""

    header: Header
    txs: tuple[bytes, ...]
    _ids: tuple[bytes, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _roots_ok: bool = field(default=False, init=False, repr=False, compare=False)

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
        """The ids of the transactions (``chain.tx.tx_id``), in block order.

        Computed once per block (or handed in by ``decode``/``build_block``). Raises
        InvalidBlock (``malformed_block``) when an envelope does not parse.
        """
        ids = self._ids
        if ids is None:  # parsed once per block: the store, the app and proofs all need them
            ids = _tx_ids(self.header.chain_id, self.txs)
            object.__setattr__(self, "_ids", ids)
        return list(ids)

    def take_ids(self, id_of: IdOf) -> None:
        """Take the tx ids this node has already (``id_of``), hashing only the others.

        Does nothing when the ids are known already. Raises InvalidBlock
        (``malformed_block``) when an envelope it must hash does not parse.
        """
        if self._ids is None:
            object.__setattr__(self, "_ids", _tx_ids(self.header.chain_id, self.txs, id_of))

    def verify_tx_root(self) -> bool:
        """True when the header's ``tx_root`` and ``envelopes_root`` match the transactions.

        Both are needed: ``tx_root`` pins what was signed, ``envelopes_root`` the exact envelopes
        (signatures included), so no envelope can be changed without changing the block hash.
        """
        if self._roots_ok:  # checked once per block: binding, validation and the store ask
            return True
        try:
            ids_ok = merkle_root(self.tx_hashes()) == self.header.tx_root
        except InvalidBlock:
            return False
        ok = ids_ok and envelopes_root(self.txs) == self.header.envelopes_root
        object.__setattr__(self, "_roots_ok", ok)
        return ok

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
        """A block from its wire form; raises InvalidBlock when out of shape."""
        if not msg.HasField("header"):
            raise _malformed("block has no header")
        return cls(header=Header.from_proto(msg.header), txs=tuple(msg.txs))

    @classmethod
    def decode(
        cls, raw: bytes, limits: Limits | None = None, *, id_of: IdOf | None = None
    ) -> Block:
        """Parse canonical block bytes within ``limits``; raises InvalidBlock if malformed.

        The transactions themselves are not decoded, and ``tx_root`` is not checked here: call
        ``verify_tx_root()`` before trusting the block's contents. ``id_of`` gives the ids of
        envelopes this node has hashed already (its mempool's); with it the ids are taken now,
        hashing only the envelopes it does not know, so a transaction is hashed once per node.
        The header keeps the bytes it arrived as, for the store.
        """
        if limits is not None and len(raw) > limits.max_block_bytes:
            raise _malformed(f"block is {len(raw)} bytes, the limit is {limits.max_block_bytes}")
        msg = ledger_pb2.Block()
        parse_canonical(msg, raw, "block", InvalidBlock, _MALFORMED)
        if limits is not None and len(msg.txs) > limits.max_block_txs:
            raise _malformed(
                f"block has {len(msg.txs)} transactions, the limit is {limits.max_block_txs}"
            )
        block = cls.from_proto(msg)
        wire = _first_field_bytes(raw)
        if len(wire) == msg.header.ByteSize():  # always, for canonical bytes; cheap to confirm
            object.__setattr__(block.header, "_wire", wire)
        if id_of is not None:
            block.take_ids(id_of)
        return block


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
    receipts: Sequence[TxResult],
    next_validators_hash: bytes | None = None,
    tx_ids: Sequence[bytes] | None = None,
    receipts_root: bytes | None = None,
) -> Block:
    """A block over ``txs`` with ``tx_root``, ``results_root`` and ``tx_count`` computed.

    ``next_validators_hash`` defaults to ``validators_hash`` (no set change at the next height).

    ``tx_ids`` (the txs' ids, in order) and ``receipts_root`` (``results_root(receipts)``) are
    for a caller that has them already (the proposer), so nothing is hashed twice.
    """
    txs = tuple(txs)
    if len(receipts) != len(txs):
        raise _malformed(f"{len(txs)} transactions but {len(receipts)} receipts")
    ids = _tx_ids(chain_id, txs) if tx_ids is None else tuple(tx_ids)
    if len(ids) != len(txs):
        raise _malformed(f"{len(txs)} transactions but {len(ids)} ids")
    header = Header(
        chain_id=chain_id,
        height=height,
        time_ms=time_ms,
        prev_hash=prev_hash,
        tx_root=merkle_root(ids),
        results_root=results_root(receipts) if receipts_root is None else receipts_root,
        envelopes_root=envelopes_root(txs),
        app_hash=app_hash,
        proposer=proposer,
        validators_hash=validators_hash,
        next_validators_hash=next_validators_hash or validators_hash,
        tx_count=len(txs),
    )
    block = Block(header=header, txs=txs)
    object.__setattr__(block, "_ids", ids)  # the store and proofs reuse them
    return block


def verify_tx_id_proof(header: Header, tx_id: bytes, proof: MerkleProof) -> bool:
    """True when ``proof`` shows the tx with id ``tx_id`` is tx ``proof.index`` of the block.

    Needs the header alone: the proof's tree size must equal ``header.tx_count`` (RFC 6962
    roots do not commit to the size) and the path must lead from the id to ``header.tx_root``.
    """
    if proof.size != header.tx_count:
        return False
    return verify_proof(header.tx_root, tx_id, proof)


def verify_tx_proof(header: Header, raw_tx: bytes, proof: MerkleProof) -> bool:
    """True when ``proof`` shows ``raw_tx`` is transaction ``proof.index`` of ``header``'s block."""
    try:
        digest = tx_hash(raw_tx, header.chain_id)
    except InvalidTransaction:
        return False
    return verify_tx_id_proof(header, digest, proof)


def verify_receipt_proof(header: Header, receipt: TxResult, proof: MerkleProof) -> bool:
    """True when ``proof`` shows ``receipt`` is receipt ``proof.index`` of ``header``'s block.

    Every field but the free-text message is checked: code, error code, events and tx id.
    """
    if proof.size != header.tx_count:
        return False
    return verify_proof(header.results_root, receipt.canonical_bytes(), proof)
