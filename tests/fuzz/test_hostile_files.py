"""Hostile files handed to the commands that read them: one line and exit code 2, no traceback.

The fuzz targets call the readers directly; these run two of the commands in-process, with
inputs the fuzzing found, to show the whole path up to the operator's terminal.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from carbon_ticket.cli.main import cli
from tests.fuzz.samples import samples

EXIT_USAGE = 2


def _one_line_exit(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == EXIT_USAGE, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_genesis_show_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_bytes(b"\x80" + samples().genesis_json.encode())
    _one_line_exit(["genesis", "show", str(path)], "not valid JSON")


def test_genesis_show_refuses_deep_nesting_and_endless_numbers(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    for text, fragment in (
        (b'{"validators": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b'{"genesis_time_ms": ' + b"9" * 5_000 + b"}", "not valid JSON"),
        (b'{"chain_id": "\\ud800"}', "not valid Unicode"),
    ):
        path.write_bytes(text)
        _one_line_exit(["genesis", "show", str(path)], fragment)
