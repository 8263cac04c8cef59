"""The throughput and latency benchmark: real validator processes, a separate load process.

``run_bench`` starts a fresh devnet of N validator processes on 127.0.0.1, funds a set of
accounts through the ledger's own transactions, pre-signs transfers, and drives the nodes over
the batch submission path (SubmitTxs) from this process while a watcher follows committed blocks.
It reports steady-state committed tx/s, submit-to-commit latency percentiles, block figures,
per-node CPU and peak RSS, bytes on disk per transaction, Ed25519 verifications per second on one
core measured in the same run, and the efficiency against the verification ceiling.

The benchmark's devnet is a rig for one run, so its wallet is written at
``cli.keystore.THROWAWAY_KDF``, not the default a user's keys get: its password lies beside the
wallet in devnet.json, so the default cost guarded nothing and took ~2 s of CPU from the cores it
measures (docs/benchmarks.md, "The command"). ``carbon-ticket devnet init`` and ``up`` keep the
default.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from carbon_ticket.chain.crypto import PrivateKey, verify_signature
from carbon_ticket.chain.tx import tx_hash
from carbon_ticket.cli.common import EXIT_FAILED, CliError
from carbon_ticket.cli.keystore import THROWAWAY_KDF, Keystore
from carbon_ticket.cli.tools.devnet import DevnetProcesses, free_base_port, init_devnet
from carbon_ticket.cli.tools.loadgen import BlockWatcher, Workload, commit_phases
from carbon_ticket.node.config import ConsensusSettings, NodeConfig, SyncSettings
from carbon_ticket.node.keyfile import write_validator_key
from carbon_ticket.proto import services_pb2, services_pb2_grpc

__all__ = [
    "NO_WAN",
    "BenchResult",
    "NodeUsage",
    "WanLinks",
    "measure_verify_per_core",
    "proc_usage",
    "run_bench",
]

BENCH_CONSENSUS = ConsensusSettings(
    propose_timeout_ms=3000,
    prevote_timeout_ms=1000,
    precommit_timeout_ms=1000,
    timeout_delta_ms=500,
    commit_wait_ms=50,
    empty_block_interval_ms=1000,
    max_block_txs=4000,
)
_BATCH = 250
_TICK_S = 0.05
# At --rate max, submitters keep at most this many transactions in flight (below mempool bounds).
_MAX_WINDOW = 8_000


def measure_verify_per_core(seconds: float = 1.0) -> float:
    """Ed25519 verifications per second on one core (PyNaCl, a 200-byte message)."""
    key = PrivateKey(b"\x07" * 32)
    message = b"m" * 200
    sig = key.sign(message)
    pub = key.public_key
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            verify_signature(pub, message, sig)
        count += 200
    return count / (time.perf_counter() - start)


@dataclass
class NodeUsage:
    """CPU seconds and peak resident memory of one node process."""

    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    rss_mb: float = 0.0


def proc_usage(pid: int) -> NodeUsage | None:
    """CPU seconds (all threads, user and system) and memory of process ``pid``; None when it
    is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        peak = rss = 0.0
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
        return NodeUsage(cpu, peak, rss)
    except (OSError, IndexError, ValueError):
        return None


