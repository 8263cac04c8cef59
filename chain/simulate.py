"""Simulation: run one transaction through the block rules on a throw-away overlay.

A wallet simulates before it signs, so a simulated envelope may carry no signature at all and
may leave the chain id empty and the nonce 0 (a *draft*): the node then fills both in. Everything
else is checked as for a real transaction: the stateless checks of ``check_message``, then the
chain id, the signer's registration, the nonce, roles, amounts and balances through
``apply_tx``, against the committed state. Nothing is ever written: the overlay is dropped.

Two things differ from a real execution, on purpose:
- An unsigned envelope proves nothing about its signers. Its single signer is taken as having
  signed, and a governance message (``MULTI_SIGNER_KINDS``) is taken as co-signed by every
  validator's operator, so the simulation answers "would this succeed once it carries its
  signatures?".
- The signer's transactions still pending are not replayed (other accounts' pending
  transactions could change their outcome anyway); only their nonces count: the simulated
  nonce must be the first one that is neither used nor pending.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbon_ticket.chain import keys
from carbon_ticket.chain.check import check_message
from carbon_ticket.chain.crypto import Address, parse_address
from carbon_ticket.chain.errors import (
    AlreadyExists,
    InvalidTransaction,
    LedgerError,
    PreconditionFailed,
)
from carbon_ticket.chain.execute import BlockContext, apply_tx, result_code
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.results import TxResult
from carbon_ticket.chain.state import StateOverlay, StateReader, get_validators
from carbon_ticket.chain.tx import (
    MULTI_SIGNER_KINDS,
    SIGNATURE_BYTES,
    SignedTx,
    parse_envelope,
    tx_id,
)
from carbon_ticket.proto import ledger_pb2

__all__ = ["Draft", "Simulation", "fill_draft", "read_draft", "simulate_tx", "unsigned_tx"]


@dataclass(frozen=True, slots=True)
class Draft:
    """A parsed envelope to simulate; ``needs_filling`` when the chain id is left empty."""

    envelope: ledger_pb2.TxEnvelope
    body: ledger_pb2.TxBody

    @property
    def needs_filling(self) -> bool:
        """True when the node must fill the chain id and the nonce."""
        return not self.body.chain_id

    @property
    def signed(self) -> bool:
        """True when the envelope carries signatures (they are then verified)."""
        return len(self.envelope.signatures) > 0


@dataclass(frozen=True, slots=True)
class Simulation:
    """The outcome of a simulation: the receipt, and the chain id and nonce it ran with."""

    result: TxResult
    chain_id: str
    nonce: int
    signatures_verified: bool
    height: int


def read_draft(raw: bytes, limits: Limits) -> Draft:
    """Parse an envelope to simulate (size and canonical encoding as for a real one).

    A draft leaves chain id and nonce to the node and so cannot carry signatures yet.
    """
    envelope, body = parse_envelope(raw, limits)
    draft = Draft(envelope, body)
    if draft.needs_filling and draft.signed:
        raise InvalidTransaction(
            "a transaction without chain id is a draft: it cannot carry signatures yet",
            "unexpected_signature",
        )
    if draft.needs_filling and body.nonce != 0:
        raise InvalidTransaction(
            "a draft without chain id leaves the nonce 0: the node fills both", "invalid_nonce"
        )
    parse_address(body.signer)  # the node reads the signer's nonce next
    return draft


def fill_draft(draft: Draft, chain_id: str, nonce: int) -> Draft:
    """The draft with its chain id and nonce filled in (a new body, canonically encoded)."""
    body = ledger_pb2.TxBody()
    body.CopyFrom(draft.body)
    body.chain_id = chain_id
    body.nonce = nonce
    envelope = ledger_pb2.TxEnvelope(body=body.SerializeToString(deterministic=True))
    return Draft(envelope, body)


def unsigned_tx(draft: Draft, chain_id: str, limits: Limits, state: StateReader) -> SignedTx:
    """A SignedTx for an envelope without signatures, after the stateless checks of a real one.

    The signer counts as having signed; for governance every validator's operator does as well.
    Its size is checked as it will be once it carries the signer's signature, so that a wallet
    learns before signing that the transaction is too large, not after.
    """
    body = draft.body
    signed_size = draft.envelope.ByteSize() + SIGNATURE_BYTES
    if signed_size > limits.max_tx_bytes:
        raise InvalidTransaction(
            f"transaction would be {signed_size} bytes once signed, the limit is "
            f"{limits.max_tx_bytes}",
            "tx_too_large",
        )
    # Verify what chain.tx.decode_tx verifies of the body, signatures aside
    if body.chain_id != chain_id:
        raise InvalidTransaction(
            f"transaction is for chain {body.chain_id!r}, this is {chain_id!r}", "wrong_chain_id"
        )
    if len(body.memo.encode()) > limits.max_memo_bytes:
        raise InvalidTransaction(
            f"memo longer than {limits.max_memo_bytes} bytes", "field_too_long"
        )
    kind = body.WhichOneof("msg")
    if kind is None:
        raise InvalidTransaction("transaction carries no ledger message", "empty_tx")
    signer = parse_address(body.signer)
    if signer != body.signer:
        raise InvalidTransaction("signer address must be lower case", "invalid_address")
    check_message(body, limits)
    addresses: set[Address] = {signer}
    if kind in MULTI_SIGNER_KINDS:
        # The operators speak for the validators (the latest set: the next height's may differ
        # only by a change decided in the last two blocks).
        addresses |= {Address(v.operator_address) for v in get_validators(state)}
    return SignedTx(
        tx_hash=tx_id(chain_id, draft.envelope.body),
        raw=draft.envelope.SerializeToString(deterministic=True),
        body=body,
        signers=(),
        signer_addresses=frozenset(addresses),
    )


def _failed(tx: SignedTx, error: LedgerError) -> TxResult:
    return TxResult(
        tx_hash=tx.tx_hash,
        code=result_code(error),
        error_code=error.code,
        message=error.message,
        accounts=(tx.body.signer,),
    )


def simulate_tx(state: StateReader, ctx: BlockContext, tx: SignedTx, next_nonce: int) -> TxResult:
    """The receipt ``tx`` would get in the next block; ``state`` is never written.

    ``next_nonce`` is the signer's first nonce neither used nor pending (the mempool's view).
    """
    overlay = StateOverlay(state)
    nonce_key = keys.nonce_key(tx.body.signer)
    stored = overlay.get(nonce_key)
    nonce = tx.body.nonce
    if stored is not None:
        # Verify the nonce is neither used nor taken by a pending transaction, as admission does
        committed = keys.decode_u64(stored)
        if nonce < committed:
            return _failed(
                tx,
                PreconditionFailed(
                    f"nonce {nonce} of {tx.body.signer} is already used; the next nonce is "
                    f"{next_nonce}",
                    "nonce_used",
                ),
            )
        if nonce < next_nonce:
            return _failed(
                tx,
                AlreadyExists(
                    f"another transaction of {tx.body.signer} with nonce {nonce} is pending; "
                    f"the next free nonce is {next_nonce}",
                    "nonce_pending",
                ),
            )
        # The pending transactions before it are not replayed: only their nonces count.
        overlay.set(nonce_key, keys.encode_u64(nonce))
    return apply_tx(overlay, ctx, tx)
