"""The explorer's HTML, rendered on the server from API replies: plain strings, every value
escaped. Pages carry no inline script (the Content-Security-Policy forbids it); the certificate
and verify pages load ``/static/verify.js`` and ``/static/page.js``, which read what they need
from ``data-`` attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from carbon_ticket.chain.amounts import format_tco2e
from carbon_ticket.chain.crypto import ADDRESS_PREFIX, parse_address
from carbon_ticket.chain.errors import InvalidAddress, InvalidTransaction
from carbon_ticket.chain.records import ACTIVITIES
from carbon_ticket.chain.tx import decode_certified_tx
from carbon_ticket.cli import render
from carbon_ticket.cli.common import table_view
from carbon_ticket.cli.render import rfc3339
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = [
    "account_page",
    "batch_page",
    "block_page",
    "certificate_page",
    "error_page",
    "home_page",
    "nothing_found_page",
    "params_page",
    "project_page",
    "projects_page",
    "register_page",
    "tx_page",
    "verify_page",
]

# Every category of a batch's supply: they add up to issued (escrowed: held by sell orders and
# pending trades; exported: moved to other registries).
SUPPLY = ("issued", "tradable", "escrowed", "retired", "cancelled", "exported", "buffer")
_SUPPLY_HEADS = tuple(name.capitalize() for name in SUPPLY)
_NAV = (("/", "Blocks"), ("/projects", "Projects"), ("/retirements", "Retirement register"),
        ("/validators", "Validators"), ("/params", "Parameters"),
        ("/verify", "Verify a bundle"))  # fmt: skip


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _link(path: str, label: object) -> str:
    return f'<a href="{_e(path)}">{_e(label)}</a>'


def _t(grams: int) -> str:
    return f"{format_tco2e(grams)} t"


def _block_link(height: int) -> str:
    return _link(f"/blocks/{height}", height)


def _tx_link(tx_hash: bytes, short: bool = False) -> str:
    text = tx_hash.hex()
    label = text[:16] + "…" if short else text
    return f'<a href="/txs/{text}"><code>{_e(label)}</code></a>'


def _account_link(address: str) -> str:
    if not address:
        return ""
    return f'<a href="/accounts/{quote(address, safe="")}"><code>{_e(address)}</code></a>'


def _batch_link(batch_id: str) -> str:
    return _link(f"/batches/{quote(batch_id, safe='')}", batch_id)


def _project_link(project_id: str) -> str:
    return _link(f"/projects/{quote(project_id, safe='')}", project_id)


def _outcome(receipt: ledger_pb2.Receipt) -> str:
    """ "applied", or the ledger's error code of a refused transaction."""
    if receipt.code == 0:
        return '<span class="applied">applied</span>'
    return f'<span class="refused">{_e(receipt.error_code or f"code {receipt.code}")}</span>'


def _period(p: ledger_pb2.Period) -> str:
    if not p.start_date:
        return ""
    return f"{p.start_date:08d}-{p.end_date:08d}"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table; ``rows`` hold HTML already escaped."""
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _facts(items: Iterable[tuple[str, str]]) -> str:
    """A definition list; values are HTML already escaped."""
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items)
    return f"<dl>{rows}</dl>"


def layout(title: str, chain_id: str, body: str, scripts: Sequence[str] = ()) -> str:
    """A whole page: header with the chain id and navigation, then ``body`` (HTML)."""
    nav = " ".join(_link(href, label) for href, label in _NAV)
    tags = "".join(f'<script src="/static/{_e(s)}" defer></script>' for s in scripts)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} · Carbon Ticket Ledger</title>"
        f'<link rel="stylesheet" href="/static/explorer.css">{tags}</head>'
        f'<body><header><a class="brand" href="/">Carbon Ticket Ledger</a>'
        f'<span class="chain">chain <code>{_e(chain_id)}</code></span><nav>{nav}</nav></header>'
        f"<main><h1>{_e(title)}</h1>{body}</main>"
        "<footer>A read-only view of the ledger through a node's public API. Certificates are "
        "verified in your browser against the genesis shown on their page.</footer>"
        "</body></html>\n"
    )


def error_page(chain_id: str, status: int, message: str) -> str:
    """What a failed page shows: the status and the node's reason."""
    return layout(f"Error {status}", chain_id, f'<p class="error">{_e(message)}</p>')


