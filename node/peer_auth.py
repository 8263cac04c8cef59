"""Authenticated peer calls: every PeerService call is signed by the caller's node key.

The peer service shares its port with the public API, so the transport cannot tell a validator
from a wallet. Instead each call carries four gRPC metadata entries: the caller's Ed25519 public
key, a timestamp, a random nonce, and a signature by that key over (domain tag, chain id,
method, timestamp, nonce, sha256 of the serialized request). The receiver checks, in this order
(cheapest first):

1. the four entries are present and well formed (else UNAUTHENTICATED);
2. the timestamp is within ``AUTH_WINDOW_MS`` of its own clock (else UNAUTHENTICATED);
3. the key may call this method (else PERMISSION_DENIED): consensus messages and transaction
   gossip only from validators of the sets in effect at the next height and the one after (a
   validator that joins is heard from just before its first height, one that leaves until it
   is out of both), block sync also from configured observers;
4. the signature verifies over the exact request bytes received (else UNAUTHENTICATED);
5. the same signed call was not accepted a moment ago (a replay, else UNAUTHENTICATED).

One signature per call, and the node's senders batch messages, so the cost is one Ed25519
signature per batch (see the ``carbon-ticket bench`` figures in docs/operations.md). The
signature binds the request body, so a relay cannot swap the payload of a captured call.

``Stream`` (issue 19) carries the same consensus and gossip traffic as frames on one long-lived
client stream per link, because a gRPC call costs several times what a stream message does. Its
opening is checked like any call (over an empty body), and every frame is signed by the same key
over (domain tag, chain id, the opening's nonce, seq, kind, sha256 of the payload): seq starts at
1 and grows by one, so a frame cannot be replayed, moved to another stream or swapped by a relay,
and the caller's role is checked again on every frame (a validator removed from the set is cut
off at its next frame).

Both halves are gRPC interceptors: ``PeerAuthInterceptor`` on the server checks every method of
the PeerService (including ones added later), ``peer_call_signers`` on a channel signs every call
made through it. Refusals are logged at most once per ``_LOG_EVERY_S`` with a count.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from carbon_ticket.chain.crypto import (
    PrivateKey,
    address_from_public_key,
    parse_address,
    verify_signature,
)
from carbon_ticket.chain.errors import InvalidAddress, LedgerError
from carbon_ticket.proto import services_pb2

__all__ = [
    "AUTH_WINDOW_MS",
    "CONSENSUS_METHODS",
    "OPERATOR_METHODS",
    "PEER_SERVICE",
    "STREAM_METHODS",
    "FrameSigner",
    "ObserverList",
    "OutboundStream",
    "PeerAuthError",
    "PeerAuthInterceptor",
    "PeerAuthenticator",
    "call_sign_bytes",
    "frame_sign_bytes",
    "peer_call_signers",
    "signed_metadata",
]

log = logging.getLogger(__name__)

PEER_SERVICE = "carbonticket.v1.PeerService"
# Methods that change a node's consensus or mempool state: validators only. Every other
# PeerService method (block sync, status, and any read-only method added later) is also served
# to observers.
CONSENSUS_METHODS = frozenset({"SendConsensus", "GossipTxs", "Stream"})
# Client-streaming methods: the opening is signed, then every frame (``frame_sign_bytes``).
STREAM_METHODS = frozenset({"Stream"})
# Methods for this node's operator only: the call must be signed by the node's own key.
OPERATOR_METHODS = frozenset({"GetSnapshot"})
# Far wider than the consensus clock tolerance: a node whose clock is off by minutes must still
# talk (and be told, in the logs, that its clock is wrong) rather than be cut off silently. The
# window only bounds how long a captured call could be replayed; the replay cache covers that.
AUTH_WINDOW_MS = 300_000
_REPLAY_CACHE = 16_384
_LOG_EVERY_S = 10.0
_DOMAIN = b"carbon-ticket/peer-call/v1"
_FRAME_DOMAIN = b"carbon-ticket/peer-frame/v1"
_NONCE_BYTES = 16

KEY_HEADER = "ct-peer-key"
TIME_HEADER = "ct-peer-time"
NONCE_HEADER = "ct-peer-nonce"
SIG_HEADER = "ct-peer-sig"
_HEADERS = (KEY_HEADER, TIME_HEADER, NONCE_HEADER, SIG_HEADER)


class PeerAuthError(LedgerError):
    """A peer call that is not signed by a node allowed to make it."""

    default_code = "peer_unauthenticated"

    def __init__(self, message: str, code: str | None = None, *, denied: bool = False) -> None:
        super().__init__(message, code)
        self.status = (
            grpc.StatusCode.PERMISSION_DENIED if denied else grpc.StatusCode.UNAUTHENTICATED
        )


def call_sign_bytes(chain_id: str, method: str, time_ms: int, nonce: bytes, body: bytes) -> bytes:
    """The bytes a caller signs for one peer call (length-prefixed, so fields cannot shift)."""
    parts = (_DOMAIN, chain_id.encode(), method.encode(), struct.pack(">q", time_ms), nonce,
             hashlib.sha256(body).digest())  # fmt: skip
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


def frame_sign_bytes(chain_id: str, nonce: bytes, seq: int, kind: int, payload: bytes) -> bytes:
    """The bytes a sender signs for one frame of a peer stream opened with ``nonce``."""
    parts = (_FRAME_DOMAIN, chain_id.encode(), nonce, struct.pack(">QI", seq, kind),
             hashlib.sha256(payload).digest())  # fmt: skip
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


def signed_metadata(
    key: PrivateKey,
    chain_id: str,
    method: str,
    body: bytes,
    time_ms: int,
    nonce: bytes | None = None,
) -> tuple[tuple[str, str], ...]:
    """The metadata entries that authenticate one call of ``method`` with ``body``."""
    # The nonce keeps two identical calls in one millisecond from looking like a replay.
    nonce = nonce if nonce is not None else os.urandom(_NONCE_BYTES)
    signature = key.sign(call_sign_bytes(chain_id, method, time_ms, nonce, body))
    return (
        (KEY_HEADER, key.public_key.hex()),
        (TIME_HEADER, str(time_ms)),
        (NONCE_HEADER, nonce.hex()),
        (SIG_HEADER, signature.hex()),
    )


def _method_name(full: str) -> str:
    # "/carbonticket.v1.PeerService/SendConsensus" -> "SendConsensus"
    return full.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class ObserverList:
    """Nodes outside the validator set that may use block sync: public keys and/or addresses."""

    keys: frozenset[bytes] = frozenset()
    addresses: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> ObserverList:
        """Each entry is a 64-hex-digit Ed25519 public key or a ``ct1...`` address."""
        keys: set[bytes] = set()
        addresses: set[str] = set()
        for entry in entries:
            keys_or_address = _parse_observer(entry)
            if isinstance(keys_or_address, bytes):
                keys.add(keys_or_address)
            else:
                addresses.add(keys_or_address)
        return cls(frozenset(keys), frozenset(addresses))

    def __contains__(self, public_key: object) -> bool:
        if not isinstance(public_key, bytes):
            return False
        return public_key in self.keys or (
            bool(self.addresses) and address_from_public_key(public_key) in self.addresses
        )


def _parse_observer(entry: str) -> bytes | str:
    if not isinstance(entry, str):
        raise InvalidAddress(f"observer entry must be a string, got {entry!r}", "bad_config")
    text = entry.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        return str(parse_address(text))
    except InvalidAddress:
        raise InvalidAddress(
            f"observer {entry!r} is neither a 64-hex-digit public key nor a ct1 address",
            "bad_config",
        ) from None


class PeerAuthenticator:
    """Decides whether one signed peer call is accepted; counts and logs refusals."""

    def __init__(
        self,
        chain_id: str,
        is_validator: Callable[[bytes], bool],
        observers: ObserverList,
        clock_ms: Callable[[], int],
        window_ms: int = AUTH_WINDOW_MS,
        own_key: bytes | None = None,
    ) -> None:
        # ``is_validator`` is asked on every call: the set in effect changes over time (in a
        # node: node.validators.StateValidatorSets.is_member_soon, the sets of the next height
        # and the one after).
        self._own_key = own_key
        self.chain_id = chain_id
        self._is_validator = is_validator
        self._observers = observers
        self._clock_ms = clock_ms
        self._window_ms = window_ms
        self._recent: OrderedDict[bytes, None] = OrderedDict()
        self.refused: dict[str, int] = {}
        self._unlogged = 0
        self._logged_s = -_LOG_EVERY_S

    def check(self, method: str, metadata: Iterable[tuple[str, Any]], body: bytes) -> bytes:
        """The caller's public key when the call is acceptable, else raise PeerAuthError."""
        key, time_ms, nonce, signature = self._credential(metadata)
        skew = time_ms - self._clock_ms()
        if abs(skew) > self._window_ms:
            raise PeerAuthError(
                f"call timestamp is {skew / 1000:+.1f} s from the receiver's clock "
                f"(window {self._window_ms / 1000:.0f} s): check both clocks",
                "stale_call",
            )
        self._check_role(method, key)
        signed = call_sign_bytes(self.chain_id, method, time_ms, nonce, body)
        if not verify_signature(key, signed, signature):
            raise PeerAuthError("bad call signature", "bad_call_signature")
        self._check_fresh(signature)
        return key

    def check_stream(self, method: str, metadata: Iterable[tuple[str, Any]]) -> tuple[bytes, bytes]:
        """(caller's key, the opening's nonce) when a stream may open, else PeerAuthError."""
        key = self.check(method, metadata, b"")
        return key, self._credential(metadata)[2]

    async def verified_frames(
        self, method: str, key: bytes, nonce: bytes, frames: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        """The frames of a stream opened by ``key`` with ``nonce``, each checked before it is
        yielded: the next seq, the caller's role (again: the set may have changed) and the
        frame's signature. PeerAuthError ends the stream at the first bad frame."""
        expected = 1
        async for frame in frames:
            if frame.seq != expected:
                raise PeerAuthError(
                    f"frame {frame.seq} where {expected} was due (replayed or reordered)",
                    "bad_frame_seq",
                )
            self._check_role(method, key)
            signed = frame_sign_bytes(self.chain_id, nonce, frame.seq, frame.kind, frame.payload)
            if not verify_signature(key, signed, frame.signature):
                raise PeerAuthError("bad frame signature", "bad_frame_signature")
            expected += 1
            yield frame

    def _credential(self, metadata: Iterable[tuple[str, Any]]) -> tuple[bytes, int, bytes, bytes]:
        values = {k: v for k, v in metadata if k in _HEADERS}
        if len(values) != len(_HEADERS):
            raise PeerAuthError("peer calls must be signed by a node key", "no_credential")
        try:
            key = bytes.fromhex(values[KEY_HEADER])
            time_ms = int(values[TIME_HEADER])
            nonce = bytes.fromhex(values[NONCE_HEADER])
            signature = bytes.fromhex(values[SIG_HEADER])
        except (TypeError, ValueError):
            raise PeerAuthError("malformed peer credential", "bad_credential") from None
        if len(key) != 32 or len(signature) != 64 or len(nonce) != _NONCE_BYTES:
            raise PeerAuthError("malformed peer credential", "bad_credential")
        return key, time_ms, nonce, signature

    def _check_role(self, method: str, key: bytes) -> None:
        if method in OPERATOR_METHODS:
            if self._own_key is None or key != self._own_key:
                raise PeerAuthError(f"{method} is for this node's own key only", "not_operator",
                                    denied=True)  # fmt: skip
            return
        if self._is_validator(key):
            return
        if method in CONSENSUS_METHODS:
            raise PeerAuthError(f"{method} is for validators only", "not_a_validator", denied=True)
        if key not in self._observers:
            raise PeerAuthError("key is neither a validator nor a configured observer",
                                "unknown_peer", denied=True)  # fmt: skip

    def _check_fresh(self, signature: bytes) -> None:
        # Ed25519 signatures are deterministic: a repeated signature is a repeated call.
        if signature in self._recent:
            raise PeerAuthError("replayed call", "replayed_call")
        self._recent[signature] = None
        if len(self._recent) > _REPLAY_CACHE:
            self._recent.popitem(last=False)

    def note_refusal(self, error: PeerAuthError, peer: str) -> None:
        """Count a refusal; log one line per ``_LOG_EVERY_S`` however many arrive."""
        self.refused[error.code] = self.refused.get(error.code, 0) + 1
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_s >= _LOG_EVERY_S:
            self._logged_s = now
            log.warning("refused %d unauthenticated peer calls (last from %s: %s); totals %s",
                        self._unlogged, peer, error.message, dict(self.refused))  # fmt: skip
            self._unlogged = 0


@dataclass(frozen=True, slots=True)
class _Captured:
    # The request as received on the wire, next to its decoded form.
    raw: bytes
    message: Any


class PeerAuthInterceptor(grpc.aio.ServerInterceptor):
    """Server side: every PeerService method first passes ``PeerAuthenticator.check``."""

    def __init__(self, authenticator: PeerAuthenticator) -> None:
        self._auth = authenticator
        self._prefix = f"/{PEER_SERVICE}/"

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        full = str(handler_call_details.method)
        if handler is None or not full.startswith(self._prefix):
            return handler
        method = _method_name(full)
        if handler.request_streaming:
            if handler.stream_unary is not None and method in STREAM_METHODS:
                return self._guard_stream(handler, method)
            return self._refuse_streaming(handler)
        return self._guard(handler, method)

    def _guard_stream(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        inner = handler.stream_unary

        async def stream_unary(
            frames: AsyncIterator[Any], context: grpc.aio.ServicerContext
        ) -> Any:
            try:
                key, nonce = self._auth.check_stream(method, context.invocation_metadata() or ())
                return await inner(self._auth.verified_frames(method, key, nonce, frames), context)
            except PeerAuthError as exc:
                self._auth.note_refusal(exc, context.peer())
                await context.abort(exc.status, exc.message)

        return handler._replace(stream_unary=stream_unary)

    def _guard(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        decode = handler.request_deserializer

        def capture(raw: bytes) -> _Captured:
            # Keep the exact bytes: the signature covers what was sent, not a re-encoding.
            return _Captured(raw, decode(raw) if decode is not None else raw)

        async def admit(captured: _Captured, context: grpc.aio.ServicerContext) -> Any:
            try:
                self._auth.check(method, context.invocation_metadata() or (), captured.raw)
            except PeerAuthError as exc:
                self._auth.note_refusal(exc, context.peer())
                await context.abort(exc.status, exc.message)
            return captured.message

        if handler.unary_unary is not None:
            inner_uu = handler.unary_unary

            async def unary_unary(captured: _Captured, context: grpc.aio.ServicerContext) -> Any:
                return await inner_uu(await admit(captured, context), context)

            return handler._replace(request_deserializer=capture, unary_unary=unary_unary)
        inner_us = handler.unary_stream

        async def unary_stream(captured: _Captured, context: grpc.aio.ServicerContext) -> Any:
            request = await admit(captured, context)
            async for item in inner_us(request, context):
                yield item

        return handler._replace(request_deserializer=capture, unary_stream=unary_stream)

    @staticmethod
    def _refuse_streaming(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        # Only the streams of STREAM_METHODS, whose frames are signed one by one, are served.
        async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "streaming peer calls are refused")

        if handler.stream_unary is not None:
            return handler._replace(stream_unary=refuse)
        return handler._replace(stream_stream=refuse)


class _Signer:
    def __init__(self, key: PrivateKey, chain_id: str, clock_ms: Callable[[], int]) -> None:
        self._key = key
        self._chain_id = chain_id
        self._clock_ms = clock_ms

    def details(self, details: Any, request: Any) -> Any:
        full = details.method.decode() if isinstance(details.method, bytes) else details.method
        body = request.SerializeToString()
        extra = signed_metadata(self._key, self._chain_id, _method_name(full), body,
                                self._clock_ms())  # fmt: skip
        metadata = grpc.aio.Metadata(*(tuple(details.metadata or ()) + extra))
        return details._replace(metadata=metadata)


class _SignUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, signer: _Signer) -> None:
        self._signer = signer

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any,
                                    request: Any) -> Any:  # fmt: skip
        return await continuation(self._signer.details(client_call_details, request), request)


class _SignUnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, signer: _Signer) -> None:
        self._signer = signer

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any,
                                     request: Any) -> Any:  # fmt: skip
        return await continuation(self._signer.details(client_call_details, request), request)


