"""Validator set changes: the one place that checks a new set and schedules it.

A change decided by the block at height H takes effect at H + 2, so that when block H is
committed every node knows the sets of H + 1 (named by the header of H + 1 as its own) and of
H + 2 (named by that header as the next). The rule a change must obey, and why:

- the new set has at least ``MIN_VALIDATORS`` validators (with fewer, one fault halts the chain);
- the validators the step leaves unchanged (same public key and same power) hold more than 2/3
  of the power of the old set and of the new set: even if every added or re-weighted validator
  never comes up, or is Byzantine, the unchanged ones alone still form a quorum on both sides of
  the change, so one step can neither halt the chain nor hand it to newcomers;
- at most one change is pending: a change is refused while an earlier one has not taken effect,
  so two changes never race for the same height and each step is judged against the set it
  really replaces.

A change of network address only (same keys and powers) passes trivially and is stored as a new
entry too: peers follow addresses from the set in effect.
"""

from __future__ import annotations

from collections.abc import Sequence

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import InvalidRequest, PreconditionFailed
from carbon_ticket.chain.records import MAX_VALIDATOR_POWER, Validator, ValidatorSet
from carbon_ticket.chain.state import StateOverlay, StateReader, validator_history

__all__ = [
    "ACTIVATION_DELAY",
    "MIN_VALIDATORS",
    "check_validator_change",
    "pending_change_height",
    "schedule_validator_set",
]

ACTIVATION_DELAY = 2  # a change decided at H takes effect at H + ACTIVATION_DELAY
MIN_VALIDATORS = 4


def pending_change_height(state: StateReader, height: int) -> int | None:
    """The effective height of a change scheduled beyond ``height``, or None."""
    latest = validator_history(state)[-1][0]
    return latest if latest > height else None


def check_validator_change(old: Sequence[Validator], new: Sequence[Validator]) -> None:
    """Raise InvalidRequest unless replacing ``old`` by ``new`` obeys the rule of this module."""
    _check_well_formed(new)
    if len(new) < MIN_VALIDATORS:
        raise InvalidRequest(
            f"a validator set change must leave at least {MIN_VALIDATORS} validators; "
            f"this one leaves {len(new)}",
            "too_few_validators",
        )
    old_power = {v.public_key: v.power for v in old}
    unchanged = sum(v.power for v in new if old_power.get(v.public_key) == v.power)
    for side, members in (("old", old), ("new", new)):
        total = sum(v.power for v in members)
        if unchanged * 3 <= total * 2:
            raise InvalidRequest(
                f"validators left unchanged hold power {unchanged} of the {side} set's {total}; "
                "one change may move less than 1/3 of the power (split it into steps)",
                "too_much_power_moved",
            )


def schedule_validator_set(
    state: StateOverlay, decided_height: int, validators: Sequence[Validator]
) -> int:
    """Check and store ``validators`` as the set in effect from ``decided_height + 2``.

    Returns the effective height. Raises PreconditionFailed (``change_pending``) while another
    change has not taken effect, InvalidRequest when the change breaks the rule.
    """
    # Verify no change is pending and the step obeys the rule
    pending = pending_change_height(state, decided_height)
    if pending is not None:
        raise PreconditionFailed(
            f"a validator set change already takes effect at height {pending}; "
            "propose the next change once it is in effect",
            "change_pending",
        )
    current = validator_history(state)[-1][1]
    check_validator_change(current, validators)

    effective = decided_height + ACTIVATION_DELAY
    state.set(keys.validator_set_key(effective), ValidatorSet.of(tuple(validators)).encode())
    return effective


def _check_well_formed(new: Sequence[Validator]) -> None:
    for what, values in (
        ("public key", [v.public_key for v in new]),
        ("name", [v.name for v in new]),
        ("network address", [v.network_address for v in new]),
    ):
        if len(set(values)) != len(values):
            raise InvalidRequest(f"two validators share a {what}", "duplicate_validator")
    for v in new:
        if len(v.public_key) != 32:
            raise InvalidRequest(f"validator {v.name!r}: public key must be 32 bytes",
                                 "invalid_validator")  # fmt: skip
        if not 1 <= v.power <= MAX_VALIDATOR_POWER:
            raise InvalidRequest(
                f"validator {v.name!r}: power must be 1 to {MAX_VALIDATOR_POWER}, got {v.power}",
                "invalid_validator",
            )
