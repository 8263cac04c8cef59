"""The explorer's aiohttp application: routes, handlers and the served genesis.

Handlers are thin: read the request, make the node calls (``NodeSource``), render a page
(``pages``). A failed call arrives as aiohttp's HTTP exception (404 unknown id, 400 bad input,
502/504 node unreachable or slow) and becomes one page saying why; nothing is cached but the
project index.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TypeVar
from urllib.parse import quote

from aiohttp import web

from carbon_ticket.chain.crypto import parse_address
from carbon_ticket.chain.errors import InvalidAddress
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.cli import render
from carbon_ticket.cli.explorer import pages
from carbon_ticket.cli.explorer.source import NodeSource, ProjectIndex
from carbon_ticket.proto import ledger_pb2

__all__ = ["make_app"]

REGISTER_PAGE_SIZE = 50
BLOCK_PAGE_SIZE = 100  # transactions of a block per page: a block of thousands stays small
HISTORY_PAGE_SIZE = 50
VOUCHERS_SHOWN = 20  # a merchant's first vouchers by reference; `query vouchers` lists them all
_MAX_UINT64 = 2**64 - 1
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_CERTIFICATE = re.compile(r"RC-[0-9A-F]{24}", re.IGNORECASE)
_MAX_FILTER = 256  # characters of a search field (the node refuses longer ones anyway)
# Pages load scripts and styles from this origin only: no inline script, no CDN, no framework.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

SOURCE = web.AppKey("source", NodeSource)
INDEX = web.AppKey("index", ProjectIndex)
GENESIS = web.AppKey("genesis", Genesis)
CHAIN_ID = web.AppKey("chain_id", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


# The only static files (package data), read once and served from memory: a fixed list, so
# no request path ever reaches the file system.
STATIC_TYPES = {
    "verify.js": "text/javascript",
    "page.js": "text/javascript",
    "explorer.css": "text/css",
}
STATIC = web.AppKey("static", dict)


def static_files() -> dict[str, bytes]:
    """verify.js, page.js and explorer.css by name, from the package."""
    folder = resources.files("carbon_ticket.cli.explorer") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC_TYPES}


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


@web.middleware
async def _errors_and_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # aiohttp's own answers (no such route) carry "404: Not Found"; ours carry a reason.
        message = exc.text or ""
        if message.startswith(f"{exc.status}:"):
            message = "No such page." if exc.status == 404 else exc.reason
        response = _html(pages.error_page(request.app[CHAIN_ID], exc.status, message), exc.status)
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def home(request: web.Request) -> web.Response:
    """Chain id, height and the recent blocks."""
    source = request.app[SOURCE]
    status = await source.status()
    blocks = await source.recent_blocks(status.height)
    names = {v.public_key: v.name for v in status.validators}
    names.update({v.public_key: v.name for v in request.app[GENESIS].validators})
    return _html(pages.home_page(status, blocks, names))


async def projects(request: web.Request) -> web.Response:
    """Every project with issued, tradable, retired, cancelled and buffer totals."""
    source, index = request.app[SOURCE], request.app[INDEX]
    status = await source.status()
    await index.catch_up(source, status.height)
    listed = list(index.projects.items())
    records = await asyncio.gather(*(source.project(p) for p, _ in listed))
    supplies = await asyncio.gather(*(source.batches(b) for _, b in listed))
    rows = [(record, pages.supply_totals(batches), len(batches))
            for record, batches in zip(records, supplies, strict=True)]  # fmt: skip
    return _html(pages.projects_page(request.app[CHAIN_ID], rows, index.height))


async def project(request: web.Request) -> web.Response:
    """One project and its batches."""
    source, index = request.app[SOURCE], request.app[INDEX]
    project_id = request.match_info["project_id"]
    record = await source.project(project_id)
    await index.catch_up(source, (await source.status()).height)
    batches = await source.batches(index.projects.get(project_id, []))
    return _html(pages.project_page(request.app[CHAIN_ID], record, batches))


async def batch(request: web.Request) -> web.Response:
    """One batch and its supply."""
    record = await request.app[SOURCE].batch(request.match_info["batch_id"])
    return _html(pages.batch_page(request.app[CHAIN_ID], record))


def _filter(request: web.Request, name: str) -> str:
    value = request.query.get(name, "").strip()
    if len(value) > _MAX_FILTER:
        raise web.HTTPBadRequest(text=f"the {name} filter is longer than {_MAX_FILTER} characters")
    return value


async def register(request: web.Request) -> web.Response:
    """The public retirement register, filtered by beneficiary and event (exact match)."""
    filters = {name: _filter(request, name)
               for name in ("beneficiary", "event", "project", "batch")}  # fmt: skip
    source = request.app[SOURCE]
    page = await source.retirements(
        filters["beneficiary"], filters["event"], _filter(request, "page_token"),
        REGISTER_PAGE_SIZE, project_id=filters["project"], batch_id=filters["batch"],
    )  # fmt: skip
    return _html(pages.register_page(request.app[CHAIN_ID], filters, page))


def _height(raw: str) -> int:
    """A height from a path or query: decimal digits of a uint64 (a larger number would not
    fit the request message); 400 otherwise."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 20 or int(raw) > _MAX_UINT64:
        raise web.HTTPBadRequest(text=f"height {raw[:40]!r} is not a block height")
    return int(raw)