class FrameSigner:
    """The sending side of peer streams: a signed opening, then signed, numbered frames."""

    def __init__(self, key: PrivateKey, chain_id: str, clock_ms: Callable[[], int]) -> None:
        self._key = key
        self._chain_id = chain_id
        self._clock_ms = clock_ms

    def open(self, method: str) -> OutboundStream:
        """A new stream of ``method``: its opening metadata and its frame counter."""
        nonce = os.urandom(_NONCE_BYTES)
        metadata = signed_metadata(self._key, self._chain_id, method, b"", self._clock_ms(), nonce)
        return OutboundStream(self._key, self._chain_id, nonce, metadata)


class OutboundStream:
    """One opened peer stream: makes its frames, numbered from 1 and signed."""

    def __init__(
        self, key: PrivateKey, chain_id: str, nonce: bytes, metadata: tuple[tuple[str, str], ...]
    ) -> None:
        self._key = key
        self._chain_id = chain_id
        self._nonce = nonce
        self.metadata = metadata
        self._seq = 0

    def frame(self, kind: services_pb2.PeerFrameKind, payload: bytes) -> services_pb2.PeerFrame:
        """The next frame carrying ``payload``."""
        self._seq += 1
        signature = self._key.sign(
            frame_sign_bytes(self._chain_id, self._nonce, self._seq, kind, payload)
        )
        return services_pb2.PeerFrame(
            seq=self._seq, kind=kind, payload=payload, signature=signature
        )


def peer_call_signers(
    key: PrivateKey, chain_id: str, clock_ms: Callable[[], int]
) -> Sequence[grpc.aio.ClientInterceptor]:
    """Client interceptors that sign every unary call made through a channel with ``key``."""
    signer = _Signer(key, chain_id, clock_ms)
    return (_SignUnaryUnary(signer), _SignUnaryStream(signer))
