"""Shared pieces of the CLI: error reporting and exit codes, output formats, the client config
file, gRPC connections.

Exit codes (``EXIT_CODES``; README, docs/cli.md, ``carbon-ticket --help``): 0 done, 1 a check or
run failed (``verify``: the bundle does not prove; a devnet node died; ``node start``: a full disk
or a fault; ``chaos``/``bench`` checks), 2 bad input (arguments, files, config), 3 refused by the
ledger (or by the wallet because the ledger would refuse it), 4 node unreachable, 5 wallet
(password, missing key, no terminal), 6 submitted but not committed in time, 7 ``node start``:
the data directory is damaged.
"""

from __future__ import annotations

import functools
import json
import os
import re
import select
import socket
import stat
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
import grpc

from carbon_ticket.chain.amounts import parse_tco2e
from carbon_ticket.chain.crypto import parse_address
from carbon_ticket.chain.errors import (
    ConfigError,
    InvalidGenesis,
    InvalidRequest,
    InvalidTransaction,
    LedgerError,
)
from carbon_ticket.cli.keystore import InvalidKeyName, Keystore, KeystoreError, WrongPassword
from carbon_ticket.proto import services_pb2_grpc

if TYPE_CHECKING:
    from carbon_ticket.node.tls import ClientTls

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "DEFAULT_KEYSTORE",
    "DEFAULT_NODE",
    "EXIT_CODES",
    "EXIT_DAMAGED",
    "EXIT_FAILED",
    "EXIT_LEDGER",
    "EXIT_PENDING",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "EXIT_WALLET",
    "KEYSTORE_ENV",
    "NODE_ENV",
    "PASSWORD_ENV",
    "TLS_CA_ENV",
    "TLS_CERT_ENV",
    "TLS_KEY_ENV",
    "CliError",
    "ClientConfig",
    "check_node_address",
    "chosen_output",
    "client_config",
    "client_tls",
    "committed_tx",
    "connect",
    "emit",
    "json_alias_option",
    "keystore_directory",
    "keystore_option",
    "ledger_code",
    "node_option",
    "open_keystore",
    "output_option",
    "parse_address_arg",
    "parse_amount_arg",
    "password",
    "reports_errors",
    "rpc_error",
    "secret_line",
    "stdin_is_terminal",
    "table_view",
]

DEFAULT_NODE = "127.0.0.1:26600"
NODE_ENV = "CARBON_TICKET_NODE"
KEYSTORE_ENV = "CARBON_TICKET_KEYSTORE"
CONFIG_ENV = "CARBON_TICKET_CONFIG"
DEFAULT_CONFIG = Path.home() / ".carbon-ticket" / "client.toml"
TLS_CA_ENV = "CARBON_TICKET_TLS_CA"
TLS_CERT_ENV = "CARBON_TICKET_TLS_CERT"
TLS_KEY_ENV = "CARBON_TICKET_TLS_KEY"
_TLS_META = "carbon_ticket.tls"
_NODE_META = "carbon_ticket.node_source"
P = ParamSpec("P")
R = TypeVar("R")
FC = TypeVar("FC", bound=Callable[..., Any])

EXIT_FAILED = 1  # verify: the bundle does not check out; devnet up: a node died; node start:
# a full disk or a fault; chaos and bench: their check failed
EXIT_USAGE = 2  # bad input: arguments, files, the client config
EXIT_LEDGER = 3  # the ledger or node refused the request
EXIT_UNREACHABLE = 4  # the node could not be reached
EXIT_WALLET = 5  # wrong password, missing or damaged key, no terminal to ask on
EXIT_PENDING = 6  # submitted, but not committed within the wait
EXIT_DAMAGED = 7  # node start: the data directory is damaged (see `carbon-ticket node rebuild`)
# Every code above in a few words: `carbon-ticket --help` prints them; docs/cli.md explains each.
EXIT_CODES: dict[int, str] = {
    EXIT_FAILED: "verify failed / a node or a check failed",
    EXIT_USAGE: "bad input",
    EXIT_LEDGER: "refused by the ledger",
    EXIT_UNREACHABLE: "node unreachable",
    EXIT_WALLET: "wallet",
    EXIT_PENDING: "not committed in time",
    EXIT_DAMAGED: "node start: data directory damaged",
}

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
        except InvalidKeyName as exc:  # a name the user typed: bad input, nothing is touched
            raise CliError(f"{exc.message} [{exc.code}]", EXIT_USAGE) from exc
        except (KeystoreError, WrongPassword) as exc:
            raise CliError(f"{exc.message} [{exc.code}]", EXIT_WALLET) from exc
        # Bad input found here, before anything was sent: a tx field, a genesis or config file.
        except (InvalidTransaction, InvalidGenesis, InvalidRequest, ConfigError) as exc:
            raise CliError(f"{exc.message} [{exc.code}]", EXIT_USAGE) from exc
        except LedgerError as exc:
            exit_code = EXIT_WALLET if exc.code == "key_not_found" else EXIT_LEDGER
            raise CliError(f"{exc.message} [{exc.code}]", exit_code) from exc
        except grpc.RpcError as exc:
            raise rpc_error(exc) from exc

    return wrapper


