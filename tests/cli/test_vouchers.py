"""The wallet's ``query voucher MERCHANT REF`` and ``query vouchers MERCHANT``: a merchant's till
reading one voucher and the vouchers redeemed at it, as tables and ``-o json``, paged, with the
exit codes of docs/cli.md. Against the public API served in-process (a thread of its own) over
the residents' chain of tests/node/test_vouchers_api.py.

Reproduction (2026-12-03): the wallet had no way to ask whether voucher X was redeemed at a
merchant (``query merchant`` shows totals; ``query redemptions`` a resident's own).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.store import MemoryStore
from carbon_ticket.cli.main import cli
from tests.chain.conftest import MERCHANT, RESIDENT, RESIDENT2, funded_residents_ledger, key
from tests.cli.test_tables import assert_aligned
from tests.node.api_inprocess import serving
from tests.node.test_vouchers_api import POINTS_REFS, TICKETS_REF, residents_chain, store_of

ORDER = ["QC/10", "QC/7", POINTS_REFS[2], TICKETS_REF]  # by the references' UTF-8 bytes


@pytest.fixture(scope="module")
def node() -> Iterator[tuple[str, bytes]]:
    """The address of a node whose merchant had four vouchers redeemed, and the tx id of the
    one paid in tickets."""
    chain, tickets_tx = residents_chain()
    store = MemoryStore()
    store_of(chain, store)
    with serving(store) as address:
        yield address, tickets_tx
    store.close()


def run(address: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["query", *args, "--node", address])


def ok_json(address: str, *args: str) -> Any:
    result = run(address, *args, "-o", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_query_voucher_names_the_resident_what_was_paid_and_the_certificate(
    node: tuple[str, bytes],
) -> None:
    address, tickets_tx = node
    shown = ok_json(address, "voucher", MERCHANT.address, TICKETS_REF)
    assert (shown["resident"], shown["merchant"], shown["voucher_ref"]) == (
        RESIDENT.address, MERCHANT.address, TICKETS_REF)  # fmt: skip
    assert (shown["payment"], shown["amount_grams"], shown["amount_tco2e"]) == (
        "grams", 2_000, "0.002")  # fmt: skip
    assert shown["certificate_id"] == certificate_id(tickets_tx)
    assert shown["tx_hash"] == tickets_tx.hex() and shown["time"].endswith("Z")
    table = run(address, "voucher", MERCHANT.address, TICKETS_REF)
    assert table.exit_code == 0, table.output
    assert RESIDENT.address in table.output and "0.002 tCO2e" in table.output
    assert certificate_id(tickets_tx) in table.output
    # Typed in another Unicode form, the reference is the one the resident's wallet signed
    nfd = ok_json(address, "voucher", MERCHANT.address, unicodedata.normalize("NFD", ORDER[2]))
    assert (nfd["voucher_ref"], nfd["payment"], nfd["points"]) == (ORDER[2], "points", 100)


def test_query_vouchers_pages_in_reference_order(node: tuple[str, bytes]) -> None:
    address, _tx = node
    first = run(address, "vouchers", MERCHANT.address, "--limit", "3")
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0] == f"4 redemptions at {MERCHANT.address} in all (height 0)"
    header = ["voucher_ref", "height", "day", "resident", "offer_id", "paid", "certificate_id"]
    assert lines[1].split() == header
    assert [line.split()[0] for line in lines[2:5]] == ORDER[:3]
    assert "100 points" in lines[2] and RESIDENT2.address in lines[2] and lines[2].endswith("-")
    token = lines[5].removeprefix("more: --page-token ")
    assert lines[5].startswith("more: ") and token.isascii()
    rest = ok_json(address, "vouchers", MERCHANT.address, "--limit", "3", "--page-token", token)
    assert [i["voucher_ref"] for i in rest["items"]] == ORDER[3:]
    assert (rest["next_page_token"], rest["count"]) == ("", 4)
    (tickets,) = rest["items"]
    assert (tickets["resident"], tickets["amount_tco2e"]) == (RESIDENT.address, "0.002")
    every = ok_json(address, "vouchers", MERCHANT.address, "--limit", "1", "--all")
    assert [i["voucher_ref"] for i in every["items"]] == ORDER and every["next_page_token"] == ""
    table = run(address, "vouchers", MERCHANT.address, "--all")
    assert "0.002 tCO2e" in table.output and "more:" not in table.output


def test_query_vouchers_lines_up_a_cjk_reference(node: tuple[str, bytes]) -> None:
    """水/2024-1 takes nine columns on screen, not eight (its len): the next column starts after
    them."""
    address, _tx = node
    items = ok_json(address, "vouchers", MERCHANT.address, "--all")["items"]
    table = run(address, "vouchers", MERCHANT.address, "--all")
    assert table.exit_code == 0, table.output
    header = ("voucher_ref", "height", "day", "resident", "offer_id", "paid", "certificate_id")
    rows = [header] + [
        (i["voucher_ref"], str(i["height"]), str(i["day"]), i["resident"], i["offer_id"],
         f"{i['amount_tco2e']} tCO2e" if i["payment"] == "grams" else f"{i['points']} points",
         i["certificate_id"] or "-")
        for i in items
    ]  # fmt: skip
    assert items[-1]["voucher_ref"] == TICKETS_REF
    assert_aligned(table.output.splitlines()[1:], rows)


def test_a_merchant_asking_for_its_redemptions_is_sent_to_query_vouchers(
    node: tuple[str, bytes],
) -> None:
    address, _tx = node
    result = run(address, "redemptions", MERCHANT.address)
    assert result.exit_code == 2, result.output
    assert f"carbon-ticket query vouchers {MERCHANT.address}" in result.output
    assert f"carbon-ticket query merchant {MERCHANT.address}" in result.output


@pytest.fixture(scope="module")
def no_offers() -> Iterator[str]:
    """The address of a node whose merchant (the genesis' bike shop) registered no offer."""
    store = MemoryStore()
    store_of(funded_residents_ledger(), store)
    with serving(store) as address:
        yield address
    store.close()


# Reproduction (2026-12-03): both printed "0 redemptions at ADDRESS in all (height 0)" and no
# more: the node answers the vouchers of any registered account as a merchant's with none.
def test_query_vouchers_of_an_account_that_is_no_merchant_says_so(
    node: tuple[str, bytes],
) -> None:
    address, _tx = node
    result = run(address, "vouchers", RESIDENT.address)
    assert result.exit_code == 0, result.output  # nothing there, as "no transactions" in history
    assert result.output.splitlines() == [
        f"no vouchers: {RESIDENT.address} is a resident account, not a merchant: it holds no "
        "merchant role and has registered no offer"
    ]
    # -o json is the API's page as it is: no items, a count of 0
    shown = ok_json(address, "vouchers", RESIDENT.address)
    assert (shown["items"], shown["count"], shown["next_page_token"]) == ([], 0, "")


def test_query_vouchers_of_a_merchant_without_offers_says_so(no_offers: str) -> None:
    result = run(no_offers, "vouchers", MERCHANT.address)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"no vouchers: merchant {MERCHANT.address} has registered no offer yet (offers are "
        "registered with carbon-ticket tx register-offer)"
    ]


