"""Ports for local devnets of tests and benchmarks, chosen so that parallel runs do not collide.

A devnet's genesis names its validators' gRPC ports, and each node's metrics port is written in
its config, so these ports are chosen before anything binds them: a port found free is released
again until the node binds it, seconds later. Two things could take it meanwhile:

- an outgoing connection of any program: its local port comes from the kernel's ephemeral range,
  so ports are chosen outside that range (``/proc/sys/net/ipv4/ip_local_port_range`` on Linux);
- another devnet being made at the same time (the tests of another session on a shared host, a
  benchmark): every chosen range is *claimed* in a registry under the temporary directory,
  shared by all processes of this user that choose ports here, and skipped by them while the
  claim lasts (``CLAIM_S``, long past the moment the nodes bind; a devnet started later holds
  its ports by then, and a bind test sees them taken).

Frame ports need none of this: a devnet's nodes bind port 0 for them and tell their peers the
port they got (``PeerStatus.frame_port``).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import socket
import tempfile
import time
from pathlib import Path

__all__ = ["CLAIM_S", "claim_ports", "ephemeral_ports", "free_base_port"]

# How long a claim keeps other processes off its ports: from choosing them to the nodes binding
# them (writing the devnet, starting the processes) takes seconds; a busy host, tens.
CLAIM_S = 300.0
_LOW, _HIGH = 20_000, 61_000  # where ports are chosen (minus the ephemeral range)
_LINUX_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_DEFAULT_EPHEMERAL = range(32_768, 61_000)  # Linux's default; macOS's (49152-65535) is above
_ATTEMPTS = 500


def ephemeral_ports() -> range:
    """The kernel's range for the local ports of outgoing connections."""
    try:
        first, last = (int(part) for part in _LINUX_EPHEMERAL.read_text().split())
    except (OSError, ValueError):
        return _DEFAULT_EPHEMERAL
    return range(first, last + 1)


def _registry_dir() -> Path:
    # Per user: another user's claims are not ours to read or write.
    return Path(tempfile.gettempdir()) / f"carbon-ticket-ports-{os.getuid()}"


def claim_ports(ports: range, registry: Path | None = None, now: float | None = None) -> bool:
    """Claim ``ports`` for ``CLAIM_S`` seconds; False when a live claim holds one of them.

    Claims live in one JSON file, read and written under an exclusive lock, so two processes
    never both claim a port; expired claims are dropped on the way.
    """
    directory = registry if registry is not None else _registry_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    at = time.time() if now is None else now
    path = directory / "claims.json"
    with open(directory / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        claims = {port: until for port, until in _read_claims(path).items() if until > at}
        if any(port in claims for port in ports):
            return False
        claims.update(dict.fromkeys(ports, at + CLAIM_S))
        fresh = path.with_suffix(f".{os.getpid()}.tmp")
        fresh.write_text(json.dumps({str(port): until for port, until in claims.items()}))
        os.replace(fresh, path)  # a reader without the lock sees the old file or the new one
    return True


def _read_claims(path: Path) -> dict[int, float]:
    try:
        doc = json.loads(path.read_text())
        return {int(port): float(until) for port, until in doc.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}  # none yet, or damaged: claims are a courtesy, the bind test still runs


def _bindable(ports: range) -> bool:
    socks: list[socket.socket] = []
    try:
        for port in ports:
            sock = socket.socket()
            socks.append(sock)
            sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    finally:
        for sock in socks:
            sock.close()
    return True


def free_base_port(
    count: int,
    low: int = _LOW,
    high: int = _HIGH,
    rng: random.Random | None = None,
    registry: Path | None = None,
) -> int:
    """A base port with ``count`` consecutive ports on 127.0.0.1 that are free now, outside the
    ephemeral range and claimed for this process (for tests and benchmarks)."""
    rng = rng if rng is not None else random.Random()
    avoid = ephemeral_ports()
    if max(avoid.start - low, 0) + max(high - avoid.stop, 0) < 10 * count:
        avoid = range(0)  # (nearly) all of it is ephemeral here: the claims must do
    for _ in range(_ATTEMPTS):
        base = rng.randrange(low, high - count)
        ports = range(base, base + count)
        if ports.start < avoid.stop and avoid.start < ports.stop:
            continue  # an outgoing connection could take one before the node binds it
        if _bindable(ports) and claim_ports(ports, registry):
            return base
    raise OSError(f"no {count} consecutive free ports between {low} and {high} outside the "
                  f"ephemeral range {avoid.start}-{avoid.stop - 1}")  # fmt: skip
