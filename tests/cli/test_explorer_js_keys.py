"""The explorer's in-browser verifier (cli/explorer/static/verify.js) orders keys as Python
does, by code point: in the canonical JSON a genesis hash covers, and in naming the first
unknown field of a bundle.

A genesis hash covers ``json.dumps(sort_keys=True, ...)`` (``Genesis.canonical_bytes``), and
``carbon-ticket verify`` names ``sorted(unknown)[0]``: both sort by code point. JavaScript's
default sort compares UTF-16 code units, which put a key with a character above U+FFFF (a
surrogate pair, D800-DFFF) before one with a character in U+E000..U+FFFF, where Python puts it
after. A genesis names no key of its own choosing (Python and the verifier refuse unknown
fields), so the verifier's ``canonicalJson`` is checked directly, on documents read by its own
parser, against Python's. One Node.js process runs every case.
"""

from __future__ import annotations

import json
import subprocess
from types import SimpleNamespace
from typing import Any

import pytest

from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.cli.verify import BundleError, verify_bundle
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


def python_canonical(doc: dict[str, Any]) -> str:
    """The canonical JSON of ``doc`` exactly as a genesis hash covers it."""
    as_genesis: Any = SimpleNamespace(to_dict=lambda: doc)
    return Genesis.canonical_bytes(as_genesis).decode()


@pytest.fixture(scope="module")
def node_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = node_binary()
    bundle = {"name": "unknown fields", "genesis": make_genesis().to_json(),
              "bundle": json.dumps(UNKNOWN_FIELDS)}  # fmt: skip
    payload = {"verifier": str(VERIFIER), "cases": [bundle], "genesis_hashes": [],
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
    assert str(caught.value) == "bundle has unknown field '\ufb01'"
    result = node_run["results"]["unknown fields"]
    assert (result["ok"], result["error"]) == (False, str(caught.value))
