"""Signed transaction envelopes: signing, stateless decoding and signature verification.

A transaction is a ``TxEnvelope`` holding the exact bytes of a ``TxBody`` and one or more
signatures. Each signature covers ``TX_SIGN_DOMAIN || len(chain_id) || chain_id || body`` so a
signature can never be replayed on another chain or reinterpreted as another kind of message.
``decode_tx`` performs every check that needs no ledger state; it is run once per node, at
admission, and its result (``SignedTx``) is what blocks are executed with.

A transaction's id (``tx_id``) is SHA-256 of exactly those signed bytes, so only its signers
determine it: nobody can change an id by adding, removing or reordering signatures. Envelopes are
non-malleable as well: signatures come sorted by public key, and a signature the message does not
need is refused (``unexpected_signature``); only governance messages carry co-signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from google.protobuf.message import DecodeError

from carbon_ticket.chain.canonical import parse_canonical
from carbon_ticket.chain.crypto import (
    Address,
    PrivateKey,
    address_from_public_key,
    parse_address,
    sha256,
    verify_signature,
)
from carbon_ticket.chain.errors import InvalidAddress, InvalidTransaction
from carbon_ticket.chain.limits import Limits
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "MULTI_SIGNER_KINDS",
    "SIGNATURE_BYTES",
    "TX_SIGN_DOMAIN",
    "SignedTx",
    "decode_certified_tx",
    "decode_tx",
    "encode_tx",
    "parse_envelope",
    "require_cosigner_addresses_in",
    "require_cosigners_in",
    "sort_signatures",
    "tx_hash",
    "tx_id",
    "tx_sign_bytes",
]

TX_SIGN_DOMAIN = b"carbonticket/tx/v1\x00"


def tx_sign_bytes(chain_id: str, body: bytes) -> bytes:
    """The exact bytes every transaction signature covers."""
    cid = chain_id.encode()
    return TX_SIGN_DOMAIN + len(cid).to_bytes(2, "big") + cid + body


# Messages that other accounts co-sign (governance: > 2/3 of the validators approve). Every
# other message is signed by its body's signer alone.
MULTI_SIGNER_KINDS = frozenset({"grant_role", "revoke_role", "appoint_issuer"})


def tx_id(chain_id: str, body: bytes) -> bytes:
    """A transaction's id: SHA-256 of the bytes its signers sign (``tx_sign_bytes``).

    The one definition of a transaction id. It covers the domain tag, the chain id and the body,
    and no signature, so it is known as soon as the body is built and no one can change it.
    """
    return sha256(tx_sign_bytes(chain_id, body))


def tx_hash(raw: bytes, chain_id: str) -> bytes:
    """The id (``tx_id``) of a serialised envelope; InvalidTransaction when it does not parse."""
    envelope = ledger_pb2.TxEnvelope()
    try:
        envelope.ParseFromString(raw)
    except DecodeError as exc:
        raise InvalidTransaction(f"malformed transaction envelope: {exc}", "malformed_tx") from exc
    return tx_id(chain_id, envelope.body)


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A transaction that passed every stateless check, signatures included (by this node, or,
    for a synced block, by the validators whose commit certificate vouches for it)."""

    tx_hash: bytes  # the transaction's id: ``tx_id(chain_id, body bytes)``
    raw: bytes
    body: ledger_pb2.TxBody
    signers: tuple[bytes, ...]  # public keys whose signatures verified, ascending
    signer_addresses: frozenset[Address]

    @property
    def signer(self) -> Address:
        """The account whose nonce this transaction consumes (checked to have signed)."""
        return Address(self.body.signer)

    @property
    def kind(self) -> str:
        """Name of the ledger message carried, e.g. ``"transfer"``."""
        return self.body.WhichOneof("msg") or ""

    @property
    def work_units(self) -> int:
        """Roughly how much executing this transaction costs, in units of a one-entry transfer:
        one per award of an AwardPoints, one per entry of a transfer, otherwise one.

        A proposer fills a block up to a budget of these (node.mempool.Mempool.reap): counted
        in transactions, a block of AwardPoints at the byte limit held ~100,000 awards, seconds
        of execution for the proposer and every validator, so its proposal came late.
        """
        kind = self.body.WhichOneof("msg")
        if kind == "award_points":
            return max(1, len(self.body.award_points.awards))
        if kind == "transfer":
            return max(1, len(self.body.transfer.entries))
        return 1


