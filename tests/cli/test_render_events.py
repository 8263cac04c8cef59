"""Events whose gram quantities carry no ``_grams`` suffix (their attribute names are in the
receipts' canonical bytes and stay): an exchange's ``grams``, the ``amount`` of an offer and of a
redemption paid in tickets. ``-o json``, the table view and the explorer's transaction page read
them as grams with their tCO2e, as every ``*_grams`` attribute; points stay points."""

from __future__ import annotations

from carbon_ticket.cli import render
from carbon_ticket.cli.common import table_view
from carbon_ticket.cli.explorer import pages
from carbon_ticket.proto import ledger_pb2, services_pb2


def _event(kind: str, *attributes: tuple[str, str]) -> ledger_pb2.Event:
    ev = ledger_pb2.Event(type=kind)
    for key, value in attributes:
        ev.attributes.add(key=key, value=value)
    return ev


EXCHANGE = _event("exchange_points", ("account", "ct1x"), ("grams", "20"), ("points", "200"),
                  ("points_per_gram", "10"), ("day", "20260101"))  # fmt: skip


def _offer_event(kind: str, payment: str, amount: str) -> ledger_pb2.Event:
    return _event(kind, ("merchant", "ct1m"), ("offer_id", "bike"), ("payment", payment),
                  ("amount", amount), ("day", "20260101"))  # fmt: skip


def test_an_exchange_gives_its_grams_as_an_integer_with_tco2e() -> None:
    # Reproduction: "grams" stayed the text "20" with no tCO2e beside it.
    got = render.event(EXCHANGE)
    assert (got["grams"], got["tco2e"]) == (20, "0.00002")
    assert got["points"] == "200" and got["points_per_gram"] == "10"  # points are no grams
    assert list(got).index("tco2e") == list(got).index("grams") + 1
    assert table_view(got)["tco2e"] == "0.00002"


def test_an_offer_and_a_redemption_paid_in_tickets_give_amount_tco2e() -> None:
    for kind in ("register_offer", "redeem"):
        got = render.event(_offer_event(kind, "grams", "15000000"))
        assert (got["amount"], got["amount_tco2e"]) == (15_000_000, "15"), kind
        assert list(got).index("amount_tco2e") == list(got).index("amount") + 1
        assert table_view(got)["amount"] == "15 tCO2e"  # as amount_grams reads
        # Paid in points, the amount is points: no tCO2e
        got = render.event(_offer_event(kind, "points", "50"))
        assert got["amount"] == "50" and "amount_tco2e" not in got, kind
    # Other events' unsuffixed names are no grams
    got = render.event(_event("sell", ("payment", "grams"), ("amount", "7"), ("grams", "3")))
    assert (got["amount"], got["grams"]) == ("7", "3") and "tco2e" not in got


def test_a_receipt_and_a_signed_body_read_the_same_quantity_the_same_way() -> None:
    info = services_pb2.TxInfo(height=3)
    info.body.exchange_points.grams = 20
    info.receipt.events.append(EXCHANGE)
    got = render.tx(info)
    assert (got["receipt"]["events"][0]["tco2e"], got["body"]["exchange_points"]["tco2e"]) == (
        "0.00002",
        "0.00002",
    )
    offer = services_pb2.TxInfo(height=4)
    offer.body.register_offer.payment = ledger_pb2.OFFER_PAYMENT_GRAMS
    offer.body.register_offer.amount = 15_000_000
    assert render.tx(offer)["body"]["register_offer"]["amount_tco2e"] == "15"
    offer.body.register_offer.payment = ledger_pb2.OFFER_PAYMENT_POINTS
    assert "amount_tco2e" not in render.tx(offer)["body"]["register_offer"]


def test_the_explorer_transaction_page_shows_the_tco2e() -> None:
    info = services_pb2.TxInfo(height=3)
    info.body.redeem.merchant = "ct1m"
    info.receipt.events.append(_offer_event("redeem", "grams", "15000000"))
    info.receipt.events.append(EXCHANGE)
    html = pages.tx_page("c", info)
    assert "<dt>amount</dt><dd>15 tCO2e</dd>" in html
    assert "<dt>tco2e</dt><dd>0.00002</dd>" in html


def test_a_value_of_unicode_digits_stays_text() -> None:
    # "²" is a digit to str.isdigit but no integer: an attribute from a node must not crash
    # the wallet or the explorer.
    got = render.event(_event("transfer", ("amount_grams", "²")))
    assert got["amount_grams"] == "²" and "amount_tco2e" not in got