# Reproduction (2026-12-03): query merchant of a resident printed a merchant's zero totals and
# no word that the account is no merchant.
def test_query_merchant_of_an_account_without_offers_says_why(
    node: tuple[str, bytes], no_offers: str
) -> None:
    address, _tx = node
    result = run(address, "merchant", RESIDENT.address)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        f"no offers: {RESIDENT.address} is a resident account, not a merchant: it holds no "
        "merchant role and has registered no offer"
    )
    result = run(no_offers, "merchant", MERCHANT.address)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith(
        f"no offers: merchant {MERCHANT.address} has registered no offer yet"
    )
    # A merchant with offers gets no such line; -o json is the API's answer as it is
    assert "no offers:" not in run(address, "merchant", MERCHANT.address).output
    assert ok_json(address, "merchant", RESIDENT.address)["offers"] == []


def test_query_voucher_at_an_account_without_offers_says_why(
    node: tuple[str, bytes], no_offers: str
) -> None:
    address, _tx = node
    result = run(address, "voucher", RESIDENT.address, "QC/7")
    assert result.exit_code == 3, result.output  # refused as any voucher never redeemed
    assert result.output.strip() == (
        f"error: no voucher 'QC/7' was redeemed at {RESIDENT.address}: {RESIDENT.address} is a "
        "resident account, not a merchant: it holds no merchant role and has registered no "
        "offer [unknown_voucher]"
    )
    result = run(no_offers, "voucher", MERCHANT.address, "QC/7")
    assert result.exit_code == 3, result.output
    assert "has registered no offer yet" in result.output
    assert result.output.strip().endswith("[unknown_voucher]")


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("voucher", "MERCHANT", "QC/8"), 3, "[unknown_voucher]"),
        (("voucher", "STRANGER", "QC/7"), 3, "[unknown_account]"),
        (("voucher", "MERCHANT", ""), 2, "voucher reference is empty"),
        (("voucher", "ct1nope", "QC/7"), 2, "ct1nope"),
        (("vouchers", "ct1nope"), 2, "ct1nope"),
        (("vouchers", "STRANGER"), 3, "[unknown_account]"),
        (("vouchers", "MERCHANT", "--page-token", "QC/7"), 3, "[bad_page_token]"),
        (("vouchers", "MERCHANT", "--limit", "0"), 2, "--limit"),
    ],
)
def test_exit_codes_as_docs_cli_says(
    node: tuple[str, bytes], args: tuple[str, ...], code: int, said: str
) -> None:
    address, _tx = node
    named = {"MERCHANT": MERCHANT.address, "STRANGER": key("never-registered").address}
    result = run(address, *(named.get(arg, arg) for arg in args))
    assert result.exit_code == code, result.output
    assert said in result.output
