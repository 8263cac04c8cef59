"""Signed peer calls: who may call what, checked in-process (unit) and over a real gRPC port."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.consensus import Validator, ValidatorSet
from carbon_ticket.node.config import ConfigError, NodeConfig
from carbon_ticket.node.peer_auth import (
    ObserverList,
    PeerAuthenticator,
    PeerAuthError,
    PeerAuthInterceptor,
    peer_call_signers,
    signed_metadata,
)
from carbon_ticket.node.peers import PeerLink
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc

CHAIN = "carbon-test"
NOW = 1_800_000_000_000
VALIDATOR_KEYS = [PrivateKey.generate() for _ in range(4)]
VALIDATORS = ValidatorSet(
    tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATOR_KEYS))
)
OBSERVER = PrivateKey.generate()
OBSERVER_BY_ADDRESS = PrivateKey.generate()
STRANGER = PrivateKey.generate()
BODY = services_pb2.TxBatch(txs=[b"tx"]).SerializeToString()


def _member(key: bytes) -> bool:
    return VALIDATORS.index_of(key) is not None


def _auth(clock: int = NOW) -> PeerAuthenticator:
    observers = ObserverList.parse([OBSERVER.public_key.hex(), OBSERVER_BY_ADDRESS.address])
    return PeerAuthenticator(CHAIN, _member, observers, lambda: clock)


def _meta(key: PrivateKey, method: str, body: bytes = BODY, at: int = NOW) -> list[tuple[str, str]]:
    return list(signed_metadata(key, CHAIN, method, body, at))


def _refusal(auth: PeerAuthenticator, method: str, meta: list[tuple[str, str]],
             body: bytes = BODY) -> PeerAuthError:  # fmt: skip
    with pytest.raises(PeerAuthError) as info:
        auth.check(method, meta, body)
    return info.value


def test_a_validator_may_make_every_peer_call() -> None:
    auth = _auth()
    for method in ("SendConsensus", "GossipTxs", "GetBlocks", "GetStatus", "GetProposalBlock"):
        key = VALIDATOR_KEYS[1]
        assert auth.check(method, _meta(key, method), BODY) == key.public_key


def test_observers_may_sync_but_not_send_consensus_or_gossip() -> None:
    auth = _auth()
    for key in (OBSERVER, OBSERVER_BY_ADDRESS):
        assert auth.check("GetBlocks", _meta(key, "GetBlocks"), BODY) == key.public_key
        assert auth.check("GetStatus", _meta(key, "GetStatus"), BODY) == key.public_key
        for method in ("SendConsensus", "GossipTxs"):
            error = _refusal(auth, method, _meta(key, method))
            assert error.status == grpc.StatusCode.PERMISSION_DENIED
            assert error.code == "not_a_validator"


def test_strangers_and_unsigned_calls_are_refused() -> None:
    auth = _auth()
    assert _refusal(auth, "GetBlocks", _meta(STRANGER, "GetBlocks")).code == "unknown_peer"
    assert _refusal(auth, "SendConsensus", []).status == grpc.StatusCode.UNAUTHENTICATED
    garbage = [("ct-peer-key", "zz"), ("ct-peer-time", "1"), ("ct-peer-nonce", "00"),
               ("ct-peer-sig", "00")]  # fmt: skip
    assert _refusal(auth, "SendConsensus", garbage).code == "bad_credential"


def test_the_signature_binds_body_method_chain_and_time() -> None:
    auth = _auth()
    key = VALIDATOR_KEYS[0]
    # Another body under a captured signature (a relay swapping the payload).
    assert _refusal(auth, "GossipTxs", _meta(key, "GossipTxs"), b"other").code == (
        "bad_call_signature"
    )
    # Signed for another method.
    assert _refusal(auth, "SendConsensus", _meta(key, "GossipTxs")).code == "bad_call_signature"
    # Signed for another chain.
    other_chain = list(signed_metadata(key, "other-chain", "GossipTxs", BODY, NOW))
    assert _refusal(auth, "GossipTxs", other_chain).code == "bad_call_signature"
    # A claimed time that was not signed.
    forged_time = [(k, str(NOW + 1) if k == "ct-peer-time" else v)
                   for k, v in _meta(key, "GossipTxs")]  # fmt: skip
    assert _refusal(auth, "GossipTxs", forged_time).code == "bad_call_signature"


def test_stale_and_replayed_calls_are_refused() -> None:
    auth = _auth()
    key = VALIDATOR_KEYS[2]
    stale = _meta(key, "GossipTxs", at=NOW - 301_000)
    assert _refusal(auth, "GossipTxs", stale).code == "stale_call"
    future = _meta(key, "GossipTxs", at=NOW + 301_000)
    assert _refusal(auth, "GossipTxs", future).code == "stale_call"
    # Minutes of clock skew are tolerated: a skewed node must still talk (and be told why its
    # proposals fail) rather than be cut off.
    fresh = _meta(key, "GossipTxs", at=NOW - 120_000)
    auth.check("GossipTxs", fresh, BODY)
    assert _refusal(auth, "GossipTxs", fresh).code == "replayed_call"
    # Two identical calls in one millisecond are not a replay: each carries its own nonce.
    auth.check("GossipTxs", _meta(key, "GossipTxs", at=NOW), BODY)
    auth.check("GossipTxs", _meta(key, "GossipTxs", at=NOW), BODY)


def test_the_check_asks_for_the_set_in_effect_on_every_call() -> None:
    current = [VALIDATORS]
    auth = PeerAuthenticator(
        CHAIN, lambda k: current[0].index_of(k) is not None, ObserverList(), lambda: NOW
    )
    newcomer = PrivateKey.generate()
    refused = _refusal(auth, "SendConsensus", _meta(newcomer, "SendConsensus"))
    assert refused.code == "not_a_validator"
    current[0] = ValidatorSet((*VALIDATORS.validators, Validator("new", newcomer.public_key)))
    assert auth.check("SendConsensus", _meta(newcomer, "SendConsensus"), BODY)


def test_observer_entries_are_checked_when_the_config_is_made(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"peers\.observers"):
        NodeConfig(home=tmp_path, observers=("not-a-key",))
    ok = NodeConfig(home=tmp_path, observers=(OBSERVER.public_key.hex(), OBSERVER.address))
    ok.save()
    assert NodeConfig.load(ok.home).observers == ok.observers


def test_a_misspelt_peers_setting_is_refused(tmp_path: Path) -> None:
    home = tmp_path
    NodeConfig(home=home).save()
    path = home / "config.toml"
    path.write_text(path.read_text().replace("observers =", "observer ="))
    with pytest.raises(ConfigError, match="unknown settings: observer"):
        NodeConfig.load(home)


# ---------------------------------------------------------------- over a real port (127.0.0.1)


class _Peer(services_pb2_grpc.PeerServiceServicer):
    def __init__(self) -> None:
        self.gossiped = 0

    async def GossipTxs(
        self, request: services_pb2.TxBatch, context: object
    ) -> services_pb2.PeerAck:
        self.gossiped += len(request.txs)
        return services_pb2.PeerAck(accepted=len(request.txs))

    async def GetBlocks(
        self, request: services_pb2.GetBlocksRequest, context: object
    ) -> AsyncIterator[ledger_pb2.CommittedBlock]:
        for height in range(request.from_height, request.from_height + 3):
            block = ledger_pb2.CommittedBlock()
            block.block.header.height = height
            yield block


async def _serve_and_call() -> tuple[_Peer, dict[str, object]]:
    peer = _Peer()
    auth = PeerAuthenticator(CHAIN, _member, ObserverList.parse([OBSERVER.address]),
                             lambda: time.time_ns() // 1_000_000)  # fmt: skip
    server = grpc.aio.server(interceptors=[PeerAuthInterceptor(auth)])
    services_pb2_grpc.add_PeerServiceServicer_to_server(peer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    outcome: dict[str, object] = {}

    def clock() -> int:
        return time.time_ns() // 1_000_000

    try:
        address = f"127.0.0.1:{port}"
        channels = {
            "validator": grpc.aio.insecure_channel(
                address, interceptors=peer_call_signers(VALIDATOR_KEYS[0], CHAIN, clock)
            ),
            "observer": grpc.aio.insecure_channel(
                address, interceptors=peer_call_signers(OBSERVER, CHAIN, clock)
            ),
            "unsigned": grpc.aio.insecure_channel(address),
        }
        for who, channel in channels.items():
            stub = services_pb2_grpc.PeerServiceStub(channel)
            try:
                ack = await stub.GossipTxs(services_pb2.TxBatch(txs=[b"a", b"b"]), timeout=5)
                outcome[f"{who} gossip"] = ack.accepted
            except grpc.aio.AioRpcError as exc:
                outcome[f"{who} gossip"] = exc.code()
            try:
                request = services_pb2.GetBlocksRequest(from_height=5, max_blocks=3)
                heights = [b.block.header.height async for b in stub.GetBlocks(request, timeout=5)]
                outcome[f"{who} blocks"] = heights
            except grpc.aio.AioRpcError as exc:
                outcome[f"{who} blocks"] = exc.code()
        for channel in channels.values():
            await channel.close()
    finally:
        await server.stop(None)
    return peer, outcome


def test_signed_calls_pass_and_unsigned_ones_are_refused_over_grpc() -> None:
    peer, outcome = asyncio.run(_serve_and_call())
    assert outcome == {
        "validator gossip": 2,
        "validator blocks": [5, 6, 7],
        "observer gossip": grpc.StatusCode.PERMISSION_DENIED,
        "observer blocks": [5, 6, 7],
        "unsigned gossip": grpc.StatusCode.UNAUTHENTICATED,
        "unsigned blocks": grpc.StatusCode.UNAUTHENTICATED,
    }
    assert peer.gossiped == 2  # refused calls never reached the servicer


def test_benchmark_signing_and_checking_one_call() -> None:
    # Performance is printed, not asserted: one sign + one check per batch of messages.
    auth = PeerAuthenticator(CHAIN, _member, ObserverList(), lambda: NOW)
    rounds = 300
    for label, body in (("1 KB consensus batch", b"v" * 1_000),
                        ("150 KB gossip batch", b"x" * 150_000)):  # fmt: skip
        start = time.perf_counter()
        for i in range(rounds):
            meta = list(signed_metadata(VALIDATOR_KEYS[0], CHAIN, "GossipTxs", body, NOW + i))
            auth.check("GossipTxs", meta, body)
        per_call_us = (time.perf_counter() - start) / rounds * 1e6
        print(f"\npeer call auth, sign + check, {label}: {per_call_us:.0f} us per call")


class _RefusingStub:
    """A PeerService stub whose GetStatus refuses (an unlisted observer) until told not to."""

    def __init__(self) -> None:
        self.refuse = True

    async def GetStatus(self, request: object, timeout: float) -> services_pb2.PeerStatus:
        if self.refuse:
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.PERMISSION_DENIED,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                details="not a validator or a listed observer",
            )
        return services_pb2.PeerStatus(height=7)


def test_a_refused_status_call_is_logged_once_with_what_to_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Block sync asks each peer every 2 s: an observer no validator lists logged a warning
    # every 2 s per peer, and the warning did not say what the operator should do.
    link = PeerLink("127.0.0.1:1")
    stub = _RefusingStub()
    link._stub = stub

    async def calls(n: int) -> list[services_pb2.PeerStatus | None]:
        return [await link.status(1.0) for _ in range(n)]

    with caplog.at_level(logging.INFO, logger="carbon_ticket.node.peers"):
        assert asyncio.run(calls(30)) == [None] * 30
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "list this node's public key in [peers] observers" in warnings[0].getMessage()
        stub.refuse = False
        answered = asyncio.run(calls(1))[0]
        assert answered is not None and answered.height == 7
        assert "answers our status calls again" in caplog.records[-1].getMessage()
        stub.refuse = True
        asyncio.run(calls(3))
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2
