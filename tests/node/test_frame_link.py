"""Frame links (issue 19): the signed frames of PeerService.Stream on a plain TCP connection.

Two in-process peers exchange consensus and gossip frames over 127.0.0.1; every refusal of the
gRPC stream (tests/node/test_peer_stream.py) is a refusal here too, with nothing delivered; TLS
uses the devnet's certificates; a peer without a reachable frame port gets the Stream call.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools.devnet import DEFAULT_CHAIN_ID as CHAIN_OF_DEVNET
from carbon_ticket.cli.tools.devnet import init_devnet
from carbon_ticket.consensus import Vote, VoteType
from carbon_ticket.node.codec import message_to_proto
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.frame_link import MAGIC, MAX_PEER_MESSAGE_BYTES, FrameListener, frame_bytes
from carbon_ticket.node.keyfile import load_validator_key
from carbon_ticket.node.peer_auth import FrameSigner, OutboundStream, signed_metadata
from carbon_ticket.node.peers import PeerLink
from carbon_ticket.node.tls import frame_client_context, frame_server_context
from carbon_ticket.proto import services_pb2, services_pb2_grpc
from tests.cli.harness import NodeThread, make_fast
from tests.node.frame_peers import CHAIN, KEYS, FramePeer, clock_ms, link_to, wait_for

STRANGER = PrivateKey.generate()
TXS = services_pb2.PEER_FRAME_KIND_TXS
CONSENSUS = services_pb2.PEER_FRAME_KIND_CONSENSUS


def _vote(index: int) -> services_pb2.ConsensusMessage:
    return message_to_proto(Vote(VoteType.PREVOTE, 1, 0, b"h" * 32, index, b"s" * 64))


def _txs(*raws: bytes) -> bytes:
    return services_pb2.TxBatch(txs=list(raws)).SerializeToString()


def _run(test: Callable[..., Awaitable[None]], *peers: FramePeer) -> None:
    async def run() -> None:
        for peer in peers:
            await peer.start()
        try:
            await test(*peers)
        finally:
            for peer in peers:
                await peer.close()

    asyncio.run(run())


# ------------------------------------------------------------------ two peers


def test_two_peers_exchange_consensus_and_gossip_over_their_frame_links() -> None:
    async def test(a: FramePeer, b: FramePeer) -> None:
        to_b, to_a = link_to(b, KEYS[0]), link_to(a, KEYS[1])
        try:
            to_b.send_consensus(_vote(0))
            to_b.send_txs([b"tx-a1", b"tx-a2"])
            to_a.send_consensus(_vote(1))
            to_a.send_txs([b"tx-b1"])
            await wait_for(lambda: len(b.inbox.txs) == 2 and len(a.inbox.txs) == 1)
            await wait_for(lambda: b.inbox.messages and a.inbox.messages)
            assert b.inbox.txs == [b"tx-a1", b"tx-a2"] and a.inbox.txs == [b"tx-b1"]
            assert [m.validator_index for m in b.inbox.messages] == [0]  # type: ignore[union-attr]
            assert [m.validator_index for m in a.inbox.messages] == [1]  # type: ignore[union-attr]
            assert all(c.startswith("tcp:") for c in a.carriers + b.carriers)
            assert to_b.failures == 0 and to_a.failures == 0
        finally:
            await to_b.close()
            await to_a.close()

    _run(test, FramePeer(), FramePeer())


def test_a_closed_frame_port_ends_its_links_and_the_sender_moves_to_the_stream_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def test(b: FramePeer) -> None:
        link = link_to(b)
        try:
            link.send_txs([b"by-tcp"])
            await wait_for(lambda: b.inbox.txs == [b"by-tcp"])
            await b.listener.close()  # closes the link; GetStatus now tells no frame port
            await wait_for(lambda: link.failures >= 1)
            link.send_txs([b"by-grpc"])
            await wait_for(lambda: b"by-grpc" in b.inbox.txs)
            assert b.carriers[0].startswith("tcp:") and b.carriers[-1].startswith("grpc:")
        finally:
            await link.close()

    _run(test, FramePeer())
    # The links the listener closed end quietly (asyncio logs a link task ending cancelled).
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# ------------------------------------------------------------------ fallback


def test_a_peer_that_advertises_no_frame_port_gets_frames_by_the_stream_call() -> None:
    async def test(b: FramePeer) -> None:
        link = link_to(b)
        try:
            link.send_consensus(_vote(0))
            link.send_txs([b"tx"])
            await wait_for(lambda: b.inbox.txs == [b"tx"] and len(b.inbox.messages) == 1)
            assert b.carriers and all(c.startswith("grpc:") for c in b.carriers)
        finally:
            await link.close()

    _run(test, FramePeer(frame_port=False))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_frame_port_that_refuses_connections_leaves_the_stream_call() -> None:
    port = _closed_port()  # advertised, but nothing listens there (a firewall, say)

    async def test(b: FramePeer) -> None:
        link = link_to(b)
        try:
            link.send_txs([b"tx"])
            await wait_for(lambda: b.inbox.txs == [b"tx"])
            assert b.carriers and all(c.startswith("grpc:") for c in b.carriers)
        finally:
            await link.close()

    _run(test, FramePeer(frame_port=False, advertise=lambda: port))


def _carrier_kinds(peer: FramePeer) -> list[str]:
    # One entry per Stream call or frame link the peer took: "grpc" or "tcp".
    return [carrier.split(":", 1)[0] for carrier in peer.carriers]


class _Sender:
    """Gossips numbered transactions through ``link``, a few milliseconds apart."""

    def __init__(self, link: PeerLink) -> None:
        self.link = link
        self.sent: list[bytes] = []

    async def send(self, count: int) -> None:
        for _ in range(count):
            self.sent.append(b"tx-%d" % len(self.sent))
            self.link.send_txs([self.sent[-1]])
            await asyncio.sleep(0.005)

    async def until(self, cond: Callable[[], object], timeout: float = 10.0) -> None:
        """Keep sending until ``cond()`` holds (bounded like ``wait_for``)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not cond():
            assert asyncio.get_running_loop().time() < deadline, "timed out"
            await self.send(5)


