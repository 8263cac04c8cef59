"""The explorer's block, transaction and account pages and its search box, against the
in-process devnet after ``carbon-ticket demo`` (plus a few transactions of this module: an
account with a hostile name, a resident, a transaction the ledger refused): each page shows what
the node holds and links what it names, blocks and histories are paged, bad input gets 400,
unknown ids 404, node trouble 502/504, hostile text is escaped, the search redirects."""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import grpc
import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.cli.client import LedgerClient, make_body
from carbon_ticket.cli.explorer import app as explorer_app
from carbon_ticket.cli.explorer import pages, source
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc
from tests.cli.explorer_harness import DemoChain, Page, fetch, running_explorer
from tests.cli.harness import stub_for, wallet_keys
from tests.cli.huge_block import HugeBlockNode, serving

HOSTILE = "<script>alert('owned')</script> & Co"
T = 1_000_000


@dataclass(frozen=True)
class Extra:
    """What this module adds to the demo chain."""

    hostile: str  # a company account named HOSTILE
    resident: str  # a resident account
    refused_tx: bytes  # the hostile account's transfer of tickets it does not hold
    games_tx: bytes  # the Winter Games retirement
    crowded_height: int  # a block of several retirements
    crowded_count: int


def _committed(stub: Any, tx_hash: bytes) -> services_pb2.TxInfo:
    deadline = time.monotonic() + 30
    while True:
        try:
            return stub.GetTx(services_pb2.GetTxRequest(tx_hash=tx_hash), timeout=5)
        except grpc.RpcError:  # NOT_FOUND tx_pending until committed
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="module")
def extra(demo_devnet: DemoChain) -> Extra:
    keys: Any = wallet_keys(demo_devnet.info)
    hostile, resident = PrivateKey.generate(), PrivateKey.generate()
    with stub_for(demo_devnet.endpoint) as stub:
        client = LedgerClient(stub, timeout=30)
        for key, kind, name in ((hostile, ledger_pb2.ACCOUNT_KIND_COMPANY, HOSTILE),
                                (resident, ledger_pb2.ACCOUNT_KIND_RESIDENT, "")):  # fmt: skip
            msg = ledger_pb2.RegisterAccount(address=key.address, kind=kind, name=name)
            assert client.send(msg, [keys["registrar"]]).committed
        transfer = ledger_pb2.Transfer(entries=[ledger_pb2.TransferEntry(
            to=resident.address, batch_id=demo_devnet.batch_id, amount_grams=T)])  # fmt: skip
        body = make_body(client.chain_id, hostile.address, 0, transfer, HOSTILE)
        reply = client.submit(encode_tx(body, [hostile]), wait=False)
        refused = _committed(stub, reply.tx_hash)
        assert refused.receipt.error_code == "insufficient_balance"
        games = stub.GetCertificate(services_pb2.GetCertificateRequest(
            certificate_id=demo_devnet.games_certificate), timeout=10)  # fmt: skip
        crowded = stub.GetCertificate(services_pb2.GetCertificateRequest(
            certificate_id=demo_devnet.crowded_certificate), timeout=10)  # fmt: skip
        block = stub.GetBlock(services_pb2.GetBlockRequest(height=crowded.height), timeout=10)
    return Extra(hostile.address, resident.address, reply.tx_hash, games.tx_hash,
                 crowded.height, block.committed.block.header.tx_count)  # fmt: skip


@pytest.fixture(scope="module")
def url(demo_devnet: DemoChain, extra: Extra) -> Iterator[str]:
    with running_explorer(demo_devnet.endpoint, demo_devnet.genesis()) as base:
        yield base


def _answer(url: str) -> tuple[int, str]:
    """GET without following a redirect: the status and the Location header."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        connection.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
        reply = connection.getresponse()
        reply.read()
        return reply.status, reply.getheader("Location", "")
    finally:
        connection.close()


def _rows(page: Page, table: str) -> list[str]:
    """The body rows of the page's table of that class."""
    body = page.text.split(f'<table class="{table}">', 1)[1].split("</table>", 1)[0]
    return body.split("<tbody>", 1)[1].split("<tr>")[1:]


def _no_foreign_script(page: Page) -> None:
    # Every script tag loads one of the explorer's files: no script from a value on the page.
    assert all(tag.startswith("<script src=") for tag in re.findall(r"<script[^>]*>", page.text))
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


