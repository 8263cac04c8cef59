"""Valid inputs for the fuzz targets, built in process: the seeds that mutations start from.

Every sample is what a real peer, client or operator would hand the decoder: a signed
transaction, a block over it, signed votes, a proposal and a commit certificate, a genesis, a
node configuration, a keystore file, a validator key file and a certificate proof bundle that
``verify_bundle`` accepts.
"""

from __future__ import annotations

import base64
import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.pwhash

from carbon_ticket.chain.block import GENESIS_PREV_HASH, Block, build_block
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.merkle import merkle_root
from carbon_ticket.chain.results import Event, TxResult, results_root
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.tx import encode_tx, tx_id
from carbon_ticket.cli.cosign import CosignFile, Member, write_cosign
from carbon_ticket.cli.keystore import Keystore
from carbon_ticket.cli.verify import BUNDLE_FORMAT, genesis_set
from carbon_ticket.consensus import CommitCertificate, Proposal, Vote, VoteType
from carbon_ticket.consensus.signing import proposal_sign_bytes, vote_sign_bytes
from carbon_ticket.consensus.types import ValidatorSet
from carbon_ticket.node.backup import BACKUP_FORMAT, SUMMARY_FILE, BackupSummary, write_summary
from carbon_ticket.node.codec import certificate_to_bytes, message_to_proto
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.keyfile import write_validator_key
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    ISSUER,
    VALIDATORS,
    body_of,
    key,
    make_genesis,
    retire,
    transfer,
)

__all__ = ["CHAIN_ID", "LIMITS", "Samples", "samples"]

LIMITS = Limits()
KEYSTORE_PASSWORD = "fuzz-password"
KEYSTORE_NAME = "fuzz"


@dataclass(frozen=True)
class Samples:
    """One valid input of each kind (bytes, text or a parsed JSON document)."""

    genesis: Genesis
    validator_set: ValidatorSet
    txs: tuple[bytes, ...]
    block: bytes
    votes: tuple[bytes, ...]  # serialised ConsensusMessage carrying a vote
    proposal: bytes  # serialised ConsensusMessage carrying a proposal
    certificate: bytes
    committed_block: bytes  # CommittedBlock, as block sync receives it
    evidence: bytes  # DuplicateVoteEvidence
    genesis_json: str
    config_toml: str
    keystore_json: str
    keyfile_json: str
    cosign_json: tuple[str, ...]  # a governance co-signing file and a single-signer one
    backup_summary_json: str  # backup.json
    bundle: dict[str, Any]


def _signed_vote(vote: Vote) -> Vote:
    signature = VALIDATORS[vote.validator_index].sign(vote_sign_bytes(CHAIN_ID, vote))
    return Vote(
        vote.type, vote.height, vote.round, vote.block_hash, vote.validator_index, signature
    )


def _precommits(height: int, block_hash: bytes, signers: int = 3) -> tuple[Vote, ...]:
    return tuple(
        _signed_vote(Vote(VoteType.PRECOMMIT, height, 0, block_hash, i)) for i in range(signers)
    )


def _retire_receipt(raw: bytes) -> tuple[bytes, TxResult]:
    body = ledger_pb2.TxEnvelope.FromString(raw).body
    tx_hash = tx_id(CHAIN_ID, body)
    msg = ledger_pb2.TxBody.FromString(body).retire
    attributes = (
        ("certificate_id", certificate_id(tx_hash)),
        ("batch_id", msg.batch_id),
        ("project_id", "PRJ-FUZZ"),
        ("vintage", "20230101-20231231"),
        ("amount_grams", str(msg.amount_grams)),
        ("beneficiary", msg.beneficiary),
        ("reason", msg.reason),
        ("account", ISSUER.address),
    )
    return tx_hash, TxResult(tx_hash=tx_hash, events=(Event("retire", attributes),))


