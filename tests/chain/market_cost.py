"""Prints what applying market transactions costs: ``python -m tests.chain.market_cost``.

In memory, 300 purchases then 300 payment confirmations, each set in one block; signatures are
checked before the clock starts. Prints microseconds per applied transaction.
"""

from __future__ import annotations

import time

from carbon_ticket.chain import BlockContext, apply_block, check_tx
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import CHAIN_ID, ISSUER, LIMITS, Ledger, T
from tests.chain.market import PLATFORM, ZHEJIANG, buy, market_ledger, sell

COUNT = 300


def _apply(chain: Ledger, raws: list[bytes]) -> float:
    txs = [check_tx(raw, CHAIN_ID, LIMITS) for raw in raws]
    ctx = BlockContext(CHAIN_ID, chain.height + 1, chain.base_time_ms + chain.height * 1000,
                       chain.app_hash)  # fmt: skip
    start = time.perf_counter()
    result = apply_block(chain.state, ctx, txs)
    elapsed = time.perf_counter() - start
    assert all(r.ok for r in result.receipts)
    chain.state.apply(result.writes)
    chain.height += 1
    chain.app_hash = result.app_hash
    return elapsed / len(raws) * 1e6


def main() -> None:
    chain = market_ledger(timeout=1_000)
    chain.ok(ISSUER, sell(amount_grams=100_000 * T, min_lot_grams=1))
    buys = [chain.tx(ZHEJIANG, buy(1, T), nonce=i) for i in range(COUNT)]
    print(f"buy:             {_apply(chain, buys):.0f} us per tx ({COUNT} in one block)")
    confirms = [
        chain.tx(PLATFORM, ledger_pb2.ConfirmPayment(trade_id=i + 1), nonce=i) for i in range(COUNT)
    ]
    print(f"confirm-payment: {_apply(chain, confirms):.0f} us per tx ({COUNT} in one block)")


if __name__ == "__main__":
    main()
