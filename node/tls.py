"""Optional TLS for the gRPC port and the links between validators.

Two halves:

* loading: turn a node's ``[tls]`` settings (or a client's CA/cert/key files) into gRPC server or
  channel credentials, with a ConfigError naming the setting and file when something is wrong;
* issuing: a small private CA and per-node (or per-client) certificates with the ``cryptography``
  package, for ``carbon-ticket node tls-init``, ``devnet init --tls`` and tests. Bureaus with a
  PKI of their own can ignore this half and point the config at their files.

Keys are ECDSA P-256. Node certificates carry serverAuth and clientAuth, so one certificate serves
the port and authenticates the node to its peers under mutual TLS.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from carbon_ticket.node.config import ConfigError, NodeConfig, TlsSettings

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "CertificateAuthority",
    "ClientTls",
    "channel_credentials",
    "frame_client_context",
    "frame_server_context",
    "issue_certificate",
    "load_or_create_ca",
    "peer_credentials",
    "server_credentials",
    "write_node_tls",
    "write_private",
]

CA_CERT_FILE = "ca.crt"
CA_KEY_FILE = "ca.key"
DEFAULT_HOSTS = ("localhost", "127.0.0.1")
CA_VALIDITY_DAYS = 3650
CERT_VALIDITY_DAYS = 825  # the longest lifetime common TLS clients accept for leaf certificates


# ---------------------------------------------------------------------------------- loading


def _read(path: Path, setting: str, pem_kind: str) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{setting}: file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc}") from exc
    if b"-----BEGIN " not in data:
        raise ConfigError(f"{setting}: {path} is not a PEM {pem_kind}")
    try:
        if pem_kind == "certificate":
            x509.load_pem_x509_certificates(data)
        else:
            serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{setting}: {path} is not a valid PEM {pem_kind}: {exc}") from exc
    return data


def _node_files(config: NodeConfig) -> tuple[TlsSettings, bytes, bytes, bytes]:
    tls = config.tls
    if tls is None:
        raise ConfigError(f"{config.home}: no [tls] section")
    cert = _read(config.tls_path("cert_file"), "tls.cert_file", "certificate")
    key = _read(config.tls_path("key_file"), "tls.key_file", "private key")
    ca = _read(config.tls_path("ca_file"), "tls.ca_file", "certificate")
    return tls, cert, key, ca


def server_credentials(config: NodeConfig) -> grpc.ServerCredentials | None:
    """Credentials for the node's port, or None for plaintext (no ``[tls]`` section)."""
    if config.tls is None:
        return None
    tls, cert, key, ca = _node_files(config)
    return grpc.ssl_server_credentials(
        [(key, cert)],
        root_certificates=ca if tls.require_client_cert else None,
        require_client_auth=tls.require_client_cert,
    )


def peer_credentials(config: NodeConfig) -> grpc.ChannelCredentials | None:
    """Credentials for links to peers: trust the CA and present this node's certificate.

    The node's own certificate is always offered (a peer that does not ask simply ignores it), so
    turning on ``require_client_cert`` across a network needs no second certificate.
    """
    if config.tls is None:
        return None
    _, cert, key, ca = _node_files(config)
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )


def frame_server_context(config: NodeConfig) -> ssl.SSLContext | None:
    """The frame link's listener side of ``server_credentials``: the same certificate, and the
    same client check (mutual TLS with ``require_client_cert``); None for plaintext."""
    if config.tls is None:
        return None
    tls, _, _, ca = _node_files(config)  # read and checked first: a ConfigError names the file
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_path("cert_file"), config.tls_path("key_file"))
    if tls.require_client_cert:
        context.load_verify_locations(cadata=ca.decode())
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def frame_client_context(config: NodeConfig) -> ssl.SSLContext | None:
    """The frame link's dialling side of ``peer_credentials``: trust the CA only, check the
    peer's name against its certificate (as gRPC does), present this node's certificate."""
    if config.tls is None:
        return None
    _, _, _, ca = _node_files(config)
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca.decode())
    context.load_cert_chain(config.tls_path("cert_file"), config.tls_path("key_file"))
    return context


