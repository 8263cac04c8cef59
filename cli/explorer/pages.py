"""The explorer's HTML, rendered on the server from API replies: plain strings, every value
escaped. Pages carry no inline script (the Content-Security-Policy forbids it); the certificate
and verify pages load ``/static/verify.js`` and ``/static/page.js``, which read what they need
from ``data-`` attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from urllib.parse import quote, urlencode

from carbon_ticket.chain.amounts import format_tco2e
from carbon_ticket.cli.render import rfc3339
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = [
    "batch_page",
    "certificate_page",
    "error_page",
    "home_page",
    "project_page",
    "projects_page",
    "register_page",
    "verify_page",
]

# Every category of a batch's supply: they add up to issued (escrowed: held by sell orders and
# pending trades; exported: moved to other registries).
SUPPLY = ("issued", "tradable", "escrowed", "retired", "cancelled", "exported", "buffer")
_SUPPLY_HEADS = tuple(name.capitalize() for name in SUPPLY)
_NAV = (("/", "Blocks"), ("/projects", "Projects"), ("/retirements", "Retirement register"),
        ("/validators", "Validators"), ("/verify", "Verify a bundle"))  # fmt: skip


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _link(path: str, label: object) -> str:
    return f'<a href="{_e(path)}">{_e(label)}</a>'


def _t(grams: int) -> str:
    return f"{format_tco2e(grams)} t"


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
        rows.append((str(h.height), _e(rfc3339(h.time_ms)), str(h.tx_count), _e(proposer),
                     f"<code>{info.block_hash.hex()[:16]}…</code>"))  # fmt: skip
    table = _table(("Height", "Time (UTC)", "Txs", "Proposer", "Block hash"), rows, "blocks")
    return layout("Recent blocks", status.chain_id, facts + "<h2>Recent blocks</h2>" + table)


def _validator_rows(entries: Iterable[services_pb2.ValidatorEntry]) -> list[list[str]]:
    return [[str(i), _e(v.name), str(v.power), f"<code>{_e(v.operator or v.address)}</code>",
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
        ("Owner", f"<code>{_e(p.owner)}</code>"),
        ("Metadata", f"<code>{p.metadata_hash.hex()}</code> {_e(p.metadata_uri)}"),
        ("Registered", f"height {p.height}, {_e(rfc3339(p.time_ms))}"),
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
        ("Project", _link(f"/projects/{quote(b.project_id, safe='')}", b.project_id)),
        ("Vintage", _e(_period(b.vintage))),
        ("Issuer", f"<code>{_e(b.issuer)}</code>"),
        ("Recipient", f"<code>{_e(b.recipient)}</code>"),
        ("Reports", "<br>".join(f"<code>{h.hex()}</code>" for h in b.report_hashes)),
        ("Issued", f"height {b.height}, {_e(rfc3339(b.time_ms))}"),
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
        ("Retired by", f"<code>{_e(c.account)}</code>"),
        ("Block", f"height {c.height}, {_e(rfc3339(c.time_ms))}"),
        ("Transaction", f"<code>{c.tx_hash.hex()}</code>"),
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
