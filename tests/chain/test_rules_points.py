"""Residents' points: AwardPoints, ExchangePoints, RegisterOffer and Redeem (pre-state, tx, post-state)."""

# ruff: noqa: E501

from __future__ import annotations

from typing import Any

import pytest

from carbon_ticket.chain import get_balance, get_batch, get_certificate
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.chain.keys import (
    decode_u64,
    exchange_day_key,
    offer_key,
    points_day_key,
    points_operator_key,
    settlement_day_key,
    settlement_key,
    voucher_key,
)
from carbon_ticket.chain.records import Offer, PointsAccount, Redemption, ResidentParams, Settlement
from carbon_ticket.chain.rules.merchants import REDEMPTION_REASON
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.state import (
    get_offer,
    get_points,
    get_points_earned,
    get_redemption,
    get_settlement,
    list_offers,
)
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    BATCH_ID,
    COMPANY,
    DAILY_CAP,
    FLOAT,
    ISSUER,
    MERCHANT,
    OPERATOR,
    REGISTRAR,
    RESIDENT,
    RESIDENT2,
    RESIDENT_PARAMS,
    TODAY,
    Ledger,
    award,
    award_points,
    check_code,
    data_hash,
    funded_residents_ledger,
    issue_batch,
    key,
    make_residents_genesis,
    redeem,
    register_account,
    register_offer,
    top_up_float,
    transfer,
)

STRANGER = key("unregistered-resident")
JAN_1_17H_UTC_MS = 1_704_128_400_000  # 2024-01-01T17:00Z = 2024-01-02T01:00 in UTC+8


def points(chain: Ledger, who: Any = RESIDENT) -> PointsAccount:
    return get_points(chain.state, who.address)


def outcomes(receipt: Any) -> list[str]:
    return [dict(e.attributes)["outcome"] for e in receipt.events if e.type == "award"]


# ---------------------------------------------------------------- award points


def test_award_points_credits_the_resident_and_every_total(residents_ledger: Ledger) -> None:
    chain = residents_ledger
    receipt = chain.ok(
        OPERATOR,
        award_points(
            award(points=300, ref="walk-1", evidence_hash=data_hash("steps")),
            award(points=200, ref="plant-1", activity=ledger_pb2.ACTIVITY_TREE_PLANTING),
            award(RESIDENT2, points=50, ref="cycle-1", activity=ledger_pb2.ACTIVITY_CYCLE),
        ),
    )
    assert outcomes(receipt) == ["ok", "ok", "ok"]
    assert points(chain) == PointsAccount(balance=500, awarded=500)
    assert points(chain, RESIDENT2).balance == 50
    assert decode_u64(chain.state.data[points_day_key(RESIDENT.address, TODAY)]) == 500
    assert decode_u64(chain.state.data[points_operator_key(OPERATOR.address, "walk")]) == 300
    summary = dict(receipt.events[-1].attributes)
    assert summary == {
        "operator": OPERATOR.address,
        "applied": "3",
        "rejected": "0",
        "points": "550",
    }
    assert dict(receipt.events[0].attributes)["evidence_hash"] == data_hash("steps").hex()
    assert RESIDENT.address in receipt.accounts and RESIDENT2.address in receipt.accounts
    # Points are not tCO2e: no balance or batch moved.
    assert get_balance(chain.state, RESIDENT.address, BATCH_ID) == 0


def test_day_is_the_chain_local_day_not_utc(residents_ledger: Ledger) -> None:
    chain = residents_ledger
    chain.base_time_ms = JAN_1_17H_UTC_MS  # still 2024-01-01 in UTC, already 01-02 in UTC+8
    chain.ok(OPERATOR, award_points(award(day=20240102)))
    assert points(chain).balance == 100
    chain.base_time_ms = JAN_1_17H_UTC_MS - 10 * 3_600_000  # 07:00 UTC+8 on 01-02 minus 10 h
    receipt = chain.submit(OPERATOR, award_points(award(day=20240102, ref="app-2")))
    assert (receipt.code, receipt.error_code) == (2, "day_in_future")


