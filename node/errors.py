"""The one place where ledger errors become gRPC status codes.

The status details carry the human message; the trailing metadata key ``ledger-error-code``
carries the stable machine code (e.g. ``insufficient_balance``) so clients can branch on it.
A transaction that was committed but failed its rules ends ``SubmitTx`` the same way, with its
hash and height in ``ledger-tx-hash`` and ``ledger-height``.

The same facts also travel the standard way, for clients in any language: the
``grpc-status-details-bin`` trailer holds a ``google.rpc.Status`` (same code and message) whose
one detail is a ``google.rpc.ErrorInfo`` with ``reason`` = the ledger code, ``domain`` =
``carbonticket.ledger`` and ``metadata`` = ``tx_hash``/``height`` when a committed transaction
failed. Python reads it with ``grpc_status.rpc_status.from_call``.

    LedgerError class       gRPC status
    InvalidTransaction      INVALID_ARGUMENT   (InvalidAmount, InvalidAddress included)
    InvalidRequest          INVALID_ARGUMENT   (PeerMessageError included)
    InvalidBlock            INVALID_ARGUMENT
    InvalidGenesis          INVALID_ARGUMENT
    PreconditionFailed      FAILED_PRECONDITION
    PermissionDenied        PERMISSION_DENIED
    NotFound                NOT_FOUND
    OutOfRange              OUT_OF_RANGE
    AlreadyExists           ALREADY_EXISTS
    ResourceExhausted       RESOURCE_EXHAUSTED
    StorageError            INTERNAL
    anything else           FAILED_PRECONDITION
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]  # no py.typed
from grpc_status import rpc_status  # type: ignore[import-untyped]  # no stubs installed

from carbon_ticket.chain.errors import (
    AlreadyExists,
    InvalidBlock,
    InvalidGenesis,
    InvalidRequest,
    InvalidTransaction,
    LedgerError,
    NotFound,
    OutOfRange,
    PermissionDenied,
    PreconditionFailed,
    ResourceExhausted,
    StorageError,
)
from carbon_ticket.chain.execute import RESULT_CODES
from carbon_ticket.chain.results import TxResult

__all__ = [
    "ERROR_CODE_KEY",
    "ERROR_DOMAIN",
    "HEIGHT_KEY",
    "TX_HASH_KEY",
    "DiskFull",
    "InternalError",
    "StoreDamaged",
    "abort_with",
    "batch_message_limit",
    "clipped",
    "error_of_receipt",
    "rich_status",
    "status_for",
    "stream_errors",
    "unary_errors",
]

log = logging.getLogger(__name__)
_MAX_MESSAGE = 1_000
_BATCH_MESSAGE_CHARS = 800_000  # what the refusals of one SubmitTxs answer share
_MIN_BATCH_MESSAGE = 80  # enough for the field and the reason at the start of any refusal
ERROR_CODE_KEY = "ledger-error-code"
TX_HASH_KEY = "ledger-tx-hash"
HEIGHT_KEY = "ledger-height"
ERROR_DOMAIN = "carbonticket.ledger"
# Our trailer keys and their names in ErrorInfo.metadata.
_INFO_KEYS = {TX_HASH_KEY: "tx_hash", HEIGHT_KEY: "height"}

_STATUS: tuple[tuple[type[LedgerError], grpc.StatusCode], ...] = (
    (InvalidTransaction, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidBlock, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidGenesis, grpc.StatusCode.INVALID_ARGUMENT),
    (PreconditionFailed, grpc.StatusCode.FAILED_PRECONDITION),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (OutOfRange, grpc.StatusCode.OUT_OF_RANGE),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (StorageError, grpc.StatusCode.INTERNAL),
)

S = TypeVar("S")
Q = TypeVar("Q")
T = TypeVar("T")


def status_for(error: LedgerError) -> grpc.StatusCode:
    """The gRPC status code of a ledger error (FAILED_PRECONDITION for unclassified ones)."""
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return grpc.StatusCode.FAILED_PRECONDITION


def error_of_receipt(result: TxResult) -> LedgerError:
    """The ledger error a failed receipt records (its class comes from the receipt code)."""
    cls = next((c for c, code in RESULT_CODES if code == result.code), LedgerError)
    return cls(result.message, result.error_code)


def rich_status(
    error: LedgerError,
    code: grpc.StatusCode,
    message: str,
    extra: tuple[tuple[str, str], ...] = (),
) -> grpc.Status:
    """The standard rich status of ``error``: code, message and an ``ErrorInfo`` detail, as the
    ``grpc-status-details-bin`` trailer that ``grpc_status.rpc_status.from_call`` reads."""
    info = error_details_pb2.ErrorInfo(
        reason=error.code,
        domain=ERROR_DOMAIN,
        metadata={_INFO_KEYS[k]: v for k, v in extra if k in _INFO_KEYS},
    )
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
    converted: grpc.Status = rpc_status.to_status(status)
    return converted


def clipped(message: str, limit: int = _MAX_MESSAGE) -> str:
    """A refusal's message as a client reads it: its first ``limit`` characters (1,000 unless a
    batch shares them). Messages may quote client input; never echo megabytes back (or past
    metadata limits), in a status or in a batch's answers."""
    if len(message) > limit:
        return message[:limit] + "..."
    return message


