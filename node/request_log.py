"""One log line, never a traceback, per malformed or refused request on the node's gRPC port.

gRPC decodes a request before any servicer runs, and logs a full traceback when the bytes are
not the message they should be. ``RequestLogInterceptor`` gives every unary-request method a
decoder that turns such bytes into a ``_Malformed`` marker; the wrapped method then refuses it
with INVALID_ARGUMENT and one line saying why. Requests the servicers refuse (a ledger error,
already answered by ``node.errors``) get one line too, with their status and machine code. Both
go through ``RateLimitedLog``, so a flood costs a few lines and a "suppressed K" summary.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from carbon_ticket.chain.errors import InvalidRequest
from carbon_ticket.node.errors import ERROR_CODE_KEY, abort_with
from carbon_ticket.node.logs import RateLimitedLog

__all__ = ["RequestLogInterceptor"]

log = logging.getLogger(__name__)
_MAX_REASON = 200


@dataclass(frozen=True, slots=True)
class _Malformed:
    """Stands for request bytes that did not decode."""

    reason: str


def _lenient(decode: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if decode is None:
        return None

    def decode_or_mark(data: bytes) -> Any:
        try:
            return decode(data)
        except Exception as exc:  # DecodeError and friends: the client sent garbage
            return _Malformed(f"cannot decode the request ({len(data)} bytes): {exc}")

    return decode_or_mark


class RequestLogInterceptor(grpc.aio.ServerInterceptor):
    """Logs one (rate-limited) line per malformed or refused request."""

    def __init__(self, lines: RateLimitedLog | None = None) -> None:
        self.lines = lines if lines is not None else RateLimitedLog(log)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """The method's handler, with a lenient decoder and a refusal logger around it."""
        handler = await continuation(handler_call_details)
        method = str(handler_call_details.method)
        if handler is None:
            text = "refused a call to unknown method %s"
            self.lines.emit(logging.WARNING, "unknown_method", text, method[:_MAX_REASON])
            return handler
        if handler.request_streaming:
            return handler  # reflection only; our services take one request
        decode = _lenient(handler.request_deserializer)
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(method, handler.unary_stream), decode, handler.response_serializer
            )
        return grpc.unary_unary_rpc_method_handler(
            self._unary(method, handler.unary_unary), decode, handler.response_serializer
        )

    def _unary(self, method: str, behavior: Any) -> Any:
        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await self._refuse_malformed(method, request, context)
            try:
                return await behavior(request, context)
            except grpc.aio.AbortError:
                self._log_refusal(method, context)
                raise

        return unary

    def _streaming(self, method: str, behavior: Any) -> Any:
        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            await self._refuse_malformed(method, request, context)
            try:
                async for item in behavior(request, context):
                    yield item
            except grpc.aio.AbortError:
                self._log_refusal(method, context)
                raise

        return streaming

    async def _refuse_malformed(
        self, method: str, request: Any, context: grpc.aio.ServicerContext
    ) -> None:
        if not isinstance(request, _Malformed):
            return
        reason = request.reason[:_MAX_REASON]
        text = "%s: refused a malformed request from %s: %s"
        self.lines.emit(logging.WARNING, "malformed_request", text, method, context.peer(), reason)
        # Through node.errors like every other refusal, so the code also travels as the standard
        # rich status (ErrorInfo), not only in the ledger-error-code trailer.
        await abort_with(context, InvalidRequest(reason, "malformed_request"))

    def _log_refusal(self, method: str, context: grpc.aio.ServicerContext) -> None:
        metadata = dict(context.trailing_metadata() or ())
        code = str(metadata.get(ERROR_CODE_KEY, ""))
        if code == "malformed_request":
            return  # logged already
        status = context.code()
        status_name = status.name if isinstance(status, grpc.StatusCode) else str(status)
        self.lines.emit(logging.INFO, code or status_name, "%s: refused a request from %s: "
                        "%s %s: %s", method, context.peer(), status_name, code,
                        str(context.details() or "")[:_MAX_REASON])  # fmt: skip
