"""Certificate proof bundles from the in-memory ledger of the rule tests, without a node.

``ProvenLedger`` is tests/chain/conftest.py's ``Ledger`` that also makes, for every block, the
header the node would make (``build_block``: the sets of its height and the next from the
ledger's own validator history, the app hash after it) and a commit certificate signed by the
keys of its height's set. ``bundle`` then writes the JSON that ``query certificate --proof
--out`` writes (docs/api.md, "Proofs"), with the chain of set changes from genesis. So a test
can prove any chain the rules can make (several transactions per block, set changes and
parameter changes by governance) in milliseconds; the node's own bundles are checked in
tests/cli/test_verify.py and tests/node/test_certificate_proof.py.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from carbon_ticket.chain import (
    BlockContext,
    BlockResult,
    Genesis,
    apply_block,
    check_tx,
    get_certificate,
    get_params,
    validator_history,
    validators_at,
)
from carbon_ticket.chain.block import GENESIS_PREV_HASH, Header, build_block, receipt_proof
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.merkle import merkle_proof
from carbon_ticket.cli.verify import BUNDLE_FORMAT
from carbon_ticket.consensus import ValidatorSet, Vote, VoteType, vote_sign_bytes
from carbon_ticket.node.validators import consensus_set
from tests.chain.conftest import CHAIN_ID, VALIDATORS, Ledger, make_genesis

Bundle = dict[str, Any]


class ProvenLedger(Ledger):
    """A ``Ledger`` whose blocks have headers and commit certificates, as a node's have."""

    def __init__(self, genesis: Genesis | None = None, keys: Sequence[PrivateKey] = ()) -> None:
        self.genesis = genesis or make_genesis()
        super().__init__(self.genesis)
        # The validators' consensus keys, by public key: every set the chain reaches signs.
        self.keys = {k.public_key: k for k in (*VALIDATORS, *keys)}
        self.headers: dict[int, Header] = {}
        self.commits: dict[int, Bundle] = {}
        self.results: dict[int, BlockResult] = {}
        self.tx_ids: dict[int, list[bytes]] = {}

    def run(self, raws: Sequence[bytes]) -> BlockResult:
        """Check (under the limits in force, as a node does) and apply one block; sign it."""
        limits = get_params(self.state).limits
        txs = [check_tx(raw, CHAIN_ID, limits) for raw in raws]
        height = self.height + 1
        # Both sets are decided before the block: a change decided at H takes effect at H + 2.
        own = consensus_set(validators_at(self.state, height))
        following = consensus_set(validators_at(self.state, height + 1))
        ctx = BlockContext(CHAIN_ID, height, self.base_time_ms + height * 1000, self.app_hash)
        result = apply_block(self.state, ctx, txs)
        self.state.apply(result.writes)
        block = build_block(
            chain_id=CHAIN_ID,
            height=height,
            time_ms=ctx.time_ms,
            prev_hash=self.headers[height - 1].hash() if height > 1 else GENESIS_PREV_HASH,
            app_hash=result.app_hash,
            proposer=own.validators[own.proposer(height, 0)].public_key,
            validators_hash=own.hash(),
            next_validators_hash=following.hash(),
            txs=list(raws),
            receipts=result.receipts,
        )
        self.height, self.app_hash = height, result.app_hash
        self.blocks.append(list(raws))
        self.headers[height] = block.header
        self.commits[height] = self._commit(block.header, own)
        self.results[height] = result
        self.tx_ids[height] = block.tx_hashes()
        return result

    def _commit(self, header: Header, validators: ValidatorSet) -> Bundle:
        """Precommits of the set's first validators, in index order, round 0: just enough for
        more than 2/3 of the power, so that every one of them is needed."""
        precommits: list[Bundle] = []
        power = 0
        for index, validator in enumerate(validators.validators):
            if power >= validators.quorum:
                break
            power += validator.power
            vote = Vote(VoteType.PRECOMMIT, header.height, 0, header.hash(), index)
            signature = self.keys[validator.public_key].sign(vote_sign_bytes(CHAIN_ID, vote))
            precommits.append({"validator_index": index, "signature": signature.hex()})
        return {"height": header.height, "round": 0, "block_hash": header.hash().hex(),
                "precommits": precommits}  # fmt: skip

    def bundle(self, certificate_id: str) -> Bundle:
        """The proof bundle of a certificate, as ``query certificate --proof --out`` writes it."""
        c = get_certificate(self.state, certificate_id)
        height = c.height
        index = self.tx_ids[height].index(c.tx_hash)
        receipts = self.results[height].receipts
        receipt = receipts[index]
        return {
            "format": BUNDLE_FORMAT,
            "chain_id": CHAIN_ID,
            "genesis_hash": self.genesis.hash().hex(),
            "validators": _validators(consensus_set(validators_at(self.state, height))),
            "set_changes": self._set_changes(height),
            "certificate": {
                "certificate_id": c.certificate_id,
                "batch_id": c.batch_id,
                "project_id": c.project_id,
                "vintage": str(c.vintage),
                "amount_grams": c.amount_grams,
                "beneficiary": c.beneficiary,
                "reason": c.reason,
                "jurisdiction": c.jurisdiction,
                "event": c.event,
                "account": c.account,
                "period": "" if c.period is None else str(c.period),
                "height": height,
                "time_ms": c.time_ms,
                "tx_hash": c.tx_hash.hex(),
            },
            "tx": {
                "index": index,
                "envelope": base64.b64encode(self.blocks[height - 1][index]).decode(),
                "proof": [p.hex() for p in merkle_proof(self.tx_ids[height], index).path],
            },
            "receipt": {
                "code": receipt.code,
                "error_code": receipt.error_code,
                "events": [
                    {"type": e.type, "attributes": [[k, v] for k, v in e.attributes]}
                    for e in receipt.events
                ],
                "proof": [p.hex() for p in receipt_proof(receipts, index).path],
            },
            "header": header_json(self.headers[height]),
            "commit": self.commits[height],
        }

    def _set_changes(self, height: int) -> list[Bundle]:
        """Each consensus set change in effect by ``height``: the header of the height before it
        takes effect, its commit, the new set (what the node's GetCertificateProof lists)."""
        changes = []
        history = [(start, consensus_set(records)) for start, records in
                   validator_history(self.state)]  # fmt: skip
        for (_, before), (start, after) in pairwise(history):
            if start > height or after.hash() == before.hash():
                continue
            changes.append({"header": header_json(self.headers[start - 1]),
                            "commit": self.commits[start - 1],
                            "validators": _validators(after)})  # fmt: skip
        return changes


def _validators(validators: ValidatorSet) -> list[Bundle]:
    return [{"name": v.name, "public_key": v.public_key.hex(), "power": v.power}
            for v in validators.validators]  # fmt: skip


def header_json(h: Header) -> Bundle:
    """A header as a bundle holds it: every field, hashes and keys in hex."""
    names = ("prev_hash", "tx_root", "results_root", "envelopes_root", "app_hash", "proposer",
             "validators_hash", "next_validators_hash")  # fmt: skip
    out: Bundle = {n: getattr(h, n).hex() for n in names}
    out.update(chain_id=h.chain_id, height=h.height, time_ms=h.time_ms, tx_count=h.tx_count)
    return out