def batch_message_limit(count: int) -> int:
    """How many characters each refusal in an answer to ``count`` transactions keeps: 1,000, as
    a single refusal, while ``count`` refusals of that length fit the batch's share; fewer in a
    larger batch, never under 80. The answer to a full batch of refusals that quote long input
    then stays well under a client's default 4 MiB (800,000 characters, at most 3.2 MB of
    UTF-8, plus ~60 bytes of id and code each), where 1,000 each made it ~10 MB."""
    return max(_MIN_BATCH_MESSAGE, min(_MAX_MESSAGE, _BATCH_MESSAGE_CHARS // max(count, 1)))


async def _abort(
    context: grpc.aio.ServicerContext,
    error: LedgerError,
    code: grpc.StatusCode,
    extra: tuple[tuple[str, str], ...] = (),
) -> None:
    message = clipped(error.message)
    # Our own trailer first (clients rely on it), then the standard one with the same facts.
    details = rich_status(error, code, message, extra).trailing_metadata
    context.set_trailing_metadata(((ERROR_CODE_KEY, error.code), *extra, *details))
    await context.abort(code, message)


class DiskFull(StorageError):
    """The disk under the node's data directory is full; nothing partial was written.

    LevelDB's write error is sticky (every later write fails too), so the node stops and the
    operator frees space and restarts it; it then catches up from its peers (docs/storage.md).
    """

    default_code = "disk_full"


class StoreDamaged(StorageError):
    """The data directory is damaged: a checksum mismatch, a truncated or missing file, a
    signing state that does not decode, or a chain that lost blocks it had committed.

    The node refuses to start (exit code 7) or stops; ``carbon-ticket node rebuild`` moves the
    blocks aside so the next start fetches the chain from peers (docs/operations.md).
    """

    default_code = "store_damaged"


class InternalError(LedgerError):
    """A bug in the node itself (logged there); the caller sees only that it happened."""

    default_code = "internal"


async def abort_with(
    context: grpc.aio.ServicerContext,
    error: LedgerError,
    extra: tuple[tuple[str, str], ...] = (),
) -> None:
    """End the call with the status, message and machine code of ``error``."""
    await _abort(context, error, status_for(error), extra)


async def _abort_internal(context: grpc.aio.ServicerContext, exc: Exception, where: str) -> None:
    # Last resort: a bug must not leak internals as UNKNOWN; log it and answer INTERNAL.
    log.exception("internal error in %s", where)
    error = InternalError("internal error; the node logged the details")
    await _abort(context, error, grpc.StatusCode.INTERNAL)


def unary_errors(
    method: Callable[[S, Q, grpc.aio.ServicerContext], Awaitable[T]],
) -> Callable[[S, Q, grpc.aio.ServicerContext], Coroutine[Any, Any, T]]:
    """Wrap a unary servicer method so a LedgerError it raises ends the call with its status.

    The wrapper is a coroutine function, and typed as one, so a test may ``asyncio.run`` it.
    """

    @functools.wraps(method)
    async def wrapper(self: S, request: Q, context: grpc.aio.ServicerContext) -> T:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except LedgerError as exc:
            await abort_with(context, exc)
            raise AssertionError("unreachable: abort raises") from exc
        except Exception as exc:
            await _abort_internal(context, exc, method.__name__)
            raise AssertionError("unreachable: abort raises") from exc

    return wrapper


def stream_errors(
    method: Callable[[S, Q, grpc.aio.ServicerContext], AsyncIterator[T]],
) -> Callable[[S, Q, grpc.aio.ServicerContext], AsyncGenerator[T, None]]:
    """Wrap a server-streaming servicer method the same way as ``unary_errors``."""

    @functools.wraps(method)
    async def wrapper(
        self: S, request: Q, context: grpc.aio.ServicerContext
    ) -> AsyncGenerator[T, None]:
        try:
            async for item in method(self, request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except LedgerError as exc:
            await abort_with(context, exc)
        except Exception as exc:
            await _abort_internal(context, exc, method.__name__)

    return wrapper
