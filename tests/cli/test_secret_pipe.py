"""Secrets read from a pipe (cli/common.py ``secret_line``): a pipe that stays open and silent
says what it waits for and gives up, instead of waiting forever with nothing on the screen."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from carbon_ticket.cli.common import CliError, secret_line

HINT = "pipe it in or set $CARBON_TICKET_PASSWORD"


@contextmanager
def open_pipe() -> Iterator[tuple[IO[str], int]]:
    """A pipe whose reading end is a text stream like sys.stdin, its writing end kept open."""
    read_fd, write_fd = os.pipe()
    reader = os.fdopen(read_fd, "r")
    try:
        yield reader, write_fd
    finally:
        reader.close()
        os.close(write_fd)


def test_an_open_silent_pipe_is_named_on_stderr_then_given_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with open_pipe() as (reader, _writer), pytest.raises(CliError) as refused:
        secret_line(reader, "password", HINT, hint_after_s=0.05, give_up_after_s=0.3)
    assert refused.value.exit_code == 5
    assert "no password arrived on stdin within 0.3 s" in str(refused.value)
    assert HINT in str(refused.value)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "waiting for the password on stdin" in err


def test_a_line_that_comes_after_the_hint_is_read(capsys: pytest.CaptureFixture[str]) -> None:
    with open_pipe() as (reader, writer):
        # The hint is due after 10 ms; the line comes later, and is still taken.
        late = threading.Timer(0.3, os.write, (writer, b"s3cret\n"))
        late.start()
        try:
            got = secret_line(reader, "password", HINT, hint_after_s=0.01, give_up_after_s=30)
        finally:
            late.join()
    assert got == "s3cret"
    assert "waiting for the password on stdin" in capsys.readouterr().err


def test_two_secrets_from_one_open_pipe_each_take_their_own_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with open_pipe() as (reader, writer):
        os.write(writer, b"seed line\npass word\nrest\n")
        first = secret_line(reader, "seed", HINT, hint_after_s=5, give_up_after_s=5)
        second = secret_line(reader, "password", HINT, hint_after_s=5, give_up_after_s=5)
        assert (first, second) == ("seed line", "pass word")
        assert reader.readline() == "rest\n"  # nothing past the secrets was consumed
    assert capsys.readouterr().err == ""


def test_a_closed_empty_pipe_is_no_password_and_a_huge_line_is_refused() -> None:
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    with os.fdopen(read_fd, "r") as reader, pytest.raises(CliError, match="no password given"):
        secret_line(reader, "password", HINT)
    with open_pipe() as (reader, writer):
        threading.Thread(target=os.write, args=(writer, b"x" * 5000 + b"\n"), daemon=True).start()
        with pytest.raises(CliError, match="over 4096 bytes") as refused:
            secret_line(reader, "password", HINT, hint_after_s=5, give_up_after_s=5)
    assert refused.value.exit_code == 5


def test_keys_import_reads_seed_and_password_from_a_pipe_left_open(tmp_path: Path) -> None:
    # A script that writes both lines and keeps the pipe open (a CI step's stdin, an ssh
    # session): the wallet reads exactly its two lines and finishes.
    env = {k: v for k, v in os.environ.items() if k != "CARBON_TICKET_PASSWORD"}
    command = [sys.executable, "-P", "-m", "carbon_ticket.cli", "keys", "import", "piped",
               "--keystore", str(tmp_path / "ks"), "-o", "json"]  # fmt: skip
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe, env=env,
                          start_new_session=True) as proc:  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(b"11" * 32 + b"\n" + b"pass word\n")
        proc.stdin.flush()  # and not closed until the command has ended
        try:
            returncode = proc.wait(timeout=60)
        finally:
            proc.stdin.close()
        out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    assert returncode == 0, err
    assert '"name": "piped"' in out