# ---------------------------------------------------------------- blocks


def test_home_links_each_block_and_has_a_search_box(url: str) -> None:
    page = fetch(url + "/")
    height = int(re.search(r'<span id="height">(\d+)</span>', page.text).group(1))  # type: ignore[union-attr]
    assert f'<a href="/blocks/{height}">{height}</a>' in page.text
    assert '<form class="search" method="get" action="/search"' in page.text
    assert 'name="q"' in page.text


def test_a_block_page_shows_its_header_signers_and_transactions(
    url: str, demo_devnet: DemoChain, extra: Extra
) -> None:
    h = extra.crowded_height
    with stub_for(demo_devnet.endpoint) as stub:
        info = stub.GetBlock(services_pb2.GetBlockRequest(height=h), timeout=10)
    header = info.committed.block.header
    page = fetch(f"{url}/blocks/{h}")
    assert page.status == 200
    _no_foreign_script(page)
    hashes = (info.block_hash, header.app_hash, header.tx_root, header.results_root,
              header.validators_hash, header.next_validators_hash, header.proposer)  # fmt: skip
    for value in hashes:
        assert value.hex() in page.text
    assert f'<a href="/blocks/{h - 1}">{header.prev_hash.hex()}</a>' in page.text
    assert f'<a href="/blocks/{h - 1}">← Block {h - 1}</a>' in page.text
    assert f'<a href="/blocks/{h + 1}">Block {h + 1} →</a>' in page.text
    # The commit certificate: the devnet's one validator signed with its power.
    signers = _rows(page, "signers")
    assert len(signers) == len(info.committed.certificate.precommits) == 1
    assert "<td>node0</td><td>1</td>" in signers[0]
    rows = _rows(page, "txs")
    assert len(rows) == extra.crowded_count >= 2
    for index, (row, receipt) in enumerate(zip(rows, info.receipts, strict=True)):
        assert row.startswith(f"<td>{index}</td>")
        assert f'href="/txs/{receipt.tx_hash.hex()}"' in row
        assert "<td>retire</td>" in row and ">applied<" in row
        assert f'href="/accounts/{wallet_keys(demo_devnet.info)["issuer"].address}"' in row


def test_a_refused_transaction_shows_its_error_code_in_its_block(url: str, extra: Extra) -> None:
    page = fetch(f"{url}/txs/{extra.refused_tx.hex()}")
    height = int(re.search(r'height <a href="/blocks/(\d+)">', page.text).group(1))  # type: ignore[union-attr]
    rows = _rows(fetch(f"{url}/blocks/{height}"), "txs")
    (row,) = (r for r in rows if extra.refused_tx.hex() in r)
    assert "<td>transfer</td>" in row and "insufficient_balance" in row and "applied" not in row


def test_a_block_pages_its_transactions(
    url: str, extra: Extra, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explorer_app, "BLOCK_PAGE_SIZE", 1)
    h, count = extra.crowded_height, extra.crowded_count
    first = fetch(f"{url}/blocks/{h}")
    assert len(_rows(first, "txs")) == 1 and _rows(first, "txs")[0].startswith("<td>0</td>")
    assert f'<a href="/blocks/{h}?page=2">page 2 →</a>' in first.text
    second = fetch(f"{url}/blocks/{h}?page=2")
    assert _rows(second, "txs")[0].startswith("<td>1</td>")
    assert f'<a href="/blocks/{h}?page=1">← page 1</a>' in second.text
    assert f"Transactions 2 to 2 of {count}." in second.text
    past = fetch(f"{url}/blocks/{h}?page={count + 1}")
    assert past.status == 404 and f"{count} page(s) of 1" in past.text


def _synthetic_block(count: int) -> services_pb2.BlockInfo:
    key = PrivateKey.generate()
    info = services_pb2.BlockInfo(block_hash=bytes(32))
    info.committed.block.header.height = 7
    info.committed.block.header.tx_count = count
    for nonce in range(count):
        msg = ledger_pb2.Transfer(entries=[ledger_pb2.TransferEntry(
            to=key.address, batch_id="B" * 128, amount_grams=T)])  # fmt: skip
        raw = encode_tx(make_body("c", key.address, nonce, msg, "m" * 256), [key])
        info.committed.block.txs.append(raw)
        info.receipts.append(ledger_pb2.Receipt(tx_hash=nonce.to_bytes(32, "big")))
    return info


