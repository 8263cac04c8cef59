"""Strict reading of JSON documents that come from outside: one place, one kind of error.

``json.loads`` fails in more ways than ``JSONDecodeError``: a document nested a few thousand
levels deep raises ``RecursionError``, a number of more than 4,300 digits a plain ``ValueError``,
and ``\\ud800`` escapes parse into strings that cannot be encoded again, which blows up much later
(hashing a name, writing a receipt). It also accepts ``NaN`` and ``Infinity``, which are not
JSON. ``parse_json`` turns all of these into the caller's own error class, naming the document,
so a hostile genesis, key file or proof bundle gets one clear line and never a traceback.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from carbon_ticket.chain.errors import LedgerError

__all__ = ["parse_json"]


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str | bytes, what: str, error: type[LedgerError], code: str = "") -> Any:
    """Parse ``text``; raise ``error(code)`` naming ``what`` when it is not plain, valid JSON."""
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise error(f"{what} is nested too deeply", code or None) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, over-long numbers, NaN
        raise error(f"{what} is not valid JSON: {exc}", code or None) from None
    _require_text(doc, what, error, code)
    return doc


def _require_text(doc: Any, what: str, error: type[LedgerError], code: str) -> None:
    """Refuse strings holding lone surrogates (valid escapes, invalid text); no recursion."""
    pending = [doc]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:
                raise error(
                    f"{what} holds text that is not valid Unicode (a lone surrogate escape)",
                    code or None,
                ) from None
