"""Queries and paced commits on a store the storage benchmark filled (issue 19).

    python -m carbon_ticket.cli.tools.bench_store_queries --dir STORE [--queries 5000] \\
        [--no-warm-tables] [--nonce-twice] [--pace 2500 --pace-blocks 100] [--json]

``STORE`` is a directory ``bench_storage --keep --dir STORE`` left; it is opened as a validator
opens it (``LevelDBStore.open``). One process measures one variant, so that variants can be
interleaved in fresh processes by the caller:

1. Account queries: ``--queries`` random filler accounts, each answered by the node's own
   GetAccount code (``node.service_public.account_info`` over an empty mempool). Besides wall
   time, each query records the thread's CPU time and whether the scheduler took the CPU away
   during it (an involuntary context switch, from ``getrusage(RUSAGE_THREAD)``); between
   queries a fixed pure-Python task of ~0.2 ms is timed the same way, which is the host's own
   noise. With ``--nonce-twice`` the query is GetAccount's before the fix (the nonce read a
   second time); with ``--no-warm-tables`` the store opens without loading its tables.
2. History pages: GetAccountHistory's reads for 200 of those accounts, and 50 full 100-entry
   pages of the busy account (``bench_storage.read_history``).
3. With ``--pace``: ``--pace-blocks`` more filler blocks of ``--txs-per-block`` transfers between
   existing accounts, committed at ``--pace`` transfers per second as a node would (a block
   every txs-per-block / pace seconds), with ``--reads-per-block`` account queries in each
   gap; prints commit ms per block (p50/p99/max), how late blocks started, and the queries'
   latencies while the store compacts in the background. This adds blocks to the store.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from carbon_ticket.chain import check_tx, keys
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.state import expected_nonce, get_account, get_balances
from carbon_ticket.cli.tools.bench_storage import (
    CHAIN_ID,
    TARGET,
    Chain,
    FillPlan,
    fill_blocks,
    filler_address,
    percentile,
    read_history,
    rss_bytes,
    samples,
)
from carbon_ticket.node.api_codec import account_to_proto
from carbon_ticket.node.config import MempoolSettings
from carbon_ticket.node.mempool import Mempool
from carbon_ticket.node.service_public import account_info
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import services_pb2

HISTORY_SAMPLE = 200
BUSY_PAGES = 50
CONTROL_LOOPS = 2_000  # the control task: ~0.2 ms of pure Python on this host


def registered_fillers(store: LevelDBStore) -> int:
    """How many filler accounts the store holds (they are numbered 0..n-1): a doubling then a
    binary search on their records, ~50 reads."""

    def exists(n: int) -> bool:
        return store.get(keys.account_key(filler_address(n))) is not None

    if not exists(0):
        return 0
    high = 1
    while exists(high):
        high *= 2
    low = high // 2  # exists(low), not exists(high)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if exists(mid) else (low, mid)
    return high


def nonce_twice(store: LevelDBStore, pending: Mempool, address: str) -> services_pb2.AccountInfo:
    """GetAccount before issue 19's fix: the mempool read the committed nonce again."""
    view = get_account(store, address)
    return account_to_proto(view, get_balances(store, address), pending.next_nonce(address))


def empty_mempool(store: LevelDBStore) -> Mempool:
    """A node's mempool over ``store``, with nothing pending."""
    return Mempool(
        CHAIN_ID, Limits(), MempoolSettings(), check_tx, lambda a: expected_nonce(store, a)
    )


def control_task() -> int:
    """A fixed amount of pure-Python work, no I/O: what it costs is the host's doing."""
    total = 0
    for i in range(CONTROL_LOOPS):
        total += i * i
    return total


