"""Errors raised by the consensus package.

One root, so the node can map every consensus failure in one place::

    ConsensusError
     ├── InvalidValidatorSet   the validator set itself is malformed
     ├── InvalidCertificate    a commit certificate does not prove its block
     ├── InvalidEvidence       a duplicate-vote evidence object does not hold up
     └── SafetyStoreError      a stored signing state cannot be decoded

The engine never raises on peer input (bad messages are dropped and counted); these errors come
from explicit verification calls and from misconfiguration.
"""

from __future__ import annotations

__all__ = [
    "ConsensusError",
    "InvalidCertificate",
    "InvalidEvidence",
    "InvalidValidatorSet",
    "SafetyStoreError",
]


class ConsensusError(Exception):
    """Root of all consensus errors."""


class InvalidValidatorSet(ConsensusError):
    """The validator set is empty, has a bad key, a duplicate key or a non-positive power."""


class InvalidCertificate(ConsensusError):
    """A commit certificate failed verification against a validator set."""


class InvalidEvidence(ConsensusError):
    """A duplicate-vote evidence object is not two conflicting, validly signed votes."""


class SafetyStoreError(ConsensusError):
    """A persisted signing state is corrupt or has an unknown encoding."""
