"""Evidence: a validator's double vote, reported by another validator, recorded for auditors."""

from __future__ import annotations

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import AlreadyExists, NotFound
from carbon_ticket.chain.records import Evidence
from carbon_ticket.chain.rules._common import BlockContext, Effects, event, require_role
from carbon_ticket.chain.state import StateOverlay, validators_at
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = ["process_report_evidence"]

_VOTE_TYPES = {1: "prevote", 2: "precommit"}


def process_report_evidence(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.ReportEvidence
) -> Effects:
    """Record that a validator signed two conflicting votes (verified by the node at admission)."""
    vote = msg.evidence.vote_a
    # Verify the reporter is a validator and the offender is one
    require_role(state, "validator", tx.body.signer, "reporting evidence")
    # The index names a member of the set in effect at the height of the double vote
    validators = validators_at(state, vote.height)
    if vote.validator_index >= len(validators):
        raise NotFound(
            f"evidence names validator index {vote.validator_index}; the set has "
            f"{len(validators)} validators",
            "unknown_validator",
        )
    offender = validators[vote.validator_index]
    # Verify this double vote is not on record yet
    key = keys.evidence_key(offender.address, vote.height, vote.round, vote.type)
    if state.get(key) is not None:
        raise AlreadyExists(
            f"evidence against {offender.name} at height {vote.height} round {vote.round} "
            "is already on record",
            "evidence_exists",
        )

    record = Evidence(
        offender=offender.address,
        offender_name=offender.name,
        validator_index=vote.validator_index,
        height=vote.height,
        round=vote.round,
        vote_type=vote.type,
        reporter=tx.body.signer,
        reported_height=ctx.height,
        reported_time_ms=ctx.time_ms,
        evidence=msg.evidence.SerializeToString(deterministic=True),
    )
    state.set(key, record.encode())
    return Effects(
        events=(
            event(
                "evidence",
                ("validator", offender.name),
                ("address", offender.address),
                ("height", str(vote.height)),
                ("round", str(vote.round)),
                ("vote_type", _VOTE_TYPES.get(vote.type, str(vote.type))),
                ("reporter", tx.body.signer),
            ),
        ),
        accounts=tuple(sorted({tx.body.signer, offender.address})),
    )
