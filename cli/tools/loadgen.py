"""Workload generation for tests and benchmarks: fund many accounts, then pre-sign transfers.

The setup follows the ledger's real path (register accounts, register a project, anchor monitoring
data, attest it, issue a batch, hand every account some tickets), so every later transfer is a
valid, fully checked transaction. Transfers are signed ahead of time so that the load process spends
its time submitting, not signing.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.tx import encode_tx, tx_hash
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc

__all__ = ["BlockWatcher", "Workload", "commit_phases", "submit_batches"]

T = 1_000_000  # grams per tCO2e
_ENTRIES_PER_TX = 64
_PER_PHASE = 500
_PROJECT = "CN15-LOAD-0001"
_VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)


def _deterministic_key(seed: bytes, index: int) -> PrivateKey:
    return PrivateKey(hashlib.sha256(seed + index.to_bytes(8, "big")).digest())


@dataclass
class Workload:
    """Accounts and signed transactions for a load run on a fresh devnet."""

    chain_id: str
    registrar: PrivateKey
    issuer: PrivateKey
    verifier: PrivateKey
    accounts: list[PrivateKey]
    seed: bytes = b"carbon-ticket-load"

    @classmethod
    def create(
        cls,
        chain_id: str,
        registrar: PrivateKey,
        issuer: PrivateKey,
        verifier: PrivateKey,
        account_count: int,
    ) -> Workload:
        """A workload over ``account_count`` deterministic accounts."""
        seed = b"carbon-ticket-load"
        accounts = [_deterministic_key(seed, i) for i in range(account_count)]
        return cls(chain_id, registrar, issuer, verifier, accounts, seed)

    @property
    def batch_id(self) -> str:
        """The id the setup's issuance gets (first batch of its project and vintage)."""
        return f"{_PROJECT}-{_VINTAGE.start_date}-{_VINTAGE.end_date}-001"

    def _tx(self, key: PrivateKey, nonce: int, **msg: Any) -> bytes:
        body = ledger_pb2.TxBody(chain_id=self.chain_id, signer=key.address, nonce=nonce, **msg)
        return encode_tx(body, [key])

    def setup_phases(self) -> list[list[bytes]]:
        """Transaction groups to commit in order; each group depends on the previous ones."""
        anchor = hashlib.sha256(b"load-monitoring-report").digest()
        total = (len(self.accounts) * 1_000 + 1_000) * T
        registrations = [
            self._tx(
                self.registrar,
                i,
                register_account=ledger_pb2.RegisterAccount(
                    address=a.address, kind=ledger_pb2.ACCOUNT_KIND_COMPANY, name=f"load {i}"
                ),
            )
            for i, a in enumerate(self.accounts)
        ]
        project = [
            self._tx(
                self.issuer,
                0,
                register_project=ledger_pb2.RegisterProject(
                    project_id=_PROJECT,
                    name="Load test forest",
                    region="CN-15",
                    kind=ledger_pb2.PROJECT_KIND_FOREST,
                    area_centihectares=150_000,
                    methodology="load-test",
                    owner=self.issuer.address,
                    metadata_hash=anchor,
                    metadata_uri="https://example.invalid/load",
                ),
            ),
            self._tx(
                self.issuer,
                1,
                anchor_data=ledger_pb2.AnchorData(
                    project_id=_PROJECT,
                    data_hash=anchor,
                    period=_VINTAGE,
                    uri="load://",
                    kind="survey",
                ),
            ),
        ]
        attest = [
            self._tx(
                self.verifier,
                0,
                attest_report=ledger_pb2.AttestReport(
                    data_hash=anchor, verified_grams=total, period=_VINTAGE
                ),
            )
        ]
        issue = [
            self._tx(
                self.issuer,
                2,
                issue_batch=ledger_pb2.IssueBatch(
                    project_id=_PROJECT,
                    vintage=_VINTAGE,
                    report_hashes=[anchor],
                    amount_grams=total,
                    recipient=self.issuer.address,
                ),
            )
        ]
        funding = []
        for n, start in enumerate(range(0, len(self.accounts), _ENTRIES_PER_TX)):
            chunk = self.accounts[start : start + _ENTRIES_PER_TX]
            entries = [
                ledger_pb2.TransferEntry(to=a.address, batch_id=self.batch_id, amount_grams=100 * T)
                for a in chunk
            ]
            funding.append(
                self._tx(self.issuer, 3 + n, transfer=ledger_pb2.Transfer(entries=entries))
            )
        # One account's pending nonces are bounded (mempool max_nonce_gap): register in chunks.
        chunks = [
            registrations[i : i + _PER_PHASE] for i in range(0, len(registrations), _PER_PHASE)
        ]
        phases = [chunks[0] + project if chunks else project, *chunks[1:], attest, issue]
        phases += [funding[i : i + _PER_PHASE] for i in range(0, len(funding), _PER_PHASE)]
        return phases

    def transfers(self, count: int, first_nonce: int = 0) -> list[bytes]:
        """``count`` signed 1-gram transfers, round-robin over the accounts (account i pays i+1)."""
        n = len(self.accounts)
        out = []
        for j in range(count):
            sender = self.accounts[j % n]
            receiver = self.accounts[(j + 1) % n]
            entry = ledger_pb2.TransferEntry(to=receiver.address, batch_id=self.batch_id,
                                             amount_grams=1)  # fmt: skip
            out.append(
                self._tx(
                    sender, first_nonce + j // n, transfer=ledger_pb2.Transfer(entries=[entry])
                )
            )
        return out


