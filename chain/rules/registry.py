"""Other registries: exports of tickets to them and imports of batches from them.

An export takes tradable grams out of circulation into the batch's ``exported`` supply (their own
category, not cancelled: the grams live on in the target registry), consumes their serials and
writes an export record. An import, by a bridge account, creates a batch like an issuance but
without a buffer share (the origin registry withheld it) and only once per origin
(registry, id), so the same block of tonnes cannot be brought in twice.
"""

from __future__ import annotations

from dataclasses import replace

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import AlreadyExists
from carbon_ticket.chain.records import Batch, Export, Import
from carbon_ticket.chain.rules._common import (
    BlockContext,
    Effects,
    credit_tradable,
    debit_tradable,
    event,
    period_of,
    read_u64,
    require_account,
    require_role,
    require_tradable,
    tradable_balance,
)
from carbon_ticket.chain.rules.batches import make_batch_id, require_new_batch_id
from carbon_ticket.chain.rules.serials import consume_serials
from carbon_ticket.chain.state import StateOverlay, get_batch, get_params, get_project
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = ["export_id", "process_export", "process_import_batch"]

_EXPORT_ID_BYTES = 12


def export_id(tx_hash: bytes) -> str:
    """An export's id, from the tx id alone, so the wallet knows it before it submits."""
    return "EX-" + tx_hash[:_EXPORT_ID_BYTES].hex().upper()


def process_export(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.ExportTickets
) -> Effects:
    """Move the signer's tradable grams of a batch to another registry; store an export record."""
    signer = tx.body.signer
    ex_id = export_id(tx.tx_hash)
    # Verify the export id is new (it derives from the tx hash)
    if state.get(keys.export_key(ex_id)) is not None:
        raise AlreadyExists(f"export {ex_id} exists already", "export_exists")
    # Verify the signer holds the grams
    have = tradable_balance(state, signer, msg.batch_id)
    require_tradable(state, have, msg.batch_id, msg.amount_grams)
    batch = get_batch(state, msg.batch_id)

    debit_tradable(state, signer, msg.batch_id, msg.amount_grams)
    state.set(
        keys.batch_key(batch.batch_id),
        replace(
            batch,
            tradable=batch.tradable - msg.amount_grams,
            exported=batch.exported + msg.amount_grams,
        ).encode(),
    )
    first, last = consume_serials(state, batch.batch_id, msg.amount_grams)
    record = Export(
        export_id=ex_id,
        batch_id=batch.batch_id,
        project_id=batch.project_id,
        vintage=batch.vintage,
        amount_grams=msg.amount_grams,
        account=signer,
        registry=msg.registry,
        target_account=msg.account,
        serial_first=first,
        serial_last=last,
        height=ctx.height,
        time_ms=ctx.time_ms,
        tx_hash=tx.tx_hash,
    )
    _store_export(state, record)
    return Effects(
        events=(
            event(
                "export",
                ("export_id", ex_id),
                ("account", signer),
                ("batch_id", batch.batch_id),
                ("amount_grams", str(msg.amount_grams)),
                ("registry", msg.registry),
                ("target_account", msg.account),
                ("serial", record.serial),
                ("reason", msg.reason),
            ),
        ),
        accounts=(signer,),
        batches=(batch.batch_id,),
    )


def _store_export(state: StateOverlay, record: Export) -> None:
    """Write the record and its three indexes (all, by batch, by account) in export order."""
    sequence = read_u64(state, keys.EXPORT_COUNT)
    ex_id = record.export_id.encode()
    state.set(keys.export_key(record.export_id), record.encode())
    state.set(keys.export_all_key(sequence), ex_id)
    state.set(keys.export_batch_key(record.batch_id, sequence), ex_id)
    state.set(keys.export_account_key(record.account, sequence), ex_id)
    state.set(keys.EXPORT_COUNT, keys.encode_u64(sequence + 1))


def process_import_batch(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.ImportBatch
) -> Effects:
    """A bridge account imports a batch from another registry, once per origin."""
    signer = tx.body.signer
    # Verify the signer holds the bridge role
    require_role(state, "bridge", signer, "importing a batch")
    # Verify the origin was never imported
    origin_key = keys.import_key(msg.origin_registry, msg.origin_id)
    raw = state.get(origin_key)
    if raw is not None:
        earlier = Import.decode(raw)
        raise AlreadyExists(
            f"{msg.origin_registry} {msg.origin_id} was already imported as batch "
            f"{earlier.batch_id} at height {earlier.height}; an origin is imported once",
            "already_imported",
        )
    # Verify the project is registered here and the recipient is registered
    project = get_project(state, msg.project_id)
    require_account(state, msg.recipient, "recipient")
    # Verify the next batch id of the vintage is usable
    vintage = period_of(msg.vintage)
    seq_key = keys.batch_seq_key(msg.project_id, vintage.start_date, vintage.end_date)
    seq = read_u64(state, seq_key) + 1
    batch_id = make_batch_id(msg.project_id, vintage.start_date, vintage.end_date, seq)
    require_new_batch_id(state, batch_id, get_params(state).limits.max_id_bytes)

    batch = Batch(
        batch_id=batch_id,
        project_id=project.project_id,
        vintage=vintage,
        issuer=signer,
        recipient=msg.recipient,
        report_hashes=(),
        issued=msg.amount_grams,
        tradable=msg.amount_grams,
        retired=0,
        cancelled=0,
        buffer=0,
        reversed_grams=0,
        height=ctx.height,
        time_ms=ctx.time_ms,
    )
    state.set(keys.batch_key(batch_id), batch.encode())
    state.set(seq_key, keys.encode_u64(seq))
    credit_tradable(state, msg.recipient, batch_id, msg.amount_grams)
    record = Import(
        origin_registry=msg.origin_registry,
        origin_id=msg.origin_id,
        batch_id=batch_id,
        bridge=signer,
        amount_grams=msg.amount_grams,
        height=ctx.height,
        time_ms=ctx.time_ms,
        tx_hash=tx.tx_hash,
    )
    state.set(origin_key, record.encode())
    return Effects(
        events=(
            event(
                "import_batch",
                ("batch_id", batch_id),
                ("project_id", project.project_id),
                ("origin_registry", msg.origin_registry),
                ("origin_id", msg.origin_id),
                ("amount_grams", str(msg.amount_grams)),
                ("recipient", msg.recipient),
            ),
        ),
        accounts=tuple(sorted({signer, msg.recipient})),
        batches=(batch_id,),
    )
