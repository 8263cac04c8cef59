"""The offline verifier on bundles of chains the in-memory ledger makes (ledger_bundles.py):
several transactions per block, a validator set change and a parameter change by governance.

An auditor's review: every field of such a bundle is tampered with in turn and each tampering
must fail with one line, while every untampered bundle of a valid chain must verify.
"""

from __future__ import annotations

import copy

import pytest

from carbon_ticket.chain import TxResult
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.cli.verify import BundleError, verify_bundle
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    COMPANY,
    ISSUER,
    OWNER,
    REGISTRAR,
    VALIDATORS,
    VERIFIER,
    T,
    anchor_data,
    attest_report,
    body_of,
    issue_batch,
    register_account,
    register_project,
    retire,
)
from tests.chain.governance import action, stored, submit, votes
from tests.cli.ledger_bundles import Bundle, ProvenLedger, header_json


def issued(chain: ProvenLedger) -> ProvenLedger:
    """The chain with the test project's batch issued to the bureau and a company registered."""
    chain.ok(REGISTRAR, register_account(OWNER, ledger_pb2.ACCOUNT_KIND_BUREAU, "Guyang"))
    chain.ok(REGISTRAR, register_account(COMPANY))
    chain.ok(ISSUER, register_project())
    chain.ok(ISSUER, anchor_data())
    chain.ok(VERIFIER, attest_report())
    chain.ok(ISSUER, issue_batch())
    return chain


def decide(chain: ProvenLedger, *actions: ledger_pb2.GovAction) -> int:
    """Pass a proposal with three of the four genesis operators; return the deciding height."""
    pid = submit(chain, *actions)
    votes(chain, pid, VALIDATORS[:3])
    assert stored(chain, pid).status == "passed", stored(chain, pid)
    return chain.height


def certificate_of(receipt: TxResult) -> str:
    """The id of the certificate a receipt's retire event names."""
    return next(dict(e.attributes) for e in receipt.events if e.type == "retire")["certificate_id"]


def proven(chain: ProvenLedger, bundle: Bundle) -> list[str]:
    return verify_bundle(bundle, chain.genesis).lines()


def refusal(chain: ProvenLedger, bundle: Bundle) -> str:
    with pytest.raises(BundleError) as info:
        verify_bundle(bundle, chain.genesis)
    assert "\n" not in str(info.value)
    return str(info.value)


# ---------------------------------------------------------------- untampered bundles verify


def test_a_retirement_under_limits_raised_by_governance_verifies() -> None:
    # The genesis allows 256-byte memos; governance raises it to 1024 and a wallet then retires
    # with a 600-byte memo. The node accepted it under the limits in force at its height, so the
    # certificate is valid; an offline check against the genesis limits refused it ("memo longer
    # than 256 bytes"), though no limit is part of what the proofs prove.
    chain = issued(ProvenLedger())
    change = ledger_pb2.ChangeParams(
        changes=[ledger_pb2.ParamChange(name="limits.max_memo_bytes", value="1024")]
    )
    decide(chain, action(change))
    body = body_of(ISSUER, retire(amount_grams=T), chain.nonce(ISSUER))
    body.memo = "m" * 600
    receipt = chain.run([encode_tx(body, [ISSUER])]).receipts[0]
    assert receipt.ok, receipt
    lines = proven(chain, chain.bundle(certificate_of(receipt)))
    assert lines[0].endswith("is valid")


# ---------------------------------------------------------------- what the verifier shows


def test_a_header_that_changes_no_set_is_no_set_change() -> None:
    # Any finalised header signed by the set reached so far was accepted as a "set change" when
    # it named its own set as the next: the bundle's author could pad the chain of changes and
    # the verifier printed "through 1 signed set changes" for a set that never changed.
    chain = issued(ProvenLedger())
    receipt = chain.ok(ISSUER, retire())
    bundle = chain.bundle(certificate_of(receipt))
    assert bundle["set_changes"] == []
    padded = copy.deepcopy(bundle)
    padded["set_changes"] = [{"header": header_json(chain.headers[3]), "commit": chain.commits[3],
                              "validators": bundle["validators"]}]  # fmt: skip
    assert "set_changes[0]: the header of height 3 names no new validator set" in refusal(
        chain, padded
    )
    assert not any("set changes" in line for line in proven(chain, bundle))
