"""The offline verifier on bundles of chains the in-memory ledger makes (ledger_bundles.py):
several transactions per block, a validator set change and a parameter change by governance.

An auditor's review: every field of such a bundle is tampered with in turn and each tampering
must fail with one line, while every untampered bundle of a valid chain must verify.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from carbon_ticket.chain import TxResult
from carbon_ticket.chain.keys import CERTIFICATE
from carbon_ticket.chain.records import Certificate
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.verify import BundleError, verify_bundle
from carbon_ticket.proto import ledger_pb2
from tests.chain import strategies
from tests.chain.conftest import (
    BATCH_ID,
    COMPANY,
    ISSUER,
    VALIDATORS,
    T,
    body_of,
    issue_the_batch,
    key,
    retire,
    transfer,
)
from tests.chain.governance import action, stored, submit, votes
from tests.chain.strategies import retire_ops, run_ops
from tests.cli.ledger_bundles import Bundle, ProvenLedger, header_json

NEWCOMER = key("bureau-node-4")


def issued(chain: ProvenLedger) -> ProvenLedger:
    """The chain with the test project's batch issued to the bureau and a company registered."""
    return issue_the_batch(chain, "Guyang")


def decide(chain: ProvenLedger, *actions: ledger_pb2.GovAction) -> int:
    """Pass a proposal with three of the four genesis operators; return the deciding height."""
    pid = submit(chain, *actions)
    votes(chain, pid, VALIDATORS[:3])
    assert stored(chain, pid).status == "passed", stored(chain, pid)
    return chain.height


def certificate_of(receipt: TxResult) -> str:
    """The id of the certificate a receipt's retire event names."""
    return next(dict(e.attributes) for e in receipt.events if e.type == "retire")["certificate_id"]


def proven(chain: ProvenLedger, bundle: Bundle) -> list[str]:
    return verify_bundle(bundle, chain.genesis).lines()


def refusal(chain: ProvenLedger, bundle: Bundle) -> str:
    with pytest.raises(BundleError) as info:
        verify_bundle(bundle, chain.genesis)
    assert "\n" not in str(info.value)
    return str(info.value)


# ---------------------------------------------------------------- untampered bundles verify


def test_a_retirement_under_limits_raised_by_governance_verifies() -> None:
    # The genesis allows 256-byte memos; governance raises it to 1024 and a wallet then retires
    # with a 600-byte memo. The node accepted it under the limits in force at its height, so the
    # certificate is valid; an offline check against the genesis limits refused it ("memo longer
    # than 256 bytes"), though no limit is part of what the proofs prove.
    chain = issued(ProvenLedger())
    change = ledger_pb2.ChangeParams(
        changes=[ledger_pb2.ParamChange(name="limits.max_memo_bytes", value="1024")]
    )
    decide(chain, action(change))
    body = body_of(ISSUER, retire(amount_grams=T), chain.nonce(ISSUER))
    body.memo = "m" * 600
    receipt = chain.run([encode_tx(body, [ISSUER])]).receipts[0]
    assert receipt.ok, receipt
    lines = proven(chain, chain.bundle(certificate_of(receipt)))
    assert lines[0].endswith("is valid")


# ---------------------------------------------------------------- what the verifier shows


def test_a_header_that_changes_no_set_is_no_set_change() -> None:
    # Any finalised header signed by the set reached so far was accepted as a "set change" when
    # it named its own set as the next: the bundle's author could pad the chain of changes and
    # the verifier printed "through 1 signed set changes" for a set that never changed.
    chain = issued(ProvenLedger())
    receipt = chain.ok(ISSUER, retire())
    bundle = chain.bundle(certificate_of(receipt))
    assert bundle["set_changes"] == []
    padded = copy.deepcopy(bundle)
    padded["set_changes"] = [{"header": header_json(chain.headers[3]), "commit": chain.commits[3],
                              "validators": bundle["validators"]}]  # fmt: skip
    assert "set_changes[0]: the header of height 3 names no new validator set" in refusal(
        chain, padded
    )
    assert not any("set changes" in line for line in proven(chain, bundle))


# ---------------------------------------------------------------- tampering


