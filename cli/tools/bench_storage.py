"""Storage benchmark: bytes on disk per transfer, commit time per block, reads at scale.

    python -m carbon_ticket.cli.tools.bench_storage [--accounts 1000000] \\
        [--txs-per-block 1000] [--blocks 20]

1. Commits ``--blocks`` blocks of realistic signed transfers (``chain.tx.encode_tx``), each
   with what the rules would write: two balance updates and a nonce per transfer, a receipt
   with a transfer event, two account-history and one batch-history entry. Prints the commit
   time per block and the bytes on disk per transfer (as written, and after compaction).
2. Fills the store until ``--accounts`` accounts exist (filler transfers between fresh
   accounts, with dummy signatures of the real size), one of them in every filler block.
3. Times reading an account's balance and its last 100 history entries (index only, and
   resolved to transactions with receipts), warm and right after reopening.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from carbon_ticket.chain.block import build_block
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.results import BlockResult, Event, TxResult
from carbon_ticket.chain.tx import encode_tx, tx_hash
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import ledger_pb2

CHAIN_ID = "carbon-bench-1"
BATCH = "CN15-GY-0001-20230101-20231231-001"
TARGET = "ct1" + "t" * 38  # the account whose history is read back


def disk_bytes(path: Path) -> int:
    """Total size of the files in the store directory."""
    return sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())


def balance_key(address: str) -> bytes:
    """A stand-in for the rules' balance key of (address, batch)."""
    return b"bal/" + address.encode() + b"/" + BATCH.encode()


def nonce_key(address: str) -> bytes:
    """A stand-in for the rules' account (nonce) key."""
    return b"acc/" + address.encode()


class Chain:
    """Builds blocks on top of a store with synthetic but realistically sized results."""

    def __init__(self, store: LevelDBStore) -> None:
        self.store = store
        self.app = hashlib.sha256(b"genesis").digest()
        self.proposer = hashlib.sha256(b"proposer").digest()

    def commit(self, txs: list[bytes], transfers: list[tuple[str, str, int, int]]) -> float:
        """Commit one block of ``txs`` (sender, recipient, amount, nonce each); return seconds."""
        writes: dict[bytes, bytes | None] = {}
        receipts = []
        for raw, (sender, to, amount, nonce) in zip(txs, transfers, strict=True):
            writes[balance_key(sender)] = (10**12 - amount * nonce).to_bytes(8, "big")
            writes[balance_key(to)] = (amount * (nonce + 1)).to_bytes(8, "big")
            writes[nonce_key(sender)] = (nonce + 1).to_bytes(8, "big")
            event = Event(
                "transfer", (("from", sender), ("to", to), ("batch", BATCH), ("grams", str(amount)))
            )
            receipts.append(
                TxResult(
                    tx_hash=tx_hash(raw, CHAIN_ID),
                    events=(event,),
                    accounts=tuple(sorted({sender, to})),
                    batches=(BATCH,),
                )
            )
        self.app = hashlib.sha256(self.app + b"%d" % self.store.height).digest()
        block = build_block(
            chain_id=CHAIN_ID,
            height=self.store.height + 1,
            time_ms=1_700_000_000_000 + self.store.height * 500,
            prev_hash=self.store.last_hash,
            app_hash=self.app,
            proposer=self.proposer,
            validators_hash=self.proposer,
            txs=txs,
            receipts=receipts,
        )
        cert = ledger_pb2.CommitCertificate(height=block.height, block_hash=block.hash)
        for i in range(4):
            cert.precommits.add(
                type=ledger_pb2.VOTE_TYPE_PRECOMMIT,
                height=block.height,
                block_hash=block.hash,
                validator_index=i,
                signature=os.urandom(64),
            )
        result = BlockResult(writes=writes, receipts=tuple(receipts), app_hash=self.app)
        start = time.perf_counter()
        self.store.commit_block(block, cert.SerializeToString(deterministic=True), result)
        return time.perf_counter() - start


def signed_transfers(
    keys: list[PrivateKey], recipients: list[str], nonce: int
) -> tuple[list[bytes], list[tuple[str, str, int, int]]]:
    """One real signed transfer from each key."""
    txs: list[bytes] = []
    meta: list[tuple[str, str, int, int]] = []
    for i, key in enumerate(keys):
        amount = 1_000_000 + i
        body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=key.address, nonce=nonce)
        body.transfer.entries.add(to=recipients[i], batch_id=BATCH, amount_grams=amount)
        txs.append(encode_tx(body, [key]))
        meta.append((str(key.address), recipients[i], amount, nonce))
    return txs, meta


def filler_address(n: int) -> str:
    """A synthetic address of the real length (41 characters)."""
    return f"ct1{n:038d}"


