"""Hypothesis strategies for random sequences of ledger operations, valid and invalid.

# ruff: noqa: E501

An operation is a small tuple naming actors and batches by index, so shrinking gives readable
counterexamples; ``run_ops`` turns a sequence into signed transactions and blocks on a Ledger.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from google.protobuf.message import Message
from hypothesis import strategies as st

from carbon_ticket.chain import check_tx, get_balance, get_batch
from carbon_ticket.chain.amounts import MAX_GRAMS
from carbon_ticket.chain.errors import InvalidTransaction, NotFound
from carbon_ticket.chain.rules._common import local_date
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    DAILY_CAP,
    ISSUER,
    LIMITS,
    MERCHANT,
    OPERATOR,
    OWNER,
    PROJECT_ID,
    REGISTRAR,
    RESIDENT,
    RESIDENT2,
    RESIDENT_PARAMS,
    VERIFIER,
    Ledger,
    T,
    anchor_data,
    attest_report,
    data_hash,
    funded_residents_ledger,
    key,
    register_account,
    register_project,
    top_up_float,
)
from tests.chain.conftest import award as award_msg
from tests.chain.conftest import register_offer as register_offer_msg
from tests.chain.conftest import transfer as transfer_msg

# Actors 0-3 are registered holders; 4 is never registered unless an op registers it.
HOLDERS = (ISSUER, key("holder-1"), key("holder-2"), key("holder-3"), key("stranger"))
REPORTS = (data_hash("prop-report-a"), data_hash("prop-report-b"), data_hash("prop-loss"))
VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)
BATCHES = tuple(f"{PROJECT_ID}-20230101-20231231-{n:03d}" for n in range(1, 5))
ATTESTED = (300 * T, 500 * T)
# Reports a and b attest the two halves of the vintage (attestations of a project never overlap);
# issuances always cite both so together they cover the vintage.
HALVES = (
    ledger_pb2.Period(start_date=20230101, end_date=20230630),
    ledger_pb2.Period(start_date=20230701, end_date=20231231),
)
LOSS_ATTESTED = 50 * T

# Weighted towards registered actors and existing batches so most operations can succeed.
actor = st.sampled_from([0, 1, 1, 2, 2, 3, 3, 4])
batch = st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3])
amount = st.one_of(
    st.integers(1, 100 * T),
    st.integers(1, 1000),
    st.sampled_from([MAX_GRAMS, 2**63]),
)
# Mostly amounts that fit the balances; sometimes the extremes.
# A negative amount -k means k/1000 of what the signer holds (of the buffer, for reversals),
# resolved against the state when the transaction is built.
share = st.integers(1, 1000).map(lambda k: -k)
small_amount = st.one_of(share, share, share, st.integers(1, 20 * T), amount)
nonce_offset = st.sampled_from([0] * 18 + [1, -1])

issue_op = st.tuples(
    st.just("issue"),
    actor,
    st.sets(st.integers(0, 2), min_size=1, max_size=3),
    amount,
    nonce_offset,
)
holder = st.sampled_from([0, 1, 1, 1, 2, 2, 3, 4])
transfer_op = st.tuples(
    st.just("transfer"),
    holder,
    st.lists(st.tuples(actor, batch, small_amount), min_size=1, max_size=3),
    nonce_offset,
)
retire_op = st.tuples(st.just("retire"), holder, batch, small_amount, nonce_offset)
cancel_op = st.tuples(st.just("cancel"), holder, batch, small_amount, nonce_offset)
export_op = st.tuples(st.just("export"), holder, batch, small_amount, nonce_offset)
reversal_op = st.tuples(st.just("reversal"), batch, small_amount, nonce_offset)
register_op = st.tuples(st.just("register"), actor, nonce_offset)
end_block = st.tuples(st.just("end_block"))

op = st.one_of(
    issue_op,
    transfer_op,
    transfer_op,
    transfer_op,
    retire_op,
    cancel_op,
    export_op,
    export_op,
    reversal_op,
    register_op,
    end_block,
    end_block,
)
# An issuance that usually succeeds: attested reports only, within what they attest.
good_issue_op = st.tuples(
    st.just("issue"),
    st.sampled_from([0, 1, 1, 2]),
    st.sets(st.integers(0, 1), min_size=1, max_size=2),
    st.integers(1, 300 * T),
    st.just(0),
)
ops = st.builds(
    lambda first, rest: first + rest,
    st.lists(good_issue_op, min_size=1, max_size=3),
    st.lists(op, max_size=40),
)
# Mostly retirements, with what competes for the same grams (transfers, exports, cancellations)
# in the same blocks: ``ops`` makes few retirements that succeed.
retire_ops = st.builds(
    lambda first, rest: first + rest,
    st.lists(good_issue_op, min_size=1, max_size=2),
    st.lists(
        st.one_of(retire_op, retire_op, retire_op, transfer_op, export_op, cancel_op, end_block),
        min_size=5,
        max_size=30,
    ),
)


def setup_ledger() -> Ledger:
    """Genesis plus holders 1-3, a project, two attested reports and an attested loss report."""
    chain = Ledger()
    chain.ok(REGISTRAR, register_account(OWNER))
    for holder in HOLDERS[1:4]:
        chain.ok(REGISTRAR, register_account(holder, name="holder"))
    chain.ok(ISSUER, register_project())
    for report, grams, half in zip(REPORTS, ATTESTED, HALVES, strict=False):
        chain.ok(ISSUER, anchor_data(data_hash=report))
        chain.ok(VERIFIER, attest_report(data_hash=report, verified_grams=grams, period=half))
    chain.ok(ISSUER, anchor_data(data_hash=REPORTS[2], kind="loss-report"))
    chain.ok(VERIFIER, attest_report(data_hash=REPORTS[2], verified_grams=LOSS_ATTESTED))
    return chain


def _resolve(grams: int, held: int) -> int:
    return grams if grams > 0 else max(1, held * -grams // 1000)


def _message(chain: Ledger, operation: tuple[Any, ...]) -> tuple[Any, Any, int]:
    kind = operation[0]

    def held(who: int, b: int) -> int:
        return get_balance(chain.state, HOLDERS[who].address, BATCHES[b])

    if kind == "issue":
        _, to, reports, grams, off = operation
        msg: Message = ledger_pb2.IssueBatch(
            project_id=PROJECT_ID,
            vintage=VINTAGE,
            report_hashes=[REPORTS[i] for i in sorted(reports | {0, 1})],
            amount_grams=grams,
            recipient=HOLDERS[to].address,
        )
        return ISSUER, msg, off
    if kind == "transfer":
        _, frm, entries, off = operation
        signer = HOLDERS[frm]
        msg = ledger_pb2.Transfer(
            entries=[
                ledger_pb2.TransferEntry(
                    to=HOLDERS[to].address,
                    batch_id=BATCHES[b],
                    amount_grams=_resolve(g, held(frm, b) // len(entries)),
                )
                for to, b, g in entries
                if HOLDERS[to] != signer
            ]
        )
        return signer, msg, off
    if kind == "retire":
        _, who, b, grams, off = operation
        msg = ledger_pb2.Retire(
            batch_id=BATCHES[b],
            amount_grams=_resolve(grams, held(who, b)),
            beneficiary="b",
            reason="r",
            jurisdiction="CN",
        )
        return HOLDERS[who], msg, off
    if kind == "cancel":
        _, who, b, grams, off = operation
        grams = _resolve(grams, held(who, b))
        return (
            HOLDERS[who],
            ledger_pb2.Cancel(batch_id=BATCHES[b], amount_grams=grams, reason="r"),
            off,
        )
    if kind == "export":
        _, who, b, grams, off = operation
        msg = ledger_pb2.ExportTickets(
            batch_id=BATCHES[b],
            amount_grams=_resolve(grams, held(who, b)),
            registry="CCER",
            account=f"ccer-{who}",
        )
        return HOLDERS[who], msg, off
    if kind == "reversal":
        _, b, grams, off = operation
        msg = ledger_pb2.Reversal(
            batch_id=BATCHES[b],
            amount_grams=_resolve(grams, buffer_of(chain, BATCHES[b])),
            loss_report_hash=REPORTS[2],
            reason="fire",
        )
        return ISSUER, msg, off
    if kind == "register":
        _, who, off = operation
        return REGISTRAR, register_account(HOLDERS[who], name="late"), off
    raise ValueError(kind)


def buffer_of(chain: Ledger, batch_id: str) -> int:
    """The batch's buffer pool (0 if the batch does not exist)."""
    try:
        return get_batch(chain.state, batch_id).buffer
    except NotFound:
        return 0


