"""ReportEvidence: a validator's double vote is recorded on chain, once, by a validator."""

from __future__ import annotations

import pytest

from carbon_ticket.chain import list_evidence
from carbon_ticket.chain.records import Evidence
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import ISSUER, VALIDATORS, Ledger, check_code


def _vote(block: bytes, *, height: int = 7, round_: int = 1, index: int = 2) -> ledger_pb2.Vote:
    return ledger_pb2.Vote(
        type=ledger_pb2.VOTE_TYPE_PREVOTE, height=height, round=round_, block_hash=block,
        validator_index=index, signature=b"\x05" * 64,
    )  # fmt: skip


def report(a: ledger_pb2.Vote, b: ledger_pb2.Vote) -> ledger_pb2.ReportEvidence:
    return ledger_pb2.ReportEvidence(evidence=ledger_pb2.DuplicateVoteEvidence(vote_a=a, vote_b=b))


def test_a_validator_records_a_double_vote_for_auditors() -> None:
    chain = Ledger()
    msg = report(_vote(b"\x01" * 32), _vote(b"\x02" * 32))
    receipt = chain.ok(VALIDATORS[0], msg)
    (record,) = list_evidence(chain.state)
    assert isinstance(record, Evidence)
    assert record.offender == VALIDATORS[2].address and record.validator_index == 2
    assert (record.height, record.round, record.vote_type) == (7, 1, 1)
    assert record.reporter == VALIDATORS[0].address and record.reported_height == chain.height
    assert ledger_pb2.DuplicateVoteEvidence.FromString(record.evidence) == msg.evidence
    assert list_evidence(chain.state, VALIDATORS[2].address) == [record]
    assert list_evidence(chain.state, VALIDATORS[1].address) == []
    attrs = dict(receipt.events[0].attributes)
    assert receipt.events[0].type == "evidence" and attrs["vote_type"] == "prevote"
    # A nil vote against a block vote conflicts too.
    chain.ok(VALIDATORS[1], report(_vote(b"", round_=2), _vote(b"\x03" * 32, round_=2)))
    assert len(list_evidence(chain.state)) == 2


def test_the_same_double_vote_is_recorded_once() -> None:
    chain = Ledger()
    msg = report(_vote(b"\x01" * 32), _vote(b"\x02" * 32))
    chain.ok(VALIDATORS[0], msg)
    receipt = chain.submit(VALIDATORS[1], msg)
    assert receipt.error_code == "evidence_exists"


def test_only_validators_report_and_only_validators_are_reported() -> None:
    chain = Ledger()
    receipt = chain.submit(ISSUER, report(_vote(b"\x01" * 32), _vote(b"\x02" * 32)))
    assert receipt.error_code == "missing_role"
    receipt = chain.submit(VALIDATORS[0], report(_vote(b"\x01" * 32, index=9),
                                                 _vote(b"\x02" * 32, index=9)))  # fmt: skip
    assert receipt.error_code == "unknown_validator"
    assert list_evidence(chain.state) == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (_vote(b"\x01" * 32), _vote(b"\x01" * 32)),  # no conflict
        (_vote(b"\x01" * 32), _vote(b"\x02" * 32, height=8)),
        (_vote(b"\x01" * 32), _vote(b"\x02" * 32, round_=2)),
        (_vote(b"\x01" * 32), _vote(b"\x02" * 32, index=3)),
        (_vote(b"\x01" * 31), _vote(b"\x02" * 32)),
    ],
)
def test_malformed_evidence_is_refused_at_admission(a: ledger_pb2.Vote, b: ledger_pb2.Vote) -> None:
    raw = Ledger().tx(VALIDATORS[0], report(a, b))
    assert check_code(raw) in {"malformed_evidence", "invalid_hash"}
