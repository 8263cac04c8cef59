"""The one place where ledger errors become gRPC status codes.

The status details carry the human message; the trailing metadata key ``ledger-error-code``
carries the stable machine code (e.g. ``insufficient_balance``) so clients can branch on it.
"""

from __future__ import annotations

import grpc

from chain.errors import (
    AlreadyExists,
    InvalidTransaction,
    LedgerError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ResourceExhausted,
    StorageError,
)

__all__ = ["ERROR_CODE_KEY", "abort_with", "status_for"]

ERROR_CODE_KEY = "ledger-error-code"

_STATUS: tuple[tuple[type[LedgerError], grpc.StatusCode], ...] = (
    (InvalidTransaction, grpc.StatusCode.INVALID_ARGUMENT),
    (PreconditionFailed, grpc.StatusCode.FAILED_PRECONDITION),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (StorageError, grpc.StatusCode.INTERNAL),
)


def status_for(error: LedgerError) -> grpc.StatusCode:
    """The gRPC status code of a ledger error (FAILED_PRECONDITION for unclassified ones)."""
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return grpc.StatusCode.FAILED_PRECONDITION


async def abort_with(context: grpc.aio.ServicerContext, error: LedgerError) -> None:
    """End the call with the status, message and machine code of ``error``."""
    context.set_trailing_metadata(((ERROR_CODE_KEY, error.code),))
    await context.abort(status_for(error), error.message)
