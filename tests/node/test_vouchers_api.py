"""A merchant's vouchers through the public API (``GetVoucher``, ``ListVouchers``), served
in-process over a residents' chain: answers, refusals with the API's codes, paging by tokens,
and what a page reads from a LevelDB store.

Reproduction (2026-12-03): a merchant's till could not ask whether voucher X was redeemed, by
whom, when and for what, nor list the vouchers redeemed at it: the API had ``GetMerchant`` (totals
per offer and day) and ``ListRedemptions`` (a resident's own), and nothing per voucher.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from carbon_ticket.chain import keys
from carbon_ticket.chain.kvstore import KVStore
from carbon_ticket.chain.records import Redemption, Settlement
from carbon_ticket.chain.results import BlockResult
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.store import BlockStore, MemoryStore
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    ISSUER,
    MERCHANT,
    OPERATOR,
    RESIDENT,
    RESIDENT2,
    TODAY,
    Ledger,
    award,
    award_points,
    funded_residents_ledger,
    key,
    redeem,
    register_offer,
    transfer,
)
from tests.node.api_inprocess import CountingKV, Stub, refusal, serve_api

# Redeemed in this order; listed by their UTF-8 bytes: "QC/10" < "QC/7" < "été-3" < "水/2024-1"
TICKETS_REF = "\u6c34/2024-1"
POINTS_REFS = ("QC/7", "QC/10", "\u00e9t\u00e9-3")
MERCHANT_ADDRESS = MERCHANT.address
Refusal = tuple[grpc.StatusCode, str, str]


def residents_chain() -> tuple[Ledger, bytes]:
    """A residents' chain where two residents redeemed four vouchers at the merchant (one paid
    in tickets); returns it and the tickets redemption's tx id."""
    chain = funded_residents_ledger()
    chain.ok(MERCHANT, register_offer())
    points_offer = register_offer(
        offer_id="TEA", payment=ledger_pb2.OFFER_PAYMENT_POINTS, amount=100, max_redemptions=10
    )
    chain.ok(MERCHANT, points_offer)
    chain.ok(OPERATOR, award_points(award(points=500, ref="earn"), award(RESIDENT2, 500, "r2")))
    chain.ok(ISSUER, transfer((RESIDENT, BATCH_ID, 5_000)))
    tickets = chain.ok(RESIDENT, redeem(TICKETS_REF))
    for n, ref in enumerate(POINTS_REFS):
        chain.ok(RESIDENT2 if n % 2 else RESIDENT, redeem(ref, "TEA", batch_id=""))
    return chain, tickets.tx_hash


def store_of(chain: Ledger, store: BlockStore) -> BlockStore:
    writes: dict[bytes, bytes | None] = dict(chain.state.data)
    store.init_genesis(CHAIN_ID, b"{}", BlockResult(writes=writes, app_hash=chain.app_hash))
    return store


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[MemoryStore, bytes]]:
    chain, tickets_tx = residents_chain()
    store = MemoryStore()
    store_of(chain, store)
    yield store, tickets_tx
    store.close()


def test_get_voucher_says_who_redeemed_it_when_and_what_was_paid(
    served: tuple[MemoryStore, bytes],
) -> None:
    store, tickets_tx = served

    async def calls(stub: Stub) -> list[services_pb2.RedemptionInfo]:
        found = []
        for ref in (TICKETS_REF, "QC/10", unicodedata.normalize("NFD", POINTS_REFS[2])):
            request = services_pb2.GetVoucherRequest(merchant=MERCHANT_ADDRESS, voucher_ref=ref)
            found.append(await stub.GetVoucher(request))
        return found

    tickets, points, nfd = serve_api(store, calls)
    assert (tickets.resident, tickets.merchant, tickets.voucher_ref, tickets.offer_id) == (
        RESIDENT.address, MERCHANT_ADDRESS, TICKETS_REF, "SPRING-SERVICE")  # fmt: skip
    assert tickets.payment == ledger_pb2.OFFER_PAYMENT_GRAMS
    assert (tickets.amount_grams, tickets.points, tickets.day) == (2_000, 0, TODAY)
    assert tickets.certificate_id == certificate_id(tickets_tx)
    assert tickets.tx_hash == tickets_tx and tickets.height > 0 and tickets.time_ms > 0
    assert (points.resident, points.payment, points.points, points.amount_grams) == (
        RESIDENT2.address, ledger_pb2.OFFER_PAYMENT_POINTS, 100, 0)  # fmt: skip
    assert points.certificate_id == ""
    # A reference in another Unicode form is the one the wallet signed (NFC)
    assert (nfd.voucher_ref, nfd.resident) == (POINTS_REFS[2], RESIDENT.address)


