"""The explorer's in-browser verifier (cli/explorer/static/verify.js) orders keys as Python
does, by code point: in the canonical JSON a genesis hash covers, and in naming the first
unknown field of a bundle.

A genesis hash covers ``json.dumps(sort_keys=True, ...)`` (``Genesis.canonical_bytes``), and
``carbon-ticket verify`` names ``sorted(unknown)[0]``: both sort by code point. JavaScript's
default sort compares UTF-16 code units, which put a key with a character above U+FFFF (a
surrogate pair, D800-DFFF) before one with a character in U+E000..U+FFFF, where Python puts it
after. A genesis names no key of its own choosing (Python and the verifier refuse unknown
fields), so the verifier's ``canonicalJson`` is checked directly, on documents read by its own
parser, against Python's.

Both verifiers also write a text from a bundle into their refusal the same way (an unknown
field's name, a format, a chain id: ``quoted`` in each), and a value that is no text by its JSON
kind. One Node.js process runs every case.
"""

from __future__ import annotations

import json
import subprocess
from types import SimpleNamespace
from typing import Any

import pytest

from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.cli.verify import BUNDLE_FORMAT, BundleError, verify_bundle
from tests.chain.conftest import make_genesis
from tests.cli.test_explorer_js import RUNNER, VERIFIER, node_binary

DOCUMENTS: list[dict[str, Any]] = [
    {"\ue000": 1, "\U0001f600": 2, "a": 3},
    {"a\U00010000": 1, "a\ue000": 2, "a": 3, "ab": 4, "a\uffff": 5},
    {"x": {"\uffff": [{"\U00010000": 1, "\ufb01": 2}], "\U0010ffff": 0, "\ud7ff": None}},
    {"b": 1, "a": 2, "\u00e9": 3, "Z": 4, "\u4e2d": [1, "\U0001f600"], "": True},
]
# Two unknown fields, both printable (Python's repr shows them as they are): U+FB01 and U+1F600
UNKNOWN_FIELDS = {"\U0001f600": 1, "\ufb01": 2}

# An unknown field's name as both verifiers quote it (cli/verify.py quoted): a JSON string, with
# the characters that hide or reorder text escaped too. Reproduction: Python's repr and
# verify.js's '...' wrote each of these differently (repr switches to double quotes around a
# single quote and escapes a non-printable character; verify.js wrote every character raw).
QUOTED_NAMES = {
    "quote": ("it's \"verified\"", '"it\'s \\"verified\\""'),
    "backslash": ("C:\\bundle\\", '"C:\\\\bundle\\\\"'),
    "control characters": ("a\x1b[31m\x07\n\tb\x00", '"a\\u001b[31m\\u0007\\n\\tb\\u0000"'),
    "non-ASCII": ("\u6838\u8bc1\u4eba caf\u00e9 \U0001f600",
                  '"\u6838\u8bc1\u4eba caf\u00e9 \U0001f600"'),
    "hidden characters": ("x\u202eyz\u200b\x7f\x85\u2028\ufeff",
                          '"x\\u202eyz\\u200b\\u007f\\u0085\\u2028\\ufeff"'),
}  # fmt: skip
# A bundle's format that is no text: each verifier names its JSON kind, not the digits it
# would write its own way (Python 1e+16, JavaScript 10000000000000000).
FORMATS = {"format 1e16": 1e16, "format [1]": [1], "format true": True, "format null": None,
           "format {}": {}, "format text": "v2 \"\u202e\u4e2d"}  # fmt: skip
OTHER_CHAIN = "carbon-'test'\n\u4e2d\u0085"


def top_level(**fields: Any) -> dict[str, Any]:
    """A bundle with every top-level field (empty ones), of the test genesis, and ``fields``."""
    genesis = make_genesis()
    bundle: dict[str, Any] = {"format": BUNDLE_FORMAT, "chain_id": genesis.chain_id,
              "genesis_hash": genesis.hash().hex(), "validators": [], "set_changes": [],
              "certificate": {}, "tx": {}, "receipt": {}, "header": {}, "commit": {}}  # fmt: skip
    bundle.update(fields)
    return bundle


