"""``carbon-ticket abuse``: what one abusive API client costs a devnet (issue 20).

A devnet of real validator processes carries a steady transfer load (sent to every validator but
the abused one, node0) while throughput is measured for a fixed window three times: without abuse,
with ``streams`` SubscribeBlocks streams open on node0 from one client, and with ``flood_threads``
threads sending ``flood_batch``-transaction batches with bad signatures to node0 as fast as they
can. The abusers run in their own processes, so their CPU cost is the host's, not the load
generator's. For each phase it prints committed tx/s (counted from the blocks of another
validator), block intervals from the block headers, node0's GetStatus latency, and node0's
memory; and the RESOURCE_EXHAUSTED refusals the abusers got, by code.

To show that a block is encoded once for all subscribers, node0 is configured to accept all the
streams asked for ([api] max_streams_per_client and max_subscribers = ``streams``); the abuser opens
5 % more, which are refused. The flood meets node0's default limits.

Its devnet is a rig for one run, so its wallet is written at ``cli.keystore.THROWAWAY_KDF``
(why, and what it saves: docs/benchmarks.md, "The command").
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import multiprocessing
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import click
import grpc

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.common import (
    EXIT_USAGE,
    CliError,
    chosen_output,
    json_alias_option,
    output_option,
    reports_errors,
)
from carbon_ticket.cli.keystore import THROWAWAY_KDF, Keystore
from carbon_ticket.cli.tools.bench import BENCH_CONSENSUS
from carbon_ticket.cli.tools.devnet import DevnetProcesses, free_base_port, init_devnet
from carbon_ticket.cli.tools.loadgen import Workload, commit_phases
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.errors import ERROR_CODE_KEY
from carbon_ticket.node.service_public import MAX_SUBMIT_BATCH
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc

__all__ = ["AbuseResult", "PhaseResult", "abuse", "bad_signature_batch", "node_rss_mb", "run_abuse"]

MEMORY_BUDGET_MB = 250
_EXTRA_STREAMS = 0.05  # opened beyond the limit, to be refused
_STREAMS_PER_CHANNEL = 100
_PROBE_EVERY_S = 0.5


@dataclass
class PhaseResult:
    """Figures of one measuring window."""

    name: str
    seconds: float = 0.0
    committed: int = 0
    blocks: int = 0
    tps: float = 0.0
    interval_p50_ms: float = 0.0
    interval_max_ms: float = 0.0
    status_p50_ms: float = 0.0
    status_late: int = 0  # GetStatus calls to node0 past their 1 s deadline
    status_calls: int = 0
    rss_mb: float = 0.0  # node0 at the end of the window
    cpu_percent: float = 0.0  # node0's CPU time over the window (100 = one core)
    refused: dict[str, int] = field(default_factory=dict)  # RESOURCE_EXHAUSTED by code
    abuser: dict[str, Any] = field(default_factory=dict)


@dataclass
class AbuseResult:
    """Everything ``carbon-ticket abuse`` prints."""

    validators: int
    window_s: float
    rate: float
    streams: int
    flood_threads: int
    flood_batch: int
    phases: list[PhaseResult] = field(default_factory=list)
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    rss_peak_mb: float = 0.0
    memory_budget_mb: int = MEMORY_BUDGET_MB

    def ratio(self, phase: str) -> float:
        """Committed tx/s of ``phase`` over the baseline's (1.0: no slower)."""
        base = self.phases[0].tps
        found = next(p for p in self.phases if p.name == phase)
        return round(found.tps / base, 3) if base else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        data = dataclasses.asdict(self)
        data["ratio_streams"] = self.ratio("streams")
        data["ratio_flood"] = self.ratio("flood")
        data["refusals"] = sum(sum(p.refused.values()) for p in self.phases)
        return data


