"""The what-if of awards that do less (issue 19) refuses and applies what the ledger's rule does,
so its figures are those of a rule that could replace it, and its command runs and reports."""

from __future__ import annotations

import re

import pytest

from carbon_ticket.chain.rules import RULES
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    DAILY_CAP,
    MERCHANT,
    OPERATOR,
    RESIDENT,
    RESIDENT2,
    TODAY,
    Ledger,
    award,
    award_points,
    make_residents_genesis,
)
from tests.node import microbench_award_whatif

assert TODAY == 20240101
YESTERDAY, EIGHT_DAYS_AGO = 20231231, 20231224  # the award window is 7 days


@pytest.fixture
def keep_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give ``award_points`` back its rule after the test, whatever it installs."""
    monkeypatch.setitem(RULES, "award_points", RULES["award_points"])


def _outcomes(variant: str) -> list[tuple[bool, str, tuple[str, str, str]]]:
    """Each block's receipt (ok, code, its summary's applied / rejected / points) under
    ``variant``, for a script of awards the rules refuse in every way a resident's meets."""
    microbench_award_whatif.install(variant)
    chain = Ledger(make_residents_genesis())
    script = [
        award_points(award(RESIDENT, 400, "a"), award(RESIDENT2, 100, "b")),
        award_points(award(RESIDENT, 700, "c"), award(RESIDENT, 600, "d")),  # over the daily cap
        award_points(award(RESIDENT, 1, "a")),  # reference used
        award_points(award(RESIDENT, 1, "a", day=TODAY + 1)),  # and a day in the future: the day
        # Each day of the window has its own cap: 600 the day before, 600 today, 600 the day
        # before again (over that day's cap), then an award 8 days old (past the window)
        award_points(award(RESIDENT2, 600, "y1", day=YESTERDAY)),
        award_points(award(RESIDENT2, 99, "y2")),
        award_points(award(RESIDENT2, 600, "y3", day=YESTERDAY), award(RESIDENT2, 1, "y4")),
        award_points(award(RESIDENT2, 1, "y5", day=EIGHT_DAYS_AGO)),
        award_points(award(MERCHANT, 1, "e"), award(RESIDENT2, 1, "f")),  # not a resident
        award_points(award(RESIDENT2, 1, "g", day=TODAY + 1)),  # a day in the future
        award_points(
            award(RESIDENT2, 400, "h", activity=ledger_pb2.ACTIVITY_TREE_PLANTING),
            award(RESIDENT2, 300, "i", activity=ledger_pb2.ACTIVITY_TREE_PLANTING),  # its cap
        ),
    ]
    seen = []
    for msg in script:
        receipt = chain.submit(OPERATOR, msg)
        summary = next((e for e in receipt.events if e.type == "award_points"), None)
        attrs = dict(summary.attributes) if summary is not None else {}
        counts = (attrs.get("applied", ""), attrs.get("rejected", ""), attrs.get("points", ""))
        seen.append((receipt.ok, receipt.error_code, counts))
    return seen


@pytest.mark.usefixtures("keep_rules")
@pytest.mark.parametrize("variant", ["folded", "folded-no-events"])
def test_the_what_if_rule_applies_and_refuses_as_the_ledgers_rule(variant: str) -> None:
    assert DAILY_CAP == 1_000  # the script's second block crosses it
    assert _outcomes(variant) == _outcomes("rules")


@pytest.mark.usefixtures("keep_rules")
def test_the_what_if_command_reports_the_variant_and_the_ratio(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--variant", "folded-no-events", "--residents", "20", "--blocks", "2",
            "--txs-per-block", "3", "--awards-per-tx", "5",
            "--transfers-per-block", "15"]  # fmt: skip
    assert microbench_award_whatif.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("award_points rule: folded-no-events\n")
    assert re.search(r"ratio \(transfer / award, a validator's share\): [\d.]+", out), out


@pytest.mark.usefixtures("keep_rules")
def test_an_unknown_variant_is_refused() -> None:
    with pytest.raises(SystemExit, match="one of: rules, folded, folded-no-events"):
        microbench_award_whatif.install("faster")
