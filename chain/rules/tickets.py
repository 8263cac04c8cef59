"""Moving tickets: transfers, retirements (with certificates) and cancellations.

Balances hold tradable grams only. Retiring or cancelling removes grams from the holder's balance
into the batch's retired or cancelled counter, so a retired or cancelled gram can never move.
"""

from __future__ import annotations

from dataclasses import replace

from chain import keys
from chain.errors import AlreadyExists, NotFound, PreconditionFailed
from chain.records import Batch, Certificate, Period
from chain.results import Event
from chain.rules._common import (
    BlockContext,
    Effects,
    block_date,
    event,
    period_of,
    require_account,
    tco2e,
)
from chain.state import StateOverlay, get_batch
from chain.tx import SignedTx
from proto import ledger_pb2

__all__ = [
    "certificate_id",
    "credit_tradable",
    "debit_tradable",
    "process_cancel",
    "process_retire",
    "process_transfer",
    "retire_tradable",
]

_CERT_ID_BYTES = 12


def certificate_id(tx_hash: bytes) -> str:
    """A retirement certificate's id, from the tx id alone (``chain.tx.tx_id``).

    The id covers only the signed body, so the wallet knows the certificate id before it
    submits, and nobody can change it by altering the envelope.
    """
    return "RC-" + tx_hash[:_CERT_ID_BYTES].hex().upper()


def _insufficient(state: StateOverlay, have: int, batch_id: str, need: int) -> Exception:
    # Only on the failure path: tell an unknown batch apart from an empty balance.
    if have == 0 and state.get(keys.batch_key(batch_id)) is None:
        return NotFound(f"batch {batch_id} does not exist", "unknown_batch")
    return PreconditionFailed(
        f"insufficient tradable balance: have {tco2e(have)} of batch {batch_id}, "
        f"need {tco2e(need)}",
        "insufficient_balance",
    )


def _debit(state: StateOverlay, address: str, batch_id: str, amount: int) -> None:
    """Verify ``address`` holds ``amount`` tradable grams of the batch and take them."""
    key = keys.balance_key(address, batch_id)
    raw = state.get(key)
    have = 0 if raw is None else int.from_bytes(raw, "big")
    if have < amount:
        raise _insufficient(state, have, batch_id, amount)
    if have == amount:
        state.delete(key)
    else:
        state.set(key, (have - amount).to_bytes(8, "big"))


def debit_tradable(state: StateOverlay, address: str, batch_id: str, amount: int) -> None:
    """Verify ``address`` holds ``amount`` tradable grams of the batch and take them."""
    _debit(state, address, batch_id, amount)


def credit_tradable(state: StateOverlay, address: str, batch_id: str, amount: int) -> None:
    """Add tradable grams to a balance (the caller took them from another balance)."""
    key = keys.balance_key(address, batch_id)
    raw = state.get(key)
    have = 0 if raw is None else int.from_bytes(raw, "big")
    state.set(key, (have + amount).to_bytes(8, "big"))  # <= the batch's issued grams


def process_transfer(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.Transfer
) -> Effects:
    """Move tradable grams of one or more batches from the signer to registered accounts."""
    signer = tx.body.signer
    events = []
    accounts = {signer}
    batches = set()
    for entry in msg.entries:
        to, batch_id, amount = entry.to, entry.batch_id, entry.amount_grams
        # Verify the recipient is registered
        if to not in accounts:
            require_account(state, to, "recipient")
            accounts.add(to)
        # Verify the signer holds the grams, then move them (later entries see earlier ones)
        _debit(state, signer, batch_id, amount)
        key = keys.balance_key(to, batch_id)
        raw = state.get(key)
        have = 0 if raw is None else int.from_bytes(raw, "big")
        state.set(key, (have + amount).to_bytes(8, "big"))  # <= the batch's issued grams
        batches.add(batch_id)
        events.append(
            event(
                "transfer",
                ("from", signer),
                ("to", to),
                ("batch_id", batch_id),
                ("amount_grams", str(amount)),
            )
        )
    return Effects(tuple(events), tuple(sorted(accounts)), tuple(sorted(batches)))