def filler_transfers(first: int, count: int) -> tuple[list[bytes], list[tuple[str, str, int, int]]]:
    """Transfers between fresh accounts ``first..``, with dummy signatures of the real size."""
    txs: list[bytes] = []
    meta: list[tuple[str, str, int, int]] = []
    for i in range(count):
        sender = filler_address(first + 2 * i)
        to = TARGET if i == 0 else filler_address(first + 2 * i + 1)
        body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=sender, nonce=0)
        body.transfer.entries.add(to=to, batch_id=BATCH, amount_grams=1_000_000 + i)
        envelope = ledger_pb2.TxEnvelope(body=body.SerializeToString(deterministic=True))
        envelope.signatures.add(public_key=os.urandom(32), signature=os.urandom(64))
        txs.append(envelope.SerializeToString(deterministic=True))
        meta.append((sender, to, 1_000_000 + i, 0))
    return txs, meta


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(path: Path, accounts: int, per_block: int, blocks: int) -> None:
    """Run all three phases in ``path`` and print the figures."""
    store = LevelDBStore.open(path, chain_id=CHAIN_ID)
    store.init_genesis(CHAIN_ID, b"{}", BlockResult(app_hash=hashlib.sha256(b"genesis").digest()))
    chain = Chain(store)
    base = disk_bytes(path)

    keys = [PrivateKey(hashlib.sha256(b"bench-%d" % i).digest()) for i in range(per_block)]
    recipients: list[str] = [keys[(i + 1) % per_block].address for i in range(per_block)]
    recipients[0] = TARGET
    times = []
    for nonce in range(blocks):
        txs, meta = signed_transfers(keys, recipients, nonce)
        times.append(chain.commit(txs, meta))
    transfers = blocks * per_block
    written = disk_bytes(path) - base
    store.kv.compact()
    compacted = disk_bytes(path) - base
    print(f"transfer envelope: {len(txs[0])} bytes; {blocks} blocks x {per_block} transfers")
    times.sort()
    print(
        f"commit per block: median {statistics.median(times) * 1e3:.1f} ms, "
        f"max {times[-1] * 1e3:.1f} ms ({statistics.median(times) / per_block * 1e6:.1f} us/tx)"
    )
    print(
        f"disk per transfer: {written / transfers:.0f} bytes as written (incl. log), "
        f"{compacted / transfers:.0f} bytes after compaction"
    )

    existing = per_block + 1
    next_id = 0
    filled_blocks = 0
    fill_start = time.perf_counter()
    while existing < accounts:
        count = min(per_block, max(1, (accounts - existing) // 2 + 1))
        txs, meta = filler_transfers(next_id, count)
        next_id += 2 * count
        existing += 2 * count - 1
        chain.commit(txs, meta)
        filled_blocks += 1
    fill = time.perf_counter() - fill_start
    total_tx = transfers + next_id // 2
    print(
        f"filled to {existing} accounts: {filled_blocks} more blocks in {fill:.0f} s; "
        f"height {store.height}, {total_tx} transfers, "
        f"{disk_bytes(path) / total_tx:.0f} bytes on disk per transfer overall"
    )

    rng = random.Random(1)
    probe = [filler_address(rng.randrange(max(1, next_id))) for _ in range(1000)]
    probe_iter = iter(probe * 10)
    balance = timed(lambda: store.get(balance_key(next(probe_iter))), 1000)
    history = timed(lambda: store.account_history(TARGET, 100), 200)

    def resolved() -> None:
        with store.snapshot() as snap:
            snap.get(balance_key(TARGET))
            for entry in snap.account_history(TARGET, 100):
                snap.get_tx_at(entry.height, entry.index)

    full = timed(resolved, 50)
    entries = len(store.account_history(TARGET, 100))
    print(
        f"reads with {existing} accounts: balance {balance * 1e6:.0f} us (random account), "
        f"last {entries} history entries {history * 1e3:.2f} ms, "
        f"balance + {entries} entries resolved to txs and receipts {full * 1e3:.1f} ms"
    )
    store.close()
    store = LevelDBStore.open(path, chain_id=CHAIN_ID)
    start = time.perf_counter()
    store.get(balance_key(probe[-1]))
    with store.snapshot() as snap:
        for entry in snap.account_history(TARGET, 100):
            snap.get_tx_at(entry.height, entry.index)
    cold = time.perf_counter() - start
    store.close()
    print(f"after reopening: balance + {entries} resolved entries {cold * 1e3:.1f} ms")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"store size {disk_bytes(path) / 2**20:.0f} MiB; peak RSS {rss / 1024:.0f} MiB")


def main(argv: list[str] | None = None) -> int:
    """Parse flags and run the benchmark in a temporary (or given) directory."""
    parser = argparse.ArgumentParser(
        prog="python -m carbon_ticket.cli.tools.bench_storage", description=__doc__
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--txs-per-block", type=int, default=1000)
    parser.add_argument("--blocks", type=int, default=20, help="measured blocks of transfers")
    parser.add_argument("--dir", type=Path, help="store directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    args = parser.parse_args(argv)
    path = args.dir or Path(tempfile.mkdtemp(prefix="bench-storage-")) / "store"
    if path.exists():
        parser.error(f"{path} exists; the benchmark needs a fresh directory")
    try:
        run(path, args.accounts, args.txs_per_block, args.blocks)
    finally:
        if not args.keep:
            shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
