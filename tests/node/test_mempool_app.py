"""Mempool admission and the consensus/ledger bridge, on an in-memory store."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

import carbon_ticket.chain.tx as chain_tx
from carbon_ticket.chain import (
    BlockContext,
    apply_block,
    check_tx,
    expected_nonce,
    init_chain,
    keys,
    list_evidence,
)
from carbon_ticket.chain.block import Block, build_block
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.errors import (
    AlreadyExists,
    InvalidBlock,
    InvalidTransaction,
    PreconditionFailed,
    ResourceExhausted,
    StorageError,
)
from carbon_ticket.chain.kvstore import P_STATE
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.store import MemoryStore
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.consensus import (
    CommitCertificate,
    DuplicateVoteEvidence,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
    vote_sign_bytes,
)
from carbon_ticket.node.app import BuildBudget, LedgerApp
from carbon_ticket.node.config import ConfigError, ConsensusSettings, MempoolSettings
from carbon_ticket.node.evidence import EvidenceReporter, checker_with_evidence
from carbon_ticket.node.mempool import CheckTx, Mempool
from carbon_ticket.node.service_public import LedgerServicer
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.chain.conftest import (
    CHAIN_ID,
    REGISTRAR,
    VALIDATORS,
    award,
    award_points,
    key,
    make_genesis,
)
from tests.node.harness import CountingCheck

LIMITS = Limits()


def _store() -> MemoryStore:
    genesis = make_genesis()
    store = MemoryStore()
    store.init_genesis(CHAIN_ID, genesis.to_json().encode(), init_chain(genesis))
    return store


def _register(nonce: int, name: str) -> bytes:
    body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=REGISTRAR.address, nonce=nonce)
    body.register_account.address = key(name).address
    body.register_account.kind = ledger_pb2.ACCOUNT_KIND_COMPANY
    body.register_account.name = name
    return encode_tx(body, [REGISTRAR])


def _mempool(store: MemoryStore, check: CheckTx, **settings: int) -> Mempool:
    return Mempool(
        CHAIN_ID, LIMITS, MempoolSettings(**settings), check,
        lambda a: expected_nonce(store, a),
    )  # fmt: skip


def test_admission_rejects_duplicates_bad_signatures_and_used_or_far_nonces() -> None:
    store = _store()
    pool = _mempool(store, check_tx, max_nonce_gap=10)
    raw = _register(0, "a")
    pool.admit(raw)
    with pytest.raises(AlreadyExists):
        pool.admit(raw)
    with pytest.raises(AlreadyExists) as info:
        pool.admit(_register(0, "b"))  # another tx in the same nonce slot
    assert info.value.code == "nonce_pending"
    tampered = bytearray(_register(1, "c"))
    tampered[-1] ^= 1
    with pytest.raises(InvalidTransaction):
        pool.admit(bytes(tampered))
    with pytest.raises(PreconditionFailed) as too_far:
        pool.admit(_register(10, "d"))
    assert too_far.value.code == "nonce_too_high"
    assert len(pool) == 1 and pool.stats().rejected == 4


def test_pool_is_bounded_in_count_and_bytes() -> None:
    store = _store()
    pool = _mempool(store, check_tx, max_txs=3)
    for n in range(3):
        pool.admit(_register(n, f"n{n}"))
    with pytest.raises(ResourceExhausted):
        pool.admit(_register(3, "n3"))
    small = _mempool(store, check_tx, max_bytes=len(_register(0, "x")) + 10)
    small.admit(_register(0, "x"))
    with pytest.raises(ResourceExhausted):
        small.admit(_register(1, "y"))


def test_reap_orders_each_account_by_nonce_and_waits_for_gaps() -> None:
    store = _store()
    pool = _mempool(store, check_tx)
    for n in (2, 0, 1, 4):  # nonce 3 missing: 4 must wait
        pool.admit(_register(n, f"r{n}"))
    reaped = pool.reap(100, 1 << 20)
    assert [tx.body.nonce for tx in reaped] == [0, 1, 2]
    assert [tx.body.nonce for tx in pool.reap(2, 1 << 20)] == [0, 1]


def _awards(nonce: int, count: int) -> bytes:
    body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=REGISTRAR.address, nonce=nonce)
    body.award_points.CopyFrom(
        award_points(*(award(ref=f"tx{nonce}-{n}", points=1) for n in range(count)))
    )
    return encode_tx(body, [REGISTRAR])


def test_reap_fills_a_block_by_work_so_a_backlog_of_awards_makes_no_giant_block() -> None:
    # Counted in transactions, ten awards of 150 each fitted a 400-transaction block: 1,500
    # awards (at the byte limit ~100,000), seconds of execution on every node.
    store = _store()
    pool = _mempool(store, check_tx)
    for nonce in range(10):
        pool.admit(_awards(nonce, 150))
    reaped = pool.reap(400, 1 << 22)
    assert [tx.work_units for tx in reaped] == [150, 150]
    # A transaction heavier than the whole budget still goes, alone: never stuck forever.
    assert len(pool.reap(100, 1 << 22)) == 1
    # Light transactions count one each, as before.
    light = _mempool(_store(), check_tx)
    for nonce in range(5):
        light.admit(_register(nonce, f"r{nonce}"))
    assert len(light.reap(3, 1 << 20)) == 3


def test_the_build_budget_follows_this_hosts_execution_time_per_unit_of_work() -> None:
    budget = BuildBudget(0.5)
    assert budget.units() is None  # no estimate yet: no bound beyond max_block_txs
    budget.observe(10, 5.0)  # a tiny block says nothing about the cost per unit
    assert budget.units() is None
    budget.observe(1000, 1.0)  # 1 ms per unit: half a second holds 500
    assert budget.units() == 500
    budget.observe(1000, 0.1)  # faster again: the estimate moves toward it, smoothed
    assert 500 < budget.units() < 5000  # type: ignore[operator]
    budget.observe(100, 100.0)  # however slow the host, a block still holds some work
    assert budget.units() == 100


def test_a_host_slow_to_execute_proposes_blocks_it_can_build_in_time() -> None:
    # A block's time is read before it is built, and the others prevote it only if it arrives
    # within message_delay_ms of that time: a loaded host that took seconds to build a big
    # block had it refused as untimely. Each execution here "takes" 1.5 s on the work clock.
    store = _store()
    pool = _mempool(store, check_tx, max_nonce_gap=1000)
    for n in range(300):
        pool.admit(_register(n, f"b{n}"))
    ticks = iter(range(0, 10**6, 1))
    app = _app(store, pool, work_clock_s=lambda: next(ticks) * 1.5)
    first, _ = app.propose(1, 0)  # no estimate yet: all 300, at 5 ms per unit
    assert len(Block.decode(first, LIMITS).txs) == 300
    # 1/3 of the default 1.5 s message delay at 5 ms per unit: 100 units.
    second, _ = app.propose(1, 1)
    assert len(Block.decode(second, LIMITS).txs) == 100


def _app(
    store: MemoryStore,
    pool: Mempool,
    proposer: int = 0,
    work_clock_s: Callable[[], float] | None = None,
) -> LedgerApp:
    validators = ValidatorSet(
        tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATORS))
    )
    clock = iter(range(10**12, 10**12 + 10**6, 1000))
    return LedgerApp(store, pool, validators, VALIDATORS[proposer].public_key, LIMITS, 1000,
                     lambda: next(clock),
                     work_clock_s=work_clock_s or time.perf_counter)  # fmt: skip


def test_a_tx_is_verified_once_per_node_even_when_it_arrives_in_a_block() -> None:
    proposer_store, validator_store = _store(), _store()
    proposer_check, validator_check = CountingCheck(), CountingCheck()
    proposer_pool = _mempool(proposer_store, proposer_check)
    validator_pool = _mempool(validator_store, validator_check)
    raws = [_register(n, f"v{n}") for n in range(5)]
    for raw in raws:
        proposer_pool.admit(raw)
    for raw in raws[:3]:  # the validator has heard only three of them by gossip
        validator_pool.admit(raw)
    payload, block_hash = _app(proposer_store, proposer_pool).propose(1, 0)
    assert proposer_check.calls == 5  # admission only; building the block verifies nothing again
    validator = _app(validator_store, validator_pool)
    assert validator.validate(1, payload) == block_hash
    assert validator_check.calls == 5  # 3 at admission + the 2 it had not seen
    for raw in raws[3:]:  # their gossip arrives late: admission reuses the verification
        validator_pool.admit(raw)
    assert validator_check.calls == 5
    cert = CommitCertificate(1, 0, block_hash, ())
    executed = validator.commit(cert, payload)
    assert validator_store.height == 1 and executed.block.hash == block_hash
    assert len(validator_pool) == 0 and validator_check.calls == 5
    assert validator_store.app_hash == Block.decode(payload).header.app_hash


def test_validate_rejects_a_block_with_a_wrong_app_hash_or_duplicate_tx() -> None:
    store = _store()
    pool = _mempool(store, check_tx)
    pool.admit(_register(0, "z"))
    payload, _ = _app(store, pool).propose(1, 0)
    block = Block.decode(payload)
    other = _store()
    validator = _app(other, _mempool(other, check_tx))
    forged = Block.decode(payload).header.to_proto()
    forged.app_hash = b"\x00" * 32
    bad = ledger_pb2.Block(header=forged, txs=block.txs).SerializeToString(deterministic=True)
    assert validator.validate(1, bad) is None
    twice = ledger_pb2.Block(header=block.header.to_proto(), txs=[*block.txs, *block.txs])
    twice.header.tx_count = 2
    assert validator.validate(1, twice.SerializeToString(deterministic=True)) is None
    assert validator.validate(2, payload) is None  # not the next height
    assert validator.validate(1, payload) == block.hash


def test_gap_transactions_are_not_ready_and_expire() -> None:
    store = _store()
    height = [0]
    pool = Mempool(
        CHAIN_ID, LIMITS, MempoolSettings(tx_ttl_blocks=5), check_tx,
        lambda a: expected_nonce(store, a), lambda: height[0],
    )  # fmt: skip
    stuck = pool.admit(_register(1, "gap"))  # nonce 0 never sent
    assert not pool.has_ready() and not pool.is_ready(stuck)
    assert pool.reap(10, 1 << 20) == []
    height[0] = 3
    ready = pool.admit(_register(0, "first"))
    assert pool.has_ready() and pool.is_ready(ready)
    assert pool.evict_expired(5) == 0
    assert pool.evict_expired(6) == 1  # the gap tx, admitted at height 0, is dropped
    assert stuck.tx_hash not in pool and ready.tx_hash in pool
    assert pool.evict_expired(9) == 1 and len(pool) == 0


def test_a_cached_header_with_other_transactions_is_not_accepted() -> None:
    store = _store()
    pool = _mempool(store, check_tx)
    for n in range(3):
        pool.admit(_register(n, f"c{n}"))
    app = _app(store, pool)
    payload, block_hash = app.propose(1, 0)
    block = Block.decode(payload)
    swapped = ledger_pb2.Block(header=block.header.to_proto(), txs=list(reversed(block.txs)))
    assert app.validate(1, swapped.SerializeToString(deterministic=True)) is None
    assert app.validate(1, payload) == block_hash


def test_config_values_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="max_block_txs"):
        ConsensusSettings(max_block_txs=0)
    with pytest.raises(ConfigError, match="max_txs"):
        MempoolSettings(max_txs=-1)


def test_a_block_replaying_a_committed_tx_is_rejected() -> None:
    store = _store()
    pool = _mempool(store, check_tx)
    raw = _register(0, "once")
    pool.admit(raw)
    app = _app(store, pool)
    payload, block_hash = app.propose(1, 0)
    app.commit(CommitCertificate(1, 0, block_hash, ()), payload)
    # A Byzantine proposer puts the same tx into block 2, with a correct app hash.
    replay = [check_tx(raw, CHAIN_ID, LIMITS)]
    last = store.last_header()
    assert last is not None
    ctx = BlockContext(CHAIN_ID, 2, last.time_ms + 1, store.app_hash)
    result = apply_block(store, ctx, replay)
    assert result.receipts[0].error_code == "wrong_nonce"
    validators = ValidatorSet(
        tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATORS))
    )
    block = build_block(
        chain_id=CHAIN_ID, height=2, time_ms=last.time_ms + 1, prev_hash=last.hash(),
        app_hash=result.app_hash, proposer=VALIDATORS[1].public_key,
        validators_hash=validators.hash(), txs=[raw], receipts=result.receipts,
    )  # fmt: skip
    assert app.validate(2, block.encode()) is None
    assert store.get_tx(replay[0].tx_hash) is not None and store.height == 1


def test_a_broken_local_store_is_not_blamed_on_the_proposer() -> None:
    proposer_store, store = _store(), _store()
    proposer_pool = _mempool(proposer_store, check_tx)
    proposer_pool.admit(_register(0, "s"))
    payload, _ = _app(proposer_store, proposer_pool).propose(1, 0)
    app = _app(store, _mempool(store, check_tx))

    def broken(key: bytes) -> bytes | None:
        raise StorageError("block store <memory> is unreadable")

    store.get = broken  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        app.validate(1, payload)  # propagates (the node stops) instead of voting nil


def _double_vote(signer_index: int, signing_key_index: int | None = None) -> tuple[bytes, bytes]:

    key_ = VALIDATORS[signer_index if signing_key_index is None else signing_key_index]
    votes = []
    for block in (b"\x01" * 32, b"\x02" * 32):
        unsigned = Vote(VoteType.PRECOMMIT, 5, 0, block, signer_index, b"")
        sig = key_.sign(vote_sign_bytes(CHAIN_ID, unsigned))
        votes.append(Vote(VoteType.PRECOMMIT, 5, 0, block, signer_index, sig))
    reporter = EvidenceReporter(CHAIN_ID, VALIDATORS[0])
    raw = reporter.report(DuplicateVoteEvidence(votes[0], votes[1]), 0)
    assert raw is not None
    assert reporter.report(DuplicateVoteEvidence(votes[0], votes[1]), 1) is None  # once
    return raw, votes[0].signature


def test_evidence_reports_are_verified_by_the_node_before_any_block() -> None:
    validators = ValidatorSet(
        tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATORS))
    )
    check = checker_with_evidence(validators)
    genuine, _ = _double_vote(2)
    forged, _ = _double_vote(2, signing_key_index=3)  # claims validator 2, signed by 3
    assert check(genuine, CHAIN_ID, LIMITS).kind == "report_evidence"
    with pytest.raises(InvalidTransaction) as info:
        check(forged, CHAIN_ID, LIMITS)
    assert info.value.code == "bad_evidence"
    # Through the mempool and a block: the record lands in state.
    store = _store()
    pool = Mempool(CHAIN_ID, LIMITS, MempoolSettings(), check, lambda a: expected_nonce(store, a))
    pool.admit(genuine)
    with pytest.raises(InvalidTransaction):
        pool.admit(forged)
    app = _app(store, pool)
    payload, block_hash = app.propose(1, 0)
    app.commit(CommitCertificate(1, 0, block_hash, ()), payload)
    (record,) = list_evidence(store)
    assert record.validator_index == 2 and record.reporter == VALIDATORS[0].address
    assert pool.next_nonce(VALIDATORS[0].address) == 1


def test_next_nonce_counts_the_pending_run_after_the_committed_nonce() -> None:
    store = _store()
    pool = _mempool(store, check_tx, max_nonce_gap=10)
    assert pool.next_nonce(REGISTRAR.address) == 0
    pool.admit(_register(0, "a"))
    pool.admit(_register(1, "b"))
    assert pool.next_nonce(REGISTRAR.address) == 2  # a rerun signs after its pending txs
    pool.admit(_register(4, "e"))  # behind a gap: the first free nonce fills the gap
    assert pool.next_nonce(REGISTRAR.address) == 2
    pool.admit(_register(2, "c"))
    assert pool.next_nonce(REGISTRAR.address) == 3


def test_validate_rejects_a_block_whose_results_root_is_not_its_receipts() -> None:
    store = _store()
    pool = _mempool(store, check_tx)
    pool.admit(_register(0, "r"))
    payload, _ = _app(store, pool).propose(1, 0)
    block = Block.decode(payload)
    other = _store()
    validator = _app(other, _mempool(other, check_tx))
    forged = block.header.to_proto()
    forged.results_root = b"\x00" * 32
    bad = ledger_pb2.Block(header=forged, txs=block.txs).SerializeToString(deterministic=True)
    assert validator.validate(1, bad) is None
    assert validator.validate(1, payload) == block.hash


def _grant(cosigners: list[PrivateKey]) -> bytes:
    body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=VALIDATORS[0].address, nonce=0)
    body.grant_role.address = REGISTRAR.address
    body.grant_role.role = ledger_pb2.ROLE_MERCHANT
    return encode_tx(body, cosigners)


def test_the_node_refuses_governance_co_signed_by_an_outsider() -> None:
    validators = ValidatorSet(
        tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATORS))
    )
    check = checker_with_evidence(validators)
    padded = _grant([*VALIDATORS[:3], key("mallory")])
    check_tx(padded, CHAIN_ID, LIMITS)  # well formed on its own ...
    with pytest.raises(InvalidTransaction) as info:  # ... but not by this validator set
        check(padded, CHAIN_ID, LIMITS)
    assert info.value.code == "unexpected_signature"
    pool = _mempool(_store(), check)
    with pytest.raises(InvalidTransaction):
        pool.admit(padded)
    assert check(_grant(list(VALIDATORS[:3])), CHAIN_ID, LIMITS).kind == "grant_role"


def test_a_block_is_executed_with_its_own_envelopes_not_the_pools_namesakes() -> None:
    """Two envelopes of one governance body share an id. A block carrying the one that lacks a
    quorum must be executed with the signatures it carries, not with the pending namesake's."""
    full, short = _grant(list(VALIDATORS[:3])), _grant(list(VALIDATORS[:2]))
    proposer_store, validator_store = _store(), _store()
    proposer_pool = _mempool(proposer_store, check_tx)
    proposer_pool.admit(short)
    payload, block_hash = _app(proposer_store, proposer_pool).propose(1, 0)
    validator_pool = _mempool(validator_store, check_tx)
    validator_pool.admit(full)  # the validator holds the full envelope under the same id
    validator = _app(validator_store, validator_pool)
    assert validator.validate(1, payload) == block_hash
    executed = validator.commit(CommitCertificate(1, 0, block_hash, ()), payload)
    assert executed.txs[0].raw == short
    assert executed.result.receipts[0].error_code == "insufficient_validator_signatures"


