"""Node configuration: a small TOML file in the node's home directory.

Paths in the file are relative to the home directory. Everything has a default that works for a
local devnet; operators change listen addresses, peers and timeouts for a real network.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from chain.errors import LedgerError
from node.peer_auth import ObserverList

__all__ = [
    "ConfigError",
    "ConsensusSettings",
    "DebugSettings",
    "MempoolSettings",
    "NodeConfig",
    "TimeSettings",
    "TlsSettings",
]

CONFIG_FILE = "config.toml"


class ConfigError(LedgerError):
    """A configuration file that is missing, unreadable or has wrong values."""

    default_code = "bad_config"


@dataclass(frozen=True, slots=True)
class ConsensusSettings:
    """Consensus timeouts (milliseconds) and block production pacing."""

    propose_timeout_ms: int = 1000
    prevote_timeout_ms: int = 500
    precommit_timeout_ms: int = 500
    timeout_delta_ms: int = 500
    # Minimum pause after a commit before the next height starts: lets transactions gather.
    commit_wait_ms: int = 50
    # With an empty mempool, a block is still made after this long (keeps time moving).
    empty_block_interval_ms: int = 5000
    max_block_txs: int = 4000

    def __post_init__(self) -> None:
        _require_positive(self)


@dataclass(frozen=True, slots=True)
class MempoolSettings:
    """Bounds of the pending-transaction pool."""

    max_txs: int = 50_000
    max_bytes: int = 64 * 1024 * 1024
    # How far ahead of an account's next nonce a pending transaction may be.
    max_nonce_gap: int = 1_000
    # A transaction still pending more than this many heights after admission is dropped.
    tx_ttl_blocks: int = 600

    def __post_init__(self) -> None:
        _require_positive(self)


@dataclass(frozen=True, slots=True)
class TimeSettings:
    """How far a fresh proposal's block time may be from this validator's clock on receipt.

    A fresh proposal is timely when ``time - precision_ms <= receipt <= time + precision_ms +
    message_delay_ms`` (proposer-based timestamps): ``precision_ms`` bounds the clock difference
    between two synchronised validators, ``message_delay_ms`` how long a proposal may travel.
    An untimely fresh proposal is prevoted nil. Every validator should use the same values.
    """

    precision_ms: int = 500
    message_delay_ms: int = 1500

    def __post_init__(self) -> None:
        _require_positive(self)


@dataclass(frozen=True, slots=True)
class DebugSettings:
    """Test-only knobs; a node logs a WARNING at start for every one that is set."""

    # Added to this node's wall clock (tests skew one node's clock with it).
    clock_offset_ms: int = 0

    def __post_init__(self) -> None:
        value = self.clock_offset_ms
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"debug.clock_offset_ms must be an integer, got {value!r}")


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """TLS on the node's gRPC port and on its links to peers (paths relative to the home).

    ``cert_file``/``key_file`` are this node's certificate chain and private key (PEM): served to
    every client, and presented to peers as a client certificate. ``ca_file`` holds the CA
    certificate(s) that peers' certificates must chain to. With ``require_client_cert`` the port
    only accepts clients (peers, wallets) presenting a certificate from that CA (mutual TLS).
    """

    cert_file: str = "tls/node.crt"
    key_file: str = "tls/node.key"
    ca_file: str = "tls/ca.crt"
    require_client_cert: bool = False

    def __post_init__(self) -> None:
        for name in ("cert_file", "key_file", "ca_file"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"tls.{name} must be a non-empty file path, got {value!r}")
        if not isinstance(self.require_client_cert, bool):
            raise ConfigError(
                f"tls.require_client_cert must be true or false, got {self.require_client_cert!r}"
            )


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Everything a node reads at start; see docs/operations.md for each setting."""

    home: Path
    name: str = "node0"
    listen: str = "127.0.0.1:26600"
    peers: tuple[str, ...] = ()
    data_dir: str = "data"
    genesis_file: str = "genesis.json"
    key_file: str = "validator_key.json"
    log_level: str = "INFO"
    consensus: ConsensusSettings = field(default_factory=ConsensusSettings)
    mempool: MempoolSettings = field(default_factory=MempoolSettings)
    # None: plaintext gRPC (the default, and what a devnet uses unless made with --tls).
    tls: TlsSettings | None = None
    # Nodes outside the validator set served block sync (public keys in hex, or ct1 addresses).
    observers: tuple[str, ...] = ()
    time: TimeSettings = field(default_factory=TimeSettings)
    debug: DebugSettings = field(default_factory=DebugSettings)

    def __post_init__(self) -> None:
        try:
            ObserverList.parse(self.observers)
        except LedgerError as exc:
            raise ConfigError(f"peers.observers: {exc.message}") from None

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
        """Read ``<home>/config.toml``; raise ConfigError naming the file and the problem."""
        home = Path(home)
        path = home / CONFIG_FILE
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(
                f"no {CONFIG_FILE} in {home}: run `carbon-ticket node init --home {home}`"
            ) from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        try:
            node = dict(data.get("node", {}))
            tls = data.get("tls")
            if tls is not None and not isinstance(tls, dict):
                raise ConfigError("tls must be a [tls] section")
            peers = dict(data.get("peers", {}))
            return cls(
                home=home,
                peers=tuple(peers.pop("addresses", ())),
                observers=tuple(peers.pop("observers", ())),
                **_no_leftovers("peers", peers),
                time=TimeSettings(**data.get("time", {})),
                debug=DebugSettings(**data.get("debug", {})),
                consensus=ConsensusSettings(**data.get("consensus", {})),
                mempool=MempoolSettings(**data.get("mempool", {})),
                tls=None if tls is None else TlsSettings(**tls),
                **node,
            )
        except TypeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc.message}") from exc

    def save(self) -> None:
        """Write this configuration as ``<home>/config.toml``."""
        self.home.mkdir(parents=True, exist_ok=True)
        top = {f.name: getattr(self, f.name) for f in fields(self)}
        nested = ("home", "peers", "observers", "consensus", "mempool", "tls", "time", "debug")
        node = {k: v for k, v in top.items() if k not in nested}
        sections: dict[str, dict[str, Any]] = {
            "node": node,
            "peers": {"addresses": list(self.peers), "observers": list(self.observers)},
            "consensus": asdict(self.consensus),
            "mempool": asdict(self.mempool),
            "time": asdict(self.time),
        }
        if self.tls is not None:
            sections["tls"] = asdict(self.tls)
        if self.debug != DebugSettings():
            sections["debug"] = asdict(self.debug)
        (self.home / CONFIG_FILE).write_text(_to_toml(sections))


def _no_leftovers(section: str, values: dict[str, Any]) -> dict[str, Any]:
    # A misspelt key must not silently leave a setting at its default.
    if values:
        raise ConfigError(f"[{section}] has unknown settings: {', '.join(sorted(values))}")
    return {}


def _require_positive(settings: object) -> None:
    for f in fields(settings):  # type: ignore[arg-type]
        value = getattr(settings, f.name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{f.name} must be a positive integer, got {value!r}")


def _to_toml(sections: dict[str, dict[str, Any]]) -> str:
    # The file only holds strings, integers, booleans and lists of strings: a writer this small
    # beats a dependency.
    lines = ["# Carbon Ticket Ledger node configuration (see docs/operations.md)"]
    for name, values in sections.items():
        lines += ["", f"[{name}]"]
        for key, value in values.items():
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
