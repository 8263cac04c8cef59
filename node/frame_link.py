"""Frame links: the signed frames of ``PeerService.Stream`` on a plain TCP connection (issue 19).

A gRPC stream costs each side 235-350 µs of CPU per message, a plain asyncio TCP stream 60-190
(tests/node/microbench_frames.py); four validators sharing two cores exchange several hundred
frames a second, so the consensus and gossip traffic gets a connection of its own. Only the
carriage changes: the opening is the credential a Stream call carries in its metadata, checked
by the same ``PeerAuthenticator.check_stream`` (same replay cache), and every frame is the same
``PeerFrame``, checked by ``verified_frames`` and handed to ``PeerServicer.receive_frames``.

Wire format, after the TLS handshake when the node has ``[tls]``::

    dialler:  MAGIC, uint32 length + PeerOpening
    listener: uint32 length + PeerOpeningReply      (then closes, when refused)
    dialler:  uint32 length + PeerFrame, repeated   (lengths big-endian)

A bad magic, length, opening or frame closes the connection and changes nothing: a
``PeerAuthError`` (code ``bad_frame_link`` or ``frame_too_large`` for the wire format), which
the listener counts with the other refused peer calls (one log line per ``_LOG_EVERY_S`` of
``node.peer_auth``). A node finds a peer's frame port in its ``GetStatus`` answer
(``PeerStatus.frame_port``); ``node.peers.PeerLink`` falls back to the Stream call when there is
none or it cannot be reached, and tries the port again from time to time (node.carrier_switch).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from carbon_ticket.chain.errors import ResourceExhausted
from carbon_ticket.node.config import ConfigError
from carbon_ticket.node.peer_auth import (
    KEY_HEADER,
    NONCE_HEADER,
    SIG_HEADER,
    TIME_HEADER,
    OutboundStream,
    PeerAuthenticator,
    PeerAuthError,
)
from carbon_ticket.proto import services_pb2

__all__ = [
    "MAGIC",
    "MAX_PEER_MESSAGE_BYTES",
    "MAX_PENDING_OPENINGS",
    "MAX_PENDING_PER_HOST",
    "FrameConnection",
    "FrameDialer",
    "FrameListener",
    "FrameQueue",
    "frame_bytes",
]

log = logging.getLogger(__name__)

# The largest message between two validators, on either carrier (gRPC: node.peers.channel_options).
MAX_PEER_MESSAGE_BYTES = 32 * 1024 * 1024
MAGIC = b"CTF1"  # carbon-ticket frames, version 1: anything else is not a frame link
STREAM = "Stream"  # the credential is the Stream call's: same signature, same replay cache
_LENGTH = struct.Struct(">I")
_MAX_OPENING_BYTES = 1024  # four short fields; a larger opening is not one
_OPENING_TIMEOUT_S = 5.0  # a connection that says nothing (or no TLS handshake) is closed
# Connections still before their opening, at once: beyond it a new one is closed unheard, so
# that anyone who reaches the port cannot hold many sockets (and their tasks) for free. The
# validators of a network need one each; the rest of the bound is for reconnects.
MAX_PENDING_OPENINGS = 64
# The same from one remote host (IP address), so that one host cannot hold all of the above and
# keep the validators out: a validator needs one at a time (a few while it reconnects, or for
# several validators behind one NAT address).
MAX_PENDING_PER_HOST = 8
_KEEPALIVE_S = 10  # as the gRPC channel's keepalive: a vanished peer is noticed
FrameQueue = asyncio.Queue[tuple[services_pb2.PeerFrameKind, bytes]]
_M = TypeVar("_M", bound=Message)
Deliver = Callable[[AsyncIterator[services_pb2.PeerFrame], str], Awaitable[int]]


def frame_bytes(message: Message) -> bytes:
    """One length-prefixed message as it goes on the wire."""
    data = message.SerializeToString()
    return _LENGTH.pack(len(data)) + data


async def _read_message(reader: asyncio.StreamReader, limit: int, what: str) -> bytes | None:
    # None: the connection ended cleanly before the message (between two frames).
    try:
        header = await reader.readexactly(_LENGTH.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    (length,) = _LENGTH.unpack(header)
    if length > limit:
        raise PeerAuthError(f"{what} of {length} bytes (limit {limit})", "frame_too_large")
    return await reader.readexactly(length)


def _decode(kind: type[_M], data: bytes | None, what: str) -> _M:
    if data is None:
        raise PeerAuthError(f"connection closed before its {what}", "bad_frame_link")
    try:
        return kind.FromString(data)
    except DecodeError as exc:
        raise PeerAuthError(f"undecodable {what}: {exc}", "bad_frame_link") from None


def _opening(stream: OutboundStream) -> services_pb2.PeerOpening:
    # The metadata of a Stream call, as fields (hex and decimal text back to bytes and int).
    values = dict(stream.metadata)
    return services_pb2.PeerOpening(
        key=bytes.fromhex(values[KEY_HEADER]),
        time_ms=int(values[TIME_HEADER]),
        nonce=bytes.fromhex(values[NONCE_HEADER]),
        signature=bytes.fromhex(values[SIG_HEADER]),
    )


def _opening_metadata(opening: services_pb2.PeerOpening) -> tuple[tuple[str, str], ...]:
    # What check_stream reads from a Stream call: one checker for both carriers.
    return (
        (KEY_HEADER, opening.key.hex()),
        (TIME_HEADER, str(opening.time_ms)),
        (NONCE_HEADER, opening.nonce.hex()),
        (SIG_HEADER, opening.signature.hex()),
    )


def _keep_alive(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", _KEEPALIVE_S), ("TCP_KEEPINTVL", _KEEPALIVE_S),
                          ("TCP_KEEPCNT", 3)):  # fmt: skip
        if hasattr(socket, option):  # Linux; elsewhere the system's defaults
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):  # TimeoutError included
        await asyncio.wait_for(writer.wait_closed(), 1.0)


# ---------------------------------------------------------------------------------- dialling


@dataclass(frozen=True)
class FrameDialer:
    """How a node dials its peers' frame ports: TLS as its gRPC channels (None: plaintext)."""

    tls: ssl.SSLContext | None = None
    timeout_s: float = 3.0  # for the connection and the opening's reply together

    async def open(self, host: str, port: int, stream: OutboundStream) -> FrameConnection:
        """A frame link whose opening the peer accepted; PeerAuthError when it refused it (its
        verdict on our key, set or clock), OSError (TimeoutError and ConnectionError included)
        or EOFError when it cannot be reached or does not answer as a frame port."""
        host = host.strip("[]")  # an IPv6 literal of a gRPC target
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=self.tls,
                                    server_hostname=host if self.tls else None),
            self.timeout_s,
        )  # fmt: skip
        try:
            _keep_alive(writer)
            writer.write(MAGIC + frame_bytes(_opening(stream)))
            data = await asyncio.wait_for(
                _read_message(reader, _MAX_OPENING_BYTES, "reply"), self.timeout_s
            )
            reply = _decode(services_pb2.PeerOpeningReply, data, "reply")
        except PeerAuthError as exc:
            # Not the peer's verdict: something at that port that is no frame link.
            await _close(writer)
            raise ConnectionError(f"no frame link reply: {exc.message}") from None
        except BaseException:
            await _close(writer)
            raise
        if not reply.accepted:
            await _close(writer)
            raise PeerAuthError(reply.reason or "refused", "frame_link_refused",
                                denied=reply.denied)  # fmt: skip
        return FrameConnection(reader, writer)


