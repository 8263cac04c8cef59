"""Per-client limits on the public API, applied before any handler work (a gRPC interceptor).

A client is one IP address (from the call's peer). For every LedgerService call the guard checks,
in this order and before the handler runs: the request's size and the client's request bytes
and calls per second (token buckets), all before the request is even decoded, so that a flood of
large requests costs no decoding; then for streams the client's and the node's open streams; for
submissions the client's transactions per second (a third bucket, charged per transaction before
any signature is checked), its calls in flight and the node's admission queue (transactions
being checked). A call over a limit ends at once with RESOURCE_EXHAUSTED, a machine code and a
message naming the client, the limit and the ``[api]`` setting that raises it; nothing is queued
for later. Peer calls (consensus, block sync) are never limited here: they are authenticated and
bounded in ``node.peers``.

Streams answer with pre-encoded bytes (``node.streams``): the guard gives their methods a
serializer that passes bytes through.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from carbon_ticket.chain.errors import ResourceExhausted
from carbon_ticket.node.config import ApiSettings
from carbon_ticket.node.errors import abort_with
from carbon_ticket.node.limits import Budget, Counters, TokenBucket, client_of_peer
from carbon_ticket.node.logs import RateLimitedLog
from carbon_ticket.node.streams import pass_encoded
from carbon_ticket.proto import services_pb2

__all__ = ["ApiGuard", "Refusal"]

log = logging.getLogger(__name__)
LEDGER_SERVICE = services_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name
_SUBMIT_METHODS = frozenset({"SubmitTx", "SubmitTxs"})
_MAX_TRACKED_CLIENTS = 10_000  # beyond it, clients whose bucket is full again are forgotten


class _Raw:
    """A request as received; decoded only once the client has passed the cheap checks."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Refusal(ResourceExhausted):
    """A call refused by an ``[api]`` limit."""


