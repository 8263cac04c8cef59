"""Shared pieces of the CLI: error reporting, output formats, gRPC connections."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
import grpc

from chain.amounts import parse_tco2e
from chain.crypto import parse_address
from chain.errors import InvalidGenesis, InvalidTransaction, LedgerError
from cli.keystore import Keystore, KeystoreError, WrongPassword
from proto import services_pb2_grpc

if TYPE_CHECKING:
    from node.tls import ClientTls

__all__ = [
    "DEFAULT_KEYSTORE",
    "DEFAULT_NODE",
    "PASSWORD_ENV",
    "TLS_CA_ENV",
    "TLS_CERT_ENV",
    "TLS_KEY_ENV",
    "CliError",
    "client_tls",
    "connect",
    "emit",
    "keystore_option",
    "node_option",
    "open_keystore",
    "output_option",
    "parse_address_arg",
    "parse_amount_arg",
    "password",
    "reports_errors",
]

DEFAULT_NODE = "127.0.0.1:26600"
TLS_CA_ENV = "CARBON_TICKET_TLS_CA"
TLS_CERT_ENV = "CARBON_TICKET_TLS_CERT"
TLS_KEY_ENV = "CARBON_TICKET_TLS_KEY"
_TLS_META = "carbon_ticket.tls"
P = ParamSpec("P")
R = TypeVar("R")
FC = TypeVar("FC", bound=Callable[..., Any])

EXIT_USAGE = 2
EXIT_LEDGER = 3  # the ledger or node refused the request
EXIT_UNREACHABLE = 4  # the node could not be reached
EXIT_WALLET = 5  # wrong password, missing or damaged key
EXIT_PENDING = 6  # submitted, but not committed within the wait

PASSWORD_ENV = "CARBON_TICKET_PASSWORD"
DEFAULT_KEYSTORE = Path.home() / ".carbon-ticket" / "keystore"


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
        except (KeystoreError, WrongPassword) as exc:
            raise CliError(f"{exc.message} [{exc.code}]", EXIT_WALLET) from exc
        except (InvalidTransaction, InvalidGenesis) as exc:  # raised here, before anything was sent
            raise CliError(f"{exc.message} [{exc.code}]", EXIT_USAGE) from exc
        except LedgerError as exc:
            exit_code = EXIT_WALLET if exc.code == "key_not_found" else EXIT_LEDGER
            raise CliError(f"{exc.message} [{exc.code}]", exit_code) from exc
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
    meta = dict(trailing or ())
    if "ledger-error-code" in meta:
        ledger_code = f" [{meta['ledger-error-code']}]"
    name = code.name if code is not None else "ERROR"
    committed = ""
    if "ledger-tx-hash" in meta:  # committed, and refused by the ledger rules
        committed = f"; tx {meta['ledger-tx-hash']} failed at height {meta.get('ledger-height')}"
    return CliError(f"{details}{ledger_code} ({name}{committed})")


_node_address_option = click.option(
    "--node",
    default=DEFAULT_NODE,
    show_default=True,
    envvar="CARBON_TICKET_NODE",
    help="gRPC address HOST:PORT of a node.",
)


def _remember_tls(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    # The TLS options are not passed to the command: connect() finds them in the click context,
    # so no command signature changes.
    if value is not None and param.name is not None:
        ctx.meta.setdefault(_TLS_META, {})[param.name] = value


_tls_options = [
    click.option(
        "--tls-ca",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=TLS_CA_ENV,
        expose_value=False,
        callback=_remember_tls,
        help=f"Connect with TLS, trusting this CA certificate (PEM) [env {TLS_CA_ENV}].",
    ),
    click.option(
        "--tls-cert",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=TLS_CERT_ENV,
        expose_value=False,
        callback=_remember_tls,
        help=f"Client certificate for nodes requiring mutual TLS [env {TLS_CERT_ENV}].",
    ),
    click.option(
        "--tls-key",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=TLS_KEY_ENV,
        expose_value=False,
        callback=_remember_tls,
        help=f"Private key of --tls-cert [env {TLS_KEY_ENV}].",
    ),
]


def node_option(func: FC) -> FC:
    """``--node`` plus the TLS options (``--tls-ca``, ``--tls-cert``, ``--tls-key``)."""
    for option in reversed(_tls_options):
        func = option(func)
    return _node_address_option(func)


def client_tls() -> ClientTls | None:
    """The TLS files given to the running command (options or environment); None: plaintext."""
    from node.tls import ClientTls  # imported here: plaintext commands skip `cryptography`

    ctx = click.get_current_context(silent=True)
    given: dict[str, Path] = dict(ctx.meta.get(_TLS_META, {})) if ctx is not None else {}
    for name, env in (("tls_ca", TLS_CA_ENV), ("tls_cert", TLS_CERT_ENV), ("tls_key", TLS_KEY_ENV)):
        if name not in given and os.environ.get(env):
            given[name] = Path(os.environ[env])
    if "tls_ca" not in given:
        if "tls_cert" in given or "tls_key" in given:
            raise CliError("--tls-cert/--tls-key need --tls-ca", EXIT_USAGE)
        return None
    if ("tls_cert" in given) != ("tls_key" in given):
        raise CliError("--tls-cert and --tls-key go together", EXIT_USAGE)
    return ClientTls(given["tls_ca"], given.get("tls_cert"), given.get("tls_key"))


output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)


keystore_option = click.option(
    "--keystore",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_KEYSTORE,
    show_default=True,
    envvar="CARBON_TICKET_KEYSTORE",
    help="Directory of the encrypted wallet keys.",
)


def open_keystore(directory: Path) -> Keystore:
    """The wallet keystore in ``directory``."""
    return Keystore(directory)


def password(confirm: bool = False) -> str:
    """The wallet password: $CARBON_TICKET_PASSWORD for scripts, else a hidden prompt."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env
    try:
        text: str = click.prompt(
            "Wallet password", hide_input=True, confirmation_prompt=confirm, err=True
        )
    except click.Abort:
        raise CliError("no password given", EXIT_WALLET) from None
    return text