def test_a_link_on_the_stream_call_moves_to_a_frame_port_that_answers_later() -> None:
    # The peer tells its frame port before it listens there (it bound it late, or a firewall
    # rule was fixed since): the link falls back to the Stream call, tries the port again after
    # the re-check period, and moves there between two frames while traffic flows.
    port = _closed_port()

    async def test(b: FramePeer) -> None:
        link = link_to(b, frame_recheck_s=0.2)
        sender = _Sender(link)
        try:
            await sender.send(10)
            await wait_for(lambda: len(b.inbox.txs) == len(sender.sent))
            assert _carrier_kinds(b) == ["grpc"]
            await b.listener.start()  # the port answers now
            await sender.until(lambda: "tcp" in _carrier_kinds(b))
            await sender.send(20)
            await wait_for(lambda: len(b.inbox.txs) == len(sender.sent))
            assert b.inbox.txs == sender.sent  # none lost, none reordered at the switch
            assert _carrier_kinds(b) == ["grpc", "tcp"] and link.failures == 0
        finally:
            await link.close()

    _run(test, FramePeer(frame_port=False, listen=f"127.0.0.1:{port}", advertise=lambda: port))


def test_a_frame_port_that_stays_closed_leaves_the_stream_call_undisturbed() -> None:
    # Each re-check that finds the port closed changes nothing: one Stream call carries all.
    port = _closed_port()

    async def test(b: FramePeer) -> None:
        link = link_to(b, frame_recheck_s=0.02)
        sender = _Sender(link)
        try:
            await sender.send(60)  # 0.3 s at least: several re-checks
            await wait_for(lambda: len(b.inbox.txs) == len(sender.sent))
            assert b.inbox.txs == sender.sent
            assert _carrier_kinds(b) == ["grpc"] and link.failures == 0
        finally:
            await link.close()

    _run(test, FramePeer(frame_port=False, advertise=lambda: port))


# ------------------------------------------------------------------ refusals


def _opening(stream: OutboundStream) -> services_pb2.PeerOpening:
    values = dict(stream.metadata)
    return services_pb2.PeerOpening(
        key=bytes.fromhex(values["ct-peer-key"]),
        time_ms=int(values["ct-peer-time"]),
        nonce=bytes.fromhex(values["ct-peer-nonce"]),
        signature=bytes.fromhex(values["ct-peer-sig"]),
    )


