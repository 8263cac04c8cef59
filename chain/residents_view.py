"""Read-only views of the residents' flow over a committed state (issue 15): a resident's points
with what the daily cap leaves today and the recent days, and a merchant's offers and settlement
totals over a period. Pure: "today" is given by the caller (the day of the last committed block
in the chain's time zone, see ``chain_today``), never read from a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from carbon_ticket.chain import keys
from carbon_ticket.chain.records import Offer, Params, PointsAccount, Settlement
from carbon_ticket.chain.rules._common import day_number, local_date
from carbon_ticket.chain.state import (
    StateReader,
    get_params,
    get_points,
    get_points_earned,
    get_settlement,
    list_offers,
)

__all__ = [
    "MerchantView",
    "PointsView",
    "chain_today",
    "days_before",
    "merchant_view",
    "points_view",
    "settlement_days",
]

# How many days of points history a view returns at most (the award window is usually a week).
MAX_HISTORY_DAYS = 366


@dataclass(frozen=True, slots=True)
class PointsView:
    """A resident's points: the account, today's earnings against the cap, and recent days."""

    address: str
    account: PointsAccount
    today: int  # YYYYMMDD in the chain's time zone
    earned_today: int
    daily_cap: int  # 0: no cap
    remaining_today: int | None  # None: no cap
    history: tuple[tuple[int, int], ...]  # (day, points earned), newest first, days with points


@dataclass(frozen=True, slots=True)
class MerchantView:
    """A merchant's offers, its all-time settlement and the settlement of a period."""

    merchant: str
    offers: tuple[Offer, ...]
    total: Settlement
    from_day: int
    to_day: int
    period: Settlement
    days: tuple[tuple[int, Settlement], ...]  # days of the period with redemptions, oldest first


def chain_today(params: Params, last_block_time_ms: int) -> int:
    """The chain's current day: the last committed block's day in the chain's time zone."""
    return local_date(last_block_time_ms, params.residents.utc_offset_minutes)


def days_before(day: int, count: int) -> int:
    """The YYYYMMDD day ``count`` days before valid day ``day`` (never before 0001-01-01)."""
    year, month_day = divmod(day, 10_000)
    current = date(year, month_day // 100, month_day % 100)
    earlier = current - timedelta(days=min(count, current.toordinal() - 1))
    return earlier.year * 10_000 + earlier.month * 100 + earlier.day


def points_view(state: StateReader, address: str, today: int, history_days: int = 7) -> PointsView:
    """The points of ``address`` on chain day ``today``, with the days of the last
    ``history_days`` days (today included, at most ``MAX_HISTORY_DAYS``) that earned points."""
    params = get_params(state)
    cap = params.rate_limits.points_daily_cap
    earned = get_points_earned(state, address, today)
    span = max(1, min(history_days, MAX_HISTORY_DAYS))
    first = day_number(today) - span + 1
    history = []
    for key, value in state.scan(keys.points_day_key(address, 0)[:-8]):
        day = int(key[-8:])
        if first <= day_number(day) and day <= today:
            history.append((day, keys.decode_u64(value)))
    history.sort(reverse=True)
    return PointsView(
        address=address,
        account=get_points(state, address),
        today=today,
        earned_today=earned,
        daily_cap=cap,
        remaining_today=max(0, cap - earned) if cap else None,
        history=tuple(history),
    )


def settlement_days(
    state: StateReader, merchant: str, from_day: int, to_day: int
) -> tuple[tuple[int, Settlement], ...]:
    """A merchant's settlement of every day from ``from_day`` to ``to_day`` (inclusive) that had
    redemptions, oldest first."""
    found = []
    for key, value in state.scan(keys.settlement_day_key(merchant, 0)[:-8]):
        day = int(key[-8:])
        if from_day <= day <= to_day:
            found.append((day, Settlement.decode(value)))
    return tuple(sorted(found, key=lambda item: item[0]))


def merchant_view(state: StateReader, merchant: str, from_day: int, to_day: int) -> MerchantView:
    """A merchant's offers, all-time totals and the totals of days ``from_day``..``to_day``."""
    days = settlement_days(state, merchant, from_day, to_day)
    period = Settlement(
        redemptions=sum(s.redemptions for _d, s in days),
        grams=sum(s.grams for _d, s in days),
        points=sum(s.points for _d, s in days),
    )
    return MerchantView(
        merchant=merchant,
        offers=tuple(list_offers(state, merchant)),
        total=get_settlement(state, merchant),
        from_day=from_day,
        to_day=to_day,
        period=period,
        days=days,
    )
