"""Field checks shared by the stateless message checks (``chain.check`` and its governance part).

Each raises ``InvalidTransaction`` (or a subclass) with a stable code; none reads state.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from carbon_ticket.chain.crypto import parse_address
from carbon_ticket.chain.errors import InvalidAddress, InvalidAmount, InvalidTransaction
from carbon_ticket.chain.iso3166 import is_iso3166_code
from carbon_ticket.chain.limits import Limits
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "BATCH_ID_SUFFIX_CHARS",
    "MAX_PROJECT_ID_CHARS",
    "check_text",
    "require_address",
    "require_amount",
    "require_batch_id",
    "require_entries",
    "require_enum",
    "require_hash",
    "require_jurisdiction",
    "require_period",
    "require_project_id",
    "require_reference",
    "require_text",
    "valid_date",
]

# A batch id appends "-YYYYMMDD-YYYYMMDD-NNN" (22 chars up to the 999th batch of a vintage) to
# the project id; genesis requires max_id_bytes >= 32 + 22.
MAX_PROJECT_ID_CHARS = 32
BATCH_ID_SUFFIX_CHARS = 22
# Project and batch ids: upper-case letters and digits in groups joined by "-".
_ID_RE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*", re.ASCII)
# Characters free text may not carry: C0/C1 controls and DEL, line and paragraph separators,
# bidirectional controls (marks, embeddings, overrides, isolates) that reorder what a reader sees,
# and invisible characters (zero-width space/joiners, word joiner, invisible operators, BOM,
# soft hyphen, tag characters) that make two texts look alike. The list is explicit rather than
# a Unicode category so that it does not move with the Python's Unicode tables.
_FORBIDDEN_TEXT_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
_HASH_BYTES = 32


def require_text(value: str, field: str, limit: int, *, required: bool = True) -> None:
    if required and not value:
        raise InvalidTransaction(f"{field} is required", "missing_field")
    if len(value) * 4 > limit and len(value.encode()) > limit:  # cheap test first
        raise InvalidTransaction(
            f"{field} is {len(value.encode())} bytes, the limit is {limit}", "field_too_long"
        )
    check_text(value, field)


def check_text(value: str, field: str) -> None:
    """Verify free text is NFC and free of control, bidi and invisible characters.

    The ledger refuses rather than rewrites: the text is signed, so the wallet normalises it
    (``unicodedata.normalize("NFC", ...)``) before signing. Certificates then show exactly what
    a reader sees, and two certificates that look alike are alike.
    """
    bad = _FORBIDDEN_TEXT_RE.search(value)
    if bad is not None:
        raise InvalidTransaction(
            f"{field} contains the control, bidi or invisible character "
            f"U+{ord(bad.group()):04X} at position {bad.start()}",
            "forbidden_character",
        )
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):  # ASCII is NFC
        raise InvalidTransaction(
            f"{field} is not in Unicode normalisation form NFC; normalise it before signing",
            "text_not_nfc",
        )


def require_address(value: str, field: str) -> None:
    if not value:
        raise InvalidTransaction(f"{field} is required", "missing_field")
    if parse_address(value) != value:
        raise InvalidAddress(f"{field} {value!r} must be written in lower case")


def require_amount(value: int, field: str = "amount") -> None:
    if value == 0:
        raise InvalidAmount(f"{field} must be greater than zero", "zero_amount")


def require_hash(value: bytes, field: str) -> None:
    if len(value) != _HASH_BYTES:
        raise InvalidTransaction(
            f"{field} must be a {_HASH_BYTES}-byte SHA-256 digest, got {len(value)} bytes",
            "invalid_hash",
        )


def valid_date(value: int) -> bool:
    year, month_day = divmod(value, 10_000)
    month, day = divmod(month_day, 100)
    if not 1900 <= year <= 9999:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def require_period(period: ledger_pb2.Period, field: str) -> None:
    for value in (period.start_date, period.end_date):
        if not valid_date(value):
            raise InvalidTransaction(
                f"{field} date {value} is not a valid calendar day written as YYYYMMDD",
                "invalid_period",
            )
    if period.start_date > period.end_date:
        raise InvalidTransaction(
            f"{field} starts on {period.start_date}, after it ends on {period.end_date}",
            "invalid_period",
        )


def require_entries(count: int, limit: int, empty: tuple[str, str], too_many: str) -> None:
    """Verify a message carries 1 to ``limit`` entries; ``too_many`` has a ``{}`` for the count."""
    if count == 0:
        raise InvalidTransaction(*empty)
    if count > limit:
        raise InvalidTransaction(
            f"{too_many.format(count)}, the limit is {limit}", "too_many_entries"
        )


def require_jurisdiction(value: str) -> None:
    if not is_iso3166_code(value):
        raise InvalidTransaction(
            f"jurisdiction {value!r} is not an assigned ISO 3166 code such as CN or CN-15",
            "invalid_jurisdiction",
        )


def require_enum(value: int, names: tuple[str, ...], field: str) -> None:
    if not 0 < value < len(names):
        raise InvalidTransaction(
            f"{field} {value} is not one of {', '.join(names[1:])}", f"invalid_{field}"
        )


def require_project_id(value: str, limits: Limits) -> None:
    limit = min(MAX_PROJECT_ID_CHARS, limits.max_id_bytes)
    if not value:
        raise InvalidTransaction("project id is required", "missing_field")
    if len(value) > limit:
        raise InvalidTransaction(
            f"project id is {len(value)} characters, the limit is {limit}", "field_too_long"
        )
    if not _ID_RE.fullmatch(value):
        raise InvalidTransaction(
            f"project id {value!r} must be upper-case letters and digits in groups joined by "
            "'-', e.g. CN15-GY-0001",
            "invalid_project_id",
        )


def require_batch_id(value: str, limits: Limits) -> None:
    if not value:
        raise InvalidTransaction("batch id is required", "missing_field")
    if len(value) > limits.max_id_bytes:
        raise InvalidTransaction(
            f"batch id is {len(value.encode())} bytes, the limit is {limits.max_id_bytes}",
            "field_too_long",
        )
    if not _ID_RE.fullmatch(value):
        raise InvalidTransaction(
            f"batch id {value!r} is malformed; it looks like CN15-GY-0001-20230101-20231231-001",
            "invalid_batch_id",
        )


def require_reference(value: str, field: str, limits: Limits) -> None:
    """An external or voucher reference: required text within the id size limit."""
    require_text(value, field, limits.max_id_bytes)
