"""A harness for tests with real validator processes on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.keystore import TEST_KDF, Keystore
from carbon_ticket.cli.tools.devnet import DevnetInfo, DevnetProcesses, free_base_port, init_devnet
from carbon_ticket.cli.tools.loadgen import Workload, commit_phases, submit_batches
from carbon_ticket.node.config import ConsensusSettings, NodeConfig
from carbon_ticket.node.keyfile import load_validator_key, write_validator_key
from carbon_ticket.node.peer_auth import signed_metadata
from carbon_ticket.node.tls import CertificateAuthority, write_node_tls
from carbon_ticket.proto import services_pb2, services_pb2_grpc

FAST = ConsensusSettings(
    propose_timeout_ms=600,
    prevote_timeout_ms=300,
    precommit_timeout_ms=300,
    timeout_delta_ms=300,
    commit_wait_ms=20,
    empty_block_interval_ms=300,
)

# The test's channels retry a node that does not answer yet every 0.1-0.5 s. With gRPC's default
# backoff (1 s, then 1.6 times longer each try) a channel that first asked before its node was
# listening saw it only at its next try, often 1-2 s later: on every start of a network.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]


class Network:
    """A devnet of real node processes with fast timeouts; ``close()`` stops everything."""

    def __init__(
        self,
        tmp: Path,
        validators: int = 4,
        observers: int = 0,
        tls: bool = False,
        require_client_cert: bool = False,
    ) -> None:
        base = free_base_port(validators + observers)
        self.info: DevnetInfo = init_devnet(tmp / "devnet", validators, base, tls=tls,
                                            require_client_cert=require_client_cert,
                                            wallet_kdf=TEST_KDF)  # fmt: skip
        client_tls = self.info.client_tls()
        # TLS devnets: clients trust the devnet CA and present the devnet client certificate.
        self.credentials = None if client_tls is None else client_tls.credentials()
        for i in range(validators):
            home = self.info.node_home(i)
            config = NodeConfig.load(home)
            dataclasses.replace(config, consensus=FAST, log_level="INFO").save()
        self.endpoints = list(self.info.endpoints)
        observer_keys = [
            self._add_observer(validators + j, base + validators + j) for j in range(observers)
        ]
        if observer_keys:
            # Validators serve block sync to the observers they know.
            for i in range(validators):
                config = NodeConfig.load(self.info.node_home(i))
                dataclasses.replace(config, observers=tuple(observer_keys)).save()
        self.procs = DevnetProcesses(self.info)
        self._channels: dict[int, grpc.Channel] = {}

    def configure(self, i: int, **changes: Any) -> None:
        """Change settings of node ``i``'s config.toml (before it starts)."""
        config = NodeConfig.load(self.info.node_home(i))
        dataclasses.replace(config, **changes).save()

    def node_key(self, i: int) -> PrivateKey:
        """Node ``i``'s key (a validator key for i < validators)."""
        return load_validator_key(self.info.node_home(i) / "validator_key.json")

    def _add_observer(self, index: int, port: int) -> str:
        home = self.info.node_home(index)
        listen = f"127.0.0.1:{port}"
        config = NodeConfig(home=home, name=f"node{index}", listen=listen,
                            peers=tuple(self.endpoints), consensus=FAST)  # fmt: skip
        if self.info.tls_ca is not None:
            validator = NodeConfig.load(self.info.node_home(0))
            ca = CertificateAuthority.load(self.info.home / "tls")
            config = write_node_tls(config, ca, settings=validator.tls)
        config.save()
        (home / "genesis.json").write_text((self.info.home / "genesis.json").read_text())
        key = PrivateKey.generate()
        write_validator_key(config.key_path, key, config.name)
        self.endpoints.append(listen)
        return key.public_key.hex()

    @property
    def size(self) -> int:
        """Number of node homes (validators and observers)."""
        return len(self.endpoints)

    def start(self, *indexes: int) -> None:
        """Start the given nodes (all when none are given)."""
        for i in indexes or range(self.size):
            self.procs.start(i)

    def close(self) -> None:
        """Stop every node process and close client channels."""
        for channel in self._channels.values():
            channel.close()
        for proc in self.procs.procs.values():
            if proc.poll() is None:
                proc.send_signal(18)  # SIGCONT, in case a test paused it
        self.procs.stop_all(timeout=10)

    def stub(self, i: int) -> services_pb2_grpc.LedgerServiceStub:
        """A public API stub for node ``i``."""
        if i not in self._channels:
            if self.credentials is None:
                self._channels[i] = grpc.insecure_channel(self.endpoints[i], CHANNEL_OPTIONS)
            else:
                self._channels[i] = grpc.secure_channel(
                    self.endpoints[i], self.credentials, CHANNEL_OPTIONS
                )
        return services_pb2_grpc.LedgerServiceStub(self._channels[i])

    def peer_stub(self, i: int, key: PrivateKey | None = None) -> services_pb2_grpc.PeerServiceStub:
        """A peer-service stub for node ``i`` whose calls are signed by ``key`` (default: node
        0's validator key, which may make every peer call)."""
        self.stub(i)
        signer = SigningInterceptor(key or self.node_key(0), self.info.chain_id)
        return services_pb2_grpc.PeerServiceStub(grpc.intercept_channel(self._channels[i], signer))

    def unsigned_peer_stub(self, i: int) -> services_pb2_grpc.PeerServiceStub:
        """A peer-service stub for node ``i`` sending no credential at all."""
        self.stub(i)
        return services_pb2_grpc.PeerServiceStub(self._channels[i])

    def status(self, i: int) -> services_pb2.StatusResponse | None:
        """Node ``i``'s status, or None when it does not answer."""
        try:
            return self.stub(i).GetStatus(services_pb2.StatusRequest(), timeout=2)
        except grpc.RpcError:
            return None

    def height(self, i: int) -> int:
        """Node ``i``'s height (-1 when it does not answer)."""
        status = self.status(i)
        return -1 if status is None else int(status.height)

    def block_hashes(self, i: int, upto: int) -> list[bytes]:
        """Per block 1..upto as served by node ``i``: its app hash followed by its prev hash."""
        out: list[bytes] = []
        height = 1
        while height <= upto:
            request = services_pb2.GetBlocksRequest(from_height=height, max_blocks=500)
            got = 0
            for committed in self.peer_stub(i).GetBlocks(request, timeout=30):
                header = committed.block.header
                out.append(header.app_hash + header.prev_hash)
                height += 1
                got += 1
                if height > upto:
                    break
            if got == 0:
                break
        return out

    def wait_until(self, what: str, cond: Callable[[], bool], timeout: float = 60.0) -> None:
        """Poll ``cond`` until true; fail the test naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting until {what}")

    def workload(self, accounts: int) -> Workload:
        """A funded workload committed through node 0."""
        keys = Keystore(self.info.wallet_dir)
        pw = self.info.wallet_password
        workload = Workload.create(
            self.info.chain_id, keys.load("registrar", pw), keys.load("issuer", pw),
            keys.load("verifier", pw), accounts,
        )  # fmt: skip
        commit_phases(self.endpoints[0], workload.setup_phases(), credentials=self.credentials)
        return workload

    def assert_same_chain(self, nodes: list[int], upto: int) -> None:
        """Every node in ``nodes`` serves identical blocks 1..upto (app hash and link)."""
        reference = self.block_hashes(nodes[0], upto)
        assert len(reference) == upto, f"node {nodes[0]} serves {len(reference)} of {upto} blocks"
        for i in nodes[1:]:
            assert self.block_hashes(i, upto) == reference, f"node {i} diverges from {nodes[0]}"


class SigningInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Signs every call on a synchronous channel like a node signs its peer calls."""

    def __init__(self, key: PrivateKey, chain_id: str) -> None:
        self._key = key
        self._chain_id = chain_id

    def _details(self, details: Any, request: Any) -> Any:
        method = details.method.rsplit("/", 1)[-1]
        extra = signed_metadata(self._key, self._chain_id, method, request.SerializeToString(),
                                time.time_ns() // 1_000_000)  # fmt: skip
        metadata = tuple(details.metadata or ()) + extra
        return _CallDetails(details.method, details.timeout, metadata, details.credentials,
                            details.wait_for_ready, details.compression)  # fmt: skip

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details, request), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details, request), request)


@dataclasses.dataclass(frozen=True)
class _CallDetails(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: tuple[tuple[str, str], ...]
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class LoadThread:
    """Submits pre-signed transactions in the background at a steady rate."""

    def __init__(self, net: Network, txs: list[bytes], targets: list[int], rate: float) -> None:
        self._net = net
        self._txs = txs
        self._targets = targets
        self._rate = rate
        self._stop = threading.Event()
        self.accepted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LoadThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        batch = max(1, int(self._rate / 10))
        for n, start in enumerate(range(0, len(self._txs), batch)):
            if self._stop.is_set():
                return
            target = self._targets[n % len(self._targets)]
            try:
                results = submit_batches(self._net.stub(target), self._txs[start : start + batch])
                self.accepted += sum(r.accepted for r in results)
            except grpc.RpcError:
                pass
            time.sleep(0.1)
