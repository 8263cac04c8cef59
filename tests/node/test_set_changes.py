"""Validator set changes with real nodes in one process (tests/node/harness.py, virtual time).

The issue's story: a fifth bureau joins by proposal and votes (it syncs as an observer first and
signs from its effective height on), an original validator stops and the chain goes on on the
newcomer's votes, a validator is removed (its messages no longer count), a key is rotated, and a
fresh node syncs from genesis across all of it and agrees on every block and app hash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.records import Validator as ValidatorRecord
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.consensus import verify_certificate
from carbon_ticket.node.codec import certificate_from_bytes
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import key
from tests.node.harness import InProcessNet

pytestmark = pytest.mark.timeout(300)

NEWCOMER = key("validator-4")
NEWCOMER_ADDRESS = "bureau-xilingol.memory:1"


def _run(tmp_path: Path, scenario: Callable[[InProcessNet], Awaitable[None]]) -> None:
    async def main() -> None:
        async with InProcessNet(tmp_path) as net:
            await net.start()
            await scenario(net)

    asyncio.run(main())


class Governance:
    """Signs and submits proposals and votes, each operator with its own nonces."""

    def __init__(self, net: InProcessNet) -> None:
        self.net = net
        self._nonces: dict[str, int] = {}

    def _send(
        self, via: int, signer: PrivateKey, fill: Callable[[ledger_pb2.TxBody], None]
    ) -> bytes:
        nonce = self._nonces.get(signer.address, 0)
        self._nonces[signer.address] = nonce + 1
        body = ledger_pb2.TxBody(chain_id=self.net.chain_id, signer=signer.address, nonce=nonce)
        fill(body)
        raw = encode_tx(body, [signer])
        return self.net.node(via).admit(raw).tx_hash

    async def propose(self, via: int, signer: PrivateKey, action: ledger_pb2.GovAction) -> int:
        """Submit a proposal with one action; its id once committed."""

        def fill(body: ledger_pb2.TxBody) -> None:
            body.submit_proposal.title = "validator set change"
            body.submit_proposal.voting_period = 50
            body.submit_proposal.actions.append(action)

        waiter = self.net.node(via).wait_for_commit(self._send(via, signer, fill))
        await self.net.run_until("the proposal commits", waiter.done)
        receipt = waiter.result().result
        assert receipt.ok, receipt.message
        return int(dict(receipt.events[0].attributes)["proposal_id"])

    async def vote_yes(self, via: int, voters: list[PrivateKey], proposal_id: int) -> None:
        """Each voter votes yes; wait until every vote is committed."""
        waiters = []
        for voter in voters:

            def fill(body: ledger_pb2.TxBody) -> None:
                body.cast_vote.proposal_id = proposal_id
                body.cast_vote.option = ledger_pb2.VOTE_OPTION_YES

            waiters.append(self.net.node(via).wait_for_commit(self._send(via, voter, fill)))
        await self.net.run_until("the votes commit", lambda: all(w.done() for w in waiters))
        for w in waiters:
            assert w.result().result.ok, w.result().result.message


def _add(name: str, k: PrivateKey, address: str) -> ledger_pb2.GovAction:
    action = ledger_pb2.GovAction()
    action.add_validator.name = name
    action.add_validator.public_key = k.public_key
    action.add_validator.network_address = address
    action.add_validator.power = 1
    return action


def _remove(k: PrivateKey) -> ledger_pb2.GovAction:
    action = ledger_pb2.GovAction()
    action.remove_validator.public_key = k.public_key
    return action


def _rotate(old: PrivateKey, new: PrivateKey) -> ledger_pb2.GovAction:
    action = ledger_pb2.GovAction()
    action.rotate_validator_key.public_key = old.public_key
    action.rotate_validator_key.new_public_key = new.public_key
    return action


async def _change_takes_effect(net: InProcessNet, via: int, entries: int) -> int:
    """Wait until the history has ``entries`` entries; the new set's effective height."""
    sets = net.node(via).validator_sets
    await net.run_until("the change is decided", lambda: len(sets.history()) >= entries)
    effective = sets.history()[-1].effective_height
    await net.run_until("the change is in effect", lambda: net.height(via) >= effective)
    return effective


def _signers(net: InProcessNet, i: int, height: int) -> set[bytes]:
    """Keys whose precommits node ``i``'s certificate of ``height`` holds (verified)."""
    node = net.node(i)
    raw = node.store.get_certificate(height)
    validators = node.validator_sets.at(height)
    assert raw is not None and validators is not None
    cert = certificate_from_bytes(raw)
    verify_certificate(net.chain_id, validators, cert)
    return {validators.validators[v.validator_index].public_key for v in cert.precommits}


