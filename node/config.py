"""Node configuration: a small TOML file in the node's home directory.

Paths in the file are relative to the home directory. Everything has a default that works for a
local devnet; operators change listen addresses, peers and timeouts for a real network.

The file is checked whole when it is read: an unknown section or key, a value of the wrong type
or out of range is one ``ConfigError`` line naming the file, the section and the key (never a
Python traceback). Every setting is declared once, as a dataclass field whose metadata holds its
comment and its range check; ``save`` writes each setting with that comment above it and, when the
file exists, edits it in place (through tomlkit) so an operator's comments and layout survive.
"""

from __future__ import annotations

import difflib
import functools
import textwrap
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar, get_type_hints

import tomlkit
import tomlkit.exceptions
from tomlkit.items import Table

from carbon_ticket.chain.errors import ConfigError, LedgerError
from carbon_ticket.node.peer_auth import ObserverList

__all__ = [
    "CONFIG_FILE",
    "FRAME_LISTEN_AUTO",
    "FRAME_PORT_OFFSET",
    "LOG_FORMATS",
    "LOG_LEVELS",
    "MAX_NAME_LENGTH",
    "ApiSettings",
    "ConfigError",
    "ConsensusSettings",
    "DebugSettings",
    "MempoolSettings",
    "MetricsSettings",
    "NodeConfig",
    "SyncSettings",
    "TimeSettings",
    "TlsSettings",
    "check_node_name",
]

CONFIG_FILE = "config.toml"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# "json": one JSON object per line, for log collectors (node.logs).
LOG_FORMATS = ("text", "json")
# The name becomes a certificate's common name, which X.509 limits to 64 characters.
MAX_NAME_LENGTH = 64
_HEADER = "Carbon Ticket Ledger node configuration (docs/operations.md describes every setting)."
_WIDTH = 98


Check = Callable[[Any], str | None]  # a problem ("must be ...") or None when the value is fine


def _setting(default: Any, doc: str, check: Check | None = None, key: str = "") -> Any:
    # One declaration per setting: its default, the comment written above it, its range check,
    # and (for NodeConfig's two lists, kept in [peers]) the key it has in the file.
    metadata = {"doc": doc, "check": check, "key": key, "section": "peers" if key else ""}
    return field(default=default, metadata=metadata)


def _positive(value: int) -> str | None:
    return None if value > 0 else f"must be a positive integer, got {value!r}"


def _not_negative(value: int) -> str | None:
    return None if value >= 0 else f"must be 0 or more, got {value!r}"


def _thread_count(value: int) -> str | None:
    return None if -1 <= value <= 64 else "must be -1 (automatic) or from 0 to 64"


def _per_million(value: int) -> str | None:
    return None if 0 <= value < 1_000_000 else f"must be 0 to 999999 (per million), got {value!r}"


def _non_empty(value: str) -> str | None:
    return None if value.strip() else f"must be a non-empty path, got {value!r}"


def check_node_name(name: object) -> str | None:
    """Why ``name`` cannot name a node, or None when it can.

    The name is printed in every log line and command output and becomes the common name of the
    node's certificate, so it must be one printable line of at most ``MAX_NAME_LENGTH`` characters.
    """
    if not isinstance(name, str) or not name.strip():
        return f"must be a non-empty string, got {name!r}"
    if len(name) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters, got {len(name)}"
    # Category C*: control (newline, tab, escape), format, surrogate, private and unassigned.
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return f"must not contain a newline or control character, got {name!r}"
    if name != name.strip():
        return f"must not start or end with a space, got {name!r}"
    return None


def _log_level(value: str) -> str | None:
    if value in LOG_LEVELS:
        return None
    return f"must be one of {', '.join(LOG_LEVELS)}, got {value!r}"


def _log_format(value: str) -> str | None:
    if value in LOG_FORMATS:
        return None
    return f"must be one of {', '.join(LOG_FORMATS)}, got {value!r}"