def test_a_block_over_four_mib_is_read_and_paged(demo_devnet: DemoChain) -> None:
    with serving(HugeBlockNode()) as node, running_explorer(node, demo_devnet.genesis()) as base:
        page = fetch(base + "/blocks/7?page=60")
    assert page.status == 200, page.text
    assert "Transactions 5901 to 6000 of 6000." in page.text
    assert page.text.count('href="/txs/') == 100


def test_a_block_of_thousands_of_transactions_is_a_small_page() -> None:
    info = _synthetic_block(3000)
    validators = services_pb2.ValidatorSetInfo(height=7, total_power=1)
    html = pages.block_page("c", info, validators, 9, 2, explorer_app.BLOCK_PAGE_SIZE)
    assert html.count('href="/txs/') == explorer_app.BLOCK_PAGE_SIZE == 100
    assert "Transactions 101 to 200 of 3000." in html
    assert len(html.encode()) < 100_000  # the whole block's txs would be megabytes


# ---------------------------------------------------------------- transactions


def test_a_transaction_page_reads_the_retirement_and_links_its_certificate(
    url: str, demo_devnet: DemoChain, extra: Extra
) -> None:
    page = fetch(f"{url}/txs/{extra.games_tx.hex()}")
    assert page.status == 200
    _no_foreign_script(page)
    cert = demo_devnet.games_certificate
    assert f'<a href="/certificates/{cert}">{cert}</a>' in page.text
    assert "<dt>Message</dt><dd><code>retire</code></dd>" in page.text
    # Amounts as the CLI's table view shows them, ids linked to their pages.
    assert "<dt>amount</dt><dd>5000 tCO2e</dd>" in page.text
    assert f'<a href="/batches/{quote(demo_devnet.batch_id)}">' in page.text
    assert "14th National Winter Games" in page.text
    assert '<table class="events">' in page.text and "<td>retire</td>" in page.text
    assert ">applied<" in page.text
    signer = wallet_keys(demo_devnet.info)
    assert any(f'href="/accounts/{k.address}"' in page.text for k in signer.values())


def test_a_redemption_or_a_purchase_that_retired_links_its_certificate() -> None:
    # Reproduction: only a Retire's certificate was linked; a Redeem paid in tickets and a
    # ConfirmPayment that retires on delivery name theirs in their own events.
    for kind, made in (("redeem", "RC-" + "A" * 24), ("confirm_payment", "RC-" + "B" * 24)):
        info = services_pb2.TxInfo(height=3)
        info.receipt.events.add(type=kind).attributes.add(key="certificate_id", value=made)
        info.receipt.events.add(type="other").attributes.add(key="certificate_id", value="")
        html = pages.tx_page("c", info)
        assert f'<dt>Certificate</dt><dd><a href="/certificates/{made}">{made}</a></dd>' in html
        assert 'href="/certificates/"' not in html  # an empty id is no certificate


def test_a_refused_transaction_page_shows_why_and_escapes_its_memo(url: str, extra: Extra) -> None:
    page = fetch(f"{url}/txs/{extra.refused_tx.hex().upper()}")
    assert page.status == 200
    _no_foreign_script(page)
    assert "insufficient_balance" in page.text and ">applied<" not in page.text
    assert "<dt>Memo</dt><dd>&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt; &amp; Co" in (
        page.text
    )
    assert f'<a href="/accounts/{extra.hostile}">' in page.text
    assert f'<a href="/accounts/{extra.resident}">' in page.text  # the transfer's recipient
    assert "<dt>amount</dt><dd>1 tCO2e</dd>" in page.text
    assert "<dt>Certificate</dt>" not in page.text and "No events." in page.text


# ---------------------------------------------------------------- accounts


def test_an_account_page_escapes_a_hostile_name_and_lists_its_history(
    url: str, extra: Extra
) -> None:
    page = fetch(f"{url}/accounts/{extra.hostile}")
    assert page.status == 200
    _no_foreign_script(page)
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt; &amp; Co" in page.text
    assert "<dt>Kind</dt><dd>company</dd>" in page.text
    assert "<dt>Nonce</dt><dd>1</dd>" in page.text
    # Newest first: its refused transfer, then the registrar's registering it.
    rows = _rows(page, "history")
    assert len(rows) == 2
    assert extra.refused_tx.hex()[:16] in rows[0] and "insufficient_balance" in rows[0]
    assert "<td>register_account</td>" in rows[1] and ">applied<" in rows[1]
    assert "Points" not in page.text  # not a resident


