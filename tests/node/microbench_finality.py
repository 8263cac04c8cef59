"""The protocol's own finality: submit-to-commit latency in virtual time, no CPU cost (issue 19).

    python -m tests.node.microbench_finality [--one-way-ms 25] [--commit-wait-ms 50] [--rate 100]

Four real validators in one process (tests/node/harness.py) on a virtual clock, every peer
message arriving ``--one-way-ms`` after it is sent (a WAN with round trip twice that), and
``--txs`` transactions admitted at node 0 at ``--rate`` per second of virtual time. Computing
takes no virtual time here, so the figures are what the protocol itself needs (gossip to the
proposer, the wait for the next height, proposal, prevotes, precommits) on an infinitely fast
machine, over the in-memory transport (no gRPC streams, and no ``node.peers.GOSSIP_GAP_S``
pause, which adds up to 10 ms before a busy link gossips). ``carbon-ticket bench
--wan-rtt-ms`` measures the same path on real processes: the difference between the two is
mostly CPU (four validators and the load on one host's cores).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import tempfile
from pathlib import Path

from tests.node.harness import FAST, InProcessNet, register_tx


@dataclasses.dataclass(frozen=True, slots=True)
class Finality:
    """Submit-to-commit latency percentiles (ms of virtual time) and the heights it took."""

    one_way_ms: float
    commit_wait_ms: int
    p50_ms: float
    p99_ms: float
    heights: int


async def _measure(
    tmp: Path, one_way_ms: float, commit_wait_ms: int, rate: float, txs: int
) -> Finality:
    consensus = dataclasses.replace(FAST, commit_wait_ms=commit_wait_ms, propose_timeout_ms=3000)
    async with InProcessNet(tmp, consensus=consensus) as net:
        net.network.latency_s = one_way_ms / 1000
        await net.start()
        # Past the first height (its proposer may speak before every peer listens).
        await net.run_until("height 2", lambda: net.height(0) >= 2)
        first = net.height(0)
        raws = [register_tx(net.chain_id, nonce) for nonce in range(txs)]
        latencies: list[float] = []
        waiters = []
        start = net.clock.monotonic_s()
        for n, raw in enumerate(raws):
            await net.run_for(max(0.0, start + n / rate - net.clock.monotonic_s()))
            node = net.node(0)
            waiter = node.wait_for_commit(node.admit(raw).tx_hash)
            submitted = net.clock.monotonic_s()

            def record(_: object, t: float = submitted) -> None:
                latencies.append(net.clock.monotonic_s() - t)

            waiter.add_done_callback(record)
            waiters.append(waiter)
        await net.run_until("every transaction committed", lambda: all(w.done() for w in waiters))
        latencies.sort()

        def percentile(q: float) -> float:
            return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

        return Finality(one_way_ms, commit_wait_ms, percentile(0.5), percentile(0.99),
                        net.height(0) - first)  # fmt: skip


def measure(one_way_ms: float, commit_wait_ms: int = 50, rate: float = 100.0,
            txs: int = 200) -> Finality:  # fmt: skip
    """Finality of ``txs`` transactions at ``rate``/s over links of ``one_way_ms``."""
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_measure(Path(tmp), one_way_ms, commit_wait_ms, rate, txs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one-way-ms", type=float, default=25.0)
    parser.add_argument("--commit-wait-ms", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--txs", type=int, default=200)
    args = parser.parse_args()
    result = measure(args.one_way_ms, args.commit_wait_ms, args.rate, args.txs)
    print(f"one way {result.one_way_ms:g} ms (round trip {2 * result.one_way_ms:g} ms), commit "
          f"wait {result.commit_wait_ms} ms: finality p50 {result.p50_ms:.0f} ms, p99 "
          f"{result.p99_ms:.0f} ms of virtual time over {result.heights} heights")  # fmt: skip


if __name__ == "__main__":
    main()
