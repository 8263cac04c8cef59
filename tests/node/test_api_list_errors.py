"""Empty ids and page parameters answered as docs/api.md's "Errors" says every RPC answers them,
through gRPC from an in-process API over a ledger with an order and exports.

Reproductions (2026-12-04):
- ``GetOrder`` and ``GetProposal`` without an id (proto3 reads it as 0) answered ``NOT_FOUND``
  (``unknown_order``, ``unknown_proposal``), where every other RPC refuses an empty required
  field with ``INVALID_ARGUMENT missing_field`` naming it;
- ``ExportList`` refused a bad page token with ``invalid_page_token`` (every other list says
  ``bad_page_token``), answered ``INTERNAL`` for the token "²" (``str.isdigit`` took it, ``int``
  did not), took a token of 2^64 and beyond, and refused a ``page_size`` over 1000 with
  ``invalid_page_size``, where every other list caps it.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from carbon_ticket.chain.results import BlockResult
from carbon_ticket.chain.store import MemoryStore
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.chain.conftest import BATCH_ID, CHAIN_ID, ISSUER, T
from tests.chain.market import market_ledger, sell
from tests.node.api_inprocess import Stub, refusal, serve_api

EXPORTS = 3


@pytest.fixture(scope="module")
def store() -> Iterator[MemoryStore]:
    """A market ledger with an order and ``EXPORTS`` exports, as a store."""
    chain = market_ledger()
    chain.ok(ISSUER, sell())
    for n in range(EXPORTS):
        export = ledger_pb2.ExportTickets(
            batch_id=BATCH_ID,
            amount_grams=T,
            registry="VERRA",
            account=f"VCS-ACCT-{n}",
            reason="sold to an overseas buyer",
        )
        chain.ok(ISSUER, export)
    store = MemoryStore()
    writes: dict[bytes, bytes | None] = dict(chain.state.data)
    store.init_genesis(CHAIN_ID, b"{}", BlockResult(writes=writes, app_hash=chain.app_hash))
    yield store
    store.close()


def test_get_order_and_get_proposal_without_an_id_name_the_missing_field(
    store: MemoryStore,
) -> None:
    async def calls(stub: Stub) -> list[tuple[grpc.StatusCode, str, str]]:
        assert (await stub.GetOrder(services_pb2.GetOrderRequest(order_id=1))).order_id == 1
        return [
            await refusal(stub.GetOrder(services_pb2.GetOrderRequest())),
            await refusal(stub.GetProposal(services_pb2.GetProposalRequest())),
            await refusal(stub.GetOrder(services_pb2.GetOrderRequest(order_id=2))),
            await refusal(stub.GetProposal(services_pb2.GetProposalRequest(proposal_id=1))),
        ]

    no_order, no_proposal, unknown_order, unknown_proposal = serve_api(store, calls)
    missing = (grpc.StatusCode.INVALID_ARGUMENT, "missing_field")
    assert (no_order[0], no_order[2]) == missing and "order_id is required" in no_order[1]
    assert (no_proposal[0], no_proposal[2]) == missing
    assert "proposal_id is required" in no_proposal[1]
    # An id that names nothing is still NOT_FOUND.
    assert (unknown_order[0], unknown_order[2]) == (grpc.StatusCode.NOT_FOUND, "unknown_order")
    assert unknown_proposal[0] == grpc.StatusCode.NOT_FOUND
    assert unknown_proposal[2] == "unknown_proposal"


@pytest.mark.parametrize("token", ["x", "-1", "1.0", " 1", "\u00b2", "1" + "0" * 20, str(2**64)])
def test_export_list_refuses_a_bad_token_as_every_list_does(store: MemoryStore, token: str) -> None:
    async def calls(stub: Stub) -> tuple[tuple[grpc.StatusCode, str, str], ...]:
        return (
            await refusal(stub.ExportList(services_pb2.ExportListRequest(page_token=token))),
            await refusal(stub.ListOrders(services_pb2.ListOrdersRequest(page_token=token))),
        )

    exports, orders = serve_api(store, calls)
    assert (exports[0], exports[2]) == (orders[0], orders[2])
    assert (exports[0], exports[2]) == (grpc.StatusCode.INVALID_ARGUMENT, "bad_page_token")


def test_export_list_caps_an_oversized_page_as_every_list_does(store: MemoryStore) -> None:
    async def calls(stub: Stub) -> list[list[str]]:
        pages = []
        for size in (1001, 2**32 - 1):
            page = await stub.ExportList(services_pb2.ExportListRequest(page_size=size))
            assert not page.next_page_token
            pages.append([e.export_id for e in page.items])
        orders = await stub.ListOrders(services_pb2.ListOrdersRequest(page_size=2**32 - 1))
        assert len(orders.items) == 1 and not orders.next_page_token  # the others: capped too
        # Any u64 is a token (past the last export: an empty last page).
        last = await stub.ExportList(services_pb2.ExportListRequest(page_token=str(2**64 - 1)))
        assert not last.items and not last.next_page_token
        # A small page still pages, by its token, to the same exports.
        walked: list[str] = []
        token = ""
        while True:
            request = services_pb2.ExportListRequest(page_size=2, page_token=token)
            page = await stub.ExportList(request)
            walked += [e.export_id for e in page.items]
            token = page.next_page_token
            if not token:
                return [*pages, walked]

    big, biggest, walked = serve_api(store, calls)
    assert len(big) == EXPORTS and big == biggest == walked
