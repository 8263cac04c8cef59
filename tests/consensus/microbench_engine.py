"""Micro-benchmark of the consensus engine alone (prints only; not a test).

    python -m tests.consensus.microbench_engine [--heights 300] [--n 4] [--reps 3]

Runs `n` engines with fake signatures and an instant, lossless network in one process until
each has committed `--heights` heights, and prints the best CPU time (``time.process_time``)
of `--reps` runs per height and per delivered message. What it measures is the engine's own
bookkeeping (admission, tallies, rules), which a change of validator-set handling must not slow.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import deque

from carbon_ticket.consensus import (
    Action,
    Broadcast,
    Commit,
    Engine,
    InMemorySafetyStore,
    Proposal,
    TimeoutConfig,
    Validator,
    ValidatorSet,
)
from tests.consensus.sim import FakeSigner, SimApp, fake_verify

CHAIN = "engine-bench"


def _run(n: int, heights: int) -> tuple[float, int]:
    signers = [FakeSigner(b"bench%d" % i) for i in range(n)]
    vset = ValidatorSet(tuple(Validator(f"v{i}", s.public_key) for i, s in enumerate(signers)))
    engines = [
        Engine(
            CHAIN,
            vset,
            s,
            InMemorySafetyStore(),
            SimApp(i, random.Random(i)),
            TimeoutConfig(),
            fake_verify,
        )
        for i, s in enumerate(signers)
    ]
    delivered = 0
    start = time.process_time()
    queue: deque[tuple[int, list[Action]]] = deque((i, e.start(1)) for i, e in enumerate(engines))
    while queue:
        src, actions = queue.popleft()
        for action in actions:
            if isinstance(action, Broadcast):
                msg = action.message
                for j, e in enumerate(engines):
                    if j != src:
                        delivered += 1
                        out = e.on_proposal(msg) if isinstance(msg, Proposal) else e.on_vote(msg)
                        queue.append((j, out))
            elif isinstance(action, Commit) and action.height < heights:
                queue.append((src, engines[src].start(action.height + 1)))
    return time.process_time() - start, delivered


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--heights", type=int, default=300)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--reps", type=int, default=3)
    opts = parser.parse_args(argv)
    runs = [_run(opts.n, opts.heights) for _ in range(opts.reps)]
    best, delivered = min(runs)
    print(f"n={opts.n} heights={opts.heights} messages={delivered}")
    print(f"per height   {best / opts.heights * 1e6:9.1f} us")
    print(f"per message  {best / delivered * 1e6:9.2f} us")


if __name__ == "__main__":
    main()