def _bundle(genesis: Genesis, raw: bytes) -> dict[str, Any]:
    """A proof bundle of one retirement in block 1, signed by 3 of the 4 genesis validators."""
    tx_hash, receipt = _retire_receipt(raw)
    validators = genesis_set(genesis)
    block = build_block(
        chain_id=CHAIN_ID,
        height=1,
        time_ms=genesis.genesis_time_ms + 1000,
        prev_hash=GENESIS_PREV_HASH,
        app_hash=bytes(32),
        proposer=VALIDATORS[0].public_key,
        validators_hash=validators.hash(),
        txs=[raw],
        receipts=[receipt],
    )
    assert block.header.tx_root == merkle_root([tx_hash])
    assert block.header.results_root == results_root([receipt])
    h = block.header
    events = dict(receipt.events[0].attributes)
    body = ledger_pb2.TxBody.FromString(ledger_pb2.TxEnvelope.FromString(raw).body)
    return {
        "format": BUNDLE_FORMAT,
        "chain_id": CHAIN_ID,
        "genesis_hash": genesis.hash().hex(),
        "validators": [
            {"name": v.name, "public_key": v.public_key.hex(), "power": v.power}
            for v in validators.validators
        ],
        "set_changes": [],
        "certificate": {
            "certificate_id": events["certificate_id"],
            "batch_id": body.retire.batch_id,
            "project_id": events["project_id"],
            "vintage": events["vintage"],
            "amount_grams": body.retire.amount_grams,
            "beneficiary": body.retire.beneficiary,
            "reason": body.retire.reason,
            "jurisdiction": body.retire.jurisdiction,
            "event": body.retire.event,
            "account": body.signer,
            "period": "",
            "height": h.height,
            "time_ms": h.time_ms,
            "tx_hash": tx_hash.hex(),
        },
        "tx": {"index": 0, "envelope": base64.b64encode(raw).decode(), "proof": []},
        "receipt": {
            "code": 0,
            "error_code": "",
            "events": [
                {"type": e.type, "attributes": [list(a) for a in e.attributes]}
                for e in receipt.events
            ],
            "proof": [],
        },
        "header": {
            "chain_id": h.chain_id,
            "height": h.height,
            "time_ms": h.time_ms,
            "tx_count": h.tx_count,
            **{
                name: getattr(h, name).hex()
                for name in (
                    "prev_hash",
                    "tx_root",
                    "results_root",
                    "envelopes_root",
                    "app_hash",
                    "proposer",
                    "validators_hash",
                    "next_validators_hash",
                )
            },
        },
        "commit": {
            "height": 1,
            "round": 0,
            "block_hash": block.hash.hex(),
            "precommits": [
                {"validator_index": v.validator_index, "signature": v.signature.hex()}
                for v in _precommits(1, block.hash)
            ],
        },
    }