def submit_batches(
    stub: services_pb2_grpc.LedgerServiceStub, txs: Sequence[bytes], batch_size: int = 500
) -> list[services_pb2.TxAdmission]:
    """Submit ``txs`` through SubmitTxs in batches; returns every admission result."""
    results: list[services_pb2.TxAdmission] = []
    for start in range(0, len(txs), batch_size):
        reply = stub.SubmitTxs(
            services_pb2.SubmitTxsRequest(txs=list(txs[start : start + batch_size])), timeout=60
        )
        results.extend(reply.results)
    return results


class BlockWatcher:
    """Follows committed blocks of one node through the public API (GetStatus, GetBlock).

    Not through the peer service: that serves validators and configured observers only.
    """

    def __init__(self, address: str, credentials: grpc.ChannelCredentials | None = None) -> None:
        options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=options)
        else:  # a TLS node (node.tls.ClientTls.credentials())
            self._channel = grpc.secure_channel(address, credentials, options=options)
        self.public = services_pb2_grpc.LedgerServiceStub(self._channel)
        self.next_height = 1

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def height(self) -> int:
        """The node's committed height."""
        return int(self.public.GetStatus(services_pb2.StatusRequest(), timeout=10).height)

    def follow(
        self, from_height: int, stop: threading.Event
    ) -> Iterator[ledger_pb2.CommittedBlock]:
        """Committed blocks from ``from_height`` on, in height order, pushed by the node as it
        commits them (SubscribeBlocks), until ``stop`` is set.

        No polling: a watcher asking GetStatus every few milliseconds was a load of its own on
        the validator it watched. A node ends a subscription that falls too far behind
        (RESOURCE_EXHAUSTED: slow consumer, or too many streams for a moment): the watcher
        subscribes again from the next height it lacks, so no block is skipped. Any other
        error ends the iteration with that error.
        """
        self.next_height = max(from_height, 1)
        while not stop.is_set():
            # Only the blocks: their receipts would cost the watched validator ~65 ms of CPU
            # per block of 4,000 transfers, and this process as much to parse them.
            request = services_pb2.SubscribeBlocksRequest(
                from_height=self.next_height, without_receipts=True
            )
            call = self.public.SubscribeBlocks(request)
            ended = threading.Event()
            # The stream blocks in a gRPC thread: cancel it from here when asked to stop.
            threading.Thread(target=_cancel_on, args=(call, stop, ended), daemon=True).start()
            try:
                for info in call:
                    self.next_height = info.committed.block.header.height + 1
                    yield info.committed
                return  # the node ended the stream: it is stopping
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.CANCELLED and stop.is_set():
                    return
                if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                    raise
            finally:
                ended.set()
                call.cancel()

    def poll(self) -> Iterator[ledger_pb2.CommittedBlock]:
        """Blocks committed since the last poll, in height order."""
        top = self.height()
        while self.next_height <= top:
            request = services_pb2.GetBlockRequest(height=self.next_height)
            info = self.public.GetBlock(request, timeout=60)
            self.next_height += 1
            yield info.committed

    def wait_for(self, hashes: set[bytes], timeout: float) -> dict[bytes, int]:
        """Wait until every hash in ``hashes`` is committed; returns hash -> height.

        Raises TimeoutError naming how many are still missing.
        """
        found: dict[bytes, int] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(hashes):
            for committed in self.poll():
                height = committed.block.header.height
                chain_id = committed.block.header.chain_id
                for raw in committed.block.txs:
                    digest = tx_hash(raw, chain_id)
                    if digest in hashes:
                        found[digest] = height
            if len(found) < len(hashes):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{len(hashes) - len(found)} of {len(hashes)} not committed")
                time.sleep(0.05)
        return found


def _own_id(raw: bytes) -> bytes:
    # The id of a tx this module signed, under the chain id its body names.
    envelope = ledger_pb2.TxEnvelope.FromString(raw)
    return tx_hash(raw, ledger_pb2.TxBody.FromString(envelope.body).chain_id)


def commit_phases(
    address: str,
    phases: Sequence[Sequence[bytes]],
    timeout: float = 60.0,
    credentials: grpc.ChannelCredentials | None = None,
) -> None:
    """Submit each phase to the node at ``address`` and wait until it is committed."""
    watcher = BlockWatcher(address, credentials)
    try:
        for phase in phases:
            results = submit_batches(watcher.public, phase)
            refused = [r for r in results if not r.accepted]
            if refused:
                raise RuntimeError(
                    f"setup tx refused: {refused[0].error_code}: {refused[0].message}"
                )
            watcher.wait_for({_own_id(raw) for raw in phase}, timeout)
    finally:
        watcher.close()


def _cancel_on(call: grpc.Call, stop: threading.Event, ended: threading.Event) -> None:
    # Wait for either event without polling often: a stream lives for a whole benchmark.
    while not ended.wait(0.05):
        if stop.is_set():
            call.cancel()
            return
