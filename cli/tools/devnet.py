"""A local network of validators on 127.0.0.1, for development, demos, tests and benchmarks.

``init_devnet`` writes a ready network into one directory: the genesis, one home per validator
(node i listens on base_port + i) and a wallet keystore holding the demo roles
(``WALLET_ROLES``: issuer, verifier, registrar, points-operator, merchant, resident, platform,
bridge) and one operator key per validator (``operator0``, ...: the account that votes and
co-signs governance for node i, separate from the node's consensus key). ``DevnetProcesses``
runs every node as its own process.
"""

from __future__ import annotations

import json
import os
import signal
import site
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from carbon_ticket.chain import Genesis, GenesisAccount, GenesisValidator
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.records import MarketParams, Params, RateLimits
from carbon_ticket.cli.keystore import DEFAULT_KDF, KdfCost, Keystore
from carbon_ticket.cli.tools.ports import free_base_port
from carbon_ticket.node.config import ConfigError, MetricsSettings, NodeConfig, TlsSettings
from carbon_ticket.node.keyfile import write_validator_key

if TYPE_CHECKING:
    from carbon_ticket.node.tls import ClientTls

__all__ = [
    "DEFAULT_BASE_PORT",
    "DEFAULT_PASSWORD",
    "DevnetInfo",
    "DevnetProcesses",
    "cli_command",
    "cli_env",
    "free_base_port",
    "init_devnet",
    "load_devnet",
]

DEFAULT_BASE_PORT = 26600
DEFAULT_CHAIN_ID = "carbon-devnet"
# The devnet wallet is for local use only; its password is public by design.
DEFAULT_PASSWORD = "devnet"
DEVNET_FILE = "devnet.json"
# The directory that holds the ``carbon_ticket`` package this process runs
# (carbon_ticket/cli/tools/devnet.py -> that directory). Not resolved: an editable install links
# the files, and the link's directory, not the checkout, is where carbon_ticket is found.
_PROJECT_ROOT = Path(os.path.abspath(__file__)).parents[3]
# Wallet key -> (account kind, roles). The residents' flow (issue 15) adds the city app's
# backend (a points operator), a merchant and one resident, so its commands run out of the box.
WALLET_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "issuer": ("bureau", ("issuer",)),
    "verifier": ("company", ("verifier",)),
    "registrar": ("bureau", ("registrar",)),
    "points-operator": ("bureau", ("points_operator",)),
    "merchant": ("merchant", ("merchant",)),
    "resident": ("resident", ()),
    # The market (issue 17): the trading platform confirms payments of trades.
    "platform": ("company", ("settlement",)),
    # Issue 17: the bridge that imports batches from other registries.
    "bridge": ("company", ("bridge",)),
}
# A devnet resident may earn this many points a day (small, so the residents' demo reaches it).
DEVNET_POINTS_DAILY_CAP = 500
# Blocks a devnet trade waits for its payment (small, so the market demo shows a timeout).
DEVNET_TRADE_TIMEOUT_BLOCKS = 12


@dataclass(frozen=True, slots=True)
class DevnetInfo:
    """What ``devnet.json`` records about a devnet directory."""

    home: Path
    chain_id: str
    endpoints: tuple[str, ...]
    wallet_dir: Path
    wallet_password: str
    # With ``devnet init --tls``: the devnet CA certificate, and a client certificate and key
    # signed by it (for nodes that require client certificates).
    tls_ca: Path | None = None
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None
    # HOST:PORT of each node's Prometheus endpoint (http://.../metrics); empty for devnets
    # made before metrics existed.
    metrics: tuple[str, ...] = ()

    def client_tls(self) -> ClientTls | None:
        """What a client needs to reach this devnet's nodes (None: plaintext)."""
        from carbon_ticket.node.tls import ClientTls

        if self.tls_ca is None:
            return None
        return ClientTls(self.tls_ca, self.tls_client_cert, self.tls_client_key)

    def node_home(self, index: int) -> Path:
        """Home directory of validator ``index``."""
        return self.home / f"node{index}"


def _free_ports_beside(count: int, taken: range) -> int:
    """A base of ``count`` free consecutive ports, none of them in ``taken`` (ports that are
    free now but promised to the devnet's gRPC listeners)."""
    while True:
        base = free_base_port(count)
        if base + count <= taken.start or base >= taken.stop:
            return base


