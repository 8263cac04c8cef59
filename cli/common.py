"""Shared pieces of the CLI: error reporting, output formats, gRPC connections."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import click
import grpc

from chain.errors import LedgerError
from proto import services_pb2_grpc

__all__ = [
    "DEFAULT_NODE",
    "CliError",
    "connect",
    "emit",
    "node_option",
    "output_option",
    "reports_errors",
]

DEFAULT_NODE = "127.0.0.1:26600"
P = ParamSpec("P")
R = TypeVar("R")

EXIT_USAGE = 2
EXIT_LEDGER = 3  # the ledger or node refused the request
EXIT_UNREACHABLE = 4  # the node could not be reached


class CliError(click.ClickException):
    """One clear line on stderr and a non-zero exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_LEDGER) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn ledger and gRPC errors raised by a command into one line and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except LedgerError as exc:
            raise CliError(f"{exc.message} [{exc.code}]") from exc
        except grpc.RpcError as exc:
            raise _rpc_error(exc) from exc

    return wrapper


def _rpc_error(exc: grpc.RpcError) -> CliError:
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return CliError(f"node unreachable: {details}", EXIT_UNREACHABLE)
    ledger_code = ""
    trailing = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == "ledger-error-code":
            ledger_code = f" [{value}]"
    name = code.name if code is not None else "ERROR"
    return CliError(f"{details}{ledger_code} ({name})")


node_option = click.option(
    "--node",
    default=DEFAULT_NODE,
    show_default=True,
    envvar="CARBON_TICKET_NODE",
    help="gRPC address HOST:PORT of a node.",
)
output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)


@contextmanager
def connect(address: str, timeout: float = 10.0) -> Iterator[services_pb2_grpc.LedgerServiceStub]:
    """A LedgerService stub on a channel that is closed afterwards."""
    channel = grpc.insecure_channel(address)
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise CliError(
                f"node unreachable: nothing answers at {address}", EXIT_UNREACHABLE
            ) from None
        yield services_pb2_grpc.LedgerServiceStub(channel)
    finally:
        channel.close()


def emit(data: dict[str, Any], output: str) -> None:
    """Print ``data`` as JSON or as an aligned two-column table."""
    if output == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=False))
        return
    width = max((len(k) for k in data), default=0)
    for key, value in data.items():
        if isinstance(value, list | dict):
            value = json.dumps(value)
        click.echo(f"{key.ljust(width)}  {value}")
