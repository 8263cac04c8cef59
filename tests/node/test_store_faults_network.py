"""Disk faults under real validator processes: a full disk, then a damaged table (issue 20).

(a) Node 3's data directory is a small tmpfs, nearly filled: under load its disk fills, and the
node exits with code 1 and one line (no traceback) while the other three keep committing; with
the space freed it restarts and catches up from its peers. (b) Bytes flipped in node 3's table
file: it refuses to start (code 7); ``carbon-ticket node rebuild`` and a start bring it back to
the others' chain and app hash; then the same for a LevelDB log torn (truncated) by a crash.
Each test unmounts and stops what it starts.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import plyvel
import pytest

from carbon_ticket.cli.tools.devnet import cli_command, cli_env
from carbon_ticket.cli.tools.loadgen import Workload, submit_batches
from carbon_ticket.node.safety import FileSafetyStore
from carbon_ticket.proto import services_pb2
from tests.node.network import Network

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ACCOUNTS = 30
VICTIM = 3
DISK_BYTES = 8 * 1024 * 1024
FREE_BYTES = 400 * 1024  # left free on the victim's disk when it starts
DISK_FULL_LINE = "free space and restart; nothing partial was written"


def _nonce_base(net: Network, workload: Workload) -> int:
    nonces = []
    for account in workload.accounts:
        request = services_pb2.GetAccountRequest(address=account.address)
        nonces.append(int(net.stub(0).GetAccount(request, timeout=10).nonce))
    return min(nonces)


class _Load:
    """Transfers through node 0, a round at a time, until stopped."""

    def __init__(self, net: Network, workload: Workload) -> None:
        self._net, self._workload = net, workload
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.rounds = 0

    def __enter__(self) -> _Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                base = _nonce_base(self._net, self._workload)
                submit_batches(self._net.stub(0), self._workload.transfers(ACCOUNTS * 4, base))
                self.rounds += 1
                for _ in range(50):  # until this round is committed (or 5 s)
                    if self._stop.wait(0.1) or _nonce_base(self._net, self._workload) > base:
                        break
            except grpc.RpcError:
                self._stop.wait(0.2)


def _log_since(net: Network, i: int, offset: int) -> str:
    with open(net.info.node_home(i) / "node.log", "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def _log_size(net: Network, i: int) -> int:
    path = net.info.node_home(i) / "node.log"
    return path.stat().st_size if path.exists() else 0


def _mount(path: Path, size: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for the full-disk test (needs root): {done.stderr}")


@pytest.fixture
def full_disk_net(tmp_path: Path) -> Iterator[tuple[Network, Path]]:
    """Four validators; node 3's data directory on an 8 MiB tmpfs with only 400 KiB free."""
    network = Network(tmp_path, validators=4)
    data = network.info.node_home(VICTIM) / "data"
    _mount(data, DISK_BYTES)
    try:
        filler = data / "filler"
        filler.write_bytes(b"\0" * (DISK_BYTES - FREE_BYTES))
        network.start()
        network.wait_until("all nodes answer", lambda: min(map(network.height, range(4))) >= 1)
        yield network, filler
    finally:
        network.close()
        subprocess.run(["umount", str(data)], check=False)


def test_a_full_disk_stops_one_node_cleanly_and_it_catches_up_after(
    full_disk_net: tuple[Network, Path],
) -> None:
    net, filler = full_disk_net
    workload = net.workload(accounts=ACCOUNTS)
    victim = net.procs.procs[VICTIM]
    with _Load(net, workload):
        net.wait_until("node 3 exits on its full disk", lambda: victim.poll() is not None)
        stopped_at = max(map(net.height, range(3)))
        net.wait_until("the other three commit on", lambda: net.height(0) >= stopped_at + 3)
    log = _log_since(net, VICTIM, 0)
    assert victim.returncode == 1, log[-2000:]
    assert f"error: disk full at {filler.parent}" in log and DISK_FULL_LINE in log
    assert "Traceback" not in log, log[-4000:]
    assert log.count("stopping: disk full") == 1  # one fault, one line (plus the exit line)

    filler.unlink()  # the operator frees space and restarts the node
    offset = _log_size(net, VICTIM)
    net.start(VICTIM)
    top = net.height(0)
    net.wait_until("node 3 catches up from its peers", lambda: net.height(VICTIM) >= top)
    net.assert_same_chain([0, VICTIM], top)
    assert "Traceback" not in _log_since(net, VICTIM, offset)


