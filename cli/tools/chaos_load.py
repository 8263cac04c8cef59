"""The steady load under ``carbon-ticket chaos``: transfers and retirements from a few accounts.

Each worker thread owns one funded account and sends one transaction at a time with
``SubmitTx(wait_for_commit)`` to a validator that is up. A transaction the node answers as
committed is recorded with its height and receipt (``CommittedTx``): that record is what the
checks hold every node to. When the answer is lost (node killed, deadline passed) the worker sends
the same bytes again, to another node if need be: a re-submitted transaction that is committed
already is answered with its outcome, and one that was dropped is admitted again, so no nonce is
skipped and nothing is counted twice.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import grpc

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.tx import encode_tx, tx_hash
from carbon_ticket.cli.tools.chaos_checks import CommittedTx
from carbon_ticket.cli.tools.loadgen import Workload, commit_phases
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc

__all__ = ["ChaosLoad", "LoadStats", "receipt_bytes"]

# Seconds a worker waits for one commit before asking again (possibly another node).
_WAIT_S = 6.0
# Pause after a failed attempt, so a worker does not spin while its nodes are down.
_RETRY_PAUSE_S = 0.3
_RETIRE_SHARE = 0.3  # share of retirements in the load


def receipt_bytes(receipt: ledger_pb2.Receipt) -> bytes:
    """A receipt serialised deterministically, so equal receipts compare equal."""
    return receipt.SerializeToString(deterministic=True)


@dataclass
class LoadStats:
    """Counts of the load so far (read under ``ChaosLoad.lock``)."""

    committed: list[CommittedTx] = field(default_factory=list)
    attempts: int = 0
    retries: int = 0
    refused: Counter[str] = field(default_factory=Counter)


class ChaosLoad:
    """Worker threads sending transfers and retirements to the validators that are up."""

    def __init__(
        self,
        chain_id: str,
        endpoints: Sequence[str],
        workload: Workload,
        seed: int,
        is_up: Callable[[int], bool],
    ) -> None:
        self.chain_id = chain_id
        self.endpoints = tuple(endpoints)
        self.workload = workload
        self.lock = threading.Lock()
        self.stats = LoadStats()
        self._seed = seed
        self._is_up = is_up
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._channels = [grpc.insecure_channel(address) for address in self.endpoints]
        self._stubs = [services_pb2_grpc.LedgerServiceStub(c) for c in self._channels]

    def fund(self, timeout: float = 120.0) -> None:
        """Register and fund the workload's accounts through the ledger (before any fault)."""
        commit_phases(self.endpoints[0], self.workload.setup_phases(), timeout=timeout)

    def start(self) -> None:
        """Start one worker per account."""
        for index, key in enumerate(self.workload.accounts):
            rng = random.Random(f"{self._seed}/{index}")
            thread = threading.Thread(target=self._work, args=(index, key, rng), daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop the workers (each finishes its current attempt) and close the channels."""
        if self._stop.is_set():
            return
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=_WAIT_S + 5)
        for channel in self._channels:
            channel.close()

    def committed(self) -> list[CommittedTx]:
        """A copy of what was committed so far."""
        with self.lock:
            return list(self.stats.committed)

    def _work(self, index: int, key: PrivateKey, rng: random.Random) -> None:
        receiver = self.workload.accounts[(index + 1) % len(self.workload.accounts)]
        nonce = self._next_nonce(key)
        while not self._stop.is_set():
            kind = "retire" if rng.random() < _RETIRE_SHARE else "transfer"
            raw = self._sign(key, nonce, kind, receiver.address)
            outcome = self._until_settled(raw, kind, rng)
            if outcome == "stopped":
                return
            if outcome == "refused":  # the nonce may or may not be used: ask the ledger
                nonce = self._next_nonce(key)
            else:
                nonce += 1

    def _sign(self, key: PrivateKey, nonce: int, kind: str, receiver: str) -> bytes:
        batch = self.workload.batch_id
        body = ledger_pb2.TxBody(chain_id=self.chain_id, signer=key.address, nonce=nonce)
        if kind == "retire":
            body.retire.CopyFrom(
                ledger_pb2.Retire(
                    batch_id=batch,
                    amount_grams=1,
                    beneficiary="chaos run",
                    reason="reliability test",
                    jurisdiction="CN",
                )
            )
        else:
            entry = ledger_pb2.TransferEntry(to=receiver, batch_id=batch, amount_grams=1)
            body.transfer.entries.append(entry)
        return encode_tx(body, [key])

    def _until_settled(self, raw: bytes, kind: str, rng: random.Random) -> str:
        """Send ``raw`` until it is committed ("committed"), refused, or the load stops."""
        digest = tx_hash(raw, self.chain_id)
        first = True
        while not self._stop.is_set():
            node = self._pick_node(rng)
            if node is None:
                time.sleep(_RETRY_PAUSE_S)
                continue
            with self.lock:
                self.stats.attempts += 1
                self.stats.retries += 0 if first else 1
            first = False
            request = services_pb2.SubmitTxRequest(tx=raw, wait_for_commit=True)
            try:
                reply = self._stubs[node].SubmitTx(request, timeout=_WAIT_S)
            except grpc.RpcError as exc:
                if _is_refusal(exc):
                    with self.lock:
                        self.stats.refused[exc.code().name] += 1
                    return "refused"
                time.sleep(_RETRY_PAUSE_S)
                continue
            if reply.committed:
                record = CommittedTx(digest, reply.height, receipt_bytes(reply.receipt), kind)
                with self.lock:
                    self.stats.committed.append(record)
                return "committed"
        return "stopped"

    def _pick_node(self, rng: random.Random) -> int | None:
        up = [i for i in range(len(self.endpoints)) if self._is_up(i)]
        return rng.choice(up) if up else None

    def _next_nonce(self, key: PrivateKey) -> int:
        """The account's next nonce as some node sees it (waits while none answers)."""
        request = services_pb2.GetAccountRequest(address=key.address)
        while True:
            for stub in self._stubs:
                try:
                    return int(stub.GetAccount(request, timeout=3).next_nonce)
                except grpc.RpcError:
                    continue
            if self._stop.wait(_RETRY_PAUSE_S):
                return 0


# Status codes that say the ledger refused the transaction itself (not: node down or busy).
_REFUSALS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.OUT_OF_RANGE,
}


def _is_refusal(exc: grpc.RpcError) -> bool:
    code = exc.code() if callable(getattr(exc, "code", None)) else None
    return code in _REFUSALS


def new_workload(
    chain_id: str, registrar: PrivateKey, issuer: PrivateKey, verifier: PrivateKey, accounts: int
) -> Workload:
    """The accounts the load sends from (registered and funded by ``ChaosLoad.fund``)."""
    return Workload.create(chain_id, registrar, issuer, verifier, accounts)