def home_page(
    status: services_pb2.StatusResponse,
    blocks: Sequence[services_pb2.BlockInfo],
    names: Mapping[bytes, str],
) -> str:
    """The chain's height and its recent blocks (height, time, txs, proposer)."""
    facts = _facts([
        ("Chain id", f"<code>{_e(status.chain_id)}</code>"),
        ("Height", f'<span id="height">{status.height}</span>'),
        ("Last block", f"<code>{status.last_block_hash.hex()}</code>"),
        ("Validators", _e(", ".join(f"{v.name} ({v.power})" for v in status.validators))),
        ("Served by", _e(status.node_name)),
    ])  # fmt: skip
    rows = []
    for info in blocks:
        h = info.committed.block.header
        proposer = names.get(h.proposer, h.proposer.hex()[:16] + "…")
        rows.append((_block_link(h.height), _e(rfc3339(h.time_ms)), str(h.tx_count),
                     _e(proposer), f"<code>{info.block_hash.hex()[:16]}…</code>"))  # fmt: skip
    table = _table(("Height", "Time (UTC)", "Txs", "Proposer", "Block hash"), rows, "blocks")
    body = search_form() + facts + "<h2>Recent blocks</h2>" + table
    return layout("Recent blocks", status.chain_id, body)


def search_form(query: str = "") -> str:
    """The search box: a GET form to ``/search``, which redirects to the page found."""
    return (
        '<form class="search" method="get" action="/search" role="search">'
        '<label>Search <input name="q" id="q" maxlength="256" '
        f'value="{_e(query)}" placeholder="height, tx hash, address, certificate, batch or '
        'project id"></label><button type="submit">Go</button></form>'
    )


def nothing_found_page(chain_id: str, query: str) -> str:
    """What a search that matched nothing shows."""
    body = (f'<p class="error">Nothing found for <code>{_e(query)}</code>.</p>'
            '<p class="note">A search takes a block height, a transaction or block hash (64 hex '
            "digits), an account address, a certificate id (RC-…), a batch id or a project id, "
            "exactly.</p>" + search_form(query))  # fmt: skip
    return layout("Nothing found", chain_id, body)


def _validator_rows(entries: Iterable[services_pb2.ValidatorEntry]) -> list[list[str]]:
    return [[str(i), _e(v.name), str(v.power), _account_link(v.operator or v.address),
             _e(v.network_address), f"<code>{v.public_key.hex()[:16]}…</code>"]
            for i, v in enumerate(entries)]  # fmt: skip


def validators_page(chain_id: str, info: services_pb2.ValidatorSetInfo) -> str:
    """The set in effect at a height (consensus index order) and the change scheduled after it."""
    head = ("Index", "Name", "Power", "Operator", "Network address", "Public key")
    form = (
        '<form method="get" action="/validators"><label>Height '
        f'<input name="height" inputmode="numeric" value="{info.height}"></label>'
        "<button>Show</button></form>"
    )
    facts = _facts([
        ("Height", str(info.height)),
        ("In effect from", str(info.effective_height)),
        ("Total power", str(info.total_power)),
        ("Committed height", str(info.committed_height)),
    ])  # fmt: skip
    body = form + facts + _table(head, _validator_rows(info.validators), "validators")
    if info.pending_height:
        body += (f"<h2>Change taking effect at height {info.pending_height}</h2>"
                 + _table(head, _validator_rows(info.pending), "validators"))  # fmt: skip
    return layout(f"Validators at height {info.height}", chain_id, body)


# The groups of parameters by the prefix of their names, in the ledger's order; a group a newer
# node adds is shown under its prefix.
_PARAM_GROUPS = {
    "buffer_share_bps": "Buffer",
    "limits": "Size limits",
    "rate_limits": "Rate limits",
    "residents": "Residents' points",
    "governance": "Governance",
    "market": "Market",
}
_ACTIVITY_CAP = ("points one resident may earn for one day from this activity; 0: only the "
                 "overall cap, rate_limits.points_daily_cap")  # fmt: skip
# What a parameter means where its name does not say it (docs/ledger.md, "Parameters"): the
# residents' and the buffer's, which a resident or an auditor reads the page for.
PARAM_MEANINGS = {
    "buffer_share_bps": "the share of every issuance withheld in the batch's buffer pool against "
    "reversal (fire, pests), in basis points: 2000 is 20 %, rounded down",
    "rate_limits.points_daily_cap": "points one resident may earn for one day, all activities "
    "together; 0: no cap",
    "residents.utc_offset_minutes": "the chain's time zone, in minutes ahead of UTC (480: "
    "UTC+8): award days, exchange days, offer validity and settlement days are calendar days "
    "there",
    "residents.award_window_days": "an award's day may be at most this many days before today",
    "residents.points_per_gram": "the exchange rate: the points a resident gives for one gram "
    "of tickets",
    "residents.exchange_daily_limit_grams": "the grams of tickets one resident may get for "
    "points in one day; 0: no limit",
    **{f"residents.{activity}_daily_cap": _ACTIVITY_CAP for activity in ACTIVITIES[1:]},
}


