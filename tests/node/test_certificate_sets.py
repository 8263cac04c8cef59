"""The verifier follows a chain of validator set changes from genesis, and refuses a broken one.

Synthetic headers signed by test keys: each change is the header before a new set takes effect
(naming it as the next set), signed by the set the chain has reached. The end-to-end bundle
across real set changes is in tests/node/test_set_changes_devnet.py.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from carbon_ticket.chain.block import Header
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.verify import BundleError, follow_set_changes
from carbon_ticket.consensus import Validator, ValidatorSet, Vote, VoteType, vote_sign_bytes
from tests.chain.conftest import key

CHAIN = "carbon-test"
KEYS = [key(f"validator-{i}") for i in range(6)]
Change = dict[str, Any]


def _set(*indexes: int, power: int = 1) -> ValidatorSet:
    return ValidatorSet(tuple(Validator(f"v{i}", KEYS[i].public_key, power) for i in indexes))


A = _set(0, 1, 2, 3)
B = _set(0, 1, 2, 3, 4)  # validator 4 joins
C = _set(0, 1, 2, 4)  # validator 3 leaves


def _header(height: int, own: ValidatorSet, following: ValidatorSet) -> Header:
    def h(word: str) -> bytes:
        return hashlib.sha256(f"{word}{height}".encode()).digest()

    return Header(CHAIN, height, 1_800_000_000_000 + height, h("prev"), h("tx"), h("results"),
                  h("envelopes"), h("app"), own.validators[0].public_key, own.hash(),
                  following.hash(), 0)  # fmt: skip


def _commit(header: Header, signers: list[tuple[int, PrivateKey]]) -> dict[str, Any]:
    precommits = []
    for index, signer in signers:
        vote = Vote(VoteType.PRECOMMIT, header.height, 0, header.hash(), index)
        signature = signer.sign(vote_sign_bytes(CHAIN, vote))
        precommits.append({"validator_index": index, "signature": signature.hex()})
    return {"height": header.height, "round": 0, "block_hash": header.hash().hex(),
            "precommits": precommits}  # fmt: skip


def _header_json(h: Header) -> dict[str, Any]:
    names = ("prev_hash", "tx_root", "results_root", "envelopes_root", "app_hash", "proposer",
             "validators_hash", "next_validators_hash")  # fmt: skip
    out: dict[str, Any] = {n: getattr(h, n).hex() for n in names}
    out.update(chain_id=h.chain_id, height=h.height, time_ms=h.time_ms, tx_count=h.tx_count)
    return out


def _change(height: int, old: ValidatorSet, new: ValidatorSet) -> Change:
    header = _header(height, old, new)
    # Every member of the old set but its last signs: more than 2/3 of its power.
    keys_by_key = {k.public_key: k for k in KEYS}
    signers = [(i, keys_by_key[v.public_key]) for i, v in enumerate(old.validators[:-1])]
    return {
        "header": _header_json(header),
        "commit": _commit(header, signers),
        "validators": [
            {"name": v.name, "public_key": v.public_key.hex(), "power": v.power}
            for v in new.validators
        ],
    }


def _chain() -> list[Change]:
    return [_change(4, A, B), _change(9, B, C)]


def test_the_chain_of_changes_leads_from_the_genesis_set_to_the_latest() -> None:
    assert follow_set_changes(CHAIN, A, [], 20) is A
    assert follow_set_changes(CHAIN, A, _chain()[:1], 20) == B
    assert follow_set_changes(CHAIN, A, _chain(), 20) == C


def _new_set_changed(chain: list[Change]) -> None:
    chain[0]["validators"][4]["power"] = 2


def _signed_by_newcomers(chain: list[Change]) -> None:
    # The second change "signed" with validator 0's place taken by an outsider's key.
    header = _header(9, B, C)
    chain[1]["commit"] = _commit(header, [(0, KEYS[5]), (1, KEYS[1]), (2, KEYS[2]), (3, KEYS[3])])


def _skipped_change(chain: list[Change]) -> None:
    del chain[0]


def _header_field(chain: list[Change]) -> None:
    chain[0]["header"]["app_hash"] = "00" * 32


def _out_of_order(chain: list[Change]) -> None:
    chain[1] = copy.deepcopy(chain[0])  # the same height twice


def _other_chain(chain: list[Change]) -> None:
    chain[0]["header"]["chain_id"] = "carbon-other"


BROKEN: list[tuple[str, Callable[[list[Change]], None], str]] = [
    ("new set", _new_set_changed, "not the set the header of height 4 names as the next one"),
    ("signers", _signed_by_newcomers, "set_changes[1] commit certificate"),
    ("skipped", _skipped_change, "names another validator set than the chain of changes"),
    ("header field", _header_field, "set_changes[0] commit: a header field was changed"),
    ("order", _out_of_order, "not after the change before it"),
    ("chain", _other_chain, 'for chain "carbon-other"'),
]


@pytest.mark.parametrize(("what", "tamper", "needle"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_chain_of_sets_is_refused_with_one_line(
    what: str, tamper: Callable[[list[Change]], None], needle: str
) -> None:
    chain = copy.deepcopy(_chain())
    tamper(chain)
    with pytest.raises(BundleError) as info:
        follow_set_changes(CHAIN, A, chain, 20)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_a_change_at_or_after_the_certificates_height_is_refused() -> None:
    with pytest.raises(BundleError, match="before the certificate's block"):
        follow_set_changes(CHAIN, A, _chain(), 9)