def _signed_height(home: Path) -> int:
    state = FileSafetyStore(home / "data" / "sign_state").load()
    return 0 if state is None else state.height


def _flip_table_index(blocks: Path) -> Path:
    # Turn the log into a table first (as any restart does), then flip 64 bytes just before the
    # table's footer: its index block, which every read of that table goes through.
    db = plyvel.DB(str(blocks))
    db.compact_range()
    db.close()
    table = max(blocks.glob("*.ldb"), key=lambda p: p.stat().st_size)
    data = bytearray(table.read_bytes())
    at = len(data) - 48 - 64
    data[at : at + 64] = bytes(b ^ 0x5A for b in data[at : at + 64])
    table.write_bytes(bytes(data))
    return table


def test_a_damaged_table_refuses_to_start_and_rebuild_brings_the_node_back(net: Network) -> None:
    workload = net.workload(accounts=ACCOUNTS)
    submit_batches(net.stub(0), workload.transfers(ACCOUNTS * 4, _nonce_base(net, workload)))
    net.wait_until("a few blocks with transfers", lambda: net.height(VICTIM) >= 6)
    assert net.procs.stop(VICTIM) == 0
    home = net.info.node_home(VICTIM)
    sign_state = (home / "data" / "sign_state").read_bytes()
    _flip_table_index(home / "data" / "blocks")

    offset = _log_size(net, VICTIM)
    started = net.procs.start(VICTIM)
    assert started.wait(30) == 7
    log = _log_since(net, VICTIM, offset)
    assert "error: cannot start: block store" in log and "is damaged" in log
    assert "carbon-ticket node rebuild" in log and "Traceback" not in log

    rebuilt = subprocess.run(cli_command("node", "rebuild", "--home", str(home), "-o", "json"),
                             capture_output=True, text=True, env=cli_env(), timeout=60)  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not (home / "data" / "blocks").exists()
    assert list((home / "data").glob("blocks.damaged-*"))  # kept aside for a post-mortem
    assert (home / "data" / "sign_state").read_bytes() == sign_state  # double-sign protection

    net.start(VICTIM)
    top = net.height(0) + 2
    net.wait_until("the rebuilt node catches up", lambda: net.height(VICTIM) >= top)
    net.assert_same_chain([0, 1, VICTIM], top)
    assert "Traceback" not in _log_since(net, VICTIM, offset)

    # Then a crash that tears its LevelDB log: every block synced since the rebuild is there.
    # Once it signs again past the height it had signed at before the rebuild, the rebuild
    # excuses a lower store no more (until then a lower store is the rebuild still going on).
    rebuilt_at = _signed_height(home)
    net.wait_until("node 3 signs again", lambda: _signed_height(home) > rebuilt_at + 1)
    net.procs.kill(VICTIM)
    log_file = max((home / "data" / "blocks").glob("*.log"), key=lambda p: p.stat().st_size)
    os.truncate(log_file, log_file.stat().st_size // 3)
    offset = _log_size(net, VICTIM)
    assert net.procs.start(VICTIM).wait(30) == 7
    log = _log_since(net, VICTIM, offset)
    # Either LevelDB drops the torn end (the store is lower than what this validator signed
    # at) or it reports the tear: both refuse the start and name the rebuild.
    assert "lost committed blocks" in log or "is damaged" in log, log[-2000:]
    assert "carbon-ticket node rebuild" in log and "Traceback" not in log
    rebuilt = subprocess.run(cli_command("node", "rebuild", "--home", str(home), "--force"),
                             capture_output=True, text=True, env=cli_env(), timeout=60)  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr
    net.start(VICTIM)
    top = net.height(0) + 2
    net.wait_until("it catches up again", lambda: net.height(VICTIM) >= top)
    net.assert_same_chain([0, VICTIM], top)