def _param_group(name: str) -> str:
    return name.partition(".")[0]


def _param_row(param: services_pb2.Param) -> list[str]:
    """Name, value (marked when governance changed it), the genesis value if it differs, and
    what the parameter means."""
    changed = param.value != param.genesis_value
    value = _e(param.value)
    if changed:
        value += ' <span class="changed">changed by governance</span>'
    return [f"<code>{_e(param.name)}</code>", value, _e(param.genesis_value) if changed else "",
            _e(PARAM_MEANINGS.get(param.name, ""))]  # fmt: skip


def params_page(chain_id: str, info: services_pb2.ParamsInfo) -> str:
    """Every chain parameter in force for the next block, grouped by the prefix of its name,
    with its genesis value where governance changed it."""
    groups: dict[str, list[services_pb2.Param]] = {}
    for param in info.params:
        groups.setdefault(_param_group(param.name), []).append(param)
    changed = sum(p.value != p.genesis_value for p in info.params)
    read = _block_link(info.height) if info.height else "0 (no block yet)"
    facts = _facts([
        ("Read at height", read),
        ("In force for", f"block {info.height + 1}"),
        ("Parameters", str(len(info.params))),
        ("Changed by governance", str(changed) if changed else "none since genesis"),
    ])  # fmt: skip
    note = (
        '<p class="note">Each parameter by the name a governance proposal changes it by '
        "(<code>carbon-ticket tx propose --set-param NAME=VALUE</code>); values are integers. "
        "A change decided in a block is in force from the next one.</p>"
    )
    head = ("Parameter", "Value", "Genesis value (if changed)", "Meaning")
    tables = "".join(
        f"<h2>{_e(_PARAM_GROUPS.get(group, group))} (<code>{_e(group)}</code>)</h2>"
        + _table(head, (_param_row(p) for p in params), "params")
        for group, params in groups.items()
    )
    empty = "" if info.params else '<p class="note">The node listed no parameters.</p>'
    return layout("Chain parameters", chain_id, facts + note + tables + empty)


def _supply_cells(totals: Mapping[str, int]) -> list[str]:
    return [_t(totals[name]) for name in SUPPLY]


def supply_totals(batches: Iterable[services_pb2.BatchInfo]) -> dict[str, int]:
    """Each supply category's grams (``SUPPLY``) summed over ``batches``."""
    totals = dict.fromkeys(SUPPLY, 0)
    for b in batches:
        for name in SUPPLY:
            totals[name] += getattr(b.supply, f"{name}_grams")
    return totals


def _kind(project: services_pb2.ProjectInfo) -> str:
    name = ledger_pb2.ProjectKind.Name(project.kind)
    return name.removeprefix("PROJECT_KIND_").lower()


def projects_page(
    chain_id: str,
    rows: Sequence[tuple[services_pb2.ProjectInfo, Mapping[str, int], int]],
    height: int,
) -> str:
    """Every project with its supply totals (``rows``: project, totals, batch count)."""
    table = _table(
        ("Project", "Name", "Region", "Kind", "Batches", *_SUPPLY_HEADS),
        (
            [_link(f"/projects/{quote(p.project_id, safe='')}", p.project_id), _e(p.name),
             _e(p.region), _e(_kind(p)), str(count), *_supply_cells(totals)]
            for p, totals, count in rows
        ),
        "projects",
    )  # fmt: skip
    count = f"{len(rows)} project" + ("" if len(rows) == 1 else "s")
    note = f'<p class="note">{count}, read from the chain up to height {height}.</p>'
    return layout("Projects", chain_id, note + table)


def _batch_rows(batches: Iterable[services_pb2.BatchInfo]) -> Iterable[list[str]]:
    for b in batches:
        totals = {name: getattr(b.supply, f"{name}_grams") for name in SUPPLY}
        yield [_link(f"/batches/{quote(b.batch_id, safe='')}", b.batch_id),
               _e(_period(b.vintage)), *_supply_cells(totals)]  # fmt: skip


