"""The governance actions a proposal carries, executed all or nothing.

``execute_actions`` runs when a proposal passes (on a scratch overlay the caller drops if any
action fails) and, with ``check_only``, when it is submitted, so that a proposal that could not
execute against the current state is refused up front.

Validator-set actions (add, remove, power, network address, key rotation) edit one working copy
of the latest scheduled set; the result is checked against the rule of
``chain.rules.validators`` and scheduled once, at the deciding height + 2. Added validators and
rotated-in keys get a registered ``bureau`` account and the ``validator`` role (a validator's
own key signs its evidence reports); removed and rotated-out keys lose the role. A rotation
keeps the validator's operator, so the bureau keeps voting with the same account.

Parameter changes are written as the parameters of the next block (``keys.NEXT_PARAMS``): the
end of the deciding block puts them in force, so every transaction of one block runs under the
same parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from carbon_ticket.chain import keys
from carbon_ticket.chain.crypto import address_from_public_key
from carbon_ticket.chain.errors import (
    AlreadyExists,
    LedgerError,
    NotFound,
    PreconditionFailed,
    StorageError,
)
from carbon_ticket.chain.governance_records import Freeze
from carbon_ticket.chain.params import apply_param_change, check_params
from carbon_ticket.chain.records import ROLES, Account, Params, Validator
from carbon_ticket.chain.results import Event
from carbon_ticket.chain.rules._common import (
    BlockContext,
    event,
    read_u64,
    require_account,
    require_not_frozen,
)
from carbon_ticket.chain.rules.governance import appoint_issuer, grant_role, revoke_role
from carbon_ticket.chain.rules.validators import check_validator_change, schedule_validator_set
from carbon_ticket.chain.state import StateOverlay, StateReader, get_params, get_validators
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "execute_actions",
    "next_block_params",
    "put_next_params_in_force",
]


def next_block_params(state: StateReader) -> Params:
    """The parameters the next block runs under: those decided in this block, else the current."""
    raw = state.get(keys.NEXT_PARAMS)
    return Params.decode(raw) if raw is not None else get_params(state)


def put_next_params_in_force(state: StateOverlay, ctx: BlockContext) -> None:
    """End of block: parameters a proposal changed in this block govern the next one."""
    raw = state.get(keys.NEXT_PARAMS)
    if raw is not None:
        state.set(keys.PARAMS, raw)
        state.delete(keys.NEXT_PARAMS)


@dataclass(slots=True)
class _Run:
    """One execution of a proposal's actions."""

    state: StateOverlay
    ctx: BlockContext
    proposal_id: int
    validators: list[Validator]  # working copy of the latest scheduled set
    params_changed: bool = False


def execute_actions(
    state: StateOverlay,
    ctx: BlockContext,
    proposal_id: int,
    actions: Sequence[ledger_pb2.GovAction],
    *,
    check_only: bool = False,
) -> tuple[Event, ...]:
    """Apply ``actions`` in order to ``state``; raise the first action's LedgerError.

    With ``check_only`` (at submission) a set change is checked against the rule but neither
    scheduled nor refused for a change still pending (that one takes effect long before the
    vote ends); the caller drops ``state`` afterwards.
    """
    latest = get_validators(state)
    run = _Run(state, ctx, proposal_id, list(latest))
    events: list[Event] = []
    for number, action in enumerate(actions, start=1):
        kind = action.WhichOneof("action") or ""
        try:
            events.append(_ACTIONS[kind](run, getattr(action, kind)))
        except StorageError:
            raise
        except LedgerError as error:
            raise type(error)(f"action {number} ({kind}): {error.message}", error.code) from error
    new_set = tuple(run.validators)
    if new_set != latest:
        if check_only:
            check_validator_change(latest, new_set)
        else:
            effective = schedule_validator_set(state, ctx.height, new_set)
            events.append(
                event(
                    "validator_set_scheduled",
                    ("effective_height", str(effective)),
                    ("validators", str(len(new_set))),
                    ("total_power", str(sum(v.power for v in new_set))),
                )
            )
    if new_set != latest or run.params_changed:
        # The limits must still fit the new set: the shortcut's signatures fit one envelope.
        check_params(next_block_params(state), len(new_set))
    return tuple(events)


