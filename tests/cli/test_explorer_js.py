"""The explorer's in-browser verifier (cli/explorer/static/verify.js) run under Node.js on
bundles the Python side produced: a good bundle verifies, and each kind of tampering is refused
with the right reason, the same one ``carbon-ticket verify`` gives (both implement docs/spec.md).

The bundles come from a devnet after ``carbon-ticket demo``; one also carries a chain of two
validator set changes (genesis set -> four new validators -> genesis set), signed by the devnet
validator's own key and test keys, so the set-change checks are exercised on a bundle that the
Python verifier accepts whole. One Node.js process checks every case.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from carbon_ticket.chain.block import Header
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.cli.verify import BundleError, genesis_set, verify_bundle
from carbon_ticket.consensus import Validator, ValidatorSet, Vote, VoteType, vote_sign_bytes
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.keyfile import load_validator_key
from tests.cli.bundles import (
    PURCHASE_TAMPERS,
    TAMPERS,
    foreign_genesis,
    tampered,
    without_quorum,
)
from tests.cli.explorer_harness import DemoChain
from tests.cli.purchases import purchase_certificate

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "cli" / "explorer" / "static" / "verify.js"
RUNNER = Path(__file__).parent / "js" / "verify_bundles.js"
Bundle = dict[str, Any]
NEW_KEYS = [PrivateKey(hashlib.sha256(f"explorer-test/{i}".encode()).digest()) for i in range(4)]


def node_binary() -> str:
    found = shutil.which("node")
    if found is None:
        # CI must run the verifier (.ci/run installs Node.js where it is missing).
        if os.environ.get("CI"):
            pytest.fail("`node` is not installed, and CI must run the explorer's verifier")
        pytest.skip("`node` is not installed")
    return found


# ---------------------------------------------------------------- a chain of set changes


def _header_json(h: Header) -> dict[str, Any]:
    names = ("prev_hash", "tx_root", "results_root", "envelopes_root", "app_hash", "proposer",
             "validators_hash", "next_validators_hash")  # fmt: skip
    out: dict[str, Any] = {n: getattr(h, n).hex() for n in names}
    out.update(chain_id=h.chain_id, height=h.height, time_ms=h.time_ms, tx_count=h.tx_count)
    return out


def _set_json(vs: ValidatorSet) -> list[dict[str, Any]]:
    return [{"name": v.name, "public_key": v.public_key.hex(), "power": v.power}
            for v in vs.validators]  # fmt: skip


def _change(
    chain_id: str, height: int, own: ValidatorSet, new: ValidatorSet, keys: list[PrivateKey]
) -> Bundle:
    """The header of ``height`` naming ``own`` and then ``new``, signed by ``keys`` of ``own``."""

    def word(w: str) -> bytes:
        return hashlib.sha256(f"{w}{height}".encode()).digest()

    header = Header(chain_id, height, 1_800_000_000_000 + height, word("prev"), word("tx"),
                    word("results"), word("envelopes"), word("app"),
                    own.validators[0].public_key, own.hash(), new.hash(), 0)  # fmt: skip
    precommits = []
    for k in keys:
        index = own.index_of(k.public_key)
        assert index is not None
        vote = Vote(VoteType.PRECOMMIT, height, 0, header.hash(), index)
        precommits.append({"validator_index": index,
                           "signature": k.sign(vote_sign_bytes(chain_id, vote)).hex()})  # fmt: skip
    commit = {"height": height, "round": 0, "block_hash": header.hash().hex(),
              "precommits": precommits}  # fmt: skip
    return {"header": _header_json(header), "commit": commit, "validators": _set_json(new)}


def with_set_changes(bundle: Bundle, genesis: Genesis, validator_key: PrivateKey) -> Bundle:
    """``bundle`` with two set changes below its height that lead back to the genesis set."""
    chain_id = genesis.chain_id
    first = genesis_set(genesis)
    second = ValidatorSet(tuple(Validator(f"bureau-{i}", k.public_key, 1)
                                for i, k in enumerate(NEW_KEYS)))  # fmt: skip
    out = copy.deepcopy(bundle)
    out["set_changes"] = [
        _change(chain_id, 2, first, second, [validator_key]),
        _change(chain_id, 5, second, first, NEW_KEYS[:3]),
    ]
    return out


def padded_with_no_change(bundle: Bundle, genesis: Genesis, validator_key: PrivateKey) -> Bundle:
    """``bundle`` with a first "set change" whose header names its own set as the next one."""
    first = genesis_set(genesis)
    out = copy.deepcopy(bundle)
    out["set_changes"].insert(0, _change(genesis.chain_id, 1, first, first, [validator_key]))
    return out


# ---------------------------------------------------------------- tampering


def _flip(hex_text: str) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[0] ^= 0x01
    return raw.hex()


def _commit_signature(b: Bundle) -> None:
    b["commit"]["precommits"][0]["signature"] = _flip(b["commit"]["precommits"][0]["signature"])


def _tx_signature(b: Bundle) -> None:
    raw = bytearray(base64.b64decode(b["tx"]["envelope"]))
    raw[-1] ^= 0x01  # the last byte of the envelope is the signature's
    b["tx"]["envelope"] = base64.b64encode(bytes(raw)).decode()


def _tx_sibling(b: Bundle) -> None:
    b["tx"]["proof"][0] = _flip(b["tx"]["proof"][0])


def _receipt_sibling(b: Bundle) -> None:
    b["receipt"]["proof"][-1] = _flip(b["receipt"]["proof"][-1])


def _validator_power(b: Bundle) -> None:
    b["validators"][0]["power"] += 1


def _validator_key(b: Bundle) -> None:
    b["validators"][0]["public_key"] = NEW_KEYS[0].public_key.hex()


def _header_validators(b: Bundle) -> None:
    b["header"]["validators_hash"] = "22" * 32


def _drop_last_change(b: Bundle) -> None:
    b["set_changes"].pop()


def _change_new_set(b: Bundle) -> None:
    b["set_changes"][0]["validators"][1]["power"] = 5


def _change_signature(b: Bundle) -> None:
    p = b["set_changes"][1]["commit"]["precommits"][0]
    p["signature"] = _flip(p["signature"])


def _change_quorum(b: Bundle) -> None:
    del b["set_changes"][1]["commit"]["precommits"][1:]


def _changes_swapped(b: Bundle) -> None:
    b["set_changes"].reverse()


def _change_header(b: Bundle) -> None:
    b["set_changes"][1]["header"]["app_hash"] = "33" * 32


def _change_late(b: Bundle) -> None:
    b["set_changes"][1]["header"]["height"] = b["header"]["height"]


# (name, how, the fragment of the one-line reason both verifiers must give)
PLAIN_TAMPERS: list[tuple[str, Callable[[Bundle], None], str]] = [
    *TAMPERS,
    ("commit signature", _commit_signature, "commit certificate: height"),
    ("tx signature", _tx_signature, "not validly signed"),
    ("validator power", _validator_power, "the bundle's validator set is not the one"),
    ("validator key", _validator_key, "the bundle's validator set is not the one"),
    ("header validators hash", _header_validators, "names another validator set than the one of"),
    ("quorum", lambda b: b.update(without_quorum(b)), "precommits carry power"),
]
CROWDED_TAMPERS: list[tuple[str, Callable[[Bundle], None], str]] = [
    ("tx proof sibling", _tx_sibling, "tx proof does not lead to tx_root"),
    ("receipt proof sibling", _receipt_sibling, "receipt proof does not lead to results_root"),
]
CHANGE_TAMPERS: list[tuple[str, Callable[[Bundle], None], str]] = [
    ("change dropped", _drop_last_change, "the bundle's validator set is not the one the genesis"),
    ("change new set", _change_new_set, "set_changes[0]: the listed validators are not the set"),
    ("change signature", _change_signature,
     "set_changes[1] commit certificate: height 5: bad signature from validator 0"),
    ("change quorum", _change_quorum, "set_changes[1] commit certificate: height 5: precommits"),
    ("changes swapped", _changes_swapped, "names another validator set than the chain of changes"),
    ("change header", _change_header, "set_changes[1] commit: a header field was changed"),
    ("change too late", _change_late, "is not after the change before it"),
]  # fmt: skip


@pytest.fixture(scope="module")
def cases(demo_devnet: DemoChain) -> dict[str, tuple[str, Bundle, str]]:
    """Every case by name: (genesis text, bundle, expected fragment or "" for a valid one)."""
    genesis = demo_devnet.genesis()
    text = genesis.to_json()
    games = demo_devnet.bundle(demo_devnet.games_certificate)
    crowded = demo_devnet.bundle(demo_devnet.crowded_certificate)
    key = load_validator_key(NodeConfig.load(demo_devnet.info.node_home(0)).key_path)
    changed = with_set_changes(games, genesis, key)
    purchase = demo_devnet.bundle(purchase_certificate(demo_devnet.info))
    out: dict[str, tuple[str, Bundle, str]] = {
        "good": (text, games, ""),
        "good purchase": (text, purchase, ""),
        "good crowded": (text, crowded, ""),
        "good with set changes": (text, changed, ""),
        # A signed header that changes nothing, padding the count of changes shown
        "change to its own set": (text, padded_with_no_change(changed, genesis, key),
                                  "names no new validator set"),
        "foreign genesis": (Genesis.from_json(foreign_genesis(text)).to_json(), games,
                            "wrong genesis"),
    }  # fmt: skip
    for name, how, fragment in PLAIN_TAMPERS:
        out[name] = (text, tampered(games, how), fragment)
    for name, how, fragment in CROWDED_TAMPERS:
        out[name] = (text, tampered(crowded, how), fragment)
    for name, how, fragment in CHANGE_TAMPERS:
        out[name] = (text, tampered(changed, how), fragment)
    for name, how, fragment in PURCHASE_TAMPERS:
        out[f"purchase {name}"] = (text, tampered(purchase, how), fragment)
    return out


def _unicode_genesis(text: str) -> str:
    data = json.loads(text)
    data["accounts"][0]["name"] = '内蒙古林业和草原局 "bureau" \\ é'
    return Genesis.from_json(json.dumps(data)).to_json()


@pytest.fixture(scope="module")
def node_run(
    cases: dict[str, tuple[str, Bundle, str]], demo_devnet: DemoChain,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:  # fmt: skip
    node = node_binary()
    genesis_texts = [demo_devnet.genesis().to_json(),
                     _unicode_genesis(demo_devnet.genesis().to_json())]  # fmt: skip
    payload = {
        "verifier": str(VERIFIER),
        "cases": [{"name": name, "genesis": g, "bundle": json.dumps(b)}
                  for name, (g, b, _) in cases.items()],
        "genesis_hashes": genesis_texts,
    }  # fmt: skip
    path = tmp_path_factory.mktemp("js") / "cases.json"
    path.write_text(json.dumps(payload))
    run = subprocess.run([node, str(RUNNER), str(path)], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    out: dict[str, Any] = json.loads(run.stdout)
    out["genesis_texts"] = genesis_texts
    return out


def test_the_python_verifier_agrees_on_every_case(
    cases: dict[str, tuple[str, Bundle, str]],
) -> None:
    for name, (text, bundle, fragment) in cases.items():
        genesis = Genesis.from_json(text)
        if not fragment:
            verify_bundle(bundle, genesis)
            continue
        with pytest.raises(BundleError) as caught:
            verify_bundle(bundle, genesis)
        assert fragment in str(caught.value), f"{name}: {caught.value}"


@pytest.mark.parametrize("name", ["good", "good crowded", "good with set changes", "good purchase"])
def test_a_good_bundle_verifies_in_javascript(
    name: str, node_run: dict[str, Any], cases: dict[str, tuple[str, Bundle, str]]
) -> None:
    result = node_run["results"][name]
    assert result["ok"], result
    text, bundle, _ = cases[name]
    proven = verify_bundle(bundle, Genesis.from_json(text))
    got = result["proven"]
    # The JavaScript proves exactly what the Python verifier proves.
    assert got["certificate"] == dict(proven.certificate)
    assert got["height"] == proven.height
    assert got["blockHash"] == proven.block_hash.hex()
    assert got["signers"] == list(proven.signers)
    assert (got["signedPower"], got["totalPower"]) == (proven.signed_power, proven.total_power)
    assert got["setChanges"] == proven.set_changes
    assert got["genesisHash"] == Genesis.from_json(text).hash().hex()


@pytest.mark.parametrize(
    "name",
    [
        "foreign genesis",
        "change to its own set",
        *(t[0] for t in PLAIN_TAMPERS + CROWDED_TAMPERS + CHANGE_TAMPERS),
        *(f"purchase {t[0]}" for t in PURCHASE_TAMPERS),
    ],
)
def test_each_tampering_is_refused_with_its_reason(
    name: str, node_run: dict[str, Any], cases: dict[str, tuple[str, Bundle, str]]
) -> None:
    result = node_run["results"][name]
    fragment = cases[name][2]
    assert not result["ok"], f"{name} verified in JavaScript"
    assert result["type"] == "BundleError"
    assert fragment in result["error"], f"{name}: {result['error']}"


def test_the_javascript_hashes_the_genesis_as_python_does(node_run: dict[str, Any]) -> None:
    expected = [Genesis.from_json(t).hash().hex() for t in node_run["genesis_texts"]]
    assert node_run["hashes"] == expected
    assert expected[0] != expected[1]


def test_the_crowded_bundle_has_proof_siblings(cases: dict[str, tuple[str, Bundle, str]]) -> None:
    # Otherwise the sibling tampering would test nothing.
    bundle = cases["good crowded"][1]
    assert bundle["tx"]["proof"] and bundle["receipt"]["proof"]