def node_rss_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of process ``pid`` in MiB (0, 0 when it is gone)."""
    rss = peak = 0.0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, peak


def node_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def bad_signature_batch(chain_id: str, count: int, seed: int = 0) -> list[bytes]:
    """``count`` well-formed transfers whose signatures do not verify (each one must be checked)."""
    key = PrivateKey.generate()
    batch = []
    for nonce in range(count):
        body = ledger_pb2.TxBody(
            chain_id=chain_id, signer=key.address, nonce=seed * count + nonce,
            transfer=ledger_pb2.Transfer(entries=[ledger_pb2.TransferEntry(
                to=key.address, batch_id="CN15-X-20230101-20231231-001", amount_grams=1)]),
        )  # fmt: skip
        envelope = ledger_pb2.TxEnvelope(body=body.SerializeToString())
        # A signature of the right size that is not this body's.
        envelope.signatures.add(public_key=key.public_key, signature=bytes(64))
        batch.append(envelope.SerializeToString())
    return batch


def _error_code(error: grpc.RpcError) -> str:
    metadata = dict(error.trailing_metadata() or ())
    return str(metadata.get(ERROR_CODE_KEY, "") or error.code().name)


# ---------------------------------------------------------------- the abusers (own processes)


def _lowest_priority() -> None:
    # On a one-machine devnet the abuser shares the CPU with the validators; at the lowest
    # priority it stands for a client on another machine, and the figures measure the node.
    try:
        os.nice(19)
    except OSError:
        pass


def stream_abuser(
    address: str, count: int, stop: EventType, out: Any, lowest_priority: bool = True
) -> None:
    """Open ``count`` SubscribeBlocks streams on ``address`` and read them until ``stop``."""
    if lowest_priority:  # only in a process of its own: it would lower its caller's too
        _lowest_priority()
    out.put(asyncio.run(_open_streams(address, count, stop)))


async def _open_streams(address: str, count: int, stop: EventType) -> dict[str, Any]:
    report: dict[str, Any] = {"opened": 0, "messages": 0, "refused": Counter(), "example": ""}
    channels = [
        grpc.aio.insecure_channel(address) for _ in range(-(-count // _STREAMS_PER_CHANNEL))
    ]

    async def follow(index: int) -> None:
        stub = services_pb2_grpc.LedgerServiceStub(channels[index // _STREAMS_PER_CHANNEL])
        call = stub.SubscribeBlocks(services_pb2.SubscribeBlocksRequest())
        first = True
        try:
            async for _ in call:
                report["messages"] += 1
                if first:
                    report["opened"] += 1
                    first = False
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                report["refused"][_error_code(exc)] += 1
                report["example"] = report["example"] or exc.details()
            elif exc.code() != grpc.StatusCode.CANCELLED:
                report["refused"]["other:" + exc.code().name] += 1

    tasks = [asyncio.ensure_future(follow(i)) for i in range(count)]
    while not stop.is_set():
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for channel in channels:
        await channel.close()
    report["refused"] = dict(report["refused"])
    return report


def flood_abuser(
    address: str,
    chain_id: str,
    threads: int,
    batch: int,
    stop: EventType,
    out: Any,
    lowest_priority: bool = True,
) -> None:
    """``threads`` threads sending ``batch`` bad-signature transactions per call, back to back."""
    if lowest_priority:
        _lowest_priority()
    refused: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    sent = [0, 0]  # calls answered, transactions answered
    example: list[str] = []
    lock = threading.Lock()

    def flood(seed: int) -> None:
        txs = bad_signature_batch(chain_id, batch, seed)
        request = services_pb2.SubmitTxsRequest(txs=txs)
        options = [("grpc.max_send_message_length", 1 << 28)]
        with grpc.insecure_channel(address, options=options) as channel:
            stub = services_pb2_grpc.LedgerServiceStub(channel)
            while not stop.is_set():
                try:
                    stub.SubmitTxs(request, timeout=30)
                    with lock:
                        sent[0] += 1
                        sent[1] += len(txs)
                except grpc.RpcError as exc:
                    with lock:
                        refused[_error_code(exc)] += 1
                        statuses[exc.code().name] += 1
                        if not example:
                            example.append(str(exc.details()))
                    time.sleep(0.01)  # a refused client retries at once, nearly

    workers = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put({"calls": sent[0], "txs": sent[1], "refused": dict(refused),
             "statuses": dict(statuses), "example": example[0] if example else ""})  # fmt: skip


# ---------------------------------------------------------------- the steady load and probes


class _Load(threading.Thread):
    """Sends pre-signed transactions to one validator at ``rate`` tx/s, in the given order."""

    def __init__(self, endpoint: str, txs: list[bytes], rate: float) -> None:
        super().__init__(daemon=True)
        self._endpoint = endpoint
        self._txs = txs
        self._rate = rate
        self.stop = threading.Event()
        self.refused = 0

    def run(self) -> None:
        with grpc.insecure_channel(self._endpoint) as channel:
            stub = services_pb2_grpc.LedgerServiceStub(channel)
            started = time.monotonic()
            position = 0
            while position < len(self._txs) and not self.stop.is_set():
                owed = int(self._rate * (time.monotonic() - started)) - position
                if owed <= 0:
                    time.sleep(0.05)
                    continue
                chunk = self._txs[position : position + owed]
                try:
                    reply = stub.SubmitTxs(services_pb2.SubmitTxsRequest(txs=chunk), timeout=30)
                    self.refused += sum(not r.accepted for r in reply.results)
                except grpc.RpcError:
                    self.refused += len(chunk)
                position += len(chunk)


def _lanes(txs: list[bytes], accounts: int, endpoints: tuple[str, ...]) -> list[list[bytes]]:
    # Workload.transfers goes round-robin over the accounts; each account's transactions go to
    # one validator, in nonce order.
    lanes: list[list[bytes]] = [[] for _ in endpoints]
    for j, raw in enumerate(txs):
        lanes[(j % accounts) % len(endpoints)].append(raw)
    return lanes


class _StatusProbe(threading.Thread):
    """Calls node0's GetStatus every half second with a 1 s deadline; keeps the latencies."""

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True)
        self._address = address
        self.stop = threading.Event()
        self.latencies_ms: list[float] = []
        self.late = 0

    def run(self) -> None:
        with grpc.insecure_channel(self._address) as channel:
            stub = services_pb2_grpc.LedgerServiceStub(channel)
            while not self.stop.wait(_PROBE_EVERY_S):
                t0 = time.monotonic()
                try:
                    stub.GetStatus(services_pb2.StatusRequest(), timeout=1.0)
                except grpc.RpcError:
                    self.late += 1
                self.latencies_ms.append((time.monotonic() - t0) * 1000)


