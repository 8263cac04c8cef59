"""A receipt's canonical bytes follow their documented layout (the results root commits to them)."""

from __future__ import annotations

import struct

from carbon_ticket.chain.results import RECEIPT_DOMAIN, Event, TxResult


def _documented(receipt: TxResult) -> bytes:
    # Written from TxResult.canonical_bytes' docstring, field by field, without its shortcuts.
    def text16(value: str) -> bytes:
        raw = value.encode()
        return struct.pack(">H", len(raw)) + raw

    out = RECEIPT_DOMAIN + receipt.tx_hash + struct.pack(">I", receipt.code)
    out += text16(receipt.error_code) + struct.pack(">H", len(receipt.events))
    for event in receipt.events:
        out += text16(event.type) + struct.pack(">H", len(event.attributes))
        for key, value in event.attributes:
            raw = value.encode()
            out += text16(key) + struct.pack(">I", len(raw)) + raw
    return out


def test_canonical_bytes_follow_the_documented_layout() -> None:
    award = Event("award", (("index", "0"), ("recipient", "ct1r"), ("outcome", "ok")))
    receipts = [
        TxResult(b"\x01" * 32, events=(award, award, Event("award_points", ()))),
        TxResult(b"\x02" * 32, code=2, error_code="insufficient_balance", message="left out"),
        TxResult(b"\x03" * 32, events=(Event("note", (("text", "绿色 " * 50), ("", ""))),)),
    ]
    for receipt in receipts:
        assert receipt.canonical_bytes() == _documented(receipt)
        assert receipt.canonical_bytes() == receipt.canonical_bytes()  # names cached: same bytes


def test_the_free_text_message_is_not_committed() -> None:
    one = TxResult(b"\x01" * 32, code=2, error_code="x", message="one wording")
    other = TxResult(b"\x01" * 32, code=2, error_code="x", message="another")
    assert one.canonical_bytes() == other.canonical_bytes()
