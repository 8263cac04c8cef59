"""Proposals and votes: who may propose and vote, tallies, passing, rejection, expiry, failure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from carbon_ticket.chain import get_account, get_params, validators_at
from carbon_ticket.chain import keys as state_keys
from carbon_ticket.chain.records import GovernanceParams, Params
from carbon_ticket.chain.state import has_role
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    COMPANY,
    ISSUER,
    REGISTRAR,
    VALIDATORS,
    Ledger,
    check_code,
    key,
    make_genesis,
    register_account,
)
from tests.chain.governance import (
    ABSTAIN,
    NO,
    YES,
    action,
    proposal,
    stored,
    submit,
    vote,
    votes,
    weighted_genesis,
)

GRANT_VERIFIER = action(ledger_pb2.GrantRole(address=ISSUER.address, role=ledger_pb2.ROLE_VERIFIER))


def has_role_of(chain: Ledger, address: str, role: str) -> bool:
    return has_role(chain.state, role, address)


def test_an_operator_submits_a_proposal_with_sequential_ids(ledger: Ledger) -> None:
    receipt = ledger.ok(VALIDATORS[0], proposal(GRANT_VERIFIER, period=5))
    assert dict(receipt.events[0].attributes) == {
        "proposal_id": "1",
        "proposer": VALIDATORS[0].address,
        "deadline_height": str(ledger.height + 5),
        "actions": "1",
    }
    first = stored(ledger, 1)
    assert (first.status, first.submit_height, first.deadline_height) == (
        "voting",
        ledger.height,
        ledger.height + 5,
    )
    assert first.total_power == 4 and first.tx_hash == receipt.tx_hash
    assert submit(ledger, GRANT_VERIFIER) == 2
    assert not has_role_of(ledger, ISSUER.address, "verifier")  # nothing executes at submission


def test_the_default_voting_period_applies_when_none_is_given(ledger: Ledger) -> None:
    ledger.ok(VALIDATORS[0], proposal(GRANT_VERIFIER, period=0))
    default = GovernanceParams().default_voting_period
    assert stored(ledger, 1).deadline_height == ledger.height + default


@pytest.mark.parametrize(
    ("signer", "msg", "code"),
    [
        (REGISTRAR, proposal(GRANT_VERIFIER), "not_validator_operator"),
        (VALIDATORS[0], proposal(GRANT_VERIFIER, period=200_000), "invalid_voting_period"),
        (
            VALIDATORS[0],
            proposal(
                action(ledger_pb2.GrantRole(address=COMPANY.address, role=ledger_pb2.ROLE_ISSUER))
            ),
            "unknown_account",
        ),
        (
            VALIDATORS[0],
            proposal(
                action(ledger_pb2.AppointIssuer(project_id="CN15-XX-1", issuer=ISSUER.address))
            ),
            "unknown_project",
        ),
        (
            VALIDATORS[0],
            proposal(action(ledger_pb2.RemoveValidator(public_key=key("nobody").public_key))),
            "unknown_validator",
        ),
        (
            VALIDATORS[0],
            proposal(action(ledger_pb2.FreezeAccount(address=COMPANY.address))),
            "unknown_account",
        ),
        (
            VALIDATORS[0],
            proposal(action(ledger_pb2.UnfreezeAccount(address=ISSUER.address))),
            "not_frozen",
        ),
        (
            VALIDATORS[0],
            proposal(action(ledger_pb2.FreezeAccount(address=VALIDATORS[2].address))),
            "validator_account",
        ),
        (
            VALIDATORS[0],
            proposal(
                action(
                    ledger_pb2.ChangeParams(
                        changes=[ledger_pb2.ParamChange(name="limits.max_tx_bytes", value="0")]
                    )
                )
            ),
            "invalid_param",
        ),
        (
            VALIDATORS[0],
            proposal(
                action(
                    ledger_pb2.ChangeParams(
                        changes=[
                            ledger_pb2.ParamChange(
                                name="governance.default_voting_period", value="100001"
                            )
                        ]
                    )
                )
            ),
            "invalid_param",
        ),
        (
            VALIDATORS[0],
            proposal(GRANT_VERIFIER, GRANT_VERIFIER),  # the second grant would find the role
            "role_exists",
        ),
    ],
    ids=[
        "proposer is no operator",
        "voting period over the maximum",
        "grant to an unknown account",
        "handover of an unknown project",
        "remove an unknown validator",
        "freeze an unknown account",
        "unfreeze an account not frozen",
        "freeze a validator's account",
        "a limit of zero",
        "default period over the maximum",
        "two actions that cannot both run",
    ],
)
def test_a_bad_proposal_is_refused_when_submitted(
    ledger: Ledger, signer: object, msg: ledger_pb2.SubmitProposal, code: str
) -> None:
    before = dict(ledger.state.data)
    receipt = ledger.submit(signer, msg)  # type: ignore[arg-type]
    assert receipt.error_code == code, receipt
    written = {k for k, v in ledger.state.data.items() if before.get(k) != v}
    assert all(k.startswith(state_keys.NONCE) for k in written)  # only the nonce moved
    assert ledger.state.get(state_keys.proposal_key(1)) is None


def test_too_many_actions_for_the_chain_params_are_refused() -> None:
    params = Params(governance=GovernanceParams(max_actions=1))
    chain = Ledger(replace(make_genesis(), params=params))
    freeze = action(ledger_pb2.FreezeAccount(address=ISSUER.address))
    receipt = chain.submit(VALIDATORS[0], proposal(GRANT_VERIFIER, freeze))
    assert receipt.error_code == "too_many_actions"


@pytest.mark.parametrize(
    ("msg", "code"),
    [
        (proposal(), "no_actions"),
        (proposal(ledger_pb2.GovAction()), "empty_action"),
        (proposal(GRANT_VERIFIER, title=""), "missing_field"),
        (
            ledger_pb2.SubmitProposal(title="t", description_hash=b"x", actions=[GRANT_VERIFIER]),
            "invalid_hash",
        ),
        (
            proposal(
                action(
                    ledger_pb2.AddValidator(name="n", public_key=b"short", network_address="h:1")
                )
            ),
            "invalid_public_key",
        ),
        (
            proposal(
                action(
                    ledger_pb2.AddValidator(
                        name="n", public_key=key("n").public_key, network_address="no-port"
                    )
                )
            ),
            "invalid_network_address",
        ),
        (
            proposal(
                action(ledger_pb2.SetValidatorPower(public_key=VALIDATORS[0].public_key, power=0))
            ),
            "invalid_power",
        ),
        (
            proposal(
                action(
                    ledger_pb2.RotateValidatorKey(
                        public_key=VALIDATORS[0].public_key, new_public_key=VALIDATORS[0].public_key
                    )
                )
            ),
            "same_key",
        ),
        (
            proposal(
                action(ledger_pb2.GrantRole(address=ISSUER.address, role=ledger_pb2.ROLE_VALIDATOR))
            ),
            "invalid_role",
        ),
        (
            proposal(
                action(
                    ledger_pb2.ChangeParams(
                        changes=[ledger_pb2.ParamChange(name="limits.no_such_limit", value="1")]
                    )
                )
            ),
            "unknown_param",
        ),
        (
            proposal(
                action(
                    ledger_pb2.ChangeParams(
                        changes=[ledger_pb2.ParamChange(name="buffer_share_bps", value="01")]
                    )
                )
            ),
            "invalid_param",
        ),
        (
            proposal(
                action(
                    ledger_pb2.ChangeParams(
                        changes=[
                            ledger_pb2.ParamChange(name="buffer_share_bps", value="1"),
                            ledger_pb2.ParamChange(name="buffer_share_bps", value="2"),
                        ]
                    )
                )
            ),
            "duplicate_param",
        ),
        (proposal(action(ledger_pb2.FreezeAccount(address="ct1nope"))), "invalid_address"),
        (vote(0), "invalid_proposal_id"),
        (vote(1, 7), "invalid_vote_option"),
        (vote(1, 0), "invalid_vote_option"),
    ],
)
def test_malformed_governance_messages_fail_check_tx(
    ledger: Ledger, msg: object, code: str
) -> None:
    assert check_code(ledger.tx(VALIDATORS[0], msg)) == code


def test_three_of_four_yes_votes_pass_and_execute_in_that_block(ledger: Ledger) -> None:
    pid = submit(ledger, GRANT_VERIFIER)
    _first, second = votes(ledger, pid, VALIDATORS[:2])
    assert dict(second.events[0].attributes)["status"] == "voting"
    assert not has_role_of(ledger, ISSUER.address, "verifier")
    third = ledger.ok(VALIDATORS[2], vote(pid))
    assert [e.type for e in third.events] == ["cast_vote", "proposal_passed", "grant_role"]
    assert dict(third.events[0].attributes)["status"] == "passed"
    assert has_role_of(ledger, ISSUER.address, "verifier")
    done = stored(ledger, pid)
    assert (done.status, done.closed_height) == ("passed", ledger.height)
    assert (done.yes_power, done.no_power, done.total_power) == (3, 0, 4)
    # A closed proposal takes no more votes; the deadline index is gone.
    assert ledger.submit(VALIDATORS[3], vote(pid)).error_code == "proposal_closed"
    assert not list(ledger.state.scan(state_keys.PROPOSAL_DEADLINE))


def test_a_vote_twice_unknown_proposal_and_non_operator_are_refused(ledger: Ledger) -> None:
    pid = submit(ledger, GRANT_VERIFIER)
    votes(ledger, pid, VALIDATORS[:1], NO)
    assert ledger.submit(VALIDATORS[0], vote(pid)).error_code == "already_voted"
    assert ledger.submit(VALIDATORS[1], vote(99)).error_code == "unknown_proposal"
    assert ledger.submit(REGISTRAR, vote(pid)).error_code == "not_validator_operator"
    assert stored(ledger, pid).no_power == 1


@pytest.mark.parametrize(
    ("options", "status"),
    [((NO, NO), "rejected"), ((NO, ABSTAIN), "rejected"), ((NO, YES), "voting")],
)
def test_yes_that_can_no_longer_pass_is_rejected(
    ledger: Ledger, options: tuple[int, int], status: str
) -> None:
    pid = submit(ledger, GRANT_VERIFIER)
    for voter, option in zip(VALIDATORS, options, strict=False):
        ledger.ok(voter, vote(pid, option))
    assert stored(ledger, pid).status == status
    assert not has_role_of(ledger, ISSUER.address, "verifier")


def test_a_proposal_expires_at_the_end_of_its_deadline_block(ledger: Ledger) -> None:
    pid = submit(ledger, GRANT_VERIFIER, period=3)
    deadline = stored(ledger, pid).deadline_height
    votes(ledger, pid, VALIDATORS[:2])
    ledger.run([])  # the deadline block: votes here would still count
    assert ledger.height == deadline and stored(ledger, pid).status == "expired"
    receipt = ledger.submit(VALIDATORS[2], vote(pid))
    assert receipt.error_code == "vote_after_deadline"
    assert stored(ledger, pid).closed_height == deadline
    assert not list(ledger.state.scan(state_keys.PROPOSAL_DEADLINE))


def test_a_vote_in_the_deadline_block_still_counts(ledger: Ledger) -> None:
    pid = submit(ledger, GRANT_VERIFIER, period=3)
    votes(ledger, pid, VALIDATORS[:2])
    assert ledger.height + 1 == stored(ledger, pid).deadline_height
    ledger.ok(VALIDATORS[2], vote(pid))
    assert stored(ledger, pid).status == "passed"


def test_an_action_failing_at_execution_fails_the_proposal_and_changes_nothing(
    ledger: Ledger,
) -> None:
    ledger.ok(REGISTRAR, register_account(COMPANY))
    freeze = action(ledger_pb2.FreezeAccount(address=COMPANY.address, reason="court order"))
    pid = submit(ledger, freeze, GRANT_VERIFIER)
    # Meanwhile the shortcut grants the same role: the proposal's grant will find it held.
    grant = ledger_pb2.GrantRole(address=ISSUER.address, role=ledger_pb2.ROLE_VERIFIER)
    ledger.ok(VALIDATORS[0], grant, cosigners=VALIDATORS[1:])
    votes(ledger, pid, VALIDATORS[:2])
    receipt = ledger.ok(VALIDATORS[2], vote(pid))  # the vote itself is a success
    assert [e.type for e in receipt.events] == ["cast_vote", "proposal_failed"]
    failed = stored(ledger, pid)
    assert (failed.status, failed.error_code) == ("failed", "role_exists")
    assert failed.error.startswith("action 2 (grant_role)")
    assert ledger.state.get(state_keys.frozen_key(COMPANY.address)) is None  # all or nothing
    assert ledger.state.get(state_keys.proposal_vote_key(pid, VALIDATORS[2].address))


def test_the_shortcut_counts_power_of_operators_who_signed() -> None:
    chain = Ledger(weighted_genesis(10, 1, 1, 1))
    grant = ledger_pb2.GrantRole(address=ISSUER.address, role=ledger_pb2.ROLE_VERIFIER)
    assert chain.submit(VALIDATORS[1], grant, cosigners=VALIDATORS[2:]).error_code == (
        "insufficient_validator_signatures"
    )  # three signatures but power 3 of 13
    chain.ok(VALIDATORS[0], grant)  # power 10 of 13 alone
    assert has_role_of(chain, ISSUER.address, "verifier")


def test_a_heavy_validator_alone_passes_a_proposal() -> None:
    chain = Ledger(weighted_genesis(10, 1, 1, 1))
    pid = submit(chain, GRANT_VERIFIER)
    receipt = chain.ok(VALIDATORS[0], vote(pid))
    assert dict(receipt.events[0].attributes)["power"] == "10"
    assert stored(chain, pid).status == "passed"


def test_separate_operator_keys_vote_and_sign_for_their_validators() -> None:
    operators = [key(f"operator-{i}") for i in range(4)]
    base = make_genesis()
    genesis = replace(
        base,
        validators=tuple(
            replace(v, operator=o.address) for v, o in zip(base.validators, operators, strict=True)
        ),
    )
    chain = Ledger(genesis)
    assert chain.submit(VALIDATORS[0], proposal(GRANT_VERIFIER)).error_code == (
        "not_validator_operator"
    )
    pid = int(
        dict(chain.ok(operators[0], proposal(GRANT_VERIFIER)).events[0].attributes)["proposal_id"]
    )
    assert chain.submit(VALIDATORS[1], vote(pid)).error_code == "not_validator_operator"
    votes(chain, pid, operators[:3])
    assert stored(chain, pid).status == "passed"
    revoke = ledger_pb2.RevokeRole(address=ISSUER.address, role=ledger_pb2.ROLE_VERIFIER)
    assert chain.submit(VALIDATORS[0], revoke, cosigners=VALIDATORS[1:]).error_code == (
        "not_validator_operator"
    )
    chain.ok(operators[0], revoke, cosigners=operators[1:3])
    assert not has_role_of(chain, ISSUER.address, "verifier")


def test_params_changed_by_a_proposal_govern_the_next_block(ledger: Ledger) -> None:
    change = action(
        ledger_pb2.ChangeParams(
            changes=[
                ledger_pb2.ParamChange(name="buffer_share_bps", value="1500"),
                ledger_pb2.ParamChange(name="limits.max_block_txs", value="5000"),
                ledger_pb2.ParamChange(name="residents.utc_offset_minutes", value="-300"),
            ]
        )
    )
    pid = submit(ledger, change)
    votes(ledger, pid, VALIDATORS[:2])
    ledger.ok(VALIDATORS[2], vote(pid))
    params = get_params(ledger.state)
    assert (params.buffer_share_bps, params.limits.max_block_txs) == (1500, 5000)
    assert params.residents.utc_offset_minutes == -300
    assert ledger.state.get(state_keys.NEXT_PARAMS) is None


def test_an_account_registered_by_a_proposal_action_is_a_bureau(ledger: Ledger) -> None:
    new = key("bureau-node-4")
    add = action(
        ledger_pb2.AddValidator(
            name="bureau-node-4", public_key=new.public_key, network_address="127.0.0.1:26654"
        )
    )
    pid = submit(ledger, add)
    votes(ledger, pid, VALIDATORS[:3])
    assert get_account(ledger.state, new.address).account.kind == "bureau"
    assert len(validators_at(ledger.state, ledger.height + 2)) == 5
