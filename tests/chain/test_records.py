"""Stored records decode to what was encoded, and damaged bytes are refused (``corrupt_state``)."""

from __future__ import annotations

import pytest

from carbon_ticket.chain.errors import StorageError
from carbon_ticket.chain.records import Account, Params, PointsAccount, Project, Record

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