async def validators(request: web.Request) -> web.Response:
    """The validator set in effect at ``?height=H`` (default: the next block's), and any change
    scheduled after it."""
    height = _height(request.query.get("height", "").strip() or "0")
    info = await request.app[SOURCE].validators(height)
    return _html(pages.validators_page(request.app[CHAIN_ID], info))


async def params(request: web.Request) -> web.Response:
    """The chain parameters in force and those governance changed since genesis."""
    info = await request.app[SOURCE].params()
    return _html(pages.params_page(request.app[CHAIN_ID], info))


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "").strip() or "1"
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        raise web.HTTPBadRequest(text=f"page {raw[:40]!r} is not a page number (1, 2, ...)")
    return int(raw)


async def block(request: web.Request) -> web.Response:
    """A block: header, commit signers and one page (``?page=N``) of its transactions."""
    height = _height(request.match_info["height"])
    if height == 0:  # GetBlock would answer the latest block: there is no block 0
        raise web.HTTPBadRequest(text="block heights start at 1")
    page = _page_number(request)
    source = request.app[SOURCE]
    info = await source.block(height)
    count = len(info.committed.block.txs)
    last_page = max(1, -(-count // BLOCK_PAGE_SIZE))
    if page > last_page:
        raise web.HTTPNotFound(text=f"block {height} has {count} transactions: "
                                    f"{last_page} page(s) of {BLOCK_PAGE_SIZE}")  # fmt: skip
    status, validator_set = await asyncio.gather(source.status(), source.validators(height))
    return _html(pages.block_page(request.app[CHAIN_ID], info, validator_set, status.height,
                                  page, BLOCK_PAGE_SIZE))  # fmt: skip


def _hash(raw: str, what: str) -> bytes:
    if _HASH.fullmatch(raw) is None:
        raise web.HTTPBadRequest(text=f"{raw[:80]!r} is not a {what} (64 hex digits)")
    return bytes.fromhex(raw)


async def tx(request: web.Request) -> web.Response:
    """A committed transaction by its hash (the tx id), with its receipt."""
    info = await request.app[SOURCE].tx(_hash(request.match_info["tx_hash"], "transaction hash"))
    return _html(pages.tx_page(request.app[CHAIN_ID], info))


def _address(raw: str) -> str:
    try:
        return parse_address(raw)
    except InvalidAddress as exc:
        raise web.HTTPBadRequest(text=exc.message[:200]) from exc


async def account(request: web.Request) -> web.Response:
    """An account, a resident's points or a merchant's offers and vouchers, and a page of its
    history (``?page_token=``)."""
    address = _address(request.match_info["address"])
    token = _filter(request, "page_token")
    source = request.app[SOURCE]
    record = await source.account(address)  # 404 for an unregistered address, before paging
    history = await source.account_history(address, token, HISTORY_PAGE_SIZE)
    points = merchant = None
    if record.kind == ledger_pb2.ACCOUNT_KIND_RESIDENT:
        points = await source.points(address)
    if record.kind == ledger_pb2.ACCOUNT_KIND_MERCHANT:
        merchant = pages.MerchantSection(
            await source.merchant(address), await source.vouchers(address, VOUCHERS_SHOWN)
        )
    page = pages.account_page(request.app[CHAIN_ID], record, history, points, token, merchant)
    return _html(page)


async def _found(call: Awaitable[T]) -> T | None:
    """The record, or None when the node knows no such id (or refuses it as one)."""
    try:
        return await call
    except (web.HTTPNotFound, web.HTTPBadRequest):
        return None


async def _locate(source: NodeSource, query: str) -> str | None:
    """The page of what ``query`` names: a height, a tx or block hash, an address, a
    certificate, batch or project id (tried in that order); None when nothing matches."""
    height = int(query) if query.isascii() and query.isdigit() and len(query) <= 20 else 0
    if height and height <= (await source.status()).height:
        return f"/blocks/{height}"
    if _HASH.fullmatch(query):
        digest = bytes.fromhex(query)
        if await _found(source.tx(digest)) is not None:
            return f"/txs/{digest.hex()}"
        found = await _found(source.block_by_hash(digest))
        if found is not None:
            return f"/blocks/{found.committed.block.header.height}"
    try:
        address = parse_address(query)
    except InvalidAddress:
        pass
    else:
        if await _found(source.account(address)) is not None:
            return f"/accounts/{address}"
    if _CERTIFICATE.fullmatch(query):
        cert = await _found(source.certificate("RC-" + query[3:].upper()))
        if cert is not None:
            return f"/certificates/{quote(cert.certificate_id, safe='')}"
    if await _found(source.batch(query)) is not None:
        return f"/batches/{quote(query, safe='')}"
    if await _found(source.project(query)) is not None:
        return f"/projects/{quote(query, safe='')}"
    return None


async def search(request: web.Request) -> web.Response:
    """The home page's search box: a redirect to the page found, or a page saying none was."""
    query = _filter(request, "q")
    if not query:
        raise web.HTTPBadRequest(
            text="search for a block height, a transaction or block hash, an account address, "
            "or a certificate, batch or project id"
        )
    location = await _locate(request.app[SOURCE], query)
    if location is None:
        return _html(pages.nothing_found_page(request.app[CHAIN_ID], query), 404)
    raise web.HTTPSeeOther(location)


async def certificate(request: web.Request) -> web.Response:
    """A certificate's page: the record, and the in-browser verification of its bundle."""
    record = await request.app[SOURCE].certificate(request.match_info["certificate_id"])
    genesis_hash = request.app[GENESIS].hash().hex()
    return _html(pages.certificate_page(request.app[CHAIN_ID], record, genesis_hash))


async def bundle(request: web.Request) -> web.Response:
    """The certificate's proof bundle: the JSON ``carbon-ticket verify`` checks."""
    proof = await request.app[SOURCE].certificate_proof(request.match_info["certificate_id"])
    name = proof.certificate.certificate_id
    return web.json_response(
        render.certificate_bundle(proof),
        headers={"Content-Disposition": f'inline; filename="{name}.json"'},
    )


async def genesis(request: web.Request) -> web.Response:
    """The genesis this explorer trusts: the anchor every bundle is checked against."""
    return web.Response(text=request.app[GENESIS].to_json(), content_type="application/json")


async def verify(request: web.Request) -> web.Response:
    """The drop zone for a bundle file."""
    genesis_hash = request.app[GENESIS].hash().hex()
    return _html(pages.verify_page(request.app[CHAIN_ID], genesis_hash))


async def static(request: web.Request) -> web.Response:
    """One of the explorer's own scripts or its style sheet."""
    name = request.match_info["name"]
    if name not in STATIC_TYPES:
        raise web.HTTPNotFound()
    return web.Response(body=request.app[STATIC][name], content_type=STATIC_TYPES[name],
                        charset="utf-8", headers={"Cache-Control": "no-cache"})  # fmt: skip


async def _open(app: web.Application) -> None:
    await app[SOURCE].open()


async def _close(app: web.Application) -> None:
    await app[SOURCE].close()


def make_app(source: NodeSource, trusted: Genesis) -> web.Application:
    """The explorer of the node behind ``source``; bundles are checked against ``trusted``."""
    app = web.Application(middlewares=[_errors_and_headers])
    app[SOURCE] = source
    app[INDEX] = ProjectIndex()
    app[GENESIS] = trusted
    app[CHAIN_ID] = trusted.chain_id
    app[STATIC] = static_files()
    app.on_startup.append(_open)
    app.on_cleanup.append(_close)
    app.router.add_get("/", home)
    app.router.add_get("/projects", projects)
    app.router.add_get("/projects/{project_id}", project)
    app.router.add_get("/batches/{batch_id}", batch)
    app.router.add_get("/retirements", register)
    app.router.add_get("/validators", validators)
    app.router.add_get("/params", params)
    app.router.add_get("/blocks/{height}", block)
    app.router.add_get("/txs/{tx_hash}", tx)
    app.router.add_get("/accounts/{address}", account)
    app.router.add_get("/search", search)
    app.router.add_get("/certificates/{certificate_id}", certificate)
    app.router.add_get("/certificates/{certificate_id}/bundle.json", bundle)
    app.router.add_get("/genesis.json", genesis)
    app.router.add_get("/verify", verify)
    app.router.add_get("/static/{name}", static)
    return app
