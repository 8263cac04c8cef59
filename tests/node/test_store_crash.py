"""Crash safety: a writer SIGKILLed at random moments leaves the store at a whole height.

After every kill the store must open without error at some height h, with exactly the state a
replay of blocks 1..h produces (every key and the app hash), every block up to h readable with
its certificate, transactions and history, and nothing of block h + 1.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carbon_ticket.chain.store import MemoryStore
from carbon_ticket.node.store import LevelDBStore
from tests.node.crash_writer import (
    CHAIN_ID,
    GENESIS_JSON,
    account,
    batch,
    genesis_result,
    next_block,
)

ROOT = Path(__file__).resolve().parents[2]
KILLS = 60


def spawn(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.node.crash_writer", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def advance(ref: MemoryStore, height: int) -> None:
    if not ref.initialized:
        ref.init_genesis(CHAIN_ID, GENESIS_JSON, genesis_result())
    while ref.height < height:
        ref.commit_block(*next_block(ref))


def check_against_replay(store: LevelDBStore, ref: MemoryStore, checked: int) -> None:
    h = store.height
    advance(ref, h)
    assert (store.height, store.app_hash, store.last_hash) == (
        ref.height,
        ref.app_hash,
        ref.last_hash,
    )
    assert list(store.scan(b"")) == list(ref.scan(b""))
    for k in range(checked + 1, h + 1):
        block = store.get_block(k)
        assert block is not None and block == ref.get_block(k)
        assert block.verify_tx_root()
        assert store.get_certificate(k) == ref.get_certificate(k)
        assert store.get_block_height(block.hash) == k
        for tx_hash in block.tx_hashes():
            assert store.get_tx(tx_hash) == ref.get_tx(tx_hash)
    for i in range(40):
        assert store.account_history(account(i), 50) == ref.account_history(account(i), 50)
    for i in range(5):
        assert store.batch_history(batch(i), 50) == ref.batch_history(batch(i), 50)
    # Nothing of the next block is visible.
    following, _, _ = next_block(ref)
    assert store.get_block(h + 1) is None
    assert store.get_block_height(following.hash) is None
    assert all(store.get_tx(t) is None for t in following.tx_hashes())


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_a_whole_height(tmp_path: Path) -> None:
    path = tmp_path / "store"
    rng = random.Random(4)
    ref = MemoryStore()
    last = checked = 0
    advanced = 0
    for _ in range(KILLS):
        child = spawn(path)
        if rng.random() < 0.1:
            time.sleep(rng.uniform(0.0, 0.3))  # somewhere in start-up, opening or genesis
        else:
            assert child.stdout is not None
            assert child.stdout.readline().startswith("ready")
            time.sleep(rng.uniform(0.0, 0.06))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL, "the writer must still be running when killed"
        with LevelDBStore.open(path, chain_id=CHAIN_ID) as store:
            assert store.height >= last, "a committed (synced) block was lost"
            advanced += store.height > last
            if store.initialized:
                check_against_replay(store, ref, checked)
            checked = last = store.height
    assert advanced >= KILLS // 2, "the writer was killed before it could commit anything"
    assert last > KILLS
    print(f"final height {last}, advanced in {advanced} of {KILLS} rounds")
