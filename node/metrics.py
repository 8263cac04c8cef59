"""Prometheus metrics of one node, served over HTTP by the official ``prometheus-client``.

Most values are read at scrape time from state the node keeps anyway (store height, engine
round and step, mempool size and refusal counters, sync counters, peers' statuses), so metrics
cost nothing between scrapes. What cannot be read afterwards is recorded by cheap hooks: a
subscriber to committed blocks (transactions by type and result, rounds, block interval), two
timers (fsync of the block batch, block commit), a step watcher called after each consensus
dispatch, and ``SignatureChecks`` counting verifications.

Each node has its own ``CollectorRegistry`` (tests run several nodes in one process). The HTTP
server runs in a thread of prometheus-client; a scrape reads the node's state on the node's own
event loop (``run_coroutine_threadsafe``), never from that thread, so it sees no half-made change.
docs/operations.md lists every metric.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.tx import SignedTx
from carbon_ticket.consensus import Verifier
from carbon_ticket.node.api_guard import ApiGuard
from carbon_ticket.node.codec import certificate_from_bytes
from carbon_ticket.node.config import ConfigError, MetricsSettings
from carbon_ticket.node.mempool import CheckTx, Mempool, MempoolStats
from carbon_ticket.node.node import Node
from carbon_ticket.node.peer_auth import PeerAuthenticator
from carbon_ticket.node.ports import CommittedEvent

__all__ = ["PREFIX", "MetricsService", "NodeMetrics", "SignatureChecks"]

log = logging.getLogger(__name__)
PREFIX = "carbon_ticket"
# A scrape waits at most this long for the node's event loop (a busy loop answers late).
_SCRAPE_TIMEOUT_S = 5.0
_PEER_STATUS_TIMEOUT_S = 1.0
_STEP_NAMES = {1: "propose", 2: "prevote", 3: "precommit"}


class SignatureChecks:
    """Counts signature verifications: transactions (admission, sync) and consensus messages.

    Wraps the check functions ``build_node`` hands out; one integer addition per check.
    """

    def __init__(self) -> None:
        self.tx_ok = 0  # signatures of transactions that passed every check
        self.tx_failed = 0  # transactions refused by a check (signature or other)
        self.consensus_ok = 0
        self.consensus_bad = 0

    def counting_tx(self, check_tx: CheckTx) -> CheckTx:
        """``check_tx`` that counts the signatures it verified."""

        def counted(
            raw: bytes, chain_id: str, limits: Limits, *, known_id: bytes | None = None
        ) -> SignedTx:
            try:
                tx = check_tx(raw, chain_id, limits, known_id=known_id)
            except Exception:
                self.tx_failed += 1
                raise
            self.tx_ok += len(tx.signers)
            return tx

        return counted

    def counting_votes(self, verify: Verifier) -> Verifier:
        """``verify`` that counts consensus signature checks by outcome."""

        def counted(public_key: bytes, message: bytes, signature: bytes) -> bool:
            ok = verify(public_key, message, signature)
            if ok:
                self.consensus_ok += 1
            else:
                self.consensus_bad += 1
            return ok

        return counted


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Everything a scrape reports that is read from the node, taken on its event loop."""

    height: int
    consensus_height: int
    round: int
    step: int
    is_validator: bool
    mempool_txs: int
    mempool_bytes: int
    admitted: int
    rejections: dict[str, int]
    peer_heights: dict[str, int | None]  # None: did not answer
    blocks_synced: int
    dropped: dict[str, int]
    evidence_seen: int
    committed: dict[tuple[str, str], int]
    api_refusals: dict[str, int]  # public API calls refused by an [api] limit, by code
    peer_refusals: dict[str, int]  # peer calls and frame links refused, by code
    api_streams: int  # public API streams open