@dataclass(frozen=True, slots=True)
class ClientTls:
    """What a client (CLI, load generator) needs to reach a TLS node."""

    ca_file: Path
    cert_file: Path | None = None  # client certificate, for nodes requiring mutual TLS
    key_file: Path | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        """gRPC channel credentials (ConfigError naming the file when one is unusable)."""
        return channel_credentials(self.ca_file, self.cert_file, self.key_file)


def channel_credentials(
    ca_file: str | Path, cert_file: str | Path | None = None, key_file: str | Path | None = None
) -> grpc.ChannelCredentials:
    """Channel credentials trusting ``ca_file``, optionally with a client certificate and key."""
    if (cert_file is None) != (key_file is None):
        raise ConfigError("a TLS client certificate needs both the certificate and its key")
    ca = _read(Path(ca_file), "TLS CA", "certificate")
    cert = key = None
    if cert_file is not None and key_file is not None:
        cert = _read(Path(cert_file), "TLS client certificate", "certificate")
        key = _read(Path(key_file), "TLS client key", "private key")
    return grpc.ssl_channel_credentials(
        root_certificates=ca, private_key=key, certificate_chain=cert
    )


# ---------------------------------------------------------------------------------- issuing


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A private CA: its certificate and signing key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate in PEM (what every node and client trusts)."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def create(cls, name: str = "Carbon Ticket Ledger CA") -> CertificateAuthority:
        """A new self-signed CA valid for ten years."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_VALIDITY_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    def save(self, directory: Path) -> None:
        """Write ``ca.crt`` and ``ca.key`` (mode 0600) into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CA_CERT_FILE).write_bytes(self.cert_pem)
        write_private(directory / CA_KEY_FILE, _key_pem(self.key))

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        """Read ``ca.crt`` and ``ca.key`` from ``directory``."""
        cert_data = _read(directory / CA_CERT_FILE, "CA certificate", "certificate")
        key_data = _read(directory / CA_KEY_FILE, "CA key", "private key")
        key = serialization.load_pem_private_key(key_data, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ConfigError(f"{directory / CA_KEY_FILE} is not an ECDSA key")
        return cls(x509.load_pem_x509_certificate(cert_data), key)


def load_or_create_ca(directory: Path) -> tuple[CertificateAuthority, bool]:
    """The CA in ``directory``, created there first if absent; the flag tells whether it is new."""
    if (directory / CA_CERT_FILE).exists() or (directory / CA_KEY_FILE).exists():
        return CertificateAuthority.load(directory), False
    ca = CertificateAuthority.create()
    ca.save(directory)
    return ca, True


def issue_certificate(
    ca: CertificateAuthority,
    common_name: str,
    hosts: Iterable[str] = DEFAULT_HOSTS,
    server: bool = True,
) -> tuple[bytes, bytes]:
    """A certificate signed by ``ca`` and its new key, both PEM: ``(cert_pem, key_pem)``.

    ``hosts`` (IP addresses or DNS names) become subjectAltName entries: a client checks the
    address it dialled against them. The certificate is always good for client authentication;
    with ``server`` also for serving.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server:
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def write_node_tls(
    config: NodeConfig,
    ca: CertificateAuthority,
    hosts: Iterable[str] = DEFAULT_HOSTS,
    settings: TlsSettings | None = None,
) -> NodeConfig:
    """Issue this node's certificate, write cert, key and CA certificate into its home, and
    return the config with the ``[tls]`` section (not saved: the caller decides)."""
    settings = settings or config.tls or TlsSettings()
    cert, key = issue_certificate(ca, config.name, hosts)
    home = config.home
    for name in (settings.cert_file, settings.key_file, settings.ca_file):
        (home / name).parent.mkdir(parents=True, exist_ok=True)
    (home / settings.cert_file).write_bytes(cert)
    write_private(home / settings.key_file, key)
    (home / settings.ca_file).write_bytes(ca.cert_pem)
    return replace(config, tls=settings)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_private(path: Path, data: bytes) -> None:
    """Write a private key file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