class _Counts:
    """How often ``Block.decode`` and the tx-id hash (``chain.tx.tx_id``) run, for one node."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.decodes = 0
        self.ids = 0
        decode, tx_id = Block.decode, chain_tx.tx_id

        def counting_decode(*args: Any, **kwargs: Any) -> Block:
            self.decodes += 1
            return decode(*args, **kwargs)

        def counting_id(chain_id: str, body: bytes) -> bytes:
            self.ids += 1
            return tx_id(chain_id, body)

        # chain.tx computes every id through its module-level tx_id (tx_hash and decode_tx
        # look it up there), so this sees each id computation wherever it is asked for.
        monkeypatch.setattr(Block, "decode", staticmethod(counting_decode))
        monkeypatch.setattr(chain_tx, "tx_id", counting_id)

    def take(self) -> tuple[int, int]:
        """(decodes, ids) since the last call."""
        counts = (self.decodes, self.ids)
        self.decodes = self.ids = 0
        return counts


def test_a_block_is_decoded_once_and_each_tx_hashed_once_per_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A block's whole life on each node: admission, proposal or receipt, binding, validation,
    the timeliness check, commit and the waiter's receipt. The proposer never decodes its own
    block; every other node decodes it once; every node hashes each tx once, whether it heard
    the tx by gossip before, after or never."""
    raws = [_register(n, f"once{n}") for n in range(6)]
    nodes = []
    for index, heard in enumerate((raws, raws, raws[:3], [])):
        store = _store()
        pool = _mempool(store, check_tx)
        nodes.append((store, pool, _app(store, pool, proposer=index), heard))
    counts = _Counts(monkeypatch)
    # The proposer: admission, proposal, its own timeliness check, commit.
    store, pool, proposer, _ = nodes[0]
    for raw in raws:
        pool.admit(raw)
    payload, block_hash = proposer.propose(1, 0)
    assert proposer.timely(1, 0, payload)
    cert = CommitCertificate(1, 0, block_hash, ())
    executed = proposer.commit(cert, payload)
    assert counts.take() == (0, len(raws))
    # The others: gossip heard before (all, some, none), the proposal arriving (bound twice, as
    # when two peers relay it), validation, the late gossip, commit.
    for store, pool, app, heard in nodes[1:]:
        for raw in heard:
            pool.admit(raw)
        wire = bytes(bytearray(payload))  # a bytes object of its own, as off the network
        app.note_proposal(block_hash, 0, -1)
        assert app.block_hash(1, wire) == block_hash
        assert app.block_hash(1, bytes(bytearray(payload))) == block_hash
        assert app.validate(1, wire) == block_hash
        app.timely(1, 0, wire)
        for raw in raws[len(heard) :]:
            pool.admit(raw)  # the rest of the gossip, late: the verification is reused
        executed = app.commit(cert, wire)
        assert store.height == 1 and len(pool) == 0
        # What a commit waiter is answered with: the receipt in the executed block in memory.
        assert [r.tx_hash for r in executed.receipts] == executed.block.tx_hashes()
        assert counts.take() == (1, len(raws))


