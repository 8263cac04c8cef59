"""One ``process_*`` function per ledger message, grouped by family.

Each function has the signature ``(state, ctx, tx, msg) -> Effects``: it first verifies every
precondition (raising a ``LedgerError`` with a stable code), then writes to ``state``, a
per-transaction overlay that the caller discards if anything raised. No function here reads a
clock, randomness, files or the network, or verifies signatures.
"""

from __future__ import annotations

from carbon_ticket.chain.rules._common import Effects, Rule
from carbon_ticket.chain.rules.accounts import process_register_account
from carbon_ticket.chain.rules.batches import process_issue_batch, process_reversal
from carbon_ticket.chain.rules.evidence import process_report_evidence
from carbon_ticket.chain.rules.governance import (
    process_appoint_issuer,
    process_grant_role,
    process_revoke_role,
)
from carbon_ticket.chain.rules.market import (
    process_buy,
    process_cancel_order,
    process_confirm_payment,
    process_sell,
)
from carbon_ticket.chain.rules.merchants import process_redeem, process_register_offer
from carbon_ticket.chain.rules.points import process_award_points, process_exchange_points
from carbon_ticket.chain.rules.projects import (
    process_anchor_data,
    process_attest_report,
    process_register_project,
)
from carbon_ticket.chain.rules.proposals import process_cast_vote, process_submit_proposal
from carbon_ticket.chain.rules.registry import process_export, process_import_batch
from carbon_ticket.chain.rules.tickets import process_cancel, process_retire, process_transfer

__all__ = [
    "RULES",
    "Effects",
    "Rule",
    "process_anchor_data",
    "process_appoint_issuer",
    "process_attest_report",
    "process_award_points",
    "process_cancel",
    "process_cast_vote",
    "process_exchange_points",
    "process_export",
    "process_grant_role",
    "process_import_batch",
    "process_issue_batch",
    "process_redeem",
    "process_register_account",
    "process_register_offer",
    "process_register_project",
    "process_report_evidence",
    "process_retire",
    "process_reversal",
    "process_revoke_role",
    "process_submit_proposal",
    "process_transfer",
]

# Ledger message name (the TxBody oneof field) -> its processing function.
RULES: dict[str, Rule] = {
    "register_account": process_register_account,
    "register_project": process_register_project,
    "anchor_data": process_anchor_data,
    "attest_report": process_attest_report,
    "issue_batch": process_issue_batch,
    "transfer": process_transfer,
    "retire": process_retire,
    "cancel": process_cancel,
    "reversal": process_reversal,
    "grant_role": process_grant_role,
    "revoke_role": process_revoke_role,
    "report_evidence": process_report_evidence,
    "appoint_issuer": process_appoint_issuer,
    "award_points": process_award_points,
    "exchange_points": process_exchange_points,
    "register_offer": process_register_offer,
    "redeem": process_redeem,
    "submit_proposal": process_submit_proposal,
    "cast_vote": process_cast_vote,
    # the market (issue 17)
    "sell": process_sell,
    "buy": process_buy,
    "confirm_payment": process_confirm_payment,
    "cancel_order": process_cancel_order,
    "export": process_export,
    "import_batch": process_import_batch,
}