def _own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def _dir_bytes(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            total += p.stat().st_size if p.is_file() else 0
        except FileNotFoundError:  # LevelDB compacted it away while we walked the folder
            pass
    return total


@dataclass(frozen=True)
class WanLinks:
    """The simulated wide-area links between validators (``--wan-rtt-ms``, ``--wan-loss``)."""

    rtt_ms: int = 0
    loss: float = 0.0  # share of peer messages dropped, 0 <= loss < 1

    def apply(self, config: NodeConfig) -> NodeConfig:
        """``config`` with its ``[debug]`` knobs set to simulate these links."""
        debug = dataclasses.replace(
            config.debug,
            simulated_rtt_ms=self.rtt_ms,
            simulated_loss_ppm=round(self.loss * 1_000_000),
        )
        return dataclasses.replace(config, debug=debug)


NO_WAN = WanLinks()


@dataclass
class BenchResult:
    """Every figure the benchmark reports."""

    validators: int
    cores: int
    duration_s: float
    offered: str
    submitted: int = 0
    committed: int = 0
    committed_tps: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    blocks_per_s: float = 0.0
    txs_per_block: float = 0.0
    node_cpu_percent: list[float] = field(default_factory=list)
    node_peak_rss_mb: list[float] = field(default_factory=list)
    # Resident memory when load starts and when it ends: flat means state is not kept in memory.
    node_rss_start_mb: list[float] = field(default_factory=list)
    node_rss_end_mb: list[float] = field(default_factory=list)
    load_cpu_percent: float = 0.0
    disk_bytes_per_tx: float = 0.0
    verify_per_core: float = 0.0
    efficiency: float = 0.0
    wan_rtt_ms: int = 0
    wan_loss: float = 0.0
    verify_threads: int | None = None  # [mempool] verify_threads set on every node (None: default)
    per_call: int | None = None  # transactions per SubmitTxs call (None: the schedule's batches)
    submit_calls: int = 0  # SubmitTxs calls the load made
    sync_tps: float | None = None
    sync_blocks: int | None = None
    # The same catch-up by a node that checks every transaction signature again.
    sync_verify_tps: float | None = None
    sync_start_s: float | None = None  # the syncing node's start until its API answered

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return dataclasses.asdict(self)


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


class _Tracker:
    """Submit times and commit times of every transaction, shared by the load threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.submitted_at: dict[bytes, float] = {}
        self.committed_at: dict[bytes, float] = {}
        self.blocks: list[tuple[float, int]] = []  # (observed time, tx count)
        self.refused = 0
        self.calls = 0
        self.watch_error = ""  # why the block watcher stopped early ("" if it did not)

    def outstanding(self) -> int:
        with self.lock:
            return len(self.submitted_at) - len(self.committed_at)


def _submitter(
    address: str,
    txs: list[bytes],
    hashes: list[bytes],
    rate: float | None,
    window: int,
    tracker: _Tracker,
    stop: threading.Event,
    per_call: int | None = None,
) -> None:
    channel = grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 1 << 26)])
    stub = services_pb2_grpc.LedgerServiceStub(channel)
    position = 0
    started = time.monotonic()
    # One call per tick; with --per-call, ticks short enough to spread the calls over time.
    tick_s = _TICK_S if per_call is None or rate is None else min(_TICK_S, per_call / rate)
    try:
        while position < len(txs) and not stop.is_set():
            if rate is None:
                if tracker.outstanding() > window:
                    time.sleep(0.005)
                    continue
                size = per_call or _BATCH
            else:
                # Send what the schedule owes by now (exact on average, in ticks of tick_s).
                size = int(rate * (time.monotonic() - started)) - position
                if size <= 0:
                    time.sleep(tick_s)
                    continue
                size = min(size, per_call or size)
            chunk = txs[position : position + size]
            now = time.monotonic()
            with tracker.lock:
                tracker.calls += 1
                for digest in hashes[position : position + size]:
                    tracker.submitted_at[digest] = now
            try:
                reply = stub.SubmitTxs(services_pb2.SubmitTxsRequest(txs=chunk), timeout=30)
                refused = sum(not r.accepted for r in reply.results)
            except grpc.RpcError:
                refused = len(chunk)
            if refused:
                with tracker.lock:
                    tracker.refused += refused
            position += len(chunk)
    finally:
        channel.close()


def _watch(address: str, tracker: _Tracker, stop: threading.Event, start_height: int) -> None:
    watcher = BlockWatcher(address)
    try:
        for committed in watcher.follow(start_height, stop):
            now = time.monotonic()
            with tracker.lock:
                tracker.blocks.append((now, len(committed.block.txs)))
                chain_id = committed.block.header.chain_id
                for raw in committed.block.txs:
                    tracker.committed_at[tx_hash(raw, chain_id)] = now
    except grpc.RpcError as exc:
        if not stop.is_set():
            # Commits after this would go uncounted: the run must not report figures.
            tracker.watch_error = f"{exc.code().name}: {exc.details()}"
    finally:
        watcher.close()


def _split_by_node(txs: list[bytes], accounts: int, nodes: int) -> list[list[int]]:
    # Each account's transactions go to one node, in nonce order.
    lanes: list[list[int]] = [[] for _ in range(nodes)]
    for j in range(len(txs)):
        lanes[(j % accounts) % nodes].append(j)
    return lanes


def run_bench(
    validators: int = 4,
    duration: float = 30.0,
    rate: float | None = None,
    accounts: int = 2000,
    home: Path | None = None,
    measure_sync: bool = False,
    say: Callable[[str], None] = print,
    on_progress: Callable[[str], None] = lambda text: None,
    wan: WanLinks = NO_WAN,
    verify_threads: int | None = None,
    per_call: int | None = None,
) -> BenchResult:
    """Run the whole benchmark and return its figures (``rate=None`` offers as much as it can).

    ``say`` gets one line per phase, ``on_progress`` the load phase's running counts.
    """
    cores = os.cpu_count() or 1
    result = BenchResult(validators, cores, duration, "max" if rate is None else f"{rate:g} tx/s")
    result.wan_rtt_ms, result.wan_loss = wan.rtt_ms, wan.loss
    result.verify_threads = verify_threads
    result.per_call = per_call
    say("measuring Ed25519 verify/s on one core ...")
    result.verify_per_core = measure_verify_per_core()
    own_home = home is None
    root = Path(tempfile.mkdtemp(prefix="carbon-bench-")) if home is None else home
    base = free_base_port(validators + 1)
    info = init_devnet(root / "devnet", validators, base, wallet_kdf=THROWAWAY_KDF)
    # The node that measures block sync is an observer: validators serve it because they list it.
    sync_key = PrivateKey.generate()
    for i in range(validators):
        config = wan.apply(NodeConfig.load(info.node_home(i)))
        if verify_threads is not None:
            mempool = dataclasses.replace(config.mempool, verify_threads=verify_threads)
            config = dataclasses.replace(config, mempool=mempool)
        dataclasses.replace(config, consensus=BENCH_CONSENSUS, log_level="WARNING",
                            observers=(sync_key.public_key.hex(),)).save()  # fmt: skip
    procs = DevnetProcesses(info)
    stop = threading.Event()
    try:
        procs.start_all()
        _wait_ready(info.endpoints)
        keys = Keystore(info.wallet_dir)
        pw = info.wallet_password
        workload = Workload.create(
            info.chain_id, keys.load("registrar", pw), keys.load("issuer", pw),
            keys.load("verifier", pw), accounts,
        )  # fmt: skip
        say(f"funding {accounts} accounts through the ledger ...")
        commit_phases(info.endpoints[0], workload.setup_phases(), timeout=120)
        offered = rate if rate is not None else 4000.0
        count = int(offered * duration * (1.0 if rate is not None else 1.5))
        count = min(count, accounts * 900)  # stay inside each account's nonce window
        say(f"pre-signing {count} transfers ...")
        txs = workload.transfers(count)
        hashes = [tx_hash(raw, info.chain_id) for raw in txs]
        disk_before = _dir_bytes(info.node_home(0) / "data")
        usage_before = {i: proc_usage(p.pid) for i, p in procs.procs.items()}
        tracker = _Tracker()
        start_height = _height(info.endpoints[0]) + 1
        watch_stop = threading.Event()
        watcher = threading.Thread(
            target=_watch, args=(info.endpoints[0], tracker, watch_stop, start_height), daemon=True
        )
        watcher.start()
        lanes = _split_by_node(txs, accounts, validators)
        threads = []
        for i, lane in enumerate(lanes):
            lane_rate = rate / validators if rate is not None else None
            t = threading.Thread(
                target=_submitter,
                args=(info.endpoints[i], [txs[j] for j in lane], [hashes[j] for j in lane],
                      lane_rate, _MAX_WINDOW, tracker, stop, per_call),
                daemon=True,
            )  # fmt: skip
            threads.append(t)
        say(f"offering {result.offered} for {duration:g}s to {validators} validators ...")
        t_start = time.monotonic()
        load_cpu_before = _own_cpu_s()
        for t in threads:
            t.start()
        peak_rss = {i: 0.0 for i in procs.procs}
        while time.monotonic() - t_start < duration:
            time.sleep(0.5)
            with tracker.lock:
                committed = len(tracker.committed_at)
            elapsed = time.monotonic() - t_start
            on_progress(f"{elapsed:.0f}/{duration:g} s, {committed} committed "
                        f"({committed / elapsed:.0f} tx/s)")  # fmt: skip
            for i, p in procs.procs.items():
                u = proc_usage(p.pid)
                if u is not None:
                    peak_rss[i] = max(peak_rss[i], u.peak_rss_mb)
        t_end = time.monotonic()
        usage_after = {i: proc_usage(p.pid) for i, p in procs.procs.items()}
        load_cpu_after = _own_cpu_s()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        # Let the last submitted transactions land before reading the figures.
        drain_deadline = time.monotonic() + 20
        while time.monotonic() < drain_deadline and tracker.outstanding() > tracker.refused:
            time.sleep(0.1)
        watch_stop.set()
        watcher.join(timeout=10)
        if tracker.watch_error:
            raise CliError(f"the block watcher lost node 0 ({tracker.watch_error}): no figures "
                           "from a run whose commits were not all seen", EXIT_FAILED)  # fmt: skip
        result.load_cpu_percent = round(
            (load_cpu_after - load_cpu_before) / (t_end - t_start) * 100, 1
        )
        _summarise(result, tracker, t_start, t_end, usage_before, usage_after, peak_rss)
        result.submit_calls = tracker.calls
        result.disk_bytes_per_tx = (
            (_dir_bytes(info.node_home(0) / "data") - disk_before) / result.committed
            if result.committed
            else 0.0
        )
        result.efficiency = result.committed_tps / (cores * result.verify_per_core / validators)
        if measure_sync:
            say("measuring block sync: a fresh node catches up ...")
            _measure_sync(result, info, procs, base + validators, sync_key)
        return result
    finally:
        stop.set()
        procs.stop_all()
        if own_home:
            shutil.rmtree(root, ignore_errors=True)


def _summarise(
    result: BenchResult,
    tracker: _Tracker,
    t_start: float,
    t_end: float,
    before: dict[int, NodeUsage | None],
    after: dict[int, NodeUsage | None],
    peak_rss: dict[int, float],
) -> None:
    elapsed = t_end - t_start
    warmup = min(5.0, elapsed * 0.2)
    window_start = t_start + warmup
    with tracker.lock:
        result.submitted = len(tracker.submitted_at)
        result.committed = len(tracker.committed_at)
        in_window = [t for t in tracker.committed_at.values() if window_start <= t <= t_end]
        latencies = sorted(
            (tracker.committed_at[h] - s) * 1000
            for h, s in tracker.submitted_at.items()
            if h in tracker.committed_at and s >= window_start
        )
        blocks = [(t, n) for t, n in tracker.blocks if window_start <= t <= t_end]
    span = t_end - window_start
    result.committed_tps = len(in_window) / span if span > 0 else 0.0
    result.latency_ms = {
        "p50": round(_percentile(latencies, 0.50), 1),
        "p95": round(_percentile(latencies, 0.95), 1),
        "p99": round(_percentile(latencies, 0.99), 1),
    }
    result.blocks_per_s = len(blocks) / span if span > 0 else 0.0
    result.txs_per_block = sum(n for _, n in blocks) / len(blocks) if blocks else 0.0
    for i in sorted(after):
        b, a = before.get(i), after.get(i)
        cpu = (a.cpu_s - b.cpu_s) / elapsed * 100 if a is not None and b is not None else 0.0
        result.node_cpu_percent.append(round(cpu, 1))
        peak = max(peak_rss.get(i, 0.0), a.peak_rss_mb if a is not None else 0.0)
        result.node_peak_rss_mb.append(round(peak, 1))
        result.node_rss_start_mb.append(round(b.rss_mb, 1) if b is not None else 0.0)
        result.node_rss_end_mb.append(round(a.rss_mb, 1) if a is not None else 0.0)


def _height(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = services_pb2_grpc.LedgerServiceStub(channel)
        return int(stub.GetStatus(services_pb2.StatusRequest(), timeout=10).height)


def _wait_ready(endpoints: tuple[str, ...], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for address in endpoints:
        while True:
            try:
                if _height(address) >= 1:
                    break
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"node {address} did not start")
            time.sleep(0.2)


def _measure_sync(
    result: BenchResult, info: Any, procs: DevnetProcesses, port: int, key: PrivateKey
) -> None:
    """Time a fresh node's catch-up over the chain: as configured by default (certificates
    vouch for the transactions' signatures), then again checking every signature."""
    index = len(info.endpoints)
    target = _height(info.endpoints[0])
    counts = _txs_per_block(info.endpoints[0], target)
    timing = _time_sync(info, procs, index, port, key, target, verify_tx_signatures=False)
    result.sync_blocks = target
    result.sync_tps = timing.rate(counts)
    result.sync_start_s = round(timing.start_s, 2)
    procs.stop(index)
    shutil.rmtree(info.node_home(index))
    timing = _time_sync(info, procs, index, port, key, target, verify_tx_signatures=True)
    result.sync_verify_tps = timing.rate(counts)


@dataclasses.dataclass(frozen=True, slots=True)
class _SyncTiming:
    """When a fresh node first answered, at which height, and when it reached the target."""

    start_s: float  # from its process start until its API first answered
    first_height: int  # its height at that first answer
    catch_up_s: float  # from that answer until it was at the target

    def rate(self, counts: list[int]) -> float:
        """Transactions per second of the catch-up: the blocks applied after the first answer
        over the time since. The node's start (imports, opening the store) is not block sync;
        a chain so short that it was synced by then is timed from the process start."""
        if self.first_height < len(counts) and self.catch_up_s > 0:
            return round(sum(counts[self.first_height :]) / self.catch_up_s, 1)
        return round(sum(counts) / (self.start_s + self.catch_up_s), 1)


def _time_sync(
    info: Any,
    procs: DevnetProcesses,
    index: int,
    port: int,
    key: PrivateKey,
    target: int,
    *,
    verify_tx_signatures: bool,
) -> _SyncTiming:
    # Starts a fresh node (empty store) and follows its height until it is at ``target``.
    home = info.node_home(index)
    listen = f"127.0.0.1:{port}"
    config = NodeConfig(home=home, name=f"node{index}", listen=listen,
                        peers=tuple(info.endpoints), log_level="WARNING",
                        sync=SyncSettings(verify_tx_signatures=verify_tx_signatures))  # fmt: skip
    config.save()
    (home / "genesis.json").write_text((info.home / "genesis.json").read_text())
    write_validator_key(config.key_path, key, config.name)
    start = time.monotonic()
    procs.start(index)
    answered: tuple[float, int] | None = None
    while True:
        try:
            height = _height(listen)
        except grpc.RpcError:
            height = -1
        now = time.monotonic()
        if height >= 0 and answered is None:
            answered = (now, height)
        if height >= target and answered is not None:
            return _SyncTiming(answered[0] - start, answered[1], now - answered[0])
        if now - start > 600:
            raise TimeoutError("block sync did not finish in 600 s")
        time.sleep(0.05)


def _txs_per_block(address: str, upto: int) -> list[int]:
    """The transaction count of each block 1..upto (index h - 1)."""
    watcher = BlockWatcher(address)
    counts: list[int] = []
    try:
        while watcher.next_height <= upto:
            before = watcher.next_height
            for committed in watcher.poll():
                if committed.block.header.height <= upto:
                    counts.append(len(committed.block.txs))
            if watcher.next_height == before:
                break
    finally:
        watcher.close()
    return counts
