"""The vouchers redeemed at a merchant (chain/residents_view.py ``merchant_vouchers``): paged in
voucher reference order by range reads, over a memory state and over a chain built by the
residents' rules (which write the keys the view reads).

Reproduction (2026-12-03): a merchant's till could not list the vouchers redeemed at it; the
state holds them under ``voucher/`` + merchant, but no view read them (only a resident's own
redemptions and the merchant's totals).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carbon_ticket.chain import keys
from carbon_ticket.chain.records import Redemption, Settlement
from carbon_ticket.chain.residents_view import VouchersPage, merchant_vouchers
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.state import MemoryState
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    ISSUER,
    OPERATOR,
    RESIDENT,
    RESIDENT2,
    TODAY,
    Ledger,
    award,
    award_points,
    redeem,
    register_offer,
    transfer,
)
from tests.chain.conftest import MERCHANT as MERCHANT_KEY

MERCHANT = "ct1merchant"
OTHER = "ct1merchantx"  # shares MERCHANT's text as a prefix: must never leak into its pages
# Sorted by their UTF-8 bytes, as the view lists them: "/" (0x2f) sorts before digits, upper
# case before lower case, and every non-ASCII character after ASCII.
REFS = ["A", "A/1", "A/10", "A/2", "A0", "Z-9", "a", "\u00e9t\u00e9-1", "\u6c34-7", "\U0001f6b2"]


class RangeOnly(MemoryState):
    """A memory state that counts the entries its range reads yield and has no prefix scans, so
    a view cannot read a merchant's whole list to cut a page from it."""

    def __init__(self) -> None:
        super().__init__()
        self.drawn = 0

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        raise AssertionError(f"a prefix scan of {prefix!r}: a page reads a range")

    def scan_range(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        for item in super().scan_range(start, stop, reverse):
            self.drawn += 1
            yield item


def redemption(merchant: str, ref: str, n: int = 0) -> Redemption:
    return Redemption(merchant=merchant, voucher_ref=ref, offer_id="TEA", resident="ct1resident",
                      payment="points", amount=100, day=20261201, certificate_id="", height=n,
                      time_ms=n, tx_hash=bytes(32))  # fmt: skip


def state_of(refs: list[str], merchant: str = MERCHANT) -> RangeOnly:
    state = RangeOnly()
    for n, ref in enumerate(refs):
        state.data[keys.voucher_key(merchant, ref)] = redemption(merchant, ref, n).encode()
    state.data[keys.settlement_key(merchant)] = Settlement(len(refs), 0, 100 * len(refs)).encode()
    return state


def refs_of(page: VouchersPage) -> list[str]:
    return [r.voucher_ref for r in page.items]


def walk(state: RangeOnly, limit: int) -> list[VouchersPage]:
    pages = [merchant_vouchers(state, MERCHANT, limit)]
    while pages[-1].next_ref is not None:
        pages.append(merchant_vouchers(state, MERCHANT, limit, pages[-1].next_ref))
    return pages


def test_a_merchant_without_redemptions_has_one_empty_page() -> None:
    state = state_of(["V-1"], merchant=OTHER)
    page = merchant_vouchers(state, MERCHANT, 50)
    assert (page.merchant, page.count, page.items, page.next_ref) == (MERCHANT, 0, (), None)


@pytest.mark.parametrize("limit", [1, 3, 4, 9, 10, 11, 1000])
def test_pages_walk_every_voucher_once_in_reference_order(limit: int) -> None:
    state = state_of(list(reversed(REFS)))
    state.data.update(state_of(["A/3", "B"], merchant=OTHER).data)
    pages = walk(state, limit)
    assert [ref for page in pages for ref in refs_of(page)] == sorted(REFS, key=str.encode)
    assert [len(page.items) for page in pages[:-1]] == [limit] * (len(pages) - 1)
    # No page after the first comes back empty: a token is given only when a voucher is left
    assert all(page.items for page in pages) and pages[-1].next_ref is None
    assert {page.count for page in pages} == {len(REFS)}
    assert all(r.merchant == MERCHANT for page in pages for r in page.items)


def test_exactly_a_page_has_no_token() -> None:
    page = merchant_vouchers(state_of(REFS[:5]), MERCHANT, 5)
    assert (refs_of(page), page.next_ref) == (REFS[:5], None)
    fuller = merchant_vouchers(state_of(REFS[:6]), MERCHANT, 5)
    assert (refs_of(fuller), fuller.next_ref) == (REFS[:5], REFS[5])


def test_a_page_reads_its_own_size_and_one_more() -> None:
    many = [f"V-{n:05d}" for n in range(2_000)]
    state = state_of(many)
    page = merchant_vouchers(state, MERCHANT, 10, "V-01500")
    assert refs_of(page) == many[1500:1510] and page.next_ref == "V-01510"
    assert state.drawn == 11


def test_a_start_between_or_past_the_references() -> None:
    state = state_of(REFS)
    # A start no voucher has begins at the next one (a voucher redeemed since the token)
    assert refs_of(merchant_vouchers(state, MERCHANT, 2, "A/1!")) == ["A/10", "A/2"]
    # Past the last reference: an empty last page, not an error nor the first page
    past = merchant_vouchers(state, MERCHANT, 5, "\U0010ffff")
    assert (past.items, past.next_ref, past.count) == ((), None, len(REFS))


def test_a_limit_below_one_reads_one() -> None:
    page = merchant_vouchers(state_of(REFS), MERCHANT, 0)
    assert (refs_of(page), page.next_ref) == (["A"], "A/1")


def test_the_vouchers_the_rules_write_are_listed_with_who_paid_what(
    residents_ledger: Ledger,
) -> None:
    chain = residents_ledger
    chain.ok(MERCHANT_KEY, register_offer())
    points_offer = register_offer(
        offer_id="TEA", payment=ledger_pb2.OFFER_PAYMENT_POINTS, amount=100, max_redemptions=10
    )
    chain.ok(MERCHANT_KEY, points_offer)
    chain.ok(OPERATOR, award_points(award(points=500, ref="earn"), award(RESIDENT2, 500, "r2")))
    chain.ok(ISSUER, transfer((RESIDENT, BATCH_ID, 5_000)))
    tickets = chain.ok(RESIDENT, redeem("\u6c34/2024-1"))
    chain.ok(RESIDENT2, redeem("QC/7", "TEA", batch_id=""))
    chain.ok(RESIDENT, redeem("QC/10", "TEA", batch_id=""))
    assert chain.submit(RESIDENT2, redeem("QC/7", "TEA", batch_id="")).error_code == "voucher_used"
    first = merchant_vouchers(chain.state, MERCHANT_KEY.address, 2)
    assert (refs_of(first), first.count) == (["QC/10", "QC/7"], 3)
    assert [r.resident for r in first.items] == [RESIDENT.address, RESIDENT2.address]
    assert first.next_ref is not None
    (paid,) = merchant_vouchers(chain.state, MERCHANT_KEY.address, 2, first.next_ref).items
    assert (paid.voucher_ref, paid.resident, paid.payment, paid.amount, paid.day) == (
        "\u6c34/2024-1", RESIDENT.address, "grams", 2_000, TODAY)  # fmt: skip
    assert paid.certificate_id == certificate_id(tickets.tx_hash)
    # The resident's own account is no merchant's: nothing was redeemed at it
    assert merchant_vouchers(chain.state, RESIDENT.address, 10).items == ()
