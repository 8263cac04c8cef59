"""The fuzz targets: every decoder and entry point that takes bytes from outside the node.

A target runs one input through the real code path and returns normally (a valid object, checked
where that is cheap) or raises one of the target's ``allowed`` errors, the project's own typed
errors for that input. Any other exception is a finding. ``tests/fuzz/test_fuzz.py`` runs every
target in CI with a fixed budget; ``python -m tests.fuzz.soak`` runs them for a million inputs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.pwhash
from google.protobuf.message import DecodeError

from carbon_ticket.chain import keys
from carbon_ticket.chain.block import Block, Header
from carbon_ticket.chain.check import check_tx
from carbon_ticket.chain.errors import (
    InvalidBlock,
    InvalidGenesis,
    InvalidRequest,
    InvalidTransaction,
    LedgerError,
    NotFound,
)
from carbon_ticket.chain.genesis import init_chain
from carbon_ticket.chain.records import Params
from carbon_ticket.chain.state import MemoryState
from carbon_ticket.chain.tx import decode_tx, encode_tx, tx_hash
from carbon_ticket.cli.common import CliError
from carbon_ticket.cli.cosign import read_cosign
from carbon_ticket.cli.keystore import Keystore, KeystoreError
from carbon_ticket.cli.verify import (
    BundleError,
    UnusableFile,
    load_bundle,
    load_genesis,
    verify_bundle,
)
from carbon_ticket.consensus import (
    FixedValidatorSets,
    InvalidCertificate,
    InvalidEvidence,
    Proposal,
    SafetyStoreError,
    SavedBlocks,
    SignState,
    Step,
    Vote,
    verify_certificate,
    verify_evidence,
)
from carbon_ticket.node import api_codec
from carbon_ticket.node.backup import SUMMARY_FILE, BackupError, read_summary
from carbon_ticket.node.build import load_genesis as node_load_genesis
from carbon_ticket.node.codec import (
    PeerMessageError,
    certificate_from_bytes,
    certificate_from_proto,
    message_from_proto,
)
from carbon_ticket.node.config import ConfigError, NodeConfig
from carbon_ticket.node.evidence import evidence_from_proto
from carbon_ticket.node.keyfile import load_validator_key
from carbon_ticket.node.safety import FileSafetyStore
from carbon_ticket.node.service_peer import from_member
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.chain.conftest import ISSUER
from tests.fuzz import strategies as fs
from tests.fuzz.engine_target import engine_inputs, run_engine
from tests.fuzz.samples import CHAIN_ID, KEYSTORE_NAME, KEYSTORE_PASSWORD, LIMITS, samples

__all__ = ["TARGETS", "Target", "by_name", "run_one"]


@dataclass(frozen=True)
class Target:
    """One entry point: how to make inputs, how to run one, which errors are its own."""

    name: str
    what: str  # the decoder, as docs/security.md names it
    inputs: Callable[[], fs.Gen]  # called lazily: the samples are built once, when first needed
    run: Callable[[Any, Path], None]  # (input, a scratch directory the target may write in)
    allowed: tuple[type[BaseException], ...]


class Refused(Exception):
    """An input refused before it reaches the decoder (grpc parses a request before any
    handler; ``verify`` reads its files as UTF-8 first): not a finding."""


def run_one(target: Target, value: Any, scratch: Path) -> bool:
    """Run ``value`` through ``target``: True when it was accepted as valid, False when refused
    with one of the target's own errors; anything else propagates (a finding)."""
    refusals: tuple[type[BaseException], ...] = (Refused, *target.allowed)
    try:
        target.run(value, scratch)
    except refusals:
        return False
    return True


_either = fs.one_of


# ---------------------------------------------------------------- chain: transactions and blocks


def _tx_inputs() -> fs.Gen:
    s = samples()
    return _either(
        fs.binary(300),
        fs.mutated_bytes(s.txs),
        fs.merged_message(ledger_pb2.TxEnvelope, s.txs, depth=1),
        fs.proto_message(ledger_pb2.TxEnvelope, depth=2),
        _body_in_envelope(s.txs),
        _resigned_body(s.txs),
    )


