"""Validator-set actions of proposals: add, remove, power, network address, key rotation; each
scheduled once at the deciding height + 2 under the rule of chain/rules/validators.py."""

from __future__ import annotations

import pytest

from carbon_ticket.chain import get_account, validator_history, validators_at
from carbon_ticket.chain.state import has_role
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import ISSUER, VALIDATORS, Ledger, key, make_genesis
from tests.chain.governance import action, proposal, stored, submit, vote, votes, weighted_genesis

FIFTH = key("validator-4")
FIVE = (*VALIDATORS, FIFTH)


def add(name: str = "bureau-node-4", power: int = 0, operator: str = "") -> ledger_pb2.GovAction:
    new = key(name)
    return action(
        ledger_pb2.AddValidator(
            name=name,
            public_key=new.public_key,
            network_address=f"{name}.example:26656",
            power=power,
            operator=operator,
        )
    )


def remove(public_key: bytes) -> ledger_pb2.GovAction:
    return action(ledger_pb2.RemoveValidator(public_key=public_key))


def set_power(public_key: bytes, power: int) -> ledger_pb2.GovAction:
    return action(ledger_pb2.SetValidatorPower(public_key=public_key, power=power))


def passed(chain: Ledger, *actions: ledger_pb2.GovAction, voters: int = 3) -> int:
    """Submit, vote with the first ``voters`` operators; return the deciding height."""
    pid = submit(chain, *actions)
    votes(chain, pid, FIVE[:voters])
    assert stored(chain, pid).status == "passed", stored(chain, pid)
    return chain.height


def test_an_added_validator_takes_effect_two_heights_later(ledger: Ledger) -> None:
    operator = key("operator-of-4")
    other = submit(ledger, action(ledger_pb2.FreezeAccount(address=ISSUER.address)))
    decided = passed(ledger, add(operator=operator.address))
    new = key("bureau-node-4")
    assert len(validators_at(ledger.state, decided + 1)) == 4
    joined = validators_at(ledger.state, decided + 2)
    assert [v.public_key for v in joined][-1] == new.public_key
    assert (joined[-1].power, joined[-1].operator_address) == (1, operator.address)
    assert has_role(ledger.state, "validator", new.address)
    assert get_account(ledger.state, operator.address).account.name == "bureau-node-4 operator"
    # The new operator speaks once its validator is in effect, not before.
    assert ledger.submit(operator, vote(other)).error_code == "not_validator_operator"
    assert ledger.height == decided + 1
    ledger.ok(operator, vote(other))  # height decided + 2


def test_the_operator_defaults_to_the_validators_own_account(ledger: Ledger) -> None:
    passed(ledger, add())
    assert validators_at(ledger.state, ledger.height + 2)[-1].operator == ""


@pytest.mark.parametrize(
    ("actions", "code"),
    [
        ((add("a"), add("b")), "too_much_power_moved"),
        ((remove(VALIDATORS[0].public_key),), "too_few_validators"),
        ((set_power(VALIDATORS[0].public_key, 2),), "too_much_power_moved"),
        ((add("a", power=2),), "too_much_power_moved"),
        ((remove(key("stranger").public_key),), "unknown_validator"),
        ((set_power(VALIDATORS[0].public_key, 1),), "no_change"),
        (
            (
                action(
                    ledger_pb2.AddValidator(
                        name="dup", public_key=VALIDATORS[1].public_key, network_address="d:1"
                    )
                ),
            ),
            "validator_exists",
        ),
        (
            (
                action(
                    ledger_pb2.SetValidatorAddress(
                        public_key=VALIDATORS[0].public_key, network_address="127.0.0.1:26651"
                    )
                ),
            ),
            "validator_exists",
        ),
        (
            (
                action(
                    ledger_pb2.RotateValidatorKey(
                        public_key=VALIDATORS[0].public_key,
                        new_public_key=VALIDATORS[1].public_key,
                    )
                ),
            ),
            "validator_exists",
        ),
    ],
    ids=[
        "two joins at once",
        "fewer than four",
        "power moves a third",
        "heavy newcomer",
        "unknown validator",
        "same power",
        "known key added",
        "address in use",
        "rotate to a validator's key",
    ],
)
def test_set_changes_breaking_the_rule_are_refused_at_submission(
    ledger: Ledger, actions: tuple[ledger_pb2.GovAction, ...], code: str
) -> None:
    receipt = ledger.submit(VALIDATORS[0], proposal(*actions))
    assert receipt.error_code == code, receipt
    assert len(validator_history(ledger.state)) == 1