def process_retire(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.Retire
) -> Effects:
    """Retire tradable grams for a beneficiary and store a retirement certificate."""
    signer = tx.body.signer
    # Verify the claim period, if any, does not end after the block's (UTC) date: an offset
    # claim for emissions that lie years ahead is not a claim anyone can check
    if msg.HasField("period"):
        today = block_date(ctx.time_ms)
        if msg.period.end_date > today:
            raise PreconditionFailed(
                f"claim period {period_of(msg.period)} ends after the block date {today:08d}",
                "period_in_future",
            )
    certificate, retire_event = retire_tradable(
        state,
        ctx,
        tx,
        batch_id=msg.batch_id,
        amount_grams=msg.amount_grams,
        beneficiary=msg.beneficiary,
        reason=msg.reason,
        jurisdiction=msg.jurisdiction,
        event_name=msg.event,
        period=period_of(msg.period) if msg.HasField("period") else None,
    )
    return Effects(events=(retire_event,), accounts=(signer,), batches=(certificate.batch_id,))


def retire_tradable(
    state: StateOverlay,
    ctx: BlockContext,
    tx: SignedTx,
    *,
    batch_id: str,
    amount_grams: int,
    beneficiary: str,
    reason: str,
    jurisdiction: str,
    event_name: str,
    period: Period | None,
) -> tuple[Certificate, Event]:
    """Retire the signer's tradable grams and store a certificate; return it and its event.

    Shared by Retire and by redemptions of merchant offers paid in tickets.
    """
    signer = tx.body.signer
    cert_id = certificate_id(tx.tx_hash)
    cert_key = keys.certificate_key(cert_id)
    # Verify the certificate id is new (it derives from the tx hash)
    if state.get(cert_key) is not None:
        raise AlreadyExists(
            f"retirement certificate {cert_id} exists already", "certificate_exists"
        )
    # Verify the signer holds the grams, and take them
    _debit(state, signer, batch_id, amount_grams)

    batch = get_batch(state, batch_id)
    _save_supply(
        state,
        batch,
        tradable=batch.tradable - amount_grams,
        retired=batch.retired + amount_grams,
    )
    certificate = Certificate(
        certificate_id=cert_id,
        batch_id=batch.batch_id,
        project_id=batch.project_id,
        vintage=batch.vintage,
        amount_grams=amount_grams,
        beneficiary=beneficiary,
        reason=reason,
        jurisdiction=jurisdiction,
        event=event_name,
        account=signer,
        period=period,
        height=ctx.height,
        time_ms=ctx.time_ms,
        tx_hash=tx.tx_hash,
    )
    state.set(cert_key, certificate.encode())
    retire_event = event(
        "retire",
        ("certificate_id", cert_id),
        ("account", signer),
        ("batch_id", batch.batch_id),
        ("amount_grams", str(amount_grams)),
        ("beneficiary", beneficiary),
        ("reason", reason),
        # The rest of what the certificate shows, so that the receipt (committed in
        # the header's results root) proves every field of it.
        ("project_id", batch.project_id),
        ("vintage", str(batch.vintage)),
        ("jurisdiction", jurisdiction),
        ("event", event_name),
        ("period", "" if period is None else str(period)),
    )
    return certificate, retire_event


def process_cancel(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.Cancel
) -> Effects:
    """Cancel tradable grams the signer holds (e.g. moved to another registry)."""
    signer = tx.body.signer
    # Verify the signer holds the grams, and take them
    _debit(state, signer, msg.batch_id, msg.amount_grams)

    batch = get_batch(state, msg.batch_id)
    _save_supply(
        state,
        batch,
        tradable=batch.tradable - msg.amount_grams,
        cancelled=batch.cancelled + msg.amount_grams,
    )
    return Effects(
        events=(
            event(
                "cancel",
                ("account", signer),
                ("batch_id", batch.batch_id),
                ("amount_grams", str(msg.amount_grams)),
                ("reason", msg.reason),
            ),
        ),
        accounts=(signer,),
        batches=(batch.batch_id,),
    )


def _save_supply(
    state: StateOverlay, batch: Batch, *, tradable: int, retired: int = -1, cancelled: int = -1
) -> None:
    updated = replace(
        batch,
        tradable=tradable,
        retired=batch.retired if retired < 0 else retired,
        cancelled=batch.cancelled if cancelled < 0 else cancelled,
    )
    state.set(keys.batch_key(batch.batch_id), updated.encode())
