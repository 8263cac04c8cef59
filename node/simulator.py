"""``LedgerSimulator``: the node's ``Simulator`` port, running ``chain.simulate`` on its store.

It reads the committed store and the mempool's nonces and writes to neither: the simulated
transaction runs on a throw-away overlay and is never admitted. A nonce too far ahead for the
mempool (``[mempool] max_nonce_gap``) gets the refusal ``SubmitTx`` would give, ``nonce_too_high``:
execution takes a simulated nonce as the next one and would otherwise call it a success.
"""

from __future__ import annotations

from collections.abc import Callable

from carbon_ticket.chain.errors import NotFound, PreconditionFailed
from carbon_ticket.chain.execute import BlockContext, result_code
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.results import TxResult
from carbon_ticket.chain.simulate import (
    Simulation,
    fill_draft,
    read_draft,
    simulate_tx,
    unsigned_tx,
)
from carbon_ticket.chain.state import expected_nonce
from carbon_ticket.chain.store import StoreView
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.node.params import LimitsSource, limits_of
from carbon_ticket.node.ports import PendingTxs

__all__ = ["LedgerSimulator"]

CheckTx = Callable[[bytes, str, Limits], SignedTx]


class LedgerSimulator:
    """Simulates one transaction against the committed state (see chain/simulate.py)."""

    def __init__(
        self,
        chain_id: str,
        store: StoreView,
        pending: PendingTxs,
        check_tx: CheckTx,
        limits: LimitsSource,
        clock_ms: Callable[[], int],
        max_nonce_gap: int,
    ) -> None:
        self._chain_id = chain_id
        self._store = store
        self._pending = pending
        self._check_tx = check_tx  # the admission check: signatures, co-signers, evidence
        self._limits_of = limits_of(limits)  # read each time: governance may change them
        self._clock_ms = clock_ms
        self._max_nonce_gap = max_nonce_gap  # the mempool's: how far ahead a nonce may be

    def simulate(self, raw: bytes) -> Simulation:
        """The receipt ``raw`` would get; InvalidTransaction when it is malformed."""
        limits = self._limits_of()
        draft = read_draft(raw, limits)
        next_nonce = self._next_nonce(draft.body.signer)
        if draft.needs_filling:
            draft = fill_draft(draft, self._chain_id, next_nonce)
        if draft.signed:
            tx = self._check_tx(raw, self._chain_id, limits)
        else:
            tx = unsigned_tx(draft, self._chain_id, limits, self._store)
        store = self._store
        last = store.last_header()
        ctx = BlockContext(
            chain_id=self._chain_id,
            height=store.height + 1,
            # The next block's time is not known yet: now, but never before the last block.
            time_ms=max(self._clock_ms(), last.time_ms if last is not None else 0),
            prev_app_hash=store.app_hash,
        )
        result = self._too_far_ahead(tx) or simulate_tx(store, ctx, tx, next_nonce)
        return Simulation(
            result=result,
            chain_id=draft.body.chain_id,
            nonce=draft.body.nonce,
            signatures_verified=draft.signed,
            height=store.height,
        )

    def _too_far_ahead(self, tx: SignedTx) -> TxResult | None:
        """The mempool's refusal of a nonce ``max_nonce_gap`` or more ahead of the committed
        one (as ``Mempool.admit`` words it), or None."""
        try:
            committed = expected_nonce(self._store, tx.signer)
        except NotFound:
            return None  # unregistered: execution reports it (unknown_signer)
        nonce = tx.body.nonce
        if nonce < committed + self._max_nonce_gap:
            return None
        error = PreconditionFailed(
            f"nonce {nonce} of {tx.signer} is too far ahead of the next nonce {committed}",
            "nonce_too_high",
        )
        return TxResult(
            tx_hash=tx.tx_hash,
            code=result_code(error),
            error_code=error.code,
            message=error.message,
            accounts=(tx.signer,),
        )

    def _next_nonce(self, signer: str) -> int:
        try:
            return self._pending.next_nonce(signer)
        except NotFound:
            return 0  # unregistered: execution reports it (unknown_signer)