def test_get_voucher_refuses_as_the_other_get_rpcs_do(served: tuple[MemoryStore, bytes]) -> None:
    store, _tx = served
    stranger = key("never-registered").address

    async def calls(stub: Stub) -> dict[str, Refusal]:
        def asked(merchant: str, ref: str) -> services_pb2.GetVoucherRequest:
            return services_pb2.GetVoucherRequest(merchant=merchant, voucher_ref=ref)

        return {
            "no merchant": await refusal(stub.GetVoucher(asked("", "QC/7"))),
            "bad merchant": await refusal(stub.GetVoucher(asked("ct1nope", "QC/7"))),
            "no ref": await refusal(stub.GetVoucher(asked(MERCHANT_ADDRESS, ""))),
            "long ref": await refusal(stub.GetVoucher(asked(MERCHANT_ADDRESS, "x" * 129))),
            "unknown ref": await refusal(stub.GetVoucher(asked(MERCHANT_ADDRESS, "QC/8"))),
            "unregistered": await refusal(stub.GetVoucher(asked(stranger, "QC/7"))),
            "no merchant's": await refusal(stub.GetVoucher(asked(RESIDENT.address, "QC/7"))),
        }

    found = serve_api(store, calls)
    invalid, missing = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
    assert found["no merchant"] == (invalid, "merchant is required", "missing_field")
    code, message, ledger_code = found["bad merchant"]
    assert (code, ledger_code) == (invalid, "invalid_address") and message.startswith("merchant:")
    assert found["no ref"] == (invalid, "voucher_ref is required", "missing_field")
    assert (found["long ref"][0], found["long ref"][2]) == (invalid, "field_too_long")
    code, message, ledger_code = found["unknown ref"]
    assert (code, ledger_code) == (missing, "unknown_voucher") and "'QC/8'" in message
    assert (found["unregistered"][0], found["unregistered"][2]) == (missing, "unknown_account")
    # An account that is no merchant's is answered as GetMerchant answers it: nothing redeemed
    assert (found["no merchant's"][0], found["no merchant's"][2]) == (missing, "unknown_voucher")


def listed(merchant: str, token: str = "", size: int = 0) -> services_pb2.ListVouchersRequest:
    return services_pb2.ListVouchersRequest(merchant=merchant, page_size=size, page_token=token)


async def walk(stub: Stub, merchant: str, size: int) -> list[services_pb2.RedemptionPage]:
    pages: list[services_pb2.RedemptionPage] = []
    token = ""
    while True:
        pages.append(await stub.ListVouchers(listed(merchant, token, size)))
        token = pages[-1].next_page_token
        if not token:
            return pages


def test_list_vouchers_pages_in_reference_order(served: tuple[MemoryStore, bytes]) -> None:
    store, _tx = served

    async def calls(stub: Stub) -> dict[int, list[services_pb2.RedemptionPage]]:
        return {size: await walk(stub, MERCHANT_ADDRESS, size) for size in (0, 1, 3, 4, 1001)}

    walked = serve_api(store, calls)
    everything = sorted([TICKETS_REF, *POINTS_REFS], key=str.encode)
    assert everything == ["QC/10", "QC/7", "\u00e9t\u00e9-3", TICKETS_REF]
    for size, pages in walked.items():
        assert [i.voucher_ref for p in pages for i in p.items] == everything, size
        assert {(p.count, p.height) for p in pages} == {(4, store.height)}
        assert all(p.items for p in pages)  # a token only when a voucher is left
    assert [len(p.items) for p in walked[3]] == [3, 1]
    assert [len(p.items) for p in walked[4]] == [4]  # exactly a page: no token
    first = walked[1][0].items[0]
    assert (first.voucher_ref, first.resident, first.points) == ("QC/10", RESIDENT2.address, 100)
    # Tokens are plain ASCII, whatever the reference
    assert all(p.next_page_token.isascii() for p in walked[1])


