"""An observer beside four validators (real processes): it follows the chain, serves queries and
certificate proofs, forwards transactions submitted to it to the validators, and killing and
restarting it changes nothing for the validators."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import grpc
import pytest

from carbon_ticket.chain.tx import tx_hash
from carbon_ticket.cli.tools.devnet import cli_command, cli_env
from carbon_ticket.proto import services_pb2
from tests.node.network import Network

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

OBSERVER = 4


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(cli_env(), CARBON_TICKET_PASSWORD="devnet", CARBON_TICKET_CONNECT_TIMEOUT="2")
    return subprocess.run(cli_command(*args), capture_output=True, text=True, timeout=120,
                          env=env, check=False)  # fmt: skip


def _committed_at(net: Network, node: int, raw_hash: bytes) -> int:
    try:
        info = net.stub(node).GetTx(services_pb2.GetTxRequest(tx_hash=raw_hash), timeout=2)
    except grpc.RpcError:
        return 0
    return int(info.height)


def test_an_observer_follows_serves_forwards_and_its_crash_does_not_touch_the_validators(
    tmp_path: Path,
) -> None:
    net = Network(tmp_path, validators=4, observers=1)
    try:
        net.start()
        net.wait_until("every node answers", lambda: min(map(net.height, range(5))) >= 1)
        workload = net.workload(accounts=4)  # before the demo: it signs with fresh nonces
        # A retirement through the validators (the demo), its proof served by the observer.
        demo = _cli("demo", "--home", str(net.info.home), "-o", "json")
        assert demo.returncode == 0, demo.stderr
        cert_id = json.loads(demo.stdout[demo.stdout.index("{") :])["certificate_id"]
        target = net.height(0)
        net.wait_until("the observer follows", lambda: net.height(OBSERVER) >= target, 60)
        bundle = tmp_path / "cert.json"
        exported = _cli("query", "certificate", cert_id, "--proof", "--out", str(bundle),
                        "--node", net.endpoints[OBSERVER])  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        verified = _cli("verify", str(bundle), "--genesis", str(net.info.home / "genesis.json"))
        assert verified.returncode == 0 and "is valid" in verified.stdout, verified.stderr

        # Transactions submitted to the observer are forwarded and committed by the validators.
        txs = workload.transfers(4)
        reply = net.stub(OBSERVER).SubmitTxs(services_pb2.SubmitTxsRequest(txs=txs), timeout=10)
        assert all(r.accepted for r in reply.results), [r.message for r in reply.results]
        hashes = [tx_hash(raw, net.info.chain_id) for raw in txs]
        net.wait_until("the validators commit what the observer took",
                       lambda: all(_committed_at(net, 0, h) for h in hashes), 60)  # fmt: skip
        on_observer = lambda: all(_committed_at(net, OBSERVER, h) for h in hashes)  # noqa: E731
        net.wait_until("the observer serves them too", on_observer, 60)
        status = net.stub(OBSERVER).GetStatus(services_pb2.StatusRequest(), timeout=2)
        assert status.chain_id == net.info.chain_id

        # Killing the observer: the validators go on; restarted, it catches up on the same chain.
        net.procs.signal(OBSERVER, signal.SIGKILL)
        net.procs.procs[OBSERVER].wait()
        before = net.height(0)
        net.wait_until("validators commit without the observer",
                       lambda: min(map(net.height, range(4))) >= before + 3)  # fmt: skip
        net.start(OBSERVER)
        target = net.height(0)
        net.wait_until("the restarted observer catches up",
                       lambda: net.height(OBSERVER) >= target, 60)  # fmt: skip
        net.assert_same_chain([0, 1, 2, 3, OBSERVER], target)
        log = (net.info.node_home(OBSERVER) / "node.log").read_text()
        assert "Traceback" not in log
    finally:
        net.close()
