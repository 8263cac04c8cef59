"""The consensus engine as a fuzz target: hostile proposals and votes straight into ``Engine``.

The engine's contract is that peer input never raises: a bad message is dropped and counted
(consensus/engine.py). Each input is a short sequence of wire messages, some genuine (a signed
proposal of height 1 and the votes for it, so the engine moves and can commit), some mutated or
structurally altered; each goes through the node's own decode (``message_from_proto``,
``from_member``) and then into ``on_proposal`` / ``on_vote``, with a timeout now and then. The
application is the simulator's (blocks ``blk|height|...``, hash SHA-256 of the payload).
"""

from __future__ import annotations

import functools
import hashlib
import random
from dataclasses import replace
from pathlib import Path

from google.protobuf.message import DecodeError

from carbon_ticket.consensus import (
    Engine,
    FixedValidatorSets,
    InMemorySafetyStore,
    Proposal,
    Step,
    Timeout,
    TimeoutConfig,
    Vote,
    VoteType,
    proposal_sign_bytes,
    vote_sign_bytes,
)
from carbon_ticket.node.codec import PeerMessageError, message_from_proto, message_to_proto
from carbon_ticket.node.service_peer import from_member
from carbon_ticket.proto import services_pb2
from tests.chain.conftest import VALIDATORS
from tests.consensus.sim import SimApp
from tests.fuzz import strategies as fs
from tests.fuzz.samples import CHAIN_ID, samples

__all__ = ["engine_inputs", "run_engine"]

_OWN = 3  # the engine under test signs as validator 3


def _wire(message: Proposal | Vote) -> bytes:
    wrapped: services_pb2.ConsensusMessage = message_to_proto(message)
    return wrapped.SerializeToString(deterministic=True)


@functools.cache
def _seeds() -> tuple[bytes, ...]:
    """A signed proposal of height 1 (round 0 and 1), and prevotes and precommits for it and
    for nil by the three other validators, as they arrive on the wire."""
    vset = samples().validator_set
    seeds = []
    for round_ in (0, 1):
        proposer = vset.proposer(1, round_)
        payload = b"blk|1|%d|%d|fuzz" % (proposer, round_)
        block_hash = hashlib.sha256(payload).digest()
        p = Proposal(1, round_, -1, block_hash, payload, proposer)
        seeds.append(_wire(replace(p, signature=VALIDATORS[proposer].sign(
            proposal_sign_bytes(CHAIN_ID, p)))))  # fmt: skip
        for vtype in (VoteType.PREVOTE, VoteType.PRECOMMIT):
            for i in range(3):
                for target in (block_hash, b""):
                    v = Vote(vtype, 1, round_, target, i)
                    signature = VALIDATORS[i].sign(vote_sign_bytes(CHAIN_ID, v))
                    seeds.append(_wire(replace(v, signature=signature)))
    return tuple(seeds)


def engine_inputs() -> fs.Gen:
    """One to eight wire messages, each genuine, mutated or altered, or a timeout marker."""
    seeds = _seeds()
    message = fs.one_of(
        lambda p: p.choice(seeds),
        lambda p: p.choice(seeds),
        fs.mutated_bytes(seeds),
        fs.merged_message(services_pb2.ConsensusMessage, seeds, depth=2),
        lambda p: b"timeout:%d:%d" % (p.integer(0, 2), p.integer(0, 2)),
    )
    return lambda p: tuple(message(p) for _ in range(p.integer(1, 8)))


def run_engine(messages: tuple[bytes, ...], scratch: Path) -> None:
    """Feed ``messages`` to a fresh engine at height 1; nothing it is handed may raise."""
    vset = samples().validator_set
    engine = Engine(CHAIN_ID, vset, VALIDATORS[_OWN], InMemorySafetyStore(),
                    SimApp(_OWN, random.Random(0)), TimeoutConfig())  # fmt: skip
    engine.start(1)
    sets = FixedValidatorSets(vset)
    for raw in messages:
        if raw.startswith(b"timeout:"):
            _, round_, step = raw.split(b":")
            steps = (Step.PROPOSE, Step.PREVOTE, Step.PRECOMMIT)
            engine.on_timeout(Timeout(engine.height, int(round_), steps[int(step)]))
            continue
        try:
            message = message_from_proto(services_pb2.ConsensusMessage.FromString(raw))
        except (DecodeError, PeerMessageError):
            continue  # refused before the engine, as PeerServicer.SendConsensus does
        if not from_member(message, sets):
            continue
        if isinstance(message, Proposal):
            engine.on_proposal(message)
        else:
            engine.on_vote(message)