def test_list_vouchers_refuses_tokens_it_did_not_issue(served: tuple[MemoryStore, bytes]) -> None:
    store, _tx = served
    # Not hex, odd length, upper case, spaced, or bytes that are no UTF-8 text
    forged = ["x", "1.2", "QC/7", "514", "512F", "51 2f", "514g", "ff", "c3", "\u00b2", "0x51"]

    async def calls(stub: Stub) -> list[Refusal]:
        return [await refusal(stub.ListVouchers(listed(MERCHANT_ADDRESS, t))) for t in forged]

    for token, (code, message, ledger_code) in zip(forged, serve_api(store, calls), strict=True):
        assert (code, ledger_code) == (grpc.StatusCode.INVALID_ARGUMENT, "bad_page_token"), token
        assert "not one this API issued" in message


def test_list_vouchers_of_nobody_a_non_merchant_and_past_the_end(
    served: tuple[MemoryStore, bytes],
) -> None:
    store, _tx = served
    stranger = key("never-registered").address
    past_the_end = "\U0010ffff".encode().hex()

    async def calls(stub: Stub) -> tuple[list[Refusal], list[services_pb2.RedemptionPage]]:
        refused = [await refusal(stub.ListVouchers(listed(m))) for m in ("", "ct1x", stranger)]
        answered = [
            await stub.ListVouchers(listed(RESIDENT.address)),
            await stub.ListVouchers(listed(MERCHANT_ADDRESS, past_the_end)),
        ]
        return refused, answered

    (empty, malformed, unregistered), (resident, past) = serve_api(store, calls)
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    assert empty == (invalid, "merchant is required", "missing_field")
    assert (malformed[0], malformed[2]) == (invalid, "invalid_address")
    assert (unregistered[0], unregistered[2]) == (grpc.StatusCode.NOT_FOUND, "unknown_account")
    # As GetMerchant: an account that is no merchant's has nothing redeemed at it
    assert (list(resident.items), resident.next_page_token, resident.count) == ([], "", 0)
    assert (list(past.items), past.next_page_token, past.count) == ([], "", 4)


BULK = 2_000
PAGE = 10


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KVStore, CountingKV]]:
    """The chain plus ``BULK`` more redemptions at the merchant, in a LevelDB store read through
    a counting backend."""
    chain, _tx = residents_chain()
    for n in range(BULK):
        ref = f"B-{n:05d}"
        chain.state.data[keys.voucher_key(MERCHANT_ADDRESS, ref)] = Redemption(
            MERCHANT_ADDRESS, ref, "TEA", RESIDENT.address, "points", 100, TODAY, "", 9, 9,
            bytes(32),
        ).encode()  # fmt: skip
    chain.state.data[keys.settlement_key(MERCHANT_ADDRESS)] = Settlement(BULK + 4).encode()
    store = LevelDBStore.open(Path(tmp_path_factory.mktemp("vouchers")) / "db")
    store_of(chain, store)
    counted = CountingKV(store.kv)
    yield KVStore(counted, "counted"), counted
    store.close()


def test_a_page_of_vouchers_reads_its_size_not_the_merchant_list(
    bulk: tuple[KVStore, CountingKV],
) -> None:
    store, counted = bulk

    async def calls(stub: Stub) -> list[tuple[list[str], int]]:
        read = []
        for start, size in (("", PAGE), ("B-00000", PAGE), ("B-01990", PAGE), ("B-01995", PAGE),
                            ("B-01990", 1)):  # fmt: skip
            counted.reads = 0
            page = await stub.ListVouchers(listed(MERCHANT_ADDRESS, start.encode().hex(), size))
            read.append(([i.voucher_ref for i in page.items], counted.reads))
        return read

    pages = serve_api(store, calls)
    (first, at_start), (same, again), (late, deep), (last, tail), (_one, of_one) = pages
    assert first == same == [f"B-{n:05d}" for n in range(PAGE)]
    assert late == [f"B-{n:05d}" for n in range(1990, 2000)]
    assert last == [f"B-{n:05d}" for n in range(1995, 2000)] + ["QC/10", "QC/7", *POINTS_REFS[2:],
                                                               TICKETS_REF]  # fmt: skip
    # The same cost anywhere in the list: the page's entries and one more (a page of one reads
    # two), besides the account and the count read for any page
    assert at_start == again == deep
    assert deep - of_one == PAGE - 1 and tail == deep - 2
    assert of_one < 2 * PAGE  # nothing else grows with the list
