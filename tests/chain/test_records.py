"""Stored records decode to what was encoded, and damaged bytes are refused (``corrupt_state``)."""

from __future__ import annotations

import pytest

from carbon_ticket.chain.errors import StorageError
from carbon_ticket.chain.records import (
    Account,
    Params,
    PointsAccount,
    Project,
    Record,
    account_kind,
)

# One record of each shape the decoder reads: texts and an integer, integers only, every
# other field kind (bytes, text tuples), and nested limits (``L``).
RECORDS: list[Record] = [
    Account("ct1resident", "resident", "Bao Yin", "", 7),
    PointsAccount(balance=120, awarded=200, exchanged=50, redeemed=30),
    Project(
        "GY-0001",
        "Guyang forest",
        "CN-15",
        "afforestation",
        12_500,
        "AR-ACM0003",
        b"\x01" * 32,
        "https://example.org/p",
        "ct1owner",
        "ct1issuer",
        3,
        1_704_000_000_000,
        ("ext-1", "ext-2"),
        ("parcel-9",),
        b"\x02" * 32,
    ),
    Params(),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_record_decodes_to_what_was_encoded(record: Record) -> None:
    assert type(record).decode(record.encode()) == record


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_truncated_or_lengthened_bytes_are_corrupt(record: Record) -> None:
    data = record.encode()
    for cut in range(1, len(data)):
        with pytest.raises(StorageError) as info:
            type(record).decode(data[:cut])
        assert info.value.code == "corrupt_state", cut
    with pytest.raises(StorageError, match="trailing bytes"):
        type(record).decode(data + b"\x00")


def test_a_text_that_is_not_utf8_is_corrupt() -> None:
    data = Account("ct1resident", "resident", "x", "", 7).encode()
    bad = data.replace(b"x", b"\xff")
    with pytest.raises(StorageError, match="bad text"):
        Account.decode(bad)


def test_another_records_tag_is_corrupt() -> None:
    with pytest.raises(StorageError, match="expected a PointsAccount record"):
        PointsAccount.decode(Account("ct1resident", "resident", "x", "", 7).encode())


def test_an_all_integer_record_keeps_its_field_by_field_layout() -> None:
    # PointsAccount is packed in one struct call (it is written for every award); its bytes
    # are part of the app hash and must stay the tag and four big-endian u64s, in field order.
    record = PointsAccount(balance=120, awarded=200, exchanged=50, redeemed=30)
    expected = b"K" + b"".join(n.to_bytes(8, "big") for n in (120, 200, 50, 30))
    assert record.encode() == expected
    assert PointsAccount.encode_fields(120, 200, 50, 30) == expected
    assert PointsAccount.decode(expected) == record


def test_an_accounts_kind_is_read_without_decoding_the_rest() -> None:
    data = Account("ct1resident", "resident", "Bao Yin", "", 7).encode()
    assert account_kind(data) == "resident"
    assert account_kind(Account("ct1m", "merchant", "", "ct1r", 9).encode()) == "merchant"
    kind_end = 1 + 4 + len("ct1resident") + 4 + len("resident")
    for cut in range(kind_end):
        with pytest.raises(StorageError) as info:
            account_kind(data[:cut])
        assert info.value.code == "corrupt_state", cut
    with pytest.raises(StorageError, match="expected a Account record"):
        account_kind(PointsAccount().encode())
    with pytest.raises(StorageError, match="bad text"):
        account_kind(data.replace(b"resident", b"residen\xff"))