def project_page(
    chain_id: str, project: services_pb2.ProjectInfo, batches: Sequence[services_pb2.BatchInfo]
) -> str:
    """One project: its record, its totals and its batches."""
    p = project
    facts = _facts([
        ("Project id", f"<code>{_e(p.project_id)}</code>"),
        ("Name", _e(p.name)),
        ("Region", _e(p.region)),
        ("Kind", _e(_kind(p))),
        ("Area", f"{p.area_centihectares / 100:,.2f} ha"),
        ("Methodology", _e(p.methodology)),
        ("Owner", _account_link(p.owner)),
        ("Metadata", f"<code>{p.metadata_hash.hex()}</code> {_e(p.metadata_uri)}"),
        ("Registered", f"height {_block_link(p.height)}, {_e(rfc3339(p.time_ms))}"),
        # One forest, one project (issue 17): ids no other project may hold.
        ("External ids", ", ".join(f"<code>{_e(i)}</code>" for i in p.external_ids)),
        ("Parcels", ", ".join(f"<code>{_e(i)}</code>" for i in p.parcel_ids)),
        ("Boundary hash", f"<code>{p.boundary_hash.hex()}</code>" if p.boundary_hash else ""),
    ])  # fmt: skip
    totals = supply_totals(batches)
    total_table = _table(_SUPPLY_HEADS,
                         [_supply_cells(totals)], "totals")  # fmt: skip
    batch_table = _table(("Batch", "Vintage", *_SUPPLY_HEADS), _batch_rows(batches),
                         "batches")  # fmt: skip
    retired = _link("/retirements?" + urlencode({"project": p.project_id}), "its retirements")
    body = (facts + "<h2>Totals</h2>" + total_table + "<h2>Batches</h2>" + batch_table
            + f"<p>See {retired} in the register.</p>")  # fmt: skip
    return layout(f"Project {p.project_id}", chain_id, body)


def batch_page(chain_id: str, batch: services_pb2.BatchInfo) -> str:
    """One batch: vintage, issuer, recipient, reports and supply."""
    b = batch
    facts = _facts([
        ("Batch id", f"<code>{_e(b.batch_id)}</code>"),
        ("Project", _project_link(b.project_id)),
        ("Vintage", _e(_period(b.vintage))),
        ("Issuer", _account_link(b.issuer)),
        ("Recipient", _account_link(b.recipient)),
        ("Reports", "<br>".join(f"<code>{h.hex()}</code>" for h in b.report_hashes)),
        ("Issued", f"height {_block_link(b.height)}, {_e(rfc3339(b.time_ms))}"),
    ])  # fmt: skip
    totals = {name: getattr(b.supply, f"{name}_grams") for name in SUPPLY}
    table = _table(_SUPPLY_HEADS,
                   [_supply_cells(totals)], "totals")  # fmt: skip
    retired = _link("/retirements?" + urlencode({"batch": b.batch_id}), "its retirements")
    body = facts + "<h2>Supply</h2>" + table + f"<p>See {retired} in the register.</p>"
    return layout(f"Batch {b.batch_id}", chain_id, body)


def _certificate_link(cert_id: str) -> str:
    return _link(f"/certificates/{quote(cert_id, safe='')}", cert_id)


def register_page(
    chain_id: str,
    filters: Mapping[str, str],
    page: services_pb2.RetirementPage,
) -> str:
    """The public retirement register, searchable by beneficiary and event."""
    form = (
        '<form class="search" method="get" action="/retirements">'
        '<label>Beneficiary <input name="beneficiary" id="beneficiary" '
        f'value="{_e(filters.get("beneficiary", ""))}"></label>'
        f'<label>Event <input name="event" id="event" value="{_e(filters.get("event", ""))}">'
        '</label><button type="submit" id="search">Search</button>'
        '<span class="hint">exact match; leave empty for all</span></form>'
    )
    rows = (
        [_certificate_link(c.certificate_id), _e(rfc3339(c.time_ms)), _t(c.amount_grams),
         _e(c.beneficiary), _e(c.event), _e(c.reason),
         _link(f"/batches/{quote(c.batch_id, safe='')}", c.batch_id)]
        for c in page.items
    )  # fmt: skip
    table = _table(("Certificate", "Time (UTC)", "Amount", "Beneficiary", "Event", "Reason",
                    "Batch"), rows, "register")  # fmt: skip
    more = ""
    if page.next_page_token:
        query = {k: v for k, v in filters.items() if v}
        query["page_token"] = page.next_page_token
        more = f'<p class="more">{_link("/retirements?" + urlencode(query), "Older →")}</p>'
    empty = "" if page.items else '<p class="note">No retirement matches.</p>'
    return layout("Retirement register", chain_id, form + table + empty + more)


def _trust_anchor(genesis_hash: str) -> str:
    return (
        '<p class="anchor">Trust anchor: the genesis this explorer serves, '
        f'<a href="/genesis.json">genesis.json</a>, SHA-256 (domain-tagged) '
        f'<code id="genesis-hash" data-served="{_e(genesis_hash)}">{_e(genesis_hash)}</code>. '
        "Your browser recomputes it before checking anything; compare it with the hash the "
        "bureau publishes.</p>"
    )


