"""A plaintext client at a TLS node (docs/operations.md, "TLS", "Clients"): the CLI says to give
the network's CA, not that nothing answers there."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from click.testing import CliRunner

from carbon_ticket.cli.main import cli
from carbon_ticket.node.tls import CertificateAuthority, issue_certificate

# Short waits: the node never becomes ready for a plaintext channel.
_ENV = {"CARBON_TICKET_CONNECT_TIMEOUT": "1", "CARBON_TICKET_TLS_CA": None,
        "CARBON_TICKET_NODE": None, "CARBON_TICKET_CONFIG": None}  # fmt: skip


@pytest.fixture
def tls_port() -> Iterator[str]:
    """127.0.0.1:PORT of a gRPC server that speaks TLS only (a node with a [tls] section)."""
    cert, key = issue_certificate(CertificateAuthority.create(), "node0")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key, cert)]))
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


def _status(node: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["query", "status", "--node", node], env=_ENV)
    return result.exit_code, result.output


def test_a_plaintext_client_at_a_tls_node_is_told_to_give_the_ca(tls_port: str) -> None:
    code, out = _status(tls_port)
    assert code == 4, out
    assert len(out.strip().splitlines()) == 1, out
    assert "--tls-ca" in out and "CARBON_TICKET_TLS_CA" in out and tls_port in out, out
    assert "nothing answers" not in out, out


def test_a_closed_port_still_says_nothing_answers(dead_address: str) -> None:
    code, out = _status(dead_address)
    assert code == 4, out
    assert "nothing answers" in out and "--tls-ca" not in out, out
