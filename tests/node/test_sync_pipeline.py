"""Block sync reads and checks blocks ahead of the one it executes (node.sync): real blocks,
certificates and signatures, in-memory stores, fake peers. Nothing read ahead of an invalid
block is ever committed, and the result is the same chain as the source's."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

from carbon_ticket.chain import check_tx, expected_nonce, init_chain
from carbon_ticket.chain.block import Block, envelopes_root
from carbon_ticket.chain.store import MemoryStore
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.consensus import (
    CommitCertificate,
    Validator,
    ValidatorSet,
    Vote,
    VoteType,
    vote_sign_bytes,
)
from carbon_ticket.node.app import LedgerApp
from carbon_ticket.node.codec import certificate_to_bytes
from carbon_ticket.node.config import MempoolSettings
from carbon_ticket.node.mempool import CheckTx, Mempool
from carbon_ticket.node.service_peer import committed_block
from carbon_ticket.node.sync import BlockSync
from carbon_ticket.node.verify_pool import PARALLEL_MIN, VerifyPool
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.chain.conftest import CHAIN_ID, LIMITS, REGISTRAR, VALIDATORS, key, make_genesis
from tests.node.harness import CountingCheck

SET = ValidatorSet(tuple(Validator(f"v{i}", k.public_key) for i, k in enumerate(VALIDATORS)))
BLOCKS = 8
TXS_PER_BLOCK = PARALLEL_MIN + 6  # enough for the worker threads to check them


def _node(check: CheckTx = check_tx) -> tuple[MemoryStore, Mempool, LedgerApp]:
    genesis = make_genesis()
    store = MemoryStore()
    store.init_genesis(CHAIN_ID, genesis.to_json().encode(), init_chain(genesis))
    settings = MempoolSettings(max_nonce_gap=BLOCKS * TXS_PER_BLOCK + 1)
    pool = Mempool(CHAIN_ID, LIMITS, settings, check, lambda a: expected_nonce(store, a))
    clock = itertools.count(genesis.genesis_time_ms + 1000, 1000)
    app = LedgerApp(store, pool, SET, VALIDATORS[0].public_key, LIMITS, TXS_PER_BLOCK,
                    lambda: next(clock))  # fmt: skip
    return store, pool, app


def _certificate(
    height: int, block_hash: bytes, signers: int = len(VALIDATORS)
) -> CommitCertificate:
    votes = []
    for index in range(signers):
        unsigned = Vote(VoteType.PRECOMMIT, height, 0, block_hash, index)
        signature = VALIDATORS[index].sign(vote_sign_bytes(CHAIN_ID, unsigned))
        votes.append(Vote(VoteType.PRECOMMIT, height, 0, block_hash, index, signature))
    return CommitCertificate(height, 0, block_hash, tuple(votes))


@pytest.fixture(scope="module")
def chain() -> MemoryStore:
    """A source chain of BLOCKS blocks of TXS_PER_BLOCK account registrations each."""
    store, pool, app = _node()
    nonce = itertools.count()
    for height in range(1, BLOCKS + 1):
        for _ in range(TXS_PER_BLOCK):
            n = next(nonce)
            body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=REGISTRAR.address, nonce=n)
            body.register_account.address = key(f"acct-{n}").address
            body.register_account.kind = ledger_pb2.ACCOUNT_KIND_COMPANY
            body.register_account.name = f"acct {n}"
            pool.admit(encode_tx(body, [REGISTRAR]))
        payload, block_hash = app.propose(height, 0)
        app.commit(_certificate(height, block_hash), payload)
    assert store.height == BLOCKS
    return store


Tamper = Callable[[ledger_pb2.CommittedBlock], None]


def forge_a_signature(committed: ledger_pb2.CommittedBlock) -> None:
    envelope = ledger_pb2.TxEnvelope.FromString(committed.block.txs[5])
    signature = bytearray(envelope.signatures[0].signature)
    signature[0] ^= 1
    envelope.signatures[0].signature = bytes(signature)
    committed.block.txs[5] = envelope.SerializeToString()


def drop_the_quorum(committed: ledger_pb2.CommittedBlock) -> None:
    del committed.certificate.precommits[2:]  # 2 of 4 votes: no quorum


class ChainPeer:
    """Serves the source chain, with block ``bad_at`` tampered with; notes the highest block
    it sent."""

    def __init__(self, address: str, source: MemoryStore, bad_at: int = 0,
                 tamper: Tamper | None = None) -> None:  # fmt: skip
        self.address = address
        self.source = source
        self.bad_at = bad_at
        self.tamper = tamper
        self.sent = 0

    async def status(self, timeout_s: float) -> services_pb2.PeerStatus:
        return services_pb2.PeerStatus(chain_id=CHAIN_ID, height=self.source.height)

    async def blocks(
        self, from_height: int, max_blocks: int, timeout_s: float
    ) -> AsyncIterator[ledger_pb2.CommittedBlock]:
        for height in range(from_height, min(from_height + max_blocks, self.source.height + 1)):
            committed = committed_block(self.source, height)
            assert committed is not None
            if height == self.bad_at and self.tamper is not None:
                self.tamper(committed)
            await asyncio.sleep(0)
            self.sent = max(self.sent, height)
            yield committed


def forge_with_a_quorum(committed: ledger_pb2.CommittedBlock) -> None:
    # More than 2/3 of the voting power signs a block carrying a forged signature: beyond the
    # fault model, and what only a node that checks every signature again refuses.
    forge_a_signature(committed)
    block = Block.from_proto(committed.block)
    header = replace(block.header, envelopes_root=envelopes_root(block.txs))
    committed.block.header.CopyFrom(header.to_proto())
    cert = _certificate(header.height, header.hash())
    committed.certificate.CopyFrom(ledger_pb2.CommitCertificate.FromString(
        certificate_to_bytes(cert)))  # fmt: skip


def _syncer(
    peers: list[ChainPeer], verify_tx_signatures: bool = True, checks: CountingCheck | None = None
) -> tuple[BlockSync, MemoryStore, VerifyPool]:
    checks = checks if checks is not None else CountingCheck()
    store, pool, app = _node(checks)
    verify = VerifyPool(2, lambda raw: checks(raw, CHAIN_ID, LIMITS), pool)
    sync = BlockSync(CHAIN_ID, SET, store, app, pool=pool, verify=verify, peers=lambda: peers,
                     verify_tx_signatures=verify_tx_signatures)  # fmt: skip
    return sync, store, verify


@pytest.mark.parametrize("verify_tx_signatures", [True, False])
def test_a_synced_chain_is_the_source_chain(chain: MemoryStore, verify_tx_signatures: bool) -> None:
    checks = CountingCheck()
    sync, store, verify = _syncer([ChainPeer("honest", chain)], verify_tx_signatures, checks)
    try:
        assert asyncio.run(sync.catch_up()) == BLOCKS
    finally:
        verify.close()
    assert store.height == BLOCKS and store.app_hash == chain.app_hash
    for height in range(1, BLOCKS + 1):
        assert store.get_block(height) == chain.get_block(height)
        assert store.get_certificate(height) == chain.get_certificate(height)
    if verify_tx_signatures:
        assert verify.batches == BLOCKS  # every block was checked in the node's pool of threads
        assert checks.calls == BLOCKS * TXS_PER_BLOCK  # each transaction once
    else:
        assert verify.batches == 0 and checks.calls == 0  # the certificates vouched for them


@pytest.mark.parametrize("verify_tx_signatures", [True, False])
@pytest.mark.parametrize("tamper", [forge_a_signature, drop_the_quorum])
def test_blocks_read_ahead_of_an_invalid_block_are_never_committed(
    chain: MemoryStore, tamper: Tamper, verify_tx_signatures: bool
) -> None:
    bad_at = 3
    forger = ChainPeer("forger", chain, bad_at=bad_at, tamper=tamper)
    sync, store, verify = _syncer([forger], verify_tx_signatures)
    try:
        # Tried again after the first invalid block (it had delivered some), then skipped.
        assert asyncio.run(sync.catch_up()) == bad_at - 1
        if verify_tx_signatures:
            # The reader was ahead of the invalid block (its checks take a while)...
            assert forger.sent > bad_at
        # ... yet nothing from the invalid block on was committed.
        assert store.height == bad_at - 1
        assert store.get_block(bad_at) is None and store.get_certificate(bad_at) is None
        assert sync.scores.penalty("forger") >= 10
        # An honest peer then serves the rest: the same chain as the source.
        honest = ChainPeer("honest", chain)
        sync._peers = lambda: [forger, honest]
        assert asyncio.run(sync.catch_up()) == BLOCKS - (bad_at - 1)
    finally:
        verify.close()
    assert store.height == BLOCKS and store.app_hash == chain.app_hash


@pytest.mark.parametrize("verify_tx_signatures", [True, False])
def test_only_a_node_that_checks_signatures_refuses_a_forgery_a_quorum_signed(
    chain: MemoryStore, verify_tx_signatures: bool
) -> None:
    bad_at = BLOCKS  # the last: the blocks after a forged header would not extend it
    forger = ChainPeer("quorum", chain, bad_at=bad_at, tamper=forge_with_a_quorum)
    sync, store, verify = _syncer([forger], verify_tx_signatures)
    try:
        applied = asyncio.run(sync.catch_up())
    finally:
        verify.close()
    if verify_tx_signatures:
        # The forged block executes to the same app hash (a signature changes no state), yet
        # its forged signature is refused.
        assert applied == bad_at - 1 and store.height == bad_at - 1
    else:
        # The certificate is trusted for what its signers checked: the documented trade-off.
        assert applied == BLOCKS and store.height == BLOCKS
        assert store.get_block(bad_at) != chain.get_block(bad_at)
