"""`carbon-ticket devnet up` starts every validator, and SIGTERM stops them all cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools.devnet import free_base_port, init_devnet
from carbon_ticket.proto import services_pb2, services_pb2_grpc
from tests.cli.harness import make_fast

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _height(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = services_pb2_grpc.LedgerServiceStub(channel)
        try:
            return int(stub.GetStatus(services_pb2.StatusRequest(), timeout=1).height)
        except grpc.RpcError:
            return -1


def test_devnet_up_runs_all_nodes_and_stops_them_on_sigterm(tmp_path: Path) -> None:
    base = free_base_port(4)
    home = tmp_path / "net"
    cmd = [sys.executable, "-P", "-m", "carbon_ticket.cli", "devnet", "up", "--home", str(home),
           "--base-port", str(base)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)  # fmt: skip
    endpoints = [f"127.0.0.1:{base + i}" for i in range(4)]
    try:
        deadline = time.monotonic() + 60
        # Every node answers at height 1: all four run and the chain has begun. (A devnet's
        # default configuration makes an empty block every 5 s, so each further block costs 5 s.)
        while min(_height(e) for e in endpoints) < 1:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "devnet did not commit blocks"
            time.sleep(0.2)
        assert json.loads((home / "devnet.json").read_text())["endpoints"] == endpoints
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    for endpoint in endpoints:
        assert endpoint in out  # it printed every endpoint
    assert "devnet stopped" in out
    assert all(_height(e) == -1 for e in endpoints), "a node outlived devnet up"
    # The nodes shut down cleanly: each logged its stop, and the stores reopen at their height.
    for i in range(4):
        assert "stopped at height" in (home / f"node{i}" / "node.log").read_text()


def test_devnet_up_with_observers_runs_and_stops_them_too(tmp_path: Path) -> None:
    base = free_base_port(4)
    home = tmp_path / "net"
    # A devnet made beforehand with fast blocks (`up` adds the observer to it): the observer
    # syncs what the validators committed, and at the default pace of an empty block every 5 s
    # it would wait 10 s for height 2. `up` initialising a devnet is the test above.
    info = init_devnet(home, validators=3, base_port=base, wallet_kdf=TEST_KDF)
    for i in range(3):
        make_fast(info.node_home(i))
    cmd = [sys.executable, "-P", "-m", "carbon_ticket.cli", "devnet", "up", "--home", str(home),
           "--observers", "1", "--base-port", str(base)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)  # fmt: skip
    observer = f"127.0.0.1:{base + 3}"
    try:
        deadline = time.monotonic() + 60
        while _height(observer) < 2:  # the observer follows the validators' chain
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the observer did not follow"
            time.sleep(0.2)
        assert json.loads((home / "devnet.json").read_text())["observers"] == [observer]
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    assert f"grpc {observer}" in out and "(observer)" in out
    assert _height(observer) == -1, "the observer outlived devnet up"
