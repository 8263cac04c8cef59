"""Where a transfer's admission goes, step by step (issue 19), in one process.

    python -m tests.node.microbench_admit [--transfers 4000] [--rounds 5]

Efficiency is the share of a validator's CPU that is the one Ed25519 check per transaction.
``microbench_points`` shows admission (``Mempool.admit``) as the largest step of a transfer; this
splits it into the steps ``chain.tx.decode_tx``, ``chain.check.check_tx`` and the mempool take,
each timed alone in CPU time (``time.process_time``) over the bench's transfers
(``cli.tools.loadgen.Workload``), best of ``--rounds``, in microseconds per transfer:

- ``parse``: the envelope and body, with their canonical-encoding checks (``parse_envelope``);
- ``id``: the transaction id (``tx_hash``: the envelope parsed once more, the sign bytes hashed);
- ``signature set``: the cheap checks before any signature (``_check_signature_set``);
- ``ed25519``: one ``verify_signature`` (what efficiency counts as useful work);
- ``decode_tx``: all of the above but the id, as the node runs it;
- ``message``: the message's stateless checks (``check_message``);
- ``admit``: ``Mempool.admit`` on a LevelDB store (id, ``check_tx``, the committed nonce read,
  the pool's own books); ``pool's own`` is admit less ``id`` and ``check_tx``.

Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from carbon_ticket.chain import check_tx
from carbon_ticket.chain.check import check_message
from carbon_ticket.chain.crypto import Address, verify_signature
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.tx import (
    _check_signature_set,
    decode_tx,
    parse_envelope,
    tx_hash,
    tx_sign_bytes,
)
from tests.chain.conftest import CHAIN_ID, make_residents_genesis
from tests.node.microbench_points import _block, _transfer_blocks, _validator

LIMITS = Limits()


def _best_us(raws: Sequence[bytes], step: Callable[[bytes], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for raw in raws:
            step(raw)
        best = min(best, time.process_time() - start)
    return best / len(raws) * 1e6


def _admit_us(setup: list[list[bytes]], raws: list[bytes], rounds: int) -> float:
    """``Mempool.admit`` of every transfer on a fresh validator's pool, best of ``rounds``."""
    best = float("inf")
    for _ in range(rounds):
        root = Path(tempfile.mkdtemp(prefix="mb-admit-"))
        try:
            genesis = make_residents_genesis(daily_cap=0)
            capacity = max(len(raws), *(len(b) for b in setup))
            one = _validator(root, "a", genesis, capacity)
            two = _validator(root, "b", genesis, capacity)
            for phase in setup:
                _block(one, two, phase, None)
            start = time.process_time()
            for raw in raws:
                one.pool.admit(raw)
            best = min(best, time.process_time() - start)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return best / len(raws) * 1e6


def measure(transfers: int, rounds: int) -> dict[str, float]:
    """Microseconds per transfer for each step (see the module's docstring)."""
    setup, blocks = _transfer_blocks(accounts=200, blocks=1, per_block=transfers)
    raws = blocks[0]
    parsed = {raw: parse_envelope(raw, LIMITS) for raw in raws}
    # Each transfer's own signature over its own sign bytes (made beforehand)
    signed = {
        raw: (envelope.signatures[0], tx_sign_bytes(CHAIN_ID, envelope.body))
        for raw, (envelope, _body) in parsed.items()
    }

    def ed25519(raw: bytes) -> bool:
        signature, message = signed[raw]
        return verify_signature(signature.public_key, message, signature.signature)

    def signature_set(raw: bytes) -> object:
        envelope, body = parsed[raw]
        kind = body.WhichOneof("msg") or ""
        return _check_signature_set(envelope, kind, Address(body.signer), LIMITS)

    figures = {
        "parse": _best_us(raws, lambda r: parse_envelope(r, LIMITS), rounds),
        "id": _best_us(raws, lambda r: tx_hash(r, CHAIN_ID), rounds),
        "signature set": _best_us(raws, signature_set, rounds),
        "ed25519": _best_us(raws, ed25519, rounds),
        "decode_tx": _best_us(raws, lambda r: decode_tx(r, CHAIN_ID, LIMITS), rounds),
        "message": _best_us(raws, lambda r: check_message(parsed[r][1], LIMITS), rounds),
        "check_tx": _best_us(raws, lambda r: check_tx(r, CHAIN_ID, LIMITS), rounds),
        "admit": _admit_us(setup, raws, rounds),
    }
    figures["pool's own"] = figures["admit"] - figures["id"] - figures["check_tx"]
    return figures


def main(argv: list[str] | None = None) -> int:
    """Parse flags, measure, print one line per step and the signature's share of admission."""
    parser = argparse.ArgumentParser(prog="python -m tests.node.microbench_admit")
    parser.add_argument("--transfers", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    figures = measure(args.transfers, args.rounds)
    print(f"CPU per transfer, microseconds (best of {args.rounds} rounds of {args.transfers}):")
    for step, us in figures.items():
        print(f"{step:14s} {us:7.1f}")
    share = figures["ed25519"] / figures["admit"]
    print(f"the signature's share of admission: {share:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
