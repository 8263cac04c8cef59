"""A small synchronous client of the public API: builds, signs and submits ledger transactions.

Used by the ``tx`` commands and ``demo``; it holds no ledger rules. What it needs to sign (the
chain id and the signer's pending-aware next nonce) comes in one call: ``SimulateTx`` of an
unsigned draft (the ``tx`` commands, which also learn the ledger's verdict), or
``GetSigningInfo``; in none when both are given.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from carbon_ticket.chain.crypto import PrivateKey, address_from_public_key
from carbon_ticket.chain.tx import encode_tx, tx_id
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc

__all__ = [
    "GOVERNANCE_KINDS",
    "MSG_FIELDS",
    "LedgerClient",
    "Shortfall",
    "balance_shortfall",
    "debits",
    "draft_envelope",
    "make_body",
    "missing_signatures",
    "normalize_text",
]

_READ_TIMEOUT = 10.0  # seconds for a read; a node that needs longer is in trouble

# Messages the ledger executes only with signatures of the operators of validators holding more
# than 2/3 of the power (chain/rules/governance.py): the multi-signature shortcut.
GOVERNANCE_KINDS = frozenset({"grant_role", "revoke_role", "appoint_issuer"})

# TxBody oneof field by message class, e.g. ledger_pb2.Transfer -> "transfer".
MSG_FIELDS: dict[str, str] = {
    f.message_type.name: f.name  # type: ignore[union-attr]
    for f in ledger_pb2.TxBody.DESCRIPTOR.oneofs_by_name["msg"].fields
}


def draft_envelope(body: ledger_pb2.TxBody) -> bytes:
    """An unsigned envelope of ``body``, for ``SimulateTx``."""
    return ledger_pb2.TxEnvelope(body=body.SerializeToString(deterministic=True)).SerializeToString(
        deterministic=True
    )


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


def debits(msg: Any) -> dict[str, int]:
    """Grams of each batch that ``msg`` takes from its signer's tradable balance (transfer,
    retire, cancel, sell, export); empty for other messages."""
    kind = MSG_FIELDS.get(type(msg).__name__, "")
    totals: dict[str, int] = {}
    if kind == "transfer":
        for entry in msg.entries:
            totals[entry.batch_id] = totals.get(entry.batch_id, 0) + entry.amount_grams
    elif kind in ("retire", "cancel", "sell", "export"):
        totals[msg.batch_id] = msg.amount_grams
    return totals


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A batch the signer holds too little of for the transaction."""

    batch_id: str
    needed_grams: int
    held_grams: int


def balance_shortfall(needed: dict[str, int], info: services_pb2.SigningInfo) -> Shortfall | None:
    """The first batch whose committed tradable balance (``info.balances``) is below ``needed``.

    Only committed balances count: a pending transaction may still lower one, so passing this
    check does not promise success; failing it does promise failure.
    """
    held = {b.batch_id: b.amount_grams for b in info.balances}
    for batch_id, grams in needed.items():
        if grams > held.get(batch_id, 0):
            return Shortfall(batch_id, grams, held.get(batch_id, 0))
    return None


def missing_signatures(
    signer_keys: Iterable[bytes], validators: Sequence[services_pb2.ValidatorInfo]
) -> tuple[int, int]:
    """(operator signatures still needed at least, validators whose operator signed) for a
    governance transaction.

    The ledger wants the operators of validators holding more than 2/3 of the power among the
    signers (a node older than issue 16 reports no operator and no power: the validator's own
    account, power 1).
    """
    signed = {address_from_public_key(k) for k in signer_keys}
    powers: dict[str, int] = {}
    for v in validators:
        voter = v.operator or v.address
        powers[voter] = powers.get(voter, 0) + (v.power or 1)
    total = sum(powers.values())
    present = sum(p for voter, p in powers.items() if voter in signed)
    counted = sum(1 for v in validators if (v.operator or v.address) in signed)
    needed = 0
    for power in sorted((p for voter, p in powers.items() if voter not in signed), reverse=True):
        if present * 3 > total * 2:
            break
        present += power
        needed += 1
    return needed, counted


class LedgerClient:
    """A LedgerService stub plus the chain id, with helpers to sign and submit transactions."""

    def __init__(
        self,
        stub: services_pb2_grpc.LedgerServiceStub,
        timeout: float = 30.0,
        chain_id: str | None = None,
    ) -> None:
        self.stub = stub
        self.timeout = timeout
        self._chain_id = chain_id

    @property
    def chain_id(self) -> str:
        """The node's chain id (asked once, unless given or learnt from ``signing_info``)."""
        if self._chain_id is None:
            self._chain_id = self.status().chain_id
        return self._chain_id

    def signing_info(self, address: str, batch_ids: Sequence[str] = ()) -> services_pb2.SigningInfo:
        """Chain id, next nonce (after the pending ones), the balances of ``batch_ids`` and the
        validator set, in one call; also remembers the chain id."""
        info: services_pb2.SigningInfo = self.stub.GetSigningInfo(
            services_pb2.GetSigningInfoRequest(address=address, batch_ids=list(batch_ids)),
            timeout=_READ_TIMEOUT,  # ``timeout`` is the commit wait, not a read's
        )
        self._chain_id = info.chain_id
        return info

    def simulate(self, raw: bytes) -> services_pb2.SimulateTxResponse:
        """The receipt ``raw`` would get, from a throw-away execution on the node; a draft
        (empty chain id, nonce 0, no signature) comes back with the chain id and nonce filled."""
        reply: services_pb2.SimulateTxResponse = self.stub.SimulateTx(
            services_pb2.SimulateTxRequest(tx=raw), timeout=_READ_TIMEOUT
        )
        if reply.chain_id:
            self._chain_id = reply.chain_id
        return reply

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

        The node counts the account's admitted, not yet committed transactions, so rerunning a
        command whose first attempt timed out does not collide with that attempt
        (``nonce_pending``), and two quick transactions get consecutive nonces.
        """
        return int(self.signing_info(address).next_nonce)

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
