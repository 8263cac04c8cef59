"""Every rule verifies before it writes: a rule that refuses a transaction has written nothing.

The overlay of a failed transaction is discarded anyway, so this is about how the rules are
written (consensus-specs style: checks first, then changes), checked on the random workloads
of the property tests and on a transfer refused at its last entry.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from carbon_ticket.chain import BlockContext, check_tx
from carbon_ticket.chain.errors import LedgerError, PreconditionFailed
from carbon_ticket.chain.rules import RULES, Rule, process_transfer
from carbon_ticket.chain.state import StateOverlay
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    GENESIS_TIME_MS,
    LIMITS,
    OWNER,
    Ledger,
    T,
    transfer,
)
from tests.chain.strategies import (
    ops,
    points_ops,
    run_ops,
    run_points_ops,
    setup_ledger,
    setup_points_ledger,
)


def _refusing_without_writes(name: str, rule: Rule) -> Rule:
    def checked(state: StateOverlay, ctx: BlockContext, tx: Any, msg: Any) -> Any:
        try:
            return rule(state, ctx, tx, msg)
        except LedgerError:
            assert state.writes == {}, f"{name} wrote {sorted(state.writes)} before it refused"
            raise

    return checked


@pytest.fixture
def checked_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, rule in list(RULES.items()):
        monkeypatch.setitem(RULES, name, _refusing_without_writes(name, rule))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(operations=ops)
def test_ticket_rules_refuse_before_writing(
    checked_rules: None, operations: list[tuple[Any, ...]]
) -> None:
    run_ops(setup_ledger(), operations)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(operations=points_ops)
def test_points_rules_refuse_before_writing(
    checked_rules: None, operations: list[tuple[Any, ...]]
) -> None:
    run_points_ops(setup_points_ledger(), operations)


def test_a_transfer_refused_at_its_last_entry_writes_nothing(batch_ledger: Ledger) -> None:
    # The company holds 20,000 t: the first entry alone would apply, the second asks for more
    # than the first leaves.
    msg = transfer((OWNER, BATCH_ID, 15_000 * T), (OWNER, BATCH_ID, 10_000 * T))
    tx = check_tx(batch_ledger.tx(COMPANY, msg), CHAIN_ID, LIMITS)
    state = StateOverlay(batch_ledger.state)
    ctx = BlockContext(CHAIN_ID, 99, GENESIS_TIME_MS + 99_000, bytes(32))
    with pytest.raises(PreconditionFailed) as info:
        process_transfer(state, ctx, tx, tx.body.transfer)
    assert info.value.code == "insufficient_balance"
    assert "have 5000 tCO2e" in info.value.message and "need 10000 tCO2e" in info.value.message
    assert state.writes == {}
