"""Exact conversion between tCO2e text and integer grams CO2e.

State and the wire only ever hold integer grams (1 tCO2e = 1,000,000 g); text shows tCO2e with up
to six decimals. No floats anywhere: ``"0.1"`` is exactly 100,000 g.
"""

from __future__ import annotations

import re

from carbon_ticket.chain.errors import InvalidAmount

__all__ = ["GRAMS_PER_TONNE", "MAX_GRAMS", "format_tco2e", "parse_tco2e", "tco2e"]

GRAMS_PER_TONNE = 1_000_000
MAX_GRAMS = 2**64 - 1
_DECIMALS = 6
# Plain ASCII digits only: no sign, exponent, separators, whitespace or Unicode digits.
_AMOUNT_RE = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,6}))?", re.ASCII)


def parse_tco2e(text: str) -> int:
    """Parse tCO2e text such as ``"150000"`` or ``"12.5"`` into grams; raise InvalidAmount."""
    if not isinstance(text, str):
        raise InvalidAmount(f"amount must be text, got {type(text).__name__}")
    match = _AMOUNT_RE.fullmatch(text)
    if match is None:
        raise InvalidAmount(
            f"invalid amount {text!r}: write tCO2e as digits with at most {_DECIMALS} decimals, "
            "e.g. 20000 or 12.5"
        )
    whole, frac = match.group(1), match.group(2) or ""
    grams = int(whole) * GRAMS_PER_TONNE + int(frac.ljust(_DECIMALS, "0") or "0")
    if grams > MAX_GRAMS:
        raise InvalidAmount(f"invalid amount {text!r}: larger than {format_tco2e(MAX_GRAMS)} tCO2e")
    return grams


def format_tco2e(grams: int) -> str:
    """Format grams as tCO2e text with no trailing zeros (``12500000`` -> ``"12.5"``)."""
    if grams < 0:
        raise InvalidAmount(f"amount cannot be negative: {grams} g")
    whole, frac = divmod(grams, GRAMS_PER_TONNE)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:06d}".rstrip("0")


def tco2e(grams: int) -> str:
    """Grams as tCO2e text with its unit, for messages and tables: ``12.5 tCO2e``."""
    return f"{format_tco2e(grams)} tCO2e"
