"""The node's gRPC server as a ``node.ports.Service``: public API, peer service, health and
reflection on one port, every peer call authenticated by ``node.peer_auth``."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from carbon_ticket.node.api_guard import ApiGuard
from carbon_ticket.node.config import ConfigError, NodeConfig
from carbon_ticket.node.peer_auth import PeerAuthenticator, PeerAuthInterceptor
from carbon_ticket.node.peers import channel_options
from carbon_ticket.node.request_log import RequestLogInterceptor
from carbon_ticket.node.service_peer import PeerServicer
from carbon_ticket.node.service_public import LedgerServicer
from carbon_ticket.node.tls import server_credentials
from carbon_ticket.proto import services_pb2, services_pb2_grpc

__all__ = ["GrpcServer"]


class GrpcServer:
    """Serves the two servicers on ``config.listen`` (TLS when the config says so)."""

    def __init__(
        self,
        config: NodeConfig,
        peer_auth: PeerAuthenticator,
        ledger: LedgerServicer,
        peer: PeerServicer,
    ) -> None:
        self._config = config
        self._peer_auth = peer_auth
        self._ledger = ledger
        self._peer = peer
        self._server: grpc.aio.Server | None = None
        # One line per malformed or refused request, rate-limited (node.request_log).
        self.request_log = RequestLogInterceptor()
        # Per-client limits of the public API ([api] in config.toml; node.api_guard).
        self.api_guard = ApiGuard(config.api, lines=self.request_log.lines)

    async def start(self) -> None:
        """Open the port; ConfigError when it cannot be had."""
        # The transport admits [api] max_message_bytes (by default twice the peer limit, so that
        # the servicers see and log oversized peer messages instead of gRPC dropping them
        # silently); public API requests are held to the smaller max_request_bytes by the guard.
        # The guard comes before the request log: it refuses a call over a limit before the
        # request is decoded, and the request log then refuses one that does not decode.
        server = grpc.aio.server(
            # No SO_REUSEPORT: a second node on this port must fail, not share it silently.
            options=[
                *channel_options(self._config.api.max_message_bytes),
                ("grpc.so_reuseport", 0),
            ],
            interceptors=[PeerAuthInterceptor(self._peer_auth), self.api_guard, self.request_log],
        )
        services_pb2_grpc.add_PeerServiceServicer_to_server(self._peer, server)
        services_pb2_grpc.add_LedgerServiceServicer_to_server(self._ledger, server)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        names = (
            services_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name,
            services_pb2.DESCRIPTOR.services_by_name["PeerService"].full_name,
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(names, server)
        credentials = server_credentials(self._config)
        try:
            if credentials is None:
                port = server.add_insecure_port(self._config.listen)
            else:
                port = server.add_secure_port(self._config.listen, credentials)
        except RuntimeError:
            port = 0  # newer grpcio raises where older ones returned 0
        if port == 0:
            raise ConfigError(
                f"cannot listen on {self._config.listen}: the port is in use (another node?) or "
                "the address is not one of this machine's; change `listen` in config.toml"
            )
        await server.start()
        self._server = server
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)

    async def close(self) -> None:
        """Stop serving (calls in flight get a second to finish)."""
        if self._server is not None:
            await self._server.stop(grace=1.0)
        self.request_log.lines.flush()
