"""README.md runs as written (issue 14): its wallet session is run verbatim against a devnet.

README marks the shell blocks of its session with an HTML comment on the line before the block,
invisible on the rendered page: ``<!-- session: start -->`` before the block that starts the
network (a user runs it in a first terminal, where it stays; here it runs in the background) and
``<!-- session -->`` before each block a user then types in a second terminal. The test runs
those blocks in order with bash, in an empty directory, with the installed ``carbon-ticket``
entry point on PATH and HOME inside the test's directory, so the session finds nothing that
README does not create. It runs the session twice against the same network, because README
promises that it can be repeated.

The one thing the test changes is the network's ports: README's devnet takes 26600-26603, which
another network on the host may hold. The test writes the devnet into the session's directory
first, on free ports (``devnet up`` then resumes it, as README says a later start does), writes
the session's ``~/.carbon-ticket/client.toml`` naming its first node (the lowest-ranked of
README's ways to name a node, so every other way the session shows still wins), and replaces
the default ports where the session names them. Meanwhile it holds 26600 itself, so a command
that still went there would fail.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools.devnet import DEFAULT_BASE_PORT, free_base_port, init_devnet

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START = "session: start"
SESSION = "session"
DEVNET_VALIDATORS = 4  # `devnet up` without options, as README runs it
# A shell block: an optional marker comment on the line before it, then ```sh ... ```.
_BLOCK = re.compile(r"^(?:<!-- (?P<marker>[^>]*?) -->\n)?```sh\n(?P<body>.*?)^```$", re.M | re.S)
_VALID = re.compile(r"^certificate (RC-[0-9A-F]+) is valid$", re.M)


@dataclass(frozen=True, slots=True)
class ShellBlock:
    """One ```sh block of README: its marker comment (None without one) and its text."""

    marker: str | None
    body: str


def readme_blocks(text: str) -> list[ShellBlock]:
    """Every shell block of ``text`` in order, with the marker comment that precedes it."""
    return [ShellBlock(m.group("marker"), m.group("body")) for m in _BLOCK.finditer(text)]


def session_blocks(text: str) -> tuple[ShellBlock, list[ShellBlock]]:
    """The session's start block and the blocks that follow it, in README's order."""
    blocks = readme_blocks(text)
    starts = [b for b in blocks if b.marker == START]
    assert len(starts) == 1, f"README needs exactly one <!-- {START} --> block"
    rest = [b for b in blocks if b.marker == SESSION]
    assert rest, f"README has no <!-- {SESSION} --> block"
    return starts[0], rest


# ---------------------------------------------------------------- fast checks of README's layout


def test_every_shell_block_is_in_the_session_or_is_a_one_command_promise() -> None:
    # A block outside the session would not be run by the slow test below, so it could rot.
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    unmarked = [b.body.strip() for b in blocks if b.marker is None]
    assert len(unmarked) == 2, unmarked
    install_and_run, install_and_test = unmarked
    assert install_and_run.startswith("python3 -m venv .venv && . .venv/bin/activate && ")
    assert install_and_test.startswith("python3 -m venv .venv && . .venv/bin/activate && ")
    unknown = {b.marker for b in blocks} - {None, START, SESSION}
    assert not unknown, f"unknown markers {unknown}"


def test_the_one_command_network_is_the_session_start() -> None:
    text = README.read_text(encoding="utf-8")
    start, _ = session_blocks(text)
    install_and_run = next(b for b in readme_blocks(text) if b.marker is None)
    assert install_and_run.body.strip().endswith(" && " + start.body.strip())


def test_ci_runs_the_readme_test_command_exactly() -> None:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    install_and_test = [b for b in blocks if b.marker is None][1].body.strip()
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert install_and_test.endswith("&& python -m pytest")
    command = install_and_test.split(" && ", 2)[2]  # the part after the venv and its activation
    assert command in ci_lines


# ---------------------------------------------------------------- the session itself


def _entry_point_dir() -> Path:
    """The directory of this interpreter's installed ``carbon-ticket`` command."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "carbon-ticket").is_file():
        pytest.fail(f"no carbon-ticket in {bin_dir}: install the project (pip install -e .)")
    return bin_dir


def _session_env(home: Path) -> dict[str, str]:
    # Nothing of the test runner's wallet setup leaks in: no CARBON_TICKET_* variable, no
    # PYTHONPATH, and a HOME of its own (so no ~/.carbon-ticket/client.toml but the test's).
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CARBON_TICKET_") and key != "PYTHONPATH"
    }
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join((str(_entry_point_dir()), os.environ.get("PATH", "")))
    return env


_DEFAULT_NODE = re.compile(r"\b127\.0\.0\.1:(\d+)\b")


def _on_ports(body: str, base: int) -> str:
    """``body`` with README's devnet ports (26600 + i) moved to ``base`` + i."""

    def moved(match: re.Match[str]) -> str:
        index = int(match[1]) - DEFAULT_BASE_PORT
        assert 0 <= index < DEVNET_VALIDATORS, f"README names an unknown port: {match[0]}"
        return f"127.0.0.1:{base + index}"

    return _DEFAULT_NODE.sub(moved, body)


@contextmanager
def _default_port_held() -> Iterator[None]:
    """Hold README's default port with a listener that never answers, unless something holds it
    already: a session command that ignored the devnet's own ports would hang there and fail."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", DEFAULT_BASE_PORT))
        except OSError:  # taken by someone else: just as good
            yield
            return
        sock.listen()
        yield


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:  # the whole group has exited already
        pass


def _stop_group(proc: subprocess.Popen[bytes] | subprocess.Popen[str], grace: float) -> None:
    """SIGTERM the process group of ``proc`` (as Ctrl-C signals it), then SIGKILL what is left."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


@contextmanager
def _in_background(body: str, cwd: Path, env: dict[str, str], log: Path) -> Iterator[Path]:
    """Run ``body`` with bash in its own process group; stop the whole group afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", body], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        yield log
        assert proc.poll() is None, "the network stopped during the session:\n" + log.read_text()
    finally:
        _stop_group(proc, grace=20)


def _run_script(script: str, cwd: Path, env: dict[str, str], timeout: float) -> tuple[str, str]:
    """Run ``script`` with bash; fail the test, showing its trace, unless it exits 0."""
    proc = subprocess.Popen(
        ["bash", "-c", script], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_group(proc, grace=5)
        out, err = proc.communicate()
        pytest.fail(f"the session ran longer than {timeout:.0f} s\n{out[-3000:]}\n{err[-3000:]}")
    if proc.returncode != 0:
        pytest.fail(f"the session failed (exit {proc.returncode})\n{out[-3000:]}\n{err[-3000:]}")
    return out, err


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_readme_session_runs_verbatim_twice_against_one_devnet(tmp_path: Path) -> None:
    start, blocks = session_blocks(README.read_text(encoding="utf-8"))
    workdir, home = tmp_path / "work", tmp_path / "home"
    workdir.mkdir()
    home.mkdir()
    # README's `devnet up` resumes a devnet in ./devnet: this one, on free ports.
    base = free_base_port(DEVNET_VALIDATORS)
    init_devnet(workdir / "devnet", DEVNET_VALIDATORS, base, wallet_kdf=TEST_KDF)
    (home / ".carbon-ticket").mkdir()
    (home / ".carbon-ticket" / "client.toml").write_text(f'node = "127.0.0.1:{base}"\n')
    env = _session_env(home)
    # -x traces each command to stderr, so a failure shows which README line broke.
    script = "set -euxo pipefail\n" + "\n".join(_on_ports(block.body, base) for block in blocks)
    certificates: list[str] = []
    with _default_port_held(), _in_background(start.body, workdir, env, tmp_path / "devnet-up.log"):
        for run in (1, 2):
            began = time.monotonic()
            out, _ = _run_script(script, workdir, env, timeout=150)
            print(f"README session run {run}: {time.monotonic() - began:.1f} s")
            certificates += _VALID.findall(out)
    # Each run verified the certificate of its own retirement: fresh ids every run.
    assert len(certificates) == 2, certificates
    assert certificates[0] != certificates[1]
