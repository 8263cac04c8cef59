"""Stateless checks of the governance messages: role changes, issuer appointments, proposals
and votes (part of ``chain.check.check_message``)."""

from __future__ import annotations

import re
from typing import Any

from carbon_ticket.chain.check_fields import (
    require_address,
    require_entries,
    require_enum,
    require_project_id,
    require_text,
)
from carbon_ticket.chain.errors import InvalidRequest, InvalidTransaction
from carbon_ticket.chain.governance_records import VOTE_OPTIONS
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.params import MAX_VOTING_PERIOD, parse_param_value
from carbon_ticket.chain.records import MAX_VALIDATOR_POWER, ROLES
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "MAX_PARAM_CHANGES",
    "MAX_PROPOSAL_ACTIONS",
    "check_appoint_issuer",
    "check_cast_vote",
    "check_role_change",
    "check_submit_proposal",
]

MAX_PROPOSAL_ACTIONS = 256  # hard bound; params.governance.max_actions is the chain's own
MAX_PARAM_CHANGES = 64
_KEY_BYTES = 32
_HOST_PORT_RE = re.compile(r"([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})", re.ASCII)
_ROLE_NAMES = ", ".join(ROLES[2:])


def check_role_change(
    msg: ledger_pb2.GrantRole | ledger_pb2.RevokeRole, body: Any, limits: Limits
) -> None:
    """A role grant or revocation: an address and an assignable role (not ``validator``)."""
    require_address(msg.address, "address")
    if msg.role == ledger_pb2.ROLE_VALIDATOR:
        raise InvalidTransaction(
            "the validator role follows the validator set and cannot be granted or revoked "
            "on its own",
            "invalid_role",
        )
    if not 0 < msg.role < len(ROLES):
        raise InvalidTransaction(f"role {msg.role} is not one of {_ROLE_NAMES}", "invalid_role")


def check_appoint_issuer(msg: ledger_pb2.AppointIssuer, body: Any, limits: Limits) -> None:
    """A project handover: a project id and the successor's address."""
    require_project_id(msg.project_id, limits)
    require_address(msg.issuer, "issuer")


def check_cast_vote(msg: ledger_pb2.CastVote, body: Any, limits: Limits) -> None:
    """A vote: a proposal id (from 1) and yes, no or abstain."""
    if msg.proposal_id == 0:
        raise InvalidTransaction("proposal id must be 1 or more", "invalid_proposal_id")
    require_enum(msg.option, VOTE_OPTIONS, "vote_option")


def check_submit_proposal(msg: ledger_pb2.SubmitProposal, body: Any, limits: Limits) -> None:
    """A proposal: title, optional description URI and hash, period and 1..N valid actions."""
    require_text(msg.title, "title", limits.max_text_bytes)
    require_text(msg.description_uri, "description URI", limits.max_uri_bytes, required=False)
    if msg.description_hash and len(msg.description_hash) != 32:
        raise InvalidTransaction(
            f"description hash must be empty or a 32-byte SHA-256 digest, got "
            f"{len(msg.description_hash)} bytes",
            "invalid_hash",
        )
    if msg.voting_period > MAX_VOTING_PERIOD:
        raise InvalidTransaction(
            f"voting period {msg.voting_period} blocks exceeds {MAX_VOTING_PERIOD}",
            "invalid_voting_period",
        )
    require_entries(
        len(msg.actions),
        MAX_PROPOSAL_ACTIONS,
        ("a proposal needs at least one action", "no_actions"),
        "the proposal carries {} actions",
    )
    for number, action in enumerate(msg.actions, start=1):
        kind = action.WhichOneof("action")
        if kind is None:
            raise InvalidTransaction(f"action {number} is empty", "empty_action")
        try:
            _ACTION_CHECKS[kind](getattr(action, kind), limits)
        except InvalidTransaction as error:
            raise type(error)(f"action {number} ({kind}): {error.message}", error.code) from error


# ---------------------------------------------------------------- actions


def _public_key(value: bytes, field: str) -> None:
    if len(value) != _KEY_BYTES:
        raise InvalidTransaction(
            f"{field} must be a {_KEY_BYTES}-byte Ed25519 public key, got {len(value)} bytes",
            "invalid_public_key",
        )


def _network_address(value: str) -> None:
    match = _HOST_PORT_RE.fullmatch(value)
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise InvalidTransaction(
            f"network address {value!r} must be host:port", "invalid_network_address"
        )


def _power(value: int) -> None:
    if not 1 <= value <= MAX_VALIDATOR_POWER:
        raise InvalidTransaction(
            f"power must be 1 to {MAX_VALIDATOR_POWER}, got {value}", "invalid_power"
        )


def _add_validator(msg: ledger_pb2.AddValidator, limits: Limits) -> None:
    require_text(msg.name, "validator name", limits.max_text_bytes)
    _public_key(msg.public_key, "public key")
    _network_address(msg.network_address)
    if msg.power:
        _power(msg.power)
    if msg.operator:
        require_address(msg.operator, "operator")


def _remove_validator(msg: ledger_pb2.RemoveValidator, limits: Limits) -> None:
    _public_key(msg.public_key, "public key")


def _set_validator_power(msg: ledger_pb2.SetValidatorPower, limits: Limits) -> None:
    _public_key(msg.public_key, "public key")
    _power(msg.power)


def _set_validator_address(msg: ledger_pb2.SetValidatorAddress, limits: Limits) -> None:
    _public_key(msg.public_key, "public key")
    _network_address(msg.network_address)


def _rotate_validator_key(msg: ledger_pb2.RotateValidatorKey, limits: Limits) -> None:
    _public_key(msg.public_key, "public key")
    _public_key(msg.new_public_key, "new public key")
    if msg.public_key == msg.new_public_key:
        raise InvalidTransaction("the new key is the current key", "same_key")


def _change_params(msg: ledger_pb2.ChangeParams, limits: Limits) -> None:
    require_entries(
        len(msg.changes),
        MAX_PARAM_CHANGES,
        ("a parameter change names at least one parameter", "no_entries"),
        "the change names {} parameters",
    )
    names = [change.name for change in msg.changes]
    if len(set(names)) != len(names):
        raise InvalidTransaction("a parameter is named twice", "duplicate_param")
    for change in msg.changes:
        try:
            parse_param_value(change.name, change.value)
        except InvalidRequest as error:
            raise InvalidTransaction(error.message, error.code) from error


def _freeze_account(msg: ledger_pb2.FreezeAccount, limits: Limits) -> None:
    require_address(msg.address, "address")
    require_text(msg.reason, "reason", limits.max_text_bytes, required=False)


def _unfreeze_account(msg: ledger_pb2.UnfreezeAccount, limits: Limits) -> None:
    require_address(msg.address, "address")


_ACTION_CHECKS: dict[str, Any] = {
    "add_validator": _add_validator,
    "remove_validator": _remove_validator,
    "set_validator_power": _set_validator_power,
    "set_validator_address": _set_validator_address,
    "rotate_validator_key": _rotate_validator_key,
    "grant_role": lambda msg, limits: check_role_change(msg, None, limits),
    "revoke_role": lambda msg, limits: check_role_change(msg, None, limits),
    "change_params": _change_params,
    "appoint_issuer": lambda msg, limits: check_appoint_issuer(msg, None, limits),
    "freeze_account": _freeze_account,
    "unfreeze_account": _unfreeze_account,
}