def test_an_account_page_shows_balances_and_roles(url: str, demo_devnet: DemoChain) -> None:
    issuer = wallet_keys(demo_devnet.info)["issuer"].address
    page = fetch(f"{url}/accounts/{issuer}")
    assert page.status == 200
    assert "issuer" in page.text.split("<dt>Roles</dt>", 1)[1].split("</dd>", 1)[0]
    balances = _rows(page, "balances")
    assert any(f'href="/batches/{quote(demo_devnet.batch_id)}"' in r for r in balances)
    assert "<strong>Total</strong>" in balances[-1]


def test_a_resident_page_shows_its_points(url: str, extra: Extra) -> None:
    page = fetch(f"{url}/accounts/{extra.resident}")
    assert page.status == 200
    assert "<dt>Kind</dt><dd>resident</dd>" in page.text
    assert "<h2>Points</h2>" in page.text and "<dt>Balance</dt><dd>0</dd>" in page.text


def test_a_merchant_page_shows_its_offers_totals_and_vouchers(
    url: str, demo_devnet: DemoChain
) -> None:
    # Reproduction: a merchant's page showed its record and history only: nothing of its offers,
    # its settlement or the vouchers residents redeemed there.
    merchant = wallet_keys(demo_devnet.info)["merchant"].address
    page = fetch(f"{url}/accounts/{merchant}")
    assert page.status == 200
    assert "<dt>Kind</dt><dd>merchant</dd>" in page.text
    assert "<h2>Merchant</h2>" in page.text and "<dt>Redemptions</dt><dd>0</dd>" in page.text
    assert "No offers." in page.text and "No vouchers." in page.text
    issuer = wallet_keys(demo_devnet.info)["issuer"].address
    assert "<h2>Merchant</h2>" not in fetch(f"{url}/accounts/{issuer}").text


def test_a_merchant_section_lists_offers_and_the_first_vouchers() -> None:
    merchant, resident = "ct1merchant", "ct1resident"
    info = services_pb2.MerchantInfo(merchant=merchant)
    info.total.redemptions, info.total.grams, info.total.points = 3, 4_000, 100
    info.offers.add(offer_id="SPRING", description="Bike <service>", discount="20%",
                    payment=ledger_pb2.OFFER_PAYMENT_GRAMS, amount=2_000, max_redemptions=5,
                    redemptions=2, jurisdiction="CN-15")  # fmt: skip
    info.offers.add(offer_id="TEA", payment=ledger_pb2.OFFER_PAYMENT_POINTS, amount=100,
                    max_redemptions=9, redemptions=1)  # fmt: skip
    vouchers = services_pb2.RedemptionPage(count=3, next_page_token="54")
    vouchers.items.add(voucher_ref="QC/1", resident=resident, offer_id="SPRING", day=20260101,
                       payment=ledger_pb2.OFFER_PAYMENT_GRAMS, amount_grams=2_000,
                       certificate_id="RC-" + "C" * 24, tx_hash=b"\x01" * 32)  # fmt: skip
    vouchers.items.add(voucher_ref="T<1>", resident=resident, offer_id="TEA", day=20260102,
                       payment=ledger_pb2.OFFER_PAYMENT_POINTS, points=100,
                       tx_hash=b"\x02" * 32)  # fmt: skip
    account = services_pb2.AccountInfo(address=merchant, kind=ledger_pb2.ACCOUNT_KIND_MERCHANT)
    html = pages.account_page("c", account, services_pb2.HistoryPage(), None, "",
                              pages.MerchantSection(info, vouchers))  # fmt: skip
    assert "<dt>Tickets retired</dt><dd>0.004 t</dd>" in html
    assert "<dt>Points burned</dt><dd>100</dd>" in html
    offers = html.split('<table class="offers">', 1)[1].split("</table>", 1)[0]
    assert "Bike &lt;service&gt;" in offers and "2 of 5" in offers and "100 points" in offers
    rows = html.split('<table class="vouchers">', 1)[1].split("</table>", 1)[0].split("<tr>")[2:]
    assert len(rows) == 2
    assert "QC/1" in rows[0] and f'href="/accounts/{resident}"' in rows[0]
    assert 'href="/certificates/RC-' in rows[0] and "0.002 t" in rows[0]
    assert "T&lt;1&gt;" in rows[1] and "100 points" in rows[1] and "/certificates/" not in rows[1]
    assert "The first 2 of 3 by reference" in html and "query vouchers ct1merchant --all" in html


