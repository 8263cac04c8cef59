"""Moving tickets: transfers, retirements (with certificates) and cancellations.

Balances hold tradable grams only. Retiring or cancelling removes grams from the holder's balance
into the batch's retired or cancelled counter, so a retired or cancelled gram can never move.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import AlreadyExists, PreconditionFailed
from carbon_ticket.chain.records import RETIREMENT_USES, Batch, Certificate, Period
from carbon_ticket.chain.results import Event
from carbon_ticket.chain.rules._common import (
    BlockContext,
    Effects,
    block_date,
    credit_tradable,
    debit_tradable,
    event,
    period_of,
    require_account,
    require_tradable,
    tradable_balance,
)
from carbon_ticket.chain.rules.serials import consume_serials
from carbon_ticket.chain.state import StateOverlay, get_batch
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "RetirementClaim",
    "certificate_id",
    "process_cancel",
    "process_retire",
    "process_transfer",
    "record_retirement",
    "require_new_certificate",
    "retire_tradable",
    "verify_retirement",
]

_CERT_ID_BYTES = 12


def certificate_id(tx_hash: bytes) -> str:
    """A retirement certificate's id, from the tx id alone (``chain.tx.tx_id``).

    The id covers only the signed body, so the wallet knows the certificate id before it
    submits, and nobody can change it by altering the envelope.
    """
    return "RC-" + tx_hash[:_CERT_ID_BYTES].hex().upper()


def process_transfer(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.Transfer
) -> Effects:
    """Move tradable grams of one or more batches from the signer to registered accounts."""
    signer = tx.body.signer
    # Verify every recipient is registered and the signer holds the grams of every entry
    _verify_transfer(state, signer, msg.entries)

    events = []
    accounts = {signer}
    batches = set()
    for entry in msg.entries:
        to, batch_id, amount = entry.to, entry.batch_id, entry.amount_grams
        debit_tradable(state, signer, batch_id, amount)
        credit_tradable(state, to, batch_id, amount)
        accounts.add(to)
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


def _verify_transfer(
    state: StateOverlay, signer: str, entries: Iterable[ledger_pb2.TransferEntry]
) -> None:
    """Verify each entry in order, as if the entries before it had moved their grams already."""
    registered = {signer}
    held: dict[str, int] = {}  # batch id -> what the signer still holds after earlier entries
    for entry in entries:
        # Verify the recipient is registered
        if entry.to not in registered:
            require_account(state, entry.to, "recipient")
            registered.add(entry.to)
        # Verify the signer holds the grams that earlier entries left
        batch_id, amount = entry.batch_id, entry.amount_grams
        have = held[batch_id] if batch_id in held else tradable_balance(state, signer, batch_id)
        require_tradable(state, have, batch_id, amount)
        held[batch_id] = have if entry.to == signer else have - amount


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
    # Verify the certificate id is new and the signer holds the grams
    batch = verify_retirement(state, tx, msg.batch_id, msg.amount_grams)

    claim = RetirementClaim(
        beneficiary=msg.beneficiary,
        reason=msg.reason,
        jurisdiction=msg.jurisdiction,
        event=msg.event,
        period=period_of(msg.period) if msg.HasField("period") else None,
        use=RETIREMENT_USES[msg.use] or "voluntary",
        scheme=msg.scheme,
        emitter_account=msg.emitter_account,
        corresponding_adjustment=msg.corresponding_adjustment,
    )
    certificate, retire_event = retire_tradable(
        state, ctx, tx, batch=batch, amount_grams=msg.amount_grams, claim=claim
    )
    return Effects(events=(retire_event,), accounts=(signer,), batches=(certificate.batch_id,))


@dataclass(frozen=True, slots=True)
class RetirementClaim:
    """What a retirement states: for whom, why, where, the claim's optional period, and its use
    (a voluntary claim, or an offset under a compliance scheme for an emitter's account there)
    and whether a corresponding adjustment applies.

    One value for every way grams are retired (Retire, a merchant redemption paid in tickets, a
    market purchase that retires on delivery), so every certificate is built the same way.
    """

    beneficiary: str
    reason: str
    jurisdiction: str
    event: str
    period: Period | None = None
    use: str = "voluntary"  # one of RETIREMENT_USES
    scheme: str = ""
    emitter_account: str = ""
    corresponding_adjustment: bool = False


def retire_tradable(
    state: StateOverlay,
    ctx: BlockContext,
    tx: SignedTx,
    *,
    batch: Batch,
    amount_grams: int,
    claim: RetirementClaim,
) -> tuple[Certificate, Event]:
    """Retire the signer's tradable grams and store a certificate; return it and its event.

    Shared by Retire and by redemptions of merchant offers paid in tickets. Writes only: the
    caller verified the retirement first (``verify_retirement`` gave it ``batch``).
    """
    signer = tx.body.signer
    debit_tradable(state, signer, batch.batch_id, amount_grams)
    return record_retirement(
        state,
        ctx,
        batch=batch,
        source="tradable",
        amount_grams=amount_grams,
        account=signer,
        claim=claim,
        tx_hash=tx.tx_hash,
    )


def record_retirement(
    state: StateOverlay,
    ctx: BlockContext,
    *,
    batch: Batch,
    source: str,
    amount_grams: int,
    account: str,
    claim: RetirementClaim,
    tx_hash: bytes,
) -> tuple[Certificate, Event]:
    """Move grams of ``batch`` from its ``source`` supply field to retired; store a certificate.

    The one place a retirement certificate is made. ``source`` is the Batch supply field the
    grams leave ("tradable" for a holder's balance, "escrowed" for a market delivery); the
    caller already took them out of whatever held them. The certificate id derives from
    ``tx_hash``, the transaction that retires, so it is known before submission.
    """
    cert_id = certificate_id(tx_hash)
    serial_first, serial_last = consume_serials(state, batch.batch_id, amount_grams)
    state.set(
        keys.batch_key(batch.batch_id),
        replace(
            batch,
            retired=batch.retired + amount_grams,
            **{source: getattr(batch, source) - amount_grams},
        ).encode(),
    )
    certificate = Certificate(
        certificate_id=cert_id,
        batch_id=batch.batch_id,
        project_id=batch.project_id,
        vintage=batch.vintage,
        amount_grams=amount_grams,
        beneficiary=claim.beneficiary,
        reason=claim.reason,
        jurisdiction=claim.jurisdiction,
        event=claim.event,
        account=account,
        period=claim.period,
        height=ctx.height,
        time_ms=ctx.time_ms,
        tx_hash=tx_hash,
        use=claim.use,
        scheme=claim.scheme,
        emitter_account=claim.emitter_account,
        corresponding_adjustment=int(claim.corresponding_adjustment),
        serial_first=serial_first,
        serial_last=serial_last,
    )
    state.set(keys.certificate_key(cert_id), certificate.encode())
    retire_event = event(
        "retire",
        ("certificate_id", cert_id),
        ("account", account),
        ("batch_id", batch.batch_id),
        ("amount_grams", str(amount_grams)),
        ("beneficiary", claim.beneficiary),
        ("reason", claim.reason),
        # The rest of what the certificate shows, so that the receipt (committed in
        # the header's results root) proves every field of it.
        ("project_id", batch.project_id),
        ("vintage", str(batch.vintage)),
        ("jurisdiction", claim.jurisdiction),
        ("event", claim.event),
        ("period", "" if claim.period is None else str(claim.period)),
        ("use", claim.use),
        ("scheme", claim.scheme),
        ("emitter_account", claim.emitter_account),
        ("corresponding_adjustment", "true" if claim.corresponding_adjustment else "false"),
        ("serial", certificate.serial),
    )
    return certificate, retire_event


def require_new_certificate(state: StateOverlay, tx_hash: bytes) -> None:
    """Verify the certificate id a retiring transaction would take is free (AlreadyExists).

    The id is 96 bits of the tx id: two transactions one party signs can be made to share one
    by a birthday search. Every transaction that retires checks it before any change, so a
    certificate is never written over another (``record_retirement`` makes them all).
    """
    cert_id = certificate_id(tx_hash)
    if state.get(keys.certificate_key(cert_id)) is not None:
        raise AlreadyExists(
            f"retirement certificate {cert_id} exists already", "certificate_exists"
        )


def verify_retirement(state: StateOverlay, tx: SignedTx, batch_id: str, amount: int) -> Batch:
    """Verify the signer may retire ``amount`` grams of the batch now; return the batch."""
    # Verify the certificate id is new (it derives from the tx hash)
    require_new_certificate(state, tx.tx_hash)
    # Verify the signer holds the grams
    have = tradable_balance(state, tx.body.signer, batch_id)
    require_tradable(state, have, batch_id, amount)
    return get_batch(state, batch_id)


def process_cancel(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.Cancel
) -> Effects:
    """Cancel tradable grams the signer holds (e.g. moved to another registry)."""
    signer = tx.body.signer
    # Verify the signer holds the grams
    have = tradable_balance(state, signer, msg.batch_id)
    require_tradable(state, have, msg.batch_id, msg.amount_grams)
    batch = get_batch(state, msg.batch_id)

    debit_tradable(state, signer, msg.batch_id, msg.amount_grams)
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
