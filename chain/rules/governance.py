"""Governance: role grants and revocations and the appointment of a successor issuer, either
approved at once by operators holding more than 2/3 of the validators' power (the
multi-signature shortcut) or executed by a passed proposal (``chain.rules.gov_actions``).

The operator of a validator (``Validator.operator_address``) speaks for it in governance; a
validator's voting power counts when its operator signed, in the set in effect at the block's
height.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import AlreadyExists, NotFound, PermissionDenied
from carbon_ticket.chain.records import ROLES, Validator
from carbon_ticket.chain.results import Event
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
    "appoint_issuer",
    "grant_role",
    "operated_power",
    "process_appoint_issuer",
    "process_grant_role",
    "process_revoke_role",
    "require_operator",
    "require_validator_quorum",
    "revoke_role",
]


def operated_power(validators: Iterable[Validator], operators: Iterable[str]) -> int:
    """The voting power of the validators whose operator is one of ``operators``."""
    chosen = frozenset(operators)
    return sum(v.power for v in validators if v.operator_address in chosen)


def require_operator(validators: tuple[Validator, ...], address: str, action: str) -> None:
    """Verify ``address`` operates a validator of ``validators``; raise PermissionDenied."""
    if not any(v.operator_address == address for v in validators):
        raise PermissionDenied(
            f"{action} is reserved to the operators of the validators in effect; account "
            f"{address} operates none",
            "not_validator_operator",
        )


def require_validator_quorum(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, action: str
) -> None:
    """Verify the body signer is a validator's operator and the envelope's signers operate
    validators holding more than 2/3 of the power of the set in effect at this height."""
    validators = validators_at(state, ctx.height)
    require_operator(validators, tx.body.signer, action)
    total = sum(v.power for v in validators)
    signed = operated_power(validators, tx.signer_addresses)
    if signed * 3 <= total * 2:
        raise PermissionDenied(
            f"{action} needs the signatures of operators holding more than 2/3 of the "
            f"validators' power {total} (at least {total * 2 // 3 + 1}); this transaction's "
            f"signers hold {signed}",
            "insufficient_validator_signatures",
        )


def grant_role(state: StateOverlay, address: str, role: str) -> Event:
    """Grant ``role`` to a registered account that does not hold it yet."""
    # Verify the account is registered and does not hold the role yet
    require_account(state, address, "account")
    key = keys.role_key(role, address)
    if state.get(key) is not None:
        raise AlreadyExists(f"account {address} already holds the {role} role", "role_exists")

    state.set(key, b"\x01")
    return event("grant_role", ("address", address), ("role", role))


def revoke_role(state: StateOverlay, address: str, role: str) -> Event:
    """Revoke ``role`` from an account that holds it."""
    # Verify the account holds the role
    key = keys.role_key(role, address)
    if state.get(key) is None:
        raise NotFound(f"account {address} does not hold the {role} role", "role_not_held")

    state.delete(key)
    return event("revoke_role", ("address", address), ("role", role))


def appoint_issuer(state: StateOverlay, project_id: str, issuer: str) -> tuple[Event, str]:
    """Hand a project to a successor issuer; returns the event and the previous issuer.

    The successor then anchors the project's data, issues its batches and reverses from the
    buffer pools of all its batches, including those issued by its predecessor.
    """
    # Verify the project exists, the successor holds the issuer role and is not the issuer yet
    project = get_project(state, project_id)
    require_role(state, "issuer", issuer, "being appointed a project's issuer")
    if project.issuer == issuer:
        raise AlreadyExists(
            f"account {issuer} is already the issuer of project {project_id}", "already_issuer"
        )

    state.set(keys.project_key(project_id), replace(project, issuer=issuer).encode())
    return (
        event(
            "appoint_issuer",
            ("project_id", project_id),
            ("previous_issuer", project.issuer),
            ("issuer", issuer),
        ),
        project.issuer,
    )


def process_grant_role(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.GrantRole
) -> Effects:
    """Grant a role to a registered account (multi-signature shortcut)."""
    role = ROLES[msg.role]
    # Verify the validators approve
    require_validator_quorum(state, ctx, tx, f"granting the {role} role")

    granted = grant_role(state, msg.address, role)
    return Effects(events=(granted,), accounts=tuple(sorted({tx.body.signer, msg.address})))


def process_revoke_role(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.RevokeRole
) -> Effects:
    """Revoke a role from an account (multi-signature shortcut)."""
    role = ROLES[msg.role]
    # Verify the validators approve
    require_validator_quorum(state, ctx, tx, f"revoking the {role} role")

    revoked = revoke_role(state, msg.address, role)
    return Effects(events=(revoked,), accounts=tuple(sorted({tx.body.signer, msg.address})))


def process_appoint_issuer(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.AppointIssuer
) -> Effects:
    """Hand a project to a successor issuer (multi-signature shortcut)."""
    # Verify the validators approve
    require_validator_quorum(state, ctx, tx, f"appointing an issuer for project {msg.project_id}")

    appointed, previous = appoint_issuer(state, msg.project_id, msg.issuer)
    return Effects(
        events=(appointed,), accounts=tuple(sorted({tx.body.signer, previous, msg.issuer}))
    )
