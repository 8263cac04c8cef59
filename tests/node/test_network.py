"""Real validator processes on 127.0.0.1: what only real processes show, i.e. the gRPC wire
(batching, authentication, hostile bytes), kill -9 and SIGSTOP. Node behaviour that needs no
real process (halting without a quorum, sync from genesis, evidence, governance) is tested in
one process with virtual time in test_node_inprocess.py."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.tx import encode_tx, tx_hash
from carbon_ticket.cli.keystore import Keystore
from carbon_ticket.cli.tools.loadgen import BlockWatcher, submit_batches
from carbon_ticket.consensus import Vote, VoteType, vote_sign_bytes
from carbon_ticket.node.codec import message_to_proto
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc
from tests.node.network import LoadThread, Network

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
PAUSE_S = 10.0


def _progress(net: Network, nodes: list[int], blocks: int, timeout: float = 30.0) -> None:
    start = {i: net.height(i) for i in nodes}
    net.wait_until(
        f"nodes {nodes} commit {blocks} more blocks",
        lambda: all(net.height(i) >= start[i] + blocks for i in nodes),
        timeout,
    )


def test_one_validator_killed_under_load_others_continue_and_it_catches_up(net: Network) -> None:
    workload = net.workload(accounts=50)
    with LoadThread(net, workload.transfers(3_000), targets=[0, 1, 2], rate=200):
        _progress(net, [0, 1, 2, 3], 2)
        net.procs.kill(3)
        _progress(net, [0, 1, 2], 5)
        net.start(3)
        target = net.height(0)
        net.wait_until("restarted node 3 catches up", lambda: net.height(3) >= target, 60)
    top = min(net.height(i) for i in range(4))
    net.assert_same_chain([0, 1, 2, 3], top)


def test_paused_validator_rejoins(net: Network) -> None:
    paused_at = time.monotonic()
    net.procs.signal(2, signal.SIGSTOP)
    try:
        # Paused for 10 s in all, however long the others took to commit their 5 blocks.
        _progress(net, [0, 1, 3], 5)
        time.sleep(max(0.0, PAUSE_S - (time.monotonic() - paused_at)))
    finally:
        net.procs.signal(2, signal.SIGCONT)
    target = net.height(0)
    net.wait_until("paused node catches up", lambda: net.height(2) >= target, 60)
    _progress(net, [0, 1, 2, 3], 2)
    net.assert_same_chain([0, 1, 2, 3], min(net.height(i) for i in range(4)))


class _LiarPeer(services_pb2_grpc.PeerServiceServicer):
    """Claims a huge height and then holds every block stream without sending anything."""

    def __init__(self) -> None:
        self.streams = 0

    def GetStatus(self, request: object, context: grpc.ServicerContext) -> services_pb2.PeerStatus:
        return services_pb2.PeerStatus(chain_id="carbon-devnet", height=1_000_000)

    def GetBlocks(self, request: object, context: grpc.ServicerContext) -> Iterator[object]:
        self.streams += 1
        deadline = time.monotonic() + 60
        while context.is_active() and time.monotonic() < deadline:
            time.sleep(0.05)
        return iter(())


def test_an_observer_syncs_past_a_peer_that_lies_about_its_height(tmp_path: Path) -> None:
    # Before: the peer claiming the greatest height was always tried first and could hold the
    # stream for the whole 60 s call timeout, in every catch-up.
    liar = _LiarPeer()
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    services_pb2_grpc.add_PeerServiceServicer_to_server(liar, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    network = Network(tmp_path, validators=4, observers=1)
    try:
        liar_address = f"127.0.0.1:{port}"
        network.configure(4, peers=(liar_address, *network.endpoints[:4]))
        network.start(0, 1, 2, 3)
        network.wait_until("validators commit 5 blocks", lambda: network.height(0) >= 5)
        network.start(4)
        target = network.height(0)
        network.wait_until("observer syncs", lambda: network.height(4) >= target, 60)
        network.assert_same_chain([0, 4], target)
        log = (network.info.node_home(4) / "node.log").read_text()
        assert f"block sync: peer {liar_address} no block within" in log
        assert liar.streams >= 1
    finally:
        network.close()
        server.stop(None)


# The tests below share one network (module_net): they come last, so that it is started when
# the first of them runs and stopped as the module ends, never idling beside another network.


def test_four_validators_commit_1000_transactions_and_agree(module_net: Network) -> None:
    net = module_net
    workload = net.workload(accounts=100)
    txs = workload.transfers(1_000)
    # Spread submissions over all four nodes; every node gossips to the others.
    for i in range(4):
        results = submit_batches(net.stub(i), txs[i * 250 : (i + 1) * 250])
        assert all(r.accepted for r in results), [r.message for r in results if not r.accepted][:3]
    watcher = BlockWatcher(net.endpoints[0])
    try:
        found = watcher.wait_for({tx_hash(raw, net.info.chain_id) for raw in txs}, timeout=120)
    finally:
        watcher.close()
    assert len(found) == 1_000
    top = max(found.values())
    net.wait_until(
        "every node reaches the last tx block", lambda: min(map(net.height, range(4))) >= top
    )
    net.assert_same_chain([0, 1, 2, 3], top)
    statuses = [net.status(i) for i in range(4)]
    assert all(s is not None and s.chain_id == "carbon-devnet" for s in statuses)


def test_garbage_forged_votes_and_oversized_messages_are_rejected(module_net: Network) -> None:
    # Only this test of the module sends node 1 forged or oversized messages: its log counts.
    net = module_net
    host, port = net.endpoints[1].split(":")
    # 1. Raw garbage on the gRPC port.
    for payload in (b"\x00" * 64, b"GET / HTTP/1.1\r\n\r\n", bytes(range(256)) * 8):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(payload)
    # 2. Votes signed by a key that is not a validator's, claiming validator 0's index.
    outsider = PrivateKey.generate()
    height = net.height(1) + 1
    forged = []
    for round_ in range(3):
        vote = Vote(VoteType.PRECOMMIT, height, round_, b"\x11" * 32, 0, b"")
        sig = outsider.sign(vote_sign_bytes("carbon-devnet", vote))
        forged.append(message_to_proto(Vote(vote.type, height, round_, vote.block_hash, 0, sig)))
    bad_index = Vote(VoteType.PREVOTE, height, 0, b"\x11" * 32, 99, b"\x00" * 64)
    forged.append(message_to_proto(bad_index))
    forged.append(services_pb2.ConsensusMessage())  # empty
    ack = net.peer_stub(1).SendConsensus(services_pb2.ConsensusBatch(messages=forged), timeout=5)
    # Well-formed messages from a member index reach the engine, which checks the signature;
    # the others are refused at the door.
    assert ack.accepted == 3
    # Forged votes for the next height must not make the node skip ahead: with the empty-block
    # interval of 300 ms it makes a handful of blocks in 1.5 s, not dozens.
    before = net.height(1)
    for _ in range(15):
        vote = Vote(VoteType.PREVOTE, net.height(1) + 1, 0, b"\x22" * 32, 1, b"")
        sig = outsider.sign(vote_sign_bytes("carbon-devnet", vote))
        spam = message_to_proto(Vote(vote.type, vote.height, 0, vote.block_hash, 1, sig))
        net.peer_stub(1).SendConsensus(services_pb2.ConsensusBatch(messages=[spam]), timeout=5)
        time.sleep(0.1)
    assert net.height(1) - before < 10
    # An oversized batch of consensus messages is refused whole.
    with pytest.raises(grpc.RpcError) as info:
        net.peer_stub(1).SendConsensus(
            services_pb2.ConsensusBatch(messages=[forged[0]] * 1_001), timeout=5
        )
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # 3. A malformed transaction and an oversized message.
    with pytest.raises(grpc.RpcError) as info:
        net.stub(1).SubmitTx(services_pb2.SubmitTxRequest(tx=b"\xff\x00garbage"), timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        net.peer_stub(1).GossipTxs(
            services_pb2.TxBatch(txs=[b"x" * (40 * 1024 * 1024)]), timeout=20
        )
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The node is still alive, still agrees, and said what it dropped.
    _progress(net, [0, 1, 2, 3], 2)
    log = (net.info.node_home(1) / "node.log").read_text()
    assert "dropped 2 of 5 messages" in log
    assert "refused an oversized message" in log
    assert log.count("dropped consensus messages so far") == 1  # rate-limited
    assert "'bad_signature': 1" in log
    net.assert_same_chain([0, 1, 2, 3], min(net.height(i) for i in range(4)))


def test_unauthenticated_and_non_validator_peer_calls_are_refused_and_change_nothing(
    module_net: Network,
) -> None:
    # Only this test of the module makes unauthenticated calls to node 0: its log counts.
    net = module_net
    # Genuine content a validator really signed (a double vote by validator 3, and a valid
    # transaction) — but sent by callers that are not validators: nothing of it may land.
    offender = net.node_key(3)
    height = net.height(0) + 1
    pair = []
    for block in (b"\x01" * 32, b"\x02" * 32):
        unsigned = Vote(VoteType.PREVOTE, height, 7, block, 3, b"")
        sig = offender.sign(vote_sign_bytes("carbon-devnet", unsigned))
        pair.append(message_to_proto(Vote(VoteType.PREVOTE, height, 7, block, 3, sig)))
    registrar = Keystore(net.info.wallet_dir).load("registrar", net.info.wallet_password)
    body = ledger_pb2.TxBody(chain_id=net.info.chain_id, signer=registrar.address, nonce=0)
    body.register_account.address = PrivateKey.generate().address
    body.register_account.kind = ledger_pb2.ACCOUNT_KIND_BUREAU
    body.register_account.name = "Never admitted"
    raw = encode_tx(body, [registrar])
    outsider = PrivateKey.generate()  # a wallet key: signs fine, but is no validator
    callers = {
        "unsigned": (net.unsigned_peer_stub(0), grpc.StatusCode.UNAUTHENTICATED),
        "non-validator": (net.peer_stub(0, key=outsider), grpc.StatusCode.PERMISSION_DENIED),
    }
    calls = (
        ("SendConsensus", services_pb2.ConsensusBatch(messages=pair)),
        ("GossipTxs", services_pb2.TxBatch(txs=[raw])),
        ("GetStatus", services_pb2.PeerStatusRequest()),
    )
    for name, (stub, code) in callers.items():
        for method, request in calls:
            with pytest.raises(grpc.RpcError) as info:
                getattr(stub, method)(request, timeout=5)
            assert info.value.code() == code, (name, method)
    # The public API answers the same client: only the peer service is closed to it.
    assert net.status(0) is not None
    _progress(net, [0, 1, 2, 3], 3)
    with pytest.raises(grpc.RpcError) as info:
        net.stub(0).GetTx(
            services_pb2.GetTxRequest(tx_hash=tx_hash(raw, net.info.chain_id)), timeout=5
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    log = (net.info.node_home(0) / "node.log").read_text()
    assert "EVIDENCE" not in log
    assert log.count("unauthenticated peer calls") == 1  # rate-limited: 6 refusals, one line
    # Validators' own signed links keep working: the chain went on and agrees.
    net.assert_same_chain([0, 1, 2, 3], min(net.height(i) for i in range(4)))