def test_an_account_history_is_paged_with_the_node_token(
    url: str, demo_devnet: DemoChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explorer_app, "HISTORY_PAGE_SIZE", 2)
    issuer = wallet_keys(demo_devnet.info)["issuer"].address
    seen: list[str] = []
    path = f"/accounts/{issuer}"
    for _ in range(3):
        page = fetch(url + path)
        assert page.status == 200
        rows = _rows(page, "history")
        assert len(rows) == 2
        seen += [re.search(r'href="/txs/([0-9a-f]{64})"', r).group(1) for r in rows]  # type: ignore[union-attr]
        older = re.search(r'<a href="([^"]+)">Older →</a>', page.text)
        assert older is not None
        path = older.group(1).replace("&amp;", "&")
        assert "page_token=" in path
    assert len(set(seen)) == 6  # every page older than the one before
    assert f'<a href="/accounts/{issuer}">← Newest</a>' in page.text
    with stub_for(demo_devnet.endpoint) as stub:
        history = stub.GetAccountHistory(
            services_pb2.GetAccountHistoryRequest(address=issuer, page_size=6), timeout=10
        )
    assert seen == [i.tx_hash.hex() for i in history.items]


# ---------------------------------------------------------------- links from the other pages


def test_the_certificate_and_batch_pages_link_the_new_pages(
    url: str, demo_devnet: DemoChain, extra: Extra
) -> None:
    cert = fetch(f"{url}/certificates/{demo_devnet.games_certificate}")
    assert f'<a href="/txs/{extra.games_tx.hex()}">' in cert.text
    assert re.search(r'<dt>Retired by</dt><dd><a href="/accounts/ct1[0-9a-z]+">', cert.text)
    assert re.search(r'<dt>Block</dt><dd>height <a href="/blocks/\d+">', cert.text)
    batch = fetch(f"{url}/batches/{quote(demo_devnet.batch_id)}")
    for field in ("Issuer", "Recipient"):
        assert re.search(f'<dt>{field}</dt><dd><a href="/accounts/ct1[0-9a-z]+">', batch.text)


# ---------------------------------------------------------------- chain parameters


def _param_rows(page: Page) -> dict[str, str]:
    """The rows of every parameter table, by the parameter's name."""
    rows = {}
    for body in page.text.split('<table class="params">')[1:]:
        for row in body.split("</table>", 1)[0].split("<tbody>", 1)[1].split("<tr>")[1:]:
            name = re.match(r"<td><code>([^<]*)</code></td>", row)
            assert name is not None, row
            rows[name.group(1)] = row
    return rows


def test_the_parameters_page_lists_every_parameter_in_force(
    url: str, demo_devnet: DemoChain
) -> None:
    # Reproduction: no page showed the rules in force (caps, rates, limits, voting periods).
    with stub_for(demo_devnet.endpoint) as stub:
        info = stub.GetParams(services_pb2.GetParamsRequest(), timeout=10)
    page = fetch(url + "/params")
    assert page.status == 200
    _no_foreign_script(page)
    assert "<h1>Chain parameters</h1>" in page.text
    rows = _param_rows(page)
    assert list(rows) == [p.name for p in info.params] and len(rows) >= 30
    for p in info.params:  # the demo changed none: each its value, no genesis value, no mark
        assert rows[p.name].startswith(f"<td><code>{p.name}</code></td><td>{p.value}</td><td></td>")
    assert "changed by governance</span>" not in page.text
    assert "<dt>Changed by governance</dt><dd>none since genesis</dd>" in page.text
    assert re.search(r'<dt>Read at height</dt><dd><a href="/blocks/(\d+)">\1</a></dd>', page.text)
    # Grouped by prefix, in the ledger's order; buffer_share_bps alone.
    headings = re.findall(r"<h2>[^<]*\(<code>([a-z_]+)</code>\)</h2>", page.text)
    assert headings == ["buffer_share_bps", "limits", "rate_limits", "residents", "governance",
                        "market"]  # fmt: skip
    # What a resident's and the buffer's parameters mean, where their names do not say it.
    assert "the exchange rate: the points a resident gives for one gram" in rows[
        "residents.points_per_gram"]  # fmt: skip
    assert "withheld in the batch&#x27;s buffer pool" in rows["buffer_share_bps"]
    assert "0: only the overall cap" in rows["residents.walk_daily_cap"]


