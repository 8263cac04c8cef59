"""Read-only views of exports and imports over a committed state (issue 17).

Exports are listed in the order they were made (oldest first), over all batches or for one batch
or exporting account; a page token is the sequence number of the next export to return, so the
following page starts exactly where the previous one stopped however many exports come later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import InvalidRequest, NotFound
from carbon_ticket.chain.records import Export, Import
from carbon_ticket.chain.state import RangeReader, StateReader

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "ExportsPage",
    "get_export",
    "get_import",
    "list_exports",
]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
_SEQ = 8


@dataclass(frozen=True, slots=True)
class ExportsPage:
    """One page of exports and the token of the next page ("" after the last one)."""

    items: tuple[Export, ...]
    next_page_token: str


def get_export(state: StateReader, export_id: str) -> Export:
    """An export record; raise NotFound (``unknown_export``)."""
    raw = state.get(keys.export_key(export_id))
    if raw is None:
        raise NotFound(f"export {export_id} does not exist", "unknown_export")
    return Export.decode(raw)


def get_import(state: StateReader, origin_registry: str, origin_id: str) -> Import:
    """The import of an origin (registry, id); raise NotFound (``unknown_import``)."""
    raw = state.get(keys.import_key(origin_registry, origin_id))
    if raw is None:
        raise NotFound(f"nothing was imported from {origin_registry} {origin_id}", "unknown_import")
    return Import.decode(raw)


def _indexed_from(state: RangeReader, prefix: bytes, start: int) -> Iterator[tuple[int, bytes]]:
    """(sequence, export id) of one batch's or account's export index from ``start`` on.

    Sequence numbers sort as their 8 big-endian bytes, so the range starts at ``start``'s entry
    and a page costs its own size, not the index's length before it.
    """
    items = state.scan_range(prefix + keys.encode_u64(start), keys.prefix_end(prefix))
    for key, value in items:
        yield keys.decode_u64(key[len(prefix) : len(prefix) + _SEQ]), value


def list_exports(
    state: RangeReader,
    *,
    batch_id: str = "",
    account: str = "",
    page_size: int = 0,
    start: int = 0,
) -> ExportsPage:
    """A page of exports in export order from sequence number ``start`` (a page token, decoded
    by the API as every list's), of one batch or account when given (not both).

    ``page_size`` 0 means ``DEFAULT_PAGE_SIZE``; a larger one than ``MAX_PAGE_SIZE`` is capped,
    as every list of the API caps it. ``next_page_token`` is the next page's ``start``."""
    if batch_id and account:
        raise InvalidRequest("filter exports by batch or by account, not both", "invalid_filter")
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if batch_id or account:
        prefix = (
            keys.export_batch_prefix(batch_id) if batch_id else keys.export_account_prefix(account)
        )
        found = list(islice(_indexed_from(state, prefix, start), size + 1))
    else:
        raw = state.get(keys.EXPORT_COUNT)
        count = 0 if raw is None else keys.decode_u64(raw)
        found = []
        for seq in range(start, min(count, start + size + 1)):
            value = state.get(keys.export_all_key(seq))
            if value is not None:
                found.append((seq, value))
    page = found[:size]
    token = str(found[size][0]) if len(found) > size else ""
    return ExportsPage(tuple(get_export(state, ex.decode()) for _, ex in page), token)
