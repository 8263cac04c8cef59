"""carbon-ticket abuse: bad options are one usage line; the report shows every phase's figures
and the ratios to the baseline (the real run is tests/node/test_api_abuse.py and docs)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from carbon_ticket.chain.errors import InvalidTransaction
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.tx import decode_tx
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.abuse import AbuseResult, PhaseResult, bad_signature_batch, render


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--validators", "1"], "--validators must be at least 2"),
        (["--streams", "0"], "must be positive"),
        (["--flood-batch", "10001"], "--flood-batch is at most 10000"),
    ],
)
def test_bad_options_are_one_usage_error(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["abuse", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_report_gives_each_phase_and_its_ratio_to_the_baseline() -> None:
    result = AbuseResult(4, 30.0, 100.0, 1000, 4, 10_000)
    result.phases = [
        PhaseResult("baseline", tps=100.0, blocks=120),
        PhaseResult("streams", tps=95.0, refused={"too_many_streams": 50}),
        PhaseResult("flood", tps=80.0, refused={"tx_rate_limited": 7, "bytes_rate_limited": 3}),
    ]
    result.rss_peak_mb = 300.0
    data = result.as_dict()
    assert (data["ratio_streams"], data["ratio_flood"], data["refusals"]) == (0.95, 0.8, 60)
    text = render(result)
    assert "too_many_streams 50" in text and "bytes_rate_limited 3, tx_rate_limited 7" in text
    assert "0.95" in text and "0.80" in text
    assert "OVER the 250 MB budget" in text


def test_flood_transactions_are_well_formed_but_their_signatures_fail() -> None:
    batch = bad_signature_batch("test-chain", 3, seed=1)
    assert len(set(batch)) == 3
    for raw in batch:
        with pytest.raises(InvalidTransaction) as refused:
            decode_tx(raw, "test-chain", Limits())
        assert refused.value.code == "bad_signature"
