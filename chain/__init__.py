"""Carbon Ticket Ledger rules: a pure, deterministic state machine.

Public surface for the node: ``check_tx`` (stateless admission), ``apply_block`` / ``apply_tx``
(stateful execution), ``init_chain`` (genesis), the ``StateReader`` interface with its in-memory
and overlay implementations, and read-only queries over state. See docs/ledger.md.
"""

from __future__ import annotations

from carbon_ticket.chain.check import check_message, check_tx
from carbon_ticket.chain.execute import (
    APP_HASH_DOMAIN,
    RESULT_CODES,
    BlockContext,
    apply_block,
    apply_tx,
    compute_app_hash,
)
from carbon_ticket.chain.genesis import Genesis, GenesisAccount, GenesisValidator, init_chain
from carbon_ticket.chain.records import (
    Account,
    Batch,
    Certificate,
    Params,
    Period,
    Project,
    RateLimits,
    Report,
    Validator,
)
from carbon_ticket.chain.results import BlockResult, Event, TxResult
from carbon_ticket.chain.state import (
    AccountView,
    MemoryState,
    StateOverlay,
    StateReader,
    expected_nonce,
    get_account,
    get_balance,
    get_balances,
    get_batch,
    get_certificate,
    get_offer,
    get_params,
    get_points,
    get_points_earned,
    get_project,
    get_redemption,
    get_report,
    get_settlement,
    get_validators,
    list_evidence,
    list_offers,
    validator_history,
    validators_at,
)
from carbon_ticket.chain.tx import SignedTx

__all__ = [
    "APP_HASH_DOMAIN",
    "RESULT_CODES",
    "Account",
    "AccountView",
    "Batch",
    "BlockContext",
    "BlockResult",
    "Certificate",
    "Event",
    "Genesis",
    "GenesisAccount",
    "GenesisValidator",
    "MemoryState",
    "Params",
    "Period",
    "Project",
    "RateLimits",
    "Report",
    "SignedTx",
    "StateOverlay",
    "StateReader",
    "TxResult",
    "Validator",
    "apply_block",
    "apply_tx",
    "check_message",
    "check_tx",
    "compute_app_hash",
    "expected_nonce",
    "get_account",
    "get_balance",
    "get_balances",
    "get_batch",
    "get_certificate",
    "get_offer",
    "get_params",
    "get_points",
    "get_points_earned",
    "get_project",
    "get_redemption",
    "get_report",
    "get_settlement",
    "get_validators",
    "init_chain",
    "list_evidence",
    "list_offers",
    "validator_history",
    "validators_at",
]
