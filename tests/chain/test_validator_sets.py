"""The validator set history in state, genesis power and operators, and the rule of a change."""

from __future__ import annotations

from dataclasses import replace

import pytest

from carbon_ticket.chain import (
    Genesis,
    GenesisValidator,
    MemoryState,
    StateOverlay,
    get_account,
    get_validators,
    init_chain,
    validator_history,
    validators_at,
)
from carbon_ticket.chain.errors import InvalidGenesis, InvalidRequest, PreconditionFailed
from carbon_ticket.chain.records import Validator
from carbon_ticket.chain.rules.validators import (
    check_validator_change,
    pending_change_height,
    schedule_validator_set,
)
from tests.chain.conftest import VALIDATORS, key, make_genesis


def _state(genesis: Genesis | None = None) -> MemoryState:
    state = MemoryState()
    state.apply(init_chain(genesis or make_genesis()).writes)
    return state


def _validator(name: str, power: int = 1) -> Validator:
    k = key(name)
    return Validator(name, k.public_key, f"{name}.example:26656", k.address, power)


def test_genesis_set_is_in_effect_from_height_one_with_power_one() -> None:
    state = _state()
    history = validator_history(state)
    assert [h for h, _ in history] == [1]
    assert [v.power for v in validators_at(state, 1)] == [1, 1, 1, 1]
    assert validators_at(state, 0) == validators_at(state, 1) == get_validators(state)
    assert validators_at(state, 1)[0].operator_address == VALIDATORS[0].address


def test_default_power_and_operator_keep_the_genesis_hash() -> None:
    genesis = make_genesis()
    text = genesis.to_json()
    assert '"power"' not in text and '"operator"' not in text
    assert Genesis.from_json(text).hash() == genesis.hash()


def test_genesis_power_and_operator_round_trip_and_register_the_operator() -> None:
    base = make_genesis()
    operator = key("operator-0").address
    first = replace(base.validators[0], power=3, operator=operator)
    genesis = replace(base, validators=(first, *base.validators[1:]))
    again = Genesis.from_json(genesis.to_json())
    assert again == genesis and again.hash() != base.hash()
    state = _state(genesis)
    stored = validators_at(state, 1)[0]
    assert (stored.power, stored.operator_address) == (3, operator)
    assert get_account(state, operator).account.name == "bureau-node-0 operator"


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [("power", 0, "power"), ("power", 2**32 + 1, "power"), ("operator", "bogus", "operator")],
)
def test_bad_genesis_power_or_operator_is_rejected(field: str, value: object, needle: str) -> None:
    with pytest.raises(InvalidGenesis, match=needle):
        GenesisValidator("n", VALIDATORS[0].public_key, "h:1", **{field: value})  # type: ignore[arg-type]


def test_a_change_takes_effect_two_heights_after_it_is_decided() -> None:
    state = StateOverlay(_state())
    old = validators_at(state, 1)
    new = (*old, _validator("fifth"))
    assert schedule_validator_set(state, 7, new) == 9
    assert validators_at(state, 8) == old
    assert validators_at(state, 9) == validators_at(state, 100) == new
    assert get_validators(state) == new
    assert pending_change_height(state, 7) == pending_change_height(state, 8) == 9
    assert pending_change_height(state, 9) is None


def test_a_second_change_waits_until_the_first_is_in_effect() -> None:
    state = StateOverlay(_state())
    five = (*validators_at(state, 1), _validator("fifth"))
    schedule_validator_set(state, 7, five)
    with pytest.raises(PreconditionFailed) as info:
        schedule_validator_set(state, 8, (*five, _validator("sixth")))
    assert info.value.code == "change_pending"
    assert schedule_validator_set(state, 9, (*five, _validator("sixth"))) == 11


def test_a_change_is_checked_against_the_latest_scheduled_set() -> None:
    state = StateOverlay(_state())
    five = (*validators_at(state, 1), _validator("fifth"))
    schedule_validator_set(state, 1, five)
    # Removing the fifth again (5 -> 4) is a legal step from the set now in effect.
    assert schedule_validator_set(state, 3, five[:4]) == 5


FOUR = tuple(_validator(f"v{i}") for i in range(4))


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        (FOUR, FOUR[:3], "too_few_validators"),  # a 4-validator network cannot shrink
        (FOUR, (*FOUR[:3], _validator("x")), ""),  # a key rotation moves 1 of 4
        (FOUR, (*FOUR, _validator("a"), _validator("b")), "too_much_power_moved"),  # 4 of 6
        (FOUR, (*FOUR, _validator("big", 2)), "too_much_power_moved"),  # unchanged 4 of 6
        (FOUR, (*FOUR[:3], replace(FOUR[3], power=2)), "too_much_power_moved"),  # 3 of 5
        (FOUR, (*FOUR, _validator("a")), ""),
        ((*FOUR, _validator("a")), FOUR, ""),
        (FOUR, (*FOUR[:3], replace(FOUR[3], network_address="moved:1")), ""),
        (FOUR, (*FOUR, FOUR[0]), "duplicate_validator"),
        (FOUR, (*FOUR, replace(_validator("z"), power=0)), "invalid_validator"),
    ],
)
def test_the_rule_of_a_change(
    old: tuple[Validator, ...], new: tuple[Validator, ...], code: str
) -> None:
    if not code:
        check_validator_change(old, new)
        return
    with pytest.raises(InvalidRequest) as info:
        check_validator_change(old, new)
    assert info.value.code == code


def test_a_refused_change_writes_nothing() -> None:
    base = _state()
    state = StateOverlay(base)
    with pytest.raises(InvalidRequest):
        schedule_validator_set(state, 3, validators_at(state, 1)[:3])
    assert validator_history(state) == validator_history(base)