def certificate_page(
    chain_id: str, cert: services_pb2.RetirementCertificate, genesis_hash: str
) -> str:
    """A certificate as the node reports it, and a panel its script fills with the verdict of
    the bundle checked in the browser."""
    c = cert
    cid = quote(c.certificate_id, safe="")
    facts = _facts([
        ("Certificate", f"<code>{_e(c.certificate_id)}</code>"),
        ("Amount", _t(c.amount_grams)),
        ("Beneficiary", _e(c.beneficiary)),
        ("Reason", _e(c.reason)),
        ("Event", _e(c.event)),
        ("Jurisdiction", _e(c.jurisdiction)),
        ("Claim period", _e(_period(c.period))),
        ("Use", _e(c.use.replace("_", " ") if c.use else "voluntary")),
        ("Scheme", _e(c.scheme)),
        ("Emitter account", _e(c.emitter_account)),
        ("Corresponding adjustment", "yes" if c.corresponding_adjustment else "no"),
        ("Serial", f"<code>{_e(c.serial)}</code>" if c.serial else ""),
        ("Batch", _link(f"/batches/{quote(c.batch_id, safe='')}", c.batch_id)),
        ("Project", _link(f"/projects/{quote(c.project_id, safe='')}", c.project_id)),
        ("Vintage", _e(_period(c.vintage))),
        ("Retired by", _account_link(c.account)),
        ("Block", f"height {_block_link(c.height)}, {_e(rfc3339(c.time_ms))}"),
        ("Transaction", _tx_link(c.tx_hash)),
    ])  # fmt: skip
    panel = (
        f'<section id="verification" class="pending" data-bundle="/certificates/{cid}/bundle.json"'
        f' data-certificate="{_e(c.certificate_id)}" data-genesis="/genesis.json">'
        "<h2>Verification in your browser</h2>"
        '<p id="verdict">Verifying the proof bundle…</p><ul id="proven"></ul>'
        '<noscript><p class="error">Verification needs JavaScript.</p></noscript></section>'
    )
    download = (f'<p>Proof bundle: <a id="bundle-link" href="/certificates/{cid}/bundle.json" '
                f'download="{_e(c.certificate_id)}.json">{_e(c.certificate_id)}.json</a> '
                '(check it offline with <code>carbon-ticket verify</code> or on the '
                '<a href="/verify">verify page</a>).</p>')  # fmt: skip
    body = (
        '<p class="note">The record below is what the node reports. The panel checks it: the '
        "page fetches the certificate's proof bundle and verifies every signature and proof "
        "itself, trusting only the genesis.</p>"
        + panel + facts + download + _trust_anchor(genesis_hash)
    )  # fmt: skip
    return layout(f"Certificate {c.certificate_id}", chain_id, body,
                  ("verify.js", "page.js"))  # fmt: skip


def verify_page(chain_id: str, genesis_hash: str) -> str:
    """A drop zone and file input: a bundle file received by email is verified in the browser."""
    body = (
        "<p>Drop a certificate proof bundle (the JSON file of "
        "<code>carbon-ticket query certificate … --proof --out</code> or a certificate page's "
        "download) here, or choose it. It is checked in your browser, never uploaded.</p>"
        '<section id="verification" class="idle" data-genesis="/genesis.json">'
        '<div id="dropzone" tabindex="0">Drop a bundle file here'
        '<br><label>or choose one: <input type="file" id="bundle-file" accept=".json,'
        'application/json"></label></div>'
        '<p id="verdict">No bundle yet.</p><ul id="proven"></ul></section>'
        + _trust_anchor(genesis_hash)
    )  # fmt: skip
    return layout("Verify a certificate bundle", chain_id, body, ("verify.js", "page.js"))


# ---------------------------------------------------------------- blocks, transactions, accounts


def _hex(value: bytes) -> str:
    return f"<code>{value.hex()}</code>"


def _signer_rows(
    commit: ledger_pb2.CommitCertificate, validators: services_pb2.ValidatorSetInfo
) -> tuple[list[list[str]], int]:
    """One row per precommit of the commit certificate (index, name, power, key) and the power
    they sum to; an index outside the set (never in a valid certificate) is shown as such."""
    rows, signed = [], 0
    members = validators.validators
    for vote in commit.precommits:
        i = vote.validator_index
        if i < len(members):
            v = members[i]
            signed += v.power
            rows.append([str(i), _e(v.name), str(v.power), _account_link(v.operator or v.address),
                         f"<code>{v.public_key.hex()[:16]}…</code>"])  # fmt: skip
        else:
            rows.append([str(i), '<span class="refused">not in the set</span>', "", "", ""])
    return rows, signed


