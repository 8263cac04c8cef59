"""The measurement tools' devnets are throwaway rigs: their wallets use THROWAWAY_KDF.

``carbon-ticket bench`` (``--workload points`` too), ``chaos`` and ``abuse`` make a devnet per
run whose password is written beside its wallet; the default KDF cost only took CPU from the run
(docs/benchmarks.md, "The command"). ``devnet init`` keeps the default:
tests/cli/tools/test_devnet_wallet_cost.py. Each tool is stopped right after it made its devnet;
no node is started.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from carbon_ticket.cli.keystore import THROWAWAY_KDF, KdfCost
from carbon_ticket.cli.tools import abuse, bench, bench_points, chaos
from carbon_ticket.cli.tools.devnet import DevnetInfo, init_devnet


class _Made(Exception):
    """Raised in place of starting the devnet: the test has what it needs."""

    def __init__(self, info: DevnetInfo) -> None:
        super().__init__("devnet made")
        self.info = info


def _made_then_stop(*args: Any, **kwargs: Any) -> DevnetInfo:
    raise _Made(init_devnet(*args, **kwargs))


def _quiet(line: str) -> None:
    pass


_RUNS: dict[str, Callable[[Path], object]] = {
    "bench": lambda home: bench.run_bench(validators=1, duration=1.0, home=home, say=_quiet),
    "chaos": lambda home: chaos.run_chaos(1, validators=4, home=home, say=_quiet),
    "abuse": lambda home: abuse.run_abuse(validators=2, home=home, say=_quiet),
    "bench_points": lambda home: bench_points.run_points_bench(
        validators=1, duration=1.0, residents=2, home=home, say=_quiet
    ),
}


@pytest.mark.parametrize("tool", sorted(_RUNS))
def test_a_measurement_tool_writes_its_devnet_wallet_at_the_throwaway_cost(
    tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = {"bench": bench, "chaos": chaos, "abuse": abuse, "bench_points": bench_points}[tool]
    monkeypatch.setattr(module, "init_devnet", _made_then_stop)
    monkeypatch.setattr(bench, "measure_verify_per_core", lambda: 1.0)
    with pytest.raises(_Made) as made:
        _RUNS[tool](tmp_path / "rig")
    costs = set()
    for path in made.value.info.wallet_dir.glob("*.json"):
        kdf = json.loads(path.read_text())["kdf"]
        costs.add(KdfCost(kdf["opslimit"], kdf["memlimit"]))
    assert costs == {THROWAWAY_KDF}