# ---------------------------------------------------------------- validator set


def _find(run: _Run, public_key: bytes) -> int:
    for index, validator in enumerate(run.validators):
        if validator.public_key == public_key:
            return index
    raise NotFound(
        f"no validator with public key {public_key.hex()} in the latest validator set",
        "unknown_validator",
    )


def _require_new_key(run: _Run, public_key: bytes) -> None:
    if any(v.public_key == public_key for v in run.validators):
        raise AlreadyExists(
            f"public key {public_key.hex()} already belongs to a validator", "validator_exists"
        )


def _ensure_validator_account(run: _Run, address: str, name: str) -> None:
    """Register ``address`` as a bureau account unless registered; give it the validator role."""
    if run.state.get(keys.nonce_key(address)) is None:
        account = Account(address, "bureau", name, "", run.ctx.height)
        run.state.set(keys.account_key(address), account.encode())
        run.state.set(keys.nonce_key(address), keys.encode_u64(0))
    run.state.set(keys.role_key("validator", address), b"\x01")


def _add_validator(run: _Run, msg: ledger_pb2.AddValidator) -> Event:
    # Verify the key, name and network address are new
    _require_new_key(run, msg.public_key)
    for validator in run.validators:
        if msg.name == validator.name or msg.network_address == validator.network_address:
            raise AlreadyExists(
                f"validator {validator.name!r} already has that name or network address",
                "validator_exists",
            )

    address = address_from_public_key(msg.public_key)
    operator = "" if msg.operator == address else msg.operator
    # Verify neither the validator's account nor its operator is frozen
    require_not_frozen(run.state, {address, operator} - {""})

    _ensure_validator_account(run, address, msg.name)
    if operator and run.state.get(keys.nonce_key(operator)) is None:
        account = Account(operator, "bureau", f"{msg.name} operator", "", run.ctx.height)
        run.state.set(keys.account_key(operator), account.encode())
        run.state.set(keys.nonce_key(operator), keys.encode_u64(0))
    added = Validator(
        msg.name, msg.public_key, msg.network_address, address, msg.power or 1, operator
    )
    run.validators.append(added)
    return event(
        "add_validator",
        ("name", added.name),
        ("public_key", added.public_key.hex()),
        ("power", str(added.power)),
        ("operator", added.operator_address),
    )


def _remove_validator(run: _Run, msg: ledger_pb2.RemoveValidator) -> Event:
    # Verify the validator is in the latest set
    removed = run.validators.pop(_find(run, msg.public_key))

    run.state.delete(keys.role_key("validator", removed.address))
    return event(
        "remove_validator", ("name", removed.name), ("public_key", removed.public_key.hex())
    )


def _set_validator_power(run: _Run, msg: ledger_pb2.SetValidatorPower) -> Event:
    # Verify the validator exists and the power changes
    index = _find(run, msg.public_key)
    current = run.validators[index]
    if current.power == msg.power:
        raise PreconditionFailed(
            f"validator {current.name!r} already has power {msg.power}", "no_change"
        )

    run.validators[index] = replace(current, power=msg.power)
    return event(
        "set_validator_power",
        ("name", current.name),
        ("previous_power", str(current.power)),
        ("power", str(msg.power)),
    )


def _set_validator_address(run: _Run, msg: ledger_pb2.SetValidatorAddress) -> Event:
    # Verify the validator exists and no other validator uses the address
    index = _find(run, msg.public_key)
    current = run.validators[index]
    if any(v.network_address == msg.network_address for v in run.validators):
        raise AlreadyExists(
            f"a validator already listens on {msg.network_address}", "validator_exists"
        )

    run.validators[index] = replace(current, network_address=msg.network_address)
    return event(
        "set_validator_address",
        ("name", current.name),
        ("network_address", msg.network_address),
    )


