"""Read-only views of the residents' flow over a committed state (issue 15): a resident's points
with what the daily cap leaves today and the recent days, a resident's redemptions, a merchant's
offers and settlement totals over a period, the vouchers redeemed at a merchant, and the points
each operator awarded per activity.
Pure: "today" is given by the caller (the day of the last committed block in the chain's time
zone, see ``chain_today``), never read from a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import InvalidRequest, StorageError
from carbon_ticket.chain.records import (
    ACTIVITIES,
    Offer,
    Params,
    PointsAccount,
    Redemption,
    Settlement,
)
from carbon_ticket.chain.rules._common import day_number, local_date, require_resident
from carbon_ticket.chain.state import (
    RangeReader,
    StateReader,
    get_params,
    get_points,
    get_points_earned,
    get_redemption,
    get_settlement,
    list_offers,
)

__all__ = [
    "MAX_HISTORY_DAYS",
    "MAX_TOTALS_DAYS",
    "MerchantView",
    "OperatorPoints",
    "PointsView",
    "RedemptionsPage",
    "VouchersPage",
    "chain_today",
    "days_before",
    "merchant_view",
    "merchant_vouchers",
    "period_days",
    "points_totals",
    "points_view",
    "query_period",
    "require_resident",
    "resident_redemptions",
    "settlement_days",
]

# How many days of points history a view returns at most (the award window is usually a week).
MAX_HISTORY_DAYS = 366
# How many days one points totals query covers at most: one prefix scan per operator and day.
MAX_TOTALS_DAYS = 366


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


@dataclass(frozen=True, slots=True)
class RedemptionsPage:
    """A page of a resident's redemptions, newest first, and where the next (older) page starts."""

    resident: str
    count: int  # redemptions the resident made, all time
    items: tuple[Redemption, ...]
    before: int | None  # cursor of the next page (its items are numbered below it); None: no more


@dataclass(frozen=True, slots=True)
class VouchersPage:
    """A page of the redemptions at a merchant in voucher reference order, and the reference the
    next page starts at."""

    merchant: str
    count: int  # redemptions at the merchant, all time
    items: tuple[Redemption, ...]
    next_ref: str | None  # the first voucher reference of the next page; None: no more


@dataclass(frozen=True, slots=True)
class OperatorPoints:
    """The points one operator awarded: per activity all time, and per day of a period.

    Days are the awards' days (the day the points were earned for, as the daily cap counts them),
    not the days of the blocks that recorded them.
    """

    operator: str
    activities: tuple[tuple[str, int], ...]  # (activity, points) all time, in ACTIVITIES order
    days: tuple[tuple[int, tuple[tuple[str, int], ...]], ...]  # days with awards, oldest first

    @property
    def total(self) -> int:
        """Points the operator awarded, all time."""
        return sum(points for _activity, points in self.activities)

    @property
    def period_total(self) -> int:
        """Points the operator awarded for the days of the period."""
        return sum(points for _day, totals in self.days for _activity, points in totals)


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


def resident_redemptions(
    state: StateReader, resident: str, limit: int, before: int | None = None
) -> RedemptionsPage:
    """Up to ``limit`` (at least 1) of ``resident``'s redemptions, newest first: those numbered
    below ``before`` (the cursor a previous page returned), or the newest when None.

    Point reads from the resident's count down: a page costs the same however many redemptions
    the resident made, and a cursor stays valid as new redemptions are numbered above it.
    """
    raw = state.get(keys.redemption_count_key(resident))
    count = 0 if raw is None else keys.decode_u64(raw)
    end = count if before is None else min(before, count)
    start = max(0, end - max(1, limit))
    items = []
    for sequence in range(end - 1, start - 1, -1):
        pointer = state.get(keys.resident_redemption_key(resident, sequence))
        if pointer is None:  # pragma: no cover - the rule writes every number below the count
            raise StorageError(
                f"redemption {sequence} of {resident} is missing from the state", "corrupt_state"
            )
        merchant, _slash, voucher_ref = pointer.partition(b"/")
        items.append(get_redemption(state, merchant.decode(), voucher_ref.decode()))
    return RedemptionsPage(
        resident=resident,
        count=count,
        items=tuple(items),
        before=start if start > 0 else None,
    )


