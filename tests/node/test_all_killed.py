"""Every validator SIGKILLed at once, again and again, often right after a lock: the chain goes on.

Issue 11: a lock survived a restart but its block did not, so when the validators killed last held
a lock on a block no store contained, the chain halted for good. Now the locked block is saved
with the lock (``sign_state.blocks``) and can be fetched by hash from peers.

How "right after a polka without a commit" is detected, from outside: a node logs
``consensus: locked on block .. at height H round R`` when it locks, before its precommit leaves.
After the kill, each node logs its store height when it starts again. A kill counts as "right
after a polka without a commit" when some node's last lock before the kill is at a height above
the height its store held at restart, i.e. it was killed locked on a block it had not committed.
Two kills in three are aimed: the test watches the logs until a node logs a lock at a height it
has not logged a commit for, freezes all four at once (SIGSTOP), and if the condition still holds
in the frozen logs kills them (otherwise it lets them go on and waits for the next lock); the other
kills land at arbitrary moments. Only the post-kill check above is counted.
"""

from __future__ import annotations

import random
import re
import signal
import time
from collections.abc import Sequence

import pytest

from carbon_ticket.chain.tx import tx_hash
from carbon_ticket.cli.tools.loadgen import BlockWatcher, submit_batches
from carbon_ticket.proto import services_pb2
from tests.node.network import Network

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Ten kills (as the test's name says), seven of them aimed: an aimed kill lands after an
# uncommitted lock nearly every time (8 of 8 in a run of the twelve kills this test used to
# make), so seven give the post-kill check ample chances; each kill and restart costs ~7 s.
KILLS = 10
MIN_AFTER_LOCK = 3
ACCOUNTS = 40
_LOCK = re.compile(rb"consensus: locked on block \w+ at height (\d+) round (\d+)")
_COMMITTED = re.compile(rb"committed block (\d+) ")
_LISTEN = re.compile(rb"listening on \S+ \(chain \S+, height (\d+),")


class _Logs:
    """Reads what each node appended to its log since the last mark."""

    def __init__(self, net: Network) -> None:
        self.paths = [net.info.node_home(i) / "node.log" for i in range(4)]
        self.offsets = [0] * 4

    def mark(self) -> None:
        self.offsets = [p.stat().st_size if p.exists() else 0 for p in self.paths]

    def since_mark(self, i: int) -> bytes:
        with open(self.paths[i], "rb") as f:
            f.seek(self.offsets[i])
            return f.read()


def _last_lock_height(text: bytes) -> int:
    found = _LOCK.findall(text)
    return int(found[-1][0]) if found else 0


def _kill_all(net: Network) -> None:
    procs = [net.procs.procs[i] for i in range(4)]
    for proc in procs:  # one tight loop: "at once"
        proc.send_signal(signal.SIGKILL)
    for proc in procs:
        proc.wait()


def _nonce_base(net: Network, addresses: Sequence[str]) -> int:
    nonces = []
    for address in addresses:
        info = net.stub(0).GetAccount(services_pb2.GetAccountRequest(address=address), timeout=10)
        nonces.append(int(info.nonce))
    return min(nonces)


def test_all_validators_killed_at_once_ten_times_the_chain_goes_on(net: Network) -> None:
    workload = net.workload(accounts=ACCOUNTS)
    addresses = [a.address for a in workload.accounts]
    logs = _Logs(net)
    rng = random.Random(11)
    after_lock = 0
    reported: set[bytes] = set()
    watched = 1
    for kill in range(KILLS):
        # Load: a few hundred transfers spread over the four nodes, continuing the nonces.
        txs = workload.transfers(ACCOUNTS * 15, first_nonce=_nonce_base(net, addresses))
        for i in range(4):
            submit_batches(net.stub(i), txs[i::4])
        before = max(map(net.height, range(4)))
        logs.mark()
        if kill % 3 != 2:
            _freeze_after_uncommitted_lock(net, logs, timeout=10.0)
        else:
            time.sleep(rng.uniform(0.05, 1.0))
        _kill_all(net)
        locks = [_last_lock_height(logs.since_mark(i)) for i in range(4)]
        logs.mark()
        net.start()
        stored = [_wait_for_listen_height(logs, i) for i in range(4)]
        if any(lock > height for lock, height in zip(locks, stored, strict=True)):
            after_lock += 1
        print(f"kill {kill}: last locks {locks}, stored heights {stored}")
        top = max(stored)
        net.wait_until(
            f"kill {kill}: every node commits past {top} after the restart",
            lambda top=top: min(map(net.height, range(4))) >= top + 2,  # type: ignore[misc]
            timeout=60,
        )
        assert top >= before
        # Whatever any node reported committed before the kill was in a block it had stored
        # (it reports only after the synced write): blocks up to `top`, read back from the node
        # that held the most, are checked on every node at the end.
        watcher = BlockWatcher(net.endpoints[stored.index(top)])
        watcher.next_height = watched
        try:
            for committed in watcher.poll():
                if committed.block.header.height > top:
                    break
                reported.update(tx_hash(raw, net.info.chain_id) for raw in committed.block.txs)
        finally:
            watcher.close()
        watched = top + 1
    assert after_lock >= MIN_AFTER_LOCK, f"only {after_lock} of {KILLS} kills came after a lock"
    # Every transaction a node reported committed before a kill is on every node.
    for i in range(4):
        stub = net.stub(i)
        for digest in sorted(reported)[:: max(1, len(reported) // 200)]:
            stub.GetTx(services_pb2.GetTxRequest(tx_hash=digest), timeout=10)
    top = min(map(net.height, range(4)))
    net.assert_same_chain([0, 1, 2, 3], top)
    app_hashes = {bytes(net.block_hashes(i, top)[-1][:32]) for i in range(4)}
    assert len(app_hashes) == 1


def _uncommitted_lock(logs: _Logs) -> bool:
    """Whether some node has logged a lock at a height it has not logged a commit for."""
    for i in range(4):
        text = logs.since_mark(i)
        commits = _COMMITTED.findall(text)
        if _last_lock_height(text) > (int(commits[-1]) if commits else 0) > 0:
            return True
    return False


def _freeze_after_uncommitted_lock(net: Network, logs: _Logs, timeout: float) -> None:
    """Leave all four nodes stopped (SIGSTOP) right after a lock without a commit, if one comes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _uncommitted_lock(logs):
            time.sleep(0.001)
            continue
        for i in range(4):
            net.procs.signal(i, signal.SIGSTOP)
        time.sleep(0.05)  # let any log write already under way land
        if _uncommitted_lock(logs):
            return
        for i in range(4):
            net.procs.signal(i, signal.SIGCONT)


def _wait_for_listen_height(logs: _Logs, i: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _LISTEN.findall(logs.since_mark(i))
        if found:
            return int(found[-1])
        time.sleep(0.05)
    raise AssertionError(f"node {i} did not start within {timeout:.0f}s")
