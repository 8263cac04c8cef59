"""Certificate proof bundles for tests: ways to tamper with one, and the line each must cause."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.proto import ledger_pb2

Bundle = dict[str, Any]


def _amount(b: Bundle) -> None:
    b["certificate"]["amount_grams"] += 1_000_000


def _beneficiary(b: Bundle) -> None:
    b["certificate"]["beneficiary"] = "Someone else entirely"


def _header_time(b: Bundle) -> None:
    b["header"]["time_ms"] += 1


def _header_app_hash(b: Bundle) -> None:
    b["header"]["app_hash"] = "00" * 32


def _receipt_event(b: Bundle) -> None:
    for event in b["receipt"]["events"]:
        for pair in event["attributes"]:
            if pair[0] == "amount_grams":
                pair[1] = str(int(pair[1]) * 2)


def _receipt_code(b: Bundle) -> None:
    b["receipt"]["code"] = 2
    b["receipt"]["error_code"] = "insufficient_balance"


def _signed_amount(b: Bundle) -> None:
    # Change the amount inside the signed transaction body itself.
    env = ledger_pb2.TxEnvelope.FromString(base64.b64decode(b["tx"]["envelope"]))
    body = ledger_pb2.TxBody.FromString(env.body)
    body.retire.amount_grams += 1_000_000
    env.body = body.SerializeToString(deterministic=True)
    b["tx"]["envelope"] = base64.b64encode(env.SerializeToString(deterministic=True)).decode()


def _unknown_field(b: Bundle) -> None:
    b["certificate"]["verified_by"] = "an auditor"


def _tx_index(b: Bundle) -> None:
    b["tx"]["index"] += 1


def _genesis_hash(b: Bundle) -> None:
    b["genesis_hash"] = "11" * 32


# (what is tampered with, how, a fragment of the single error line it must cause)
TAMPERS: list[tuple[str, Callable[[Bundle], None], str]] = [
    ("amount", _amount, "certificate field amount_grams"),
    ("beneficiary", _beneficiary, "certificate field beneficiary"),
    ("header time", _header_time, "header does not hash to the block the validators signed"),
    ("header app hash", _header_app_hash, "header does not hash"),
    ("receipt event", _receipt_event, "receipt proof does not lead to results_root"),
    ("receipt code", _receipt_code, "receipt proof does not lead to results_root"),
    ("signed amount", _signed_amount, "not validly signed"),
    ("unknown field", _unknown_field, 'unknown field "verified_by"'),
    ("tx index", _tx_index, "the transaction is not in the block"),
    ("genesis hash", _genesis_hash, "wrong genesis"),
]


def _seller_as_account(b: Bundle) -> None:
    b["certificate"]["account"] = next(
        dict(e["attributes"])["seller"] for e in b["receipt"]["events"]
        if e["type"] == "confirm_payment"
    )  # fmt: skip


def _buyer_in_receipt(b: Bundle) -> None:
    for e in b["receipt"]["events"]:
        if e["type"] == "confirm_payment":
            for pair in e["attributes"]:
                if pair[0] == "buyer":
                    pair[1] = b["certificate"]["tx_hash"][:10]


# A certificate made by confirm_payment (tests/cli/purchases.py): the same, and two more.
PURCHASE_TAMPERS: list[tuple[str, Callable[[Bundle], None], str]] = [
    *TAMPERS,
    ("seller as account", _seller_as_account, "certificate field account"),
    ("buyer in receipt", _buyer_in_receipt, "receipt proof does not lead to results_root"),
]


def tampered(bundle: Bundle, how: Callable[[Bundle], None]) -> Bundle:
    """A deep copy of ``bundle`` changed by ``how``."""
    out = copy.deepcopy(bundle)
    how(out)
    return out


def without_quorum(bundle: Bundle) -> Bundle:
    """The bundle with precommits removed until the remaining power is 2/3 or less."""
    out = copy.deepcopy(bundle)
    total = sum(v["power"] for v in out["validators"])
    powers = [v["power"] for v in out["validators"]]

    def signed() -> int:
        return sum(powers[p["validator_index"]] for p in out["commit"]["precommits"])

    while signed() * 3 > total * 2:
        out["commit"]["precommits"].pop()
    return out


def foreign_genesis(genesis_text: str) -> str:
    """Another chain's genesis: same shape, another time (so another hash)."""
    genesis = Genesis.from_json(genesis_text)
    data = json.loads(genesis.to_json())
    data["genesis_time_ms"] += 1
    return json.dumps(data)