# What one signature adds to an envelope: a field of a fixed-length public key and signature.
SIGNATURE_BYTES = ledger_pb2.TxEnvelope(
    signatures=[ledger_pb2.Signature(public_key=bytes(32), signature=bytes(64))]
).ByteSize()


def encode_tx(body: ledger_pb2.TxBody, keys: Sequence[PrivateKey]) -> bytes:
    """Serialise ``body`` and sign it with every key; returns the envelope bytes."""
    body_bytes = body.SerializeToString(deterministic=True)
    message = tx_sign_bytes(body.chain_id, body_bytes)
    envelope = ledger_pb2.TxEnvelope(
        body=body_bytes,
        signatures=[
            ledger_pb2.Signature(public_key=k.public_key, signature=k.sign(message)) for k in keys
        ],
    )
    sort_signatures(envelope)
    return envelope.SerializeToString(deterministic=True)


def sort_signatures(envelope: ledger_pb2.TxEnvelope) -> None:
    """Put ``envelope``'s signatures in the canonical order: ascending public key."""
    ordered = sorted(envelope.signatures, key=lambda sig: sig.public_key)
    copies = [ledger_pb2.Signature(public_key=s.public_key, signature=s.signature) for s in ordered]
    del envelope.signatures[:]
    envelope.signatures.extend(copies)


def parse_envelope(raw: bytes, limits: Limits) -> tuple[ledger_pb2.TxEnvelope, ledger_pb2.TxBody]:
    """Parse envelope and body with size and canonical-encoding checks, without verifying."""
    if len(raw) > limits.max_tx_bytes:
        raise InvalidTransaction(
            f"transaction is {len(raw)} bytes, the limit is {limits.max_tx_bytes}", "tx_too_large"
        )
    if not raw:
        raise InvalidTransaction("empty transaction", "malformed_tx")
    envelope = ledger_pb2.TxEnvelope()
    parse_canonical(envelope, raw, "transaction envelope", InvalidTransaction, "malformed_tx")
    body = ledger_pb2.TxBody()
    parse_canonical(body, envelope.body, "transaction body", InvalidTransaction, "malformed_tx")
    return envelope, body


def _check_signature_set(
    envelope: ledger_pb2.TxEnvelope, kind: str, signer: Address, limits: Limits
) -> list[Address]:
    """Verify the envelope carries the signatures its message needs, in canonical order.

    No signature is verified here: these checks are cheap and come first. Returns the signing
    keys' addresses, in signature order.
    """
    count = len(envelope.signatures)
    if count == 0:
        raise InvalidTransaction("transaction is not signed", "missing_signature")
    if count > limits.max_signatures:
        raise InvalidTransaction(
            f"transaction has {count} signatures, the limit is {limits.max_signatures}",
            "too_many_signatures",
        )
    keys = [sig.public_key for sig in envelope.signatures]
    for previous, current in pairwise(keys):
        if previous == current:
            raise InvalidTransaction("the same key signed twice", "duplicate_signature")
        if previous > current:
            raise InvalidTransaction(
                "signatures must be sorted by public key (ascending)", "unordered_signatures"
            )
    addresses = [address_from_public_key(k) for k in keys]
    if signer not in addresses:
        raise InvalidTransaction(
            f"transaction names signer {signer} but carries no signature from that account",
            "missing_signature",
        )
    if kind not in MULTI_SIGNER_KINDS:
        extra = [k for k, a in zip(keys, addresses, strict=True) if a != signer]
        if extra:
            # A signature nobody asked for would let a third party alter a signed envelope.
            raise InvalidTransaction(
                f"a {kind} transaction is signed by its signer {signer} only; the envelope also "
                f"carries a signature by key {extra[0].hex()[:16]}...",
                "unexpected_signature",
            )
    return addresses


def require_cosigners_in(tx: SignedTx, allowed: frozenset[bytes], who: str) -> None:
    """Verify every signature of a co-signed message is by a key in ``allowed``.

    The node calls it with the validator keys for governance messages, at admission and for every
    transaction met in a block, so an envelope padded with an outsider's signature never commits.
    """
    if tx.kind not in MULTI_SIGNER_KINDS:
        return
    for key in tx.signers:
        if key not in allowed:
            raise InvalidTransaction(
                f"a {tx.kind} transaction is co-signed by {who} only; key "
                f"{key.hex()[:16]}... is not one",
                "unexpected_signature",
            )