class FrameConnection:
    """The dialler's side of one accepted frame link."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def pump(
        self,
        stream: OutboundStream,
        first: tuple[services_pb2.PeerFrameKind, bytes] | None,
        queue: FrameQueue,
    ) -> None:
        """Sign and write ``first`` (if any) and then every frame ``queue`` gives, each burst in
        one write, until the connection breaks: raises ConnectionError (never returns)."""
        task = asyncio.current_task()
        assert task is not None
        pumping, lost = True, False

        def peer_closed(watch: asyncio.Future[bytes]) -> None:
            # The listener never writes after its reply: a read that ends is the connection
            # ending. Cancelling wakes the pump wherever it waits (an idle link included); a
            # callback that runs after the pump ended (it broke by itself) does nothing.
            nonlocal lost
            if not watch.cancelled():
                watch.exception()  # retrieved: a reset is no error of ours
            if pumping:
                lost = True
                task.cancel()

        watch = asyncio.ensure_future(self._reader.read(1))
        watch.add_done_callback(peer_closed)
        try:
            frame = first if first is not None else await queue.get()
            while True:
                burst = [frame_bytes(stream.frame(*frame))]
                while not queue.empty():
                    burst.append(frame_bytes(stream.frame(*queue.get_nowait())))
                self._writer.write(b"".join(burst))
                await self._writer.drain()
                frame = await queue.get()
        except asyncio.CancelledError:
            if lost and task.uncancel() == 0:
                raise ConnectionResetError("the peer closed the frame link") from None
            raise
        finally:
            pumping = False
            watch.cancel()

    async def close(self) -> None:
        """Close the connection."""
        await _close(self._writer)


# ---------------------------------------------------------------------------------- listening


class FrameListener:
    """The frame port as a ``node.ports.Service``: checks each link's opening and frames with the
    node's ``PeerAuthenticator`` and hands the frames to ``deliver`` (the gRPC Stream's code)."""

    def __init__(
        self,
        address: str,
        authenticator: PeerAuthenticator,
        deliver: Deliver,
        tls: ssl.SSLContext | None = None,
        *,
        required: bool = True,
        max_pending: int = MAX_PENDING_OPENINGS,
        max_pending_per_host: int = MAX_PENDING_PER_HOST,
    ) -> None:
        # ``required`` False (frame_listen = "auto"): a port that is taken is skipped with a
        # warning, and peers send by the gRPC port as to an older release.
        self._address = address
        self._max_pending = max_pending
        self._max_pending_per_host = max_pending_per_host
        self._pending = 0  # connections not yet past their opening
        self._pending_from: dict[str, int] = {}  # the same by remote host (none at 0)
        self._auth = authenticator
        self._deliver = deliver
        self._tls = tls
        self._required = required
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """Connections waiting for their opening now."""
        return self._pending

    @property
    def port(self) -> int:
        """The bound TCP port (0: not listening)."""
        if self._server is None or not self._server.sockets:
            return 0
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Bind the port; ConfigError when it cannot be had and was asked for by name."""
        host, _, port = self._address.rpartition(":")
        try:
            # Plain TCP: with [tls] each link's handshake is made in ``_take``, inside the
            # counted wait for its opening, so the caps hold for handshakes never finished too.
            self._server = await asyncio.start_server(
                self._serve, host.strip("[]"), int(port), reuse_address=True
            )
        except OSError as exc:
            self._server = None
            if self._required:
                raise ConfigError(
                    f"cannot listen for peer frames on {self._address}: {exc.strerror}; change "
                    "`frame_listen` in config.toml"
                ) from exc
            log.warning("cannot listen for peer frames on %s (%s): peers send them by the gRPC "
                        "port; set frame_listen in config.toml", self._address,
                        exc.strerror)  # fmt: skip
            return
        log.info("listening for peer frames on %s:%d%s", host, self.port,
                 " (TLS)" if self._tls is not None else "")  # fmt: skip

    async def close(self) -> None:
        """Stop listening and close every link."""
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        peer = _peer_name(writer)
        host = _peer_host(writer)
        from_host = self._pending_from.get(host, 0)
        if self._pending >= self._max_pending or from_host >= self._max_pending_per_host:
            log.debug("frame link from %s closed unheard: %d openings pending, %d from its host",
                      peer, self._pending, from_host)  # fmt: skip
            self._links.discard(task)
            await _close(writer)
            return
        try:
            await self._take(reader, writer, peer, host)
        except PeerAuthError as exc:
            self._auth.note_refusal(exc, peer)
        except ResourceExhausted:
            pass  # logged by the servicer; the sender is broken
        except (OSError, EOFError) as exc:  # TimeoutError included
            log.debug("frame link from %s ended: %r", peer, exc)
        except asyncio.CancelledError:
            # Only close() cancels a link; asyncio's server reports a link task that ends
            # cancelled as an error, so it ends here, quietly.
            pass
        finally:
            self._links.discard(task)
            await _close(writer)

    async def _take(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str, host: str
    ) -> None:
        # Counted from here to the opening: no await between the caps' check and this.
        self._pending += 1
        self._pending_from[host] = self._pending_from.get(host, 0) + 1
        try:
            async with asyncio.timeout(_OPENING_TIMEOUT_S):  # handshake and opening together
                if self._tls is not None:
                    await writer.start_tls(self._tls)
                opening = await self._read_opening(reader)
        finally:
            self._pending -= 1
            self._pending_from[host] -= 1
            if not self._pending_from[host]:
                del self._pending_from[host]  # the map holds only hosts waiting now
        try:
            key, nonce = self._auth.check_stream(STREAM, _opening_metadata(opening))
        except PeerAuthError as exc:
            denied = exc.status == grpc.StatusCode.PERMISSION_DENIED
            reply = services_pb2.PeerOpeningReply(denied=denied, reason=exc.message)
            writer.write(frame_bytes(reply))
            raise
        writer.write(frame_bytes(services_pb2.PeerOpeningReply(accepted=True)))
        _keep_alive(writer)
        await self._deliver(self._auth.verified_frames(STREAM, key, nonce, _frames(reader)), peer)

    @staticmethod
    async def _read_opening(reader: asyncio.StreamReader) -> services_pb2.PeerOpening:
        magic = await reader.readexactly(len(MAGIC))
        if magic != MAGIC:
            raise PeerAuthError("not a frame link (bad magic)", "bad_frame_link")
        data = await _read_message(reader, _MAX_OPENING_BYTES, "opening")
        return _decode(services_pb2.PeerOpening, data, "opening")


async def _frames(reader: asyncio.StreamReader) -> AsyncIterator[services_pb2.PeerFrame]:
    # The frames as they arrive, unchecked (verified_frames checks each), until a clean end.
    while True:
        data = await _read_message(reader, MAX_PEER_MESSAGE_BYTES, "frame")
        if data is None:
            return
        yield _decode(services_pb2.PeerFrame, data, "frame")


def _peer_host(writer: asyncio.StreamWriter) -> str:
    # The remote IP address (its port differs per connection); "?" when unknown.
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and address:
        return str(address[0])
    return "?"


def _peer_name(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"tcp:{address[0]}:{address[1]}"
    return "tcp:?"
