"""Every fuzz target in CI, with a fixed, reproducible budget (``derandomize``, no deadline).

Each target must accept an input as a valid object or refuse it with its own typed error, never
raise anything else (tests/fuzz/targets.py). The budget per target is ``FUZZ_EXAMPLES`` inputs
(together about half a minute on the development machine); ``python -m tests.fuzz.soak`` runs
the same generators for a million inputs (docs/security.md has the figure). Each ``@example``
below is an input a fuzz run once found, kept as a regression test with the fix it led to.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings

from tests.fuzz.samples import samples
from tests.fuzz.strategies import strategy
from tests.fuzz.targets import TARGETS, Refused, Target, by_name, run_one

FUZZ_EXAMPLES = int(os.environ.get("CARBON_TICKET_FUZZ_EXAMPLES", "300"))


def _fuzz_settings() -> Any:
    return settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])  # fmt: skip


def _edited(text: str, edit: Callable[[Any], None]) -> bytes:
    doc = json.loads(text)
    edit(doc)
    return json.dumps(doc).encode()


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Any], None]:
    def edit(doc: Any) -> None:
        for key in path[:-1]:
            doc = doc[key]
        doc[path[-1]] = value

    return edit


DEEP = b"[" * 100_000 + b"]" * 100_000  # RecursionError in json.loads
LONG_NUMBER = b"9" * 4_301  # ValueError: past Python's int-from-text limit


def _regressions() -> dict[str, list[Any]]:
    """Inputs fuzz runs found, per target; each failed with an untyped exception before its fix."""
    s = samples()
    bundle = json.dumps(s.bundle)
    return {
        "genesis": [b"\x80", DEEP, b'{"chain_id": ' + LONG_NUMBER + b"}"],  # build.load_genesis
        "verify-genesis": [DEEP, b'{"genesis_time_ms": ' + LONG_NUMBER + b"}"],
        "keyfile": [b'{"seed": ' + DEEP + b"}", LONG_NUMBER],
        "keystore": [
            b'{"version": ' + DEEP + b"}",
            _edited(s.keystore_json, _set(("kdf", "memlimit"), 2**40)),  # a terabyte to derive
            _edited(s.keystore_json, _set(("kdf", "opslimit"), 2**32 - 1)),
            _edited(s.keystore_json, _set(("ciphertext",), "00" * 20)),
        ],
        "config": [b"a = " + b"[" * 3000 + b"]" * 3000, b"[node]\nname = " + b"1" * 5000],
        "bundle": [
            DEEP,
            _edited(bundle, _set(("tx", "index"), "@long@")).replace(b'"@long@"', LONG_NUMBER),
            _edited(bundle, _set(("header", "chain_id"), "\ud800")),  # Header: encode() fails
            _edited(bundle, _set(("receipt", "events", 0, "type"), "\ud800")),
            _edited(bundle, _set(("certificate", "height"), float("nan"))),
            _edited(bundle, _set(("tx", "envelope"), "\u00e9")),  # base64: ValueError, not ASCII
        ],
        "backup": [DEEP],  # node.backup.read_summary
        "cosign": [_edited(s.cosign_json[0], _set(("validators", 0, "operator"), {}))],
    }


REGRESSIONS = _regressions()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One directory the file targets write their input into (removed by pytest)."""
    yield tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_target_accepts_or_refuses_with_its_own_error(target: Target, scratch: Path) -> None:
    def fuzz(value: Any) -> None:
        run_one(target, value, scratch)

    test = given(strategy(target.inputs()))(fuzz)
    for value in REGRESSIONS.get(target.name, ()):
        test = example(value)(test)
    _fuzz_settings()(test)()


def test_regression_inputs_are_refused_with_the_targets_own_error(scratch: Path) -> None:
    """Every kept input is refused (none is a valid object), with the target's own error."""
    for name, values in REGRESSIONS.items():
        (target,) = by_name([name])
        for value in values:
            assert not run_one(target, value, scratch), (name, value[:80])


def test_verify_wants_the_integer_itself_not_an_equal_float(scratch: Path) -> None:
    """Found by the soak: a bundle whose certificate height was 1.0 verified (1.0 == 1)."""
    (target,) = by_name(["bundle"])
    for value in (1.0, True):
        edit = _set(("certificate", "height"), value)
        assert not run_one(target, _edited(json.dumps(samples().bundle), edit), scratch)


def test_the_samples_themselves_are_valid(scratch: Path) -> None:
    """The seeds every mutation starts from are accepted: otherwise the fuzz tests little."""
    s = samples()
    files = {
        "genesis": s.genesis_json.encode(),
        "config": s.config_toml.encode(),
        "keystore": s.keystore_json.encode(),
        "keyfile": s.keyfile_json.encode(),
        "verify-genesis": s.genesis_json.encode(),
        "cosign": s.cosign_json[0].encode(),
        "backup": s.backup_summary_json.encode(),
    }
    from tests.fuzz.samples import bundle_text

    valid = {
        "tx": s.txs[0],
        "block": s.block,
        "consensus": s.proposal,
        "certificate": s.certificate,
        "sync": s.committed_block,
        "evidence": s.evidence,
        "engine": (s.votes[0],),
        "bundle": bundle_text().encode(),
        **files,
    }
    for name, value in valid.items():
        (target,) = by_name([name])
        assert run_one(target, value, scratch), name
    for vote in s.votes:
        assert run_one(by_name(["consensus"])[0], vote, scratch)


def test_a_refusal_is_not_counted_as_valid(scratch: Path) -> None:
    (target,) = by_name(["tx"])
    assert not run_one(target, b"\x0a\x01", scratch)
    (bundle,) = by_name(["bundle"])
    assert not run_one(bundle, b"\xff", scratch)
    with pytest.raises(Refused):
        bundle.run(b"\xff", scratch)
