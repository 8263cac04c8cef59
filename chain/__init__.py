"""Carbon Ticket Ledger rules: a pure, deterministic state machine.

Public surface for the node: ``check_tx`` (stateless admission), ``apply_block`` / ``apply_tx``
(stateful execution), ``init_chain`` (genesis), the ``StateReader`` interface with its in-memory
and overlay implementations, and read-only queries over state. See docs/ledger.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers; at run time each loads on first use
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

# Where each name of the public surface lives. Importing one module of the package (the wallet
# needs chain.amounts, chain.crypto, chain.errors) no longer loads every rule: ``carbon-ticket
# keys list`` starts in a third of the time. A name loads its module on first use.
_LAZY = {
    "check_message": "check",
    "check_tx": "check",
    "APP_HASH_DOMAIN": "execute",
    "RESULT_CODES": "execute",
    "BlockContext": "execute",
    "apply_block": "execute",
    "apply_tx": "execute",
    "compute_app_hash": "execute",
    "Genesis": "genesis",
    "GenesisAccount": "genesis",
    "GenesisValidator": "genesis",
    "init_chain": "genesis",
    "Account": "records",
    "Batch": "records",
    "Certificate": "records",
    "Params": "records",
    "Period": "records",
    "Project": "records",
    "RateLimits": "records",
    "Report": "records",
    "Validator": "records",
    "BlockResult": "results",
    "Event": "results",
    "TxResult": "results",
    "AccountView": "state",
    "MemoryState": "state",
    "StateOverlay": "state",
    "StateReader": "state",
    "expected_nonce": "state",
    "get_account": "state",
    "get_balance": "state",
    "get_balances": "state",
    "get_batch": "state",
    "get_certificate": "state",
    "get_offer": "state",
    "get_params": "state",
    "get_points": "state",
    "get_points_earned": "state",
    "get_project": "state",
    "get_redemption": "state",
    "get_report": "state",
    "get_settlement": "state",
    "get_validators": "state",
    "list_evidence": "state",
    "list_offers": "state",
    "validator_history": "state",
    "validators_at": "state",
    "SignedTx": "tx",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next use is a plain attribute
    return value
