"""The CLI's aligned tables line up by the columns a terminal gives each character: a CJK or
fullwidth character takes two, a combining mark none (``render.print_rows``, shared by every
``query`` table).

Reproduction (2026-12-03): the two table printers (cli/query_cmds.py and cli/governance_cmds.py)
padded cells by ``len``, so a validator named 内蒙古林业局 pushed the next column six places
left of where an ASCII name's row had it; ``query vouchers`` with the reference 水/2024-1 the
same (tests/cli/test_vouchers.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from click.testing import CliRunner

from carbon_ticket.cli import governance_cmds, render
from carbon_ticket.cli.main import cli
from carbon_ticket.proto import services_pb2


def columns(text: str) -> int:
    """Terminal columns of ``text``, counted here on their own: East Asian Width W or F two,
    a nonspacing or enclosing mark none, anything else one."""
    return sum(
        0 if unicodedata.category(c) in ("Mn", "Me")
        else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
        for c in text
    )  # fmt: skip


def starts(line: str, cells: Sequence[str]) -> list[int]:
    """The screen column where each of ``cells`` starts in ``line`` (found left to right)."""
    found, at = [], 0
    for cell in cells:
        at = line.index(cell, at)
        found.append(columns(line[:at]))
        at += len(cell)
    return found


def assert_aligned(lines: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    assert len(lines) == len(rows)
    where = [starts(line, row) for line, row in zip(lines, rows, strict=True)]
    assert all(w == where[0] for w in where), "\n".join(lines)


def test_wide_and_combining_characters_pad_by_display_width(
    capsys: pytest.CaptureFixture[str],
) -> None:
    header = ("ref", "name", "paid")
    rows = [
        (
            "\u6c34/2024-1",
            "\u5185\u8499\u53e4\u6797\u4e1a\u5c40",
            "5 points",
        ),  # 水/2024-1 内蒙古林业局
        ("QC/7", "Green Wheels", "0.002 tCO2e"),
        ("e\u0301te\u0301-3", "\uff21\uff22", "-"),  # été-3 in NFD; fullwidth A, B
    ]
    render.print_rows(header, rows)
    assert capsys.readouterr().out.splitlines() == [
        "ref        name          paid",
        "\u6c34/2024-1  \u5185\u8499\u53e4\u6797\u4e1a\u5c40  5 points",
        "QC/7       Green Wheels  0.002 tCO2e",
        "e\u0301te\u0301-3      \uff21\uff22          -",
    ]
    assert [render.display_width(c) for c in rows[0] + rows[2]] == [9, 12, 8, 5, 4, 1]


def test_an_ascii_table_is_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    render.print_rows(("a", "bb", "c"), [("xyz", "", "last cell   "), ("", "q", "")], indent="  ")
    assert capsys.readouterr().out.splitlines() == [
        "  a    bb  c",
        "  xyz      last cell",
        "       q",
    ]


class _Stub:
    def __init__(self, reply: Any) -> None:
        self.reply = reply

    def GetValidators(self, request: Any, timeout: float) -> Any:
        return self.reply


def test_query_validators_lines_up_cjk_names(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [
        "\u5185\u8499\u53e4\u6797\u4e1a\u5c40",
        "val-0",
        "\u30c6\u30b9\u30c8",
    ]  # 内蒙古林业局, テスト
    entries = [
        services_pb2.ValidatorEntry(name=name, power=n + 1, network_address=f"10.0.0.{n}:26656",
                                   operator=f"ct1op{n}", public_key=bytes([n]) * 32)
        for n, name in enumerate(names)
    ]  # fmt: skip
    reply = services_pb2.ValidatorSetInfo(height=5, validators=entries, total_power=6)

    @contextmanager
    def connect(node: str) -> Iterator[_Stub]:
        yield _Stub(reply)

    monkeypatch.setattr(governance_cmds, "connect", connect)
    result = CliRunner().invoke(cli, ["query", "validators", "--node", "127.0.0.1:1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rows = [("NAME", "POWER", "NETWORK ADDRESS", "OPERATOR", "PUBLIC KEY")] + [
        (v.name, str(v.power), v.network_address, v.operator, v.public_key.hex()) for v in entries
    ]
    assert_aligned(lines[1:], rows)
    assert starts(lines[1], rows[0])[1] == 2 + 12 + 2  # indent, the widest name, the gap