AWARD_FAILURES = [
    # (description, award, code, error_code)
    ("company recipient", award(COMPANY), 2, "not_resident"),
    ("merchant recipient", award(MERCHANT), 2, "not_resident"),
    ("unregistered recipient", award(STRANGER), 4, "unknown_account"),
    ("beyond the daily cap", award(points=DAILY_CAP + 1), 2, "daily_cap_exceeded"),
    (
        "beyond the activity cap",
        award(points=601, activity=ledger_pb2.ACTIVITY_TREE_PLANTING),
        2,
        "activity_cap_exceeded",
    ),
    ("future day", award(day=20240102), 2, "day_in_future"),
    ("older than the window", award(day=20231224), 2, "day_too_old"),
]


@pytest.mark.parametrize(
    ("bad", "code", "error_code"),
    [c[1:] for c in AWARD_FAILURES],
    ids=[c[0] for c in AWARD_FAILURES],
)
def test_award_failures_change_nothing_but_the_nonce(
    residents_ledger: Ledger, bad: ledger_pb2.Award, code: int, error_code: str
) -> None:
    chain = residents_ledger
    result = chain.run([chain.tx(OPERATOR, award_points(bad))])
    receipt = result.receipts[0]
    assert (receipt.code, receipt.error_code) == (code, error_code)
    assert list(result.writes) == [b"nonce/" + OPERATOR.address.encode()]


def test_oldest_day_in_the_window_is_accepted(residents_ledger: Ledger) -> None:
    residents_ledger.ok(OPERATOR, award_points(award(day=20231225)))  # 7 days before TODAY


def test_repeated_reference_is_refused_forever(residents_ledger: Ledger) -> None:
    chain = residents_ledger
    chain.ok(OPERATOR, award_points(award(ref="app-7")))
    receipt = chain.submit(OPERATOR, award_points(award(RESIDENT2, ref="app-7")))
    assert (receipt.code, receipt.error_code) == (5, "duplicate_ref")
    assert points(chain, RESIDENT2).balance == 0


def test_award_needs_the_points_operator_role(residents_ledger: Ledger) -> None:
    receipt = residents_ledger.submit(MERCHANT, award_points(award()))
    assert (receipt.code, receipt.error_code) == (3, "missing_role")


def test_one_invalid_award_fails_only_itself(residents_ledger: Ledger) -> None:
    chain = residents_ledger
    receipt = chain.ok(
        OPERATOR,
        award_points(
            award(points=400, ref="a"),
            award(COMPANY, ref="b"),
            award(points=500, ref="c"),
            award(points=101, ref="d"),  # 400 + 500 + 101 > 1000
            award(points=100, ref="e"),
        ),
    )
    assert outcomes(receipt) == ["ok", "not_resident", "ok", "daily_cap_exceeded", "ok"]
    assert points(chain).balance == 1_000
    assert dict(receipt.events[-1].attributes)["rejected"] == "2"
    # A rejected award's reference stays free.
    chain.ok(OPERATOR, award_points(award(RESIDENT2, ref="d")))


def test_all_awards_failing_fails_the_tx_with_the_first_error(residents_ledger: Ledger) -> None:
    receipt = residents_ledger.submit(
        OPERATOR, award_points(award(COMPANY, ref="a"), award(STRANGER, ref="b"))
    )
    assert (receipt.code, receipt.error_code) == (2, "not_resident")
    assert receipt.message.startswith(
        "none of the 2 awards applied; by reason: 1 not_resident (first award 0: recipient "
    )
    assert "; 1 unknown_account (first award 1: " in receipt.message
    # One reason for all: the first award's error says it
    receipt = residents_ledger.submit(
        OPERATOR, award_points(award(COMPANY, ref="a"), award(COMPANY, ref="b"))
    )
    assert receipt.message.startswith("none of the 2 awards applied; award 0:")
    assert "by reason" not in receipt.message


