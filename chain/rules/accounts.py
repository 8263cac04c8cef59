"""Account registration."""

from __future__ import annotations

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import AlreadyExists
from carbon_ticket.chain.records import ACCOUNT_KINDS, Account
from carbon_ticket.chain.rules._common import BlockContext, Effects, event, require_role
from carbon_ticket.chain.state import StateOverlay
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2

__all__ = ["process_register_account"]


def process_register_account(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.RegisterAccount
) -> Effects:
    """A registrar opens an account (company, resident, merchant, bureau) with nonce 0."""
    signer = tx.body.signer
    # Verify the signer is a registrar
    require_role(state, "registrar", signer, "registering an account")
    # Verify the address is not registered yet
    if state.get(keys.nonce_key(msg.address)) is not None:
        raise AlreadyExists(f"account {msg.address} is already registered", "account_exists")

    kind = ACCOUNT_KINDS[msg.kind]
    account = Account(msg.address, kind, msg.name, signer, ctx.height)
    state.set(keys.account_key(msg.address), account.encode())
    state.set(keys.nonce_key(msg.address), keys.encode_u64(0))
    return Effects(
        events=(
            event(
                "register_account",
                ("address", msg.address),
                ("kind", kind),
                ("name", msg.name),
                ("registrar", signer),
            ),
        ),
        accounts=tuple(sorted({signer, msg.address})),
    )