async def _exchange(
    peer: FramePeer, sent: bytes, source: str = "127.0.0.1"
) -> tuple[services_pb2.PeerOpeningReply | None, bytes]:
    """Write ``sent`` to the frame port from the address ``source``; the reply to the opening
    (None: none came) and what followed it until the listener closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", peer.listener.port,
                                                   local_addr=(source, 0))  # fmt: skip
    try:
        writer.write(sent)
        writer.write_eof()  # all is sent: a link whose frames were good then ends cleanly
        rest = await asyncio.wait_for(reader.read(), 10)  # to the end: the listener closes
    except ConnectionResetError:  # closed unheard, before or while our bytes arrived
        rest = b""
    finally:
        writer.close()
    if len(rest) < 4:
        return None, rest
    (length,) = struct.unpack(">I", rest[:4])
    return services_pb2.PeerOpeningReply.FromString(rest[4 : 4 + length]), rest[4 + length :]


def _opened(stream: OutboundStream) -> bytes:
    return MAGIC + frame_bytes(_opening(stream))


def _refusal(sent: Callable[[], bytes], code: str, accepted: bool = False) -> None:
    async def test(peer: FramePeer) -> None:
        reply, rest = await _exchange(peer, sent())
        assert (reply is not None and reply.accepted) == accepted and rest == b""
        assert peer.auth.refused == {code: 1}
        assert peer.inbox.txs == [] and peer.inbox.messages == []

    _run(test, FramePeer())


def _signed(key: PrivateKey = KEYS[0], chain_id: str = CHAIN,
            clock: Callable[[], int] = clock_ms) -> OutboundStream:  # fmt: skip
    return FrameSigner(key, chain_id, clock).open("Stream")


def _bad_signature() -> bytes:
    opening = _opening(_signed())
    opening.signature = bytes([opening.signature[0] ^ 1]) + opening.signature[1:]
    return MAGIC + frame_bytes(opening)


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        (_bad_signature, "bad_call_signature"),
        (lambda: _opened(_signed(chain_id="another-chain")), "bad_call_signature"),
        (lambda: _opened(_signed(STRANGER)), "not_a_validator"),
        (lambda: _opened(_signed(clock=lambda: clock_ms() - 3_600_000)), "stale_call"),
        (lambda: b"GET / HTTP/1.1\r\n\r\n", "bad_frame_link"),
        (lambda: MAGIC + struct.pack(">I", 10_000), "frame_too_large"),
        (lambda: MAGIC + struct.pack(">I", 3) + b"\xff\xff\xff", "bad_frame_link"),
    ],
    ids=[
        "bad-signature",
        "wrong-chain",
        "unknown-key",
        "stale",
        "magic",
        "long-opening",
        "undecodable-opening",
    ],
)
def test_a_bad_opening_is_refused_and_nothing_is_delivered(
    sent: Callable[[], bytes], code: str
) -> None:
    _refusal(sent, code)


def _with_frames(*frames: Callable[[OutboundStream], bytes]) -> Callable[[], bytes]:
    def sent() -> bytes:
        stream = _signed()
        return _opened(stream) + b"".join(make(stream) for make in frames)

    return sent


def _good(stream: OutboundStream) -> bytes:
    return frame_bytes(stream.frame(TXS, _txs(b"never")))


def _tampered(stream: OutboundStream) -> bytes:
    frame = stream.frame(TXS, _txs(b"a"))
    frame.payload = _txs(b"evil")
    return frame_bytes(frame)


def _skipped(stream: OutboundStream) -> bytes:
    stream.frame(TXS, b"")  # seq 1 is made and never sent: 2 arrives where 1 is due
    return frame_bytes(stream.frame(TXS, _txs(b"a")))


def _oversized(stream: OutboundStream) -> bytes:
    return struct.pack(">I", MAX_PEER_MESSAGE_BYTES + 1)


def _from_another_stream(stream: OutboundStream) -> bytes:
    return frame_bytes(_signed().frame(TXS, _txs(b"a")))


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ((_tampered,), "bad_frame_signature"),
        ((_skipped,), "bad_frame_seq"),
        ((_from_another_stream,), "bad_frame_signature"),
        ((_oversized,), "frame_too_large"),
    ],
    ids=["tampered", "out-of-order", "other-stream", "oversized"],
)
def test_a_bad_frame_closes_the_link_and_is_not_delivered(
    frames: tuple[Callable[[OutboundStream], bytes], ...], code: str
) -> None:
    _refusal(_with_frames(*frames), code, accepted=True)


def test_a_bad_frame_after_good_ones_ends_the_link_there() -> None:
    async def test(peer: FramePeer) -> None:
        stream = _signed()
        good = frame_bytes(stream.frame(TXS, _txs(b"ok")))
        reply, _ = await _exchange(peer, _opened(stream) + good + _tampered(stream) + _good(stream))
        assert reply is not None and reply.accepted
        assert peer.inbox.txs == [b"ok"] and peer.auth.refused == {"bad_frame_signature": 1}

    _run(test, FramePeer())


def test_connections_that_say_nothing_cannot_pile_up() -> None:
    # Anyone who reaches the port may connect; only so many may wait for their opening at once.
    async def test(peer: FramePeer) -> None:
        port = peer.listener.port
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.sleep(0.1)  # both are waiting for their opening now
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed unheard
        writer.close()
        for _, quiet in silent:  # they give up: a validator gets in again
            quiet.close()
        await asyncio.sleep(0.1)
        reply, _ = await _exchange(peer, _opened(_signed()))
        assert reply is not None and reply.accepted

    _run(test, FramePeer(max_pending=2))


def _loopback_alias(host: str) -> str:
    # Another source address on this machine (Linux routes all of 127/8 to loopback).
    with socket.socket() as sock:
        try:
            sock.bind((host, 0))
        except OSError:
            pytest.skip(f"{host} is not a local address here")
    return host


def test_one_host_cannot_take_every_pending_opening() -> None:
    # Silent connections from one address fill only that address's share of the waiting room:
    # a validator connecting from another address still gets in.
    crowd = _loopback_alias("127.0.0.3")

    async def test(peer: FramePeer) -> None:
        port = peer.listener.port
        silent = [await asyncio.open_connection("127.0.0.1", port, local_addr=(crowd, 0))
                  for _ in range(2)]  # fmt: skip
        await wait_for(lambda: peer.listener.pending == 2)
        try:
            # A third from that host is closed unheard, even with a good opening ...
            refused, _ = await _exchange(peer, _opened(_signed()), source=crowd)
            assert refused is None
            # ... while one from another host is taken, though the crowd keeps waiting.
            reply, _ = await _exchange(peer, _opened(_signed()), source="127.0.0.1")
            assert reply is not None and reply.accepted and peer.listener.pending == 2
        finally:
            for _, quiet in silent:
                quiet.close()
        await wait_for(lambda: peer.listener.pending == 0)
        again, _ = await _exchange(peer, _opened(_signed()), source=crowd)
        assert again is not None and again.accepted  # its share is free again

    _run(test, FramePeer(max_pending=64, max_pending_per_host=2))


def test_a_replayed_opening_is_refused() -> None:
    async def test(peer: FramePeer) -> None:
        sent = _opened(_signed())
        first, _ = await _exchange(peer, sent)
        again, _ = await _exchange(peer, sent)
        assert first is not None and first.accepted
        assert again is not None and not again.accepted and not again.denied
        assert peer.auth.refused == {"replayed_call": 1}

    _run(test, FramePeer())


def test_an_observer_s_link_is_refused_as_denied_and_counted_as_a_failure() -> None:
    # An observer may ask GetStatus (so it learns the frame port) but send no frames.
    async def test(peer: FramePeer) -> None:
        link = link_to(peer, STRANGER)
        try:
            for n in range(1, 4):
                link.send_txs([b"tx-%d" % n])
                await wait_for(_failures_reach(link, n))
        finally:
            await link.close()
        assert peer.inbox.txs == [] and peer.carriers == []
        assert peer.auth.refused.get("not_a_validator", 0) >= 3

    _run(test, FramePeer(observers=(STRANGER.public_key,)))


def _failures_reach(link: PeerLink, count: int) -> Callable[[], bool]:
    return lambda: link.failures >= count


# ------------------------------------------------------------------ TLS


@pytest.fixture(scope="module")
def tls_homes(tmp_path_factory: pytest.TempPathFactory) -> tuple[NodeConfig, NodeConfig]:
    root = tmp_path_factory.mktemp("frame-tls")
    info = init_devnet(root / "net", validators=2, base_port=_closed_port(), tls=True,
                       require_client_cert=True)  # fmt: skip
    return NodeConfig.load(info.node_home(0)), NodeConfig.load(info.node_home(1))


def test_frames_go_over_tls_with_the_node_certificates(
    tls_homes: tuple[NodeConfig, NodeConfig],
) -> None:
    server, client = tls_homes

    async def test(peer: FramePeer) -> None:
        link = link_to(peer, tls=frame_client_context(client))
        try:
            link.send_txs([b"tx"])
            await wait_for(lambda: peer.inbox.txs == [b"tx"])
            assert all(c.startswith("tcp:") for c in peer.carriers)
        finally:
            await link.close()

    _run(test, FramePeer(tls=frame_server_context(server)))


def test_a_tls_frame_port_refuses_plaintext_and_clients_without_a_certificate(
    tls_homes: tuple[NodeConfig, NodeConfig],
) -> None:
    server, _ = tls_homes
    no_client_cert = ssl.create_default_context(cafile=str(server.tls_path("ca_file")))

    async def test(peer: FramePeer) -> None:
        for tls in (None, no_client_cert):
            link = link_to(peer, tls=tls)
            try:
                link.send_txs([b"tx"])
                # The handshake fails, so the link falls back to the (plaintext) Stream call.
                await wait_for(lambda: b"tx" in peer.inbox.txs)
            finally:
                await link.close()
            peer.inbox.txs.clear()
        assert peer.carriers and all(c.startswith("grpc:") for c in peer.carriers)

    _run(test, FramePeer(tls=frame_server_context(server)))


def test_connections_that_never_finish_their_tls_handshake_count_against_the_caps(
    tls_homes: tuple[NodeConfig, NodeConfig],
) -> None:
    # asyncio's own TLS server made the handshake before the frame port saw the connection, so
    # connections that never sent a ClientHello were held (5 s each) outside every cap.
    server, client = tls_homes

    async def test(peer: FramePeer) -> None:
        port = peer.listener.port
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        try:
            await wait_for(lambda: peer.listener.pending == 2)
            # The waiting room is full: a third connection is closed unheard ...
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.read(1), 5.0) == b""
            writer.close()
        finally:
            for _, quiet in silent:
                quiet.close()
        await wait_for(lambda: peer.listener.pending == 0)
        # ... and once they are gone a validator's TLS link is taken as before.
        link = link_to(peer, tls=frame_client_context(client))
        try:
            link.send_txs([b"tx"])
            await wait_for(lambda: peer.inbox.txs == [b"tx"])
            assert all(c.startswith("tcp:") for c in peer.carriers)
        finally:
            await link.close()

    _run(test, FramePeer(tls=frame_server_context(server), max_pending=2))


def test_tls_contexts_are_none_without_a_tls_section(tmp_path: Path) -> None:
    config = NodeConfig(home=tmp_path)
    assert frame_server_context(config) is None and frame_client_context(config) is None


# ------------------------------------------------------------------ a real node


def test_a_node_advertises_its_frame_port_bound_before_its_grpc_port(tmp_path: Path) -> None:
    info = init_devnet(tmp_path / "net", validators=1, base_port=_closed_port(),
                       wallet_kdf=TEST_KDF)  # fmt: skip
    config = make_fast(info.node_home(0))
    # A devnet's nodes take whatever frame port the system gives them (cli.tools.ports).
    assert config.frame_listen == "127.0.0.1:0"
    thread = NodeThread(config).start()
    try:
        assert thread.node is not None
        services = thread.node.services
        kinds = [type(s).__name__ for s in services]
        # Started in this order: a peer that got the gRPC port's GetStatus learns the port.
        assert kinds.index("FrameListener") < kinds.index("GrpcServer")
        listener = services[kinds.index("FrameListener")]
        assert isinstance(listener, FrameListener)
        expected = listener.port
        key = load_validator_key(config.key_path)
        status = _signed_status(info.endpoints[0], key)
        assert status.frame_port == expected != 0
    finally:
        thread.stop()
    with socket.socket() as sock:  # shutdown closed the frame port: it can be bound again
        sock.bind(("127.0.0.1", expected))


def _signed_status(endpoint: str, key: PrivateKey) -> services_pb2.PeerStatus:
    request = services_pb2.PeerStatusRequest()
    metadata = signed_metadata(key, CHAIN_OF_DEVNET, "GetStatus", request.SerializeToString(),
                               clock_ms())  # fmt: skip
    with grpc.insecure_channel(endpoint) as channel:
        stub = services_pb2_grpc.PeerServiceStub(channel)
        reply: services_pb2.PeerStatus = stub.GetStatus(request, metadata=metadata, timeout=5)
        return reply