def test_all_awards_failing_for_several_reasons_names_every_reason(
    residents_ledger: Ledger,
) -> None:
    # Reproduction: the message named only award 0's error, so a sender whose other awards
    # failed for another reason learnt it only after fixing the first and sending again.
    chain = residents_ledger
    chain.ok(OPERATOR, award_points(award(points=10, ref="used")))
    receipt = chain.submit(
        OPERATOR,
        award_points(
            award(COMPANY, ref="a"),
            award(ref="used"),
            award(STRANGER, ref="b"),
            award(COMPANY, ref="d"),
            award(points=2_000, ref="c"),
        ),
    )
    # The code (which consensus commits to) is still the first award's
    assert (receipt.code, receipt.error_code) == (2, "not_resident")
    message = receipt.message
    assert message.startswith("none of the 5 awards applied; by reason: 2 not_resident (first ")
    assert "2 not_resident (first award 0: recipient " in message
    assert "; 1 duplicate_ref (first award 1: " in message
    assert "; 1 unknown_account (first award 2: " in message
    assert "; 1 daily_cap_exceeded (first award 4: " in message
    assert message.count("(first award") == 4 and len(message) < 1_000  # one clause a reason


def test_every_reason_fits_a_refusal_however_long_the_awards_quote(
    residents_ledger: Ledger,
) -> None:
    # A duplicate reference quotes the reference, up to the chain's 64 bytes; each reason's
    # quote is cut so that all of them fit the 1,000 characters a refusal's message keeps.
    chain = residents_ledger
    long_ref = "r" * 64
    chain.ok(OPERATOR, award_points(award(points=10, ref=long_ref)))
    receipt = chain.submit(
        OPERATOR,
        award_points(
            award(COMPANY, ref="a"),
            award(ref=long_ref),
            award(STRANGER, ref="b"),
            award(points=2_000, ref="c"),
            award(day=TODAY + 1, ref="d"),
        ),
    )
    message = receipt.message
    assert message.count("(first award") == 5 and len(message) < 1_000, message
    assert "1 day_in_future (first award 4: " in message


def test_daily_cap_holds_across_txs_in_one_block_and_across_blocks(
    residents_ledger: Ledger,
) -> None:
    chain = residents_ledger
    raws = [
        chain.tx(OPERATOR, award_points(award(points=600, ref="x1")), nonce=chain.nonce(OPERATOR)),
        chain.tx(
            OPERATOR, award_points(award(points=600, ref="x2")), nonce=chain.nonce(OPERATOR) + 1
        ),
    ]
    result = chain.run(raws)
    assert [r.error_code for r in result.receipts] == ["", "daily_cap_exceeded"]
    chain.ok(OPERATOR, award_points(award(points=400, ref="x3")))
    assert (
        chain.submit(OPERATOR, award_points(award(points=1, ref="x4"))).error_code
        == "daily_cap_exceeded"
    )
    # Another day has a cap of its own.
    chain.ok(OPERATOR, award_points(award(points=1_000, ref="x5", day=20231231)))
    assert points(chain).balance == 2_000


def test_zero_cap_means_no_cap() -> None:
    chain = Ledger(make_residents_genesis(daily_cap=0))
    chain.ok(OPERATOR, award_points(award(points=10**9)))


STATELESS_AWARDS = [
    ("no awards", award_points(), "no_entries"),
    ("zero points", award_points(award(points=0)), "zero_amount"),
    ("unknown activity", award_points(award(activity=99)), "invalid_activity"),
    ("bad day", award_points(award(day=20240230)), "invalid_day"),
    ("missing reference", award_points(award(ref="")), "missing_field"),
    ("short evidence hash", award_points(award(evidence_hash=b"x")), "invalid_hash"),
    ("reference twice", award_points(award(ref="r"), award(RESIDENT2, ref="r")), "duplicate_ref"),
    ("huge points", award_points(award(points=10**13)), "amount_overflow"),
]


