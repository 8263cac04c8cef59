"""The explorer's in-browser verifier (cli/explorer/static/verify.js) on integers beyond 2^53.

A bundle's u64 fields (grams, heights, block times, voting power) and a genesis's parameters go
up to 2^64 - 1. JSON.parse reads numbers as doubles, exact only up to 2^53: the verifier refused
a valid bundle that retired 2^53 + 1 grams ("certificate field amount_grams is
9007199254740992, but ... give 9007199254740993") or was dated after 2^53 ms, and hashed a
genesis holding such a number to another hash than the node's. It now parses integers as BigInt
and must agree with ``carbon-ticket verify`` (cli/verify.py) on every such bundle, on the
numbers it refuses (negative, fractional, above 2^64 - 1: with Python's message), and show the
amounts and times as Python does.

The bundles come from the in-memory ledger (tests/cli/ledger_bundles.py), so no devnet runs.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from carbon_ticket.chain.amounts import format_tco2e
from carbon_ticket.chain.errors import LedgerError
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.chain.jsontext import parse_json
from carbon_ticket.cli.verify import BundleError, _when, verify_bundle
from carbon_ticket.proto import ledger_pb2
from tests.chain.conftest import (
    ISSUER,
    OWNER,
    REGISTRAR,
    VERIFIER,
    T,
    anchor_data,
    attest_report,
    issue_batch,
    make_genesis,
    register_account,
    register_project,
    retire,
)
from tests.cli.ledger_bundles import Bundle, ProvenLedger
from tests.cli.test_explorer_js import RUNNER, node_binary
from tests.cli.test_explorer_js import VERIFIER as VERIFY_JS

U53 = 2**53
U64_MAX = 2**64 - 1
RAW = "@raw@"  # a field set to this is written as the raw JSON literal given with it


def retired(grams: int, base_time_ms: int | None = None) -> tuple[ProvenLedger, Bundle]:
    """A chain (no buffer share, so that all of a batch is the bureau's) where the bureau
    issued 2^64 - 1 grams and retired ``grams`` of them; the retirement's bundle."""
    chain = ProvenLedger(make_genesis(buffer_share_bps=0))
    if base_time_ms is not None:
        chain.base_time_ms = base_time_ms
    chain.ok(REGISTRAR, register_account(OWNER, ledger_pb2.ACCOUNT_KIND_BUREAU, "Guyang"))
    chain.ok(ISSUER, register_project())
    chain.ok(ISSUER, anchor_data())
    chain.ok(VERIFIER, attest_report(verified_grams=U64_MAX))
    chain.ok(ISSUER, issue_batch(amount_grams=U64_MAX))
    receipt = chain.ok(ISSUER, retire(amount_grams=grams))
    event = next(dict(e.attributes) for e in receipt.events if e.type == "retire")
    return chain, chain.bundle(event["certificate_id"])


def with_literal(bundle: Bundle, where: tuple[str | int, ...], literal: str) -> str:
    """The bundle's JSON text with the field at ``where`` written as ``literal`` ("{v}" in it
    stands for the field's value)."""
    out = copy.deepcopy(bundle)
    node: Any = out
    for step in where[:-1]:
        node = node[step]
    literal = literal.replace("{v}", str(node[where[-1]]))
    node[where[-1]] = RAW
    return json.dumps(out).replace(json.dumps(RAW), literal)


# (name, field, literal, the fragment both verifiers give), on a bundle retiring 5,000 t
MUST_BE_U64 = "must be an integer from 0 to 18446744073709551615"
BAD_NUMBERS: list[tuple[str, tuple[str | int, ...], str, str]] = [
    ("negative time", ("header", "time_ms"), "-1", f"header time_ms {MUST_BE_U64}"),
    ("fractional time", ("header", "time_ms"), "1.5", f"header time_ms {MUST_BE_U64}"),
    ("time written 1.0", ("header", "time_ms"), "1796083200006.0", f"header time_ms {MUST_BE_U64}"),
    ("time with exponent", ("header", "time_ms"), "1e3", f"header time_ms {MUST_BE_U64}"),
    ("time of 2^64", ("header", "time_ms"), str(2**64), f"header time_ms {MUST_BE_U64}"),
    ("height of 2^64", ("header", "height"), str(2**64), f"header height {MUST_BE_U64}"),
    ("negative commit height", ("commit", "height"), "-6", f"commit height {MUST_BE_U64}"),
    ("power of 2^64", ("validators", 0, "power"), str(2**64),
     f"validators[0] power {MUST_BE_U64}"),
    ("time of 2^64 - 1", ("header", "time_ms"), str(U64_MAX), "a header field was changed"),
    # 5000000000.0 is no integer to Python (a float): JSON.parse made it 5000000000. Both name
    # its kind, not digits each would write its own way (5000000000.0 or 5000000000).
    ("amount written with .0", ("certificate", "amount_grams"), "{v}.0",
     "certificate field amount_grams is a number with a fraction or exponent, but the signed "
     "transaction, its receipt and the header give 5000000000"),
    ("height written with .0", ("certificate", "height"), "{v}.0", "certificate field height is"),
    ("time written with .0", ("certificate", "time_ms"), "{v}.0", "certificate field time_ms is"),
]  # fmt: skip

# JSON the exact parser must read as Python's json does ...
DOCUMENTS = [
    '{"a": [1, -0, 0, 18446744073709551615, 340282366920938463463374607431768211457, -5, 1.5,'
    " -2.5e-3, true, false, null]}",
    '{"s": "q\\"uo\\\\te\\\\", "u": "\\u00e9\\ud83d\\ude00 \u5185", "__proto__": {"x": 1}, "": []}',
    ' \n\t[ ] \r\n',
    '"a string"',
    '{"k": 1, "k": 18446744073709551615}',
    '{"nested": [[[[{"deep": [9007199254740993]}]]]]}',
]  # fmt: skip
# ... and what it must refuse, as Python's parse_json does.
NOT_JSON = ['{"a": 1,}', "[01]", "[NaN]", "[Infinity]", "['a']", '"\\ud800"', '["\\udc00x"]',
            "[1] x", "", '{"a" 1}', '"abc', "[", '"a\tb"', "[1.]", "[-]", "[.5]", "[+1]",
            '{"a":1}}', "\ufeff{}", '"\\x41"', "{1: 2}", "tru", "[1 2]",
            "[" * 100_000 + "]" * 100_000]  # fmt: skip

GRAMS = [0, 1, 999_999, 1_000_000, 12_500_000, U53 + 1, U64_MAX]
TIMES_MS = [0, 1_796_083_200_123, 253_402_300_799_999, 253_402_300_800_000, 2**62, U64_MAX]


def big_genesis() -> Genesis:
    """The test genesis with parameters beyond 2^53 (its JSON holds them as numbers)."""
    g = make_genesis()
    limits = dataclasses.replace(g.params.limits, max_block_bytes=U53 + 1)
    rates = dataclasses.replace(g.params.rate_limits, points_daily_cap=U64_MAX)
    return dataclasses.replace(
        g, params=dataclasses.replace(g.params, limits=limits, rate_limits=rates)
    )


@pytest.fixture(scope="module")
def cases() -> dict[str, tuple[str, str, str]]:
    """Every case by name: (genesis text, bundle text, expected fragment or "" for a valid one)."""
    chain, above = retired(U53 + 1)
    late, largest = retired(U64_MAX, base_time_ms=2**62)
    plain, small = retired(5_000 * T)
    text = chain.genesis.to_json()
    out = {
        "amount above 2^53": (text, json.dumps(above), ""),
        "amount of 2^64 - 1, after the year 9999": (late.genesis.to_json(), json.dumps(largest),
                                                    ""),
    }  # fmt: skip
    for name, where, literal, fragment in BAD_NUMBERS:
        out[name] = (plain.genesis.to_json(), with_literal(small, where, literal), fragment)
    return out


@pytest.fixture(scope="module")
def node_run(
    cases: dict[str, tuple[str, str, str]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    node = node_binary()
    payload = {
        "verifier": str(VERIFY_JS),
        "cases": [{"name": n, "genesis": g, "bundle": b} for n, (g, b, _) in cases.items()],
        "genesis_hashes": [big_genesis().to_json()],
        "documents": DOCUMENTS + NOT_JSON,
        "formats": {"grams": [str(g) for g in GRAMS], "times_ms": [str(t) for t in TIMES_MS]},
    }
    path: Path = tmp_path_factory.mktemp("js-u64") / "cases.json"
    path.write_text(json.dumps(payload))
    run = subprocess.run([node, str(RUNNER), str(path)], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    out: dict[str, Any] = json.loads(run.stdout)
    return out


@pytest.mark.parametrize("name", ["amount above 2^53", "amount of 2^64 - 1, after the year 9999"])
def test_a_bundle_beyond_2_53_proves_in_javascript_what_it_proves_in_python(
    name: str, node_run: dict[str, Any], cases: dict[str, tuple[str, str, str]]
) -> None:
    text, bundle, _ = cases[name]
    proven = verify_bundle(json.loads(bundle), Genesis.from_json(text))
    assert proven.certificate["amount_grams"] > U53
    result = node_run["results"][name]
    assert result["ok"], result
    got = result["proven"]
    assert got["certificate"] == dict(proven.certificate)
    assert got["height"] == proven.height
    assert (got["signedPower"], got["totalPower"]) == (proven.signed_power, proven.total_power)
    assert got["blockHash"] == proven.block_hash.hex()


@pytest.mark.parametrize("name", [case[0] for case in BAD_NUMBERS])
def test_a_number_that_is_no_u64_is_refused_as_python_refuses_it(
    name: str, node_run: dict[str, Any], cases: dict[str, tuple[str, str, str]]
) -> None:
    text, bundle, fragment = cases[name]
    with pytest.raises(BundleError) as caught:
        verify_bundle(json.loads(bundle), Genesis.from_json(text))
    assert fragment in str(caught.value)
    result = node_run["results"][name]
    assert not result["ok"], f"{name} verified in JavaScript"
    assert result["type"] == "BundleError"
    assert result["error"] == str(caught.value)  # the same line from both verifiers


def test_a_genesis_with_numbers_beyond_2_53_hashes_as_in_python(node_run: dict[str, Any]) -> None:
    assert node_run["hashes"] == [big_genesis().hash().hex()]


def test_the_parser_reads_json_as_python_does(node_run: dict[str, Any]) -> None:
    for text, result in zip(DOCUMENTS, node_run["documents"], strict=False):
        assert result["ok"], (text, result)
        assert result["value"] == json.loads(text), text


def test_the_parser_refuses_what_python_refuses(node_run: dict[str, Any]) -> None:
    for text, result in zip(NOT_JSON, node_run["documents"][len(DOCUMENTS) :], strict=True):
        with pytest.raises(LedgerError):
            parse_json(text, "the document", LedgerError)
        assert not result["ok"], text[:40]
        assert result["type"] == "BundleError"
        assert result["error"].startswith("the document is not JSON: "), result["error"]


def test_amounts_and_times_are_shown_as_python_shows_them(node_run: dict[str, Any]) -> None:
    assert node_run["formats"]["tco2e"] == [format_tco2e(g) for g in GRAMS]
    assert node_run["formats"]["time"] == [_when(t) for t in TIMES_MS]
