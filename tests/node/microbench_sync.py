"""Times block sync of a stored chain into an empty store, in-process (prints only).

Run from the repository root, on a node home a benchmark kept (``carbon-ticket bench --home
/tmp/b``, then ``/tmp/b/devnet/node0``):

    python -m tests.node.microbench_sync /tmp/b/devnet/node0 [--reps 2] [--profile out.prof]
        [--verify-tx-signatures]

A fresh node (``build_node``, its own empty LevelDB store, no API) catches up from one fake peer
that serves the stored blocks as serialized ``CommittedBlock`` messages, parsed again on
arrival as gRPC would: every certificate and app hash is verified as in a real node (and every
transaction signature with ``--verify-tx-signatures``, the ``[sync]`` setting of that name),
but without the sockets and the serving process. It prints the sync rate and the CPU split
between the event loop's thread and the verification threads. ``--profile`` writes a cProfile
of the event loop's thread (the verification threads are not in it). Not a test: the figures
depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.node.build import build_node
from carbon_ticket.node.config import NodeConfig, SyncSettings
from carbon_ticket.node.keyfile import write_validator_key
from carbon_ticket.node.ports import ConsensusMessage, SyncPeer
from carbon_ticket.node.service_peer import committed_block
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import ledger_pb2, services_pb2

_TICKS = os.sysconf("SC_CLK_TCK")


class StoredPeer:
    """A peer that streams pre-serialized committed blocks (parsed on arrival, as gRPC does)."""

    address = "stored-peer"

    def __init__(self, chain_id: str, wire: list[bytes]) -> None:
        self._chain_id = chain_id
        self._wire = wire

    async def status(self, timeout_s: float) -> services_pb2.PeerStatus:
        return services_pb2.PeerStatus(chain_id=self._chain_id, height=len(self._wire))

    async def blocks(
        self, from_height: int, max_blocks: int, timeout_s: float
    ) -> AsyncIterator[ledger_pb2.CommittedBlock]:
        for raw in self._wire[from_height - 1 : from_height - 1 + max_blocks]:
            await asyncio.sleep(0)  # a network read yields to the loop
            yield ledger_pb2.CommittedBlock.FromString(raw)


class StubTransport:
    """A PeerTransport with no validators to talk to: only block sync's one peer."""

    def __init__(self, peer: StoredPeer) -> None:
        self._peer = peer

    def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def broadcast_consensus(self, message: ConsensusMessage) -> None:
        return None

    def gossip_txs(self, raws: list[bytes]) -> None:
        return None

    def forward_txs(self, raws: list[bytes]) -> None:
        return None

    async def fetch_block(self, height: int, block_hash: bytes) -> list[bytes]:
        return []

    def sync_peers(self) -> Sequence[SyncPeer]:
        return [self._peer]

    def set_peers(self, addresses: Sequence[str]) -> None:
        return None


def load_chain(source_home: Path) -> tuple[str, list[bytes], int]:
    """The chain id, every stored block as CommittedBlock bytes, and the transaction count."""
    with LevelDBStore.open(source_home / "data" / "blocks", create=False) as store:
        wire, txs = [], 0
        for height in range(1, store.height + 1):
            committed = committed_block(store, height)
            assert committed is not None, f"block {height} is missing from the source"
            txs += len(committed.block.txs)
            wire.append(committed.SerializeToString())
        return store.chain_id, wire, txs


def _thread_cpu_s() -> dict[str, float]:
    # CPU seconds by thread name (Linux /proc): the loop's thread versus the verification pool.
    names = {t.native_id: t.name.split("_")[0] for t in threading.enumerate()}
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = names.get(int(task.name), "other")
        fields = stat[stat.rindex(")") + 2 :].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / _TICKS
    return out


def sync_once(
    source_home: Path,
    chain_id: str,
    wire: list[bytes],
    profile: Path | None,
    verify_tx_signatures: bool = False,
) -> float:
    """Sync every block into a fresh node's empty store; returns the seconds it took."""
    home = Path(tempfile.mkdtemp(prefix="carbon-syncbench-"))
    try:
        sync = SyncSettings(verify_tx_signatures=verify_tx_signatures)
        config = NodeConfig(
            home=home, name="syncer", listen="127.0.0.1:1", log_level="WARNING", sync=sync
        )
        config.save()
        shutil.copy(source_home / "genesis.json", home / "genesis.json")
        write_validator_key(config.key_path, PrivateKey.generate(), config.name)
        node = build_node(config, transport=StubTransport(StoredPeer(chain_id, wire)),
                          serve_api=False)  # fmt: skip
        profiler = cProfile.Profile() if profile is not None else None
        before = _thread_cpu_s()

        async def run() -> int:
            if profiler is not None:
                profiler.enable()
            try:
                return await node.sync.catch_up()
            finally:
                if profiler is not None:
                    profiler.disable()

        started = time.perf_counter()
        applied = asyncio.run(run())
        seconds = time.perf_counter() - started
        after = _thread_cpu_s()  # before close: the pool's threads must still be there
        if node.verify_pool is not None:  # the node never started: shutdown has nothing to stop
            node.verify_pool.close()
        node.store.close()
        assert applied == len(wire), f"synced {applied} of {len(wire)} blocks"
        if profiler is not None and profile is not None:
            profiler.dump_stats(str(profile))
        split = {k: round(v - before.get(k, 0.0), 2) for k, v in after.items()}
        print(f"  cpu s by thread: {split}")
        return seconds
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("home", type=Path, help="a node home with a stored chain")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument(
        "--verify-tx-signatures",
        action="store_true",
        help="check every transaction signature again (the [sync] setting)",
    )
    args = parser.parse_args()
    chain_id, wire, txs = load_chain(args.home)
    print(f"{len(wire)} blocks, {txs} transactions, {sum(map(len, wire)) / 1e6:.1f} MB")
    for rep in range(args.reps):
        profile = args.profile if rep == 0 else None
        seconds = sync_once(args.home, chain_id, wire, profile, args.verify_tx_signatures)
        print(f"rep {rep + 1}: {seconds:.2f} s, {txs / seconds:,.0f} tx/s")


if __name__ == "__main__":
    main()
