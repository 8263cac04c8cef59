"""Per-height cost of consensus on four in-process validators (issue 19): CPU and fsyncs per block.

    python -m tests.node.microbench_height [--heights 200] [--profile]

Real nodes (``node.build.build_node``: LevelDB store, fsync'd signing state) on one event loop
with a virtual clock and the in-memory transport (tests/node/harness.py), committing empty blocks
back to back. It prints the process CPU time per height for all four nodes together and the
fsyncs of the signing records, so a change to the per-block path can be measured without a
devnet, without sockets, and without the noise of other processes (CPU time, not wall time).
With ``--profile`` it prints the top functions by cumulative time (cProfile).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import pstats
import tempfile
import time
from pathlib import Path

from carbon_ticket.node.safety import FileSafetyStore
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


async def _run(tmp: Path, heights: int, profiler: cProfile.Profile | None) -> None:
    async with InProcessNet(tmp, consensus=_BACK_TO_BACK) as net:
        await net.start()
        await net.run_until("warm-up", lambda: min(net.heights()) >= 5)
        start_height = min(net.heights())
        fsyncs_before = _sign_fsyncs(net)
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        await net.run_until("heights", lambda: min(net.heights()) >= start_height + heights, 3600)
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        done = min(net.heights()) - start_height
        fsyncs = _sign_fsyncs(net) - fsyncs_before
        print(
            f"{done} heights, 4 validators in one process: CPU {cpu / done * 1e3:.2f} ms per "
            f"height (all nodes; {cpu / done / 4 * 1e3:.2f} ms per node), wall "
            f"{wall / done * 1e3:.2f} ms, signing-record fsyncs {fsyncs / done / 4:.1f} per node "
            f"per height"
        )


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run, print."""
    parser = argparse.ArgumentParser(prog="python -m tests.node.microbench_height")
    parser.add_argument("--heights", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="mb-height-") as tmp:
        asyncio.run(_run(Path(tmp), args.heights, profiler))
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
