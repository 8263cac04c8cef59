"""Properties over random operation sequences: supply invariants, immutability, determinism."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from chain import BlockResult, get_batch
from chain.keys import BALANCE, BATCH, CERTIFICATE, REPORT, decode_u64, nonce_key
from chain.records import Batch, Certificate, Report
from tests.chain.conftest import Ledger
from tests.chain.strategies import (
    ATTESTED,
    BATCHES,
    LOSS_ATTESTED,
    ops,
    run_ops,
    setup_ledger,
)

ROOT = Path(__file__).resolve().parents[2]
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class Invariants:
    """Checks the supply invariants after every block and remembers what must never change."""

    def __init__(self) -> None:
        self.certificates: dict[bytes, bytes] = {}
        self.retired: dict[str, int] = {}

    def __call__(self, chain: Ledger, result: BlockResult) -> None:
        data = chain.state.data
        balances: dict[str, int] = {}
        for key, value in data.items():
            if key.startswith(BALANCE):
                grams = decode_u64(value)
                assert grams > 0  # zero balances are deleted, never stored
                batch_id = key.rsplit(b"/", 1)[1].decode()
                balances[batch_id] = balances.get(batch_id, 0) + grams
        certified: dict[str, int] = {}
        for key, value in data.items():
            if key.startswith(CERTIFICATE):
                # Certificates never change once written.
                assert self.certificates.setdefault(key, value) == value
                cert = Certificate.decode(value)
                certified[cert.batch_id] = certified.get(cert.batch_id, 0) + cert.amount_grams
        assert set(self.certificates) == {k for k in data if k.startswith(CERTIFICATE)}
        issued_total = 0
        reversed_total = 0
        for key, value in data.items():
            if not key.startswith(BATCH):
                continue
            b = Batch.decode(value)
            assert b.tradable + b.retired + b.cancelled + b.buffer == b.issued
            assert min(b.tradable, b.retired, b.cancelled, b.buffer) >= 0
            assert balances.get(b.batch_id, 0) == b.tradable
            assert certified.get(b.batch_id, 0) == b.retired
            assert b.retired >= self.retired.get(b.batch_id, 0)  # retired grams never come back
            assert b.reversed_grams <= b.cancelled
            self.retired[b.batch_id] = b.retired
            issued_total += b.issued
            reversed_total += b.reversed_grams
        assert set(balances) <= {k[len(BATCH) :].decode() for k in data if k.startswith(BATCH)}
        reports = [Report.decode(v) for k, v in data.items() if k.startswith(REPORT)]
        remaining = sum(r.remaining_grams for r in reports if r.kind != "loss-report")
        assert issued_total + remaining == sum(ATTESTED)  # never issued beyond attestations
        loss_left = sum(r.remaining_grams for r in reports if r.kind == "loss-report")
        assert reversed_total + loss_left == LOSS_ATTESTED  # never reversed beyond the loss
        for receipt in result.receipts:
            assert receipt.ok == (receipt.code == 0) and (receipt.ok or receipt.error_code)


@PROPERTY_SETTINGS
@given(ops)
def test_supply_invariants_hold_for_any_sequence(operations: list[tuple[Any, ...]]) -> None:
    chain = setup_ledger()
    run_ops(chain, operations, Invariants())


@PROPERTY_SETTINGS
@given(ops)
def test_failed_tx_changes_at_most_its_nonce(operations: list[tuple[Any, ...]]) -> None:
    chain = setup_ledger()

    def one_tx_blocks(chain: Ledger, result: BlockResult) -> None:
        # With one tx per block the writes are exactly that tx's writes.
        receipt = result.receipts[0]
        if receipt.ok:
            return
        if receipt.error_code in ("wrong_nonce", "unknown_signer"):
            assert result.writes == {}
        else:
            signer_nonce = [k for k in result.writes if k.startswith(b"nonce/")]
            assert len(result.writes) == 1 and signer_nonce == [nonce_key(receipt.accounts[0])]

    single = [o for op in operations if op[0] != "end_block" for o in (op, ("end_block",))]
    run_ops(chain, single, one_tx_blocks)


_REPLAY = """
import json, sys
sys.path.insert(0, {root!r})
from tests.chain.conftest import Ledger, check_tx, CHAIN_ID, LIMITS
from tests.chain.strategies import setup_ledger
chain = setup_ledger()
for block in json.load(sys.stdin):
    chain.run([bytes.fromhex(raw) for raw in block])
print(chain.app_hash.hex())
"""


def test_state_hash_is_the_same_in_a_fresh_process() -> None:
    # A fixed pseudo-random workload; the child re-applies the same blocks under another hash seed.
    rng = random.Random(20240217)
    operations: list[tuple[Any, ...]] = []
    for _ in range(120):
        kind = rng.choice(
            [
                "issue",
                "transfer",
                "transfer",
                "transfer",
                "retire",
                "cancel",
                "reversal",
                "end_block",
            ]
        )
        if kind == "issue":
            operations.append(
                ("issue", rng.randrange(4), {rng.randrange(3)}, rng.randrange(1, 200_000_000), 0)
            )
        elif kind == "transfer":
            entries = [
                (rng.randrange(4), rng.randrange(2), rng.randrange(1, 50_000_000))
                for _ in range(rng.randint(1, 3))
            ]
            operations.append(("transfer", rng.randrange(4), entries, 0))
        elif kind in ("retire", "cancel"):
            operations.append(
                (kind, rng.randrange(4), rng.randrange(2), rng.randrange(1, 20_000_000), 0)
            )
        elif kind == "reversal":
            operations.append(("reversal", rng.randrange(2), rng.randrange(1, 5_000_000), 0))
        else:
            operations.append(("end_block",))
    chain = setup_ledger()
    setup_blocks = len(chain.blocks)
    run_ops(chain, operations, Invariants())
    assert get_batch(chain.state, BATCHES[0]).issued > 0
    blocks = [[raw.hex() for raw in block] for block in chain.blocks[setup_blocks:]]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    child = subprocess.run(
        [sys.executable, "-c", _REPLAY.format(root=str(ROOT))],
        input=json.dumps(blocks),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert child.stdout.strip() == chain.app_hash.hex()