def _backup_summary(genesis: Genesis) -> str:
    """A ``backup.json`` as ``node backup`` writes it."""
    summary = BackupSummary(format=BACKUP_FORMAT, chain_id=CHAIN_ID,
                            genesis_hash=genesis.hash().hex(), height=12, app_hash="ab" * 32,
                            last_block_hash="cd" * 32, keys=340, created_ms=1_704_067_300_000,
                            source="127.0.0.1:26600", sign_state="(12, 0, 3)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="fuzz-backup-") as tmp:
        write_summary(Path(tmp), summary)
        return (Path(tmp) / SUMMARY_FILE).read_text()


def _cosign_files(home: Path) -> tuple[str, ...]:
    """Co-signing files (``tx ... --out``, ``tx sign``) of a grant_role signed by two of the
    four operators, and of a retire awaiting its signer, as ``cli.cosign`` writes them."""
    members = tuple(Member(f"bureau-node-{i}", k.address, k.public_key) for i, k in
                    enumerate(VALIDATORS))  # fmt: skip
    grant = body_of(
        VALIDATORS[0], ledger_pb2.GrantRole(address=ISSUER.address, role=ledger_pb2.ROLE_ISSUER), 0
    )
    grant_raw = encode_tx(grant, VALIDATORS[:2])
    retire_raw = encode_tx(body_of(ISSUER, retire(), 3), [])
    texts = []
    for i, raw in enumerate((grant_raw, retire_raw)):
        envelope = ledger_pb2.TxEnvelope.FromString(raw)
        body = ledger_pb2.TxBody.FromString(envelope.body)
        path = home / f"cosign-{i}.json"
        write_cosign(path, CosignFile(envelope, body, members if i == 0 else ()))
        texts.append(path.read_text())
    return tuple(texts)


def _files(genesis: Genesis) -> tuple[str, str, str, tuple[str, ...]]:
    """The text of a config.toml, a keystore file, a validator key file and co-signing files,
    as the tools write them."""
    with tempfile.TemporaryDirectory(prefix="fuzz-samples-") as tmp:
        home = Path(tmp)
        NodeConfig(home=home, name="fuzz0", peers=("127.0.0.1:26601",)).save()
        # The cheapest KDF cost: a fuzz target derives the key once per input.
        wallet = Keystore(
            home / "wallet", nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN
        )
        wallet.add(KEYSTORE_NAME, ISSUER, KEYSTORE_PASSWORD)
        write_validator_key(home / "validator_key.json", VALIDATORS[0], "fuzz0")
        return (
            (home / "config.toml").read_text(),
            (home / "wallet" / f"{KEYSTORE_NAME}.json").read_text(),
            (home / "validator_key.json").read_text(),
            _cosign_files(home),
        )


@functools.cache
def samples() -> Samples:
    """The valid inputs, built once per process."""
    genesis = make_genesis()
    validators = genesis_set(genesis)
    txs = (
        encode_tx(body_of(ISSUER, retire(), 0), [ISSUER]),
        encode_tx(body_of(ISSUER, transfer((key("holder-1"), BATCH_ID, 7)), 1), [ISSUER]),
    )
    block = build_block(
        chain_id=CHAIN_ID,
        height=2,
        time_ms=genesis.genesis_time_ms + 2000,
        prev_hash=bytes(range(32)),
        app_hash=bytes(32),
        proposer=VALIDATORS[1].public_key,
        validators_hash=validators.hash(),
        txs=txs,
        receipts=[TxResult(tx_id(CHAIN_ID, ledger_pb2.TxEnvelope.FromString(t).body)) for t in txs],
    )
    prevote = _signed_vote(Vote(VoteType.PREVOTE, 2, 0, block.hash, 1))
    other = _signed_vote(Vote(VoteType.PREVOTE, 2, 0, bytes(32), 1))
    precommit = _precommits(2, block.hash, 1)[0]
    proposal = Proposal(2, 0, -1, block.hash, block.encode(), 1)
    proposal = Proposal(
        2,
        0,
        -1,
        block.hash,
        block.encode(),
        1,
        VALIDATORS[1].sign(proposal_sign_bytes(CHAIN_ID, proposal)),
    )
    cert = CommitCertificate(2, 0, block.hash, _precommits(2, block.hash))
    committed = ledger_pb2.CommittedBlock(block=Block.decode(block.encode()).to_proto())
    committed.certificate.ParseFromString(certificate_to_bytes(cert))
    evidence = ledger_pb2.DuplicateVoteEvidence(
        vote_a=message_to_proto(prevote).vote, vote_b=message_to_proto(other).vote
    )
    config_toml, keystore_json, keyfile_json, cosign_json = _files(genesis)
    return Samples(
        genesis=genesis,
        validator_set=validators,
        txs=txs,
        block=block.encode(),
        votes=tuple(_message(v) for v in (prevote, other, precommit)),
        proposal=_message(proposal),
        certificate=certificate_to_bytes(cert),
        committed_block=committed.SerializeToString(deterministic=True),
        evidence=evidence.SerializeToString(deterministic=True),
        genesis_json=genesis.to_json(),
        config_toml=config_toml,
        keystore_json=keystore_json,
        keyfile_json=keyfile_json,
        cosign_json=cosign_json,
        backup_summary_json=_backup_summary(genesis),
        bundle=_bundle(genesis, txs[0]),
    )


def _message(message: Proposal | Vote) -> bytes:
    wrapped: services_pb2.ConsensusMessage = message_to_proto(message)
    return wrapped.SerializeToString(deterministic=True)


def bundle_text() -> str:
    """The sample bundle as the CLI writes it."""
    return json.dumps(samples().bundle, indent=2)
