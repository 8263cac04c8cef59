"""A deterministic synthetic chain, and a child process that commits it until it is killed.

Block ``k``'s contents (transactions, state writes, receipts, history) are a pure function of
``k``; its header chains to the previous one. ``python -m tests.node.crash_writer DIR`` opens
the LevelDB store in DIR, writes genesis if needed, prints ``ready <height>`` and commits
blocks forever; the crash test SIGKILLs it and checks the store against a replay.
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections.abc import Iterator

from carbon_ticket.chain.block import Block, build_block
from carbon_ticket.chain.results import BlockResult, Event, TxResult
from carbon_ticket.chain.store import BlockStore
from carbon_ticket.chain.tx import tx_hash
from carbon_ticket.proto import ledger_pb2

CHAIN_ID = "crash-test-1"
GENESIS_JSON = b'{"chain_id": "crash-test-1"}'
VALIDATORS_HASH = hashlib.sha256(b"validators").digest()
_KEY_SPACE = 300  # state keys are drawn from a bounded space so state stays small


def _hash(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(4, "big") + part)
    return h.digest()


def next_app_hash(prev: bytes, writes: dict[bytes, bytes | None]) -> bytes:
    """A hash chain over each block's sorted writes: a stand-in for the rules' state hash."""
    parts = [prev]
    for key in sorted(writes):
        value = writes[key]
        parts += [key, b"\x00" if value is None else b"\x01" + value]
    return _hash(*parts)


def genesis_result() -> BlockResult:
    """Genesis state: a few accounts with balances."""
    writes: dict[bytes, bytes | None] = {
        b"acct/%03d" % i: (1_000_000 + i).to_bytes(8, "big") for i in range(20)
    }
    return BlockResult(writes=writes, app_hash=next_app_hash(bytes(32), writes))


def account(i: int) -> str:
    """A synthetic account name (the store indexes any text)."""
    return f"ct1account{i:03d}"


def batch(i: int) -> str:
    """A synthetic batch id."""
    return f"CN15-GY-0001-20230101-20231231-{i:03d}"


def block_content(k: int) -> tuple[list[bytes], dict[bytes, bytes | None], list[TxResult]]:
    """Transactions, state writes and receipts of block ``k`` (a pure function of ``k``)."""
    rng = random.Random(k)
    txs: list[bytes] = []
    receipts: list[TxResult] = []
    writes: dict[bytes, bytes | None] = {}
    for i in range(rng.randint(0, 12)):
        body = b"tx|%d|%d|" % (k, i) + rng.randbytes(rng.randint(20, 200))
        raw = ledger_pb2.TxEnvelope(body=body).SerializeToString(deterministic=True)
        code = 0 if rng.random() < 0.9 else 7
        accounts = tuple(sorted({account(rng.randrange(40)) for _ in range(rng.randint(1, 3))}))
        batches = tuple(sorted({batch(rng.randrange(5)) for _ in range(rng.randint(0, 2))}))
        events = (Event("transfer", (("amount", str(rng.randrange(10**9))),)),) if code == 0 else ()
        receipts.append(
            TxResult(
                tx_hash=tx_hash(raw, CHAIN_ID),
                code=code,
                error_code="" if code == 0 else "insufficient_balance",
                message="" if code == 0 else "not enough",
                events=events,
                accounts=accounts,
                batches=batches,
            )
        )
        txs.append(raw)
        for _ in range(rng.randint(1, 4)):
            key = b"acct/%03d" % rng.randrange(_KEY_SPACE)
            writes[key] = None if rng.random() < 0.1 else rng.randbytes(rng.randint(1, 40))
    writes[b"meta/height"] = k.to_bytes(8, "big")
    return txs, writes, receipts


def make_block(k: int, prev_hash: bytes, prev_app_hash: bytes) -> tuple[Block, bytes, BlockResult]:
    """Block ``k`` on top of the given tip, its certificate bytes and its result."""
    txs, writes, receipts = block_content(k)
    app_hash = next_app_hash(prev_app_hash, writes)
    block = build_block(
        chain_id=CHAIN_ID,
        height=k,
        time_ms=1_700_000_000_000 + 1000 * k,
        prev_hash=prev_hash,
        app_hash=app_hash,
        proposer=hashlib.sha256(b"proposer-%d" % (k % 4)).digest(),
        validators_hash=VALIDATORS_HASH,
        txs=txs,
        receipts=receipts,
    )
    cert = ledger_pb2.CommitCertificate(height=k, round=k % 3, block_hash=block.hash)
    cert.precommits.add(type=ledger_pb2.VOTE_TYPE_PRECOMMIT, height=k, block_hash=block.hash)
    result = BlockResult(writes=writes, receipts=tuple(receipts), app_hash=app_hash)
    return block, cert.SerializeToString(deterministic=True), result


def next_block(store: BlockStore) -> tuple[Block, bytes, BlockResult]:
    """The block that extends ``store``'s tip."""
    return make_block(store.height + 1, store.last_hash, store.app_hash)


def ensure_genesis(store: BlockStore) -> None:
    """Write the synthetic genesis if the store is empty."""
    if not store.initialized:
        store.init_genesis(CHAIN_ID, GENESIS_JSON, genesis_result())


def grow(store: BlockStore, until: int) -> Iterator[Block]:
    """Commit synthetic blocks until ``store`` reaches height ``until``; yield each block."""
    ensure_genesis(store)
    while store.height < until:
        block, cert, result = next_block(store)
        store.commit_block(block, cert, result)
        yield block


def main(argv: list[str]) -> int:
    """Commit blocks into the store at ``argv[0]`` until killed (or ``argv[1]`` blocks)."""
    from carbon_ticket.node.store import LevelDBStore

    limit = int(argv[1]) if len(argv) > 1 else 2**62
    store = LevelDBStore.open(argv[0], chain_id=CHAIN_ID)
    print(f"ready {store.height}", flush=True)
    for _ in grow(store, store.height + limit):
        pass
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