class _ParamsNode(services_pb2_grpc.LedgerServiceServicer):
    """A node whose governance changed two parameters, and which names one parameter with
    markup (a hostile or broken node: the page must show it as text)."""

    def GetParams(self, request: Any, context: Any) -> services_pb2.ParamsInfo:
        info = services_pb2.ParamsInfo(height=41, chain_id="c")
        info.params.add(name="buffer_share_bps", value="1500", genesis_value="2000")
        info.params.add(name="limits.max_tx_bytes", value="65536", genesis_value="65536")
        info.params.add(name="residents.points_per_gram", value="20", genesis_value="10")
        info.params.add(name="market." + HOSTILE, value=HOSTILE, genesis_value="1")
        return info


@pytest.fixture(scope="module")
def params_node_url(demo_devnet: DemoChain) -> Iterator[str]:
    with (
        serving(_ParamsNode()) as address,
        running_explorer(address, demo_devnet.genesis()) as base,
    ):
        yield base


def test_a_parameter_governance_changed_shows_both_values_and_the_mark(
    params_node_url: str,
) -> None:
    page = fetch(params_node_url + "/params")
    assert page.status == 200
    rows = _param_rows(page)
    mark = ' <span class="changed">changed by governance</span>'
    assert rows["residents.points_per_gram"].startswith(
        f"<td><code>residents.points_per_gram</code></td><td>20{mark}</td><td>10</td>"
    )
    assert rows["buffer_share_bps"].startswith(
        f"<td><code>buffer_share_bps</code></td><td>1500{mark}</td><td>2000</td>"
    )
    assert rows["limits.max_tx_bytes"].startswith(
        "<td><code>limits.max_tx_bytes</code></td><td>65536</td><td></td>"
    )
    assert "<dt>Changed by governance</dt><dd>3</dd>" in page.text
    assert '<dt>Read at height</dt><dd><a href="/blocks/41">41</a></dd>' in page.text
    assert "<dt>In force for</dt><dd>block 42</dd>" in page.text


def test_the_parameters_page_escapes_what_the_node_sends(params_node_url: str) -> None:
    page = fetch(params_node_url + "/params")
    assert page.status == 200
    _no_foreign_script(page)
    assert HOSTILE not in page.text
    escaped = "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt; &amp; Co"
    assert f"<td><code>market.{escaped}</code></td><td>{escaped} <span" in page.text


def test_every_page_links_the_parameters_page_beside_the_validators(
    url: str, params_node_url: str
) -> None:
    # The navigation of the pages of a node, of a page the node failed and of one without it.
    for page in (fetch(url + "/"), fetch(url + "/validators"), fetch(url + "/blocks/999999"),
                 fetch(url + "/verify"), fetch(params_node_url + "/params")):  # fmt: skip
        nav = page.text.split("<nav>", 1)[1].split("</nav>", 1)[0]
        assert '<a href="/validators">Validators</a> <a href="/params">Parameters</a>' in nav


# ---------------------------------------------------------------- search


def test_the_search_redirects_to_the_page_of_what_it_names(
    url: str, demo_devnet: DemoChain, extra: Extra
) -> None:
    with stub_for(demo_devnet.endpoint) as stub:
        block = stub.GetBlock(services_pb2.GetBlockRequest(height=2), timeout=10)
    cert = demo_devnet.games_certificate
    expected = {
        "2": "/blocks/2",
        " 2 ": "/blocks/2",
        extra.games_tx.hex(): f"/txs/{extra.games_tx.hex()}",
        extra.games_tx.hex().upper(): f"/txs/{extra.games_tx.hex()}",
        block.block_hash.hex(): "/blocks/2",
        extra.hostile: f"/accounts/{extra.hostile}",
        extra.hostile.upper(): f"/accounts/{extra.hostile}",
        cert: f"/certificates/{cert}",
        cert.lower(): f"/certificates/{cert}",
        demo_devnet.batch_id: f"/batches/{quote(demo_devnet.batch_id, safe='')}",
        demo_devnet.project_id: f"/projects/{quote(demo_devnet.project_id, safe='')}",
    }
    for query, location in expected.items():
        assert _answer(f"{url}/search?{urlencode({'q': query})}") == (303, location), query
    # And the page redirected to is the one of the record.
    assert fetch(f"{url}/search?{urlencode({'q': cert.lower()})}").status == 200