@pytest.mark.parametrize(
    ("msg", "code"), [c[1:] for c in STATELESS_AWARDS], ids=[c[0] for c in STATELESS_AWARDS]
)
def test_award_stateless_checks(residents_ledger: Ledger, msg: Any, code: str) -> None:
    assert check_code(residents_ledger.tx(OPERATOR, msg)) == code


# ---------------------------------------------------------------- exchange


def earn(chain: Ledger, who: Any = RESIDENT, amount: int = 1_000, day: int = TODAY) -> None:
    ref = f"earn-{who.address[-6:]}-{day}-{chain.height}"
    chain.ok(OPERATOR, award_points(award(who, points=amount, ref=ref, day=day)))


def test_exchange_burns_points_and_transfers_from_the_float(residents_ledger: Ledger) -> None:
    chain = residents_ledger
    earn(chain)
    batch_before = get_batch(chain.state, BATCH_ID)
    receipt = chain.ok(RESIDENT, ledger_pb2.ExchangePoints(grams=60))
    assert points(chain) == PointsAccount(balance=400, awarded=1_000, exchanged=600)
    assert get_balance(chain.state, RESIDENT.address, BATCH_ID) == 60
    assert get_balance(chain.state, FLOAT, BATCH_ID) == 100_000 - 60
    assert get_batch(chain.state, BATCH_ID) == batch_before  # an ordinary transfer
    assert [e.type for e in receipt.events] == ["exchange_points", "transfer"]
    assert dict(receipt.events[1].attributes)["from"] == FLOAT
    assert receipt.batches == (BATCH_ID,)
    assert decode_u64(chain.state.data[exchange_day_key(RESIDENT.address, TODAY)]) == 60
    # The resident may trade the tickets like any holder.
    chain.ok(RESIDENT, transfer((COMPANY, BATCH_ID, 10)))


EXCHANGE_FAILURES = [
    (
        "beyond the points balance",
        RESIDENT,
        ledger_pb2.ExchangePoints(grams=101),
        2,
        "insufficient_points",
    ),
    ("by a company", COMPANY, ledger_pb2.ExchangePoints(grams=1), 2, "not_resident"),
    (
        "unknown batch",
        RESIDENT,
        ledger_pb2.ExchangePoints(grams=1, batch_id=BATCH_ID[:-1] + "9"),
        4,
        "unknown_batch",
    ),
]


@pytest.mark.parametrize(
    ("who", "msg", "code", "error_code"),
    [c[1:] for c in EXCHANGE_FAILURES],
    ids=[c[0] for c in EXCHANGE_FAILURES],
)
def test_exchange_failures(
    residents_ledger: Ledger, who: Any, msg: Any, code: int, error_code: str
) -> None:
    chain = residents_ledger
    earn(chain)
    result = chain.run([chain.tx(who, msg)])
    assert (result.receipts[0].code, result.receipts[0].error_code) == (code, error_code)
    assert list(result.writes) == [b"nonce/" + who.address.encode()]


def test_exchange_beyond_the_float() -> None:
    chain = funded_residents_ledger(float_grams=50)
    earn(chain)
    receipt = chain.submit(RESIDENT, ledger_pb2.ExchangePoints(grams=51))
    assert (receipt.code, receipt.error_code) == (2, "insufficient_float")
    assert points(chain).balance == 1_000


