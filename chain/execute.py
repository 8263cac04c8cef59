"""Stateful execution: ``apply_tx`` and ``apply_block`` over already-checked transactions.

Nonce rule: a transaction's nonce must equal its signer's next nonce, and the signer must be a
registered account. A transaction that fails that check changes nothing and gets a failed
receipt (the proposer should drop it). A transaction with the right nonce that then fails its
rules consumes the nonce (the only write it makes) and gets a failed receipt, so it can never be
replayed and including it is deterministic. A transaction signed by a frozen account (a
governance freeze) is such a failure: ``account_frozen``.

App hash: ``sha256(APP_HASH_DOMAIN || prev_app_hash || writes_digest(writes))`` where the digest
covers the block's writes sorted by key. It is cheap per block and, chained through
``prev_app_hash`` back to genesis, commits to the whole history of state changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import (
    AlreadyExists,
    InvalidTransaction,
    LedgerError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ResourceExhausted,
    StorageError,
)
from carbon_ticket.chain.results import BlockResult, TxResult
from carbon_ticket.chain.rules import RULES
from carbon_ticket.chain.rules._common import BlockContext, require_not_frozen
from carbon_ticket.chain.rules.gov_actions import put_next_params_in_force
from carbon_ticket.chain.rules.market import settle_market_due
from carbon_ticket.chain.rules.proposals import expire_proposals
from carbon_ticket.chain.state import StateOverlay, StateReader
from carbon_ticket.chain.tx import SignedTx

__all__ = [
    "APP_HASH_DOMAIN",
    "END_BLOCK_STEPS",
    "GENESIS_PREV_APP_HASH",
    "RESULT_CODES",
    "BlockContext",
    "apply_block",
    "apply_tx",
    "compute_app_hash",
    "end_block",
    "result_code",
    "writes_digest",
]

APP_HASH_DOMAIN = b"carbonticket/app/v1"
GENESIS_PREV_APP_HASH = bytes(32)

# Receipt ``code`` by error class (0 = success); ``error_code`` carries the precise reason.
RESULT_CODES: tuple[tuple[type[LedgerError], int], ...] = (
    (InvalidTransaction, 1),
    (PreconditionFailed, 2),
    (PermissionDenied, 3),
    (NotFound, 4),
    (AlreadyExists, 5),
    (ResourceExhausted, 6),
    (LedgerError, 7),
)


def result_code(error: LedgerError) -> int:
    """The receipt code of an error class."""
    for cls, code in RESULT_CODES:
        if isinstance(error, cls):
            return code
    return 7  # pragma: no cover - every LedgerError matches the last row


def writes_digest(writes: Mapping[bytes, bytes | None]) -> bytes:
    """SHA-256 over the writes sorted by key: ``len(k) k`` then ``0`` (delete) or ``1 len(v) v``."""
    digest = hashlib.sha256()
    for key in sorted(writes):
        value = writes[key]
        digest.update(len(key).to_bytes(4, "big"))
        digest.update(key)
        if value is None:
            digest.update(b"\x00")
        else:
            digest.update(b"\x01")
            digest.update(len(value).to_bytes(4, "big"))
            digest.update(value)
    return digest.digest()


def compute_app_hash(prev_app_hash: bytes, writes: Mapping[bytes, bytes | None]) -> bytes:
    """The app hash after a block with ``writes`` (or after genesis, with the zero hash)."""
    return hashlib.sha256(APP_HASH_DOMAIN + prev_app_hash + writes_digest(writes)).digest()


def _failed(tx: SignedTx, error: LedgerError) -> TxResult:
    return TxResult(
        tx_hash=tx.tx_hash,
        code=result_code(error),
        error_code=error.code,
        message=error.message,
        accounts=(tx.body.signer,),
    )


def apply_tx(overlay: StateOverlay, ctx: BlockContext, tx: SignedTx) -> TxResult:
    """Execute one checked transaction on ``overlay``; its writes land there only if it applied.

    A failed receipt with no writes means the tx was not admissible here (wrong chain or nonce,
    unregistered signer): a proposer should drop it. Other failures consume the nonce.
    """
    body = tx.body
    signer = body.signer
    # Verify the chain, the signer's registration and the nonce; otherwise change nothing
    if body.chain_id != ctx.chain_id:
        return _failed(
            tx,
            InvalidTransaction(
                f"transaction is for chain {body.chain_id!r}, this is {ctx.chain_id!r}",
                "wrong_chain_id",
            ),
        )
    nonce_key = keys.nonce_key(signer)
    raw = overlay.get(nonce_key)
    if raw is None:
        return _failed(
            tx,
            NotFound(
                f"signer {signer} is not a registered account; ask a registrar to register it",
                "unknown_signer",
            ),
        )
    nonce = keys.decode_u64(raw)
    if body.nonce != nonce:
        return _failed(
            tx,
            PreconditionFailed(
                f"wrong nonce {body.nonce}: account {signer} must use nonce {nonce} next",
                "wrong_nonce",
            ),
        )

    kind = body.WhichOneof("msg") or ""
    rule = RULES.get(kind)
    scratch = overlay.child()
    try:
        if rule is None:
            raise InvalidTransaction(f"unknown ledger message {kind!r}", "empty_tx")
        # A frozen account sends nothing, co-signatures included; its nonce still moves on
        # so that the refused transaction can never be replayed after an unfreeze.
        require_not_frozen(scratch, tx.signer_addresses)
        effects = rule(scratch, ctx, tx, getattr(body, kind))
    except StorageError:
        # The store failed or holds corrupt records: not the transaction's fault, and a
        # receipt would let this node diverge from the others. Stop the block instead.
        raise
    except LedgerError as error:
        overlay.set(nonce_key, keys.encode_u64(nonce + 1))
        return _failed(tx, error)
    scratch.commit()
    overlay.set(nonce_key, keys.encode_u64(nonce + 1))
    return TxResult(
        tx_hash=tx.tx_hash,
        events=effects.events,
        accounts=effects.accounts,
        batches=effects.batches,
    )


# What the end of every block does after its transactions, in this order. Each step reads only
# what falls due at this height (an index keyed by height), never scans all of its records.
EndBlockStep = Callable[[StateOverlay, BlockContext], None]
END_BLOCK_STEPS: tuple[EndBlockStep, ...] = (
    expire_proposals,  # proposals whose deadline is this height and still voting
    put_next_params_in_force,  # parameters changed by a proposal of this block
    settle_market_due,  # sell orders expiring and pending trades timing out at this height
)


def end_block(overlay: StateOverlay, ctx: BlockContext) -> None:
    """Run the end-of-block steps (``END_BLOCK_STEPS``) on the block's overlay."""
    for step in END_BLOCK_STEPS:
        step(overlay, ctx)


def apply_block(state: StateReader, ctx: BlockContext, txs: Sequence[SignedTx]) -> BlockResult:
    """Execute a block's checked transactions in order, then the end-of-block steps: writes,
    one receipt per tx, app hash."""
    overlay = StateOverlay(state)
    receipts = tuple(apply_tx(overlay, ctx, tx) for tx in txs)
    end_block(overlay, ctx)
    writes = overlay.writes
    return BlockResult(
        writes=writes, receipts=receipts, app_hash=compute_app_hash(ctx.prev_app_hash, writes)
    )
