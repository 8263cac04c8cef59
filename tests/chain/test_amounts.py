"""Exact tCO2e text <-> integer grams conversion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon_ticket.chain.amounts import MAX_GRAMS, format_tco2e, parse_tco2e
from carbon_ticket.chain.errors import InvalidAmount


@pytest.mark.parametrize(
    ("text", "grams"),
    [
        ("0", 0),
        ("1", 1_000_000),
        ("12.5", 12_500_000),
        ("0.000001", 1),
        ("150000", 150_000_000_000),
        ("0.1", 100_000),
        ("18446744073709.551615", MAX_GRAMS),
    ],
)
def test_parse_exact(text: str, grams: int) -> None:
    assert parse_tco2e(text) == grams


@pytest.mark.parametrize(
    "text",
    [
        "", "-1", "+1", "1e3", "1E3", "0.0000001", "1.", ".5", " 1", "1 ", "1,000", "1_000",
        "01", "nan", "inf", "0x10", "\u0661", "1.2.3", "18446744073709.551616", "99999999999999999",
        "1\n", "\uff11",
    ],
)  # fmt: skip
def test_parse_rejects(text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_tco2e(text)


def test_parse_rejects_non_text() -> None:
    with pytest.raises(InvalidAmount):
        parse_tco2e(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("grams", "text"),
    [
        (0, "0"),
        (1, "0.000001"),
        (12_500_000, "12.5"),
        (20_000_000_000, "20000"),
        (1_234_567, "1.234567"),
    ],
)
def test_format(grams: int, text: str) -> None:
    assert format_tco2e(grams) == text


def test_format_rejects_negative() -> None:
    with pytest.raises(InvalidAmount):
        format_tco2e(-1)


@given(st.integers(min_value=0, max_value=MAX_GRAMS))
def test_round_trip(grams: int) -> None:
    assert parse_tco2e(format_tco2e(grams)) == grams
