"""Test harness for the explorer: a devnet after ``carbon-ticket demo``, and the explorer's
aiohttp app served on 127.0.0.1 from a background event loop."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from aiohttp import web
from click.testing import CliRunner

from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.cli import render
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.explorer.app import make_app
from carbon_ticket.cli.explorer.source import NodeSource
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.cli.harness import running_devnet, stub_for, wallet_keys

__all__ = ["DemoChain", "Page", "demo_chain", "fetch", "running_explorer"]

T = 1_000_000
GAMES_EVENT = "14th National Winter Games"
GAMES_BENEFICIARY = "14th National Winter Games (Inner Mongolia, 2024)"
SIDE_RETIREMENTS = 4


@dataclass(frozen=True)
class DemoChain:
    """A running devnet after the demo story, plus a block holding several retirements."""

    info: DevnetInfo
    genesis_path: Path
    games_certificate: str  # the Winter Games retirement of the demo
    project_id: str
    batch_id: str
    crowded_certificate: str  # a retirement in a block of several txs (its proofs have siblings)

    @property
    def endpoint(self) -> str:
        return self.info.endpoints[0]

    def genesis(self) -> Genesis:
        return Genesis.from_json(self.genesis_path.read_text())

    def bundle(self, certificate_id: str) -> dict[str, Any]:
        """The certificate's proof bundle, as ``query certificate --proof`` writes it."""
        with stub_for(self.endpoint) as stub:
            proof = stub.GetCertificateProof(
                services_pb2.GetCertificateProofRequest(certificate_id=certificate_id), timeout=10
            )
        return render.certificate_bundle(proof)


def _retire_several(info: DevnetInfo, batch_id: str) -> str:
    """Retire a few tonnes in several txs submitted at once; a certificate of a shared block."""
    issuer: Any = wallet_keys(info)["issuer"]
    with stub_for(info.endpoints[0]) as stub:
        client = LedgerClient(stub, timeout=30)
        nonce = client.next_nonce(issuer.address)
        txs = [
            client.build(
                ledger_pb2.Retire(
                    batch_id=batch_id,
                    amount_grams=(i + 1) * T,
                    beneficiary=f"Fujian Test Co {i}",
                    reason="test offset",
                    jurisdiction="CN-35",
                ),
                [issuer],
                nonce=nonce + i,
            )
            for i in range(SIDE_RETIREMENTS)
        ]
        reply = stub.SubmitTxs(services_pb2.SubmitTxsRequest(txs=txs), timeout=10)
        assert all(r.accepted for r in reply.results), reply
        ids = [r.tx_hash for r in reply.results]
        deadline = time.monotonic() + 30
        while True:
            try:
                infos = [stub.GetTx(services_pb2.GetTxRequest(tx_hash=i), timeout=5) for i in ids]
                break
            except grpc.RpcError:  # NOT_FOUND tx_pending until committed
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    counts = {}
    with stub_for(info.endpoints[0]) as stub:
        for tx in infos:
            block = stub.GetBlock(services_pb2.GetBlockRequest(height=tx.height), timeout=5)
            counts[tx.tx_hash] = block.committed.block.header.tx_count
    crowded = max(infos, key=lambda t: (counts[t.tx_hash], t.index))
    assert counts[crowded.tx_hash] >= 2, "the side retirements did not share a block"
    return "RC-" + crowded.tx_hash[:12].hex().upper()


@contextmanager
def demo_chain(root: Path) -> Iterator[DemoChain]:
    """A one-validator devnet that played ``carbon-ticket demo`` (and a few more retirements)."""
    with running_devnet(root) as (info, _node):
        env = {"CARBON_TICKET_PASSWORD": "devnet", "CARBON_TICKET_CONNECT_TIMEOUT": "5"}
        result = CliRunner().invoke(cli, ["demo", "--home", str(info.home), "-o", "json"], env=env)
        assert result.exit_code == 0, result.output
        with stub_for(info.endpoints[0]) as stub:
            page = stub.ListRetirements(
                services_pb2.ListRetirementsRequest(event=GAMES_EVENT), timeout=10
            )
        games = page.items[0]
        crowded = _retire_several(info, games.batch_id)
        yield DemoChain(info, info.home / "genesis.json", games.certificate_id,
                        games.project_id, games.batch_id, crowded)  # fmt: skip


class _ExplorerThread:
    """The explorer app on its own event loop in a daemon thread."""

    def __init__(self, app: web.Application) -> None:
        self.port = 0  # the kernel chooses it when the site starts: no other program can race us
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)

    async def _start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.port = int(self.runner.addresses[0][1])

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


@contextmanager
def running_explorer(endpoint: str, genesis: Genesis) -> Iterator[str]:
    """The explorer of the node at ``endpoint`` on a free port; yields its base URL."""
    server = _ExplorerThread(make_app(NodeSource(endpoint), genesis))
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


@dataclass(frozen=True)
class Page:
    """An HTTP answer: status, headers and body text."""

    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def fetch(url: str) -> Page:
    """GET ``url``; an error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return Page(reply.status, dict(reply.headers), reply.read().decode())
    except urllib.error.HTTPError as exc:
        return Page(exc.code, dict(exc.headers), exc.read().decode())
