"""Observer nodes in a local devnet (``devnet init|up --observers N``).

An observer's home is ``nodeI`` after the validators' (``node4`` beside four validators), with
its own key (its read-only credential, never in the validator set), the devnet's genesis and the
validators as peers; every validator lists the observers' keys in ``[peers] observers`` so that
it serves them block sync. ``devnet.json`` records them under ``observers``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.tools.devnet import DEVNET_FILE, DevnetInfo, free_base_port
from carbon_ticket.node.config import ConfigError, NodeConfig
from carbon_ticket.node.keyfile import write_validator_key

__all__ = [
    "MAX_OBSERVERS",
    "add_observers",
    "observer_endpoints",
    "observer_home",
    "observer_indexes",
]

MAX_OBSERVERS = 16


def observer_endpoints(info: DevnetInfo) -> tuple[str, ...]:
    """The devnet's observers' gRPC endpoints, in home order (none when it has none)."""
    doc = json.loads((info.home / DEVNET_FILE).read_text())
    return tuple(doc.get("observers", ()))


def observer_indexes(info: DevnetInfo) -> range:
    """Home indexes of the observers (``info.node_home(i)``), after the validators'."""
    first = len(info.endpoints)
    return range(first, first + len(observer_endpoints(info)))


def add_observers(info: DevnetInfo, count: int, base_port: int | None = None) -> tuple[str, ...]:
    """Create ``count`` observer homes (once per devnet); their endpoints."""
    if not 0 <= count <= MAX_OBSERVERS:
        raise ConfigError(f"a devnet has between 0 and {MAX_OBSERVERS} observers")
    if observer_endpoints(info):
        raise ConfigError(f"{info.home} has observers already")
    if count == 0:
        return ()
    base = base_port if base_port is not None else free_base_port(2 * count)
    validator = NodeConfig.load(info.node_home(0))
    genesis = (info.home / "genesis.json").read_text()
    endpoints: list[str] = []
    keys: list[str] = []
    for j in range(count):
        index = len(info.endpoints) + j
        endpoint = f"127.0.0.1:{base + j}"
        # Its own metrics port too: a copy of node0's would clash with node0's endpoint. No
        # frame port: validators send observers no consensus or gossip.
        metrics = dataclasses.replace(validator.metrics, listen=f"127.0.0.1:{base + count + j}")
        config = dataclasses.replace(
            validator, home=info.node_home(index), name=f"observer{j}", listen=endpoint,
            peers=info.endpoints, observers=(), metrics=metrics, frame_listen="",
        )  # fmt: skip
        _write_home(config, genesis, keys)
        endpoints.append(endpoint)
    for i in range(len(info.endpoints)):
        config = NodeConfig.load(info.node_home(i))
        dataclasses.replace(config, observers=(*config.observers, *keys)).save()
    doc = json.loads((info.home / DEVNET_FILE).read_text())
    doc["observers"] = endpoints
    (info.home / DEVNET_FILE).write_text(json.dumps(doc, indent=2) + "\n")
    return tuple(endpoints)


def _write_home(config: NodeConfig, genesis: str, keys: list[str]) -> None:
    config.home.mkdir(parents=True, exist_ok=True)
    if config.tls is not None:
        # The devnet CA signed a certificate per node; an observer gets its own from the same CA.
        from carbon_ticket.node.tls import CertificateAuthority, write_node_tls

        ca = CertificateAuthority.load(config.home.parent / "tls")
        config = write_node_tls(config, ca, settings=config.tls)
    config.save()
    (config.home / "genesis.json").write_text(genesis)
    key = PrivateKey.generate()
    write_validator_key(config.key_path, key, config.name)
    keys.append(key.public_key.hex())


def observer_home(info: DevnetInfo, index: int) -> Path:
    """Home of observer ``index`` (0-based among the observers)."""
    return info.node_home(len(info.endpoints) + index)
