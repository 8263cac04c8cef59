"""LedgerClient without a node: signing info, a wait past the deadline, NFC text, and the
checks the wallet makes before signing."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.tx import tx_hash
from carbon_ticket.cli.client import (
    LedgerClient,
    Shortfall,
    balance_shortfall,
    debits,
    make_body,
    missing_signatures,
)
from carbon_ticket.proto import ledger_pb2, services_pb2


class _Deadline(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.DEADLINE_EXCEEDED


class FakeStub:
    """Answers GetSigningInfo with a fixed reply; SubmitTx runs into the call's deadline."""

    def __init__(self, next_nonce: int) -> None:
        self.info = services_pb2.SigningInfo(chain_id="carbon-test", next_nonce=next_nonce)
        self.requests: list[services_pb2.GetSigningInfoRequest] = []

    def GetSigningInfo(self, request: Any, timeout: float) -> services_pb2.SigningInfo:
        self.requests.append(request)
        return self.info

    def SubmitTx(self, request: Any, timeout: float) -> services_pb2.SubmitTxResponse:
        raise _Deadline()


def test_one_call_brings_the_nonce_and_the_chain_id() -> None:
    stub = FakeStub(5)
    client = LedgerClient(stub)
    assert client.next_nonce("ct1x") == 5
    assert client.chain_id == "carbon-test"  # learnt from the same call, not asked again
    assert len(stub.requests) == 1


def test_a_wait_that_outlasts_the_deadline_reports_the_tx_as_not_committed() -> None:
    client = LedgerClient(FakeStub(0), timeout=0.1)
    body = make_body("carbon-test", "ct1x", 0, ledger_pb2.RegisterAccount(name="a"))
    raw = ledger_pb2.TxEnvelope(body=body.SerializeToString(deterministic=True)).SerializeToString()
    reply = client.submit(raw, wait=True)
    assert (reply.tx_hash, reply.committed) == (tx_hash(raw, "carbon-test"), False)
    with pytest.raises(grpc.RpcError):
        client.submit(raw, wait=False)  # without a wait, a deadline is an unreachable node


def test_the_wallet_signs_nfc_text() -> None:
    retire = ledger_pb2.Retire(beneficiary="Cafe\u0301", event="Games", period=ledger_pb2.Period())
    body = make_body("chain", "ct1x", 0, retire, memo="re\u0301sume\u0301")
    assert (body.retire.beneficiary, body.memo) == ("Caf\u00e9", "r\u00e9sum\u00e9")
    transfer = ledger_pb2.Transfer(entries=[ledger_pb2.TransferEntry(to="ct1x", batch_id="B")])
    assert make_body("chain", "ct1x", 0, transfer).transfer.entries[0].to == "ct1x"


def _transfer(*entries: tuple[str, int]) -> ledger_pb2.Transfer:
    return ledger_pb2.Transfer(
        entries=[
            ledger_pb2.TransferEntry(to="ct1x", batch_id=b, amount_grams=g) for b, g in entries
        ]
    )


def test_debits_sum_a_transfer_per_batch_and_count_retire_and_cancel() -> None:
    assert debits(_transfer(("A", 5), ("B", 1), ("A", 7))) == {"A": 12, "B": 1}
    assert debits(ledger_pb2.Retire(batch_id="A", amount_grams=3)) == {"A": 3}
    assert debits(ledger_pb2.Cancel(batch_id="C", amount_grams=4)) == {"C": 4}
    assert debits(ledger_pb2.RegisterAccount(name="a")) == {}


def test_a_debit_above_the_balance_is_a_shortfall() -> None:
    info = services_pb2.SigningInfo(balances=[services_pb2.Balance(batch_id="A", amount_grams=10)])
    assert balance_shortfall({"A": 10}, info) is None
    assert balance_shortfall({"A": 11}, info) == Shortfall("A", 11, 10)
    assert balance_shortfall({"B": 1}, info) == Shortfall("B", 1, 0)  # not held at all


@pytest.mark.parametrize(
    ("validators", "signed", "expected"),
    [(4, 2, (1, 2)), (4, 3, (0, 3)), (3, 2, (1, 2)), (1, 0, (1, 0)), (1, 1, (0, 1))],
)
def test_governance_needs_more_than_two_thirds_of_the_validators(
    validators: int, signed: int, expected: tuple[int, int]
) -> None:
    keys = [PrivateKey.generate() for _ in range(validators)]
    members = [
        services_pb2.ValidatorInfo(name=f"v{i}", public_key=k.public_key, address=k.address)
        for i, k in enumerate(keys)
    ]
    outsider = PrivateKey.generate().public_key  # signatures of non-validators do not count
    signer_keys = [k.public_key for k in keys[:signed]] + [outsider]
    assert missing_signatures(signer_keys, members) == expected
