"""BFT consensus for Carbon Ticket Ledger: Tendermint as a pure state machine.

Feed an `Engine` peer messages (`on_proposal`, `on_vote`), fetched blocks (`on_block`) and fired
timers (`on_timeout`); it returns actions (`Broadcast`, `ScheduleTimeout`, `Commit`,
`EvidenceFound`, `SyncNeeded`, `FetchBlock`) for the node to carry out. No I/O, clock or
threads live here. See docs/consensus.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers; at run time each loads on first use
    from carbon_ticket.consensus.certificate import verify_certificate, verify_evidence
    from carbon_ticket.consensus.engine import Application, Engine
    from carbon_ticket.consensus.errors import (
        ConsensusError,
        InvalidCertificate,
        InvalidEvidence,
        InvalidValidatorSet,
        SafetyStoreError,
    )
    from carbon_ticket.consensus.safety import (
        InMemorySafetyStore,
        SafetyStore,
        SavedBlocks,
        SignGuard,
        SignState,
    )
    from carbon_ticket.consensus.signing import (
        PROPOSAL_TAG,
        VOTE_TAG,
        Ed25519Signer,
        Signer,
        Verifier,
        ed25519_verify,
        proposal_sign_bytes,
        vote_sign_bytes,
    )
    from carbon_ticket.consensus.types import (
        Action,
        Broadcast,
        Commit,
        CommitCertificate,
        DuplicateVoteEvidence,
        EvidenceFound,
        FetchBlock,
        FixedValidatorSets,
        Proposal,
        ScheduleTimeout,
        Step,
        SyncNeeded,
        Timeout,
        TimeoutConfig,
        Validator,
        ValidatorSet,
        ValidatorSets,
        Vote,
        VoteType,
    )

__all__ = [
    "PROPOSAL_TAG",
    "VOTE_TAG",
    "Action",
    "Application",
    "Broadcast",
    "Commit",
    "CommitCertificate",
    "ConsensusError",
    "DuplicateVoteEvidence",
    "Ed25519Signer",
    "Engine",
    "EvidenceFound",
    "FetchBlock",
    "FixedValidatorSets",
    "InMemorySafetyStore",
    "InvalidCertificate",
    "InvalidEvidence",
    "InvalidValidatorSet",
    "Proposal",
    "SafetyStore",
    "SafetyStoreError",
    "SavedBlocks",
    "ScheduleTimeout",
    "SignGuard",
    "SignState",
    "Signer",
    "Step",
    "SyncNeeded",
    "Timeout",
    "TimeoutConfig",
    "Validator",
    "ValidatorSet",
    "ValidatorSets",
    "Verifier",
    "Vote",
    "VoteType",
    "ed25519_verify",
    "proposal_sign_bytes",
    "verify_certificate",
    "verify_evidence",
    "vote_sign_bytes",
]

# Where each name of the public surface lives. Importing one module of the package loads the
# package first: the wallet needs consensus.ed25519 only (through chain.crypto), not the engine,
# the safety store and the certificate checks, so a name loads its module on first use (as
# chain/__init__.py does).
_LAZY = {
    "verify_certificate": "certificate",
    "verify_evidence": "certificate",
    "Application": "engine",
    "Engine": "engine",
    "ConsensusError": "errors",
    "InvalidCertificate": "errors",
    "InvalidEvidence": "errors",
    "InvalidValidatorSet": "errors",
    "SafetyStoreError": "errors",
    "InMemorySafetyStore": "safety",
    "SafetyStore": "safety",
    "SavedBlocks": "safety",
    "SignGuard": "safety",
    "SignState": "safety",
    "PROPOSAL_TAG": "signing",
    "VOTE_TAG": "signing",
    "Ed25519Signer": "signing",
    "Signer": "signing",
    "Verifier": "signing",
    "ed25519_verify": "signing",
    "proposal_sign_bytes": "signing",
    "vote_sign_bytes": "signing",
    "Action": "types",
    "Broadcast": "types",
    "Commit": "types",
    "CommitCertificate": "types",
    "DuplicateVoteEvidence": "types",
    "EvidenceFound": "types",
    "FetchBlock": "types",
    "FixedValidatorSets": "types",
    "Proposal": "types",
    "ScheduleTimeout": "types",
    "Step": "types",
    "SyncNeeded": "types",
    "Timeout": "types",
    "TimeoutConfig": "types",
    "Validator": "types",
    "ValidatorSet": "types",
    "ValidatorSets": "types",
    "Vote": "types",
    "VoteType": "types",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next use is a plain attribute
    return value