def blocks_of(chain: Ledger, operations: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """Split operations into blocks at each ``end_block``."""
    blocks: list[list[tuple[Any, ...]]] = [[]]
    for operation in operations:
        if operation[0] == "end_block":
            blocks.append([])
        else:
            blocks[-1].append(operation)
    return [b for b in blocks if b]


def run_ops(chain: Ledger, operations: list[tuple[Any, ...]], after_block: Any = None) -> None:
    """Sign and apply the operations block by block; call ``after_block(chain, result)``."""
    for block in blocks_of(chain, operations):
        pending: dict[str, int] = {}
        raws = []
        for operation in block:
            signer, msg, off = _message(chain, operation)
            if operation[0] == "transfer" and not msg.entries:
                continue  # every entry was a self-transfer, which check_tx refuses
            base = chain.nonce(signer) + pending.get(signer.address, 0)
            if base + off < 0:
                off = 0
            raw = chain.tx(signer, msg, nonce=base + off)
            try:
                check_tx(raw, CHAIN_ID, LIMITS)
            except InvalidTransaction:
                continue  # refused at admission (e.g. an overflowing total): never in a block
            if off == 0:
                pending[signer.address] = pending.get(signer.address, 0) + 1
            raws.append(raw)
        if raws:
            result = chain.run(raws)
            if after_block is not None:
                after_block(chain, result)


# ---------------------------------------------------------------- residents' points

# Index 0-1 are residents, 2 a company, 3 never registered.
POINTS_HOLDERS = (RESIDENT, RESIDENT2, COMPANY, key("points-stranger"))
OFFERS = ("TICKETS", "POINTS")
POINTS_BATCH = BATCH_ID

points_holder = st.sampled_from([0, 0, 0, 1, 1, 1, 2, 3])
award_entry = st.tuples(
    points_holder,
    st.one_of(st.integers(1, 400), st.integers(1, DAILY_CAP + 10)),  # points
    st.sampled_from([0, 0, 0, 1, 2, 7, 8, -1]),  # days before today (-1: tomorrow)
    st.integers(1, 7),  # activity
    st.integers(0, 30),  # external reference (repeats happen)
)
award_op = st.tuples(st.just("award"), st.lists(award_entry, min_size=1, max_size=6))
exchange_op = st.tuples(st.just("exchange"), points_holder, st.integers(1, 200), st.booleans())
top_up_op = st.tuples(st.just("top_up"), st.integers(1, 3_000))
redeem_op = st.tuples(st.just("redeem"), points_holder, st.integers(0, 1), st.integers(0, 12))
next_day_op = st.tuples(st.just("next_day"))
points_ops = st.lists(
    st.one_of(
        award_op,
        award_op,
        award_op,
        exchange_op,
        exchange_op,
        top_up_op,
        redeem_op,
        redeem_op,
        end_block,
        end_block,
        next_day_op,
    ),
    max_size=40,
)


def setup_points_ledger() -> Ledger:
    """The residents' chain with a funded float, a ticket offer and a points offer; residents
    hold some tickets."""
    chain = funded_residents_ledger(float_grams=500)
    chain.ok(
        MERCHANT,
        register_offer_msg(offer_id=OFFERS[0], amount=700, max_redemptions=4),
    )
    chain.ok(
        MERCHANT,
        register_offer_msg(
            offer_id=OFFERS[1],
            payment=ledger_pb2.OFFER_PAYMENT_POINTS,
            amount=250,
            max_redemptions=6,
        ),
    )
    for who in (RESIDENT, RESIDENT2):
        chain.ok(ISSUER, transfer_msg((who, POINTS_BATCH, 2_000)))
        # Points to spend from the start, and a day almost at its cap.
        today = local_day(chain)
        awards = [
            award_msg(
                who, points=pts, ref=f"setup-{who.address[-8:]}-{back}", day=day_before(today, back)
            )
            for back, pts in ((0, 900), (1, 1_000), (2, 1_000))
        ]
        chain.ok(OPERATOR, ledger_pb2.AwardPoints(awards=awards))
    return chain


def _points_message(chain: Ledger, operation: tuple[Any, ...]) -> tuple[Any, Any]:
    kind = operation[0]
    today = local_day(chain)
    if kind == "award":
        awards = [
            award_msg(
                POINTS_HOLDERS[who],
                points=pts,
                ref=f"ref-{ref}",
                day=day_before(today, back),
                activity=activity,
            )
            for who, pts, back, activity, ref in operation[1]
        ]
        seen: set[str] = set()
        unique = []
        for a in awards:  # the first award of each external reference
            if a.external_ref not in seen:
                seen.add(a.external_ref)
                unique.append(a)
        return OPERATOR, ledger_pb2.AwardPoints(awards=unique)
    if kind == "exchange":
        _, who, grams, named = operation
        batch_id = POINTS_BATCH if named else ""
        return POINTS_HOLDERS[who], ledger_pb2.ExchangePoints(grams=grams, batch_id=batch_id)
    if kind == "top_up":
        return ISSUER, top_up_float(POINTS_BATCH, operation[1])
    if kind == "redeem":
        _, who, offer, voucher = operation
        msg = ledger_pb2.Redeem(
            merchant=MERCHANT.address,
            offer_id=OFFERS[offer],
            voucher_ref=f"V-{voucher}",
            batch_id=POINTS_BATCH if offer == 0 else "",
        )
        return POINTS_HOLDERS[who], msg
    raise ValueError(kind)


def local_day(chain: Ledger) -> int:
    """The chain-local day of the next block."""
    time_ms = chain.base_time_ms + (chain.height + 1) * 1000
    return local_date(time_ms, RESIDENT_PARAMS.utc_offset_minutes)


def day_before(day: int, back: int) -> int:
    """``day`` moved ``back`` days earlier (negative: later)."""
    year, rest = divmod(day, 10_000)
    month, dom = divmod(rest, 100)
    moved = date(year, month, dom) - timedelta(days=back)
    return moved.year * 10_000 + moved.month * 100 + moved.day


def run_points_ops(
    chain: Ledger, operations: list[tuple[Any, ...]], after_block: Any = None
) -> None:
    """Sign and apply residents' operations block by block; ``next_day`` ends a block and
    moves the clock a day on."""
    raws: list[bytes] = []
    pending: dict[str, int] = {}

    def flush() -> None:
        if raws:
            result = chain.run(list(raws))
            if after_block is not None:
                after_block(chain, result)
        raws.clear()
        pending.clear()

    for operation in operations:
        if operation[0] in ("end_block", "next_day"):
            flush()
            if operation[0] == "next_day":
                chain.base_time_ms += 86_400_000
            continue
        signer, msg = _points_message(chain, operation)
        if chain.state.get(b"nonce/" + signer.address.encode()) is None:
            continue  # an unregistered signer's tx never gets into a block
        nonce = chain.nonce(signer) + pending.get(signer.address, 0)
        raw = chain.tx(signer, msg, nonce=nonce)
        try:
            check_tx(raw, CHAIN_ID, LIMITS)
        except InvalidTransaction:
            continue
        pending[signer.address] = pending.get(signer.address, 0) + 1
        raws.append(raw)
    flush()