def _block_tx_rows(info: services_pb2.BlockInfo, first: int, last: int) -> Iterable[list[str]]:
    """The rows of transactions ``first``..``last - 1``: index, id, message, signer, outcome.
    The envelopes are decoded only to read their body (the certificate vouches for them)."""
    txs, receipts = info.committed.block.txs, info.receipts
    for index in range(first, last):
        receipt = receipts[index] if index < len(receipts) else ledger_pb2.Receipt()
        try:
            decoded = decode_certified_tx(txs[index], receipt.tx_hash)
            kind, signer = _e(decoded.kind), _account_link(decoded.body.signer)
        except InvalidTransaction:
            kind, signer = '<span class="refused">undecodable</span>', ""
        tx_id = _tx_link(receipt.tx_hash, short=True) if receipt.tx_hash else ""
        yield [str(index), tx_id, kind, signer, _outcome(receipt)]


def _pager(path: str, page: int, pages: int, what: str) -> str:
    """Links to the neighbouring pages of ``path?page=``."""
    links = []
    if page > 1:
        links.append(_link(f"{path}?page={page - 1}", f"← {what} {page - 1}"))
    if page < pages:
        links.append(_link(f"{path}?page={page + 1}", f"{what} {page + 1} →"))
    return f'<p class="more">{" · ".join(links)}</p>' if links else ""


