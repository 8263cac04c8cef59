"""process_register_account, process_grant_role and process_revoke_role."""

from __future__ import annotations

from carbon_ticket.chain import get_account
from carbon_ticket.chain.state import has_role
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    COMPANY,
    ISSUER,
    REGISTRAR,
    RESIDENT,
    VALIDATORS,
    Ledger,
    key,
    register_account,
)

ISSUER_ROLE = ledger_pb2.ROLE_ISSUER


# ---------------------------------------------------------------- register_account


def test_register_account(ledger: Ledger) -> None:
    receipt = ledger.ok(
        REGISTRAR, register_account(RESIDENT, ledger_pb2.ACCOUNT_KIND_RESIDENT, "Li Na")
    )
    view = get_account(ledger.state, RESIDENT.address)
    assert (view.account.kind, view.account.name, view.nonce, view.roles) == (
        "resident",
        "Li Na",
        0,
        (),
    )
    assert view.account.registered_by == REGISTRAR.address
    assert receipt.accounts == tuple(sorted({REGISTRAR.address, RESIDENT.address}))
    assert receipt.events[0].type == "register_account"


def test_a_resident_account_needs_no_name_on_chain(ledger: Ledger) -> None:
    # Privacy (issue 15): residents' personal data belongs in the app's database
    ledger.ok(REGISTRAR, register_account(RESIDENT, ledger_pb2.ACCOUNT_KIND_RESIDENT, ""))
    assert get_account(ledger.state, RESIDENT.address).account.name == ""


def test_register_account_needs_registrar_role(ledger: Ledger) -> None:
    receipt = ledger.submit(ISSUER, register_account(RESIDENT))
    assert (receipt.code, receipt.error_code) == (3, "missing_role")
    assert "registrar role" in receipt.message


def test_register_account_twice_is_a_duplicate(ledger: Ledger) -> None:
    ledger.ok(REGISTRAR, register_account(COMPANY))
    receipt = ledger.submit(REGISTRAR, register_account(COMPANY, name="Again"))
    assert (receipt.code, receipt.error_code) == (5, "account_exists")
    assert get_account(ledger.state, COMPANY.address).account.name == "Zhejiang Green Energy Co."


def test_genesis_accounts_cannot_be_registered_again(ledger: Ledger) -> None:
    assert ledger.submit(REGISTRAR, register_account(ISSUER)).error_code == "account_exists"


def test_unregistered_account_cannot_sign(ledger: Ledger) -> None:
    result = ledger.run([ledger.tx(RESIDENT, register_account(COMPANY))])
    assert result.receipts[0].error_code == "unknown_signer"
    assert result.writes == {}


# ---------------------------------------------------------------- governance


def grant(address: str, role: ledger_pb2.Role = ISSUER_ROLE) -> ledger_pb2.GrantRole:
    return ledger_pb2.GrantRole(address=address, role=role)


def revoke(address: str, role: ledger_pb2.Role = ISSUER_ROLE) -> ledger_pb2.RevokeRole:
    return ledger_pb2.RevokeRole(address=address, role=role)


def test_grant_role_with_three_of_four_validators(ledger: Ledger) -> None:
    ledger.ok(REGISTRAR, register_account(COMPANY))
    receipt = ledger.ok(VALIDATORS[0], grant(COMPANY.address), cosigners=VALIDATORS[1:3])
    assert has_role(ledger.state, "issuer", COMPANY.address)
    assert receipt.events[0].attributes == (("address", COMPANY.address), ("role", "issuer"))
    assert get_account(ledger.state, COMPANY.address).roles == ("issuer",)


def test_grant_role_with_two_of_four_validators_is_denied(ledger: Ledger) -> None:
    ledger.ok(REGISTRAR, register_account(COMPANY))
    receipt = ledger.submit(VALIDATORS[0], grant(COMPANY.address), cosigners=VALIDATORS[1:2])
    assert (receipt.code, receipt.error_code) == (3, "insufficient_validator_signatures")
    assert "at least 3" in receipt.message and "signers hold 2" in receipt.message
    assert not has_role(ledger.state, "issuer", COMPANY.address)


def test_non_validator_cosigners_do_not_count(ledger: Ledger) -> None:
    ledger.ok(REGISTRAR, register_account(COMPANY))
    outsiders = [REGISTRAR, ISSUER, key("x")]
    receipt = ledger.submit(
        VALIDATORS[0], grant(COMPANY.address), cosigners=[VALIDATORS[1], *outsiders]
    )
    assert receipt.error_code == "insufficient_validator_signatures"


def test_grant_role_signer_must_be_a_validators_operator(ledger: Ledger) -> None:
    ledger.ok(REGISTRAR, register_account(COMPANY))
    receipt = ledger.submit(REGISTRAR, grant(COMPANY.address), cosigners=VALIDATORS)
    assert (receipt.code, receipt.error_code) == (3, "not_validator_operator")


def test_grant_role_to_unregistered_account(ledger: Ledger) -> None:
    receipt = ledger.submit(VALIDATORS[0], grant(COMPANY.address), cosigners=VALIDATORS)
    assert (receipt.code, receipt.error_code) == (4, "unknown_account")


def test_grant_role_twice_is_a_duplicate(ledger: Ledger) -> None:
    receipt = ledger.submit(VALIDATORS[0], grant(ISSUER.address), cosigners=VALIDATORS)
    assert (receipt.code, receipt.error_code) == (5, "role_exists")


def test_revoke_role(ledger: Ledger) -> None:
    ledger.ok(VALIDATORS[1], revoke(ISSUER.address), cosigners=VALIDATORS[2:])
    assert not has_role(ledger.state, "issuer", ISSUER.address)
    # The former issuer can no longer act as one.
    receipt = ledger.submit(
        ISSUER, ledger_pb2.GrantRole(address=ISSUER.address, role=ISSUER_ROLE), cosigners=VALIDATORS
    )
    assert receipt.error_code == "not_validator_operator"


def test_revoke_role_not_held(ledger: Ledger) -> None:
    ledger.ok(REGISTRAR, register_account(COMPANY))
    receipt = ledger.submit(VALIDATORS[0], revoke(COMPANY.address), cosigners=VALIDATORS)
    assert (receipt.code, receipt.error_code) == (4, "role_not_held")


def test_revoke_role_needs_quorum(ledger: Ledger) -> None:
    receipt = ledger.submit(VALIDATORS[0], revoke(ISSUER.address))
    assert receipt.error_code == "insufficient_validator_signatures"
    assert has_role(ledger.state, "issuer", ISSUER.address)