@pytest.fixture(scope="module")
def across_a_change() -> tuple[ProvenLedger, Bundle]:
    """A retirement in the middle of a block of six transactions, proven by a validator set that
    a governance proposal reached from the genesis set (a fifth bureau joined)."""
    chain = issued(ProvenLedger(keys=[NEWCOMER]))
    decide(chain, add_validator())
    chain.run([])
    chain.run([])  # the new set is in effect from here on
    nonce = chain.nonce(ISSUER)
    raws = [chain.tx(ISSUER, transfer((COMPANY, BATCH_ID, T)), nonce=nonce + i) for i in range(3)]
    raws.append(chain.tx(ISSUER, retire(), nonce=nonce + 3))
    raws += [chain.tx(ISSUER, transfer((COMPANY, BATCH_ID, T)), nonce=nonce + 4 + i)
             for i in range(2)]  # fmt: skip
    receipts = chain.run(raws).receipts
    assert all(r.ok for r in receipts)
    bundle = chain.bundle(certificate_of(receipts[3]))
    assert len(bundle["set_changes"]) == 1 and len(bundle["validators"]) == 5
    assert (bundle["tx"]["index"], bundle["header"]["tx_count"]) == (3, 6)
    return chain, bundle


def add_validator() -> ledger_pb2.GovAction:
    return action(
        ledger_pb2.AddValidator(
            name="bureau-node-4",
            public_key=NEWCOMER.public_key,
            network_address="bureau-node-4.example:26656",
            power=1,
        )
    )


def test_a_bundle_across_a_set_change_verifies(
    across_a_change: tuple[ProvenLedger, Bundle],
) -> None:
    chain, bundle = across_a_change
    lines = proven(chain, bundle)
    assert lines[0].endswith("is valid") and "retired 5000 tCO2e" in lines[1]
    assert "signed by 4 of 5 voting power" in lines[-2]
    assert lines[-1].endswith("through 1 signed set changes")


def _flip(text: str) -> str:
    """Hex text with its last digit changed (a hash, key or signature that is another one)."""
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def _named_tampers(bundle: Bundle) -> list[tuple[str, tuple[Any, ...], Any, str]]:
    """(what, path into the bundle, new value, a fragment of the one line it must cause)."""
    out: list[tuple[str, tuple[Any, ...], Any, str]] = []
    header = bundle["header"]
    for name in sorted(header):
        value = header[name]
        new = value + 1 if isinstance(value, int) else _flip(value) if name != "chain_id" else "x"
        fragment = {"chain_id": 'the header is for chain "x"',
                    "height": "certificate is for height",
                    "validators_hash": "the header names another validator set"}.get(
            name, "header does not hash to the block the validators signed")  # fmt: skip
        out.append((f"header {name}", ("header", name), new, fragment))
    for i, step in enumerate(bundle["tx"]["proof"]):
        out.append((f"tx proof step {i}", ("tx", "proof", i), _flip(step),
                    "tx proof does not lead to tx_root"))  # fmt: skip
    for i, step in enumerate(bundle["receipt"]["proof"]):
        out.append((f"receipt proof step {i}", ("receipt", "proof", i), _flip(step),
                    "receipt proof does not lead to results_root"))  # fmt: skip
    out.append(("tx index", ("tx", "index"), 2, "tx proof does not lead to tx_root"))
    for name, value in sorted(bundle["certificate"].items()):
        new = value + 1 if isinstance(value, int) else value + "x"
        out.append((f"certificate {name}", ("certificate", name), new, f"certificate field {name}"))
    for i, (name, value) in enumerate(bundle["receipt"]["events"][0]["attributes"]):
        out.append((f"receipt {name}", ("receipt", "events", 0, "attributes", i, 1), value + "x",
                    "receipt proof does not lead to results_root"))  # fmt: skip
    out.append(("receipt code", ("receipt", "code"), 1, "receipt proof does not lead"))
    for i, vote in enumerate(bundle["commit"]["precommits"]):
        out.append((f"precommit {i} signature", ("commit", "precommits", i, "signature"),
                    _flip(vote["signature"]), f"bad signature from validator {i}"))  # fmt: skip
    out.append(("precommit signer", ("commit", "precommits", 0, "validator_index"), 4,
                "bad signature from validator 4"))  # fmt: skip
    out.append(("commit round", ("commit", "round"), 1, "bad signature from validator 0"))
    for i, member in enumerate(bundle["validators"]):
        for name, new in (("power", 2), ("public_key", _flip(member["public_key"])),
                          ("name", "another")):  # fmt: skip
            out.append((f"validator {i} {name}", ("validators", i, name), new,
                        "the chain of set changes lead to"))  # fmt: skip
    change = bundle["set_changes"][0]
    for name in sorted(change["header"]):
        value = change["header"][name]
        if name in ("chain_id", "height"):
            continue
        new = value + 1 if isinstance(value, int) else _flip(value)
        fragment = ("set_changes[0] commit: a header field was changed"
                    if name not in ("validators_hash", "next_validators_hash")
                    else "set_changes[0]")  # fmt: skip
        out.append((f"set change header {name}", ("set_changes", 0, "header", name), new, fragment))
    for i, vote in enumerate(change["commit"]["precommits"]):
        out.append((f"set change precommit {i}", ("set_changes", 0, "commit", "precommits", i,
                    "signature"), _flip(vote["signature"]),
                    "set_changes[0] commit certificate"))  # fmt: skip
    out.append(("set change new power", ("set_changes", 0, "validators", 4, "power"), 3,
                "not the set the header of height"))  # fmt: skip
    out.append(("set change left out", ("set_changes",), [],
                "the chain of set changes lead to"))  # fmt: skip
    out.append(("genesis hash", ("genesis_hash",), _flip(bundle["genesis_hash"]), "wrong genesis"))
    out.append(("chain id", ("chain_id",), "carbon-other", "the bundle is for chain"))
    return out


