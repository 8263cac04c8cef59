"""Freeze and unfreeze, parameter changes and project handover by proposal: pre-state, proposal
and votes, post-state."""

from __future__ import annotations

import pytest

from carbon_ticket.chain import BlockContext, get_batch, get_params, get_project
from carbon_ticket.chain import keys as state_keys
from carbon_ticket.chain.simulate import simulate_tx
from carbon_ticket.chain.state import expected_nonce
from carbon_ticket.chain.tx import decode_tx
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    ISSUER,
    ISSUER2,
    LIMITS,
    OPERATOR,
    OWNER,
    PROJECT_ID,
    RESIDENT,
    VALIDATORS,
    Ledger,
    T,
    add_second_issuer,
    anchor_data,
    award,
    award_points,
    data_hash,
    issue_batch,
    key,
    make_residents_genesis,
    transfer,
)
from tests.chain.governance import action, proposal, stored, submit, vote, votes


def decide(chain: Ledger, *actions: ledger_pb2.GovAction) -> int:
    """Submit and pass a proposal (three of four operators vote yes); return its id."""
    pid = submit(chain, *actions)
    votes(chain, pid, VALIDATORS[:3])
    assert stored(chain, pid).status == "passed", stored(chain, pid)
    return pid


def freeze(who: str, reason: str = "court order 2024-17") -> ledger_pb2.GovAction:
    return action(ledger_pb2.FreezeAccount(address=who, reason=reason))


def unfreeze(who: str) -> ledger_pb2.GovAction:
    return action(ledger_pb2.UnfreezeAccount(address=who))


def param(name: str, value: str) -> ledger_pb2.GovAction:
    return action(ledger_pb2.ChangeParams(changes=[ledger_pb2.ParamChange(name=name, value=value)]))


# ---------------------------------------------------------------- freeze


def test_a_frozen_account_cannot_send_but_still_receives(batch_ledger: Ledger) -> None:
    pid = decide(batch_ledger, freeze(COMPANY.address))
    nonce = expected_nonce(batch_ledger.state, COMPANY.address)
    refused = batch_ledger.submit(COMPANY, transfer((OWNER, BATCH_ID, T)))
    assert (refused.code, refused.error_code) == (2, "account_frozen")
    assert f"proposal {pid} (court order 2024-17)" in refused.message
    # The refusal consumed the nonce (it can never be replayed after an unfreeze).
    assert expected_nonce(batch_ledger.state, COMPANY.address) == nonce + 1
    batch_ledger.ok(ISSUER, transfer((COMPANY, BATCH_ID, T)))  # receiving is allowed
    decide(batch_ledger, unfreeze(COMPANY.address))
    batch_ledger.ok(COMPANY, transfer((OWNER, BATCH_ID, T)))
    assert batch_ledger.state.get(state_keys.frozen_key(COMPANY.address)) is None
    assert batch_ledger.state.get(state_keys.FROZEN_COUNT) == state_keys.encode_u64(0)


def test_a_frozen_issuer_can_no_longer_act_as_one(batch_ledger: Ledger) -> None:
    decide(batch_ledger, freeze(ISSUER.address))
    refused = batch_ledger.submit(ISSUER, anchor_data(data_hash=data_hash("x")))
    assert refused.error_code == "account_frozen"


def test_simulation_reports_a_frozen_signer(batch_ledger: Ledger) -> None:
    decide(batch_ledger, freeze(COMPANY.address))
    raw = batch_ledger.tx(COMPANY, transfer((OWNER, BATCH_ID, T)))
    tx = decode_tx(raw, CHAIN_ID, LIMITS)
    ctx = BlockContext(CHAIN_ID, batch_ledger.height + 1, 0, batch_ledger.app_hash)
    nonce = expected_nonce(batch_ledger.state, COMPANY.address)
    assert simulate_tx(batch_ledger.state, ctx, tx, nonce).error_code == "account_frozen"


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        (freeze(ISSUER.address), freeze(ISSUER.address), "already_frozen"),
        (unfreeze(ISSUER.address), None, "not_frozen"),
    ],
    ids=["freeze twice", "unfreeze an account not frozen"],
)
def test_freeze_table(
    ledger: Ledger,
    first: ledger_pb2.GovAction,
    second: ledger_pb2.GovAction | None,
    code: str,
) -> None:
    if second is None:
        assert ledger.submit(VALIDATORS[0], proposal(first)).error_code == code
        return
    decide(ledger, first)
    assert ledger.submit(VALIDATORS[0], proposal(second)).error_code == code


def test_a_frozen_account_cannot_become_a_validators_operator(ledger: Ledger) -> None:
    decide(ledger, freeze(ISSUER.address))
    newcomer = key("newcomer")
    add = action(
        ledger_pb2.AddValidator(
            name="newcomer",
            public_key=newcomer.public_key,
            network_address="newcomer.example:1",
            operator=ISSUER.address,
        )
    )
    assert ledger.submit(VALIDATORS[0], proposal(add)).error_code == "account_frozen"


