"""``carbon-ticket chaos``: a devnet of real processes under load, hit by one random fault a cycle.

The fault schedule comes from ``random.Random(seed)``, so a seed names a run. Each cycle applies
one fault (``FAULT_KINDS``), brings every node back, waits until they have caught up, and checks
(``chaos_checks``) what the load generator was told was committed against every node's blocks.
A sampler records, twice a second, how many validators are running and the chain's height, from
which the longest stall with a quorum up is measured. The final check reads every node's chain
afresh from height 1.

The disk fault puts one node's home on a small tmpfs (``mount -t tmpfs``; needs root) filled up
to a few KiB, frees the space after a while, restarts the node, then moves its home back off the
tmpfs and unmounts it. Without permission to mount, that kind is skipped and reported so.

Its devnet is a rig for one run, so its wallet is written at ``cli.keystore.THROWAWAY_KDF``
(why, and what it saves: docs/benchmarks.md, "The command").
"""

from __future__ import annotations

import dataclasses
import errno
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from carbon_ticket.chain.tx import tx_hash
from carbon_ticket.cli.keystore import THROWAWAY_KDF, Keystore
from carbon_ticket.cli.tools.chaos_checks import (
    BlockRecord,
    CheckReport,
    NodeView,
    Sample,
    check_all,
    find_divergent,
    find_lost,
)
from carbon_ticket.cli.tools.chaos_load import ChaosLoad, new_workload, receipt_bytes
from carbon_ticket.cli.tools.devnet import DevnetInfo, DevnetProcesses, free_base_port, init_devnet
from carbon_ticket.node.config import ConsensusSettings, DebugSettings, NodeConfig
from carbon_ticket.proto import services_pb2, services_pb2_grpc

__all__ = ["FAULT_KINDS", "ChaosResult", "run_chaos"]

FAULT_KINDS = (
    "kill_one",
    "kill_two",
    "kill_all",
    "pause_one",
    "restart_while_syncing",
    "clock_skew",
    "disk_full",
)
# Short timeouts so that a cycle takes seconds; still loose enough for an overloaded host.
CHAOS_CONSENSUS = ConsensusSettings(
    propose_timeout_ms=1000,
    prevote_timeout_ms=500,
    precommit_timeout_ms=500,
    timeout_delta_ms=250,
    commit_wait_ms=50,
    empty_block_interval_ms=500,
    max_block_txs=4000,
)
_SAMPLE_S = 0.5
_HOLD_S = (2.0, 5.0)  # how long a fault lasts
_SKEW_MS = (2_000, 8_000)  # clock skew magnitude
_DISK_MARGIN_BYTES = 8 * 1024 * 1024  # tmpfs size beyond what the home holds
_LOAD_ACCOUNTS = 4
_MIN_STALL_S = 1.0
# After a fault every node must commit this many new blocks before the next cycle: the chain is
# live again, and each fault hits a running chain rather than one still recovering.
_RECOVERY_BLOCKS = 2  # shorter gaps are ordinary block intervals, not stalls


