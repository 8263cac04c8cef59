"""What an award costs a validator against what a transfer costs (issue 19), in one process.

    python -m tests.node.microbench_points [--residents 2000] [--blocks 4] [--txs-per-block 30]
        [--awards-per-tx 150] [--transfers-per-block 4000] [--profile awards|transfers]

The bench's ratio (``carbon-ticket bench --workload points``) divides two throughputs measured
half a minute apart on a shared host; this divides two CPU times measured side by side. On one
LevelDB store per validator (``LevelDBStore.open``, a validator's options), each step a validator
takes for a block is timed in CPU time (``time.process_time``): admission of every transaction
(``Mempool.admit``: decode, signature, stateless checks), the proposer's build (``propose``:
reap and execute), another validator's check of the proposal (``validate``: execute) and the
commit (``commit``: the store write). The same for blocks of 1-gram transfers (the bench's
transfer workload, ``cli.tools.loadgen.Workload``) and blocks of ``AwardPoints`` transactions of
one-point awards round-robin over registered residents (the bench's points workload). It prints
microseconds per award and per transfer for each step and for a validator's whole share
(admission + validate + commit, what each of four validators spends; the proposer's build
replaces validate on one of them), and their ratio: the CPU bound of ``awards/s ÷ transfers/s``
when every core is busy. With ``--profile`` it prints the top functions of one workload's
measured steps (cProfile, by internal time). Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from carbon_ticket.chain import check_tx, expected_nonce, init_chain
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.cli.tools.loadgen import Workload
from carbon_ticket.consensus import CommitCertificate, Validator, ValidatorSet
from carbon_ticket.node.app import LedgerApp
from carbon_ticket.node.config import MempoolSettings
from carbon_ticket.node.mempool import Mempool
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    CHAIN_ID,
    ISSUER,
    OPERATOR,
    REGISTRAR,
    TODAY,
    VALIDATORS,
    VERIFIER,
    key,
    make_residents_genesis,
)

LIMITS = Limits()
SET = ValidatorSet(tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATORS)))
STEPS = ("admit", "propose", "validate", "commit")
T = TypeVar("T")


@dataclass
class _Validator:
    """One validator's mempool and app over its own LevelDB store."""

    pool: Mempool
    app: LedgerApp
    height: int = 0


@dataclass
class _Timings:
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STEPS, 0.0))
    profiler: cProfile.Profile | None = None

    def timed(self, step: str, fn: Callable[..., T], *args: object) -> T:
        if self.profiler is not None:
            self.profiler.enable()
        start = time.process_time()
        try:
            return fn(*args)
        finally:
            self.seconds[step] += time.process_time() - start
            if self.profiler is not None:
                self.profiler.disable()


def _validator(root: Path, name: str, genesis: Genesis, capacity: int) -> _Validator:
    store = LevelDBStore.open(root / name, chain_id=CHAIN_ID)
    store.init_genesis(CHAIN_ID, genesis.to_json().encode(), init_chain(genesis))
    settings = MempoolSettings(max_nonce_gap=capacity + 1, max_txs=capacity + 1)
    pool = Mempool(CHAIN_ID, LIMITS, settings, check_tx, lambda a: expected_nonce(store, a))
    # Every block one second after the last: awards stay on the genesis day (TODAY).
    clock = iter(range(genesis.genesis_time_ms + 1_000, 10**15, 1_000))
    # No build budget (its clock stands still): every block holds all that was admitted.
    app = LedgerApp(store, pool, SET, VALIDATORS[0].public_key, LIMITS, LIMITS.max_block_txs,
                    lambda: next(clock), work_clock_s=lambda: 0.0)  # fmt: skip
    return _Validator(pool, app)


def _block(
    proposer: _Validator, other: _Validator, raws: Sequence[bytes], timings: _Timings | None
) -> None:
    """Admit ``raws`` on both, propose on one, validate on the other, commit on both."""
    time_it = timings.timed if timings is not None else (lambda _s, fn, *a: fn(*a))
    for raw in raws:
        time_it("admit", proposer.pool.admit, raw)
        other.pool.admit(raw)  # admission is timed once, on the proposer
    height = proposer.height + 1
    payload, block_hash = time_it("propose", proposer.app.propose, height, 0)
    wire = bytes(bytearray(payload))  # a bytes object of its own, as off the network
    other.app.note_proposal(block_hash, 0, -1)
    if time_it("validate", other.app.validate, height, wire) != block_hash:
        raise RuntimeError(f"height {height}: the validator computed another block")
    cert = CommitCertificate(height, 0, block_hash, ())
    proposer.app.commit(cert, payload)
    time_it("commit", other.app.commit, cert, wire)
    proposer.height = other.height = height
    if len(proposer.pool) or len(other.pool):
        raise RuntimeError(f"height {height}: {len(proposer.pool)} transactions left over")