def _measure_window(
    name: str, watch: services_pb2_grpc.LedgerServiceStub, node0: str, pid: int, seconds: float
) -> PhaseResult:
    probe = _StatusProbe(node0)
    start_height = watch.GetStatus(services_pb2.StatusRequest(), timeout=10).height
    t0, cpu0 = time.monotonic(), node_cpu_s(pid)
    probe.start()
    time.sleep(seconds)
    end_height = watch.GetStatus(services_pb2.StatusRequest(), timeout=10).height
    elapsed = time.monotonic() - t0
    cpu = node_cpu_s(pid) - cpu0
    probe.stop.set()
    probe.join(timeout=5)
    result = PhaseResult(name, seconds=round(elapsed, 1))
    times = []
    for height in range(start_height, end_height + 1):
        header = watch.GetBlock(services_pb2.GetBlockRequest(height=height), timeout=30)
        block_header = header.committed.block.header
        times.append(block_header.time_ms)
        if height > start_height:
            result.committed += len(header.committed.block.txs)
            result.blocks += 1
    gaps = [b - a for a, b in itertools.pairwise(times)]
    result.tps = round(result.committed / elapsed, 1)
    result.interval_p50_ms = float(statistics.median(gaps)) if gaps else 0.0
    result.interval_max_ms = float(max(gaps)) if gaps else 0.0
    if probe.latencies_ms:
        result.status_p50_ms = round(statistics.median(probe.latencies_ms), 1)
    result.status_late, result.status_calls = probe.late, len(probe.latencies_ms)
    result.rss_mb = round(node_rss_mb(pid)[0], 1)
    result.cpu_percent = round(cpu / elapsed * 100, 1)
    return result


def _wait_ready(endpoints: tuple[str, ...], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    for address in endpoints:
        with grpc.insecure_channel(address) as channel:
            stub = services_pb2_grpc.LedgerServiceStub(channel)
            while True:
                try:
                    if stub.GetStatus(services_pb2.StatusRequest(), timeout=5).height >= 1:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"node {address} did not start")
                time.sleep(0.2)


# ---------------------------------------------------------------- the run