async def _progress(net: InProcessNet, nodes: list[int], blocks: int) -> None:
    start = {i: net.height(i) for i in nodes}
    await net.run_until(f"nodes {nodes} commit {blocks} more blocks",
                        lambda: all(net.height(i) >= start[i] + blocks for i in nodes))  # fmt: skip


def test_a_bureau_joins_one_leaves_a_key_rotates_and_a_fresh_node_syncs_it_all(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="carbon_ticket.node.node")

    async def scenario(net: InProcessNet) -> None:
        gov = Governance(net)
        operators = list(net.keys[:4])  # genesis operators are the validators' own accounts
        # The fifth bureau's node runs from the network's genesis, as an observer at first.
        joiner = net.add_node(NEWCOMER, NEWCOMER_ADDRESS)
        await net.start(joiner)
        assert not net.node(joiner).is_validator

        # 1. It joins: proposed by one operator, approved by three (> 2/3 of 4).
        proposal = await gov.propose(0, operators[0], _add("bureau-xilingol", NEWCOMER,
                                                            NEWCOMER_ADDRESS))  # fmt: skip
        await gov.vote_yes(0, operators[:3], proposal)
        joined = await _change_takes_effect(net, 0, 2)
        await net.run_until("the newcomer signs", lambda: net.node(joiner).is_validator)
        await _progress(net, [0, joiner], 3)
        assert NEWCOMER.public_key in _signers(net, 0, net.height(0))
        assert all(NEWCOMER.public_key not in _signers(net, 0, h) for h in range(1, joined))
        # Every validator dials the newcomer now.
        assert all(NEWCOMER_ADDRESS in net.node(i).transport.peers for i in range(4))  # type: ignore[attr-defined]

        # 2. One original validator stops: 4 of 5 are up, the chain needs the newcomer's votes.
        await net.stop(3)
        await _progress(net, [0, 1, 2, joiner], 3)

        # 3. The stopped validator is removed (four operators: > 2/3 of 5).
        proposal = await gov.propose(1, operators[1], _remove(operators[3]))
        await gov.vote_yes(1, [*operators[:3], NEWCOMER], proposal)
        removed = await _change_takes_effect(net, 0, 3)
        await _progress(net, [0, 1, 2, joiner], 2)
        # It comes back: an observer now, whose messages no longer count.
        await net.start(3)
        await _progress(net, [0, 3], 3)
        assert not net.node(3).is_validator
        for h in range(removed, net.height(0) + 1):
            assert operators[3].public_key not in _signers(net, 0, h)

        # 4. Validator 2 rotates its key: a new home with the new key, same address.
        rotated_key = key("validator-2-rotated")
        proposal = await gov.propose(2, operators[2], _rotate(operators[2], rotated_key))
        await gov.vote_yes(2, operators[:3], proposal)  # 3 of the 4 left
        rotated_at = await _change_takes_effect(net, 0, 4)
        await net.run_until("the old key's node sees it", lambda: net.height(2) >= rotated_at)
        await net.stop(2)
        # The lines an operator waits for (docs/operations.md), in English
        assert f"from height {rotated_at} this node is an observer: it does not sign" in caplog.text
        assert f"from height {joined} this node is a validator: it signs" in caplog.text
        rotated = net.add_node(rotated_key, net.configs[2].listen)
        await net.start(rotated)
        await _progress(net, [0, rotated], 3)
        assert net.node(rotated).is_validator
        assert rotated_key.public_key in _signers(net, 0, net.height(0))
        assert operators[2].public_key not in _signers(net, 0, rotated_at)

        # 5. A fresh node syncs from genesis across every change and agrees on everything.
        fresh = net.add_node(key("auditor"), "auditor.memory:1")
        await net.start(fresh)
        tip = net.height(0)
        await net.run_until("the fresh node catches up", lambda: net.height(fresh) >= tip)
        net.assert_same_chain([0, fresh, joiner], tip)
        for h in range(1, tip + 1):
            mine, theirs = net.node(fresh).store.get_header(h), net.node(0).store.get_header(h)
            assert mine is not None and theirs is not None and mine.app_hash == theirs.app_hash
        records = net.node(fresh).validator_sets.records_at(tip)
        assert records is not None
        assert {v.public_key for v in records} == {
            operators[0].public_key, operators[1].public_key, rotated_key.public_key,
            NEWCOMER.public_key,
        }  # fmt: skip
        assert all(isinstance(v, ValidatorRecord) for v in records)

    _run(tmp_path, scenario)