def _set(bundle: Bundle, path: tuple[Any, ...], value: Any) -> Bundle:
    out = copy.deepcopy(bundle)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def test_every_named_tampering_fails_with_its_line(
    across_a_change: tuple[ProvenLedger, Bundle],
) -> None:
    chain, bundle = across_a_change
    wrong = []
    for what, path, value, fragment in _named_tampers(bundle):
        line = refusal(chain, _set(bundle, path, value))
        if fragment not in line:
            wrong.append(f"{what}: {line}")
    assert wrong == []


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every value of the bundle with its path, lists included as values themselves."""
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*path, k))]
    out = [(path, node)]
    if isinstance(node, list):
        out += [leaf for i, v in enumerate(node) for leaf in _leaves(v, (*path, i))]
    return out


def _changes(value: Any) -> list[Any]:
    """Values other than ``value``: never the same bytes spelt otherwise (upper-case hex)."""
    if isinstance(value, bool) or not isinstance(value, int | str | list):
        return [None]
    if isinstance(value, int):
        return [value + 1, *([value - 1] if value else []), str(value), float(value), None]
    if isinstance(value, list):
        return [value[1:], value[:-1], [*value, value[-1]]] if value else [[None]]
    out = [value + "0", value[:-1], ""] if value else ["x"]
    if value and all(c in "0123456789abcdef" for c in value):
        out += [_flip(value), ("1" if value[0] == "0" else "0") + value[1:]]
    if len(value) > 100:  # the base64 envelope: one changed byte at a time, all along it
        raw = bytearray(base64.b64decode(value))
        for at in range(0, len(raw), 3):
            raw[at] ^= 1
            out.append(base64.b64encode(bytes(raw)).decode())
            raw[at] ^= 1
    return [v for v in out if v != value]


def test_every_change_to_any_field_fails_with_one_line(
    across_a_change: tuple[ProvenLedger, Bundle],
) -> None:
    # Each value anywhere in the bundle, changed in every way above (a hash, key, signature or
    # proof step to another, a number off by one or of another type, a list one item short or
    # long, a byte of the signed envelope): the verifier must refuse every one with one line.
    # So no field is shown or used without a hash or signature binding it.
    chain, bundle = across_a_change
    accepted = []
    count = 0
    for path, value in _leaves(bundle):
        for change in _changes(value):
            count += 1
            try:
                verify_bundle(_set(bundle, path, change) if path else change, chain.genesis)
            except BundleError as exc:
                assert str(exc) and "\n" not in str(exc), (path, change)
            else:
                accepted.append((path, change))
    assert accepted == [] and count > 900


# ---------------------------------------------------------------- what a proof rests on


def test_the_keys_of_a_past_set_can_forge_a_bundle_that_leaves_out_later_changes() -> None:
    # docs/security.md, "What an offline proof rests on": the verifier trusts every set the
    # chain of changes reaches, and a bundle may stop short of the latest. Here the real chain
    # moved on to a five-bureau set; whoever holds the four genesis keys (e.g. consensus keys
    # rotated out, not destroyed) signs a fork from the same genesis with a retirement the real
    # chain never made, at a height the genesis set no longer signs. It verifies offline: only a
    # later trusted set or a node of the network can tell the fork from the chain.
    real = issued(ProvenLedger(keys=[NEWCOMER]))
    decide(real, add_validator())
    real.run([])
    real.run([])
    fork = issued(ProvenLedger())
    while fork.height < real.height:
        fork.run([])
    forged = fork.bundle(certificate_of(fork.ok(ISSUER, retire(beneficiary="Never retired"))))
    assert forged["set_changes"] == [] and forged["header"]["height"] > real.height
    assert verify_bundle(forged, real.genesis).certificate["beneficiary"] == "Never retired"
    assert real.genesis.hash() == fork.genesis.hash()


def test_a_block_time_beyond_the_calendar_is_shown_not_a_crash(tmp_path: Path) -> None:
    # The header's time is whatever the validators signed, up to 2**64 - 1 ms: verify proved
    # such a bundle and then crashed printing it (datetime: "year 292278994 is out of range"),
    # a traceback instead of the account of what was proven.
    chain = issued(ProvenLedger())
    chain.base_time_ms = 2**63
    bundle = chain.bundle(certificate_of(chain.ok(ISSUER, retire())))
    (tmp_path / "cert.json").write_text(json.dumps(bundle))
    (tmp_path / "genesis.json").write_text(chain.genesis.to_json())
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "cert.json"), "--genesis",
                                      str(tmp_path / "genesis.json")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"at height {chain.height}, time_ms {bundle['header']['time_ms']} (after 9999)" in (
        result.output
    )


def _long_error_code(b: Bundle) -> None:
    b["receipt"]["error_code"] = "e" * 65_536


def _long_event_type(b: Bundle) -> None:
    b["receipt"]["events"][0]["type"] = "t" * 65_536


def _long_attribute_key(b: Bundle) -> None:
    b["receipt"]["events"][0]["attributes"].append(["k" * 65_536, "v"])


def _too_many_events(b: Bundle) -> None:
    b["receipt"]["events"] += [{"type": "e", "attributes": []}] * 65_536


def _too_many_attributes(b: Bundle) -> None:
    b["receipt"]["events"][0]["attributes"] += [["k", "v"]] * 65_536


def _long_validator_name(b: Bundle) -> None:
    b["set_changes"][0]["validators"][0]["name"] = "n" * 65_536


OVERSIZED = [_long_error_code, _long_event_type, _long_attribute_key, _too_many_events,
             _too_many_attributes, _long_validator_name]  # fmt: skip


@pytest.mark.parametrize("oversize", OVERSIZED, ids=[f.__name__.strip("_") for f in OVERSIZED])
def test_a_field_beyond_what_its_hash_encodes_fails_with_one_line(
    across_a_change: tuple[ProvenLedger, Bundle], oversize: Callable[[Bundle], None]
) -> None:
    # Receipts and validator sets are hashed with u16 lengths and counts: a longer text or list
    # made the verifier raise struct.error or ValueError (a traceback, from `verify` too), not
    # the one line of a bundle that proves nothing.
    chain, bundle = across_a_change
    changed = copy.deepcopy(bundle)
    oversize(changed)
    assert "65535" in refusal(chain, changed)


# How many certificates the property below proved, over all its examples (it must prove some).
PROVEN: list[str] = []


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(retire_ops)
def _every_certificate_verifies(operations: list[tuple[Any, ...]]) -> None:
    # Random operations (tests/chain/strategies.py): transfers, retirements, exports, reversals,
    # failing ones and nonce gaps, several per block. No untampered bundle may fail, wherever its
    # transaction sits in its block, and each proves the certificate the ledger stored.
    with patch.object(strategies, "Ledger", ProvenLedger):
        chain = strategies.setup_ledger()
    assert isinstance(chain, ProvenLedger)
    run_ops(chain, operations)
    for _, value in chain.state.scan(CERTIFICATE):
        record = Certificate.decode(value)
        proven = verify_bundle(chain.bundle(record.certificate_id), chain.genesis).certificate
        assert proven["tx_hash"] == record.tx_hash.hex() and proven["serial"] == record.serial
        assert proven["amount_grams"] == record.amount_grams
        PROVEN.append(record.certificate_id)


def test_every_certificate_of_any_chain_verifies() -> None:
    # The property runs once, and its examples are fixed (derandomize): they must retire, and
    # their bundles were checked. (A second test used to run all 100 examples again for this
    # count, which then also counted the first run's certificates.)
    PROVEN.clear()
    _every_certificate_verifies()
    assert len(PROVEN) >= 20 and len(set(PROVEN)) >= 5
