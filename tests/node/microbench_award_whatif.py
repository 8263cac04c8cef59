"""What awards that do less would cost (issue 19): a what-if, not the ledger's rules.

    python -m tests.node.microbench_award_whatif --variant rules|folded|folded-no-events
        [the options of tests.node.microbench_points]

Issue 19 asks for ten times as many committed awards per second as transfers. The ledger's
``AwardPoints`` reads five state keys per award (the recipient's account kind, the external
reference, the points record, the day's and the activity's counters), writes four and gives each
award an event of eight attributes. Changing that is a change of consensus rules and of state
(a height-gated upgrade for existing chains), so before anyone builds it this measures what it
would give: it swaps the rule that ``apply_tx`` runs for ``award_points`` in this process only
and runs ``tests.node.microbench_points`` (real LevelDB stores, admission, both validators'
execution, receipts and the commit).

* ``rules``: the ledger's own rule, for comparison in the same run.
* ``folded``: the resident's points record carries the day's counters (the day, the points of
  that day and of each activity that day), so an award reads and writes one record instead of
  three; the account kind is read only for a resident with no points record yet; the reference
  is read and written as today; every award keeps its event.
* ``folded-no-events``: the same, and one summary event per transaction that names the refused
  awards instead of an event per award (what the residents' app and ``SubscribeEvents`` filters
  by recipient would lose).

The variants cost what such rules would cost; they are not complete rules (no migration of
existing counters, no reads for the API). Not a test: figures depend on the machine.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from carbon_ticket.chain import keys
from carbon_ticket.chain.errors import LedgerError, PreconditionFailed
from carbon_ticket.chain.records import ACTIVITIES, ResidentParams
from carbon_ticket.chain.results import Event
from carbon_ticket.chain.rules import RULES
from carbon_ticket.chain.rules._common import (
    BlockContext,
    Effects,
    Rule,
    day_number,
    event,
    local_today,
    require_resident,
    require_role,
)
from carbon_ticket.chain.rules.points import MAX_POINTS_TOTAL, _award_event, _OperatorTotals
from carbon_ticket.chain.state import StateOverlay, get_params
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.proto import ledger_pb2
from tests.node import microbench_points

# The folded record: balance, awarded, exchanged, redeemed, then one entry per day of the award
# window the resident earned points on: the day, that day's points, each activity's.
_HEADER = struct.Struct(">QQQQ")
_DAY_ENTRY = struct.Struct(">IQ7Q")
_FOLDED_TAG = b"X"


@dataclass(slots=True)
class _Folded:
    """A resident's folded points record, decoded: the totals and the window's day counters."""

    totals: list[int]
    days: dict[int, list[int]]  # day -> [that day's points, each activity's (7)]

    @classmethod
    def decode(cls, raw: bytes) -> _Folded:
        totals = list(_HEADER.unpack_from(raw, 1))
        days = {}
        for offset in range(1 + _HEADER.size, len(raw), _DAY_ENTRY.size):
            day, *counts = _DAY_ENTRY.unpack_from(raw, offset)
            days[day] = counts
        return cls(totals, days)

    def encode(self, limits: _Limits) -> bytes:
        """The record, keeping the days of the award window (older ones can take no award)."""
        kept = sorted(d for d in self.days if limits.today_number - day_number(d) <= limits.window)
        return b"".join([_FOLDED_TAG, _HEADER.pack(*self.totals),
                         *(_DAY_ENTRY.pack(d, *self.days[d]) for d in kept)])  # fmt: skip


class _Limits(NamedTuple):
    today: int
    today_number: int
    window: int
    cap: int
    residents: ResidentParams


def _folded_record(state: StateOverlay, recipient: str) -> _Folded | str:
    """The recipient's folded points record, or the error code if it is not a resident: a
    points record exists only for a resident, so the account is read only without one."""
    raw = state.get(keys.points_key(recipient))
    if raw is not None:
        return _Folded.decode(raw)
    try:
        require_resident(state, recipient, "recipient")
    except LedgerError as error:
        return error.code
    return _Folded([0, 0, 0, 0], {})


def _refusal(
    state: StateOverlay,
    award: ledger_pb2.Award,
    record: _Folded,
    totals: _OperatorTotals,
    limits: _Limits,
    ref_key: bytes,
) -> str | None:
    """The error code that refuses ``award`` (the ledger's checks, in its order), or None."""
    if award.day > limits.today:
        return "day_in_future"
    if limits.today_number - day_number(award.day) > limits.window:
        return "day_too_old"
    if state.get(ref_key) is not None:
        return "duplicate_ref"
    activity = ACTIVITIES[award.activity]
    if max(record.totals[1], totals.total(state, activity)) + award.points >= MAX_POINTS_TOTAL:
        return "points_overflow"
    day = record.days.get(award.day, [0] * 8)
    if limits.cap and day[0] + award.points > limits.cap:
        return "daily_cap_exceeded"
    activity_cap = limits.residents.activity_cap(activity)
    if activity_cap and day[award.activity] + award.points > activity_cap:
        return "activity_cap_exceeded"
    return None


def folded_awards(
    state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.AwardPoints
) -> tuple[list[tuple[int, str]], int, int, set[str]]:
    """Apply the awards with folded records; (refused (index, code), applied, points, who)."""
    operator = tx.body.signer
    require_role(state, "points_operator", operator, "awarding points")
    params = get_params(state)
    today = local_today(params, ctx)
    limits = _Limits(today, day_number(today), params.residents.award_window_days,
                     params.rate_limits.points_daily_cap, params.residents)  # fmt: skip
    totals = _OperatorTotals(operator)
    refused: list[tuple[int, str]] = []
    recipients: set[str] = set()
    applied = awarded = 0
    for index, award in enumerate(msg.awards):
        record = _folded_record(state, award.recipient)
        if isinstance(record, str):
            refused.append((index, record))
            continue
        ref_key = keys.points_ref_key(operator, award.external_ref)
        code = _refusal(state, award, record, totals, limits, ref_key)
        if code is not None:
            refused.append((index, code))
            continue
        points = award.points
        record.totals[0] += points
        record.totals[1] += points
        day = record.days.setdefault(award.day, [0] * 8)
        day[0] += points
        day[award.activity] += points
        state.set(keys.points_key(award.recipient), record.encode(limits))
        state.set(ref_key, keys.encode_u64(ctx.height))
        totals.add(state, award.day, ACTIVITIES[award.activity], points)
        recipients.add(award.recipient)
        applied += 1
        awarded += points
    if applied == 0 and refused:
        raise PreconditionFailed(f"none of the {len(msg.awards)} awards applied", refused[0][1])
    totals.write(state)
    return refused, applied, awarded, recipients | {operator}


def _summary(operator: str, refused: Sequence[tuple[int, str]], applied: int, points: int) -> Event:
    return event(
        "award_points",
        ("operator", operator),
        ("applied", str(applied)),
        ("rejected", str(len(refused))),
        ("points", str(points)),
        ("refused", ",".join(f"{index}:{code}" for index, code in refused)),
    )


def folded_rule(per_award_events: bool) -> Rule:
    """The ``folded`` rule, with or without an event per award."""

    def rule(
        state: StateOverlay, ctx: BlockContext, tx: SignedTx, msg: ledger_pb2.AwardPoints
    ) -> Effects:
        refused, applied, points, accounts = folded_awards(state, ctx, tx, msg)
        events: list[Event] = []
        if per_award_events:
            codes = dict(refused)
            events = [_award_event(i, a, codes.get(i, "ok")) for i, a in enumerate(msg.awards)]
        events.append(_summary(tx.body.signer, refused, applied, points))
        return Effects(tuple(events), tuple(sorted(accounts)))

    return rule


VARIANTS = ("rules", "folded", "folded-no-events")


# The ledger's own rule, which ``install("rules")`` puts back.
_LEDGER_RULE = RULES["award_points"]


def install(variant: str) -> None:
    """Make this process execute ``award_points`` with ``variant`` (one of ``VARIANTS``)."""
    if variant not in VARIANTS:
        raise SystemExit(f"the award variant is one of: {', '.join(VARIANTS)}")
    RULES["award_points"] = (
        _LEDGER_RULE if variant == "rules" else folded_rule(per_award_events=variant == "folded")
    )


def main(argv: list[str] | None = None) -> int:
    """Install the chosen variant for ``award_points``, then run ``microbench_points``."""
    args = list(sys.argv[1:] if argv is None else argv)
    variant = "rules"
    if "--variant" in args:
        at = args.index("--variant")
        variant = args[at + 1]
        del args[at : at + 2]
    install(variant)
    print(f"award_points rule: {variant}")
    return microbench_points.main(args)


if __name__ == "__main__":
    raise SystemExit(main())
