"""The node follows the validator set in effect per height: the state adapter, headers, checks."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from carbon_ticket.chain import MemoryState, StateOverlay, get_params, init_chain, keys
from carbon_ticket.chain.block import Block
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.errors import InvalidBlock, InvalidTransaction
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.records import Validator as ValidatorRecord
from carbon_ticket.chain.rules.validators import schedule_validator_set
from carbon_ticket.chain.store import MemoryStore
from carbon_ticket.consensus import (
    CommitCertificate,
    DuplicateVoteEvidence,
    Proposal,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
    vote_sign_bytes,
)
from carbon_ticket.node.app import LedgerApp
from carbon_ticket.node.config import MempoolSettings
from carbon_ticket.node.evidence import EvidenceReporter, checker_with_evidence
from carbon_ticket.node.mempool import Mempool
from carbon_ticket.node.params import CommittedParams
from carbon_ticket.node.peers import PeerSet
from carbon_ticket.node.service_peer import from_member
from carbon_ticket.node.validators import StateValidatorSets, consensus_set, validator_peers
from tests.chain.conftest import CHAIN_ID, VALIDATORS, key, make_genesis

LIMITS = Limits()
NEWCOMER = key("validator-4")


def _record(k: PrivateKey, name: str, power: int = 1) -> ValidatorRecord:
    return ValidatorRecord(name, k.public_key, f"{name}.memory:1", k.address, power)


def _genesis_state() -> tuple[StateOverlay, list[int]]:
    state = StateOverlay(MemoryState())
    for k, v in init_chain(make_genesis()).writes.items():
        if v is not None:
            state.set(k, v)
    return state, [0]


def _with_newcomer(records: tuple[ValidatorRecord, ...]) -> tuple[ValidatorRecord, ...]:
    return (*records, _record(NEWCOMER, "newcomer"))


def test_the_set_of_each_height_is_known_up_to_two_heights_ahead() -> None:
    state, height = _genesis_state()
    sets = StateValidatorSets(state, lambda: height[0])
    genesis = sets.records_at(1)
    assert genesis is not None and len(genesis) == 4
    assert sets.at(2) is sets.at(1) and sets.at(3) is None
    # Block 3 decides a change: it takes effect at 5.
    height[0] = 3
    schedule_validator_set(state, 3, _with_newcomer(genesis))
    height[0] = 3
    sets_now = StateValidatorSets(state, lambda: height[0])
    for sets_ in (sets, sets_now):
        assert sets_.at(4) == consensus_set(genesis)
        new = sets_.at(5)
        assert new is not None and new.size == 5 and new.index_of(NEWCOMER.public_key) == 4
        assert sets_.at(6) is None
        assert [e.effective_height for e in sets_.history()] == [1, 5]
        assert [e.effective_height for e in sets_.upcoming()] == [1, 5]
    # The entry keeps its identity (and its hash) as heights pass.
    before = sets.at(5)
    height[0] = 4
    assert sets.at(5) is before and sets.at(4) is not before
    assert sets.entry_at(5) is not None and sets.entry_at(5).hash == before.hash()  # type: ignore[union-attr]
    height[0] = 5
    assert [e.effective_height for e in sets.upcoming()] == [5]


def test_peer_auth_and_peer_lists_follow_the_next_two_heights() -> None:
    state, height = _genesis_state()
    sets = StateValidatorSets(state, lambda: height[0])
    genesis = sets.records_at(1)
    assert genesis is not None
    assert not sets.is_member_soon(NEWCOMER.public_key)
    own = genesis[0]
    assert NEWCOMER.address not in sets.cosigners()
    height[0] = 3
    # Remove validator 3 and add the newcomer in one step (3 of 4 unchanged on both sides).
    schedule_validator_set(state, 3, _with_newcomer(genesis[:3]))
    leaving = genesis[3].public_key
    # Both sets count until the change is in effect: the newcomer may be heard early, the
    # leaving validator keeps access until it is out of both sets.
    assert sets.is_member_soon(NEWCOMER.public_key) and sets.is_member_soon(leaving)
    peers = validator_peers(sets, ["extra.memory:9"], own.network_address, own.public_key)
    assert peers == ["extra.memory:9", *[v.network_address for v in genesis[1:]],
                     "newcomer.memory:1"]  # fmt: skip
    assert NEWCOMER.address not in sets.cosigners()  # the next block (4) is still the old set's
    height[0] = 4
    assert sets.is_member_soon(leaving) is False
    assert NEWCOMER.address in sets.cosigners()
    assert genesis[3].network_address not in validator_peers(sets, [], "", own.public_key)


def test_messages_name_an_index_of_the_set_of_their_height() -> None:
    state, height = _genesis_state()
    sets = StateValidatorSets(state, lambda: height[0])
    genesis = sets.records_at(1)
    assert genesis is not None
    height[0] = 3
    schedule_validator_set(state, 3, _with_newcomer(genesis))
    vote = Vote(VoteType.PREVOTE, 4, 0, b"h" * 32, 4)
    assert not from_member(vote, sets)  # a fifth validator only from height 5
    assert from_member(Vote(VoteType.PREVOTE, 5, 0, b"h" * 32, 4), sets)
    assert from_member(Proposal(40, 0, -1, b"h" * 32, b"", 9), sets)  # not known yet: buffered
    assert not from_member(Proposal(5, 0, -1, b"h" * 32, b"", 5), sets)


class _Sets:
    """Validator sets by height, for the app and checks (a change at height 3)."""

    def __init__(self, before: ValidatorSet, after: ValidatorSet) -> None:
        self.before, self.after = before, after

    def at(self, height: int) -> ValidatorSet | None:
        return self.before if height < 3 else self.after


FOUR = ValidatorSet(tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATORS)))
FIVE = ValidatorSet((*FOUR.validators, Validator("newcomer", NEWCOMER.public_key)))


def _store() -> MemoryStore:
    genesis = make_genesis()
    store = MemoryStore()
    store.init_genesis(CHAIN_ID, genesis.to_json().encode(), init_chain(genesis))
    return store


def _app(sets: _Sets, proposer: PrivateKey) -> LedgerApp:
    store = _store()
    pool = Mempool(CHAIN_ID, LIMITS, MempoolSettings(), lambda raw, c, lim, **_: None,  # type: ignore[arg-type]
                   lambda a: 0)  # fmt: skip
    clock = iter(range(10**12, 10**12 + 10**6, 1000))
    return LedgerApp(store, pool, sets, proposer.public_key, LIMITS, 1000, lambda: next(clock))


def _commit(app: LedgerApp, height: int) -> None:
    payload, block_hash = app.propose(height, 0)
    app.commit(CommitCertificate(height, 0, block_hash, ()), payload)


def test_headers_name_the_sets_of_their_height_and_the_next() -> None:
    app = _app(_Sets(FOUR, FIVE), VALIDATORS[0])
    _commit(app, 1)
    payload, _ = app.propose(2, 0)
    header = Block.decode(payload).header
    assert (header.validators_hash, header.next_validators_hash) == (FOUR.hash(), FIVE.hash())
    _commit(app, 2)
    payload, _ = app.propose(3, 0)
    header = Block.decode(payload).header
    assert (header.validators_hash, header.next_validators_hash) == (FIVE.hash(), FIVE.hash())


def test_a_block_naming_other_sets_or_a_proposer_outside_its_height_set_is_invalid() -> None:
    producer = _app(_Sets(FOUR, FIVE), VALIDATORS[0])
    unaware = _app(_Sets(FOUR, FOUR), VALIDATORS[1])  # a node that knows of no change
    _commit(producer, 1)
    first = producer.store.get_block(1)
    assert first is not None
    unaware.commit(CommitCertificate(1, 0, first.hash, ()), first)  # same sets at 1 and 2
    payload, _ = producer.propose(2, 0)
    with pytest.raises(InvalidBlock) as info:
        unaware.execute_block(2, Block.decode(payload))
    assert info.value.code == "wrong_validators_hash"
    # The newcomer is no validator at height 1: its block there is refused.
    outsider = _app(_Sets(FOUR, FIVE), NEWCOMER)
    payload, _ = outsider.propose(1, 0)
    with pytest.raises(InvalidBlock, match="not a validator at height 1"):
        _app(_Sets(FOUR, FIVE), VALIDATORS[1]).execute_block(1, Block.decode(payload))


def _evidence(signer: PrivateKey, index: int, height: int) -> bytes:
    votes = []
    for block in (b"\x01" * 32, b"\x02" * 32):
        unsigned = Vote(VoteType.PREVOTE, height, 0, block, index, b"")
        sig = signer.sign(vote_sign_bytes(CHAIN_ID, unsigned))
        votes.append(Vote(VoteType.PREVOTE, height, 0, block, index, sig))
    raw = EvidenceReporter(CHAIN_ID, VALIDATORS[0]).report(DuplicateVoteEvidence(*votes), 0)
    assert raw is not None
    return raw


def test_evidence_is_checked_against_the_set_of_the_double_votes_height() -> None:
    check = checker_with_evidence(_Sets(FOUR, FIVE))
    # The newcomer is validator 4 from height 3 on, and nobody before.
    assert check(_evidence(NEWCOMER, 4, 3), CHAIN_ID, LIMITS).kind == "report_evidence"
    with pytest.raises(InvalidTransaction) as info:
        check(_evidence(NEWCOMER, 4, 2), CHAIN_ID, LIMITS)
    assert info.value.code == "bad_evidence"


def test_limits_are_read_from_committed_params_once_per_height() -> None:
    state, height = _genesis_state()
    params = CommittedParams(state, lambda: height[0])
    first = params.limits()
    assert first == get_params(state).limits and params.limits() is first
    # Governance lowers the block size limit in block 1 (in force from block 2).
    lowered = replace(get_params(state), limits=replace(first, max_block_txs=7))
    state.set(keys.PARAMS, lowered.encode())
    assert params.limits() is first  # same committed height: read once
    height[0] = 1
    assert params.limits().max_block_txs == 7


def test_the_grpc_peer_set_follows_a_new_peer_list() -> None:
    async def scenario() -> None:
        peers = PeerSet(["127.0.0.1:1", "127.0.0.1:2"])
        kept = peers.links[1]
        peers.start()
        peers.set_peers(["127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:3"])
        assert [link.address for link in peers.links] == ["127.0.0.1:2", "127.0.0.1:3"]
        assert peers.links[0] is kept  # a link still wanted keeps its queues and channel
        assert peers.links[1]._stub is not None  # a new link is started at once
        await peers.close()  # closes the dropped link too

    asyncio.run(scenario())
