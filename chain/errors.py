"""The one error tree of the project, drawn in full.

Every error a user can see carries a stable machine code (``code``) and a message a person can
act on. The node maps the classes below to gRPC status codes in one place (``node.errors``);
the CLI prints ``message`` and exits non-zero. Classes defined outside this module say where
they live; they derive from the classes here, so one ``except LedgerError`` catches them all.
Roots are abstract: nothing raises ``LedgerError`` or ``ConsensusError`` itself, a concrete
class says what went wrong (tests/test_errors.py checks this drawing against the code, and
that no root is raised)::

    LedgerError                      root; never raised directly
    ├── InvalidTransaction           malformed input, bad signature, wrong chain id, bad field
    │   ├── InvalidAmount            tCO2e text that is not an exact, in-range quantity
    │   └── InvalidAddress           address text that is not a valid checksummed ``ct1...``
    ├── InvalidBlock                 a block (proposed, synced or stored) breaks the chain's rules
    ├── InvalidGenesis               a genesis file that cannot start a chain
    ├── InvalidRequest               an API or peer request that is malformed (not a transaction)
    │   └── PeerMessageError         node.codec: a peer's consensus message or certificate
    ├── PreconditionFailed           the current state refuses it (nonce, balance, status)
    ├── PermissionDenied             signer lacks the role or ownership the action needs
    ├── NotFound                     unknown account, project, report, batch, tx, block
    ├── OutOfRange                   past what this node holds now (a stream's start); retry
    ├── AlreadyExists                duplicate id or duplicate transaction
    ├── ResourceExhausted            mempool or rate limits full; try again later
    │   └── Refusal                  node.api_guard: a client over its [api] limit
    ├── StorageError                 the block store cannot be opened or is inconsistent
    │   ├── StoreInUse               another process holds the store
    │   ├── DiskFull                 node.errors: the data directory's disk is full
    │   └── StoreDamaged             node.errors: checksum mismatch, truncated or lost data
    ├── ConfigError                  a configuration file or value is wrong (node, TLS, client)
    ├── PeerAuthError                node.peer_auth: a peer call not signed by an allowed node
    ├── BackupError                  node.backup: a backup that cannot be made, trusted or installed
    ├── InternalError                node.errors: a bug in the node, answered as gRPC INTERNAL
    ├── KeystoreError                cli.keystore: a wallet keystore file or key name is unusable
    │   ├── InvalidKeyName           cli.keystore: a key name the keystore cannot hold (bad input)
    │   └── WrongPassword            cli.keystore: the password does not decrypt the key
    ├── BundleError                  cli.verify: a certificate bundle does not prove itself
    └── UnusableFile                 cli.verify: a file verify was given cannot be read or parsed

    ConsensusError                   consensus.errors: the consensus package's own root
    ├── InvalidValidatorSet          the validator set itself is malformed
    ├── InvalidCertificate           a commit certificate does not prove its block
    ├── InvalidEvidence              a duplicate-vote evidence object does not hold up
    └── SafetyStoreError             a stored signing state cannot be decoded

    ValueError
    └── Bech32Error                  chain.bech32: text that is not bech32m (internal)

    ClickException
    └── CliError                     cli.common: a command's one-line failure and exit code

Why three more roots: ``consensus`` imports nothing from ``chain`` (tests/test_quality.py), so
its errors cannot derive from ``LedgerError``; the node meets them where it verifies
certificates and evidence or loads its signing state, and handles them there.
``Bech32Error`` is the codec's own error and never leaves ``chain.crypto``, which turns it into
``InvalidAddress``. ``CliError`` is click's way to end a command; ``cli.common.reports_errors``
builds it from the ledger errors above.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "ConfigError",
    "InvalidAddress",
    "InvalidAmount",
    "InvalidBlock",
    "InvalidGenesis",
    "InvalidRequest",
    "InvalidTransaction",
    "LedgerError",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "PreconditionFailed",
    "ResourceExhausted",
    "StorageError",
    "StoreInUse",
]


class LedgerError(Exception):
    """Root of every ledger error: a stable ``code`` plus a human-readable ``message``."""

    default_code = "ledger_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidTransaction(LedgerError):
    """The input itself is wrong: malformed, badly signed, out of limits, wrong chain."""

    default_code = "invalid_transaction"


class InvalidAmount(InvalidTransaction):
    """A tCO2e quantity that cannot be represented exactly in grams within uint64."""

    default_code = "invalid_amount"


class InvalidAddress(InvalidTransaction):
    """Address text with a wrong prefix, character set, length or checksum."""

    default_code = "invalid_address"


class InvalidBlock(LedgerError):
    """A block that does not extend this chain under its rules (header, roots, txs, time)."""

    default_code = "bad_block"


class InvalidGenesis(LedgerError):
    """A genesis document that is malformed or inconsistent."""

    default_code = "invalid_genesis"


class InvalidRequest(LedgerError):
    """A malformed API or peer request (bad field, bad id, out-of-range page) that is no tx."""

    default_code = "invalid_request"


class PreconditionFailed(LedgerError):
    """The request is well formed but the current ledger state does not allow it."""

    default_code = "failed_precondition"


class PermissionDenied(LedgerError):
    """The signer lacks the role (or ownership) the action requires."""

    default_code = "permission_denied"


class NotFound(LedgerError):
    """A referenced object does not exist."""

    default_code = "not_found"


class OutOfRange(LedgerError):
    """A position past what this node holds now, such as a stream that starts far beyond its
    chain's height: unlike a malformed request, it may succeed later or on another node."""

    default_code = "out_of_range"


class AlreadyExists(LedgerError):
    """An object with this id exists already, or the transaction was seen before."""

    default_code = "already_exists"


class ResourceExhausted(LedgerError):
    """A bounded resource (mempool, rate limit) is full; the caller may retry later."""

    default_code = "resource_exhausted"


class StorageError(LedgerError):
    """The block store cannot be opened or used as asked; the message names the directory."""

    default_code = "storage_error"


class StoreInUse(StorageError):
    """Another process has the block store open."""

    default_code = "store_in_use"


class ConfigError(LedgerError):
    """A configuration file that is missing, unreadable or has wrong values: the node's
    config.toml (node.config reads it), its TLS files, the wallet's client config. Here, not in
    node.config, so the wallet catches it without loading the node's configuration."""

    default_code = "bad_config"
