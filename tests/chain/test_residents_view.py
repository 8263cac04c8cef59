"""The read-only views of the residents' flow (chain/residents_view.py), over a memory state and
over a chain built by the residents' rules (which write the keys the views read)."""

from __future__ import annotations

import pytest

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import InvalidRequest
from carbon_ticket.chain.records import Params, PointsAccount, RateLimits, Settlement
from carbon_ticket.chain.residents_view import (
    MAX_TOTALS_DAYS,
    RedemptionsPage,
    chain_today,
    days_before,
    merchant_view,
    period_days,
    points_totals,
    points_view,
    query_period,
    resident_redemptions,
)
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.state import MemoryState
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    ISSUER,
    OPERATOR,
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
from tests.chain.conftest import RESIDENT as RESIDENT_KEY

RESIDENT = "ct1resident"
OTHER = "ct1residentx"  # shares RESIDENT's text as a prefix: must never leak into its views
MERCHANT = "ct1merchant"


def state_with(cap: int) -> MemoryState:
    state = MemoryState()
    state.data[keys.PARAMS] = Params(rate_limits=RateLimits(points_daily_cap=cap)).encode()
    return state


def test_days_before_crosses_months_years_and_stops_at_the_first_day() -> None:
    assert days_before(20260301, 1) == 20260228
    assert days_before(20240301, 1) == 20240229
    assert days_before(20260105, 30) == 20251206
    assert days_before(10101, 10**6) == 10101


def test_chain_today_is_the_last_block_day_in_the_chain_time_zone() -> None:
    params = Params()  # UTC+8 by default
    # 2026-11-30 20:00 UTC is already 1 December in UTC+8
    assert chain_today(params, 1_796_068_800_000) == 20261201


def test_points_view_counts_today_against_the_cap_and_lists_recent_days() -> None:
    state = state_with(cap=100)
    state.data[keys.points_key(RESIDENT)] = PointsAccount(50, 80, 20, 10).encode()
    for day, points in ((20261201, 30), (20261130, 40), (20261120, 10), (20261202, 5)):
        state.data[keys.points_day_key(RESIDENT, day)] = keys.encode_u64(points)
    state.data[keys.points_day_key(OTHER, 20261201)] = keys.encode_u64(99)
    view = points_view(state, RESIDENT, 20261201, history_days=7)
    assert (view.earned_today, view.daily_cap, view.remaining_today) == (30, 100, 70)
    # newest first; a day after today (impossible on chain) and days before the window are left out
    assert view.history == ((20261201, 30), (20261130, 40))
    assert view.account.balance == 50


def test_points_view_without_a_cap_has_nothing_remaining_to_count() -> None:
    view = points_view(state_with(cap=0), RESIDENT, 20261201)
    assert (view.earned_today, view.daily_cap, view.remaining_today, view.history) == (
        0, 0, None, ())  # fmt: skip


def test_merchant_view_sums_the_days_of_the_period() -> None:
    state = state_with(cap=0)
    state.data[keys.settlement_key(MERCHANT)] = Settlement(5, 300, 70).encode()
    days = {20261129: Settlement(1, 100, 0), 20261130: Settlement(2, 200, 20),
            20261201: Settlement(2, 0, 50)}  # fmt: skip
    for day, totals in days.items():
        state.data[keys.settlement_day_key(MERCHANT, day)] = totals.encode()
    view = merchant_view(state, MERCHANT, 20261130, 20261201)
    assert view.period == Settlement(4, 200, 70)
    assert [d for d, _s in view.days] == [20261130, 20261201]
    assert view.total == Settlement(5, 300, 70) and view.offers == ()


# ---------------------------------------------------------------- a resident's redemptions


def redeemed(page: RedemptionsPage) -> list[str]:
    return [r.voucher_ref for r in page.items]


@pytest.fixture
def market(residents_ledger: Ledger) -> Ledger:
    """Residents' chain with a ticket offer, a points offer, and a resident holding both."""
    chain = residents_ledger
    chain.ok(MERCHANT_KEY, register_offer())
    points_offer = register_offer(
        offer_id="TEA", payment=ledger_pb2.OFFER_PAYMENT_POINTS, amount=100, max_redemptions=10
    )
    chain.ok(MERCHANT_KEY, points_offer)
    chain.ok(OPERATOR, award_points(award(points=1_000, ref="earn")))
    chain.ok(ISSUER, transfer((RESIDENT_KEY, BATCH_ID, 5_000)))
    return chain


def test_redemptions_of_a_resident_page_newest_first(market: Ledger) -> None:
    tickets = market.ok(RESIDENT_KEY, redeem("V-1"))
    market.ok(RESIDENT_KEY, redeem("V-2", "TEA", batch_id=""))
    # Two redemptions in one block keep the order of their transactions
    nonce = market.nonce(RESIDENT_KEY)
    market.run([
        market.tx(RESIDENT_KEY, redeem("V-3", "TEA", batch_id=""), nonce=nonce),
        market.tx(RESIDENT_KEY, redeem("V-4", "TEA", batch_id=""), nonce=nonce + 1),
    ])  # fmt: skip
    first = resident_redemptions(market.state, RESIDENT_KEY.address, limit=3)
    assert (first.count, redeemed(first), first.before) == (4, ["V-4", "V-3", "V-2"], 1)
    last = resident_redemptions(market.state, RESIDENT_KEY.address, limit=3, before=first.before)
    assert (redeemed(last), last.before) == (["V-1"], None)
    (paid,) = last.items
    assert (paid.payment, paid.amount, paid.offer_id, paid.day) == (
        "grams", 2_000, "SPRING-SERVICE", TODAY)  # fmt: skip
    assert paid.certificate_id == certificate_id(tickets.tx_hash)
    assert first.items[0].payment == "points" and first.items[0].certificate_id == ""