def test_exchange_daily_limit() -> None:
    chain = funded_residents_ledger(genesis=make_residents_genesis(daily_cap=0))
    earn(chain, amount=100_000)
    chain.ok(RESIDENT, ledger_pb2.ExchangePoints(grams=4_000))
    receipt = chain.submit(RESIDENT, ledger_pb2.ExchangePoints(grams=1_001))
    assert (receipt.code, receipt.error_code) == (2, "exchange_limit_exceeded")
    chain.ok(RESIDENT, ledger_pb2.ExchangePoints(grams=1_000))
    assert points(chain).balance == 50_000
    chain.base_time_ms += 86_400_000  # the next chain-local day has a limit of its own
    chain.ok(RESIDENT, ledger_pb2.ExchangePoints(grams=5_000))
    assert points(chain) == PointsAccount(balance=0, awarded=100_000, exchanged=100_000)


def test_exchange_without_a_batch_takes_float_batches_in_order() -> None:
    chain = funded_residents_ledger(float_grams=30)
    earn(chain)
    # A second batch in the float: issue again and top up.
    chain.ok(ISSUER, issue_batch(amount_grams=1_000))
    second = BATCH_ID[:-1] + "2"
    chain.ok(ISSUER, top_up_float(second, 500))
    receipt = chain.ok(RESIDENT, ledger_pb2.ExchangePoints(grams=50))
    moved = [
        (dict(e.attributes)["batch_id"], dict(e.attributes)["amount_grams"])
        for e in receipt.events[1:]
    ]
    assert moved == [(BATCH_ID, "30"), (second, "20")]
    assert get_balance(chain.state, FLOAT, BATCH_ID) == 0


def test_exchange_with_a_batch_uses_only_that_batch() -> None:
    chain = funded_residents_ledger(float_grams=30)
    earn(chain)
    receipt = chain.submit(RESIDENT, ledger_pb2.ExchangePoints(grams=31, batch_id=BATCH_ID))
    assert receipt.error_code == "insufficient_float"
    chain.ok(RESIDENT, ledger_pb2.ExchangePoints(grams=30, batch_id=BATCH_ID))


def test_nobody_can_sign_for_the_float(residents_ledger: Ledger) -> None:
    body = ledger_pb2.TxBody(chain_id="carbon-test-1", signer=FLOAT, nonce=0)
    body.transfer.CopyFrom(transfer((COMPANY, BATCH_ID, 1)))
    from carbon_ticket.chain.check import check_message
    from carbon_ticket.chain.errors import InvalidTransaction
    from carbon_ticket.chain.limits import Limits

    with pytest.raises(InvalidTransaction) as info:
        check_message(body, Limits())
    assert info.value.code == "module_account"


def test_exchange_stateless_checks(residents_ledger: Ledger) -> None:
    assert (
        check_code(residents_ledger.tx(RESIDENT, ledger_pb2.ExchangePoints(grams=0)))
        == "zero_amount"
    )
    bad_batch = ledger_pb2.ExchangePoints(grams=1, batch_id="not a batch")
    assert check_code(residents_ledger.tx(RESIDENT, bad_batch)) == "invalid_batch_id"


# ---------------------------------------------------------------- offers and redemptions


@pytest.fixture
def shop(residents_ledger: Ledger) -> Ledger:
    """The residents' chain plus a ticket offer, a points offer and a resident holding tickets."""
    chain = residents_ledger
    chain.ok(MERCHANT, register_offer())
    chain.ok(
        MERCHANT,
        register_offer(
            offer_id="TEA", payment=ledger_pb2.OFFER_PAYMENT_POINTS, amount=300, max_redemptions=5
        ),
    )
    earn(chain)
    chain.ok(ISSUER, transfer((RESIDENT, BATCH_ID, 5_000)))
    return chain


def test_register_offer(residents_ledger: Ledger) -> None:
    receipt = residents_ledger.ok(MERCHANT, register_offer())
    offer = Offer.decode(residents_ledger.state.data[offer_key(MERCHANT.address, "SPRING-SERVICE")])
    assert (offer.payment, offer.amount, offer.max_redemptions, offer.redemptions) == (
        "grams",
        2_000,
        2,
        0,
    )
    assert receipt.events[0].type == "register_offer"


