"""Optional TLS: config, certificates, TLS devnets, refused clients and the CLI over TLS."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from cryptography import x509

from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import init_devnet, load_devnet
from carbon_ticket.node.config import ConfigError, NodeConfig, TlsSettings
from carbon_ticket.node.tls import (
    CertificateAuthority,
    ClientTls,
    channel_credentials,
    issue_certificate,
    peer_credentials,
    server_credentials,
)
from carbon_ticket.proto import services_pb2, services_pb2_grpc
from tests.cli.harness import NodeThread, free_port, make_fast
from tests.node.network import Network

# ------------------------------------------------------------------ config


def test_config_without_tls_is_plaintext_and_has_no_tls_section(tmp_path: Path) -> None:
    config = NodeConfig(home=tmp_path)
    config.save()
    assert "[tls]" not in (tmp_path / "config.toml").read_text()
    loaded = NodeConfig.load(tmp_path)
    assert loaded == config and loaded.tls is None
    assert server_credentials(loaded) is None and peer_credentials(loaded) is None


def test_config_round_trip_with_tls(tmp_path: Path) -> None:
    tls = TlsSettings("certs/a.pem", "certs/a.key", "certs/ca.pem", require_client_cert=True)
    config = NodeConfig(home=tmp_path, name="n1", peers=("10.0.0.2:1",), tls=tls)
    config.save()
    text = (tmp_path / "config.toml").read_text()
    assert "[tls]" in text and "require_client_cert = true" in text
    assert NodeConfig.load(tmp_path) == config
    assert config.tls_path("ca_file") == tmp_path / "certs/ca.pem"
    # Defaults fill missing keys.
    (tmp_path / "config.toml").write_text("[tls]\n")
    assert NodeConfig.load(tmp_path).tls == TlsSettings()


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ('[tls]\nrequire_client_cert = "yes"\n', "tls.require_client_cert"),
        ('[tls]\ncert_file = ""\n', "tls.cert_file"),
        ("[tls]\nca_file = 3\n", "tls.ca_file"),
        ('[tls]\ncert = "x.pem"\n', "cert"),
        ("tls = 1\n", "tls"),
    ],
)
def test_bad_tls_config_names_file_and_setting(tmp_path: Path, section: str, fragment: str) -> None:
    (tmp_path / "config.toml").write_text(section)
    with pytest.raises(ConfigError) as err:
        NodeConfig.load(tmp_path)
    assert str(tmp_path / "config.toml") in err.value.message
    assert fragment in err.value.message


def test_missing_or_bad_tls_files_name_the_setting(tmp_path: Path) -> None:
    config = NodeConfig(home=tmp_path, tls=TlsSettings())
    with pytest.raises(ConfigError, match=r"tls\.cert_file: file .*node\.crt does not exist"):
        server_credentials(config)
    ca = CertificateAuthority.create()
    cert, key = issue_certificate(ca, "n")
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls/node.crt").write_bytes(cert)
    (tmp_path / "tls/node.key").write_bytes(b"not a key")
    with pytest.raises(ConfigError, match=r"tls\.key_file: .* is not a PEM private key"):
        peer_credentials(config)
    (tmp_path / "tls/node.key").write_bytes(key)
    (tmp_path / "tls/ca.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\ngarbage\n")
    with pytest.raises(ConfigError, match=r"tls\.ca_file: .* not a valid PEM certificate"):
        server_credentials(config)
    (tmp_path / "tls/ca.crt").write_bytes(ca.cert_pem)
    assert server_credentials(config) is not None
    with pytest.raises(ConfigError, match="both"):
        channel_credentials(tmp_path / "tls/ca.crt", cert_file=tmp_path / "tls/node.crt")


def test_issued_certificate_has_sans_usages_and_chains_to_the_ca(tmp_path: Path) -> None:
    ca = CertificateAuthority.create()
    cert_pem, key_pem = issue_certificate(ca, "bureau-a", ("127.0.0.1", "localhost", "a.example"))
    cert = x509.load_pem_x509_certificate(cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost", "a.example"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {u.dotted_string for u in usages} == {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"}
    assert cert.issuer == ca.cert.subject
    cert.verify_directly_issued_by(ca.cert)
    assert b"PRIVATE KEY" in key_pem
    ca.save(tmp_path)
    assert (tmp_path / "ca.key").stat().st_mode & 0o777 == 0o600
    assert CertificateAuthority.load(tmp_path).cert == ca.cert


def test_node_tls_init_command(tmp_path: Path) -> None:
    home = tmp_path / "node"
    runner = CliRunner()
    result = runner.invoke(cli, ["node", "init", "--home", str(home), "--listen", "10.9.8.7:1"])
    assert result.exit_code == 0, result.output
    args = ["node", "tls-init", "--home", str(home), "--ca-dir", str(tmp_path / "ca"),
            "--host", "bureau.example", "--require-client-cert"]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    config = NodeConfig.load(home)
    assert config.tls == TlsSettings(require_client_cert=True)
    assert peer_credentials(config) is not None
    cert = x509.load_pem_x509_certificate(config.tls_path("cert_file").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "bureau.example" in sans.get_values_for_type(x509.DNSName)
    assert "10.9.8.7" in [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    # A second node reuses the same CA.
    other = tmp_path / "other"
    runner.invoke(cli, ["node", "init", "--home", str(other), "--name", "n2"])
    result = runner.invoke(cli, ["node", "tls-init", "--home", str(other), "--ca-dir",
                                 str(tmp_path / "ca")])  # fmt: skip
    assert result.exit_code == 0 and "existing" in result.output
    assert NodeConfig.load(other).tls_path("ca_file").read_bytes() == (
        config.tls_path("ca_file").read_bytes()
    )


# ------------------------------------------------------------------ one in-process TLS node


@pytest.fixture(scope="module")
def tls_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    root = tmp_path_factory.mktemp("tlsnode")
    info = init_devnet(
        root / "net", validators=1, base_port=free_port(), tls=True, wallet_kdf=TEST_KDF
    )
    thread = NodeThread(make_fast(info.node_home(0))).start()
    try:
        yield root / "net", info.endpoints[0]
    finally:
        thread.stop()


def _status(endpoint: str, credentials: grpc.ChannelCredentials | None) -> int:
    if credentials is None:
        channel = grpc.insecure_channel(endpoint)
    else:
        channel = grpc.secure_channel(endpoint, credentials)
    with channel:
        stub = services_pb2_grpc.LedgerServiceStub(channel)
        return int(stub.GetStatus(services_pb2.StatusRequest(), timeout=3).height)


def test_tls_node_serves_clients_trusting_its_ca(tls_node: tuple[Path, str]) -> None:
    home, endpoint = tls_node
    info = load_devnet(home)
    assert info.tls_ca == home / "tls/ca.crt"
    assert _status(endpoint, ClientTls(info.tls_ca).credentials()) >= 0


def test_plaintext_client_is_refused_by_a_tls_node(tls_node: tuple[Path, str]) -> None:
    _, endpoint = tls_node
    with pytest.raises(grpc.RpcError) as err:
        _status(endpoint, None)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_client_with_the_wrong_ca_is_refused(tls_node: tuple[Path, str], tmp_path: Path) -> None:
    _, endpoint = tls_node
    CertificateAuthority.create("someone else").save(tmp_path)
    with pytest.raises(grpc.RpcError) as err:
        _status(endpoint, channel_credentials(tmp_path / "ca.crt"))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def _cli(*args: str, connect_timeout: str = "3", **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CARBON_TICKET_TLS")}
    full_env.update(env, CARBON_TICKET_CONNECT_TIMEOUT=connect_timeout)
    return subprocess.run([sys.executable, "-P", "-m", "carbon_ticket.cli", *args],
                          capture_output=True, text=True, env=full_env, timeout=60)  # fmt: skip


def test_cli_query_status_over_tls(tls_node: tuple[Path, str]) -> None:
    home, endpoint = tls_node
    ca = str(home / "tls/ca.crt")
    done = _cli("query", "status", "--node", endpoint, "--tls-ca", ca, "-o", "json")
    assert done.returncode == 0, done.stderr
    assert '"chain_id"' in done.stdout
    via_env = _cli("query", "status", "--node", endpoint, CARBON_TICKET_TLS_CA=ca)
    assert via_env.returncode == 0, via_env.stderr
    # Plaintext never gets an answer from a TLS node: the client waits out its whole connect
    # timeout, so one second (not three) shows the refusal as well.
    plain = _cli("query", "status", "--node", endpoint, connect_timeout="1")
    assert plain.returncode == 4
    assert "--node" in plain.stderr and len(plain.stderr.strip().splitlines()) == 1
    missing = _cli("query", "status", "--node", endpoint, "--tls-ca", str(home / "nope.pem"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr  # bad input


def test_demo_uses_the_devnet_ca(tls_node: tuple[Path, str]) -> None:
    home, _ = tls_node
    result = CliRunner().invoke(cli, ["demo", "--home", str(home), "-o", "json"])
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------ real multi-process networks


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_tls_devnet_commits_and_agrees(tmp_path: Path) -> None:
    net = Network(tmp_path, validators=4, tls=True)
    try:
        assert all(NodeConfig.load(net.info.node_home(i)).tls is not None for i in range(4))
        net.start()
        net.wait_until("all 4 TLS validators reach height 5",
                       lambda: min(net.height(i) for i in range(4)) >= 5)  # fmt: skip
        workload = net.workload(20)  # setup transactions committed through node 0 over TLS
        assert workload is not None
        upto = min(net.height(i) for i in range(4))
        net.assert_same_chain([0, 1, 2, 3], upto)
    finally:
        net.close()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_mutual_tls_refuses_peers_without_a_client_certificate(tmp_path: Path) -> None:
    net = Network(tmp_path, validators=4, tls=True, require_client_cert=True)
    try:
        assert NodeConfig.load(net.info.node_home(0)).tls == TlsSettings(require_client_cert=True)
        net.start()
        # The validators authenticate each other with their node certificates.
        net.wait_until("all 4 mTLS validators reach height 3",
                       lambda: min(net.height(i) for i in range(4)) >= 3)  # fmt: skip
        assert net.info.tls_ca is not None
        endpoint = net.endpoints[0]
        # Trusting the CA is not enough: without a client certificate the handshake fails, so
        # no consensus message gets through.
        channel = grpc.secure_channel(endpoint, channel_credentials(net.info.tls_ca))
        with channel:
            peer = services_pb2_grpc.PeerServiceStub(channel)
            with pytest.raises(grpc.RpcError) as err:
                peer.SendConsensus(services_pb2.ConsensusBatch(), timeout=3)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        # A certificate from another CA is refused too.
        other = CertificateAuthority.create("intruder")
        cert, key = issue_certificate(other, "intruder")
        (tmp_path / "intruder.crt").write_bytes(cert)
        (tmp_path / "intruder.key").write_bytes(key)
        creds = channel_credentials(net.info.tls_ca, tmp_path / "intruder.crt",
                                    tmp_path / "intruder.key")  # fmt: skip
        with grpc.secure_channel(endpoint, creds) as channel:
            peer = services_pb2_grpc.PeerServiceStub(channel)
            with pytest.raises(grpc.RpcError) as err:
                peer.SendConsensus(services_pb2.ConsensusBatch(), timeout=3)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        # The devnet client certificate is accepted (and the CLI can use it).
        assert net.info.tls_client_cert is not None and net.info.tls_client_key is not None
        done = _cli("query", "status", "--node", endpoint, "--tls-ca", str(net.info.tls_ca),
                    "--tls-cert", str(net.info.tls_client_cert),
                    "--tls-key", str(net.info.tls_client_key))  # fmt: skip
        assert done.returncode == 0, done.stderr
        upto = min(net.height(i) for i in range(4))
        net.assert_same_chain([0, 1, 2, 3], upto)
    finally:
        net.close()


def test_network_default_stays_plaintext(tmp_path: Path) -> None:
    net = Network(tmp_path, validators=1)
    try:
        assert net.credentials is None
        assert NodeConfig.load(net.info.node_home(0)).tls is None
        assert load_devnet(net.info.home).tls_ca is None
    finally:
        net.close()


def test_dataclass_replace_keeps_tls(tmp_path: Path) -> None:
    config = NodeConfig(home=tmp_path, tls=TlsSettings())
    assert dataclasses.replace(config, log_level="DEBUG").tls == TlsSettings()