# ``msg`` is one field of TxBody's oneof by name: the stubs type each name apart, hence Any.
def _tx(signer: PrivateKey, nonce: int, **msg: Any) -> bytes:
    body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=signer.address, nonce=nonce, **msg)
    return encode_tx(body, [signer])


def _award_blocks(residents: int, blocks: int, per_block: int, per_tx: int) -> tuple[
    list[list[bytes]], list[list[bytes]]
]:  # fmt: skip
    addresses = [key(f"resident-{i}").address for i in range(residents)]
    setup = [
        _tx(REGISTRAR, i, register_account=ledger_pb2.RegisterAccount(
            address=a, kind=ledger_pb2.ACCOUNT_KIND_RESIDENT))
        for i, a in enumerate(addresses)
    ]  # fmt: skip
    awards = []
    for j in range(blocks * per_block):
        entries = [
            ledger_pb2.Award(recipient=addresses[(j * per_tx + k) % residents],
                             activity=ledger_pb2.ACTIVITY_WALK, day=TODAY, points=1,
                             external_ref=f"b{j}-{k}")
            for k in range(per_tx)
        ]  # fmt: skip
        awards.append(_tx(OPERATOR, j, award_points=ledger_pb2.AwardPoints(awards=entries)))
    return _chunks(setup, 1_000), _chunks(awards, per_block)


def _transfer_blocks(accounts: int, blocks: int, per_block: int) -> tuple[
    list[list[bytes]], list[list[bytes]]
]:  # fmt: skip
    workload = Workload.create(CHAIN_ID, REGISTRAR, ISSUER, VERIFIER, accounts)
    return workload.setup_phases(), _chunks(workload.transfers(blocks * per_block), per_block)


def _chunks(raws: list[bytes], size: int) -> list[list[bytes]]:
    return [raws[i : i + size] for i in range(0, len(raws), size)]


def measure(
    setup: list[list[bytes]], blocks: list[list[bytes]], profiler: cProfile.Profile | None = None
) -> dict[str, float]:
    """CPU seconds per step over ``blocks`` (after ``setup``) on two fresh validators."""
    root = Path(tempfile.mkdtemp(prefix="mb-points-"))
    try:
        genesis = make_residents_genesis(daily_cap=0)
        capacity = max(len(b) for b in (*setup, *blocks))
        proposer = _validator(root, "p", genesis, capacity)
        other = _validator(root, "v", genesis, capacity)
        for raws in setup:
            _block(proposer, other, raws, None)
        timings = _Timings(profiler=profiler)
        for raws in blocks:
            _block(proposer, other, raws, timings)
        return timings.seconds
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _line(name: str, per_unit: dict[str, float]) -> str:
    share = per_unit["admit"] + per_unit["validate"] + per_unit["commit"]
    steps = "  ".join(f"{s} {per_unit[s]:7.1f}" for s in STEPS)
    return f"{name:9s} {steps}  validator {share:7.1f} us"


def main(argv: list[str] | None = None) -> int:
    """Parse flags, measure both workloads, print per-unit figures and the ratio."""
    parser = argparse.ArgumentParser(prog="python -m tests.node.microbench_points")
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--txs-per-block", type=int, default=30)
    parser.add_argument("--awards-per-tx", type=int, default=150)
    parser.add_argument("--transfers-per-block", type=int, default=4000)
    parser.add_argument("--profile", choices=("awards", "transfers"))
    args = parser.parse_args(argv)
    profiler = cProfile.Profile() if args.profile else None
    award_setup, award_blocks = _award_blocks(
        args.residents, args.blocks, args.txs_per_block, args.awards_per_tx
    )
    transfer_setup, transfer_blocks = _transfer_blocks(
        args.residents, args.blocks, args.transfers_per_block
    )
    awards = args.blocks * args.txs_per_block * args.awards_per_tx
    transfers = args.blocks * args.transfers_per_block
    award_s = measure(award_setup, award_blocks, profiler if args.profile == "awards" else None)
    transfer_s = measure(
        transfer_setup, transfer_blocks, profiler if args.profile == "transfers" else None
    )
    per_award = {s: award_s[s] / awards * 1e6 for s in STEPS}
    per_transfer = {s: transfer_s[s] / transfers * 1e6 for s in STEPS}
    print(f"CPU per unit, microseconds ({awards} awards in {args.blocks} blocks of "
          f"{args.txs_per_block} x {args.awards_per_tx}; {transfers} transfers in "
          f"{args.blocks} blocks of {args.transfers_per_block}):")  # fmt: skip
    print(_line("award", per_award))
    print(_line("transfer", per_transfer))
    validator = {name: d["admit"] + d["validate"] + d["commit"]
                 for name, d in (("award", per_award), ("transfer", per_transfer))}  # fmt: skip
    print(f"ratio (transfer / award, a validator's share): "
          f"{validator['transfer'] / validator['award']:.2f}")  # fmt: skip
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