def init_devnet(
    home: str | Path,
    validators: int = 4,
    base_port: int = DEFAULT_BASE_PORT,
    chain_id: str = DEFAULT_CHAIN_ID,
    password: str = DEFAULT_PASSWORD,
    genesis_time_ms: int | None = None,
    tls: bool = False,
    require_client_cert: bool = False,
    wallet_kdf: KdfCost = DEFAULT_KDF,
) -> DevnetInfo:
    """Write a ready-to-run devnet into ``home`` (which must not hold one already).

    The wallet's keys cost what every user's key costs to unlock (``devnet init`` and ``up``:
    the README's session shows the wallet as users meet it); tests and the measurement tools,
    which make a devnet per run and throw it away, pass ``wallet_kdf=THROWAWAY_KDF``.

    With ``tls`` a private CA in ``home/tls`` signs a certificate for each node (127.0.0.1 and
    localhost) and one for clients, and every node config gets a ``[tls]`` section (mutual TLS
    with ``require_client_cert``).
    """
    home = Path(home)
    if (home / DEVNET_FILE).exists():
        raise ConfigError(f"{home} already holds a devnet; remove it or pick another --home")
    if not 1 <= validators <= 64:
        raise ConfigError("a devnet has between 1 and 64 validators")
    home.mkdir(parents=True, exist_ok=True)
    keys = [PrivateKey.generate() for _ in range(validators)]
    endpoints = tuple(f"127.0.0.1:{base_port + i}" for i in range(validators))
    # Metrics are on in a devnet, each node on a free loopback port (cli.tools.ports). Each
    # node's frame port is whatever port 0 gets it when it starts, told to its peers in its
    # status: no port chosen ahead that another devnet on the host could take meanwhile (the
    # gRPC port + 1000, "auto", could be another devnet's).
    side = _free_ports_beside(validators, range(base_port, base_port + validators))
    metrics = tuple(f"127.0.0.1:{side + i}" for i in range(validators))
    wallet = Keystore(home / "wallet", wallet_kdf.opslimit, wallet_kdf.memlimit)
    accounts = []
    for name, (kind, roles) in WALLET_ROLES.items():
        info = wallet.add(name, PrivateKey.generate(), password)
        accounts.append(GenesisAccount(info.address, kind, f"devnet {name}", roles))
    # Operators vote from the wallet; the consensus keys stay in the node homes.
    operators = [
        wallet.add(f"operator{i}", PrivateKey.generate(), password) for i in range(validators)
    ]
    genesis = Genesis(
        chain_id=chain_id,
        genesis_time_ms=genesis_time_ms if genesis_time_ms is not None else time.time_ns() // 10**6,
        validators=tuple(
            GenesisValidator(f"node{i}", k.public_key, endpoints[i], operator=operators[i].address)
            for i, k in enumerate(keys)
        ),
        accounts=tuple(accounts),
        params=Params(
            rate_limits=RateLimits(points_daily_cap=DEVNET_POINTS_DAILY_CAP),
            market=MarketParams(trade_timeout_blocks=DEVNET_TRADE_TIMEOUT_BLOCKS),
        ),
    )
    genesis_json = genesis.to_json()
    (home / "genesis.json").write_text(genesis_json)
    ca = None
    doc: dict[str, object] = {
        "chain_id": chain_id,
        "endpoints": list(endpoints),
        "metrics": list(metrics),
        "wallet_dir": "wallet",
        "wallet_password": password,
    }
    if tls:
        from carbon_ticket.node.tls import CertificateAuthority, issue_certificate, write_private

        ca = CertificateAuthority.create(f"{chain_id} devnet CA")
        ca.save(home / "tls")
        cert, client_key = issue_certificate(ca, "devnet client", (), server=False)
        (home / "tls" / "client.crt").write_bytes(cert)
        write_private(home / "tls" / "client.key", client_key)
        doc.update(tls_ca="tls/ca.crt", tls_client_cert="tls/client.crt",
                   tls_client_key="tls/client.key")  # fmt: skip
    for i, key in enumerate(keys):
        node_home = home / f"node{i}"
        config = NodeConfig(
            home=node_home,
            name=f"node{i}",
            listen=endpoints[i],
            frame_listen="127.0.0.1:0",
            metrics=MetricsSettings(enabled=True, listen=metrics[i]),
        )
        if ca is not None:
            from carbon_ticket.node.tls import write_node_tls

            config = write_node_tls(
                config, ca, settings=TlsSettings(require_client_cert=require_client_cert)
            )
        config.save()
        (node_home / config.genesis_file).write_text(genesis_json)
        write_validator_key(config.key_path, key, config.name)
    (home / DEVNET_FILE).write_text(json.dumps(doc, indent=2) + "\n")
    return load_devnet(home)


