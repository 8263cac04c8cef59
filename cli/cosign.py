"""Co-signing files: a transaction written with ``--out``, signed with ``tx sign``, sent with
``tx broadcast`` and rebuilt with ``tx renew`` once its nonce is used.

The file is readable JSON (docs/cli.md), version 2::

    {"version": 2, "chain_id": ..., "kind": "grant_role", "signer": "ct1...", "nonce": 7,
     "signed_by": ["<public key hex>", ...], "signatures_needed": 2,
     "awaiting": [{"name": "node2", "address": "ct1..."}, ...],
     "validators": [{"name": ..., "address": ..., "public_key": ..., "operator": ...,
                     "power": 1}, ...],
     "tx": "<TxEnvelope hex>"}

``validators`` is the set governance needs more than 2/3 of the power of, as the node reported
it when the file was written, so ``tx sign`` recounts ``signatures_needed`` (the fewest operator
signatures that would still do) and ``awaiting`` (the operators that have not signed) offline
(null when governance was written offline, without the set). A validator counts when its
operator signed; files without ``operator`` and ``power`` count each validator's own account
with power 1. For a message with one signer, ``validators`` is empty and the signer is what it
awaits. Version 1 files (no ``version``, no counts) are still read.
"""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError

from carbon_ticket.chain.crypto import address_from_public_key
from carbon_ticket.cli.client import GOVERNANCE_KINDS
from carbon_ticket.cli.common import EXIT_LEDGER, EXIT_USAGE, CliError
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "COSIGN_VERSION",
    "CosignFile",
    "Member",
    "members_of",
    "read_cosign",
    "refuse_unexpected_signer",
    "signatures_short",
    "write_cosign",
]

COSIGN_VERSION = 2


@dataclass(frozen=True, slots=True)
class Member:
    """A validator whose operator's signature governance counts, with its power."""

    name: str
    address: str
    public_key: bytes
    operator: str = ""  # "" = the validator's own account
    power: int = 1

    @property
    def voter(self) -> str:
        """The account whose signature counts for this validator."""
        return self.operator or self.address


def signatures_short(
    members: tuple[Member, ...], signed: AbstractSet[str]
) -> tuple[int, list[Member]]:
    """(the fewest more operator signatures that reach > 2/3 of the power, the members whose
    operator has not signed) for governance signed by the accounts ``signed``."""
    total = sum(m.power for m in members)
    present = sum(m.power for m in members if m.voter in signed)
    waiting = [m for m in members if m.voter not in signed]
    power_by_voter: dict[str, int] = {}
    for m in waiting:
        power_by_voter[m.voter] = power_by_voter.get(m.voter, 0) + m.power
    needed = 0
    for power in sorted(power_by_voter.values(), reverse=True):
        if present * 3 > total * 2:
            break
        present += power
        needed += 1
    return needed, waiting


@dataclass(frozen=True, slots=True)
class CosignFile:
    """A parsed co-signing file: the envelope, its body and the validator set it counts with."""

    envelope: ledger_pb2.TxEnvelope
    body: ledger_pb2.TxBody
    validators: tuple[Member, ...]

    @property
    def kind(self) -> str:
        """The ledger message carried, e.g. ``grant_role``."""
        return self.body.WhichOneof("msg") or ""

    def raw(self) -> bytes:
        """The envelope bytes to submit."""
        return self.envelope.SerializeToString(deterministic=True)

    def awaiting(self) -> tuple[int | None, list[dict[str, str]]]:
        """(signatures still needed, who may give them) for this file's message; None when
        governance was written offline, without the validator set to count with."""
        signed = {address_from_public_key(s.public_key) for s in self.envelope.signatures}
        if self.kind not in GOVERNANCE_KINDS:
            if self.body.signer in signed:
                return 0, []
            return 1, [{"name": "signer", "address": self.body.signer}]
        if not self.validators:
            return None, []
        # Operators holding more than 2/3 of the power (chain/rules/governance.py).
        needed, waiting = signatures_short(self.validators, signed)
        others = list({m.voter: {"name": m.name, "address": m.voter} for m in waiting}.values())
        return needed, others if needed else []


