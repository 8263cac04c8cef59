"""Canonical protobuf parsing: the one place that refuses a non-canonical encoding.

Only canonical encodings are accepted: unknown fields, repeated scalars or odd varints would let
two byte strings carry the same transaction or block, and hide data from readers that ignore
them. Used for transaction envelopes and bodies (``chain.tx``) and for blocks and headers
(``chain.block``), each with its own error class and code.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError, Message

from carbon_ticket.chain.errors import LedgerError

__all__ = ["parse_canonical"]


def parse_canonical(
    message: Message, raw: bytes, what: str, error: type[LedgerError], code: str
) -> None:
    """Parse ``raw`` into ``message``; raise ``error(..., code)`` unless it is canonical."""
    try:
        message.ParseFromString(raw)
    except DecodeError as exc:
        raise error(f"malformed {what}: {exc}", code) from exc
    message.DiscardUnknownFields()  # protobuf re-emits unknown fields; drop them before comparing
    if message.SerializeToString(deterministic=True) != raw:
        raise error(f"{what} is not canonically encoded", code)
