"""LedgerClient without a node: pending-aware nonces, a wait past the deadline, NFC text."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from chain.tx import tx_hash
from cli.client import LedgerClient, make_body
from proto import ledger_pb2, services_pb2


class _Deadline(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.DEADLINE_EXCEEDED


class FakeStub:
    """Answers GetAccount with fixed nonces; SubmitTx runs into the call's deadline."""

    def __init__(self, nonce: int, next_nonce: int) -> None:
        self.info = services_pb2.AccountInfo(nonce=nonce, next_nonce=next_nonce)

    def GetAccount(self, request: Any, timeout: float) -> services_pb2.AccountInfo:
        return self.info

    def SubmitTx(self, request: Any, timeout: float) -> services_pb2.SubmitTxResponse:
        raise _Deadline()


@pytest.mark.parametrize(
    ("nonce", "next_nonce", "expected"),
    [(3, 5, 5), (3, 3, 3), (3, 0, 3)],  # 0: a node that predates next_nonce
    ids=["pending txs", "none pending", "old node"],
)
def test_the_wallet_signs_after_its_pending_txs(nonce: int, next_nonce: int, expected: int) -> None:
    assert LedgerClient(FakeStub(nonce, next_nonce)).next_nonce("ct1x") == expected  # type: ignore[arg-type]


def test_a_wait_that_outlasts_the_deadline_reports_the_tx_as_not_committed() -> None:
    client = LedgerClient(FakeStub(0, 0), timeout=0.1)  # type: ignore[arg-type]
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
