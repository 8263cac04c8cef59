"""Governance approved by more than 2/3 of the validators: role grants and revocations, and the
appointment of a successor issuer for a project."""

from __future__ import annotations

from dataclasses import replace

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import AlreadyExists, NotFound, PermissionDenied
from carbon_ticket.chain.records import ROLES
from carbon_ticket.chain.rules._common import (
    BlockContext,
    Effects,
    event,
    require_account,
    require_role,
)
from carbon_ticket.chain.state import StateOverlay, get_project, validators_at
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "process_appoint_issuer",
    "process_grant_role",
    "process_revoke_role",
    "require_validator_quorum",
]


def require_validator_quorum(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, action: str
) -> None:
    """Verify the body signer is a validator and > 2/3 of the validator set signed the envelope."""
    require_role(state, "validator", tx.body.signer, action)
    validators = frozenset(v.address for v in validators_at(state, ctx.height))
    total = len(validators)
    signed = len(validators & tx.signer_addresses)
    if signed * 3 <= total * 2:
        needed = total * 2 // 3 + 1
        raise PermissionDenied(
            f"{action} needs signatures of more than 2/3 of the {total} validators "
            f"(at least {needed}); this transaction carries {signed}",
            "insufficient_validator_signatures",
        )


def process_grant_role(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.GrantRole
) -> Effects:
    """Grant a role to a registered account."""
    role = ROLES[msg.role]
    # Verify the validators approve
    require_validator_quorum(state, ctx, tx, f"granting the {role} role")
    # Verify the account is registered and does not hold the role yet
    require_account(state, msg.address, "account")
    key = keys.role_key(role, msg.address)
    if state.get(key) is not None:
        raise AlreadyExists(f"account {msg.address} already holds the {role} role", "role_exists")

    state.set(key, b"\x01")
    return Effects(
        events=(event("grant_role", ("address", msg.address), ("role", role)),),
        accounts=tuple(sorted({tx.body.signer, msg.address})),
    )


def process_revoke_role(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.RevokeRole
) -> Effects:
    """Revoke a role from an account."""
    role = ROLES[msg.role]
    # Verify the validators approve
    require_validator_quorum(state, ctx, tx, f"revoking the {role} role")
    # Verify the account holds the role
    key = keys.role_key(role, msg.address)
    if state.get(key) is None:
        raise NotFound(f"account {msg.address} does not hold the {role} role", "role_not_held")

    state.delete(key)
    return Effects(
        events=(event("revoke_role", ("address", msg.address), ("role", role)),),
        accounts=tuple(sorted({tx.body.signer, msg.address})),
    )


def process_appoint_issuer(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.AppointIssuer
) -> Effects:
    """Hand a project to a successor issuer (e.g. its issuer lost the role).

    The successor then anchors the project's data, issues its batches and reverses from the
    buffer pools of all its batches, including those issued by its predecessor.
    """
    # Verify the validators approve
    require_validator_quorum(state, ctx, tx, f"appointing an issuer for project {msg.project_id}")
    # Verify the project exists, the successor holds the issuer role and is not the issuer yet
    project = get_project(state, msg.project_id)
    require_role(state, "issuer", msg.issuer, "being appointed a project's issuer")
    if project.issuer == msg.issuer:
        raise AlreadyExists(
            f"account {msg.issuer} is already the issuer of project {msg.project_id}",
            "already_issuer",
        )

    state.set(keys.project_key(msg.project_id), replace(project, issuer=msg.issuer).encode())
    return Effects(
        events=(
            event(
                "appoint_issuer",
                ("project_id", msg.project_id),
                ("previous_issuer", project.issuer),
                ("issuer", msg.issuer),
            ),
        ),
        accounts=tuple(sorted({tx.body.signer, project.issuer, msg.issuer})),
    )