def _trailer(exc: grpc.RpcError) -> dict[str, Any]:
    trailing = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    return dict(trailing or ())


def ledger_code(exc: grpc.RpcError) -> str:
    """The ledger's error code a refused call carries (``ledger-error-code``), or ""."""
    return str(_trailer(exc).get("ledger-error-code", ""))


def committed_tx(exc: grpc.RpcError) -> str:
    """The id of the transaction a refused call says committed and failed, or ""."""
    return str(_trailer(exc).get("ledger-tx-hash", ""))


def rpc_error(exc: grpc.RpcError) -> CliError:
    """The one-line CliError for a failed call: unreachable (exit 4) or refused (exit 3)."""
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return CliError(f"node unreachable: {details}", EXIT_UNREACHABLE)
    meta = _trailer(exc)
    ledger_code = f" [{meta['ledger-error-code']}]" if "ledger-error-code" in meta else ""
    name = code.name if code is not None else "ERROR"
    committed = ""
    if committed_tx(exc):  # committed, and refused by the ledger rules
        committed = f"; tx {meta['ledger-tx-hash']} failed at height {meta.get('ledger-height')}"
    return CliError(f"{details}{ledger_code} ({name}{committed})")


# ---------------------------------------------------------------- client config file

_CONFIG_KEYS = ("node", "keystore", "tls_ca", "tls_cert", "tls_key")


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """The wallet's config file: defaults under the command line and the environment.

    ``$CARBON_TICKET_CONFIG`` names the file (it must exist), else ``~/.carbon-ticket/client.toml``
    is read when present. Keys (all optional): ``node`` (HOST:PORT), ``keystore``, ``tls_ca``,
    ``tls_cert``, ``tls_key`` (paths, relative to the file's folder). Precedence: option > env >
    file > built-in default.
    """

    path: Path | None = None
    node: str | None = None
    keystore: Path | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @classmethod
    def load(cls, path: Path) -> ClientConfig:
        """Read and check ``path``; CliError (exit 2) naming the key or the syntax error."""
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CliError(f"cannot read client config {path}: {exc.strerror}", EXIT_USAGE) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CliError(f"client config {path} is not valid TOML: {exc}", EXIT_USAGE) from exc
        unknown = sorted(set(doc) - set(_CONFIG_KEYS))
        if unknown:
            raise CliError(
                f"client config {path}: unknown key {unknown[0]!r} (known: "
                f"{', '.join(_CONFIG_KEYS)})",
                EXIT_USAGE,
            )
        for key, value in doc.items():
            if not isinstance(value, str) or not value:
                raise CliError(
                    f"client config {path}: {key} must be a non-empty string", EXIT_USAGE
                )
        node = doc.get("node")
        if node is not None:
            check_node_address(node, f"node in {path}")
        base = path.parent

        def file(key: str) -> Path | None:
            value = doc.get(key)
            return None if value is None else base / Path(value).expanduser()

        return cls(path, node, file("keystore"), file("tls_ca"), file("tls_cert"), file("tls_key"))


def client_config() -> ClientConfig:
    """The client config of this command (read once per command; empty when there is none)."""
    ctx = click.get_current_context(silent=True)
    cached = ctx.meta.get("carbon_ticket.config") if ctx is not None else None
    if isinstance(cached, ClientConfig):
        return cached
    named = os.environ.get(CONFIG_ENV)
    if named:
        config = ClientConfig.load(Path(named).expanduser())
    elif DEFAULT_CONFIG.is_file():
        config = ClientConfig.load(DEFAULT_CONFIG)
    else:
        config = ClientConfig()
    if ctx is not None:
        ctx.meta["carbon_ticket.config"] = config
    return config


_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})")