def test_removal_revokes_the_role_and_the_vote_stops_counting() -> None:
    chain = Ledger(make_genesis(validators=FIVE))
    later = submit(chain, action(ledger_pb2.FreezeAccount(address=ISSUER.address)))
    chain.ok(FIFTH, vote(later))  # counted while the fifth validator is in effect
    decided = passed(chain, remove(FIFTH.public_key), voters=4)
    assert not has_role(chain.state, "validator", FIFTH.address)
    chain.run([])
    chain.run([])
    assert chain.height == decided + 2 and len(validators_at(chain.state, chain.height)) == 4
    receipt = chain.ok(VALIDATORS[0], vote(later))
    attributes = dict(receipt.events[0].attributes)
    assert attributes["status"] == "voting"
    assert stored(chain, later).yes_power == 1 and stored(chain, later).total_power == 4


def test_power_changes_within_a_third_pass() -> None:
    chain = Ledger(weighted_genesis(10, 10, 10, 10))
    decided = passed(chain, set_power(VALIDATORS[0].public_key, 13))
    assert [v.power for v in validators_at(chain.state, decided + 2)] == [13, 10, 10, 10]


def test_a_network_address_change_is_a_new_history_entry_with_the_same_keys(
    ledger: Ledger,
) -> None:
    move = action(
        ledger_pb2.SetValidatorAddress(
            public_key=VALIDATORS[2].public_key, network_address="moved.example:26656"
        )
    )
    decided = passed(ledger, move)
    before, after = validators_at(ledger.state, 1), validators_at(ledger.state, decided + 2)
    assert [v.public_key for v in before] == [v.public_key for v in after]
    assert after[2].network_address == "moved.example:26656"


def test_a_rotated_key_takes_the_role_and_keeps_the_operator(ledger: Ledger) -> None:
    new = key("validator-2-rotated")
    rotate = action(
        ledger_pb2.RotateValidatorKey(
            public_key=VALIDATORS[2].public_key, new_public_key=new.public_key
        )
    )
    decided = passed(ledger, rotate)
    rotated = validators_at(ledger.state, decided + 2)[2]
    assert (rotated.public_key, rotated.address) == (new.public_key, new.address)
    assert rotated.operator_address == VALIDATORS[2].address  # the bureau votes as before
    assert has_role(ledger.state, "validator", new.address)
    assert not has_role(ledger.state, "validator", VALIDATORS[2].address)
    assert get_account(ledger.state, new.address).account.kind == "bureau"


def test_a_second_change_while_one_is_pending_fails_at_execution(ledger: Ledger) -> None:
    first = submit(ledger, add("a"))
    second = submit(ledger, add("b"))  # submission ignores the pending change
    votes(ledger, first, VALIDATORS[:2])
    votes(ledger, second, VALIDATORS[:2])
    ledger.ok(VALIDATORS[2], vote(first))
    ledger.ok(VALIDATORS[2], vote(second))  # one block later: the first is still pending
    assert stored(ledger, first).status == "passed"
    failed = stored(ledger, second)
    assert (failed.status, failed.error_code) == ("failed", "change_pending")
    assert not has_role(ledger.state, "validator", key("b").address)


def test_several_set_actions_are_scheduled_as_one_change() -> None:
    chain = Ledger(make_genesis(validators=FIVE))
    decided = passed(
        chain,
        remove(FIFTH.public_key),
        add("newcomer"),
        voters=4,
    )
    history = validator_history(chain.state)
    assert [h for h, _ in history] == [1, decided + 2]
    assert [v.name for v in history[-1][1]][-1] == "newcomer"