@dataclass
class ChaosResult:
    """What a chaos run reports."""

    validators: int
    cycles: int
    seed: int
    faults: Counter[str] = field(default_factory=Counter)
    skipped: dict[str, str] = field(default_factory=dict)
    committed: int = 0
    committed_by_kind: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    divergent_heights: int = 0
    longest_stall_s: float = 0.0
    stall_limit_s: float = 0.0
    stalls_over_limit: int = 0
    lagging: list[str] = field(default_factory=list)
    longest_recovery_s: float = 0.0  # fault over -> every node 2 blocks further
    late_recoveries: int = 0  # cycles after which some node had not recovered in time
    failed_cycles: list[int] = field(default_factory=list)  # cycles whose own check failed
    final_height: int = 0
    wall_s: float = 0.0
    problems: list[str] = field(default_factory=list)  # the first few findings, spelled out

    @property
    def ok(self) -> bool:
        """Nothing lost, no divergence, progress with a quorum up, every node caught up."""
        return not (
            self.lost
            or self.divergent_heights
            or self.stalls_over_limit
            or self.lagging
            or self.failed_cycles
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (one object)."""
        return {
            "validators": self.validators,
            "cycles": self.cycles,
            "seed": self.seed,
            "faults": dict(sorted(self.faults.items())),
            "skipped": self.skipped,
            "committed": self.committed,
            "committed_by_kind": dict(sorted(self.committed_by_kind.items())),
            "lost": self.lost,
            "divergent_heights": self.divergent_heights,
            "longest_stall_s": round(self.longest_stall_s, 2),
            "stall_limit_s": self.stall_limit_s,
            "stalls_over_limit": self.stalls_over_limit,
            "lagging_nodes": self.lagging,
            "longest_recovery_s": round(self.longest_recovery_s, 2),
            "late_recoveries": self.late_recoveries,
            "failed_cycles": self.failed_cycles,
            "final_height": self.final_height,
            "wall_s": round(self.wall_s, 1),
            "ok": self.ok,
            "problems": self.problems,
        }


class _Cluster:
    """The devnet's processes and which of them count as up (running and not stopped)."""

    def __init__(self, info: DevnetInfo) -> None:
        self.info = info
        self.procs = DevnetProcesses(info)
        self.size = len(info.endpoints)
        self._paused: set[int] = set()
        self.mounts: dict[int, Path] = {}  # node -> stash of its home while on a tmpfs

    def is_up(self, index: int) -> bool:
        proc = self.procs.procs.get(index)
        return proc is not None and proc.poll() is None and index not in self._paused

    def up_count(self) -> int:
        return sum(1 for i in range(self.size) if self.is_up(i))

    def start(self, index: int) -> None:
        self.procs.start(index)

    def kill(self, index: int) -> None:
        proc = self.procs.procs.get(index)
        if proc is not None and proc.poll() is None:
            self.procs.kill(index)
        self._paused.discard(index)

    def pause(self, index: int) -> None:
        self._paused.add(index)
        self.procs.signal(index, signal.SIGSTOP)

    def resume(self, index: int) -> None:
        self.procs.signal(index, signal.SIGCONT)
        self._paused.discard(index)

    def stop_all(self) -> None:
        for index in list(self._paused):
            self.resume(index)
        self.procs.stop_all()


def _status(address: str, timeout: float = 2.0) -> services_pb2.StatusResponse | None:
    with grpc.insecure_channel(address) as channel:
        stub = services_pb2_grpc.LedgerServiceStub(channel)
        try:
            return stub.GetStatus(services_pb2.StatusRequest(), timeout=timeout)
        except grpc.RpcError:
            return None


def _height(address: str, timeout: float = 2.0) -> int:
    status = _status(address, timeout)
    return -1 if status is None else int(status.height)


class _Sampler:
    """Records every ``_SAMPLE_S``: running validators and the highest height any of them has."""

    def __init__(self, cluster: _Cluster) -> None:
        self.cluster = cluster
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._channels = [grpc.insecure_channel(a) for a in cluster.info.endpoints]
        self._stubs = [services_pb2_grpc.LedgerServiceStub(c) for c in self._channels]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        for channel in self._channels:
            channel.close()

    def _run(self) -> None:
        best = 0
        while not self._stop.wait(_SAMPLE_S):
            up = [i for i in range(self.cluster.size) if self.cluster.is_up(i)]
            for i in up:
                try:
                    reply = self._stubs[i].GetStatus(services_pb2.StatusRequest(), timeout=0.5)
                    best = max(best, int(reply.height))
                except grpc.RpcError:
                    continue
            self.samples.append(Sample(time.monotonic(), len(up), self.cluster.size, best))


class _ChainReader:
    """Reads a node's committed blocks into a ``NodeView``, from where it left off."""

    def __init__(self, name: str, address: str, chain_id: str) -> None:
        self.view = NodeView(name)
        self._chain_id = chain_id
        options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        self._channel = grpc.insecure_channel(address, options=options)
        self._stub = services_pb2_grpc.LedgerServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def update(self) -> bool:
        """Read the blocks committed since the last update; False when the node did not answer."""
        try:
            top = int(self._stub.GetStatus(services_pb2.StatusRequest(), timeout=5).height)
            for height in range(self.view.height + 1, top + 1):
                info = self._stub.GetBlock(services_pb2.GetBlockRequest(height=height), timeout=30)
                self._record(height, info)
                self.view.height = height
        except grpc.RpcError:
            return False
        return True

    def _record(self, height: int, info: services_pb2.BlockInfo) -> None:
        block = info.committed.block
        self.view.blocks[height] = BlockRecord(info.block_hash, block.header.app_hash)
        for raw, receipt in zip(block.txs, info.receipts, strict=False):
            self.view.receipts[tx_hash(raw, self._chain_id)] = (height, receipt_bytes(receipt))


def _tune(info: DevnetInfo) -> None:
    for i in range(len(info.endpoints)):
        config = NodeConfig.load(info.node_home(i))
        dataclasses.replace(config, consensus=CHAOS_CONSENSUS).save()


def _set_clock_offset(home: Path, offset_ms: int) -> None:
    config = NodeConfig.load(home)
    dataclasses.replace(config, debug=DebugSettings(clock_offset_ms=offset_ms)).save()


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _mount_tmpfs(path: Path, size: int) -> str | None:
    """Mount a tmpfs of ``size`` bytes on ``path``; the reason when that is not possible."""
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def _umount(path: Path) -> None:
    done = subprocess.run(["umount", str(path)], capture_output=True, timeout=30)
    if done.returncode != 0:  # still busy: detach it now, it goes when released
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def _fill(path: Path) -> None:
    """Write zeros to ``path`` until its filesystem is full."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    with open(path, "ab", buffering=0) as out:  # the last partial chunk's worth, byte by byte
        try:
            while True:
                out.write(b"\0" * 512)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise


def _wait_answering(address: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _height(address) < 0 and time.monotonic() < deadline:
        time.sleep(0.3)


def _tracebacks_since(log: Path, offset: int) -> str:
    """``", N tracebacks"`` when the node's log grew tracebacks after ``offset``."""
    try:
        with open(log, "rb") as handle:
            handle.seek(offset)
            count = handle.read().count(b"Traceback (most recent call last)")
    except OSError:
        return ""
    return f", {count} tracebacks" if count else ""


def _copy_contents(source: Path, target: Path) -> None:
    for item in source.iterdir():
        if item.is_dir():
            shutil.copytree(item, target / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target / item.name)


class _Faults:
    """The fault kinds; each leaves every node running again when it returns."""

    def __init__(self, cluster: _Cluster, rng: random.Random, say: Callable[[str], None]) -> None:
        self.cluster = cluster
        self.rng = rng
        self.say = say
        self.skipped: dict[str, str] = {}

    def _hold(self) -> None:
        time.sleep(self.rng.uniform(*_HOLD_S))

    def _pick(self, count: int = 1) -> list[int]:
        return sorted(self.rng.sample(range(self.cluster.size), count))

    def apply(self, kind: str) -> str:
        """Apply fault ``kind``; returns a one-line description."""
        return getattr(self, kind)()

    def kill_one(self) -> str:
        return self._kill(self._pick(1))

    def kill_two(self) -> str:
        return self._kill(self._pick(2))

    def kill_all(self) -> str:
        return self._kill(list(range(self.cluster.size)))

    def _kill(self, nodes: list[int]) -> str:
        for i in nodes:
            self.cluster.kill(i)
        self._hold()
        for i in nodes:
            self.cluster.start(i)
        return f"SIGKILL node{','.join(map(str, nodes))}, restarted"

    def pause_one(self) -> str:
        (i,) = self._pick(1)
        self.cluster.pause(i)
        self._hold()
        self.cluster.resume(i)
        return f"SIGSTOP node{i}, SIGCONT"

    def restart_while_syncing(self) -> str:
        # One node falls behind; while it syncs back, another one is killed and restarted.
        lagging, other = self._pick(2)
        if self.rng.random() < 0.5:
            lagging, other = other, lagging
        self.cluster.kill(lagging)
        self._hold()
        self._hold()
        self.cluster.start(lagging)
        time.sleep(self.rng.uniform(0.5, 2.0))
        self.cluster.kill(other)
        self.cluster.start(other)
        return f"node{lagging} behind and syncing, node{other} SIGKILL and restart meanwhile"

    def clock_skew(self) -> str:
        (i,) = self._pick(1)
        offset = self.rng.choice((-1, 1)) * self.rng.randint(*_SKEW_MS)
        home = self.cluster.info.node_home(i)
        self.cluster.kill(i)
        _set_clock_offset(home, offset)
        self.cluster.start(i)
        self._hold()
        self._hold()
        self.cluster.kill(i)
        _set_clock_offset(home, 0)
        self.cluster.start(i)
        return f"node{i} restarted with its clock {offset:+d} ms off, then fixed"

    def disk_full(self) -> str:
        if "disk_full" in self.skipped:
            return f"skipped: {self.skipped['disk_full']}"
        (i,) = self._pick(1)
        home = self.cluster.info.node_home(i)
        self.cluster.kill(i)
        stash = Path(tempfile.mkdtemp(prefix=f"chaos-node{i}-", dir=home.parent))
        _copy_contents(home, stash)
        size = _dir_bytes(home) + _DISK_MARGIN_BYTES
        reason = _mount_tmpfs(home, size)
        if reason is not None:
            shutil.rmtree(stash, ignore_errors=True)
            self.skipped["disk_full"] = f"cannot mount a tmpfs ({reason})"
            self.cluster.start(i)
            return f"skipped: {self.skipped['disk_full']}"
        self.cluster.mounts[i] = stash
        _copy_contents(stash, home)
        # The node's log stays on the big disk (as with journald), so what it says is kept.
        outside_log = home.parent / f"node{i}-disk-fault.log"
        shutil.copy2(home / "node.log", outside_log)
        (home / "node.log").unlink()
        (home / "node.log").symlink_to(outside_log)
        log = home / "node.log"
        log_start = log.stat().st_size
        self.cluster.start(i)
        # The node opens its store and runs with room to spare; then the disk fills under it.
        _wait_answering(self.cluster.info.endpoints[i], timeout=30.0)
        time.sleep(self.rng.uniform(0.5, 2.0))
        filler = home / "chaos-filler"
        _fill(filler)
        self._hold()
        self._hold()
        proc = self.cluster.procs.procs[i]
        if proc.poll() is None:
            own = _height(self.cluster.info.endpoints[i])
            best = max(_height(a) for a in self.cluster.info.endpoints)
            state = f"was still running, answering height {own} of {best}"
        else:
            state = f"had exited {proc.returncode}"
        state += _tracebacks_since(log, log_start)
        # Space comes back; the node is restarted (a node stuck on a full disk may not recover).
        filler.unlink()
        self.cluster.kill(i)
        self.cluster.start(i)
        self._hold()
        self.cluster.kill(i)
        self.unmount(i)
        outside_log.unlink(missing_ok=True)
        self.cluster.start(i)
        return f"node{i}: its {size // 1024} KiB tmpfs filled up ({state}), freed, restarted"

    def unmount(self, i: int) -> None:
        """Move node ``i``'s home back off its tmpfs (the node must not be running)."""
        stash = self.cluster.mounts.pop(i)
        home = self.cluster.info.node_home(i)
        shutil.rmtree(stash)
        stash.mkdir()
        _copy_contents(home, stash)
        _umount(home)
        for item in home.iterdir():
            shutil.rmtree(item) if item.is_dir() else item.unlink()
        _copy_contents(stash, home)
        shutil.rmtree(stash)


def _wait_ready(info: DevnetInfo, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    for address in info.endpoints:
        while _height(address) < 1:
            if time.monotonic() > deadline:
                raise TimeoutError(f"node {address} did not start")
            time.sleep(0.3)


def _catch_up(info: DevnetInfo, timeout: float, beyond: int = _RECOVERY_BLOCKS) -> list[str]:
    """Wait until every node answers, then until each has committed ``beyond`` blocks past the
    height the best one had by then (the chain is live again and every node follows it); the
    names of those that did not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    heights = [_height(address) for address in info.endpoints]
    while min(heights) < 0 and time.monotonic() < deadline:
        time.sleep(0.3)
        heights = [_height(address) for address in info.endpoints]
    target = max(heights) + beyond
    behind = [i for i, height in enumerate(heights) if height < target]
    while behind and time.monotonic() < deadline:
        time.sleep(0.3)
        behind = [i for i in behind if _height(info.endpoints[i]) < target]
    return [f"node{i}" for i in behind]


def _describe(report: CheckReport, limit: int = 5) -> list[str]:
    lines = [f"lost {item.tx_hash.hex()[:16]} on {item.node}: {item.reason}"
             for item in report.lost[:limit]]  # fmt: skip
    lines += [f"height {item.height}: {item.what} differs {item.values}"
              for item in report.divergent[:limit]]  # fmt: skip
    lines += [f"stall of {s.seconds:.1f} s at height {s.height}"
              for s in report.stalls if s.seconds > report.stall_limit_s][:limit]  # fmt: skip
    return lines


def run_chaos(
    cycles: int,
    validators: int = 4,
    seed: int | None = None,
    home: Path | None = None,
    catch_up_s: float = 90.0,
    stall_limit_s: float = 60.0,
    say: Callable[[str], None] = print,
) -> ChaosResult:
    """Run ``cycles`` fault cycles on a fresh devnet of ``validators`` processes."""
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    result = ChaosResult(validators, cycles, seed, stall_limit_s=stall_limit_s)
    rng = random.Random(seed)
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="carbon-chaos-")) if home is None else home
    info = init_devnet(root / "devnet", validators, free_base_port(validators),
                       wallet_kdf=THROWAWAY_KDF)  # fmt: skip
    _tune(info)
    cluster = _Cluster(info)
    faults = _Faults(cluster, rng, say)
    sampler = _Sampler(cluster)
    readers = [_ChainReader(f"node{i}", a, info.chain_id) for i, a in enumerate(info.endpoints)]
    load: ChaosLoad | None = None
    try:
        say(f"starting {validators} validators in {info.home} (seed {seed}) ...")
        cluster.procs.start_all()
        _wait_ready(info)
        keys = Keystore(info.wallet_dir)
        pw = info.wallet_password
        workload = new_workload(info.chain_id, keys.load("registrar", pw),
                                keys.load("issuer", pw), keys.load("verifier", pw),
                                _LOAD_ACCOUNTS)  # fmt: skip
        load = ChaosLoad(info.chain_id, info.endpoints, workload, seed, cluster.is_up)
        say("funding the load accounts ...")
        load.fund()
        load.start()
        sampler.start()
        time.sleep(2.0)
        for cycle in range(1, cycles + 1):
            kind = rng.choice(FAULT_KINDS)
            what = faults.apply(kind)
            result.faults[kind] += 1
            fault_over = time.monotonic()
            behind = _catch_up(info, catch_up_s)
            recovery = time.monotonic() - fault_over
            result.longest_recovery_s = max(result.longest_recovery_s, recovery)
            if behind:
                result.late_recoveries += 1
            for reader in readers:
                reader.update()
            views = [reader.view for reader in readers]
            lost = find_lost(load.committed(), views)
            divergent = find_divergent(views)
            if lost or divergent:  # kept even if a later read looks whole again
                result.failed_cycles.append(cycle)
                result.problems += [f"cycle {cycle}: lost {item.tx_hash.hex()[:16]} on "
                                    f"{item.node}: {item.reason}" for item in lost[:3]]  # fmt: skip
                result.problems += [f"cycle {cycle}: height {item.height}: {item.what} differs"
                                    for item in divergent[:3]]  # fmt: skip
            height = max(v.height for v in views)
            late = f", behind: {behind}" if behind else ""
            elapsed = time.monotonic() - started
            say(f"{elapsed:6.0f} s  cycle {cycle}/{cycles}: {kind}: {what}; recovered in "
                f"{recovery:.1f} s; height {height}, "
                f"committed {len(load.committed())}, lost {len(lost)}, "
                f"divergent {len(divergent)}{late}")  # fmt: skip
        load.stop()
        sampler.stop()
        say("final check: every node's chain read afresh ...")
        result.lagging = _catch_up(info, catch_up_s, beyond=0)
        fresh = [_ChainReader(f"node{i}", a, info.chain_id) for i, a in enumerate(info.endpoints)]
        for reader in fresh:
            reader.update()
            reader.close()
        committed = load.committed()
        report = check_all(committed, [r.view for r in fresh], sampler.samples, stall_limit_s,
                           _MIN_STALL_S)  # fmt: skip
        result.committed = len(committed)
        result.committed_by_kind = Counter(tx.kind for tx in committed)
        result.lost = report.lost_count
        result.divergent_heights = report.divergent_heights
        result.longest_stall_s = report.longest_stall_s
        result.stalls_over_limit = report.stalls_over_limit
        result.final_height = max(r.view.height for r in fresh)
        result.problems += _describe(report)
    finally:
        if load is not None:
            load.stop()
        sampler.stop()
        for reader in readers:
            reader.close()
        cluster.stop_all()
        for i in list(cluster.mounts):
            faults.unmount(i)
        if home is None:
            shutil.rmtree(root, ignore_errors=True)
    result.skipped = dict(faults.skipped)
    result.wall_s = time.monotonic() - started
    return result