OFFER_FAILURES = [
    ("without the merchant role", RESIDENT, register_offer(), 3, "missing_role"),
    ("company without the role", COMPANY, register_offer(), 3, "missing_role"),
    (
        "already ended",
        MERCHANT,
        register_offer(validity=ledger_pb2.Period(start_date=20231101, end_date=20231231)),
        2,
        "offer_expired",
    ),
]


@pytest.mark.parametrize(
    ("who", "msg", "code", "error_code"),
    [c[1:] for c in OFFER_FAILURES],
    ids=[c[0] for c in OFFER_FAILURES],
)
def test_register_offer_failures(
    residents_ledger: Ledger, who: Any, msg: Any, code: int, error_code: str
) -> None:
    receipt = residents_ledger.submit(who, msg)
    assert (receipt.code, receipt.error_code) == (code, error_code)


def test_offer_id_is_unique_per_merchant(residents_ledger: Ledger) -> None:
    residents_ledger.ok(MERCHANT, register_offer())
    assert residents_ledger.submit(MERCHANT, register_offer()).error_code == "offer_exists"


@pytest.mark.parametrize(
    ("msg", "code"),
    [
        (register_offer(offer_id=""), "missing_field"),
        (register_offer(payment=0), "invalid_offer_payment"),
        (register_offer(amount=0), "zero_amount"),
        (register_offer(max_redemptions=0), "zero_amount"),
        (register_offer(jurisdiction="XX"), "invalid_jurisdiction"),
        (
            register_offer(validity=ledger_pb2.Period(start_date=20240201, end_date=20240101)),
            "invalid_period",
        ),
    ],
)
def test_register_offer_stateless_checks(residents_ledger: Ledger, msg: Any, code: str) -> None:
    assert check_code(residents_ledger.tx(MERCHANT, msg)) == code


def test_redeem_with_tickets_retires_them_with_a_certificate(shop: Ledger) -> None:
    receipt = shop.ok(RESIDENT, redeem())
    cert_id = certificate_id(receipt.tx_hash)
    cert = get_certificate(shop.state, cert_id)
    assert (cert.beneficiary, cert.reason, cert.account, cert.amount_grams) == (
        RESIDENT.address,
        REDEMPTION_REASON,
        RESIDENT.address,
        2_000,
    )
    assert MERCHANT.address in cert.event and "SPRING-SERVICE" in cert.event
    assert cert.jurisdiction == "CN-15"
    assert get_balance(shop.state, RESIDENT.address, BATCH_ID) == 3_000
    assert get_batch(shop.state, BATCH_ID).retired == 2_000
    assert [e.type for e in receipt.events] == ["retire", "redeem"]
    stored = Redemption.decode(shop.state.data[voucher_key(MERCHANT.address, "V-1")])
    assert (stored.resident, stored.certificate_id, stored.day) == (
        RESIDENT.address,
        cert_id,
        TODAY,
    )
    assert Settlement.decode(shop.state.data[settlement_key(MERCHANT.address)]) == Settlement(
        1, 2_000, 0
    )
    # The same grams can never be used twice: they are retired.
    assert (
        shop.submit(RESIDENT, transfer((COMPANY, BATCH_ID, 3_001))).error_code
        == "insufficient_balance"
    )


def test_redeem_with_points_burns_them(shop: Ledger) -> None:
    shop.ok(RESIDENT, redeem("V-9", "TEA", batch_id=""))
    assert points(shop) == PointsAccount(balance=700, awarded=1_000, redeemed=300)
    shop.ok(RESIDENT, redeem("V-10", "TEA", batch_id=""))
    day = Settlement.decode(shop.state.data[settlement_day_key(MERCHANT.address, TODAY)])
    assert day == Settlement(2, 0, 600)