def load_devnet(home: str | Path) -> DevnetInfo:
    """Read ``devnet.json`` of a devnet directory; ConfigError when there is none."""
    home = Path(home)
    try:
        doc = json.loads((home / DEVNET_FILE).read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"no devnet in {home}: run `carbon-ticket devnet init --home {home}`"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {home / DEVNET_FILE}: {exc}") from exc
    return DevnetInfo(
        home=home,
        chain_id=doc["chain_id"],
        endpoints=tuple(doc["endpoints"]),
        wallet_dir=home / doc["wallet_dir"],
        wallet_password=doc["wallet_password"],
        tls_ca=home / doc["tls_ca"] if doc.get("tls_ca") else None,
        tls_client_cert=home / doc["tls_client_cert"] if doc.get("tls_client_cert") else None,
        tls_client_key=home / doc["tls_client_key"] if doc.get("tls_client_key") else None,
        metrics=tuple(doc.get("metrics", ())),
    )


def cli_command(*args: str) -> list[str]:
    """The command line that runs ``carbon-ticket *args`` in a child process.

    ``-P`` (Python 3.11) keeps the current directory off ``sys.path``: a ``cli/`` or ``node/``
    directory wherever the operator happens to stand must never replace the validator's code.
    """
    return [sys.executable, "-P", "-m", "carbon_ticket.cli", *args]


def cli_env() -> dict[str, str]:
    """The environment for ``cli_command``: this process's, with this project found first.

    Without the current directory on the path, a child of an uninstalled checkout would not find
    the project at all, so the directory that holds the running ``cli`` package goes first on
    PYTHONPATH: the child runs exactly the code its parent runs. An installed project is left
    alone: putting site-packages before the standard library would let it shadow the stdlib.
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if _PROJECT_ROOT in _site_directories():
        return env
    inherited = env.get("PYTHONPATH")
    project = str(_PROJECT_ROOT)
    env["PYTHONPATH"] = project if not inherited else os.pathsep.join((project, inherited))
    return env


def _site_directories() -> set[Path]:
    found = [*site.getsitepackages(), site.getusersitepackages()]
    return {Path(directory).resolve() for directory in found}


class DevnetProcesses:
    """Runs each validator of a devnet as a child process (``carbon-ticket node start``)."""

    def __init__(self, info: DevnetInfo, log_to_files: bool = True) -> None:
        self.info = info
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self._log_to_files = log_to_files

    def start(self, index: int) -> subprocess.Popen[bytes]:
        """Start (or restart) validator ``index``."""
        node_home = self.info.node_home(index)
        cmd = cli_command("node", "start", "--home", str(node_home))
        out = open(node_home / "node.log", "ab") if self._log_to_files else None  # noqa: SIM115
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=cli_env())
        if out is not None:
            out.close()
        self.procs[index] = proc
        return proc

    def start_all(self) -> None:
        """Start every validator."""
        for i in range(len(self.info.endpoints)):
            self.start(i)

    def signal(self, index: int, sig: int) -> None:
        """Send ``sig`` to validator ``index`` (e.g. SIGKILL, SIGSTOP, SIGCONT)."""
        self.procs[index].send_signal(sig)

    def stop(self, index: int, timeout: float = 10.0) -> int | None:
        """Stop validator ``index`` gracefully (SIGTERM), killing it after ``timeout``."""
        proc = self.procs.get(index)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc is not None else None
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def kill(self, index: int) -> None:
        """SIGKILL validator ``index`` and reap it."""
        proc = self.procs[index]
        proc.kill()
        proc.wait()

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every validator gracefully, killing any still running after ``timeout``.

        All are asked to stop before any is waited for: a node's shutdown gives the calls its
        peers keep open a grace second, so one by one four nodes took about 5 s, together 1.5 s.
        """
        running = [proc for proc in self.procs.values() if proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGCONT)  # a paused node could not act on SIGTERM
            proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
