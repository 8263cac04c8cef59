"""The Prometheus endpoint: in-process on a one-validator devnet, and on a devnet under load."""

from __future__ import annotations

import re
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from carbon_ticket.chain.tx import tx_hash
from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools.devnet import DevnetProcesses, free_base_port, init_devnet
from carbon_ticket.cli.tools.loadgen import (
    BlockWatcher,
    Workload,
    commit_phases,
    submit_batches,
)
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc
from tests.cli.harness import make_fast, running_devnet, wallet_keys

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(address: str) -> Samples:
    """Every sample the endpoint serves, by name and sorted labels."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=15) as reply:
        text = reply.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_a_devnet_node_serves_its_metrics_on_loopback(tmp_path: Path) -> None:
    with running_devnet(tmp_path / "devnet") as (info, thread):
        assert info.metrics and info.metrics[0].startswith("127.0.0.1:")
        assert thread.config.metrics.enabled
        assert wait_until(lambda: value(scrape(info.metrics[0]), "carbon_ticket_height") >= 2)
        samples = scrape(info.metrics[0])
        labels = {"chain_id": info.chain_id, "node": "node0", "role": "validator"}
        assert value(samples, "carbon_ticket_node_info", **labels) == 1
        assert value(samples, "carbon_ticket_rounds_per_height_count") >= 1
        assert value(samples, "carbon_ticket_fsync_seconds_count") >= 1
        assert value(samples, "carbon_ticket_block_commit_seconds_count") >= 1
        assert value(samples, "carbon_ticket_peers") == 0


def test_refused_peer_calls_are_counted_by_code(tmp_path: Path) -> None:
    # An operator sees who knocks on the peer port without a key (or with a wrong one).
    with running_devnet(tmp_path / "devnet") as (info, _thread):
        with grpc.insecure_channel(info.endpoints[0]) as channel:
            stub = services_pb2_grpc.PeerServiceStub(channel)
            for _ in range(2):
                with pytest.raises(grpc.RpcError) as refused:
                    stub.GetStatus(services_pb2.PeerStatusRequest(), timeout=10)
                assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        samples = scrape(info.metrics[0])
        assert value(samples, "carbon_ticket_peer_refusals_total", code="no_credential") == 2


def _served_names(address: str) -> set[str]:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=15) as reply:
        text = reply.read().decode()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names


def test_every_metric_the_docs_and_dashboard_name_is_served(tmp_path: Path) -> None:
    docs = Path(__file__).parents[2] / "docs"
    text = (docs / "operations.md").read_text() + (
        docs / "grafana" / "carbon-ticket.json"
    ).read_text()
    named = set(re.findall(r"carbon_ticket_[a-z_]+[a-z]", text))
    assert len(named) >= 20
    with running_devnet(tmp_path / "devnet") as (info, _thread):
        served = _served_names(info.metrics[0])
    suffixes = ("_total", "_bucket", "_count", "_sum")
    missing = {
        name
        for name in named
        if name not in served and not any(name.removesuffix(s) in served for s in suffixes)
    }
    assert not missing


def _kinds_in_blocks(watcher: BlockWatcher) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for committed in watcher.poll():
        for raw in committed.block.txs:
            envelope = ledger_pb2.TxEnvelope.FromString(raw)
            kinds[ledger_pb2.TxBody.FromString(envelope.body).WhichOneof("msg") or ""] += 1
    return kinds


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_metrics_of_a_devnet_node_under_load_follow_the_chain(tmp_path: Path) -> None:
    info = init_devnet(
        tmp_path / "devnet", validators=4, base_port=free_base_port(4), wallet_kdf=TEST_KDF
    )
    for i in range(4):
        make_fast(info.node_home(i))
    procs = DevnetProcesses(info)
    procs.start_all()
    node0, metrics0 = info.endpoints[0], info.metrics[0]
    watcher = BlockWatcher(node0)
    try:
        assert wait_until(lambda: _height_or_zero(watcher) >= 1, 60)
        keys: Any = wallet_keys(info)
        load = Workload.create(
            info.chain_id, keys["registrar"], keys["issuer"], keys["verifier"], 20
        )
        commit_phases(node0, load.setup_phases())
        transfers = load.transfers(200)
        results = submit_batches(watcher.public, transfers, batch_size=50)
        assert all(r.accepted for r in results)
        watcher.wait_for({tx_hash(raw, info.chain_id) for raw in transfers}, 120)
        # What the chain holds, block by block, against what the node counted.
        watcher.next_height = 1
        kinds = _kinds_in_blocks(watcher)
        seen_height = watcher.next_height - 1
        first = scrape(metrics0)
        assert value(first, "carbon_ticket_height") >= seen_height
        for kind, count in kinds.items():
            assert value(first, "carbon_ticket_committed_txs_total", type=kind, result="ok") == (
                count
            ), kind
        assert kinds["transfer"] >= 200
        assert value(first, "carbon_ticket_mempool_admitted_total") >= sum(kinds.values())
        assert value(first, "carbon_ticket_signature_verifications_total",
                     kind="tx", result="ok") >= 200  # fmt: skip
        assert value(first, "carbon_ticket_signature_verifications_total",
                     kind="consensus", result="ok") > 0  # fmt: skip
        assert value(first, "carbon_ticket_block_txs_sum") == sum(kinds.values())
        # The chain keeps moving (empty blocks), and the node sees its three peers.
        assert wait_until(
            lambda: (
                value(scrape(metrics0), "carbon_ticket_height")
                > value(first, "carbon_ticket_height")
            )
        )
        assert wait_until(lambda: value(scrape(metrics0), "carbon_ticket_peers_connected") == 3)
        later = scrape(metrics0)
        assert value(later, "carbon_ticket_peers") == 3
        assert value(later, "carbon_ticket_rounds_per_height_count") >= seen_height
        assert value(later, "carbon_ticket_consensus_step_seconds_count", step="prevote") > 0
        # Every validator serves its own registry.
        for address in info.metrics[1:]:
            other = scrape(address)
            assert value(other, "carbon_ticket_height") >= seen_height
            assert value(other, "carbon_ticket_committed_txs_total", type="transfer",
                         result="ok") == kinds["transfer"]  # fmt: skip
    finally:
        watcher.close()
        procs.stop_all()


def _height_or_zero(watcher: BlockWatcher) -> int:
    try:
        return watcher.height()
    except Exception:
        return 0
