"""Micro-benchmark of the app's per-block path on one machine, without a network (prints only).

Run from the repository root:  python -m tests.node.microbench_app [--txs 3000] [--reps 5]
[--leveldb]. For one block of ``--txs`` register-account transactions it times, in CPU time
(``time.process_time``, so other processes on the machine matter less), each step on a proposer
(P), a validator that heard every tx by gossip (V) and one that heard none (C): admission,
propose, binding (block_hash), validate, timely, commit. Prints the best of ``--reps`` runs in
microseconds per transaction. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from carbon_ticket.chain import check_tx, expected_nonce, init_chain
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.store import BlockStore, MemoryStore
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.consensus import CommitCertificate, Validator, ValidatorSet
from carbon_ticket.node.app import LedgerApp
from carbon_ticket.node.config import MempoolSettings
from carbon_ticket.node.mempool import Mempool
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import CHAIN_ID, REGISTRAR, VALIDATORS, key, make_genesis

LIMITS = Limits()
SET = ValidatorSet(tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATORS)))
T = TypeVar("T")


def _txs(count: int) -> list[bytes]:
    out = []
    for n in range(count):
        body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=REGISTRAR.address, nonce=n)
        body.register_account.address = key(f"acct-{n}").address
        body.register_account.kind = ledger_pb2.ACCOUNT_KIND_COMPANY
        body.register_account.name = f"acct {n}"
        out.append(encode_tx(body, [REGISTRAR]))
    return out


class _Bench:
    def __init__(self, count: int, leveldb: bool) -> None:
        self.count = count
        self.leveldb = leveldb
        self.dirs: list[str] = []
        self.times: dict[str, float] = {}

    def timed(self, name: str, fn: Callable[..., T], *args: object) -> T:
        start = time.process_time()
        out = fn(*args)
        self.times[name] = self.times.get(name, 0.0) + time.process_time() - start
        return out

    def node(self, proposer: int) -> tuple[Mempool, LedgerApp]:
        genesis = make_genesis()
        store: BlockStore
        if self.leveldb:
            self.dirs.append(tempfile.mkdtemp(prefix="microbench-"))
            store = LevelDBStore.open(Path(self.dirs[-1]) / "blocks", chain_id=CHAIN_ID)
        else:
            store = MemoryStore()
        store.init_genesis(CHAIN_ID, genesis.to_json().encode(), init_chain(genesis))
        settings = MempoolSettings(max_nonce_gap=self.count + 1, max_txs=self.count + 1)
        pool = Mempool(CHAIN_ID, LIMITS, settings, check_tx, lambda a: expected_nonce(store, a))
        clock = iter(range(genesis.genesis_time_ms + 10, 10**15))
        app = LedgerApp(store, pool, SET, VALIDATORS[proposer].public_key, LIMITS, self.count,
                        lambda: next(clock))  # fmt: skip
        return pool, app

    def close(self) -> None:
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)


def run(count: int, leveldb: bool) -> dict[str, float]:
    """Seconds of CPU per step for one block of ``count`` transactions."""
    raws = _txs(count)
    bench = _Bench(count, leveldb)
    try:
        pool, proposer = bench.node(0)
        for raw in raws:
            bench.timed("admit", pool.admit, raw)
        payload, block_hash = bench.timed("P propose", proposer.propose, 1, 0)
        bench.timed("P timely", proposer.timely, 1, 0, payload)
        cert = CommitCertificate(1, 0, block_hash, ())
        bench.timed("P commit", proposer.commit, cert, payload)
        for label, heard in (("V", raws), ("C", [])):
            pool, app = bench.node(1)
            for raw in heard:
                pool.admit(raw)
            wire = bytes(bytearray(payload))  # a bytes object of its own, as off the network
            app.note_proposal(block_hash, 0, -1)
            assert bench.timed(f"{label} block_hash", app.block_hash, 1, wire) == block_hash
            assert bench.timed(f"{label} validate", app.validate, 1, wire) == block_hash
            bench.timed(f"{label} timely", app.timely, 1, 0, wire)
            bench.timed(f"{label} commit", app.commit, cert, wire)
        return bench.times
    finally:
        bench.close()


def main() -> None:
    """Print the best of several runs, per step, in microseconds per transaction."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--txs", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--leveldb", action="store_true", help="LevelDB stores (default: memory)")
    args = parser.parse_args()
    best: dict[str, float] = {}
    for _ in range(args.reps):
        for name, seconds in run(args.txs, args.leveldb).items():
            best[name] = min(best.get(name, seconds), seconds)
    per_tx = {name: seconds * 1e6 / args.txs for name, seconds in best.items()}
    for name, micros in per_tx.items():
        print(f"{name:14s} {micros:8.2f} us/tx")
    app_steps = ("block_hash", "validate", "timely", "commit")
    proposer = sum(per_tx[f"P {s}"] for s in ("propose", "timely", "commit"))
    print(f"{'P app total':14s} {proposer:8.2f} us/tx")
    for label in ("V", "C"):
        total = sum(per_tx[f"{label} {s}"] for s in app_steps)
        print(f"{label + ' app total':14s} {total:8.2f} us/tx")


if __name__ == "__main__":
    main()
