"""The read-only views of the residents' flow (chain/residents_view.py) over a memory state."""

from __future__ import annotations

from carbon_ticket.chain import keys
from carbon_ticket.chain.records import Params, PointsAccount, RateLimits, Settlement
from carbon_ticket.chain.residents_view import (
    chain_today,
    days_before,
    merchant_view,
    points_view,
)
from carbon_ticket.chain.state import MemoryState

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