def quoting_cases() -> dict[str, dict[str, Any]]:
    """Every bundle whose refusal quotes a text or shows a value, by case name."""
    cases = {f"unknown field: {case}": {name: 1} for case, (name, _) in QUOTED_NAMES.items()}
    cases.update({case: top_level(format=value) for case, value in FORMATS.items()})
    cases["other chain"] = top_level(chain_id=OTHER_CHAIN)
    return cases


def python_refusal(bundle: dict[str, Any]) -> str:
    with pytest.raises(BundleError) as caught:
        verify_bundle(bundle, make_genesis())
    return str(caught.value)


def python_canonical(doc: dict[str, Any]) -> str:
    """The canonical JSON of ``doc`` exactly as a genesis hash covers it."""
    as_genesis: Any = SimpleNamespace(to_dict=lambda: doc)
    return Genesis.canonical_bytes(as_genesis).decode()


@pytest.fixture(scope="module")
def node_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = node_binary()
    genesis = make_genesis().to_json()
    bundle = {"name": "unknown fields", "genesis": genesis, "bundle": json.dumps(UNKNOWN_FIELDS)}
    quoting = [{"name": name, "genesis": genesis, "bundle": json.dumps(case)}
               for name, case in quoting_cases().items()]  # fmt: skip
    payload = {"verifier": str(VERIFIER), "cases": [bundle, *quoting], "genesis_hashes": [],
               "canonical": [json.dumps(doc, ensure_ascii=True) for doc in DOCUMENTS]}  # fmt: skip
    path = tmp_path_factory.mktemp("js-keys") / "cases.json"
    path.write_text(json.dumps(payload))
    run = subprocess.run([node, str(RUNNER), str(path)], capture_output=True, text=True,
                         encoding="utf-8", timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    out: dict[str, Any] = json.loads(run.stdout)
    return out


def test_canonical_json_sorts_keys_by_code_point_as_python_does(node_run: dict[str, Any]) -> None:
    # Reproduction: "\U0001f600" came before "\ue000" (UTF-16 order), so a genesis holding such
    # keys would hash to another hash than the node's.
    assert node_run["canonical"] == [python_canonical(doc) for doc in DOCUMENTS]


def test_the_first_unknown_field_is_the_one_python_names(node_run: dict[str, Any]) -> None:
    with pytest.raises(BundleError) as caught:
        verify_bundle(UNKNOWN_FIELDS, make_genesis())
    assert str(caught.value) == 'bundle has unknown field "\ufb01"'
    result = node_run["results"]["unknown fields"]
    assert (result["ok"], result["error"]) == (False, str(caught.value))


@pytest.mark.parametrize("case", list(QUOTED_NAMES))
def test_an_unknown_field_is_quoted_alike_by_both_verifiers(
    case: str, node_run: dict[str, Any]
) -> None:
    name, shown = QUOTED_NAMES[case]
    said = python_refusal({name: 1})
    assert said == f"bundle has unknown field {shown}"
    result = node_run["results"][f"unknown field: {case}"]
    assert (result["ok"], result["error"]) == (False, said)


def test_a_format_and_a_chain_id_are_shown_alike_by_both_verifiers(
    node_run: dict[str, Any],
) -> None:
    expected = f"expected {json.dumps(BUNDLE_FORMAT)}"
    said = {case: python_refusal(bundle) for case, bundle in quoting_cases().items()
            if not case.startswith("unknown field")}  # fmt: skip
    assert said == {
        "format 1e16": f"unknown bundle format a number with a fraction or exponent; {expected}",
        "format [1]": f"unknown bundle format a list; {expected}",
        "format true": f"unknown bundle format true; {expected}",
        "format null": f"unknown bundle format null; {expected}",
        "format {}": f"unknown bundle format an object; {expected}",
        "format text": f'unknown bundle format "v2 \\"\\u202e\u4e2d"; {expected}',
        "other chain": "the bundle is for chain \"carbon-'test'\\n\u4e2d\\u0085\", not "
        f"{json.dumps(make_genesis().chain_id)}",
    }
    for case, line in said.items():
        assert (node_run["results"][case]["ok"], node_run["results"][case]["error"]) == (
            False, line)  # fmt: skip