def run_abuse(
    validators: int = 4,
    window: float = 30.0,
    rate: float = 100.0,
    streams: int = 1000,
    flood_threads: int = 4,
    flood_batch: int = 10_000,
    home: Path | None = None,
    say: Callable[[str], None] = print,
) -> AbuseResult:
    """Start a devnet, measure the three phases, stop everything; return the figures."""
    if validators < 2:
        raise ValueError("the load goes to the validators other than node0: use at least 2")
    result = AbuseResult(validators, window, rate, streams, flood_threads, flood_batch)
    own_home = home is None
    root = Path(tempfile.mkdtemp(prefix="carbon-abuse-")) if home is None else home
    info = init_devnet(root / "devnet", validators, free_base_port(validators),
                       wallet_kdf=THROWAWAY_KDF)  # fmt: skip
    for i in range(validators):
        config = NodeConfig.load(info.node_home(i))
        api = config.api
        if i == 0:  # node0 serves every stream asked for: the fan-out is what is measured
            api = dataclasses.replace(api, max_streams_per_client=streams,
                                      max_subscribers=streams)  # fmt: skip
        dataclasses.replace(config, consensus=BENCH_CONSENSUS, log_level="WARNING",
                            api=api).save()  # fmt: skip
    procs = DevnetProcesses(info)
    spawn = multiprocessing.get_context("spawn")
    loads: list[_Load] = []
    abusers: list[multiprocessing.process.BaseProcess] = []
    try:
        procs.start_all()
        _wait_ready(info.endpoints)
        pid = procs.procs[0].pid
        keys = Keystore(info.wallet_dir)
        pw = info.wallet_password
        count = int(rate * (3 * window + 60))
        accounts = max(count // 500 + 1, 8)
        workload = Workload.create(
            info.chain_id, keys.load("registrar", pw), keys.load("issuer", pw),
            keys.load("verifier", pw), accounts,
        )  # fmt: skip
        say(f"funding {accounts} accounts ...")
        commit_phases(info.endpoints[1], workload.setup_phases(), timeout=180)
        say(f"pre-signing {count} transfers ...")
        txs = workload.transfers(count)
        result.rss_before_mb = round(node_rss_mb(pid)[0], 1)
        others = info.endpoints[1:]
        for endpoint, lane in zip(others, _lanes(txs, accounts, others), strict=True):
            loads.append(_Load(endpoint, lane, rate / len(others)))
        for load in loads:
            load.start()
        time.sleep(min(window / 3, 5.0))  # let the load settle before measuring
        with grpc.insecure_channel(info.endpoints[1]) as channel:
            watch = services_pb2_grpc.LedgerServiceStub(channel)
            say(f"phase 1/3: no abuse, {window:g} s ...")
            result.phases.append(_measure_window("baseline", watch, info.endpoints[0], pid, window))

            asked = streams + int(streams * _EXTRA_STREAMS)
            say(f"phase 2/3: {asked} SubscribeBlocks streams from one client on node0 ...")
            phase = _abused(spawn, abusers, stream_abuser, (info.endpoints[0], asked),
                            lambda: _measure_window("streams", watch, info.endpoints[0], pid,
                                                    window), settle=10.0)  # fmt: skip
            result.phases.append(phase)

            say(f"phase 3/3: {flood_threads} threads flooding node0 with {flood_batch}-tx "
                "batches of bad signatures ...")  # fmt: skip
            args = (info.endpoints[0], info.chain_id, flood_threads, flood_batch)
            phase = _abused(spawn, abusers, flood_abuser, args,
                            lambda: _measure_window("flood", watch, info.endpoints[0], pid,
                                                    window), settle=3.0)  # fmt: skip
            result.phases.append(phase)
        rss, peak = node_rss_mb(pid)
        result.rss_after_mb, result.rss_peak_mb = round(rss, 1), round(peak, 1)
        return result
    finally:
        for load in loads:
            load.stop.set()
            load.join(timeout=30)
        for process in abusers:
            if process.is_alive():
                process.terminate()
            process.join(timeout=10)
        procs.stop_all()
        if own_home:
            shutil.rmtree(root, ignore_errors=True)


def _abused(
    spawn: Any,
    abusers: list[multiprocessing.process.BaseProcess],
    target: Callable[..., None],
    args: tuple[Any, ...],
    measure: Callable[[], PhaseResult],
    settle: float,
) -> PhaseResult:
    # The abuser runs in its own process from before the window to its end, then reports.
    stop = spawn.Event()
    out = spawn.Queue()
    process = spawn.Process(target=target, args=(*args, stop, out), daemon=True)
    abusers.append(process)
    process.start()
    time.sleep(settle)  # streams opened / the flood under way before measuring
    phase = measure()
    stop.set()
    report: dict[str, Any] = out.get(timeout=60)
    process.join(timeout=30)
    phase.refused = dict(report.pop("refused", {}))
    phase.abuser = report
    return phase


def render(result: AbuseResult) -> str:
    """The figures as a short text report."""
    lines = [
        f"{result.validators} validators, load {result.rate:g} tx/s to node1..node"
        f"{result.validators - 1}, windows of {result.window_s:g} s; node0 is abused",
        "",
        f"{'phase':<10}{'tx/s':>8}{'ratio':>7}{'blocks':>8}{'gap p50':>9}{'gap max':>9}"
        f"{'status p50':>12}{'late':>6}{'node0 MiB':>11}{'CPU':>6}  refused (RESOURCE_EXHAUSTED)",
    ]
    base = result.phases[0].tps if result.phases else 0.0
    for p in result.phases:
        ratio = f"{p.tps / base:.2f}" if base else "-"
        refused = ", ".join(f"{k} {v}" for k, v in sorted(p.refused.items())) or "-"
        lines.append(
            f"{p.name:<10}{p.tps:>8.1f}{ratio:>7}{p.blocks:>8}{p.interval_p50_ms:>7.0f}ms"
            f"{p.interval_max_ms:>7.0f}ms{p.status_p50_ms:>10.0f}ms"
            f"{p.status_late:>3}/{p.status_calls:<3}{p.rss_mb:>9.1f}{p.cpu_percent:>5.0f}%"
            f"  {refused}"
        )
    lines.append("")
    for p in result.phases[1:]:
        lines.append(f"{p.name} abuser: " + ", ".join(f"{k}={v}" for k, v in p.abuser.items()))
    verdict = "within" if result.rss_peak_mb < result.memory_budget_mb else "OVER"
    lines.append(
        f"node0 memory: {result.rss_before_mb:.1f} MiB before, {result.rss_after_mb:.1f} after, "
        f"peak {result.rss_peak_mb:.1f} ({verdict} the {result.memory_budget_mb} MB budget)"
    )
    lines.append(f"host: {os.cpu_count()} cores, shared with the load; abusers at nice 19")
    return "\n".join(lines)


# ---------------------------------------------------------------- the command


@click.command("abuse")
@click.option("--validators", "-n", default=4, show_default=True, help="Validator processes.")
@click.option("--window", default=30.0, show_default=True, help="Seconds measured per phase.")
@click.option("--rate", default=100.0, show_default=True, help="Steady load in tx/s.")
@click.option("--streams", default=1000, show_default=True, help="Streams node0 serves.")
@click.option("--flood-threads", default=4, show_default=True, help="Flooding threads.")
@click.option("--flood-batch", default=10_000, show_default=True, help="Transactions a call.")
@click.option("--home", type=click.Path(path_type=Path), default=None,
              help="Keep the devnet here (default: a temporary directory, removed).")  # fmt: skip
@output_option
@json_alias_option
@reports_errors
def abuse(
    validators: int,
    window: float,
    rate: float,
    streams: int,
    flood_threads: int,
    flood_batch: int,
    home: Path | None,
    output: str,
) -> None:
    """Measure what one abusive API client costs a devnet: committed tx/s, block intervals and
    node memory without abuse, with 1,000 open block streams, and under a bad-signature flood."""
    if validators < 2:
        raise CliError("--validators must be at least 2 (node0 is abused, the rest take load)",
                       EXIT_USAGE)  # fmt: skip
    if min(window, rate, streams, flood_threads, flood_batch) <= 0:
        raise CliError("--window, --rate, --streams and --flood-* must be positive", EXIT_USAGE)
    if flood_batch > MAX_SUBMIT_BATCH:
        raise CliError(f"--flood-batch is at most {MAX_SUBMIT_BATCH} (one SubmitTxs call)",
                       EXIT_USAGE)  # fmt: skip
    json_out = chosen_output(output) == "json"

    def say(line: str) -> None:
        if not json_out:
            click.echo(line, err=True)

    result = run_abuse(validators, window, rate, streams, flood_threads, flood_batch, home, say)
    if json_out:
        click.echo(json.dumps(result.as_dict()))
        return
    click.echo(render(result))
