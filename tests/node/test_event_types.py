"""Every event kind the ledger's rules emit can be asked for by SubscribeEvents clients."""

from __future__ import annotations

import ast
from pathlib import Path

from carbon_ticket.node.service_public import EVENT_TYPES

RULES = Path(__file__).resolve().parents[2] / "chain" / "rules"


def _emitted_kinds() -> set[str]:
    kinds: set[str] = set()
    for path in RULES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("event", "Event")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                kinds.add(node.args[0].value)
    return kinds


def test_every_emitted_event_kind_is_subscribable() -> None:
    kinds = _emitted_kinds()
    assert {"transfer", "retire", "award", "redeem", "sell", "export"} <= kinds  # the scan works
    assert kinds - EVENT_TYPES == set()
