"""``carbon-ticket bench --workload points``: committed awards per second (issue 15).

A real devnet of validator processes; the registrar opens many resident accounts (no names), then
the devnet's points operator (one account, like the city app's backend) sends ``AwardPoints``
transactions of many awards each, keeping a bounded number in flight. The figure is **awards**
applied per second (each award's own outcome, read back from the committed receipts), not
transactions. A city of ~2.7 million people where one in ten earns points daily is about a
million awards a day with peaks near 1,000 a second.

Issue 19 asks for awards/s >= 10 x the transfer throughput *of the same run*: after the points
phase, the same kind of fresh devnet runs the transfer saturation benchmark (``run_bench``), and
the report carries both figures and their ratio, each counted over the same steady window (the
first 20 % of the load, at most 5 s, left out).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.tx import encode_tx, tx_hash
from carbon_ticket.cli.keystore import THROWAWAY_KDF, Keystore
from carbon_ticket.cli.tools.bench import (
    BENCH_CONSENSUS,
    NO_WAN,
    WanLinks,
    proc_usage,
    run_bench,
)
from carbon_ticket.cli.tools.devnet import (
    DEVNET_POINTS_DAILY_CAP,
    DevnetProcesses,
    free_base_port,
    init_devnet,
)
from carbon_ticket.cli.tools.loadgen import BlockWatcher, commit_phases
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = ["PointsBenchResult", "run_points_bench"]

_PER_PHASE = 500
_CHUNK = 8  # award transactions per SubmitTxs call


@dataclass
class PointsBenchResult:
    """Every figure the points benchmark reports."""

    validators: int
    residents: int
    awards_per_tx: int
    duration_s: float
    in_flight: int = 64  # award transactions submitted and not yet seen committed, at most
    txs_committed: int = 0
    awards_applied: int = 0
    awards_rejected: int = 0
    committed_awards_per_s: float = 0.0
    committed_txs_per_s: float = 0.0
    # Awards committed in the steady window, the window run_bench counts transfers in
    steady_awards_per_s: float = 0.0
    blocks_per_s: float = 0.0  # blocks carrying at least one of our transactions, steady window
    txs_per_block: float = 0.0
    node_cpu_percent: list[float] = field(default_factory=list)
    # CPU of all validators per committed award: what the ratio would be if both workloads
    # used all the cores is transfer_node_cpu_us_per_tx / node_cpu_us_per_award.
    node_cpu_us_per_award: float = 0.0
    # The transfer saturation phase of the same invocation (None when it was not run)
    transfer_tps: float | None = None
    transfer_node_cpu_us_per_tx: float | None = None
    awards_per_transfer_ratio: float | None = None
    transfers: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return dataclasses.asdict(self)


def _chain_day(utc_offset_minutes: int = 480) -> int:
    # The devnet's time zone (UTC+8 by default); block times follow the clock closely.
    local = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=utc_offset_minutes)
    return int(local.strftime("%Y%m%d"))


def _tx(chain_id: str, key: PrivateKey, nonce: int, **msg: Any) -> bytes:
    body = ledger_pb2.TxBody(chain_id=chain_id, signer=key.address, nonce=nonce, **msg)
    return encode_tx(body, [key])


def _registrations(
    chain_id: str, registrar: PrivateKey, residents: Sequence[str]
) -> list[list[bytes]]:
    txs = [
        _tx(chain_id, registrar, i, register_account=ledger_pb2.RegisterAccount(
            address=address, kind=ledger_pb2.ACCOUNT_KIND_RESIDENT))
        for i, address in enumerate(residents)
    ]  # fmt: skip
    return [txs[i : i + _PER_PHASE] for i in range(0, len(txs), _PER_PHASE)]


def _award_txs(
    chain_id: str, operator: PrivateKey, residents: Sequence[str], count: int, per_tx: int
) -> list[bytes]:
    """``count`` award transactions of ``per_tx`` one-point walks, round-robin over residents."""
    day = _chain_day()
    out = []
    for j in range(count):
        awards = [
            ledger_pb2.Award(recipient=residents[(j * per_tx + k) % len(residents)],
                             activity=ledger_pb2.ACTIVITY_WALK, day=day, points=1,
                             external_ref=f"b{j}-{k}")
            for k in range(per_tx)
        ]  # fmt: skip
        out.append(_tx(chain_id, operator, j, award_points=ledger_pb2.AwardPoints(awards=awards)))
    return out


def run_points_bench(
    validators: int = 4,
    duration: float = 30.0,
    residents: int = 2000,
    awards_per_tx: int = 150,
    home: Path | None = None,
    say: Callable[[str], None] = print,
    wan: WanLinks = NO_WAN,
    against_transfers: bool = True,
    in_flight: int = 64,
) -> PointsBenchResult:
    """Run the points benchmark on a fresh devnet and, with ``against_transfers``, the transfer
    saturation benchmark on another (``residents`` funded accounts), and return the figures."""
    result = PointsBenchResult(validators, residents, awards_per_tx, duration, in_flight)
    own_home = home is None
    root = Path(tempfile.mkdtemp(prefix="carbon-bench-points-")) if home is None else home
    try:
        _points_phase(result, root / "devnet", say, wan)
        if against_transfers:
            say("transfer saturation on a fresh devnet, for the ratio ...")
            transfers = run_bench(validators, duration, None, residents, root / "transfers",
                                  False, say, wan=wan)  # fmt: skip
            result.transfers = transfers.as_dict()
            result.transfer_tps = round(transfers.committed_tps, 1)
            if transfers.committed_tps > 0:
                # Cores busy (all validators) over transfers a second; the drain after the
                # load phase is in neither figure.
                busy = sum(transfers.node_cpu_percent) / 100
                result.transfer_node_cpu_us_per_tx = round(busy / transfers.committed_tps * 1e6, 1)
                ratio = result.steady_awards_per_s / transfers.committed_tps
                result.awards_per_transfer_ratio = round(ratio, 2)
        return result
    finally:
        if own_home:
            shutil.rmtree(root, ignore_errors=True)


def _points_phase(
    result: PointsBenchResult, home: Path, say: Callable[[str], None], wan: WanLinks
) -> None:
    validators, residents, awards_per_tx = result.validators, result.residents, result.awards_per_tx
    duration = result.duration_s
    # A rig for one run, as bench's: its password is beside its wallet (docs/benchmarks.md).
    info = init_devnet(home, validators, free_base_port(validators), wallet_kdf=THROWAWAY_KDF)
    for i in range(validators):
        config = wan.apply(NodeConfig.load(info.node_home(i)))
        dataclasses.replace(config, consensus=BENCH_CONSENSUS, log_level="WARNING").save()
    procs = DevnetProcesses(info)
    try:
        procs.start_all()
        endpoint = info.endpoints[0]
        watcher = BlockWatcher(endpoint)
        deadline = time.monotonic() + 60
        while True:
            try:
                watcher.height()
                break
            except Exception:  # not listening yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        keys = Keystore(info.wallet_dir)
        registrar = keys.load("registrar", info.wallet_password)
        operator = keys.load("points-operator", info.wallet_password)
        seed = b"carbon-ticket-points-bench"
        addresses = [
            PrivateKey(hashlib.sha256(seed + i.to_bytes(8, "big")).digest()).address
            for i in range(residents)
        ]
        say(f"registering {residents} residents through the ledger ...")
        commit_phases(endpoint, _registrations(info.chain_id, registrar, addresses), timeout=120)
        # More than can commit in time, within what the residents' daily caps allow
        capacity = residents * DEVNET_POINTS_DAILY_CAP // awards_per_tx
        count = min(int(duration * 20_000 / awards_per_tx) + 50, capacity)
        say(f"pre-signing {count} award transactions of {awards_per_tx} awards ...")
        txs = _award_txs(info.chain_id, operator, addresses, count, awards_per_tx)
        hashes = [tx_hash(raw, info.chain_id) for raw in txs]
        before = {i: proc_usage(p.pid) for i, p in procs.procs.items()}
        committed, t_start, elapsed = _offer(
            watcher, operator.address, txs, hashes, duration, result.in_flight, say
        )
        after = {i: proc_usage(p.pid) for i, p in procs.procs.items()}
        _count_awards(result, watcher, committed, t_start, elapsed)
        _count_blocks(result, committed, t_start, elapsed)
        cpu_s = 0.0
        for i in sorted(after):
            b, a = before.get(i), after.get(i)
            used = a.cpu_s - b.cpu_s if a is not None and b is not None else 0.0
            cpu_s += used
            result.node_cpu_percent.append(round(used / elapsed * 100, 1))
        if result.awards_applied:
            result.node_cpu_us_per_award = round(cpu_s / result.awards_applied * 1e6, 1)
        watcher.close()
    finally:
        procs.stop_all()


def _offer(
    watcher: BlockWatcher,
    operator: str,
    txs: list[bytes],
    hashes: list[bytes],
    duration: float,
    in_flight: int,
    say: Callable[[str], None],
) -> tuple[dict[bytes, float], float, float]:
    """Submit in nonce order with at most ``in_flight`` transactions pending for ``duration`` s.

    Returns the committed transactions (hash -> when their commit was seen), the start time and
    the seconds the load ran. Commits are seen through the operator's committed nonce (one
    small GetAccount reply), not by fetching every block: a block of awards carries a receipt
    with one event per award, and decoding and re-encoding those for the benchmark took a fifth
    of node 0's CPU, on a validator whose speed is what is being measured.
    """
    request = services_pb2.GetAccountRequest(address=operator)
    committed: dict[bytes, float] = {}
    sent = 0
    say(f"offering awards for {duration:g}s ...")
    t_start = time.monotonic()
    while time.monotonic() - t_start < duration and len(committed) < len(txs):
        if sent < len(txs) and sent - len(committed) < in_flight:
            chunk = txs[sent : sent + _CHUNK]
            reply = watcher.public.SubmitTxs(services_pb2.SubmitTxsRequest(txs=chunk), timeout=30)
            refused = [r for r in reply.results if not r.accepted]
            if refused:
                raise RuntimeError(
                    f"award tx refused: {refused[0].error_code}: {refused[0].message}"
                )
            sent += len(chunk)
        # The bench's transactions are the operator's only ones, nonces 0, 1, ...: the
        # committed nonce counts how many of them have committed.
        nonce = int(watcher.public.GetAccount(request, timeout=10).nonce)
        now = time.monotonic()
        for digest in hashes[len(committed) : nonce]:
            committed[digest] = now
        time.sleep(0.01)
    return committed, t_start, time.monotonic() - t_start


def _steady_start(t_start: float, elapsed: float) -> float:
    # The same steady window as run_bench's committed_tps: the warm-up is left out of both.
    return t_start + min(5.0, elapsed * 0.2)


def _count_blocks(
    result: PointsBenchResult, committed: dict[bytes, float], t_start: float, elapsed: float
) -> None:
    """Blocks per second and transactions per block in the steady window. Blocks are told apart
    by when their commit was seen (polls are ~10 ms apart, blocks hundreds of ms): close enough
    for a figure of the block shape, not of latency."""
    window_start = _steady_start(t_start, elapsed)
    seen = [t for t in committed.values() if t >= window_start]
    blocks = len(set(seen))
    span = t_start + elapsed - window_start
    result.blocks_per_s = round(blocks / span, 2) if span > 0 else 0.0
    result.txs_per_block = round(len(seen) / blocks, 1) if blocks else 0.0


def _count_awards(
    result: PointsBenchResult,
    watcher: BlockWatcher,
    committed: dict[bytes, float],
    t_start: float,
    elapsed: float,
) -> None:
    """Read each committed receipt's applied and rejected awards into ``result``."""
    window_start = _steady_start(t_start, elapsed)
    steady = 0
    result.txs_committed = len(committed)
    for digest, seen in committed.items():
        info = watcher.public.GetTx(services_pb2.GetTxRequest(tx_hash=digest), timeout=10)
        for event in info.receipt.events:
            if event.type == "award_points":
                attrs = {a.key: a.value for a in event.attributes}
                result.awards_applied += int(attrs["applied"])
                result.awards_rejected += int(attrs["rejected"])
                steady += int(attrs["applied"]) if seen >= window_start else 0
    result.committed_awards_per_s = round(result.awards_applied / elapsed, 1)
    result.committed_txs_per_s = round(result.txs_committed / elapsed, 2)
    span = t_start + elapsed - window_start
    result.steady_awards_per_s = round(steady / span, 1) if span > 0 else 0.0
