"""The issue's "Done when", with real node processes on 127.0.0.1 and the CLI.

``carbon-ticket tx propose --add-validator`` / ``--remove-validator`` and ``tx vote ID yes`` by
the operators' wallet keys, ``query validators`` for the set.

Four validators; a fifth bureau makes its home with ``carbon-ticket node init`` and the
devnet's genesis, syncs as an observer, is added by a proposal and the votes of three operators,
and starts voting at its effective height; one original validator is then stopped and the chain
goes on (which needs the new validator's votes); that validator is removed by proposal; a fresh
node syncs from genesis over all of it and agrees on every app hash.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import free_base_port
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.keyfile import load_validator_key
from carbon_ticket.proto import services_pb2
from tests.node.network import FAST, Network

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _init_home(net: Network, index: int, listen: str) -> PrivateKey:
    """``carbon-ticket node init`` for a new bureau, with the devnet's genesis and fast timeouts."""
    home = net.info.node_home(index)
    result = CliRunner().invoke(cli, ["node", "init", "--home", str(home), "--name",
                                      f"node{index}", "--listen", listen, "--peer",
                                      net.endpoints[0], "--peer", net.endpoints[1],
                                      "-o", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    (home / "genesis.json").write_text((net.info.home / "genesis.json").read_text())
    config = NodeConfig.load(home)
    dataclasses.replace(config, consensus=FAST, log_level="INFO").save()
    net.endpoints.append(listen)
    key = load_validator_key(config.key_path)
    assert json.loads(result.output)["public_key"] == key.public_key.hex()
    return key


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "-o", "json"], env=ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _signed(net: Network, via: int, operator: str) -> list[str]:
    """Options of a transaction signed by ``operator`` (a devnet wallet key), sent to ``via``."""
    wallet = ["--keystore", str(net.info.wallet_dir), "-k", operator]
    return ["--node", net.endpoints[via], *wallet]


def _propose(net: Network, via: int, operator: str, *action: str) -> int:
    """``carbon-ticket tx propose``; the proposal id."""
    out = _cli("tx", "propose", "--title", "validator set change", "--voting-period", "100",
               *action, *_signed(net, via, operator))  # fmt: skip
    return int(out["receipt"]["events"][0]["proposal_id"])


def _vote_yes(net: Network, via: int, operator: str, proposal_id: int) -> None:
    """``carbon-ticket tx vote ID yes``."""
    _cli("tx", "vote", str(proposal_id), "yes", *_signed(net, via, operator))


ENV = {"CARBON_TICKET_PASSWORD": "devnet", "CARBON_TICKET_CONNECT_TIMEOUT": "1"}


def _certificate_id(net: Network) -> str:
    events = net.stub(0).SubscribeEvents(
        services_pb2.SubscribeEventsRequest(from_height=1, types=["retire"])
    )
    event = next(iter(events))
    events.cancel()
    return {a.key: a.value for a in event.event.attributes}["certificate_id"]


def _validators(net: Network, i: int) -> list[bytes]:
    """The keys node ``i`` reports in effect at its next height (GetStatus)."""
    status = net.status(i)
    assert status is not None
    return [v.public_key for v in status.validators]


def test_a_bureau_joins_by_proposal_one_stops_one_is_removed_and_a_fresh_node_syncs(
    tmp_path: Path,
) -> None:
    net = Network(tmp_path, validators=4)
    try:
        ports = free_base_port(2)
        joiner_listen, fresh_listen = f"127.0.0.1:{ports}", f"127.0.0.1:{ports + 1}"
        joiner = _init_home(net, 4, joiner_listen)
        fresh = _init_home(net, 5, fresh_listen)  # an auditor's node, started at the end
        # The validators serve block sync to the new bureau before it is one of them, and to
        # the auditor's node.
        for i in range(5):
            net.configure(i, observers=(joiner.public_key.hex(), fresh.public_key.hex()))
        net.start(0, 1, 2, 3)
        net.wait_until("blocks", lambda: net.height(0) >= 2)
        net.start(4)
        net.wait_until("the new bureau syncs", lambda: net.height(4) >= net.height(0) - 1)

        keys = [net.node_key(i) for i in range(4)]
        # The new bureau's operator key, in its wallet (here: the devnet's).
        _cli("keys", "new", "operator4", "--keystore", str(net.info.wallet_dir))
        added = f"node4:{joiner.public_key.hex()}:{joiner_listen}:1:@operator4"
        proposal = _propose(net, 0, "operator0", "--add-validator", added)
        for i in range(3):  # three of the four operators: more than 2/3 of the power
            _vote_yes(net, i, f"operator{i}", proposal)
        net.wait_until(
            "the new set is in effect everywhere",
            lambda: all(joiner.public_key in _validators(net, i) for i in range(5)),
        )

        # One original validator stops: the chain goes on only with the newcomer's votes.
        net.procs.stop(3)
        tip = net.height(0)
        net.wait_until("the chain goes on without node 3", lambda: min(
            net.height(i) for i in (0, 1, 2, 4)) >= tip + 3, timeout=60)  # fmt: skip

        proposal = _propose(net, 1, "operator1", "--remove-validator", "node3")
        for via, operator in (
            (0, "operator0"),
            (1, "operator1"),
            (2, "operator2"),
            (4, "operator4"),
        ):
            _vote_yes(net, via, operator, proposal)
        net.wait_until("node 3 is out of the set",
                       lambda: keys[3].public_key not in _validators(net, 0))  # fmt: skip
        shown = _cli("query", "validators", "--node", net.endpoints[4])
        assert [v["name"] for v in shown["validators"]] == ["node0", "node1", "node2", "node4"]
        tip = net.height(0)
        net.wait_until("the chain goes on", lambda: net.height(0) >= tip + 2)
        # The removed validator's key may no longer send consensus messages; the newcomer's may.
        empty = services_pb2.ConsensusBatch()
        with pytest.raises(grpc.RpcError) as refused:
            net.peer_stub(0, keys[3]).SendConsensus(empty, timeout=5)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        net.peer_stub(0, joiner).SendConsensus(empty, timeout=5)

        # A retirement certified by the new set checks offline against the genesis alone: the
        # bundle carries the chain of both set changes.
        demo = CliRunner().invoke(cli, ["demo", "--home", str(net.info.home), "-o", "json"],
                                  env=ENV, catch_exceptions=False)  # fmt: skip
        assert demo.exit_code == 0, demo.output
        bundle = tmp_path / "cert.json"
        cert_id = _certificate_id(net)
        args = ["query", "certificate", cert_id, "--proof", "--out", str(bundle)]
        query = CliRunner().invoke(cli, [*args, "--node", net.endpoints[0]], env=ENV)
        assert query.exit_code == 0, query.output
        assert len(json.loads(bundle.read_text())["set_changes"]) == 2
        verified = CliRunner().invoke(cli, ["verify", str(bundle), "--genesis",
                                            str(net.info.home / "genesis.json")])  # fmt: skip
        assert verified.exit_code == 0, verified.output
        assert "through 2 signed set changes" in verified.output

        # A fresh node syncs from genesis across both changes and agrees on every app hash.
        net.start(5)
        tip = net.height(0)
        net.wait_until("the fresh node catches up", lambda: net.height(5) >= tip, timeout=90)
        net.assert_same_chain([0, 4, 5], tip)
        for h in range(1, tip + 1):
            block = net.stub(5).GetBlock(services_pb2.GetBlockRequest(height=h), timeout=5)
            reference = net.stub(0).GetBlock(services_pb2.GetBlockRequest(height=h), timeout=5)
            header = block.committed.block.header
            assert header.app_hash == reference.committed.block.header.app_hash
    finally:
        net.close()
