"""Evidence of double votes: checking reports at admission and turning detections into reports.

The ledger rules record a ``ReportEvidence`` transaction (chain/rules/evidence.py) but cannot
check the two vote signatures themselves: that needs the consensus signing rules and the
validator set, which only the node holds. So the node's transaction check, used both at
admission and for every transaction met in a block, adds that verification. Honest validators
therefore agree on which evidence is valid, and forged evidence never reaches a block they accept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from carbon_ticket.chain import check_tx
from carbon_ticket.chain.crypto import PrivateKey, address_from_public_key
from carbon_ticket.chain.errors import InvalidTransaction
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.tx import MULTI_SIGNER_KINDS, SignedTx, encode_tx
from carbon_ticket.consensus import (
    DuplicateVoteEvidence,
    InvalidEvidence,
    ValidatorSet,
    ValidatorSets,
    verify_evidence,
)
from carbon_ticket.node.codec import PeerMessageError, vote_from_proto, vote_to_proto
from carbon_ticket.node.mempool import CheckTx
from carbon_ticket.node.validators import StateValidatorSets, fixed_sets
from carbon_ticket.proto import ledger_pb2

__all__ = ["EvidenceReporter", "checker_with_evidence", "evidence_from_proto"]

_REMEMBERED = 1_000
_PER_HEIGHT = 2


def evidence_from_proto(msg: ledger_pb2.DuplicateVoteEvidence) -> DuplicateVoteEvidence:
    """The consensus form of wire evidence; InvalidTransaction when a vote is malformed."""
    try:
        return DuplicateVoteEvidence(vote_from_proto(msg.vote_a), vote_from_proto(msg.vote_b))
    except PeerMessageError as exc:
        raise InvalidTransaction(f"malformed evidence: {exc}", "malformed_evidence") from exc


def checker_with_evidence(validators: ValidatorSets | ValidatorSet) -> CheckTx:
    """``chain.check_tx`` plus what needs the validator set: for ReportEvidence, verification of
    both vote signatures against the set in effect at the votes' height; for governance, that
    every co-signature is by a validator or a validator's operator of the set in effect at the
    next height (an outsider's signature padded onto an envelope is refused,
    ``unexpected_signature``)."""
    sets = fixed_sets(validators)
    cosigners = _cosigners(sets)

    def check(
        raw: bytes, chain_id: str, limits: Limits, *, known_id: bytes | None = None
    ) -> SignedTx:
        tx = check_tx(raw, chain_id, limits, known_id=known_id)
        if tx.kind in MULTI_SIGNER_KINDS:
            _require_cosigners_in(tx, cosigners())
        if tx.kind == "report_evidence":
            evidence = evidence_from_proto(tx.body.report_evidence.evidence)
            _verify_evidence(chain_id, sets, evidence)
        return tx

    return check


def _cosigners(sets: ValidatorSets) -> Callable[[], frozenset[str]]:
    if isinstance(sets, StateValidatorSets):
        return sets.cosigners
    # A fixed set (tests): its validators' own accounts, at any height.
    fixed = sets.at(1)
    keys = fixed.validators if fixed is not None else ()
    addresses = frozenset(address_from_public_key(v.public_key) for v in keys)
    return lambda: addresses


def _require_cosigners_in(tx: SignedTx, allowed: frozenset[str]) -> None:
    for key in tx.signers:
        if address_from_public_key(key) not in allowed:
            raise InvalidTransaction(
                f"a {tx.kind} transaction is co-signed by validators or their operators only; "
                f"key {key.hex()[:16]}... is neither",
                "unexpected_signature",
            )


def _verify_evidence(chain_id: str, sets: ValidatorSets, evidence: DuplicateVoteEvidence) -> None:
    height = evidence.vote_a.height
    validators = sets.at(height)
    if validators is None:
        raise InvalidTransaction(
            f"evidence is for height {height}, whose validator set is not known yet",
            "bad_evidence",
        )
    try:
        verify_evidence(chain_id, validators, evidence)
    except InvalidEvidence as exc:
        raise InvalidTransaction(f"evidence does not hold: {exc}", "bad_evidence") from exc


class EvidenceReporter:
    """Turns evidence the engine found into a signed ReportEvidence transaction, once each."""

    def __init__(self, chain_id: str, key: PrivateKey) -> None:
        self._chain_id = chain_id
        self._key = key
        self._reported: OrderedDict[tuple[int, int, int, int], None] = OrderedDict()

    @property
    def public_key(self) -> bytes:
        """The reporting node's public key (its consensus key)."""
        return self._key.public_key

    @property
    def address(self) -> str:
        """The reporting validator's address (the signer of its reports)."""
        return self._key.address

    def report(self, evidence: DuplicateVoteEvidence, nonce: int) -> bytes | None:
        """The signed report, or None when this offence was reported by this node already."""
        v = evidence.vote_a
        position = (v.validator_index, v.height, v.round, int(v.type))
        if position in self._reported:
            return None
        # One offence per validator and height is proof enough; an equivocator voting in many
        # rounds must not make honest validators flood the chain with reports.
        if sum(1 for p in self._reported if p[:2] == position[:2]) >= _PER_HEIGHT:
            return None
        self._reported[position] = None
        while len(self._reported) > _REMEMBERED:
            self._reported.popitem(last=False)
        body = ledger_pb2.TxBody(chain_id=self._chain_id, signer=self._key.address, nonce=nonce)
        body.report_evidence.evidence.vote_a.CopyFrom(vote_to_proto(evidence.vote_a))
        body.report_evidence.evidence.vote_b.CopyFrom(vote_to_proto(evidence.vote_b))
        return encode_tx(body, [self._key])