def _body_in_envelope(seeds: tuple[bytes, ...]) -> fs.Gen:
    """A valid envelope whose body is a mutated or structurally altered valid body."""

    def gen(p: fs.Picker) -> bytes:
        envelope = ledger_pb2.TxEnvelope.FromString(p.choice(seeds))
        bodies = (envelope.body,)
        if p.integer(0, 1):
            envelope.body = fs.mutated_bytes(bodies)(p)
        else:
            envelope.body = fs.merged_message(ledger_pb2.TxBody, bodies)(p)
        return envelope.SerializeToString()

    return gen


def _resigned_body(seeds: tuple[bytes, ...]) -> fs.Gen:
    """A structurally altered body, validly signed again by the sample's signer: these reach the
    stateless field checks (``check_tx``) that a bad signature would stop before."""

    def gen(p: fs.Picker) -> bytes:
        body = ledger_pb2.TxBody.FromString(ledger_pb2.TxEnvelope.FromString(p.choice(seeds)).body)
        body.MergeFrom(ledger_pb2.TxBody.FromString(fs.proto_message(ledger_pb2.TxBody, 3)(p)))
        if p.integer(0, 3):  # mostly keep the chain and signer, or the signature check stops it
            body.chain_id, body.signer = CHAIN_ID, ISSUER.address
        return encode_tx(body, [ISSUER])

    return gen


def _run_tx(raw: bytes, scratch: Path) -> None:
    try:
        tx_id = tx_hash(raw, CHAIN_ID)
    except InvalidTransaction:
        tx_id = None
    tx = decode_tx(raw, CHAIN_ID, LIMITS)
    assert tx.raw == raw and tx.tx_hash == tx_id
    check_tx(raw, CHAIN_ID, LIMITS)


def _block_inputs() -> fs.Gen:
    s = samples()
    header = Block.decode(s.block).header.encode()
    return _either(
        fs.binary(300),
        fs.mutated_bytes((s.block,)),
        fs.merged_message(ledger_pb2.Block, (s.block,), depth=2),
        fs.proto_message(ledger_pb2.Block, depth=2),
        _header_only(header),
    )


def _header_only(header: bytes) -> fs.Gen:
    """A block of no transactions whose header is a structurally altered valid one."""
    merged = fs.merged_message(ledger_pb2.BlockHeader, (header,))

    def gen(p: fs.Picker) -> bytes:
        altered = ledger_pb2.BlockHeader.FromString(merged(p))
        return ledger_pb2.Block(header=altered).SerializeToString()

    return gen


def _run_block(raw: bytes, scratch: Path) -> None:
    block = Block.decode(raw, LIMITS)
    assert block.encode() == raw  # only canonical encodings decode
    assert Header.decode(block.header.encode()).hash() == block.hash
    block.verify_tx_root()
    for i in range(len(block.txs)):
        block.tx_proof(i)


# ---------------------------------------------------------------- peers: consensus and sync


def _consensus_inputs() -> fs.Gen:
    s = samples()
    seeds = (*s.votes, s.proposal)
    return _either(
        fs.binary(200),
        fs.mutated_bytes(seeds),
        fs.merged_message(services_pb2.ConsensusMessage, seeds, depth=2),
        fs.proto_message(services_pb2.ConsensusMessage, depth=2),
    )


def _run_consensus(raw: bytes, scratch: Path) -> None:
    """What ``PeerServicer.SendConsensus`` does with each message, then the proposal's payload
    as the node binds it (``node.app``: ``Block.decode`` within the chain's limits)."""
    try:
        msg = services_pb2.ConsensusMessage.FromString(raw)
    except DecodeError:
        raise Refused from None  # grpc refuses a request that does not parse
    message = message_from_proto(msg)
    from_member(message, FixedValidatorSets(samples().validator_set))
    if isinstance(message, Proposal):
        Block.decode(message.block, LIMITS).verify_tx_root()


def _certificate_inputs() -> fs.Gen:
    s = samples()
    return _either(
        fs.binary(300),
        fs.mutated_bytes((s.certificate,)),
        fs.merged_message(ledger_pb2.CommitCertificate, (s.certificate,), depth=2),
        fs.proto_message(ledger_pb2.CommitCertificate, depth=2),
    )


def _run_certificate(raw: bytes, scratch: Path) -> None:
    cert = certificate_from_bytes(raw)
    verify_certificate(CHAIN_ID, samples().validator_set, cert)