# ---------------------------------------------------------------- parameters


def test_a_buffer_share_change_applies_from_the_next_block(attested_ledger: Ledger) -> None:
    pid = submit(attested_ledger, param("buffer_share_bps", "1000"))
    votes(attested_ledger, pid, VALIDATORS[:2])
    # The deciding vote and an issuance in one block: the issuance runs under the old share.
    same_block = attested_ledger.run(
        [
            attested_ledger.tx(VALIDATORS[2], vote(pid)),
            attested_ledger.tx(ISSUER, issue_batch(amount_grams=100 * T)),
        ]
    )
    assert all(r.ok for r in same_block.receipts)
    assert get_batch(attested_ledger.state, BATCH_ID).buffer == 20 * T  # 20 %
    assert get_params(attested_ledger.state).buffer_share_bps == 1000
    attested_ledger.ok(ISSUER, issue_batch(amount_grams=100 * T))
    assert get_batch(attested_ledger.state, f"{PROJECT_ID}-20230101-20231231-002").buffer == 10 * T


def test_a_lower_points_cap_refuses_what_it_permitted() -> None:
    chain = Ledger(make_residents_genesis(daily_cap=1_000))
    chain.ok(OPERATOR, award_points(award(points=300, ref="a")))
    decide(chain, param("rate_limits.points_daily_cap", "400"))
    receipt = chain.submit(OPERATOR, award_points(award(RESIDENT, points=300, ref="b")))
    assert receipt.error_code == "daily_cap_exceeded"  # 300 + 300 > 400 (1,000 permitted it)
    decide(chain, param("rate_limits.points_daily_cap", "0"))  # 0 = no cap
    assert chain.ok(OPERATOR, award_points(award(RESIDENT, points=300, ref="c"))).ok


def test_parameters_are_checked_together_after_all_actions() -> None:
    chain = Ledger()
    both = action(
        ledger_pb2.ChangeParams(
            changes=[
                ledger_pb2.ParamChange(name="governance.min_voting_period", value="20"),
                ledger_pb2.ParamChange(name="governance.default_voting_period", value="20"),
            ]
        )
    )
    decide(chain, both)
    governance = get_params(chain.state).governance
    assert (governance.min_voting_period, governance.default_voting_period) == (20, 20)
    # A proposal under the new minimum is refused.
    receipt = chain.submit(VALIDATORS[0], proposal(param("buffer_share_bps", "1"), period=10))
    assert receipt.error_code == "invalid_voting_period"


def test_a_signature_limit_below_the_shortcut_quorum_is_refused(ledger: Ledger) -> None:
    receipt = ledger.submit(VALIDATORS[0], proposal(param("limits.max_signatures", "2")))
    assert receipt.error_code == "invalid_param" and "max_signatures" in receipt.message


# ---------------------------------------------------------------- project handover


def test_a_project_handover_by_proposal(batch_ledger: Ledger) -> None:
    add_second_issuer(batch_ledger)
    handover = action(ledger_pb2.AppointIssuer(project_id=PROJECT_ID, issuer=ISSUER2.address))
    pid = submit(batch_ledger, handover)
    votes(batch_ledger, pid, VALIDATORS[:2])
    receipt = batch_ledger.ok(VALIDATORS[3], vote(pid))
    appointed = [dict(e.attributes) for e in receipt.events if e.type == "appoint_issuer"]
    assert appointed == [
        {"project_id": PROJECT_ID, "previous_issuer": ISSUER.address, "issuer": ISSUER2.address}
    ]
    assert get_project(batch_ledger.state, PROJECT_ID).issuer == ISSUER2.address
    loss = data_hash("handover-survey")
    batch_ledger.ok(ISSUER2, anchor_data(data_hash=loss, kind="survey"))
    refused = batch_ledger.submit(ISSUER, anchor_data(data_hash=data_hash("late"), kind="survey"))
    assert refused.error_code == "not_project_issuer"


@pytest.mark.parametrize(
    ("project_id", "issuer", "code"),
    [
        ("CN15-GY-9999", ISSUER.address, "unknown_project"),
        (PROJECT_ID, COMPANY.address, "missing_role"),
        (PROJECT_ID, ISSUER.address, "already_issuer"),
    ],
)
def test_handover_table(project_ledger: Ledger, project_id: str, issuer: str, code: str) -> None:
    handover = action(ledger_pb2.AppointIssuer(project_id=project_id, issuer=issuer))
    assert project_ledger.submit(VALIDATORS[0], proposal(handover)).error_code == code


def test_a_validator_cannot_rotate_to_a_frozen_accounts_key(ledger: Ledger) -> None:
    decide(ledger, freeze(ISSUER.address))
    rotate = action(
        ledger_pb2.RotateValidatorKey(
            public_key=VALIDATORS[2].public_key, new_public_key=ISSUER.public_key
        )
    )
    assert ledger.submit(VALIDATORS[0], proposal(rotate)).error_code == "account_frozen"
