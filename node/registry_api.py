"""The public API's registry reads (issue 17): exports and imports (docs/api.md, "Registries").

A mixin of ``LedgerServicer``: thin like the rest of it (decode, one call into
``chain.registry_view``, encode); errors are mapped by ``node.errors``.
"""

from __future__ import annotations

import grpc

from carbon_ticket.chain.records import Export, Import
from carbon_ticket.chain.records import Period as RecordPeriod
from carbon_ticket.chain.registry_view import get_export, get_import, list_exports
from carbon_ticket.chain.state import get_batch
from carbon_ticket.chain.store import StoreView
from carbon_ticket.node.api_codec import (
    decode_address,
    decode_sequence_token,
    period_to_proto,
    require_id,
)
from carbon_ticket.node.errors import unary_errors as errors
from carbon_ticket.proto import services_pb2

__all__ = ["RegistryApi", "export_to_proto", "import_to_proto"]


def export_to_proto(e: Export) -> services_pb2.ExportInfo:
    """An export record."""
    return services_pb2.ExportInfo(
        export_id=e.export_id,
        batch_id=e.batch_id,
        project_id=e.project_id,
        vintage=period_to_proto(e.vintage),
        amount_grams=e.amount_grams,
        account=e.account,
        registry=e.registry,
        target_account=e.target_account,
        serial_first=e.serial_first,
        serial_last=e.serial_last,
        serial=e.serial,
        height=e.height,
        time_ms=e.time_ms,
        tx_hash=e.tx_hash,
    )


def import_to_proto(
    i: Import, batch_project: str, vintage: RecordPeriod, recipient: str
) -> services_pb2.ImportInfo:
    """An import record, with the project, vintage and recipient of the batch it became."""
    return services_pb2.ImportInfo(
        origin_registry=i.origin_registry,
        origin_id=i.origin_id,
        batch_id=i.batch_id,
        project_id=batch_project,
        vintage=period_to_proto(vintage),
        amount_grams=i.amount_grams,
        recipient=recipient,
        bridge=i.bridge,
        height=i.height,
        time_ms=i.time_ms,
        tx_hash=i.tx_hash,
    )


class RegistryApi:
    """ExportList, ExportGet and ImportGet over the committed state ``_store``."""

    _store: StoreView

    @errors
    async def ExportList(
        self, request: services_pb2.ExportListRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.ExportPage:
        account = decode_address(request.account, "account") if request.account else ""
        batch_id = require_id(request.batch_id, "batch_id", self._store) if request.batch_id else ""
        page = list_exports(
            self._store,
            batch_id=batch_id,
            account=account,
            page_size=request.page_size,
            start=decode_sequence_token(request.page_token) or 0,
        )
        return services_pb2.ExportPage(
            items=[export_to_proto(e) for e in page.items], next_page_token=page.next_page_token
        )

    @errors
    async def ExportGet(
        self, request: services_pb2.ExportGetRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.ExportInfo:
        return export_to_proto(
            get_export(self._store, require_id(request.export_id, "export_id", self._store))
        )

    @errors
    async def ImportGet(
        self, request: services_pb2.ImportGetRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.ImportInfo:
        record = get_import(
            self._store,
            require_id(request.origin_registry, "origin_registry", self._store),
            require_id(request.origin_id, "origin_id", self._store),
        )
        batch = get_batch(self._store, record.batch_id)
        return import_to_proto(record, batch.project_id, batch.vintage, batch.recipient)