@pytest.mark.parametrize(
    "query",
    [
        HOSTILE,
        "999999999999",
        "0" * 64,
        "RC-000000000000000000000000",
        PrivateKey.generate().address,
        "NO-SUCH-BATCH",
    ],
)
def test_a_search_that_finds_nothing_says_so(url: str, query: str) -> None:
    page = fetch(f"{url}/search?{urlencode({'q': query})}")
    assert page.status == 404
    _no_foreign_script(page)
    assert "Nothing found for <code>" in page.text
    assert HOSTILE not in page.text


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/blocks/abc", 400, "is not a block height"),
        ("/blocks/-1", 400, "is not a block height"),
        ("/blocks/0", 400, "block heights start at 1"),
        ("/blocks/18446744073709551616", 400, "is not a block height"),
        ("/blocks/18446744073709551615", 404, "no block at height 18446744073709551615"),
        ("/blocks/999999", 404, "no block at height 999999"),
        ("/blocks/1?page=0", 400, "is not a page number"),
        ("/blocks/1?page=x", 400, "is not a page number"),
        ("/blocks/1?page=2", 404, "page(s) of 100"),
        ("/txs/abc", 400, "is not a transaction hash"),
        ("/txs/" + "g" * 64, 400, "is not a transaction hash"),
        ("/txs/" + "0" * 64, 404, "no committed transaction has hash"),
        ("/accounts/nobody", 400, "invalid address"),
        ("/accounts/" + PrivateKey.generate().address, 404, "is not registered"),
        ("/search?q=", 400, "search for a block height"),
        ("/search?" + urlencode({"q": "x" * 300}), 400, "longer than 256"),
    ],
)
def test_bad_input_and_unknown_ids_get_a_clear_page(
    url: str, path: str, status: int, fragment: str
) -> None:
    page = fetch(url + path)
    assert page.status == status
    assert fragment in page.text
    assert "Traceback" not in page.text
    _no_foreign_script(page)


def test_a_validators_height_over_a_uint64_is_a_400_not_a_500(url: str) -> None:
    # 20 digits, but more than the request's uint64 holds: the message refused to be built.
    page = fetch(url + "/validators?height=99999999999999999999")
    assert page.status == 400 and "is not a block height" in page.text


def test_a_page_token_the_node_did_not_issue_is_a_400(url: str, extra: Extra) -> None:
    page = fetch(f"{url}/accounts/{extra.hostile}?page_token=garbage")
    assert page.status == 400 and "Error 400" in page.text
    hostile = fetch(f"{url}/accounts/{extra.hostile}?" + urlencode({"page_token": HOSTILE}))
    assert hostile.status == 400 and HOSTILE not in hostile.text


_NODE_PATHS = ["/blocks/1", "/txs/" + "ab" * 32, "/accounts/" + PrivateKey.generate().address,
               "/search?q=1", "/params"]  # fmt: skip


@pytest.mark.parametrize("path", _NODE_PATHS)
def test_an_unreachable_node_is_a_502_page(
    demo_devnet: DemoChain, dead_address: str, path: str
) -> None:
    with running_explorer(dead_address, demo_devnet.genesis()) as base:
        page = fetch(base + path)
    assert page.status == 502
    assert "the node did not answer" in page.text


class _StuckNode(services_pb2_grpc.LedgerServiceServicer):
    """A node that answers no call until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def _stuck(self, request: Any, context: Any) -> Any:
        self.release.wait(30)
        context.abort(grpc.StatusCode.UNAVAILABLE, "released")

    GetBlock = GetTx = GetAccount = GetStatus = GetParams = _stuck


@pytest.fixture
def stuck_node() -> Iterator[str]:
    node = _StuckNode()
    with serving(node) as address:
        try:
            yield address
        finally:
            node.release.set()  # before the server stops: its handlers are waiting on it


@pytest.mark.parametrize("path", _NODE_PATHS)
def test_a_node_too_slow_to_answer_is_a_504_page(
    demo_devnet: DemoChain, stuck_node: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "CALL_TIMEOUT", 0.3)
    with running_explorer(stuck_node, demo_devnet.genesis()) as base:
        page = fetch(base + path)
    assert page.status == 504
    assert "the node was too slow to answer" in page.text