def require_cosigner_addresses_in(tx: SignedTx, allowed: frozenset[str], who: str) -> None:
    """Verify every signer account of a co-signed message is one of ``allowed`` (addresses).

    Governance co-signatures are the validators' operators' (``Validator.operator_address``,
    issue 16): the node calls this with the operators of the set in effect, at admission and
    for every transaction met in a block (``unexpected_signature`` otherwise).
    """
    if tx.kind not in MULTI_SIGNER_KINDS:
        return
    for address in sorted(tx.signer_addresses):
        if address not in allowed:
            raise InvalidTransaction(
                f"a {tx.kind} transaction is co-signed by {who} only; account {address} is not one",
                "unexpected_signature",
            )


def _verified_signers(envelope: ledger_pb2.TxEnvelope, chain_id: str) -> tuple[bytes, ...]:
    message = tx_sign_bytes(chain_id, envelope.body)
    keys: list[bytes] = []
    for sig in envelope.signatures:
        if not verify_signature(sig.public_key, message, sig.signature):
            raise InvalidTransaction(
                f"bad signature by key {sig.public_key.hex()[:16]}...", "bad_signature"
            )
        keys.append(sig.public_key)
    return tuple(keys)


def decode_tx(
    raw: bytes, chain_id: str, limits: Limits, *, known_id: bytes | None = None
) -> SignedTx:
    """Run every stateless envelope check and verify all signatures; raise InvalidTransaction.

    ``known_id`` is the id (``tx_hash(raw, chain_id)``) when the caller computed it already, e.g.
    the mempool to refuse a duplicate before paying for its signatures: a transaction is hashed
    once per node.
    """
    envelope, body = parse_envelope(raw, limits)
    if body.chain_id != chain_id:
        raise InvalidTransaction(
            f"transaction is for chain {body.chain_id!r}, this is {chain_id!r}", "wrong_chain_id"
        )
    if len(body.memo.encode()) > limits.max_memo_bytes:
        raise InvalidTransaction(
            f"memo longer than {limits.max_memo_bytes} bytes", "field_too_long"
        )
    if body.WhichOneof("msg") is None:
        raise InvalidTransaction("transaction carries no ledger message", "empty_tx")
    try:
        signer = parse_address(body.signer)
    except InvalidAddress as exc:  # say which field: a body has several addresses
        raise InvalidAddress(f"signer: {exc.message}", exc.code) from exc
    if signer != body.signer:
        raise InvalidTransaction("signer address must be lower case", "invalid_address")
    kind = body.WhichOneof("msg") or ""
    addresses = _check_signature_set(envelope, kind, signer, limits)
    # Every signature verified (or we raised): the signers are exactly the envelope's keys.
    signers = _verified_signers(envelope, chain_id)
    return SignedTx(
        tx_hash=known_id if known_id is not None else tx_id(chain_id, envelope.body),
        raw=raw,
        body=body,
        signers=signers,
        signer_addresses=frozenset(addresses),
    )


def decode_certified_tx(raw: bytes, known_id: bytes) -> SignedTx:
    """The decoded form of an envelope whose exact bytes a verified commit certificate vouches
    for (block sync); ``known_id`` is its id, from the block's checked ``tx_root``.

    Nothing of ``decode_tx`` and ``chain.check_tx`` is checked again, the signatures included:
    the header the certificate signs commits to these bytes (``envelopes_root``), and more than
    2/3 of the voting power ran every one of those checks on them before precommitting. Raises
    InvalidTransaction only for bytes that do not parse at all (then executing the block fails).
    """
    envelope = ledger_pb2.TxEnvelope()
    body = ledger_pb2.TxBody()
    try:
        envelope.ParseFromString(raw)
        body.ParseFromString(envelope.body)
    except DecodeError as exc:
        raise InvalidTransaction(f"malformed transaction: {exc}", "malformed_tx") from exc
    signers = tuple(sig.public_key for sig in envelope.signatures)
    if body.WhichOneof("msg") in MULTI_SIGNER_KINDS:
        addresses = frozenset(address_from_public_key(key) for key in signers)
    else:
        addresses = frozenset((Address(body.signer),))  # its one signature is the signer's
    return SignedTx(
        tx_hash=known_id, raw=raw, body=body, signers=signers, signer_addresses=addresses
    )