def check_node_address(text: str, what: str = "--node") -> str:
    """``text`` if it is HOST:PORT (IPv6 in brackets); CliError with exit 2 otherwise."""
    match = _HOST_PORT.fullmatch(text)
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise CliError(f"invalid {what} {text!r}: write HOST:PORT, e.g. {DEFAULT_NODE}", EXIT_USAGE)
    return text


def _resolve_node(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    source = ctx.get_parameter_source(param.name or "node")
    if value is not None:
        how = f"${NODE_ENV}" if source == click.core.ParameterSource.ENVIRONMENT else "--node"
        ctx.meta[_NODE_META] = how
        return check_node_address(value, how)
    config = client_config()
    if config.node is not None:
        ctx.meta[_NODE_META] = f"node in {config.path}"
        return config.node
    ctx.meta[_NODE_META] = "the default"
    return DEFAULT_NODE


_node_address_option = click.option(
    "--node",
    default=None,
    envvar=NODE_ENV,
    callback=_resolve_node,
    help=f"gRPC address HOST:PORT of a node [env {NODE_ENV}; else `node` in the client config "
    f"file ${CONFIG_ENV} or ~/.carbon-ticket/client.toml; else {DEFAULT_NODE}].",
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
    """The TLS files of the running command (option > environment > client config); None: plaintext.

    A named file that does not exist is bad input (exit 2).
    """
    from carbon_ticket.node.tls import (
        ClientTls,  # imported here: plaintext commands skip `cryptography`
    )

    ctx = click.get_current_context(silent=True)
    given: dict[str, Path] = dict(ctx.meta.get(_TLS_META, {})) if ctx is not None else {}
    for name, env in (("tls_ca", TLS_CA_ENV), ("tls_cert", TLS_CERT_ENV), ("tls_key", TLS_KEY_ENV)):
        if name not in given and os.environ.get(env):
            given[name] = Path(os.environ[env])
    config = client_config()
    for name in ("tls_ca", "tls_cert", "tls_key"):
        from_file = getattr(config, name)
        if name not in given and from_file is not None:
            given[name] = from_file
    if "tls_ca" not in given:
        if "tls_cert" in given or "tls_key" in given:
            raise CliError("--tls-cert/--tls-key need --tls-ca", EXIT_USAGE)
        return None
    if ("tls_cert" in given) != ("tls_key" in given):
        raise CliError("--tls-cert and --tls-key go together", EXIT_USAGE)
    for name, path in given.items():
        if not path.is_file():
            flag = "--" + name.replace("_", "-")
            raise CliError(f"{flag}: file {path} does not exist", EXIT_USAGE)
    return ClientTls(given["tls_ca"], given.get("tls_cert"), given.get("tls_key"))


output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format: a table for people, or JSON with the API's field names, integer "
    "grams beside tCO2e text and RFC 3339 times beside epoch milliseconds.",
)


def _json_alias(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["carbon_ticket.json"] = True


json_alias_option = click.option(
    "--json",
    "json_alias",
    is_flag=True,
    expose_value=False,
    callback=_json_alias,
    help="Same as -o json.",
)


def chosen_output(output: str) -> str:
    """``output``, or ``json`` when the command's ``--json`` alias was given."""
    ctx = click.get_current_context(silent=True)
    return "json" if ctx is not None and ctx.meta.get("carbon_ticket.json") else output


def keystore_directory(value: Path | None = None) -> Path:
    """The keystore a command opens: ``value`` (--keystore or $CARBON_TICKET_KEYSTORE), else
    the client config file's ``keystore``, else ~/.carbon-ticket/keystore."""
    if value is not None:
        return value
    return client_config().keystore or DEFAULT_KEYSTORE


def _resolve_keystore(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    return keystore_directory(value)


keystore_option = click.option(
    "--keystore",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    envvar=KEYSTORE_ENV,
    callback=_resolve_keystore,
    help=f"Directory of the encrypted wallet keys [env {KEYSTORE_ENV}; else `keystore` in the "
    "client config file; else ~/.carbon-ticket/keystore].",
)


def open_keystore(directory: Path) -> Keystore:
    """The wallet keystore in ``directory``."""
    return Keystore(directory)


def password(confirm: bool = False) -> str:
    """The wallet password: $CARBON_TICKET_PASSWORD for scripts; else, when stdin is no terminal
    (``echo pw | carbon-ticket ...``, CI), the first line of stdin, read without a prompt; else
    a hidden prompt (twice with ``confirm``)."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return _utf8(from_env, f"${PASSWORD_ENV}")
    if not stdin_is_terminal():
        # No prompt: getpass would write a warning and the prompt, and read from /dev/tty when
        # there is one, waiting on a terminal instead of the pipe the password was sent down.
        return secret_line(sys.stdin, "password", f"pipe it in or set ${PASSWORD_ENV}")
    try:
        text: str = click.prompt(
            "Wallet password", hide_input=True, confirmation_prompt=confirm, err=True
        )
    except click.Abort:
        raise CliError("no password given", EXIT_WALLET) from None
    return text


def stdin_is_terminal() -> bool:
    """Whether stdin is a terminal a person can answer a prompt on."""
    return sys.stdin.isatty()


# A secret read from a pipe that stays open and silent (a CI step or an ssh session that
# inherits an idle stdin) would wait forever with nothing on the screen: say what is awaited
# after a moment, and give up after a minute.
STDIN_HINT_AFTER_S = 3.0
STDIN_GIVE_UP_AFTER_S = 60.0


def secret_line(
    stream: Any,
    what: str,
    hint: str,
    *,
    hint_after_s: float = STDIN_HINT_AFTER_S,
    give_up_after_s: float = STDIN_GIVE_UP_AFTER_S,
) -> str:
    """One line of ``stream`` (not a terminal), without its line end; CliError (exit 5) when the
    stream ends first, the line is empty or, on a pipe, nothing arrives within
    ``give_up_after_s`` (after ``hint_after_s`` a line on stderr says what is awaited)."""
    fd = _pipe_fd(stream)
    try:
        if fd is None:
            line: str = stream.readline()
        else:
            line = _read_pipe_line(fd, what, hint, hint_after_s, give_up_after_s)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the {what} from stdin: {exc}", EXIT_WALLET) from exc
    text = line.removesuffix("\n").removesuffix("\r")
    if not text:
        raise CliError(f"no {what} given: stdin is no terminal and has no {what} line; {hint}",
                       EXIT_WALLET)  # fmt: skip
    return _utf8(text, f"the {what} on stdin")


def _pipe_fd(stream: Any) -> int | None:
    """The descriptor of ``stream`` when it is a pipe or socket that can be waited on; None for
    a file (always readable), a stream without one (tests' in-memory stdin) or another OS."""
    if os.name != "posix":
        return None
    try:
        fd: int = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return None
    return fd if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else None


def _read_pipe_line(fd: int, what: str, hint: str, hint_after_s: float, give_up_s: float) -> str:
    """One line read from ``fd`` a byte at a time, so that nothing past it is buffered away
    from the next secret (``keys import`` reads the seed's line, then the password's)."""
    waited = 0.0
    hinted = False
    raw = bytearray()
    while True:
        step = hint_after_s if not hinted else give_up_s - waited
        if not select.select([fd], [], [], max(step, 0.0))[0]:
            waited += max(step, 0.0)
            if hinted or waited >= give_up_s:
                raise CliError(f"no {what} arrived on stdin within {give_up_s:g} s; {hint}",
                               EXIT_WALLET)  # fmt: skip
            hinted = True
            click.echo(f"waiting for the {what} on stdin (it is no terminal); {hint}", err=True)
            continue
        byte = os.read(fd, 1)
        if not byte or byte == b"\n":
            return raw.decode("utf-8", "surrogateescape")
        raw += byte
        if len(raw) > _MAX_SECRET_LINE:
            raise CliError(f"the {what} line on stdin is over {_MAX_SECRET_LINE} bytes",
                           EXIT_WALLET)  # fmt: skip


_MAX_SECRET_LINE = 4096


def _utf8(text: str, where: str) -> str:
    """``text``, unless it holds bytes that are not UTF-8 (Python reads them from the environment
    and, in the C locale, from stdin as lone surrogates, which cannot be encoded again)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise CliError(f"{where} is not UTF-8 text", EXIT_WALLET) from None
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


# The largest reply a client takes: a block of thousands of transactions with their receipts
# is more than gRPC's default 4 MiB; a node sends up to its [api] max_message_bytes, 64 MiB by
# default. The wallet and the explorer open their channels with this.
MAX_REPLY_BYTES = 64 * 2**20
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", MAX_REPLY_BYTES)]
# A wallet call waits for its node (connect's timeout): it retries every 0.1-0.5 s instead of
# on gRPC's backoff (1 s, then 1.6 times longer each try), so a node that starts while the call
# waits (a devnet coming up, a restart) answers within half a second of listening, not up to
# 2-3 s later (a node listening 3 s after the call: 2.1-2.9 s -> 0.3-0.75 s after it listened;
# `python -m tests.cli.microbench_connect`, docs/cli.md).
_CONNECT_OPTIONS = [
    *CHANNEL_OPTIONS,
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]


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
        channel = grpc.insecure_channel(address, options=_CONNECT_OPTIONS)
    else:
        try:
            credentials = tls.credentials()
        except LedgerError as exc:  # an unreadable or malformed certificate or key file
            raise CliError(exc.message, EXIT_USAGE) from exc
        channel = grpc.secure_channel(address, credentials, options=_CONNECT_OPTIONS)
    try:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise CliError(_unreachable(address, tls is not None), EXIT_UNREACHABLE) from None
        yield services_pb2_grpc.LedgerServiceStub(channel)
    finally:
        channel.close()


def _unreachable(address: str, tls: bool) -> str:
    """Why nothing answered, naming where the address came from and how to give another."""
    ctx = click.get_current_context(silent=True)
    source = ctx.meta.get(_NODE_META) if ctx is not None else None
    origin = f" (from {source})" if source else ""
    hint = f"; give the node's address with --node HOST:PORT or ${NODE_ENV}"
    if tls:
        hint += (
            "; over TLS: is it a TLS node, signed by that CA, with this address in its certificate?"
        )
    elif _takes_connections(address):
        # Most likely a node with [tls]: it accepts the TCP connection, then refuses plaintext.
        return (
            f"node unreachable: {address}{origin} takes connections but does not answer "
            f"plaintext gRPC; if the node serves TLS, give its CA with --tls-ca FILE or "
            f"${TLS_CA_ENV}{hint}"
        )
    return f"node unreachable: nothing answers at {address}{origin}{hint}"


def _takes_connections(address: str) -> bool:
    """Whether a TCP connection to HOST:PORT opens (one short attempt)."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=1):
            return True
    except (OSError, ValueError):
        return False


def emit(data: dict[str, Any] | list[Any], output: str) -> None:
    """Print ``data`` as JSON, or as an aligned table for people (``table_view``)."""
    if chosen_output(output) == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if isinstance(data, list):
        for item in data:
            click.echo("- " + _inline(table_view(item)) if isinstance(item, dict) else str(item))
        return
    _table(table_view(data), 0)


def table_view(data: dict[str, Any]) -> dict[str, Any]:
    """What a person reads: ``*_tco2e`` shown as ``X tCO2e`` under the name without the suffix
    instead of ``*_grams``; the RFC 3339 time instead of epoch milliseconds; periods as
    ``YYYYMMDD-YYYYMMDD``; true and false as ``yes`` and ``no`` (not Python's ``True``)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key.endswith("_grams") and key.removesuffix("_grams") + "_tco2e" in data:
            continue
        if (key == "time_ms" or key.endswith("_time_ms")) and key.removesuffix("_ms") in data:
            continue
        if key.endswith("_tco2e") and isinstance(value, str):
            key, value = key.removesuffix("_tco2e"), f"{value} tCO2e"
        out[key] = _table_value(value)
    return out


def _table_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if set(value) == {"start_date", "end_date"}:
            return f"{value['start_date']:08d}-{value['end_date']:08d}"
        return table_view(value)
    if isinstance(value, list):
        return [_table_value(v) for v in value]
    return value


def _table(data: dict[str, Any], indent: int) -> None:
    width = max((len(k) for k in data), default=0)
    pad = " " * indent
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            click.echo(f"{pad}{key.ljust(width)}  ({len(value)})")
            for item in value:
                click.echo(pad + " " * (width + 2) + "- " + _inline(item))
        elif isinstance(value, dict):
            click.echo(f"{pad}{key}")
            _table(value, indent + 2)
        elif isinstance(value, list):
            click.echo(f"{pad}{key.ljust(width)}  {', '.join(str(v) for v in value) or '-'}")
        else:
            click.echo(f"{pad}{key.ljust(width)}  {_cell(value)}")


def _cell(value: Any) -> str:
    if value in ("", None):
        return "-"
    return str(value)


def _inline(item: dict[str, Any]) -> str:
    parts = []
    for k, v in item.items():
        if isinstance(v, dict):
            v = "{" + _inline(v) + "}"
        elif isinstance(v, list):
            v = "[" + ", ".join(_inline(x) if isinstance(x, dict) else str(x) for x in v) + "]"
        parts.append(f"{k}={v}")
    return "  ".join(parts)