def _rotate_validator_key(run: _Run, msg: ledger_pb2.RotateValidatorKey) -> Event:
    # Verify the validator exists, the new key is no validator's and its account is not frozen
    index = _find(run, msg.public_key)
    current = run.validators[index]
    _require_new_key(run, msg.new_public_key)
    address = address_from_public_key(msg.new_public_key)
    require_not_frozen(run.state, (address,))

    operator = current.operator_address
    rotated = replace(
        current,
        public_key=msg.new_public_key,
        address=address,
        operator="" if operator == address else operator,
    )
    run.state.delete(keys.role_key("validator", current.address))
    _ensure_validator_account(run, address, current.name)
    run.validators[index] = rotated
    return event(
        "rotate_validator_key",
        ("name", current.name),
        ("previous_public_key", current.public_key.hex()),
        ("public_key", rotated.public_key.hex()),
        ("operator", operator),
    )


# ---------------------------------------------------------------- roles, issuers, params


def _grant_role(run: _Run, msg: ledger_pb2.GrantRole) -> Event:
    return grant_role(run.state, msg.address, ROLES[msg.role])


def _revoke_role(run: _Run, msg: ledger_pb2.RevokeRole) -> Event:
    return revoke_role(run.state, msg.address, ROLES[msg.role])


def _appoint_issuer(run: _Run, msg: ledger_pb2.AppointIssuer) -> Event:
    appointed, _previous = appoint_issuer(run.state, msg.project_id, msg.issuer)
    return appointed


def _change_params(run: _Run, msg: ledger_pb2.ChangeParams) -> Event:
    # Verify every name and value (their ranges are checked once all actions ran)
    params = next_block_params(run.state)
    for change in msg.changes:
        params = apply_param_change(params, change.name, change.value)

    run.state.set(keys.NEXT_PARAMS, params.encode())
    run.params_changed = True
    return event("change_params", *((change.name, change.value) for change in msg.changes))


# ---------------------------------------------------------------- freezes


def _freeze_account(run: _Run, msg: ledger_pb2.FreezeAccount) -> Event:
    # Verify the account is registered, not frozen, and speaks for no validator
    require_account(run.state, msg.address, "account")
    key = keys.frozen_key(msg.address)
    if run.state.get(key) is not None:
        raise AlreadyExists(f"account {msg.address} is already frozen", "already_frozen")
    if any(msg.address in (v.address, v.operator_address) for v in run.validators):
        raise PreconditionFailed(
            f"account {msg.address} is a validator's or its operator's; remove the validator "
            "or rotate its key before freezing the account",
            "validator_account",
        )

    freeze = Freeze(msg.address, msg.reason, run.proposal_id, run.ctx.height)
    run.state.set(key, freeze.encode())
    run.state.set(keys.FROZEN_COUNT, keys.encode_u64(read_u64(run.state, keys.FROZEN_COUNT) + 1))
    return event("freeze_account", ("address", msg.address), ("reason", msg.reason))


def _unfreeze_account(run: _Run, msg: ledger_pb2.UnfreezeAccount) -> Event:
    # Verify the account is frozen
    key = keys.frozen_key(msg.address)
    if run.state.get(key) is None:
        raise NotFound(f"account {msg.address} is not frozen", "not_frozen")

    run.state.delete(key)
    run.state.set(keys.FROZEN_COUNT, keys.encode_u64(read_u64(run.state, keys.FROZEN_COUNT) - 1))
    return event("unfreeze_account", ("address", msg.address))


_ACTIONS: dict[str, Callable[[_Run, Any], Event]] = {
    "add_validator": _add_validator,
    "remove_validator": _remove_validator,
    "set_validator_power": _set_validator_power,
    "set_validator_address": _set_validator_address,
    "rotate_validator_key": _rotate_validator_key,
    "grant_role": _grant_role,
    "revoke_role": _revoke_role,
    "change_params": _change_params,
    "appoint_issuer": _appoint_issuer,
    "freeze_account": _freeze_account,
    "unfreeze_account": _unfreeze_account,
}