def block_page(
    chain_id: str,
    info: services_pb2.BlockInfo,
    validators: services_pb2.ValidatorSetInfo,
    latest: int,
    page: int,
    page_size: int,
) -> str:
    """A block: its header, who signed its commit certificate, and page ``page`` (from 1) of its
    transactions, ``page_size`` a page, so that a block of thousands stays a small page."""
    h, commit = info.committed.block.header, info.committed.certificate
    proposer = next((v for v in validators.validators if v.public_key == h.proposer), None)
    facts = _facts([
        ("Height", str(h.height)),
        ("Time (UTC)", _e(rfc3339(h.time_ms))),
        ("Block hash", _hex(info.block_hash)),
        ("Previous block", (_link(f"/blocks/{h.height - 1}", h.prev_hash.hex())
                            if h.height > 1 else _hex(h.prev_hash))),
        ("Proposer", (_e(proposer.name) + " " if proposer else "") + _hex(h.proposer)),
        ("Transactions", str(h.tx_count)),
        ("App hash", _hex(h.app_hash)),
        ("Tx root", _hex(h.tx_root)),
        ("Results root", _hex(h.results_root)),
        ("Envelopes root", _hex(h.envelopes_root)),
        ("Validators hash", _hex(h.validators_hash)),
        ("Next validators hash", _hex(h.next_validators_hash)),
    ])  # fmt: skip
    neighbours = []
    if h.height > 1:
        neighbours.append(_link(f"/blocks/{h.height - 1}", f"← Block {h.height - 1}"))
    if h.height < latest:
        neighbours.append(_link(f"/blocks/{h.height + 1}", f"Block {h.height + 1} →"))
    nav = f'<p class="more">{" · ".join(neighbours)}</p>'
    rows, signed = _signer_rows(commit, validators)
    signers = (
        f'<h2>Commit certificate</h2><p class="note">Round {commit.round}: signed by '
        f"{len(commit.precommits)} validators with {signed} of {validators.total_power} voting "
        f'power (the set in effect at this height, <a href="/validators?height={h.height}">'
        "validators</a>).</p>"
        + _table(("Index", "Validator", "Power", "Operator", "Public key"), rows, "signers")
    )  # fmt: skip
    count = len(info.committed.block.txs)
    pages = max(1, -(-count // page_size))
    first, last = (page - 1) * page_size, min(count, page * page_size)
    shown = f"{first + 1} to {last} of {count}" if count else "none"
    txs = (f"<h2>Transactions</h2><p class=\"note\">Transactions {shown}.</p>"
           + _table(("Index", "Tx hash", "Message", "Signer", "Outcome"),
                    _block_tx_rows(info, first, last), "txs")
           + _pager(f"/blocks/{h.height}", page, pages, "page"))  # fmt: skip
    return layout(f"Block {h.height}", chain_id, nav + facts + signers + txs + nav)


# Fields whose value names a record the explorer has a page for.
_LINKED_FIELDS = {
    "batch_id": _batch_link,
    "project_id": _project_link,
    "certificate_id": lambda v: _link(f"/certificates/{quote(v, safe='')}", v),
    "tx_hash": lambda v: f'<a href="/txs/{quote(v, safe="")}"><code>{_e(v)}</code></a>',
}


def _is_address(text: str) -> bool:
    try:
        parse_address(text)
    except InvalidAddress:
        return False
    return True


def _value(key: str, value: Any) -> str:
    """A field of a message or event as the CLI's table view shows it (``table_view``: tCO2e,
    RFC 3339 times, periods, yes/no), with ids and addresses linked to their pages."""
    if isinstance(value, dict):
        return _fields(value)
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):
            return "".join(f'<div class="item">{_fields(v)}</div>' for v in value)
        return ", ".join(_value(key, v) for v in value)
    if isinstance(value, str) and value:
        link = _LINKED_FIELDS.get(key)
        if link is not None:
            return link(value)
        if value.startswith(ADDRESS_PREFIX + "1") and _is_address(value):
            return _account_link(value)
    return _e(value)


def _fields(data: Mapping[str, Any]) -> str:
    """A readable definition list of a dict from cli/render.py; empty fields left out."""
    shown = table_view(dict(data))
    return _facts((k.replace("_", " "), _value(k, v)) for k, v in shown.items()
                  if v not in ("", None, []))  # fmt: skip


def _attributes(event: ledger_pb2.Event) -> dict[str, Any]:
    """An event's attributes as cli/render.py reads them (grams with their tCO2e)."""
    out = render.event(event)
    del out["type"]
    return out


def _certificate_ids(receipt: ledger_pb2.Receipt) -> list[str]:
    # A Retire, a ConfirmPayment that retires on delivery and a Redeem paid in tickets each
    # name the certificate they made (the last two name "" when they made none).
    return [a.value for ev in receipt.events for a in ev.attributes
            if a.key == "certificate_id" and a.value]  # fmt: skip


def tx_page(chain_id: str, info: services_pb2.TxInfo) -> str:
    """A committed transaction: where it is, who signed it, its message read as the CLI shows
    it, and its receipt's outcome and events, with a link to any certificate it made."""
    body, receipt = info.body, info.receipt
    kind = body.WhichOneof("msg") or ""
    certificates = _certificate_ids(receipt)
    made = ", ".join(_LINKED_FIELDS["certificate_id"](c) for c in certificates)
    facts = _facts([
        ("Tx hash", _hex(info.tx_hash)),
        ("Block", f"height {_block_link(info.height)}, index {info.index}"),
        ("Time (UTC)", _e(rfc3339(info.time_ms))),
        ("Signer", _account_link(body.signer)),
        ("Nonce", str(body.nonce)),
        ("Message", f"<code>{_e(kind)}</code>"),
        ("Memo", _e(body.memo)),
        ("Signatures", "<br>".join(_hex(s.public_key) for s in info.envelope.signatures)),
        ("Outcome", _outcome(receipt) + (f" {_e(receipt.message)}" if receipt.code else "")),
        *([("Certificate", made)] if certificates else []),
    ])  # fmt: skip
    message = _fields(render.message_dict(getattr(body, kind))) if kind else ""
    events = _table(("Event", "Attributes"),
                    ([_e(ev.type), _fields(_attributes(ev))] for ev in receipt.events),
                    "events")  # fmt: skip
    none = "" if receipt.events else '<p class="note">No events.</p>'
    page = (facts + f"<h2>Message <code>{_e(kind)}</code></h2>" + message
            + f"<h2>Events</h2>{events}{none}")  # fmt: skip
    return layout(f"Transaction {info.tx_hash.hex()[:16]}…", chain_id, page)


def _points_facts(points: services_pb2.PointsInfo) -> str:
    days = ", ".join(f"{d.day:08d}: {d.points}" for d in points.history)
    return "<h2>Points</h2>" + _facts([
        ("Balance", str(points.balance)),
        ("Awarded", str(points.awarded)),
        ("Exchanged", str(points.exchanged)),
        ("Redeemed", str(points.redeemed)),
        ("Earned today", f"{points.earned_today} (day {points.today:08d})"),
        ("Daily cap", str(points.daily_cap) if points.daily_cap else "none"),
        ("Last 7 days", _e(days) or "no points"),
    ])  # fmt: skip


@dataclass(frozen=True)
class MerchantSection:
    """What a merchant's account page shows besides the account: its offers and settlement
    totals (GetMerchant) and the first page of its vouchers (ListVouchers)."""

    info: services_pb2.MerchantInfo
    vouchers: services_pb2.RedemptionPage


def _price(payment: int, amount: int) -> str:
    return _t(amount) if payment == ledger_pb2.OFFER_PAYMENT_GRAMS else f"{amount} points"


def _offer_rows(offers: Iterable[services_pb2.OfferInfo]) -> Iterable[list[str]]:
    for o in offers:
        yield [_e(o.offer_id), _e(o.description), _e(o.discount), _price(o.payment, o.amount),
               f"{o.redemptions} of {o.max_redemptions}", _e(_period(o.validity)),
               _e(o.jurisdiction)]  # fmt: skip


def _voucher_rows(items: Iterable[services_pb2.RedemptionInfo]) -> Iterable[list[str]]:
    for r in items:
        tickets = r.payment == ledger_pb2.OFFER_PAYMENT_GRAMS
        paid = _price(r.payment, r.amount_grams if tickets else r.points)
        certificate = _certificate_link(r.certificate_id) if r.certificate_id else ""
        yield [_e(r.voucher_ref), _account_link(r.resident), _e(r.offer_id), paid,
               f"{r.day:08d}", _tx_link(r.tx_hash, short=True), certificate]  # fmt: skip


def _merchant_facts(section: MerchantSection) -> str:
    info, vouchers = section.info, section.vouchers
    total = info.total
    offers = _table(("Offer", "Description", "Discount", "Price", "Redeemed", "Valid",
                     "Jurisdiction"), _offer_rows(info.offers), "offers")  # fmt: skip
    shown = len(vouchers.items)
    more = (f'<p class="note">The first {shown} of {vouchers.count} by reference; all of them: '
            f"<code>carbon-ticket query vouchers {_e(info.merchant)} --all</code></p>"
            if vouchers.next_page_token else "")  # fmt: skip
    table = _table(("Voucher", "Resident", "Offer", "Paid", "Day", "Tx", "Certificate"),
                   _voucher_rows(vouchers.items), "vouchers")  # fmt: skip
    totals = _facts([
        ("Redemptions", str(total.redemptions)),
        ("Tickets retired", _t(total.grams)),
        ("Points burned", str(total.points)),
    ])  # fmt: skip
    no_offers, no_vouchers = '<p class="note">No offers.</p>', '<p class="note">No vouchers.</p>'
    return ("<h2>Merchant</h2>" + totals
            + "<h3>Offers</h3>" + (offers if info.offers else no_offers)
            + "<h3>Vouchers</h3>" + (table + more if shown else no_vouchers))  # fmt: skip


def _history_rows(items: Iterable[services_pb2.HistoryItem]) -> Iterable[list[str]]:
    for i in items:
        yield [_block_link(i.height), str(i.index), _e(rfc3339(i.time_ms)),
               _tx_link(i.tx_hash, short=True), _e(i.kind), _account_link(i.signer),
               _outcome(i.receipt)]  # fmt: skip


def account_page(
    chain_id: str,
    account: services_pb2.AccountInfo,
    history: services_pb2.HistoryPage,
    points: services_pb2.PointsInfo | None,
    older_than: str,
    merchant: MerchantSection | None = None,
) -> str:
    """An account: its record and balances, a resident's points or a merchant's offers and
    vouchers, and one page of its history (newest first; ``older_than`` is the page token it
    was read from, "" for the newest)."""
    a = account
    named = render.account(a)  # kind and roles by name, as the CLI shows them
    path = f"/accounts/{quote(a.address, safe='')}"
    registered = (f"height {_block_link(a.height)} by {_account_link(a.registered_by)}"
                  if a.height else "in the genesis")  # fmt: skip
    facts = _facts([
        ("Address", f"<code>{_e(a.address)}</code>"),
        ("Kind", _e(named["kind"])),
        ("Name", _e(a.name)),
        ("Roles", _e(", ".join(named["roles"])) or "none"),
        ("Nonce", str(a.nonce)),
        ("Registered", registered),
    ])  # fmt: skip
    balances = _table(("Batch", "Tradable"),
                      [*([_batch_link(b.batch_id), _t(b.amount_grams)] for b in a.balances),
                       ["<strong>Total</strong>", _t(named["total_grams"])]],
                      "balances")  # fmt: skip
    rows = list(_history_rows(history.items))
    table = _table(("Height", "Index", "Time (UTC)", "Tx hash", "Message", "Signer", "Outcome"),
                   rows, "history")  # fmt: skip
    links = []
    if older_than:
        links.append(_link(path, "← Newest"))
    if history.next_page_token:
        older = path + "?" + urlencode({"page_token": history.next_page_token})
        links.append(_link(older, "Older →"))
    more = f'<p class="more">{" · ".join(links)}</p>' if links else ""
    empty = "" if rows else '<p class="note">No transactions.</p>'
    body = (facts + "<h2>Balances</h2>" + balances
            + (_points_facts(points) if points is not None else "")
            + (_merchant_facts(merchant) if merchant is not None else "")
            + "<h2>History</h2>" + table + empty + more)  # fmt: skip
    title = f"Account {a.name}" if a.name else f"Account {a.address}"
    return layout(title, chain_id, body)
