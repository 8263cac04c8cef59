"""The ``carbon-ticket chaos`` command (the engine is ``cli/tools/chaos.py``)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import click

from carbon_ticket.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    CliError,
    chosen_output,
    emit,
    json_alias_option,
    output_option,
    reports_errors,
)

__all__ = ["chaos"]


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


@click.command("chaos")
@click.option("--validators", "-n", default=4, show_default=True, help="Validator processes.")
@click.option("--cycles", default=10, show_default=True, help="Fault cycles to run.")
@click.option(
    "--seed", type=int, default=None, help="Seed of the fault schedule (default: random)."
)
@click.option("--stall-limit", default=60.0, show_default=True,
              help="Seconds with > 2/3 up and no new block that count as no progress.")  # fmt: skip
@click.option("--home", type=click.Path(path_type=Path), default=None,
              help="Keep the devnet here (default: a temporary directory, removed).")  # fmt: skip
@output_option
@json_alias_option
@reports_errors
def chaos(
    validators: int,
    cycles: int,
    seed: int | None,
    stall_limit: float,
    home: Path | None,
    output: str,
) -> None:
    """Run a devnet of real processes under transfer and retirement load and apply one random
    fault per cycle (SIGKILL of one, two or all validators, SIGSTOP/SIGCONT, a restart while
    another node syncs, a skewed clock, a full disk); then check that nothing committed was lost
    and that no two nodes diverged. Exit code 1 when the check fails. See docs/reliability.md."""
    if validators < 4:
        raise CliError("--validators must be at least 4 (faults of two nodes need 2f+1 = 3)",
                       EXIT_USAGE)  # fmt: skip
    if cycles < 1:
        raise CliError("--cycles must be at least 1", EXIT_USAGE)
    if stall_limit <= 0:
        raise CliError("--stall-limit must be positive", EXIT_USAGE)
    if home is not None and home.exists() and any(home.iterdir()):
        raise CliError(f"--home {home} is not empty", EXIT_USAGE)

    from carbon_ticket.cli.tools.chaos import run_chaos

    fmt = chosen_output(output)

    def say(line: str) -> None:  # one line per phase and cycle, on stderr (stdout: the result)
        click.echo(line, err=True)

    # A SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, so the validators are stopped and the
    # small filesystem of the disk fault is unmounted.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        result = run_chaos(cycles, validators, seed, home, stall_limit_s=stall_limit, say=say)
    except (TimeoutError, RuntimeError, OSError) as exc:  # the devnet never got going
        raise CliError(f"chaos run could not proceed: {exc}", EXIT_FAILED) from exc
    finally:
        signal.signal(signal.SIGTERM, previous)
    data = result.as_dict()
    if fmt == "json":
        click.echo(json.dumps(data))  # one line: scripts append runs to a file
    else:
        emit(data, "table")
    if not result.ok:
        raise CliError(
            f"chaos check failed: {result.lost} lost, {result.divergent_heights} divergent "
            f"heights, {result.stalls_over_limit} stalls over {stall_limit:g} s, "
            f"lagging {result.lagging or 'none'}, failed cycles {result.failed_cycles or 'none'}",
            EXIT_FAILED,
        )
