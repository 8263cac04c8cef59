"""Test harness: a one-validator devnet whose node runs in-process on a background event loop."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.keystore import TEST_KDF, Keystore
from carbon_ticket.cli.tools.devnet import DevnetInfo, init_devnet
from carbon_ticket.cli.tools.ports import free_base_port
from carbon_ticket.node.build import build_node
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.node import Node
from carbon_ticket.proto import ledger_pb2, services_pb2_grpc

__all__ = ["NodeThread", "free_port", "make_fast", "reserved_address", "running_devnet"]


def free_port() -> int:
    """A TCP port that was free a moment ago, outside the ephemeral range and claimed against
    other devnets made meanwhile (cli.tools.ports).

    Released before it is used, so a program that binds it by number may take it meanwhile:
    only for a port that must be written down before anything binds it (a devnet's genesis
    names its validators' ports). A server the test runs itself binds port 0 and reads the
    port it got; an address where nothing may listen is ``reserved_address``.
    """
    return free_base_port(1)


@contextmanager
def reserved_address() -> Iterator[str]:
    """``127.0.0.1:PORT`` where nothing listens, kept so until the block ends: the port stays
    bound but never listens, so a connection is refused and no other program can take it.

    With SO_REUSEPORT, which gRPC servers set too: a test may start its own gRPC server there.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def make_fast(home: Path, **mempool: int) -> NodeConfig:
    """Short consensus timeouts and empty blocks every 200 ms, so tests run quickly."""
    config = NodeConfig.load(home)
    config = replace(
        config,
        consensus=replace(
            config.consensus,
            propose_timeout_ms=300,
            prevote_timeout_ms=200,
            precommit_timeout_ms=200,
            timeout_delta_ms=100,
            commit_wait_ms=10,
            empty_block_interval_ms=200,
        ),
        mempool=replace(config.mempool, **mempool),
    )
    config.save()
    return config


class NodeThread:
    """A Node started on its own event loop in a daemon thread; ``stop()`` shuts it down."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.node: Node | None = None  # set by the loop's thread once built
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            node = build_node(self.config)
            self.node = node
            self.loop.run_until_complete(node.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> NodeThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self.node is not None and self._error is None:
            asyncio.run_coroutine_threadsafe(self.node.shutdown(), self.loop).result(30)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


@contextmanager
def running_devnet(root: Path, **mempool: int) -> Iterator[tuple[DevnetInfo, NodeThread]]:
    """A fresh one-validator devnet in ``root`` with its node running in-process."""
    info = init_devnet(root, validators=1, base_port=free_port(), wallet_kdf=TEST_KDF)
    thread = NodeThread(make_fast(info.node_home(0), **mempool)).start()
    try:
        yield info, thread
    finally:
        thread.stop()


@contextmanager
def stub_for(endpoint: str) -> Iterator[services_pb2_grpc.LedgerServiceStub]:
    """A LedgerService stub on a channel closed afterwards."""
    channel = grpc.insecure_channel(endpoint)
    try:
        yield services_pb2_grpc.LedgerServiceStub(channel)
    finally:
        channel.close()


def wallet_keys(info: DevnetInfo) -> dict[str, PrivateKey]:
    """The devnet wallet's keys by name (issuer, verifier, registrar, points-operator, merchant,
    resident), decrypted."""
    store = Keystore(info.wallet_dir)
    return {k.name: store.load(k.name, info.wallet_password) for k in store.list()}


def issue_fresh_batch(info: DevnetInfo, prefix: str, grams: int) -> str:
    """Register, anchor, attest and issue a new project's batch of ``grams`` to the devnet's
    issuer (through the client library); returns the batch id."""
    keys: Any = wallet_keys(info)
    issuer, verifier = keys["issuer"], keys["verifier"]
    project = f"{prefix}-{PrivateKey.generate().address[-6:].upper()}"
    data_hash = hashlib.sha256(project.encode()).digest()
    vintage = ledger_pb2.Period(start_date=20230101, end_date=20231231)
    with stub_for(info.endpoints[0]) as stub:
        client = LedgerClient(stub)
        client.send(ledger_pb2.RegisterProject(
            project_id=project, name=prefix, region="CN-15",
            kind=ledger_pb2.PROJECT_KIND_FOREST, area_centihectares=100, methodology="m",
            owner=issuer.address, metadata_hash=data_hash, metadata_uri="https://x/p",
        ), [issuer])  # fmt: skip
        client.send(ledger_pb2.AnchorData(project_id=project, data_hash=data_hash,
                                          period=vintage, uri="https://x/d", kind="survey"),
                    [issuer])  # fmt: skip
        client.send(ledger_pb2.AttestReport(data_hash=data_hash, verified_grams=grams,
                                            period=vintage), [verifier])  # fmt: skip
        issued = client.send(ledger_pb2.IssueBatch(
            project_id=project, vintage=vintage, report_hashes=[data_hash],
            amount_grams=grams, recipient=issuer.address,
        ), [issuer])  # fmt: skip
    for event in issued.receipt.events:
        for attr in event.attributes:
            if attr.key == "batch_id":
                return attr.value
    raise AssertionError("no batch id in the issue receipt")