def test_exhausted_offer_is_refused(shop: Ledger) -> None:
    shop.ok(RESIDENT, redeem("V-1"))
    shop.ok(RESIDENT, redeem("V-2"))
    receipt = shop.submit(RESIDENT, redeem("V-3"))
    assert (receipt.code, receipt.error_code) == (2, "offer_exhausted")
    assert get_balance(shop.state, RESIDENT.address, BATCH_ID) == 1_000


def test_expired_and_not_started_offers_are_refused(shop: Ledger) -> None:
    shop.ok(
        MERCHANT,
        register_offer(
            offer_id="LATER", validity=ledger_pb2.Period(start_date=20240105, end_date=20240110)
        ),
    )
    assert shop.submit(RESIDENT, redeem("V-1", "LATER")).error_code == "offer_not_started"
    shop.base_time_ms += 31 * 86_400_000  # 2024-02-01 in UTC+8
    receipt = shop.submit(RESIDENT, redeem("V-2"))
    assert (receipt.code, receipt.error_code) == (2, "offer_expired")


REDEEM_FAILURES = [
    ("repeated voucher", RESIDENT, redeem("V-1"), 5, "voucher_used"),
    ("unknown offer", RESIDENT, redeem("V-2", "NOPE"), 4, "unknown_offer"),
    ("beyond the tickets", RESIDENT2, redeem("V-2"), 2, "insufficient_balance"),
    ("points offer without points", RESIDENT2, redeem("V-2", "TEA", ""), 2, "insufficient_points"),
    ("by a company", COMPANY, redeem("V-2"), 2, "not_resident"),
    ("ticket offer without a batch", RESIDENT, redeem("V-2", batch_id=""), 1, "missing_batch"),
    ("points offer with a batch", RESIDENT, redeem("V-2", "TEA"), 1, "unexpected_batch"),
]


@pytest.mark.parametrize(
    ("who", "msg", "code", "error_code"),
    [c[1:] for c in REDEEM_FAILURES],
    ids=[c[0] for c in REDEEM_FAILURES],
)
def test_redeem_failures_change_nothing(
    shop: Ledger, who: Any, msg: Any, code: int, error_code: str
) -> None:
    shop.ok(RESIDENT, redeem("V-1"))
    result = shop.run([shop.tx(who, msg)])
    assert (result.receipts[0].code, result.receipts[0].error_code) == (code, error_code)
    assert list(result.writes) == [b"nonce/" + who.address.encode()]


def test_redeem_at_an_account_that_lost_the_merchant_role(shop: Ledger) -> None:
    from tests.chain.conftest import VALIDATORS

    revoke = ledger_pb2.RevokeRole(address=MERCHANT.address, role=ledger_pb2.ROLE_MERCHANT)
    shop.ok(VALIDATORS[0], revoke, cosigners=VALIDATORS[1:])
    assert shop.submit(RESIDENT, redeem()).error_code == "not_merchant"


def test_voucher_reference_is_per_merchant(shop: Ledger) -> None:
    other = key("tea-house")
    shop.ok(REGISTRAR, register_account(other, ledger_pb2.ACCOUNT_KIND_MERCHANT, "Tea house"))
    from tests.chain.conftest import VALIDATORS

    grant = ledger_pb2.GrantRole(address=other.address, role=ledger_pb2.ROLE_MERCHANT)
    shop.ok(VALIDATORS[0], grant, cosigners=VALIDATORS[1:])
    shop.ok(
        other, register_offer(offer_id="TEA", payment=ledger_pb2.OFFER_PAYMENT_POINTS, amount=1)
    )
    shop.ok(RESIDENT, redeem("V-1", "TEA", ""))
    shop.ok(RESIDENT, ledger_pb2.Redeem(merchant=other.address, offer_id="TEA", voucher_ref="V-1"))


# ---------------------------------------------------------------- genesis