def test_a_redemption_cursor_survives_new_redemptions(market: Ledger) -> None:
    for voucher in ("V-1", "V-2", "V-3"):
        market.ok(RESIDENT_KEY, redeem(voucher, "TEA", batch_id=""))
    first = resident_redemptions(market.state, RESIDENT_KEY.address, limit=2)
    market.ok(RESIDENT_KEY, redeem("V-4", "TEA", batch_id=""))
    after = resident_redemptions(market.state, RESIDENT_KEY.address, 2, before=first.before)
    assert (redeemed(first), redeemed(after), after.count) == (["V-3", "V-2"], ["V-1"], 4)
    # A cursor past the end (forged) is the newest page, not an error
    assert redeemed(resident_redemptions(market.state, RESIDENT_KEY.address, 1, before=99)) == [
        "V-4"
    ]


def test_refused_redemptions_and_other_residents_are_not_listed(market: Ledger) -> None:
    market.ok(RESIDENT_KEY, redeem("V-1", "TEA", batch_id=""))
    assert market.submit(RESIDENT_KEY, redeem("V-1", "TEA", batch_id="")).error_code == (
        "voucher_used"
    )
    assert market.submit(RESIDENT2, redeem("V-2")).error_code == "insufficient_balance"
    assert redeemed(resident_redemptions(market.state, RESIDENT_KEY.address, 10)) == ["V-1"]
    empty = resident_redemptions(market.state, RESIDENT2.address, 10)
    assert (empty.count, empty.items, empty.before) == (0, (), None)


# ---------------------------------------------------------------- points per operator


def test_points_totals_per_operator_activity_and_award_day(residents_ledger: Ledger) -> None:
    chain = residents_ledger
    chain.ok(
        OPERATOR,
        award_points(
            award(points=300, ref="w-1"),
            award(RESIDENT2, points=50, ref="w-2", day=days_before(TODAY, 2)),
            award(points=200, ref="t-1", activity=ledger_pb2.ACTIVITY_TREE_PLANTING),
            award(points=10**6, ref="over-cap"),  # refused: changes no total
        ),
    )
    (totals,) = points_totals(chain.state, OPERATOR.address, days_before(TODAY, 6), TODAY)
    assert totals.activities == (("walk", 350), ("tree_planting", 200))
    assert totals.days == (
        (days_before(TODAY, 2), (("walk", 50),)),
        (TODAY, (("walk", 300), ("tree_planting", 200))),
    )
    assert (totals.total, totals.period_total) == (550, 550)
    (today_only,) = points_totals(chain.state, OPERATOR.address, TODAY, TODAY)
    assert (today_only.total, today_only.period_total) == (550, 500)
    # Every operator when none is named; an account that never awarded has nothing
    assert [o.operator for o in points_totals(chain.state, "", TODAY, TODAY)] == [OPERATOR.address]
    (nothing,) = points_totals(chain.state, MERCHANT_KEY.address, TODAY, TODAY)
    assert (nothing.activities, nothing.days, nothing.total) == ((), (), 0)


def test_points_totals_of_every_operator_keep_operators_apart() -> None:
    state = MemoryState()
    for operator, activity, points in (("ct1op", "cycle", 5), ("ct1opx", "walk", 7)):
        state.data[keys.points_operator_key(operator, activity)] = keys.encode_u64(points)
        state.data[keys.points_operator_day_key(operator, 20261201, activity)] = keys.encode_u64(
            points
        )
    totals = points_totals(state, "", 20261201, 20261201)
    assert [(o.operator, o.activities, o.period_total) for o in totals] == [
        ("ct1op", (("cycle", 5),), 5),
        ("ct1opx", (("walk", 7),), 7),
    ]


@pytest.mark.parametrize(
    ("from_day", "to_day", "code"),
    [
        (20261202, 20261201, "invalid_period"),
        (20261301, 20261201, "invalid_day"),
        (20261101, 20260230, "invalid_day"),
        (20251130, 20261201, "period_too_long"),
    ],
)
def test_points_totals_refuse_bad_periods(from_day: int, to_day: int, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        points_totals(MemoryState(), "", from_day, to_day)
    assert caught.value.code == code


def test_query_period_defaults_to_thirty_days_before_today() -> None:
    assert query_period(0, 0, 20261201) == (20261101, 20261201)
    assert query_period(0, 20260301, 20261201) == (20260130, 20260301)
    assert query_period(20261130, 0, 20261201) == (20261130, 20261201)
    assert period_days(20261230, 20270102) == (20261230, 20261231, 20270101, 20270102)
    assert len(period_days(20251202, 20261202)) == MAX_TOTALS_DAYS
    with pytest.raises(InvalidRequest, match="to_day"):
        query_period(0, 20261340, 20261201)
