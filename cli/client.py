"""A small synchronous client of the public API: builds, signs and submits ledger transactions.

Used by the ``tx`` commands and ``demo``; it holds no ledger rules. The signer's next nonce
comes from the node (``GetAccount``) unless given, and the chain id from ``GetStatus``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from chain.crypto import PrivateKey
from chain.tx import encode_tx, tx_id
from proto import ledger_pb2, services_pb2, services_pb2_grpc

__all__ = ["MSG_FIELDS", "LedgerClient", "make_body", "normalize_text"]

# TxBody oneof field by message class, e.g. ledger_pb2.Transfer -> "transfer".
MSG_FIELDS: dict[str, str] = {
    f.message_type.name: f.name  # type: ignore[union-attr]
    for f in ledger_pb2.TxBody.DESCRIPTOR.oneofs_by_name["msg"].fields
}


def make_body(
    chain_id: str, signer: str, nonce: int, msg: Any, memo: str = ""
) -> ledger_pb2.TxBody:
    """A TxBody carrying ``msg`` (any ledger message, e.g. ``ledger_pb2.Retire``)."""
    body = ledger_pb2.TxBody(chain_id=chain_id, signer=signer, nonce=nonce, memo=memo)
    getattr(body, MSG_FIELDS[type(msg).__name__]).CopyFrom(msg)
    normalize_text(body)
    return body


def normalize_text(message: Message) -> None:
    """Rewrite every text field of ``message`` (recursively) to Unicode NFC, in place.

    The ledger refuses text that is not NFC (it cannot rewrite signed bytes), so the wallet
    normalises what a person typed before signing.
    """
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_STRING:
            if field.is_repeated:
                value[:] = [unicodedata.normalize("NFC", v) for v in value]
            else:
                setattr(message, field.name, unicodedata.normalize("NFC", value))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value if field.is_repeated else [value]:
                normalize_text(item)


class LedgerClient:
    """A LedgerService stub plus the chain id, with helpers to sign and submit transactions."""

    def __init__(self, stub: services_pb2_grpc.LedgerServiceStub, timeout: float = 30.0) -> None:
        self.stub = stub
        self.timeout = timeout
        self._chain_id: str | None = None

    @property
    def chain_id(self) -> str:
        """The node's chain id (asked once)."""
        if self._chain_id is None:
            self._chain_id = self.status().chain_id
        return self._chain_id

    def status(self) -> services_pb2.StatusResponse:
        """The node's status."""
        return self.stub.GetStatus(services_pb2.StatusRequest(), timeout=self.timeout)

    def account(self, address: str) -> services_pb2.AccountInfo:
        """An account with roles, nonce and balances."""
        return self.stub.GetAccount(
            services_pb2.GetAccountRequest(address=address), timeout=self.timeout
        )

    def next_nonce(self, address: str) -> int:
        """The nonce a new transaction of ``address`` should carry, after its pending ones.

        The node counts the account's admitted, not yet committed transactions
        (``next_nonce``), so rerunning a command whose first attempt timed out does not
        collide with that attempt (``nonce_pending``). A node that predates the field sends 0.
        """
        info = self.account(address)
        return max(info.nonce, info.next_nonce)

    def build(
        self,
        msg: Any,
        keys: Sequence[PrivateKey],
        nonce: int | None = None,
        memo: str = "",
        signer: str | None = None,
    ) -> bytes:
        """Sign ``msg`` with every key; the first key's account (or ``signer``) pays the nonce."""
        signer = signer or keys[0].address
        if nonce is None:
            nonce = self.next_nonce(signer)
        return encode_tx(make_body(self.chain_id, signer, nonce, msg, memo), keys)

    def submit(self, raw: bytes, wait: bool = True) -> services_pb2.SubmitTxResponse:
        """Submit one envelope, by default waiting for its commit (grpc.RpcError on refusal).

        When the wait outlasts the call's deadline the reply says "not committed" with the tx
        id, like the node's own reply when its wait ends: the tx may still commit later.
        """
        request = services_pb2.SubmitTxRequest(tx=raw, wait_for_commit=wait)
        try:
            reply: services_pb2.SubmitTxResponse = self.stub.SubmitTx(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            if not wait or exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
            return services_pb2.SubmitTxResponse(tx_hash=_own_id(raw), committed=False)
        return reply

    def send(
        self, msg: Any, keys: Sequence[PrivateKey], wait: bool = True, **kwargs: Any
    ) -> services_pb2.SubmitTxResponse:
        """Build, sign and submit in one call."""
        return self.submit(self.build(msg, keys, **kwargs), wait)


def _own_id(raw: bytes) -> bytes:
    """The id of an envelope this wallet built (its body names the chain it is signed for)."""
    envelope = ledger_pb2.TxEnvelope.FromString(raw)
    return tx_id(ledger_pb2.TxBody.FromString(envelope.body).chain_id, envelope.body)
