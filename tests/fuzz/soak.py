"""Run the fuzz targets for a number of inputs and print what each found.

    python -m tests.fuzz.soak --inputs 1000000 [--seed S] [--jobs J] [--targets tx block ...]

The inputs are shared out evenly between the targets. Inputs come from the same generators as
the CI tests (tests/fuzz/strategies.py), driven by a seeded ``random.Random`` instead of
Hypothesis: 3 to 50 times cheaper per input (the file targets gain least), and the same seed
and count give the same inputs. A finding is an exception that is not one of the target's own
errors; each distinct one (type and the line it was raised at) is printed once with the first
input that caused it. The exit status is 1 when anything was found. docs/security.md records
the last long run.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.strategies import RandomPicker
from tests.fuzz.targets import Target, by_name, run_one

__all__ = ["Outcome", "main", "soak_target"]


@dataclass
class Outcome:
    """One target's share of a soak."""

    name: str
    inputs: int = 0
    valid: int = 0  # inputs the target accepted (the rest were refused with its own errors)
    seconds: float = 0.0
    findings: list[str] = field(default_factory=list)


def _where(exc: BaseException) -> str:
    """The file:line an exception was raised at (findings are told apart by it)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"


def soak_target(target: Target, budget: int, seed_value: int, scratch: Path) -> Outcome:
    """Run ``budget`` inputs through ``target``, each distinct finding reported once."""
    outcome = Outcome(target.name)
    picker = RandomPicker(random.Random(f"{seed_value}/{target.name}"))
    inputs = target.inputs()
    seen: set[tuple[str, str]] = set()
    start = time.perf_counter()
    for _ in range(budget):
        value = inputs(picker)
        outcome.inputs += 1
        try:
            outcome.valid += run_one(target, value, scratch)
        except Exception as exc:  # a finding: keep going, report each kind once
            kind = (type(exc).__name__, _where(exc))
            if kind not in seen:
                seen.add(kind)
                outcome.findings.append(f"{kind[0]} at {kind[1]}: {str(exc)[:120]} on input "
                                        f"{repr(value)[:200]}")  # fmt: skip
    outcome.seconds = time.perf_counter() - start
    return outcome


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the soak, print one line per target and the totals."""
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.soak", description=__doc__)
    parser.add_argument("--inputs", type=int, required=True, help="inputs in total (>= 1)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    parser.add_argument("--targets", nargs="*", default=[], metavar="NAME",
                        help="targets to run (default: all)")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes to run targets in (default 1)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        targets = by_name(args.targets)
    except KeyError as exc:
        parser.error(f"unknown target {exc.args[0]!r}")
    if args.inputs < len(targets):
        parser.error(f"--inputs must be at least the number of targets ({len(targets)})")
    budget = -(-args.inputs // len(targets))  # rounded up: at least --inputs in total
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(f"soak: {budget} inputs for each of {len(targets)} targets, seed {args.seed}, "
          f"started {started}", flush=True)  # fmt: skip
    outcomes = []
    start = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="fuzz-soak-") as tmp,
        ProcessPoolExecutor(args.jobs) as pool,
    ):
        runs = [pool.submit(_soak_in_own_dir, t.name, budget, args.seed, Path(tmp))
                for t in targets]  # fmt: skip
        for run in as_completed(runs):
            outcome = run.result()
            outcomes.append(outcome)
            _print_outcome(outcome)
    wall = time.perf_counter() - start
    total = sum(o.inputs for o in outcomes)
    seconds = sum(o.seconds for o in outcomes)
    found = sum(len(o.findings) for o in outcomes)
    print(f"total: {total} inputs, {found} findings; {seconds:.0f} s of target time, "
          f"{wall:.0f} s wall clock with {args.jobs} jobs")  # fmt: skip
    return 1 if found else 0


def _soak_in_own_dir(name: str, budget: int, seed_value: int, scratch: Path) -> Outcome:
    """One target in a worker process, in a scratch directory of its own."""
    (target,) = by_name([name])
    own = scratch / name
    own.mkdir()
    return soak_target(target, budget, seed_value, own)


def _print_outcome(outcome: Outcome) -> None:
    rate = outcome.inputs / outcome.seconds if outcome.seconds else 0.0
    print(f"{outcome.name:15} {outcome.inputs:9d} inputs {outcome.seconds:8.1f} s "
          f"({rate:6.0f}/s) valid {outcome.valid:7d} "
          f"findings: {len(outcome.findings)}", flush=True)  # fmt: skip
    for finding in outcome.findings:
        print(f"    {finding}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
