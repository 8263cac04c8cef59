"""How the store keeps receipts: the results root's canonical bytes plus the message, and the
protobuf form of stores written before it is still read."""

from __future__ import annotations

import struct

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given
from hypothesis import strategies as st

from carbon_ticket.chain import kvstore
from carbon_ticket.chain.kvstore import P_TX, decode_receipt, encode_receipt, receipt_to_proto
from carbon_ticket.chain.results import Event, TxResult
from carbon_ticket.chain.store import MemoryStore
from tests.node.crash_writer import grow

TX = b"\x07" * 32
_text = st.text(max_size=40)
_events = st.lists(
    st.builds(Event, _text, st.lists(st.tuples(_text, _text), max_size=6).map(tuple)),
    max_size=8,
).map(tuple)
receipts = st.builds(
    TxResult,
    st.just(TX),
    st.integers(0, 7),
    _text,
    st.text(max_size=200),
    _events,
)


def _as_stored(receipt: TxResult) -> TxResult:
    # What a store gives back: the id from its key, no index hints.
    return TxResult(receipt.tx_hash, receipt.code, receipt.error_code, receipt.message,
                    receipt.events)  # fmt: skip


def _old_form(receipt: TxResult) -> bytes:
    # The stored form until 2026-12-02.
    old = receipt_to_proto(receipt)
    old.ClearField("tx_hash")  # the index keys held it
    return old.SerializeToString(deterministic=True)


@given(receipts)
def test_a_stored_receipt_reads_back_as_it_was(receipt: TxResult) -> None:
    stored = encode_receipt(receipt)
    assert decode_receipt(TX, stored) == _as_stored(receipt)
    # Stored from the canonical bytes the results root hashed: the same bytes either way.
    assert encode_receipt(receipt, receipt.canonical_bytes()) == stored


@given(receipts)
def test_receipts_in_the_old_protobuf_form_are_still_read(receipt: TxResult) -> None:
    assert decode_receipt(TX, _old_form(receipt)) == _as_stored(receipt)


def test_damaged_stored_receipts_are_refused() -> None:
    receipt = TxResult(TX, 2, "insufficient_balance", "only 5 g",
                       (Event("transfer", (("from", "a"), ("amount_grams", "9"))),))  # fmt: skip
    stored = encode_receipt(receipt)
    for cut in range(1, len(stored)):
        with pytest.raises((struct.error, DecodeError)):
            decode_receipt(TX, stored[:cut])
    with pytest.raises(struct.error, match="trailing"):
        decode_receipt(TX, stored + b"\x00")
    with pytest.raises(struct.error, match="UTF-8"):
        decode_receipt(TX, stored.replace(b"transfer", b"transfe\xff"))


def test_a_store_keeps_the_new_form_and_reads_blocks_stored_in_the_old_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryStore()
    # Blocks 1-6 committed by the previous release (protobuf receipts), 7-12 by this one.
    monkeypatch.setattr(kvstore, "encode_receipt", lambda r, canonical=None: _old_form(r))
    old = [b for b in grow(store, 6) if b.txs]
    monkeypatch.undo()
    new = [b for b in grow(store, 12) if b.txs]
    assert old and new
    forms = {k[len(P_TX) : len(P_TX) + 8]: v for k, v in store.kv.items() if k.startswith(P_TX)}
    for block in old + new:
        receipts = store.get_receipts(block.header.height)
        assert receipts is not None and len(receipts) == len(block.txs)
        for receipt in receipts:
            located = store.get_tx(receipt.tx_hash)
            assert located is not None and located.result == receipt
        value = forms[struct.pack(">Q", block.header.height)]
        envelope = struct.unpack_from(">I", value)[0]
        assert (value[4 + envelope : 5 + envelope] == b"\xff") == (block in new)