def merchant_vouchers(
    state: RangeReader, merchant: str, limit: int, start: str = ""
) -> VouchersPage:
    """Up to ``limit`` (at least 1) redemptions at ``merchant`` in voucher reference order (the
    references' UTF-8 bytes, as the state sorts them), from reference ``start`` on (the cursor a
    previous page returned; "" for the first page).

    One range read from ``start``'s key: a page reads its items and one more (whether a page
    follows), not the vouchers before it. A merchant with no redemptions, or an account that is
    no merchant's, has an empty page.
    """
    prefix = keys.voucher_prefix(merchant)
    size = max(1, limit)
    found = list(
        islice(state.scan_range(prefix + start.encode(), keys.prefix_end(prefix)), size + 1)
    )
    next_ref = found[size][0][len(prefix) :].decode() if len(found) > size else None
    return VouchersPage(
        merchant=merchant,
        count=get_settlement(state, merchant).redemptions,
        items=tuple(Redemption.decode(value) for _key, value in found[:size]),
        next_ref=next_ref,
    )


def _date_of(day: int, field: str) -> date:
    year, month_day = divmod(day, 10_000)
    try:
        return date(year, month_day // 100, month_day % 100)
    except ValueError:
        raise InvalidRequest(f"{field} {day} is not a YYYYMMDD day", "invalid_day") from None


def _ordered(from_day: int, to_day: int) -> tuple[date, date]:
    """Both days as dates; InvalidRequest (``invalid_day``, ``invalid_period``) otherwise."""
    first, last = _date_of(from_day, "from_day"), _date_of(to_day, "to_day")
    if first > last:
        raise InvalidRequest(f"from_day {from_day} is after to_day {to_day}", "invalid_period")
    return first, last


def query_period(from_day: int, to_day: int, today: int, default_days: int = 30) -> tuple[int, int]:
    """The (from_day, to_day) a query asks for: ``to_day`` 0 is ``today`` and ``from_day`` 0 is
    ``default_days`` before it; InvalidRequest when a day is not a calendar day (``invalid_day``)
    or ``from_day`` is after ``to_day`` (``invalid_period``)."""
    last = to_day or today
    _date_of(last, "to_day")  # before days_before, which needs a calendar day
    first = from_day or days_before(last, default_days)
    _ordered(first, last)
    return first, last


def period_days(from_day: int, to_day: int, max_days: int = MAX_TOTALS_DAYS) -> tuple[int, ...]:
    """Every YYYYMMDD day from ``from_day`` to ``to_day`` inclusive; InvalidRequest when a day is
    not a calendar day (``invalid_day``), the period is reversed (``invalid_period``) or longer
    than ``max_days`` (``period_too_long``)."""
    first, last = _ordered(from_day, to_day)
    span = (last - first).days + 1
    if span > max_days:
        raise InvalidRequest(
            f"{from_day}..{to_day} is {span} days; a query covers at most {max_days}",
            "period_too_long",
        )
    days = (first + timedelta(days=n) for n in range(span))
    return tuple(d.year * 10_000 + d.month * 100 + d.day for d in days)


def _by_activity(found: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(found.items(), key=lambda item: ACTIVITIES.index(item[0])))


def _activity_totals(state: StateReader, prefix: bytes) -> tuple[tuple[str, int], ...]:
    """The u64 totals under ``prefix`` keyed by the activity that ends each key."""
    found = {key[len(prefix) :].decode(): keys.decode_u64(v) for key, v in state.scan(prefix)}
    return _by_activity(found)


def _operators(state: StateReader) -> tuple[str, ...]:
    """Every operator that ever awarded points, by address."""
    prefix = keys.points_operator_prefix()
    found = {key[len(prefix) :].partition(b"/")[0].decode() for key, _v in state.scan(prefix)}
    return tuple(sorted(found))


def points_totals(
    state: StateReader, operator: str, from_day: int, to_day: int
) -> tuple[OperatorPoints, ...]:
    """The points ``operator`` awarded per activity, all time and per day of ``from_day``..
    ``to_day`` (award days, inclusive; see ``period_days`` for the errors); with no operator
    (``""``), those of every operator that ever awarded points, by address."""
    days = period_days(from_day, to_day)
    totals = []
    for address in (operator,) if operator else _operators(state):
        per_day = []
        for day in days:
            found = _activity_totals(state, keys.points_operator_day_prefix(address, day))
            if found:
                per_day.append((day, found))
        totals.append(
            OperatorPoints(
                operator=address,
                activities=_activity_totals(state, keys.points_operator_prefix(address)),
                days=tuple(per_day),
            )
        )
    return tuple(totals)