@dataclass(frozen=True, slots=True)
class Timed:
    """Per-call wall seconds, thread CPU seconds and involuntary context switches."""

    wall: list[float]
    cpu: list[float]
    switched: list[int]

    @classmethod
    def run(cls, calls: list[Callable[[], object]]) -> Timed:
        """Time each call in turn."""
        wall, cpu, switched = [], [], []
        for call in calls:
            before = resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw
            cpu0, start = time.thread_time(), time.perf_counter()
            call()
            wall.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - cpu0)
            switched.append(resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw - before)
        return cls(wall, cpu, switched)


def ms(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (seconds) in ms, 3 decimals."""
    return round(percentile(values, share) * 1e3, 3)


@dataclass(frozen=True, slots=True)
class QueryFigures:
    """Account queries (ms) and the host's noise over the same stretch of time."""

    queries: int
    open_ms: float
    account_ms_p50: float
    account_ms_p99: float
    account_ms_p999: float
    account_cpu_ms_p50: float
    account_cpu_ms_p99: float
    preempted_share: float  # queries during which the scheduler took the CPU away
    unpreempted_ms_p99: float  # p99 over the queries that kept the CPU
    control_ms_p50: float  # the ~0.2 ms pure-Python task, timed between the queries
    control_ms_p99: float
    history_ms_p50: float
    history_ms_p99: float
    busy_page_ms_p50: float
    busy_page_ms_p99: float
    rss_bytes: int
    rss_anon_bytes: int


def measure_queries(
    store: LevelDBStore, query: Callable[[str], object], count: int, open_s: float, seed: int
) -> QueryFigures:
    """Time ``count`` account queries (with the control task between them) and the pages."""
    rng = random.Random(seed)
    fillers = registered_fillers(store)
    who = [filler_address(rng.randrange(fillers)) for _ in range(count)]
    calls: list[Callable[[], object]] = []
    for address in who:
        calls += [lambda a=address: query(a), control_task]  # type: ignore[misc]
    timed = Timed.run(calls)
    account = Timed(timed.wall[::2], timed.cpu[::2], timed.switched[::2])
    control = timed.wall[1::2]
    kept = [w for w, s in zip(account.wall, account.switched, strict=True) if s == 0]
    paged = who[:HISTORY_SAMPLE]
    pages = iter(paged)
    history = samples(lambda: read_history(store, next(pages)), len(paged))
    busy = samples(lambda: read_history(store, TARGET), BUSY_PAGES)
    rss, anon = rss_bytes()
    return QueryFigures(
        queries=count,
        open_ms=round(open_s * 1e3, 1),
        account_ms_p50=ms(account.wall, 0.5),
        account_ms_p99=ms(account.wall, 0.99),
        account_ms_p999=ms(account.wall, 0.999),
        account_cpu_ms_p50=ms(account.cpu, 0.5),
        account_cpu_ms_p99=ms(account.cpu, 0.99),
        preempted_share=round(sum(1 for s in account.switched if s) / count, 4),
        unpreempted_ms_p99=ms(kept, 0.99),
        control_ms_p50=ms(control, 0.5),
        control_ms_p99=ms(control, 0.99),
        history_ms_p50=ms(history, 0.5),
        history_ms_p99=ms(history, 0.99),
        busy_page_ms_p50=ms(busy, 0.5),
        busy_page_ms_p99=ms(busy, 0.99),
        rss_bytes=rss,
        rss_anon_bytes=anon,
    )


@dataclass(frozen=True, slots=True)
class PacedFigures:
    """Commits at a node's pace on the full store, and the queries served between them."""

    pace_txs_per_s: int
    blocks: int
    commit_ms_p50: float
    commit_ms_p99: float
    commit_ms_max: float
    late_blocks: int  # blocks that started after their slot (the previous one ran over)
    account_ms_p50: float
    account_ms_p99: float
    preempted_share: float
    rss_bytes: int


def paced_commits(
    store: LevelDBStore,
    query: Callable[[str], object],
    pace: int,
    blocks: int,
    per_block: int,
    reads_per_block: int,
    seed: int,
) -> PacedFigures:
    """Commit ``blocks`` filler blocks at ``pace`` transfers/s with queries in the gaps."""
    rng = random.Random(seed)
    fillers = registered_fillers(store)
    plan = FillPlan(blocks * per_block, fillers, per_block, 1)
    chain = Chain(store)
    interval = per_block / pace
    commits: list[float] = []
    reads = Timed([], [], [])
    late = 0
    slot = time.perf_counter()
    for txs, ids, meta, extra, _ in fill_blocks(plan, rng, store.height + 1, fillers):
        now = time.perf_counter()
        if now > slot + 0.001:
            late += 1
        else:
            time.sleep(max(0.0, slot - now))
        slot += interval
        commits.append(chain.commit(txs, ids, meta, extra))
        who = [filler_address(rng.randrange(fillers)) for _ in range(reads_per_block)]
        gap = Timed.run([lambda a=address: query(a) for address in who])  # type: ignore[misc]
        reads.wall.extend(gap.wall)
        reads.switched.extend(gap.switched)
    return PacedFigures(
        pace_txs_per_s=pace,
        blocks=blocks,
        commit_ms_p50=ms(commits, 0.5),
        commit_ms_p99=ms(commits, 0.99),
        commit_ms_max=ms(commits, 1.0),
        late_blocks=late,
        account_ms_p50=ms(reads.wall, 0.5),
        account_ms_p99=ms(reads.wall, 0.99),
        preempted_share=round(sum(1 for s in reads.switched if s) / max(1, len(reads.wall)), 4),
        rss_bytes=rss_bytes()[0],
    )


def run(args: argparse.Namespace) -> list[dict[str, object]]:
    """Open the store, measure what the flags ask, close it; the figures as dicts."""
    start = time.perf_counter()
    store = LevelDBStore.open(args.dir, chain_id=CHAIN_ID, create=False, warm_tables=args.warm)
    open_s = time.perf_counter() - start
    pending = empty_mempool(store)
    answer = nonce_twice if args.nonce_twice else account_info

    def query(address: str) -> object:
        return answer(store, pending, address)

    variant = {"warm_tables": args.warm, "nonce_twice": args.nonce_twice}
    try:
        out: list[dict[str, object]] = [
            {"phase": "queries", **variant, **asdict(measure_queries(
                store, query, args.queries, open_s, args.seed))},
        ]  # fmt: skip
        if args.pace:
            paced = paced_commits(
                store, query, args.pace, args.pace_blocks, args.txs_per_block,
                args.reads_per_block, args.seed,
            )  # fmt: skip
            out.append({"phase": "paced", **variant, **asdict(paced)})
    finally:
        store.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse flags, measure, print one line per phase (JSON with ``--json``)."""
    parser = argparse.ArgumentParser(
        prog="python -m carbon_ticket.cli.tools.bench_store_queries", description=__doc__
    )
    parser.add_argument("--dir", type=Path, required=True, help="a store bench_storage kept")
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-warm-tables", dest="warm", action="store_false",
        help="open the store without loading its tables (as before issue 19's fix)",
    )  # fmt: skip
    parser.add_argument(
        "--nonce-twice", action="store_true",
        help="GetAccount as before issue 19's fix (the committed nonce read twice)",
    )  # fmt: skip
    parser.add_argument("--pace", type=int, default=0, help="transfers/s of paced commits")
    parser.add_argument("--pace-blocks", type=int, default=100)
    parser.add_argument("--txs-per-block", type=int, default=1000)
    parser.add_argument("--reads-per-block", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    args = parser.parse_args(argv)
    if args.queries < 1 or args.pace < 0 or args.pace_blocks < 1 or args.txs_per_block < 2:
        parser.error("--queries and --pace-blocks must be at least 1, --txs-per-block 2")
    if not (args.dir / "CURRENT").exists():
        parser.error(f"{args.dir} holds no store (run bench_storage --keep --dir {args.dir})")
    for line in run(args):
        text = " ".join(f"{k}={v}" for k, v in line.items())
        print(json.dumps(line) if args.json else text, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
