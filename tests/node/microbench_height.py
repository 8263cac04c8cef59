"""Per-height cost of consensus on four in-process validators (issue 19): CPU and fsyncs per block.

    python -m tests.node.microbench_height [--heights 200] [--txs-per-block 0] [--profile]
        [--gc-stats] [--tuned-gc]

Real nodes (``node.build.build_node``: LevelDB store, fsync'd signing state) on one event loop
with a virtual clock and the in-memory transport (tests/node/harness.py), committing blocks back
to back: empty ones, or with ``--txs-per-block K`` K signed 1-gram transfers each (the bench's
workload, funded through the ledger first; each height's transfers are handed to the four nodes
in turn, gossiped, proposed, executed and committed). It prints the process CPU time per height
and per transaction for all four nodes together, and the fsyncs of the signing records, so a
change to the per-block path can be measured without a devnet, without sockets, and without the
noise of other processes (CPU time, not wall time). gRPC is not in it (the transport is in
memory). With ``--profile`` it prints the top functions by cumulative time (cProfile); with
``--gc-stats`` the garbage collector's runs and time by generation in the measured heights; with
``--tuned-gc`` the collector is tuned as ``carbon-ticket node start`` tunes it
(``node.runtime.tune_garbage_collector``) before the measured heights.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import gc
import pstats
import tempfile
import time
from pathlib import Path

from carbon_ticket.cli.tools.loadgen import Workload
from carbon_ticket.node.runtime import tune_garbage_collector
from carbon_ticket.node.safety import FileSafetyStore
from tests.chain.conftest import ISSUER, REGISTRAR, VERIFIER
from tests.node.harness import FAST, InProcessNet

# Blocks follow each other at once: no commit wait, an empty block as soon as allowed.
_BACK_TO_BACK = dataclasses.replace(FAST, commit_wait_ms=1, empty_block_interval_ms=1)


def _sign_fsyncs(net: InProcessNet) -> int:
    total = 0
    for i in net.running():
        guard = net.node(i).engine._guard
        store = getattr(guard, "_store", None)
        if isinstance(store, FileSafetyStore):
            total += store.fsyncs
    return total


async def _commit_all(net: InProcessNet, raws: list[bytes], what: str) -> None:
    """Hand ``raws`` to the nodes in turn (an account's transactions to one node, in nonce
    order, as the bench does) and run until every node has committed them all."""
    for i, raw in enumerate(raws):
        net.node(i % len(net.running())).admit(raw)
    await net.run_until(what, lambda: all(len(net.node(i).mempool) == 0 for i in net.running()),
                        3600)  # fmt: skip
    top = max(net.heights())
    await net.run_until(what, lambda: min(net.heights()) >= top, 60)


async def _fund(net: InProcessNet, accounts: int) -> Workload:
    workload = Workload.create(net.chain_id, REGISTRAR, ISSUER, VERIFIER, accounts)
    for n, phase in enumerate(workload.setup_phases()):
        await _commit_all(net, phase, f"setup phase {n}")
    return workload


class GcStats:
    """Runs of the garbage collector and the time they took, by generation (gc.callbacks)."""

    def __init__(self) -> None:
        self.runs = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.longest_s = 0.0
        self._started = 0.0

    def __enter__(self) -> GcStats:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        generation = info["generation"]
        self.runs[generation] += 1
        self.seconds[generation] += took
        self.longest_s = max(self.longest_s, took)

    def line(self) -> str:
        """One line: runs and milliseconds per generation, and the longest run."""
        parts = [
            f"gen{g} {runs} runs {secs * 1e3:.0f} ms"
            for g, (runs, secs) in enumerate(zip(self.runs, self.seconds, strict=True))
        ]
        return f"garbage collector: {', '.join(parts)}; longest {self.longest_s * 1e3:.1f} ms"


async def _run(
    tmp: Path,
    heights: int,
    per_block: int,
    profiler: cProfile.Profile | None,
    gc_stats: bool = False,
    tuned_gc: bool = False,
) -> None:
    settings = dataclasses.replace(_BACK_TO_BACK, max_block_txs=max(per_block, 1))
    async with InProcessNet(tmp, consensus=settings) as net:
        await net.start()
        await net.run_until("warm-up", lambda: min(net.heights()) >= 5)
        txs: list[bytes] = []
        if per_block:
            # Each account sends one transaction per height: the nodes never wait on a nonce.
            workload = await _fund(net, per_block)
            txs = workload.transfers(per_block * heights, first_nonce=0)
        start_height = min(net.heights())
        fsyncs_before = _sign_fsyncs(net)
        thresholds = gc.get_threshold()
        if tuned_gc:
            tune_garbage_collector()
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            with GcStats() as collector:
                await _measured_heights(net, txs, heights, per_block, start_height)
        finally:
            if tuned_gc:  # as it was: this may run inside a test process
                gc.unfreeze()
                gc.set_threshold(*thresholds)
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        done = min(net.heights()) - start_height
        fsyncs = _sign_fsyncs(net) - fsyncs_before
        per_tx = f", {cpu / len(txs) * 1e6:.0f} us per tx" if txs else ""
        print(
            f"{done} heights of {len(txs) / done:.0f} txs, 4 validators in one process: CPU "
            f"{cpu / done * 1e3:.2f} ms per height (all nodes; {cpu / done / 4 * 1e3:.2f} ms per "
            f"node{per_tx}), wall {wall / done * 1e3:.2f} ms, signing-record fsyncs "
            f"{fsyncs / done / 4:.1f} per node per height"
        )
        if gc_stats:
            print(collector.line())


async def _measured_heights(
    net: InProcessNet, txs: list[bytes], heights: int, per_block: int, start_height: int
) -> None:
    if per_block:
        for h in range(heights):
            await _commit_all(net, txs[h * per_block : (h + 1) * per_block], f"height {h}")
    else:
        await net.run_until("heights", lambda: min(net.heights()) >= start_height + heights,
                            3600)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run, print."""
    parser = argparse.ArgumentParser(prog="python -m tests.node.microbench_height")
    parser.add_argument("--heights", type=int, default=200)
    parser.add_argument("--txs-per-block", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--gc-stats", action="store_true")
    parser.add_argument("--tuned-gc", action="store_true")
    args = parser.parse_args(argv)
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="mb-height-") as tmp:
        asyncio.run(_run(Path(tmp), args.heights, args.txs_per_block, profiler,
                         args.gc_stats, args.tuned_gc))  # fmt: skip
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
