"""Stateless checks of issue 17's registry fields: project ids, retirement use, export, import.

Each failure is an ``InvalidTransaction`` (or subclass) with a stable code, like ``chain.check``.
"""

from __future__ import annotations

import re

from carbon_ticket.chain.amounts import MAX_GRAMS
from carbon_ticket.chain.check_fields import (
    require_address,
    require_amount,
    require_batch_id,
    require_hash,
    require_period,
    require_project_id,
    require_reference,
    require_text,
)
from carbon_ticket.chain.errors import InvalidAmount, InvalidTransaction
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.records import RETIREMENT_USES
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "MAX_PROJECT_IDS",
    "check_export",
    "check_import_batch",
    "check_project_ids",
    "check_retirement_use",
    "require_registry",
]

# External ids and parcel ids one project may name (each list); a larger forest is several
# projects, or its parcels are grouped under inventory compartment numbers.
MAX_PROJECT_IDS = 256
_REGISTRY_RE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*", re.ASCII)
_MAX_REGISTRY_CHARS = 32


def require_registry(value: str, field: str) -> None:
    """A registry name: upper-case letters and digits in groups joined by "-" (e.g. CCER)."""
    if not value:
        raise InvalidTransaction(f"{field} is required", "missing_field")
    if len(value) > _MAX_REGISTRY_CHARS or not _REGISTRY_RE.fullmatch(value):
        raise InvalidTransaction(
            f"{field} {value!r} must be at most {_MAX_REGISTRY_CHARS} upper-case letters and "
            "digits in groups joined by '-', e.g. CCER or VERRA",
            "invalid_registry",
        )


def _require_distinct_ids(values: list[str], what: str, limits: Limits) -> None:
    if len(values) > MAX_PROJECT_IDS:
        raise InvalidTransaction(
            f"the project names {len(values)} {what}s, the limit is {MAX_PROJECT_IDS}",
            "too_many_entries",
        )
    seen: set[str] = set()
    for value in values:
        require_reference(value, what, limits)
        if value in seen:
            raise InvalidTransaction(
                f"{what} {value!r} is named twice", "duplicate_" + what.replace(" ", "_")
            )
        seen.add(value)


def check_project_ids(msg: ledger_pb2.RegisterProject, limits: Limits) -> None:
    """External ids and parcel ids: distinct references; the boundary hash is empty or 32 bytes."""
    _require_distinct_ids(list(msg.external_ids), "external id", limits)
    _require_distinct_ids(list(msg.parcel_ids), "parcel id", limits)
    if msg.boundary_hash:
        require_hash(msg.boundary_hash, "boundary hash")
    elif msg.parcel_ids:
        raise InvalidTransaction(
            "a project naming parcels needs the SHA-256 of their boundary data (boundary_hash)",
            "missing_field",
        )


def check_retirement_use(msg: ledger_pb2.Retire, limits: Limits) -> None:
    """A voluntary claim names no scheme; a compliance offset names the scheme and emitter."""
    use = msg.use
    if not 0 <= use < len(RETIREMENT_USES):
        raise InvalidTransaction(
            f"use {use} is not one of {', '.join(RETIREMENT_USES[1:])}", "invalid_use"
        )
    if RETIREMENT_USES[use] == "compliance_offset":
        if not msg.scheme or not msg.emitter_account:
            raise InvalidTransaction(
                "a compliance offset names the compliance scheme and the emitter's account id "
                "in it (scheme, emitter_account)",
                "invalid_use",
            )
        require_text(msg.scheme, "scheme", limits.max_id_bytes)
        require_text(msg.emitter_account, "emitter account", limits.max_id_bytes)
    elif msg.scheme or msg.emitter_account:
        raise InvalidTransaction(
            "a voluntary retirement names no compliance scheme or emitter account; "
            "use compliance_offset for an offset under a scheme",
            "invalid_use",
        )


def check_export(msg: ledger_pb2.ExportTickets, body: ledger_pb2.TxBody, limits: Limits) -> None:
    require_batch_id(msg.batch_id, limits)
    require_amount(msg.amount_grams)
    require_registry(msg.registry, "target registry")
    require_reference(msg.account, "target account", limits)
    require_text(msg.reason, "reason", limits.max_text_bytes, required=False)


def check_import_batch(
    msg: ledger_pb2.ImportBatch, body: ledger_pb2.TxBody, limits: Limits
) -> None:
    require_registry(msg.origin_registry, "origin registry")
    require_reference(msg.origin_id, "origin id", limits)
    require_project_id(msg.project_id, limits)
    require_period(msg.vintage, "vintage")
    require_amount(msg.amount_grams)
    if msg.amount_grams > MAX_GRAMS:
        raise InvalidAmount(
            f"an import of {msg.amount_grams} g exceeds {MAX_GRAMS} g", "amount_overflow"
        )
    require_address(msg.recipient, "recipient")