def parse_amount_arg(text: str) -> int:
    """Grams from tCO2e text (e.g. ``20000`` or ``12.5``); InvalidAmount when malformed."""
    grams = parse_tco2e(text.strip())
    if grams == 0:
        raise InvalidTransaction(f"amount {text!r} must be greater than zero", "zero_amount")
    return grams


def parse_address_arg(text: str, keystore: Path | None = None) -> str:
    """An address, or ``@name`` for the address of a key in the keystore."""
    if text.startswith("@") and keystore is not None:
        return Keystore(keystore).info(text[1:]).address
    return parse_address(text.strip())


@contextmanager
def connect(
    address: str, timeout: float | None = None, tls: ClientTls | None = None
) -> Iterator[services_pb2_grpc.LedgerServiceStub]:
    """A LedgerService stub on a channel that is closed afterwards.

    Waits up to ``timeout`` seconds (default $CARBON_TICKET_CONNECT_TIMEOUT, else 5) for the node.
    Uses TLS with ``tls``, else with the command's ``--tls-ca`` (or $CARBON_TICKET_TLS_CA), else
    plaintext.
    """
    if timeout is None:
        timeout = float(os.environ.get("CARBON_TICKET_CONNECT_TIMEOUT", "5"))
    if tls is None:
        tls = client_tls()
    if tls is None:
        channel = grpc.insecure_channel(address)
    else:
        channel = grpc.secure_channel(address, tls.credentials())
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            how = (
                " over TLS (is it a TLS node, signed by that CA, with this address in its "
                "certificate?)"
                if tls is not None
                else " (if the node uses TLS, pass --tls-ca)"
            )
            raise CliError(
                f"node unreachable: nothing answers at {address}{how}", EXIT_UNREACHABLE
            ) from None
        yield services_pb2_grpc.LedgerServiceStub(channel)
    finally:
        channel.close()


def emit(data: dict[str, Any], output: str) -> None:
    """Print ``data`` as JSON or as an aligned two-column table (nested items indented)."""
    if output == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=False))
        return
    width = max((len(k) for k in data), default=0)
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            click.echo(f"{key.ljust(width)}  ({len(value)})")
            for item in value:
                click.echo(" " * (width + 2) + "- " + _inline(item))
        elif isinstance(value, dict):
            click.echo(f"{key.ljust(width)}  {_inline(value)}")
        elif isinstance(value, list):
            click.echo(f"{key.ljust(width)}  {', '.join(str(v) for v in value) or '-'}")
        else:
            click.echo(f"{key.ljust(width)}  {'-' if value in ('', None) else value}")


def _inline(item: dict[str, Any]) -> str:
    parts = []
    for k, v in item.items():
        if isinstance(v, dict):
            v = "{" + _inline(v) + "}"
        elif isinstance(v, list):
            v = "[" + ", ".join(_inline(x) if isinstance(x, dict) else str(x) for x in v) + "]"
        parts.append(f"{k}={v}")
    return "  ".join(parts)
