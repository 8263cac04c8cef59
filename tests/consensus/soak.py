"""Long soak of the consensus simulator over many seeds.

    python -m tests.consensus.soak --seeds 20000 [--start 0] [--profile mixed] [--jobs 2]

Profiles: mixed, lock_stress, the issue-11 profiles (tamper_hub, tamper_outsider, crash_all,
vote_flood, future_flood, skewed_clock) and the issue-16 ones (set_change, set_change_byzantine).

Exits non-zero if any seed violates a property, after printing each failing seed's report.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from tests.consensus.sim import PROFILES, run_seed


def _run(args: tuple[int, str]) -> tuple[int, str | None]:
    seed, profile = args
    result = run_seed(seed, profile=profile)
    return seed, None if result.ok else result.report()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10_000, help="number of seeds to run")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--profile", default="mixed", choices=PROFILES)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    opts = parser.parse_args(argv)
    began = time.monotonic()
    work = [(s, opts.profile) for s in range(opts.start, opts.start + opts.seeds)]
    failures = 0
    with ProcessPoolExecutor(max_workers=opts.jobs) as pool:
        for done, (_, report) in enumerate(pool.map(_run, work, chunksize=50), start=1):
            if report is not None:
                failures += 1
                print(report, flush=True)
            if done % 1000 == 0:
                print(f"... {done} seeds, {failures} failing", flush=True)
    elapsed = time.monotonic() - began
    print(f"{opts.seeds} seeds ({opts.profile}), {failures} failing, {elapsed:.1f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