def test_commit_executes_a_synced_block_once_and_takes_the_ids_the_mempool_has(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Block sync hands commit a block it fetched with a certificate: executed there (this node
    never validated it), with the ids of the txs this node already verified, not rehashed."""
    raws = [_register(n, f"sync{n}") for n in range(4)]
    store = _store()
    pool = _mempool(store, check_tx)
    for raw in raws:
        pool.admit(raw)
    payload, block_hash = _app(store, pool).propose(1, 0)
    fetched = Block.from_proto(ledger_pb2.Block.FromString(payload))  # as block sync builds it
    behind = _store()
    behind_pool = _mempool(behind, check_tx)
    for raw in raws[:2]:  # it heard half the gossip before falling behind
        behind_pool.admit(raw)
    app = _app(behind, behind_pool, proposer=1)
    with pytest.raises(InvalidBlock) as info:
        app.commit(CommitCertificate(1, 0, b"\x07" * 32, ()), fetched)
    assert info.value.code == "certificate_mismatch" and behind.height == 0
    counts = _Counts(monkeypatch)
    executed = app.commit(CommitCertificate(1, 0, block_hash, ()), fetched)
    assert behind.height == 1 and behind.last_hash == block_hash and len(behind_pool) == 0
    assert executed.block.tx_hashes() == [r.tx_hash for r in executed.receipts]
    assert counts.take() == (0, 2)  # only the two txs it had never seen are hashed


class _NoCommits:
    """The submitter a servicer subscribes to; no commit ever comes."""

    def subscribe(self, callback: Callable[[Any], None]) -> None:
        pass


def test_get_account_reads_the_committed_nonce_once_and_counts_pending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each read of a random account is a lookup through every LevelDB level; GetAccount read
    # the nonce twice (its view, then the mempool's next nonce) (issue 19).
    store = _store()
    pool = _mempool(store, check_tx, max_nonce_gap=10)
    pool.admit(_register(0, "a"))
    pool.admit(_register(1, "b"))
    reads: Counter[bytes] = Counter()
    read = store.kv.get

    def counting_get(key: bytes) -> bytes | None:
        reads[key] += 1
        return read(key)

    monkeypatch.setattr(store.kv, "get", counting_get)
    servicer = LedgerServicer(_NoCommits(), store, pool, None)  # type: ignore[arg-type]
    request = services_pb2.GetAccountRequest(address=REGISTRAR.address)
    info = asyncio.run(servicer.GetAccount(request, None))
    assert (info.address, info.nonce, info.next_nonce) == (REGISTRAR.address, 0, 2)
    assert reads[P_STATE + keys.nonce_key(REGISTRAR.address)] == 1
    assert pool.next_nonce(REGISTRAR.address, committed=0) == 2
    assert pool.next_nonce(REGISTRAR.address, committed=5) == 5  # the caller's read wins