class ApiGuard(grpc.aio.ServerInterceptor):
    """Enforces the ``[api]`` limits on LedgerService calls; counts refusals by code."""

    def __init__(
        self,
        settings: ApiSettings,
        clock: Callable[[], float] = time.monotonic,
        lines: RateLimitedLog | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._lines = lines if lines is not None else RateLimitedLog(log)
        self._byte_buckets: dict[str, TokenBucket] = {}  # request bytes, per client
        self._buckets: dict[str, TokenBucket] = {}  # calls, per client
        self._tx_buckets: dict[str, TokenBucket] = {}  # submitted transactions, per client
        self.streams = Counters(settings.max_streams_per_client, settings.max_subscribers)
        self.submissions = Counters(settings.max_submissions_per_client)
        self.admission = Budget(settings.admission_queue_txs)
        self.refused: Counter[str] = Counter()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """The method's handler with the limits in front of it (LedgerService only)."""
        handler = await continuation(handler_call_details)
        service, _, method = str(handler_call_details.method).lstrip("/").partition("/")
        if handler is None or service != LEDGER_SERVICE or handler.request_streaming:
            return handler
        # The request stays undecoded (_Raw) until the client has passed the cheap checks.
        decode = handler.request_deserializer or _keep
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream, decode),
                _Raw,
                pass_encoded(handler.response_serializer),
            )
        return grpc.unary_unary_rpc_method_handler(
            self._unary(method, handler.unary_unary, decode), _Raw, handler.response_serializer
        )

    # ------------------------------------------------------------------ the checks

    def check_size(self, size: int, client: str) -> None:
        """Refuse a request over ``max_request_bytes``, and one beyond the client's byte rate."""
        s = self.settings
        if size > s.max_request_bytes:
            self._refuse("request_too_large", f"a request of {size} bytes from {client} is over "
                         f"the limit of {s.max_request_bytes}; send smaller batches or raise "
                         "[api] max_request_bytes")  # fmt: skip
        rate, burst = s.request_bytes_per_second, s.max_request_bytes
        if not self._bucket(self._byte_buckets, client, rate, burst).take(size):
            self._refuse("bytes_rate_limited", f"too many request bytes from {client} ({size} "
                         f"offered; limit {rate}/s, burst {burst}); slow down or raise [api] "
                         "request_bytes_per_second")  # fmt: skip

    def check_rate(self, client: str) -> None:
        """Spend one of ``client``'s request tokens, or refuse."""
        s = self.settings
        bucket = self._bucket(self._buckets, client, s.requests_per_second, s.request_burst)
        if not bucket.take():
            self._refuse("rate_limited", f"too many requests from {client} (limit "
                         f"{s.requests_per_second}/s, burst {s.request_burst}); slow down or "
                         "raise [api] requests_per_second")  # fmt: skip

    def check_tx_rate(self, client: str, txs: int) -> None:
        """Spend ``txs`` of ``client``'s transaction tokens, or refuse the whole submission.

        Checked before any signature is: a flood of (bad) transactions costs the node a counter
        update per call, not a signature check per transaction.
        """
        s = self.settings
        if txs > s.tx_burst:
            self._refuse("batch_over_burst", f"a batch of {txs} transactions from {client} is "
                         f"more than this node takes at once ({s.tx_burst}); send smaller "
                         "batches or raise [api] tx_burst")  # fmt: skip
        bucket = self._bucket(self._tx_buckets, client, s.txs_per_second, s.tx_burst)
        if not bucket.take(txs):
            self._refuse("tx_rate_limited", f"too many transactions from {client} ({txs} "
                         f"offered; limit {s.txs_per_second}/s, burst {s.tx_burst}); slow down "
                         "or raise [api] txs_per_second")  # fmt: skip

    def _bucket(
        self, buckets: dict[str, TokenBucket], client: str, rate: int, burst: int
    ) -> TokenBucket:
        bucket = buckets.get(client)
        if bucket is None:
            if len(buckets) >= _MAX_TRACKED_CLIENTS:
                # Forget clients whose bucket is full again: they lose nothing by it.
                for idle in [c for c, b in buckets.items() if b.is_full()]:
                    del buckets[idle]
            bucket = TokenBucket(rate, burst, self._clock)
            buckets[client] = bucket
        return bucket

    def open_stream(self, client: str) -> None:
        """Count a new stream of ``client``, or refuse."""
        if self.streams.acquire(client):
            return
        s = self.settings
        if self.streams.held(client) >= s.max_streams_per_client:
            self._refuse("too_many_streams", f"too many streams from {client} (limit "
                         f"{s.max_streams_per_client}); close some or raise [api] "
                         "max_streams_per_client")  # fmt: skip
        self._refuse(
            "too_many_subscribers",
            f"this node serves {self.streams.in_use} streams "
            f"(limit {s.max_subscribers}); retry later or raise [api] max_subscribers",
        )

    def start_submission(self, client: str, txs: int) -> None:
        """Count a submission of ``txs`` transactions by ``client``, or refuse."""
        s = self.settings
        if not self.submissions.acquire(client):
            self._refuse("too_many_submissions", f"too many submissions in flight from {client} "
                         f"(limit {s.max_submissions_per_client}); wait for the replies or "
                         "raise [api] max_submissions_per_client")  # fmt: skip
        if not self.admission.reserve(txs):
            self.submissions.release(client)
            self._refuse("admission_queue_full", f"the admission queue is full ("
                         f"{self.admission.used} of {s.admission_queue_txs} transactions being "
                         f"checked, {txs} more offered); retry later or raise [api] "
                         "admission_queue_txs")  # fmt: skip

    def end_submission(self, client: str, txs: int) -> None:
        """The submission started by ``start_submission`` is answered."""
        self.submissions.release(client)
        self.admission.give_back(txs)

    def _refuse(self, code: str, message: str) -> None:
        self.refused[code] += 1
        raise Refusal(message, code)

    # ------------------------------------------------------------------ wrapping handlers

    async def _admit(self, method: str, raw: _Raw, context: grpc.aio.ServicerContext) -> str:
        """Size, byte rate and call rate of the caller; its client name, or the call ends."""
        client = client_of_peer(context.peer() or "")
        try:
            self.check_size(len(raw.data), client)
            self.check_rate(client)
        except Refusal as exc:
            # gRPC may keep the aborted call's frames (and so this object) for a while; the
            # bytes, up to max_request_bytes, must not stay with them.
            raw.data = b""
            await self._abort(method, client, exc, context)
        return client

    async def _abort(
        self, method: str, client: str, exc: Refusal, context: grpc.aio.ServicerContext
    ) -> None:
        self._lines.emit(logging.INFO, exc.code, "%s: refused a request from %s: %s",
                         method, client, exc.message)  # fmt: skip
        await abort_with(context, exc)

    def _unary(self, method: str, behavior: Any, decode: Callable[[bytes], Any]) -> Any:
        submits = method in _SUBMIT_METHODS

        async def unary(raw: _Raw, context: grpc.aio.ServicerContext) -> Any:
            client = await self._admit(method, raw, context)
            request = _decoded(raw, decode)
            if not submits:
                return await behavior(request, context)
            txs = _tx_count(request)
            try:
                self.check_tx_rate(client, txs)
                self.start_submission(client, txs)
            except Refusal as exc:
                request = b""  # as in _admit: a refused batch is not kept
                await self._abort(method, client, exc, context)
            try:
                return await behavior(request, context)
            finally:
                self.end_submission(client, txs)

        return unary

    def _stream(self, method: str, behavior: Any, decode: Callable[[bytes], Any]) -> Any:
        async def stream(raw: _Raw, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            client = await self._admit(method, raw, context)
            request = _decoded(raw, decode)
            try:
                self.open_stream(client)
            except Refusal as exc:
                await self._abort(method, client, exc, context)
            try:
                async for item in behavior(request, context):
                    yield item
            finally:
                self.streams.release(client)

        return stream


def _keep(data: bytes) -> bytes:
    return data


def _decoded(raw: _Raw, decode: Callable[[bytes], Any]) -> Any:
    # The bytes are not needed once decoded: a large batch is not held twice while it is handled.
    request = decode(raw.data)
    raw.data = b""
    return request


def _tx_count(request: Any) -> int:
    # SubmitTxs carries a list, SubmitTx one transaction (a malformed request: none, it is
    # refused by the request log behind us).
    txs = getattr(request, "txs", None)
    if txs is not None and not isinstance(txs, bytes):
        return len(txs)
    return 1 if hasattr(request, "tx") else 0