def refuse_unexpected_signer(cosign: CosignFile, name: str, address: str) -> None:
    """Refuse, before anything is signed or written, key ``name`` (account ``address``) on a
    file whose transaction the ledger would then refuse (``unexpected_signature``): a message with
    one signer is signed by that signer only (chain/tx.py), and governance is co-signed by the
    validators and their operators only (node/evidence.py), here those of the set the file
    lists. Governance written offline lists no set: ``tx broadcast`` checks it then."""
    kind, signer = cosign.kind, cosign.body.signer
    if kind not in GOVERNANCE_KINDS:
        if address != signer:
            raise CliError(
                f"refused before signing: a {kind} transaction is signed by its signer {signer} "
                f"only; key {name!r} is account {address} [unexpected_signature]",
                EXIT_LEDGER,
            )
        return
    allowed = {a for m in cosign.validators for a in (m.address, m.voter)}
    if cosign.validators and address not in allowed:
        raise CliError(
            f"refused before signing: a {kind} transaction is co-signed by validators or their "
            f"operators only; key {name!r} (account {address}) is neither among the "
            f"{len(cosign.validators)} validators the file lists [unexpected_signature]",
            EXIT_LEDGER,
        )


def members_of(validators: Any) -> tuple[Member, ...]:
    """Members from the node's ``ValidatorInfo`` list (power 0: a node that predates power)."""
    return tuple(
        Member(v.name, v.address, bytes(v.public_key), v.operator, v.power or 1) for v in validators
    )


def read_cosign(path: Path) -> CosignFile:
    """Read a co-signing file (version 1 or 2); a CliError (exit 2) when it cannot be used."""
    try:
        doc = json.loads(path.read_text())
        raw = bytes.fromhex(doc["tx"])
        envelope = ledger_pb2.TxEnvelope()
        envelope.ParseFromString(raw)
        body = ledger_pb2.TxBody()
        body.ParseFromString(envelope.body)
        version = doc.get("version", 1)
        if version not in (1, COSIGN_VERSION):
            raise ValueError(f"unknown file version {version!r}")
        validators = tuple(_member(v) for v in doc.get("validators", []))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CliError(f"cannot read a transaction from {path}: {exc}", EXIT_USAGE) from exc
    except DecodeError as exc:
        raise CliError(f"{path} does not hold a transaction: {exc}", EXIT_USAGE) from exc
    return CosignFile(envelope, body, validators)


def _member(entry: Any) -> Member:
    """One ``validators`` entry of a file, its types checked (the file came from someone else)."""
    name, address = entry["name"], entry["address"]
    operator, power = entry.get("operator", ""), entry.get("power", 1)
    if not all(isinstance(text, str) for text in (name, address, operator)):
        raise ValueError("a validator's name, address and operator must be text")
    if isinstance(power, bool) or not isinstance(power, int) or power < 1:
        raise ValueError(f"a validator's power must be a positive integer, got {power!r}")
    return Member(name, address, bytes.fromhex(entry["public_key"]), operator, power)


def write_cosign(path: Path, cosign: CosignFile) -> dict[str, Any]:
    """Write ``cosign`` to ``path`` (version 2) and return what was written, without the tx."""
    needed, awaiting = cosign.awaiting()
    body = cosign.body
    doc: dict[str, Any] = {
        "version": COSIGN_VERSION,
        "chain_id": body.chain_id,
        "kind": cosign.kind,
        "signer": body.signer,
        "nonce": body.nonce,
        "signed_by": [s.public_key.hex() for s in cosign.envelope.signatures],
        "signatures_needed": needed,
        "awaiting": awaiting,
        "validators": [
            {
                "name": m.name,
                "address": m.address,
                "public_key": m.public_key.hex(),
                "operator": m.voter,
                "power": m.power,
            }
            for m in cosign.validators
        ],
        "tx": cosign.raw().hex(),
    }
    try:
        path.write_text(json.dumps(doc, indent=2) + "\n")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}", EXIT_USAGE) from exc
    return {k: v for k, v in doc.items() if k not in ("tx", "validators")}
