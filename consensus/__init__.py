"""BFT consensus for Carbon Ticket Ledger: Tendermint as a pure state machine.

Feed an `Engine` peer messages (`on_proposal`, `on_vote`), fetched blocks (`on_block`) and fired
timers (`on_timeout`); it returns actions (`Broadcast`, `ScheduleTimeout`, `Commit`,
`EvidenceFound`, `SyncNeeded`, `FetchBlock`) for the node to carry out. No I/O, clock or
threads live here. See docs/consensus.md.
"""

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