def test_resident_params_round_trip_and_change_the_hash() -> None:
    genesis = make_residents_genesis()
    assert Genesis.from_json(genesis.to_json()) == genesis
    other = make_residents_genesis(residents=ResidentParams(utc_offset_minutes=0))
    assert other.hash() != genesis.hash()
    west = make_residents_genesis(residents=ResidentParams(utc_offset_minutes=-300))
    assert Genesis.from_json(west.to_json()).params.residents.utc_offset_minutes == -300


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("utc_offset_minutes", 841, "utc_offset_minutes"),
        ("utc_offset_minutes", -721, "utc_offset_minutes"),
        ("points_per_gram", 0, "points_per_gram"),
        ("award_window_days", 5000, "award_window_days"),
        ("walk_daily_cap", -1, "walk_daily_cap"),
    ],
)
def test_bad_resident_params(field: str, value: int, words: str) -> None:
    import json

    from carbon_ticket.chain.errors import InvalidGenesis

    data = json.loads(make_residents_genesis().to_json())
    data["params"]["residents"][field] = value
    with pytest.raises(InvalidGenesis, match=words):
        Genesis.from_json(json.dumps(data))


def test_the_float_is_registered_at_genesis_and_cannot_be_listed() -> None:
    from dataclasses import replace

    from carbon_ticket.chain import GenesisAccount
    from carbon_ticket.chain.errors import InvalidGenesis

    chain = Ledger(make_residents_genesis())
    assert chain.state.get(b"nonce/" + FLOAT.encode()) is not None
    genesis = make_residents_genesis()
    with pytest.raises(InvalidGenesis, match="module account"):
        replace(genesis, accounts=(*genesis.accounts, GenesisAccount(FLOAT, "bureau", "float")))
    assert RESIDENT_PARAMS.activity_cap("tree_planting") == 600


def test_points_counters_cannot_overflow() -> None:
    chain = Ledger(make_residents_genesis(daily_cap=0))
    big = 10**12  # the largest award check_tx admits
    chain.state.data[b"pts/" + RESIDENT.address.encode()] = PointsAccount(
        balance=2**63 - big, awarded=2**63 - big
    ).encode()
    receipt = chain.submit(OPERATOR, award_points(award(points=big)))
    assert (receipt.code, receipt.error_code) == (2, "points_overflow")
    chain.ok(OPERATOR, award_points(award(points=big - 1, ref="app-2")))


def test_max_awards_is_bounded_by_what_a_receipt_holds() -> None:
    import json

    from carbon_ticket.chain.errors import InvalidGenesis

    data = json.loads(make_residents_genesis().to_json())
    data["params"]["limits"]["max_awards"] = 60_001
    with pytest.raises(InvalidGenesis, match="max_awards"):
        Genesis.from_json(json.dumps(data))


def test_queries(shop: Ledger) -> None:
    receipt = shop.ok(RESIDENT, redeem("V-1"))
    shop.ok(RESIDENT, redeem("V-2", "TEA", batch_id=""))
    assert get_points_earned(shop.state, RESIDENT.address, TODAY) == 1_000
    assert get_points_earned(shop.state, RESIDENT2.address, TODAY) == 0
    assert [o.offer_id for o in list_offers(shop.state, MERCHANT.address)] == [
        "SPRING-SERVICE",
        "TEA",
    ]
    assert get_offer(shop.state, MERCHANT.address, "TEA").redemptions == 1
    assert get_redemption(shop.state, MERCHANT.address, "V-1").certificate_id == certificate_id(
        receipt.tx_hash
    )
    assert get_settlement(shop.state, MERCHANT.address) == Settlement(2, 2_000, 300)
    assert get_settlement(shop.state, MERCHANT.address, TODAY) == Settlement(2, 2_000, 300)
    assert get_settlement(shop.state, MERCHANT.address, 20240102) == Settlement()
    from carbon_ticket.chain.errors import NotFound

    with pytest.raises(NotFound):
        get_offer(shop.state, MERCHANT.address, "NOPE")
    with pytest.raises(NotFound):
        get_redemption(shop.state, MERCHANT.address, "V-3")