def _committed_inputs() -> fs.Gen:
    s = samples()
    return _either(
        fs.mutated_bytes((s.committed_block,)),
        fs.merged_message(ledger_pb2.CommittedBlock, (s.committed_block,), depth=3),
        fs.proto_message(ledger_pb2.CommittedBlock, depth=3),
    )


def _run_committed(raw: bytes, scratch: Path) -> None:
    """What block sync does with one ``CommittedBlock`` of a ``GetBlocks`` reply."""
    try:
        committed = ledger_pb2.CommittedBlock.FromString(raw)
    except DecodeError:
        raise Refused from None  # refused by grpc
    block = Block.from_proto(committed.block)
    cert = certificate_from_proto(committed.certificate)
    block.verify_tx_root()
    verify_certificate(CHAIN_ID, samples().validator_set, cert)


def _evidence_inputs() -> fs.Gen:
    s = samples()
    return _either(
        fs.mutated_bytes((s.evidence,)),
        fs.merged_message(ledger_pb2.DuplicateVoteEvidence, (s.evidence,), depth=2),
    )


def _run_evidence(raw: bytes, scratch: Path) -> None:
    try:
        msg = ledger_pb2.DuplicateVoteEvidence.FromString(raw)
    except DecodeError:
        raise Refused from None  # inside a tx body, refused by its canonical parse
    verify_evidence(CHAIN_ID, samples().validator_set, evidence_from_proto(msg))


def _sign_state_inputs() -> fs.Gen:
    """A signing record as the node stores it (a lock, a valid value and votes), mutated."""
    decoded = [message_from_proto(services_pb2.ConsensusMessage.FromString(raw))
               for raw in samples().votes]  # fmt: skip
    votes = tuple(v for v in decoded if isinstance(v, Vote))
    lock = votes[0].block_hash
    state = SignState(2, 1, Step.PRECOMMIT, b"sign-bytes" * 5, b"s" * 64, 0, lock, votes,
                      votes[:1], 0, lock, votes[1:])  # fmt: skip
    seeds = (state.to_bytes(), SignState(1, 0, Step.PROPOSE, b"", b"").to_bytes())
    return _either(fs.mutated_bytes(seeds), fs.binary(200))


def _run_sign_state(raw: bytes, scratch: Path) -> None:
    state = SignState.from_bytes(raw)
    assert SignState.from_bytes(state.to_bytes()) == state


def _sign_journal_inputs() -> fs.Gen:
    """The signing journal file (records of states and lock blocks), mutated and cut short."""
    return fs.mutated_bytes((_sign_journal_sample(),))


@functools.cache
def _sign_journal_sample() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        store = FileSafetyStore(Path(tmp) / "sign_state")
        store.save(SignState(3, 0, Step.PREVOTE, b"prevote", b"s" * 64))
        store.save(SignState(3, 0, Step.PRECOMMIT, b"precommit", b"s" * 64, 0, b"h" * 32),
                   SavedBlocks(3, {b"h" * 32: b"block" * 20}))  # fmt: skip
        return (Path(tmp) / "sign_state").read_bytes()


def _run_sign_journal(raw: bytes, scratch: Path) -> None:
    path = scratch / "sign_state"
    path.write_bytes(raw)
    store = FileSafetyStore(path)
    state = store.load()
    if state is not None:  # whatever loads can be appended to and read back the same
        store.load_blocks(state.height)
        store.save(state)
        assert FileSafetyStore(path).load() == state


# ---------------------------------------------------------------- files an operator is handed


def _json_inputs(*texts: str) -> fs.Gen:
    import json

    docs = tuple(json.loads(text) for text in texts)
    return _either(
        fs.mutated_bytes(tuple(text.encode() for text in texts)),
        fs.mutated_json(docs),
        lambda p: json.dumps(fs.json_document(p)).encode("utf-8", "surrogatepass"),
        fs.binary(100),
    )


def _run_genesis(raw: bytes, scratch: Path) -> None:
    """The node reading its genesis file at start (``node.build.load_genesis``), then the chain
    it describes initialised: a genesis that loads must start a chain."""
    config = _genesis_config(scratch / "genesis-home")
    config.genesis_path.write_bytes(raw)
    genesis = node_load_genesis(config)
    init_chain(genesis)


@functools.cache
def _genesis_config(home: Path) -> NodeConfig:
    home.mkdir(exist_ok=True)
    return NodeConfig(home=home)  # made once: its checks cost more than reading the file