class NodeMetrics(Collector):
    """The metrics of one node in their own registry; ``attach`` hooks them to the node."""

    def __init__(self, node: Node, checks: SignatureChecks) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._node = node
        self._checks = checks
        self._loop: asyncio.AbstractEventLoop | None = None
        # The public API's guard and the peer port's authenticator, set when the node serves
        # them (node.build).
        self.api_guard: ApiGuard | None = None
        self.peer_auth: PeerAuthenticator | None = None
        self._committed: Counter[tuple[str, str]] = Counter()
        self._last_time_ms: int | None = None
        self._step_key: tuple[int, int, int] = (0, 0, 0)
        self._step_since = time.perf_counter()
        r = self.registry
        self.block_interval = Histogram(
            f"{PREFIX}_block_interval_seconds",
            "Time between consecutive blocks (their header times).",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.rounds = Histogram(
            f"{PREFIX}_rounds_per_height",
            "Rounds needed to decide a height (1: decided in its first round).",
            buckets=(1, 2, 3, 5, 10),
            registry=r,
        )
        self.block_txs = Histogram(
            f"{PREFIX}_block_txs",
            "Transactions per committed block.",
            buckets=(0, 1, 10, 100, 500, 1000, 2000, 4000),
            registry=r,
        )
        self.fsync = Histogram(
            f"{PREFIX}_fsync_seconds",
            "Duration of the synced LevelDB write batch of each block.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
            registry=r,
        )
        self.block_commit = Histogram(
            f"{PREFIX}_block_commit_seconds",
            "Duration of committing a decided block (execution if needed, write, mempool).",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.step_seconds = Histogram(
            f"{PREFIX}_consensus_step_seconds",
            "Time spent in each consensus step (propose, prevote, precommit) of a round.",
            ["step"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        r.register(self)

    # ------------------------------------------------------------------ hooks

    def attach(self) -> None:
        """Subscribe to commits and set the node's hooks (inside its running event loop)."""
        self._loop = asyncio.get_running_loop()
        node = self._node
        node.subscribe(self._on_committed)
        node.on_dispatch = self._on_dispatch
        node.on_block_commit_s = self.block_commit.observe
        kv = getattr(node.store, "kv", None)
        if kv is not None and hasattr(kv, "on_write"):
            kv.on_write = self.fsync.observe

    def _on_committed(self, event: CommittedEvent) -> None:
        executed = event.executed
        header = executed.block.header
        # Not strict: a metrics hook must never raise inside the node's commit path.
        for tx, receipt in zip(executed.txs, executed.receipts, strict=False):
            self._committed[(tx.kind, receipt.error_code or "ok")] += 1
        self.block_txs.observe(header.tx_count)
        if self._last_time_ms is not None:
            self.block_interval.observe(max(0, header.time_ms - self._last_time_ms) / 1000)
        self._last_time_ms = header.time_ms
        raw = self._node.store.get_certificate(event.height)
        if raw is not None:
            self.rounds.observe(certificate_from_bytes(raw).round + 1)

    def _on_dispatch(self) -> None:
        # Called after every consensus dispatch: one tuple compare unless the step changed.
        engine = self._node.engine
        key = (engine.height, engine.round, int(engine.step))
        if key == self._step_key:
            return
        now = time.perf_counter()
        step = _STEP_NAMES.get(self._step_key[2])
        if step is not None and self._step_key[0] > 0:
            self.step_seconds.labels(step).observe(now - self._step_since)
        self._step_key = key
        self._step_since = now

    # ------------------------------------------------------------------ scrape

    async def snapshot(self) -> _Snapshot:
        """Read the node's state (on its event loop); peers are asked for their heights."""
        node = self._node
        peers = list(node.transport.sync_peers())
        statuses = await asyncio.gather(*(p.status(_PEER_STATUS_TIMEOUT_S) for p in peers))
        peer_heights = {
            p.address: (int(s.height) if s is not None and s.chain_id == node.chain_id else None)
            for p, s in zip(peers, statuses, strict=True)
        }
        pool = node.mempool
        stats = pool.stats() if isinstance(pool, Mempool) else MempoolStats(0, 0, 0, 0)
        rejections = pool.rejections if isinstance(pool, Mempool) else Counter()
        return _Snapshot(
            height=node.store.height,
            consensus_height=node.engine.height,
            round=node.engine.round,
            step=int(node.engine.step),
            is_validator=node.is_validator,
            mempool_txs=stats.size,
            mempool_bytes=stats.bytes,
            admitted=stats.admitted,
            rejections=dict(rejections),
            peer_heights=peer_heights,
            blocks_synced=node.sync.blocks_synced,
            dropped=dict(node.engine.dropped),
            evidence_seen=node.evidence_seen,
            committed=dict(self._committed),
            api_refusals=dict(self.api_guard.refused) if self.api_guard is not None else {},
            api_streams=self.api_guard.streams.in_use if self.api_guard is not None else 0,
            peer_refusals=dict(self.peer_auth.refused) if self.peer_auth is not None else {},
        )

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """Called by prometheus-client in its server thread: read the node on its own loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            snap = asyncio.run_coroutine_threadsafe(self.snapshot(), loop).result(_SCRAPE_TIMEOUT_S)
        except Exception as exc:  # a stopping or stuck node: report what the hooks recorded
            log.warning("metrics: could not read the node's state: %s", exc)
            return
        yield from _families(snap, self._checks, self._node.config.name, self._node.chain_id)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=value)


def _families(
    snap: _Snapshot, checks: SignatureChecks, node_name: str, chain_id: str
) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    info = GaugeMetricFamily(
        f"{PREFIX}_node_info", "Constant 1, labelled with this node's identity.",
        labels=["node", "chain_id", "role"],
    )  # fmt: skip
    info.add_metric([node_name, chain_id, "validator" if snap.is_validator else "observer"], 1)
    yield info
    yield _gauge("height", "Height of the last committed block.", snap.height)
    yield _gauge("consensus_height", "Height consensus is deciding.", snap.consensus_height)
    yield _gauge("consensus_round", "Round of the height being decided.", snap.round)
    yield _gauge("consensus_step", "Step: 1 propose, 2 prevote, 3 precommit.", snap.step)
    yield _gauge("mempool_txs", "Pending transactions.", snap.mempool_txs)
    yield _gauge("mempool_bytes", "Bytes of pending transactions.", snap.mempool_bytes)
    yield CounterMetricFamily(
        f"{PREFIX}_mempool_admitted", "Transactions admitted to the mempool.", value=snap.admitted
    )
    refused = CounterMetricFamily(
        f"{PREFIX}_admission_rejections", "Transactions refused at admission, by error code.",
        labels=["code"],
    )  # fmt: skip
    for code, count in sorted(snap.rejections.items()):
        refused.add_metric([code], count)
    yield refused
    committed = CounterMetricFamily(
        f"{PREFIX}_committed_txs",
        "Transactions committed, by type and result (ok or the error code of a failed one).",
        labels=["type", "result"],
    )
    for (kind, result), count in sorted(snap.committed.items()):
        committed.add_metric([kind, result], count)
    yield committed
    yield from _peer_families(snap)
    api = CounterMetricFamily(
        f"{PREFIX}_api_refusals", "Public API calls refused by an [api] limit, by code.",
        labels=["code"],
    )  # fmt: skip
    for code, count in sorted(snap.api_refusals.items()):
        api.add_metric([code], count)
    yield api
    yield _gauge("api_streams", "Public API streams open (all clients).", snap.api_streams)
    peers = CounterMetricFamily(
        f"{PREFIX}_peer_refusals",
        "Peer calls and frame links refused (signature, role, freshness, malformed frames), "
        "by code.",
        labels=["code"],
    )
    for code, count in sorted(snap.peer_refusals.items()):
        peers.add_metric([code], count)
    yield peers
    yield CounterMetricFamily(
        f"{PREFIX}_blocks_synced", "Blocks applied by block sync.", value=snap.blocks_synced
    )
    verified = CounterMetricFamily(
        f"{PREFIX}_signature_verifications",
        "Signature checks: tx (signatures of accepted transactions, or refused transactions) "
        "and consensus (proposals and votes), by result.",
        labels=["kind", "result"],
    )
    verified.add_metric(["tx", "ok"], checks.tx_ok)
    verified.add_metric(["tx", "refused"], checks.tx_failed)
    verified.add_metric(["consensus", "ok"], checks.consensus_ok)
    verified.add_metric(["consensus", "bad"], checks.consensus_bad)
    yield verified
    dropped = CounterMetricFamily(
        f"{PREFIX}_consensus_dropped", "Consensus messages dropped, by reason.", labels=["reason"]
    )
    for reason, count in sorted(snap.dropped.items()):
        dropped.add_metric([reason], count)
    yield dropped
    yield CounterMetricFamily(
        f"{PREFIX}_evidence_seen",
        "Conflicting votes (double signing) this node detected.",
        value=snap.evidence_seen,
    )


def _peer_families(snap: _Snapshot) -> Iterator[GaugeMetricFamily]:
    answered = {a: h for a, h in snap.peer_heights.items() if h is not None}
    yield _gauge("peers", "Peers this node is configured to reach.", len(snap.peer_heights))
    yield _gauge("peers_connected", "Peers that answered a status call.", len(answered))
    heights = GaugeMetricFamily(
        f"{PREFIX}_peer_height", "Committed height each answering peer reports.", labels=["peer"]
    )
    for address, height in sorted(answered.items()):
        heights.add_metric([address], height)
    yield heights
    lag = max(answered.values(), default=snap.height) - snap.height
    yield _gauge("sync_lag_blocks", "Blocks the best answering peer is ahead of this node.",
                 max(0, lag))  # fmt: skip


class MetricsService:
    """Serves ``NodeMetrics`` at ``http://<listen>/metrics`` (a ``node.ports.Service``)."""

    def __init__(self, settings: MetricsSettings, metrics: NodeMetrics) -> None:
        self._settings = settings
        self.metrics = metrics
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """The HOST:PORT actually bound (the port is known after ``start``)."""
        if self._server is None:
            return self._settings.listen
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"{name}:{port}"

    async def start(self) -> None:
        """Hook the metrics to the node and open the HTTP port; ConfigError when it cannot."""
        self.metrics.attach()
        host, _, port = self._settings.listen.rpartition(":")
        try:
            self._server, self._thread = start_http_server(
                int(port), addr=host.strip("[]"), registry=self.metrics.registry
            )
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {self._settings.listen}: {exc}") from exc
        log.info("metrics on http://%s/metrics", self.address)

    async def close(self) -> None:
        """Stop the HTTP server and its thread."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        # shutdown() waits for serve_forever to notice; a scrape in progress may need the loop.
        await asyncio.to_thread(server.shutdown)
        server.server_close()
        if thread is not None:
            await asyncio.to_thread(thread.join, 5.0)
