"""A project with a price history longer than a page, over three vintages, for the tests of
the market's price history (tests/chain/test_market_prices.py, tests/node/test_market_reads.py)."""

from __future__ import annotations

from carbon_ticket.chain import keys
from carbon_ticket.chain.market_records import Trade
from carbon_ticket.chain.records import Period
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    ISSUER,
    PROJECT_ID,
    VERIFIER,
    Ledger,
    T,
    anchor_data,
    attest_report,
    data_hash,
    issue_batch,
)
from tests.chain.market import BUYERS, PLATFORM, attr, buy, market_ledger, sell

LOT = 1_000 * T
VINTAGES = (
    Period(20210101, 20211231),
    Period(20220101, 20221231),
    Period(20230101, 20231231),  # market_ledger's batch (BATCH_ID)
)
# Which vintage's order each trade buys from: uneven and interleaved, so that the newest-first
# history alternates between vintages (a page merges their ranges, it is no one range).
PATTERN = (2, 0, 0, 1, 2, 2, 2, 0, 1, 1, 2, 0)
TRADES = 3 * len(PATTERN)


def _issue_vintage(chain: Ledger, vintage: Period) -> str:
    period = ledger_pb2.Period(start_date=vintage.start_date, end_date=vintage.end_date)
    report = data_hash(f"guyang-flux-{vintage.start_date}")
    chain.ok(ISSUER, anchor_data(data_hash=report, period=period, uri=f"ipfs://{report.hex()}"))
    chain.ok(VERIFIER, attest_report(data_hash=report, period=period))
    chain.ok(ISSUER, issue_batch(vintage=period, report_hashes=[report]))
    return f"{PROJECT_ID}-{vintage.start_date:08d}-{vintage.end_date:08d}-001"


def priced_ledger() -> tuple[Ledger, list[int]]:
    """A project with three vintages, one sell order each, ``TRADES`` trades interleaved across
    them, settled out of id order but for every fifth (left pending: not in the history).
    Returns the ledger and each vintage's order id."""
    chain = market_ledger(timeout=100_000)
    batches = [_issue_vintage(chain, v) for v in VINTAGES[:2]] + [BATCH_ID]
    orders = []
    for batch_id in batches:
        receipt = chain.ok(
            ISSUER, sell(batch_id=batch_id, amount_grams=50 * LOT, expiry_blocks=100_000)
        )
        orders.append(int(attr(receipt, "sell", "order_id")))
    for n in range(TRADES):
        chain.ok(BUYERS[n % len(BUYERS)], buy(orders[PATTERN[n % len(PATTERN)]], LOT))
    settled = [t for t in range(1, TRADES + 1) if t % 5]
    for trade_id in settled[1::2] + settled[::2]:  # the odd positions first: out of id order
        chain.ok(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=trade_id))
    return chain, orders


def settled_history(chain: Ledger, vintage: Period | None) -> list[int]:
    """The expected history, from the trade records alone: settled trades of the project
    (and vintage), newest first."""
    trades = (Trade.decode(raw) for _key, raw in chain.state.scan(keys.TRADE))
    return sorted(
        (
            t.trade_id
            for t in trades
            if t.status == "settled"
            and t.project_id == PROJECT_ID
            and (vintage is None or t.vintage == vintage)
        ),
        reverse=True,
    )
