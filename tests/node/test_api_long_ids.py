"""Ids as long as the chain allows can be looked up through the API.

Reproduction (2026-12-03, found while adding GetVoucher): the API refused every id over 128
characters as ``field_too_long``, but ``limits.max_id_bytes`` (64 by default) is a governed
parameter with no ceiling, so on a chain that raised it a voucher or an external reference of
200 bytes could be redeemed and then never looked up.
"""

from __future__ import annotations

import dataclasses

import grpc
import pytest

from carbon_ticket.chain.results import BlockResult
from carbon_ticket.chain.store import MemoryStore
from carbon_ticket.proto import services_pb2
from tests.chain import conftest
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    ISSUER,
    MERCHANT,
    RESIDENT,
    funded_residents_ledger,
    make_residents_genesis,
    redeem,
    register_offer,
    transfer,
)
from tests.node.api_inprocess import Stub, refusal, serve_api

LONG_REF = "R" * 200


def test_a_reference_as_long_as_the_chains_limit_is_found_and_one_longer_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = make_residents_genesis()
    limits = dataclasses.replace(base.params.limits, max_id_bytes=300)
    monkeypatch.setattr(conftest, "LIMITS", limits)  # the test ledger's admission checks
    genesis = dataclasses.replace(base, params=dataclasses.replace(base.params, limits=limits))
    chain = funded_residents_ledger(genesis=genesis)
    chain.ok(MERCHANT, register_offer())
    chain.ok(ISSUER, transfer((RESIDENT, BATCH_ID, 5_000)))
    chain.ok(RESIDENT, redeem(LONG_REF))
    store = MemoryStore()
    writes: dict[bytes, bytes | None] = dict(chain.state.data)
    store.init_genesis(CHAIN_ID, b"{}", BlockResult(writes=writes, app_hash=chain.app_hash))

    async def calls(stub: Stub) -> tuple[services_pb2.RedemptionInfo, tuple[object, ...]]:
        def asked(ref: str) -> services_pb2.GetVoucherRequest:
            return services_pb2.GetVoucherRequest(merchant=MERCHANT.address, voucher_ref=ref)

        found = await stub.GetVoucher(asked(LONG_REF))
        return found, await refusal(stub.GetVoucher(asked("R" * 301)))

    try:
        found, too_long = serve_api(store, calls)
    finally:
        store.close()
    assert (found.voucher_ref, found.resident) == (LONG_REF, RESIDENT.address)
    assert (too_long[0], too_long[2]) == (grpc.StatusCode.INVALID_ARGUMENT, "field_too_long")
    assert "300" in str(too_long[1])