def _config_inputs() -> fs.Gen:
    import tomllib

    import tomlkit

    text = samples().config_toml
    doc = tomllib.loads(text)
    return _either(
        fs.mutated_bytes((text.encode(),)),
        lambda p: _toml_or_text(fs.mutated_json((doc,), text=False)(p)),
        fs.binary(100),
        lambda p: p.choice(_ODD_TOML),
        lambda p: tomlkit.dumps(doc).encode(),
    )


_ODD_TOML = (
    b"a = " + b"[" * 3000 + b"]" * 3000,
    b"[node]\nname = " + b"1" * 5000,
    b"[consensus]\n" + b"x = {y = " * 2000,
    b"[node]\nlisten = 1979-05-27T07:32:00Z",
)


def _toml_or_text(doc: Any) -> bytes:
    import tomlkit

    try:
        return tomlkit.dumps(doc).encode("utf-8", "surrogatepass")
    except Exception:  # a value TOML cannot hold (null): hand the reader its repr instead
        return repr(doc).encode("utf-8", "surrogatepass")


def _run_config(raw: bytes, scratch: Path) -> None:
    home = scratch / "config-home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_bytes(raw)
    NodeConfig.load(home)


class _CheapKeystore(Keystore):
    """The real keystore, except that a KDF cost above the cheapest one is not paid: a file
    asking for it has passed every check by then, and deriving would cost the fuzzer seconds."""

    @staticmethod
    def _derive(password: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        cheap = nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN
        return Keystore._derive(password, salt, *cheap)


def _run_keystore(raw: bytes, scratch: Path) -> None:
    wallet = scratch / "wallet"
    wallet.mkdir(exist_ok=True)
    (wallet / f"{KEYSTORE_NAME}.json").write_bytes(raw)
    store = _CheapKeystore(wallet)
    store.list()
    info = store.info(KEYSTORE_NAME)
    key = store.load(KEYSTORE_NAME, KEYSTORE_PASSWORD)
    assert key.address == info.address


def _run_keyfile(raw: bytes, scratch: Path) -> None:
    path = scratch / "validator_key.json"
    path.write_bytes(raw)
    load_validator_key(path)


def _run_cosign(raw: bytes, scratch: Path) -> None:
    """``tx sign`` / ``tx broadcast`` reading a co-signing file another officer handed over."""
    path = scratch / "cosign.json"
    path.write_bytes(raw)
    cosign = read_cosign(path)
    cosign.awaiting()
    cosign.raw()


def _run_backup_summary(raw: bytes, scratch: Path) -> None:
    """What ``node restore`` reads first from a backup directory it is handed."""
    backup = scratch / "backup"
    backup.mkdir(exist_ok=True)
    (backup / SUMMARY_FILE).write_bytes(raw)
    read_summary(backup)


def _run_bundle(raw: bytes, scratch: Path) -> None:
    """``carbon-ticket verify`` on a bundle file (read as UTF-8 text, as the command does)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused from None  # cli.verify._read refuses it before parsing
    verify_bundle(load_bundle(text), samples().genesis)


def _run_trusted_genesis(raw: bytes, scratch: Path) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused from None  # as above
    load_genesis(text)


# ---------------------------------------------------------------- the public API's requests


def _api_inputs() -> fs.Gen:
    odd = ("", "1.2", "18446744073709551616.0", "\ud800", "0" * 30, "1." + "9" * 11)
    request = fs.proto_message(services_pb2.ListRetirementsRequest, depth=1)

    def gen(p: fs.Picker) -> tuple[str, bytes, int, bytes]:
        text = p.text(60) if p.integer(0, 1) else p.choice(odd)
        number = p.choice((p.integer(-(2**31), 2**32), p.integer(0, 600)))
        return text, p.binary(0, 40), number, request(p)

    return gen


# The chain state an id is checked against: default params (ids up to 128 characters)
_API_STATE = MemoryState({keys.PARAMS: Params().encode()})


def _run_api(value: tuple[str, bytes, int, bytes], scratch: Path) -> None:
    text, raw, number, request = value
    for call in (
        lambda: api_codec.decode_address(text),
        lambda: api_codec.decode_hash(raw, "hash"),
        lambda: api_codec.require_id(text, "id", _API_STATE),
        lambda: api_codec.decode_page(number, text),
        lambda: api_codec.decode_sequence_page(number, text),
        lambda: api_codec.retirement_query(services_pb2.ListRetirementsRequest.FromString(request)),
    ):
        try:
            call()
        except InvalidRequest:
            pass
        except LedgerError as exc:  # InvalidAddress is an InvalidTransaction
            assert exc.code.startswith("invalid"), exc


TARGETS: tuple[Target, ...] = (
    Target("tx", "transaction envelope and body: chain.tx.decode_tx, chain.check.check_tx",
           _tx_inputs, _run_tx, (InvalidTransaction,)),
    Target("block", "block and header: chain.block.Block.decode, Header.decode",
           _block_inputs, _run_block, (InvalidBlock,)),
    Target("consensus", "proposal and vote from a peer: node.codec.message_from_proto, "
           "service_peer.from_member, the proposal's block", _consensus_inputs, _run_consensus,
           (PeerMessageError, InvalidBlock)),
    Target("engine", "consensus engine: Engine.on_proposal, on_vote, on_timeout on decoded "
           "peer messages (never raises on peer input)", engine_inputs, run_engine, ()),
    Target("certificate", "commit certificate: node.codec.certificate_from_bytes, "
           "consensus.verify_certificate", _certificate_inputs, _run_certificate,
           (PeerMessageError, InvalidCertificate)),
    Target("sync", "block sync reply (CommittedBlock): Block.from_proto, certificate_from_proto",
           _committed_inputs, _run_committed,
           (PeerMessageError, InvalidBlock, InvalidCertificate)),
    Target("evidence", "duplicate-vote evidence: node.evidence.evidence_from_proto, "
           "consensus.verify_evidence", _evidence_inputs, _run_evidence,
           (InvalidTransaction, InvalidEvidence)),
    Target("sign-state", "the stored signing record: consensus.SignState.from_bytes",
           _sign_state_inputs, _run_sign_state, (SafetyStoreError,)),
    Target("sign-journal", "the signing journal file: node.safety.FileSafetyStore.load, "
           "load_blocks, then an append", _sign_journal_inputs, _run_sign_journal,
           (SafetyStoreError,)),
    Target("genesis", "genesis file at node start: node.build.load_genesis, chain.init_chain",
           lambda: _json_inputs(samples().genesis_json), _run_genesis,
           (InvalidGenesis, ConfigError)),
    Target("config", "config.toml: node.config.NodeConfig.load", _config_inputs, _run_config,
           (ConfigError,)),
    Target("keystore", "wallet keystore file: cli.keystore.Keystore.list, info, load",
           lambda: _json_inputs(samples().keystore_json), _run_keystore,
           (KeystoreError, NotFound)),
    Target("keyfile", "validator key file: node.keyfile.load_validator_key",
           lambda: _json_inputs(samples().keyfile_json), _run_keyfile, (ConfigError,)),
    Target("cosign", "co-signing file: cli.cosign.read_cosign, CosignFile.awaiting",
           lambda: _json_inputs(*samples().cosign_json), _run_cosign, (CliError, LedgerError)),
    Target("backup", "a backup's summary file: node.backup.read_summary",
           lambda: _json_inputs(samples().backup_summary_json), _run_backup_summary,
           (BackupError,)),
    Target("bundle", "certificate proof bundle: cli.verify.load_bundle, verify_bundle",
           lambda: _json_inputs(bundle_json()), _run_bundle, (BundleError, UnusableFile)),
    Target("verify-genesis", "trusted genesis of verify: cli.verify.load_genesis",
           lambda: _json_inputs(samples().genesis_json), _run_trusted_genesis,
           (BundleError, UnusableFile)),
    Target("api", "API request fields: node.api_codec decode_address, decode_hash, require_id, "
           "decode_page, decode_sequence_page, retirement_query", _api_inputs, _run_api, ()),
)  # fmt: skip


def bundle_json() -> str:
    from tests.fuzz.samples import bundle_text

    return bundle_text()


def by_name(names: list[str] | None) -> tuple[Target, ...]:
    """The targets named (all when ``names`` is empty); KeyError naming an unknown one."""
    if not names:
        return TARGETS
    known = {t.name: t for t in TARGETS}
    return tuple(known[n] for n in names)