def _endpoint(value: str, lowest_port: int) -> str | None:
    host, colon, port = value.rpartition(":")
    if not colon or not host.strip("[]") or not (port.isascii() and port.isdigit()):
        return f"must be HOST:PORT, got {value!r}"
    if not lowest_port <= int(port) <= 65535:
        return f"port must be {lowest_port}..65535, got {value!r}"
    return None


def _listen(value: str) -> str | None:
    return _endpoint(value, 0)  # port 0: the system picks one


def _frame_listen(value: str) -> str | None:
    if value in ("", FRAME_LISTEN_AUTO):
        return None
    return _endpoint(value, 0)


def _peer_addresses(values: tuple[str, ...]) -> str | None:
    return next((p for v in values if (p := _endpoint(v, 1)) is not None), None)


def _observers(values: tuple[str, ...]) -> str | None:
    try:
        ObserverList.parse(values)
    except LedgerError as exc:
        return exc.message
    return None


class _Section:
    """Checks every field of a settings dataclass against its type and its range check."""

    __slots__ = ()
    SECTION: ClassVar[str]

    def __post_init__(self) -> None:
        _check_fields(self)


@dataclass(frozen=True, slots=True)
class ConsensusSettings(_Section):
    """Consensus timeouts (milliseconds) and block production pacing."""

    SECTION: ClassVar[str] = "consensus"
    propose_timeout_ms: int = _setting(
        1000, "Wait this long for a proposal before prevoting nil (grows per round).", _positive
    )
    prevote_timeout_ms: int = _setting(
        500, "Wait this long after seeing 2/3 of mixed prevotes.", _positive
    )
    precommit_timeout_ms: int = _setting(
        500, "Wait this long after seeing 2/3 of mixed precommits.", _positive
    )
    timeout_delta_ms: int = _setting(
        500, "Added to the timeouts per round, so a slow network eventually fits.", _positive
    )
    commit_wait_ms: int = _setting(
        50,
        "Least time from this node's start of one height to its start of the next, so "
        "transactions gather; after a height that took longer it starts the next at once if "
        "a transaction is ready (the next proposer's proposal starts it sooner anyway).",
        _positive,
    )
    empty_block_interval_ms: int = _setting(
        5000, "With an empty mempool a block is still made this often (time keeps moving).",
        _positive,
    )  # fmt: skip
    max_block_txs: int = _setting(
        4000, "Most transactions this node proposes in one block, counted by their work: an "
        "AwardPoints counts one per award, a transfer one per entry.", _positive,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class MempoolSettings(_Section):
    """Bounds of the pending-transaction pool."""

    SECTION: ClassVar[str] = "mempool"
    max_txs: int = _setting(
        50_000, "Most pending transactions; beyond it submissions get RESOURCE_EXHAUSTED.",
        _positive,
    )  # fmt: skip
    max_bytes: int = _setting(64 * 1024 * 1024, "Most bytes of pending transactions.", _positive)
    max_nonce_gap: int = _setting(
        1_000, "How far ahead of an account's next nonce a pending transaction may be.", _positive
    )
    tx_ttl_blocks: int = _setting(
        600, "A transaction still pending this many blocks after admission is dropped.", _positive
    )
    verify_threads: int = _setting(
        -1, "Worker threads for the signature checks of submitted and gossiped batches and of "
        "blocks being synced: -1 is one per core beyond the first (at most 4), 0 checks on the "
        "event loop (several validators sharing a machine's cores).", _thread_count,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class TimeSettings(_Section):
    """How far a fresh proposal's block time may be from this validator's clock on receipt.

    A fresh proposal is timely when ``time - precision_ms <= receipt <= time + precision_ms +
    message_delay_ms`` (proposer-based timestamps): ``precision_ms`` bounds the clock difference
    between two synchronised validators, ``message_delay_ms`` how long a proposal may travel.
    An untimely fresh proposal is prevoted nil. Every validator should use the same values.
    """

    SECTION: ClassVar[str] = "time"
    precision_ms: int = _setting(
        500, "How far apart two synchronised validators' clocks may be.", _positive
    )
    message_delay_ms: int = _setting(1500, "How long a proposal may take to arrive.", _positive)


@dataclass(frozen=True, slots=True)
class DebugSettings(_Section):
    """Test-only knobs; a node logs a WARNING at start for every one that is set."""

    SECTION: ClassVar[str] = "debug"
    clock_offset_ms: int = _setting(
        0, "TEST ONLY: added to this node's wall clock. Never set it in production."
    )
    simulated_rtt_ms: int = _setting(
        0,
        "TEST ONLY: round trip added to every link to a peer (benchmarks of a WAN).",
        _not_negative,
    )
    simulated_loss_ppm: int = _setting(
        0, "TEST ONLY: peer messages dropped per million (benchmarks of a lossy WAN).", _per_million
    )


@dataclass(frozen=True, slots=True)
class TlsSettings(_Section):
    """TLS on the node's gRPC port and on its links to peers (paths relative to the home).

    ``cert_file``/``key_file`` are this node's certificate chain and private key (PEM): served to
    every client, and presented to peers as a client certificate. ``ca_file`` holds the CA
    certificate(s) that peers' certificates must chain to. With ``require_client_cert`` the port
    only accepts clients (peers, wallets) presenting a certificate from that CA (mutual TLS).
    """

    SECTION: ClassVar[str] = "tls"
    cert_file: str = _setting(
        "tls/node.crt", "This node's certificate chain (PEM), served to clients and peers.",
        _non_empty,
    )  # fmt: skip
    key_file: str = _setting("tls/node.key", "Its private key (PEM, mode 0600).", _non_empty)
    ca_file: str = _setting(
        "tls/ca.crt", "CA certificate(s) that peers' and clients' certificates chain to.",
        _non_empty,
    )  # fmt: skip
    require_client_cert: bool = _setting(
        False, "Mutual TLS: accept only clients with a certificate from that CA."
    )


@dataclass(frozen=True, slots=True)
class MetricsSettings(_Section):
    """Prometheus metrics over HTTP (GET /metrics); docs/operations.md lists them."""

    SECTION: ClassVar[str] = "metrics"
    enabled: bool = _setting(False, "Serve Prometheus metrics over HTTP.")
    listen: str = _setting(
        "127.0.0.1:26660",
        "HTTP HOST:PORT of the metrics endpoint; it has no authentication, so keep it on "
        "loopback unless a firewall or proxy guards it.",
        _listen,
    )


_MIB = 1024 * 1024


def _at_least_one_mib(value: int) -> str | None:
    return None if value >= _MIB else f"must be at least {_MIB} (1 MiB), got {value!r}"


@dataclass(frozen=True, slots=True)
class SyncSettings(_Section):
    """Block sync: how a node that is behind checks the blocks it fetches from peers."""

    SECTION: ClassVar[str] = "sync"
    verify_tx_signatures: bool = _setting(
        False, "Check every transaction signature of fetched blocks again; by default a "
        "block's verified commit certificate vouches for them (more than 2/3 of the voting "
        "power checked them before committing it). An auditor's node may set true: about half "
        "the catch-up speed.",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ApiSettings(_Section):
    """Limits on public API clients (a client is one IP address); docs/api.md lists the errors."""

    SECTION: ClassVar[str] = "api"
    max_streams_per_client: int = _setting(
        64, "Most SubscribeBlocks/SubscribeEvents streams one client may hold open.", _positive
    )
    max_subscribers: int = _setting(
        256, "Most streams open at once over all clients (each costs a write per block on the "
        "event loop consensus runs on).", _positive,
    )  # fmt: skip
    max_submissions_per_client: int = _setting(
        8, "Most SubmitTx/SubmitTxs calls of one client being handled at once.", _positive
    )
    requests_per_second: int = _setting(
        1000, "Calls one client may make per second on average (token bucket).", _positive
    )
    request_burst: int = _setting(
        2000, "Calls one client may make at once above that rate (bucket size).", _positive
    )
    txs_per_second: int = _setting(
        2000, "Transactions one client may submit per second on average (each costs a "
        "signature check, valid or not).", _positive,
    )  # fmt: skip
    tx_burst: int = _setting(
        10_000, "Transactions one client may submit at once above that rate; a SubmitTxs batch "
        "larger than this is always refused.", _positive,
    )  # fmt: skip
    request_bytes_per_second: int = _setting(
        4 * _MIB, "Request bytes one client may send per second on average, checked before a "
        "request is decoded (its burst is max_request_bytes).", _positive,
    )  # fmt: skip
    max_request_bytes: int = _setting(
        8 * _MIB, "Largest public API request, in bytes (SubmitTxs batches count whole).",
        _positive,
    )  # fmt: skip
    max_message_bytes: int = _setting(
        64 * _MIB,
        "Largest gRPC message the port takes or sends, peers included (blocks must fit).",
        _at_least_one_mib,
    )
    admission_queue_txs: int = _setting(
        20_000, "Most submitted transactions waiting for their checks at once, all clients.",
        _positive,
    )  # fmt: skip
    stream_queue_blocks: int = _setting(
        64, "Blocks a subscriber may fall behind before its stream is ended.", _positive
    )


_NODE_SECTION = ("node", "This node: its name, gRPC address and files (relative to the home).")
# ``[node] frame_listen = "auto"``: the gRPC port + FRAME_PORT_OFFSET, a rule an operator can
# write a firewall line for without reading the config; 1000 keeps clear of the gRPC ports of
# several nodes on one host (a devnet's run upwards from its base port).
FRAME_LISTEN_AUTO = "auto"
FRAME_PORT_OFFSET = 1000
_PEERS_SECTION = ("peers", "Other nodes: whom to dial and whom to serve block sync.")
# Sections that may be absent: [tls] turns TLS on, [debug] is for tests.
_OPTIONAL = ("tls", "debug")


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Everything a node reads at start; see docs/operations.md for each setting."""

    SECTION: ClassVar[str] = "node"
    home: Path
    name: str = _setting("node0", "Name in logs, status and this node's certificate.",
                         check_node_name)  # fmt: skip
    listen: str = _setting(
        "127.0.0.1:26600", "gRPC HOST:PORT to bind (0.0.0.0:PORT on a server).", _listen
    )
    frame_listen: str = _setting(
        FRAME_LISTEN_AUTO,
        "TCP HOST:PORT for consensus and gossip frames from the other validators; auto: the "
        f"listen host and port + {FRAME_PORT_OFFSET} (skipped with a warning when taken); empty: "
        "none (peers send by the gRPC port).",
        _frame_listen,
    )
    peers: tuple[str, ...] = _setting(
        (), "Extra peers' HOST:PORT, dialled besides the validators the chain names.",
        _peer_addresses, key="addresses",
    )  # fmt: skip
    data_dir: str = _setting("data", "Block store and signing state directory.", _non_empty)
    genesis_file: str = _setting("genesis.json", "The network's genesis document.", _non_empty)
    key_file: str = _setting(
        "validator_key.json", "This validator's private key (mode 0600).", _non_empty
    )
    log_level: str = _setting("INFO", f"One of {', '.join(LOG_LEVELS)}.", _log_level)
    log_format: str = _setting(
        "text", "text, or json (one JSON object per line, for log collectors).", _log_format
    )
    consensus: ConsensusSettings = field(default_factory=ConsensusSettings)
    mempool: MempoolSettings = field(default_factory=MempoolSettings)
    # None: plaintext gRPC (the default, and what a devnet uses unless made with --tls).
    tls: TlsSettings | None = None
    observers: tuple[str, ...] = _setting(
        (), "Non-validators served block sync: hex public keys or ct1 addresses.",
        _observers, key="observers",
    )  # fmt: skip
    time: TimeSettings = field(default_factory=TimeSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    debug: DebugSettings = field(default_factory=DebugSettings)

    def __post_init__(self) -> None:
        _check_fields(self)

    @property
    def frame_endpoint(self) -> str | None:
        """The HOST:PORT of the frame link (``frame_listen`` with auto resolved), or None."""
        if self.frame_listen != FRAME_LISTEN_AUTO:
            return self.frame_listen or None
        host, _, port = self.listen.rpartition(":")
        if int(port) == 0:
            return f"{host}:0"  # the system picks both ports (tests)
        if int(port) + FRAME_PORT_OFFSET > 65535:
            return None
        return f"{host}:{int(port) + FRAME_PORT_OFFSET}"

    @property
    def data_path(self) -> Path:
        """Directory holding the block store and the signing state."""
        return self.home / self.data_dir

    @property
    def genesis_path(self) -> Path:
        """The genesis document."""
        return self.home / self.genesis_file

    @property
    def key_path(self) -> Path:
        """The validator's private key file."""
        return self.home / self.key_file

    def tls_path(self, setting: str) -> Path:
        """The file of a ``[tls]`` setting (``cert_file``, ``key_file`` or ``ca_file``)."""
        if self.tls is None:
            raise ConfigError(f"{self.home / CONFIG_FILE} has no [tls] section")
        return self.home / getattr(self.tls, setting)

    @classmethod
    def load(cls, home: str | Path) -> NodeConfig:
        """Read ``<home>/config.toml``; raise ConfigError naming the file, section and key."""
        home = Path(home)
        path = home / CONFIG_FILE
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(
                f"no {CONFIG_FILE} in {home}: run `carbon-ticket node init --home {home}`"
            ) from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        except RecursionError:  # tomllib recurses per nested array or table
            raise ConfigError(f"cannot read {path}: values are nested too deeply") from None
        except ValueError as exc:  # a number of more than 4,300 digits
            raise ConfigError(f"cannot read {path}: {exc}") from None
        try:
            return _from_sections(home, data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc.message}") from None

    def save(self) -> None:
        """Write ``<home>/config.toml``, every setting under a comment; an existing file is
        edited in place, so the operator's own comments and unchanged values stay as written."""
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / CONFIG_FILE
        document = _existing_document(path)
        _merge(document, _sections_of(self, document))
        path.write_text(tomlkit.dumps(document))


# ---------------------------------------------------------------- the schema, from the fields


@dataclass(frozen=True, slots=True)
class _SectionSchema:
    doc: str
    settings: type[Any] | None  # the dataclass of the section; None for NodeConfig's own
    keys: dict[str, Field[Any]]  # key in the file -> the field declaring it, in file order


@functools.cache
def _schema() -> dict[str, _SectionSchema]:
    """Every section and key the file may hold, in the order they are written."""
    own = [f for f in fields(NodeConfig) if "doc" in f.metadata]
    schema = {
        name: _SectionSchema(doc, None, {_key(f): f for f in own if _section(f, "node") == name})
        for name, doc in (_NODE_SECTION, _PEERS_SECTION)
    }
    hints = _hints(NodeConfig)
    for f in fields(NodeConfig):
        hint = hints[f.name]
        cls = next((a for a in (*getattr(hint, "__args__", ()), hint) if is_dataclass(a)), None)
        if isinstance(cls, type) and f.name != "home":
            doc = (cls.__doc__ or "").split("\n")[0]
            schema[f.name] = _SectionSchema(doc, cls, {g.name: g for g in fields(cls)})
    return schema


def _hints(cls: type[Any]) -> dict[str, Any]:
    # Resolved once per class (~0.3 ms each time otherwise, and every section of every config
    # made or replaced is checked); the classes are fixed, so the answer never changes.
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _key(f: Field[Any]) -> str:
    return str(f.metadata.get("key") or f.name)


def _section(f: Field[Any], default: str) -> str:
    return str(f.metadata.get("section") or default)


def _check_fields(instance: Any) -> None:
    # Type first (a TOML string where an integer belongs), then the setting's own range check.
    hints = _hints(type(instance))
    for f in fields(instance):
        if "doc" not in f.metadata:
            continue
        value = getattr(instance, f.name)
        problem = _type_problem(value, hints[f.name])
        check = f.metadata["check"]
        if problem is None and check is not None:
            problem = check(value)
        if problem is not None:
            raise ConfigError(f"{_section(f, instance.SECTION)}.{_key(f)} {problem}")


def _type_problem(value: object, hint: Any) -> str | None:
    if hint is bool:
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be an integer, got {value!r}"
    if hint is str:
        return None if isinstance(value, str) else f"must be a string, got {value!r}"
    # tuple[str, ...]: the only other kind of setting.
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return None
    return f"must be a list of strings, got {value!r}"


# ---------------------------------------------------------------- reading


def _from_sections(home: Path, data: dict[str, Any]) -> NodeConfig:
    schema = _schema()
    own: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for name, values in data.items():
        if name not in schema:
            raise ConfigError(f"unknown section [{name}]{_did_you_mean(name, tuple(schema))}; "
                              f"known sections: {', '.join(schema)}")  # fmt: skip
        if not isinstance(values, dict):
            raise ConfigError(f"{name} must be a [{name}] section, got {values!r}")
        keys = schema[name].keys
        unknown = sorted(set(values) - set(keys))
        if unknown:  # a misspelt key must not silently leave a setting at its default
            hint = _did_you_mean(unknown[0], tuple(keys))
            raise ConfigError(f"[{name}] has unknown settings: {', '.join(unknown)}{hint}")
        settings = {keys[key].name: _from_toml(value) for key, value in values.items()}
        cls = schema[name].settings
        if cls is None:
            own.update(settings)
        else:
            nested[name] = cls(**settings)
    return NodeConfig(home=home, **own, **nested)


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _from_toml(value: Any) -> Any:
    # TOML arrays become tuples (the settings are immutable); the type check judges the rest.
    return tuple(value) if isinstance(value, list) else value


# ---------------------------------------------------------------- writing


def _sections_of(config: NodeConfig, document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    # Section -> {key: value} in file order. [tls] is there when TLS is on; [debug] when a knob
    # is set or the file already has it (an operator's [debug] stays, edited).
    sections: dict[str, dict[str, Any]] = {}
    for name, section in _schema().items():
        holder = config if section.settings is None else getattr(config, name)
        if holder is None:
            continue
        if name == "debug" and name not in document and holder == DebugSettings():
            continue
        sections[name] = {k: _toml_value(getattr(holder, f.name)) for k, f in section.keys.items()}
    return sections


def _toml_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _existing_document(path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text())
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.TOMLKitError):
        pass  # missing or unreadable: written afresh, as `node init` always did
    document = tomlkit.document()
    document.add(tomlkit.comment(_HEADER))
    return document


def _merge(document: tomlkit.TOMLDocument, sections: dict[str, dict[str, Any]]) -> None:
    # Change only what differs; add what is missing with its comment; drop an optional section
    # that is no longer set (tls off).
    for name in _OPTIONAL:
        if name not in sections and name in document:
            del document[name]
    for name, values in sections.items():
        table = document.get(name)
        if not isinstance(table, Table):
            if table is not None:
                del document[name]
            document.add(name, _new_table(name, values))
            continue
        for key, value in values.items():
            if key not in table:
                _add_commented(table, name, key, value)
            elif table[key] != value:
                table[key] = value


def _new_table(name: str, values: dict[str, Any]) -> Table:
    table = tomlkit.table()
    for line in _wrap(_schema()[name].doc):
        table.add(tomlkit.comment(line))
    table.add(tomlkit.nl())
    for key, value in values.items():
        _add_commented(table, name, key, value)
    return table


def _add_commented(table: Table, section: str, key: str, value: Any) -> None:
    f = _schema()[section].keys[key]
    default = tomlkit.item(_toml_value(f.default)).as_string()
    for line in _wrap(f"{f.metadata['doc']} Default: {default}."):
        table.add(tomlkit.comment(line))
    table.add(key, value)


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH - 2)
