"""Keys, checksummed addresses and signature verification."""

from __future__ import annotations

import hashlib

import pytest

from carbon_ticket.chain import bech32
from carbon_ticket.chain.crypto import (
    PrivateKey,
    address_from_public_key,
    parse_address,
    verify_signature,
)
from carbon_ticket.chain.errors import InvalidAddress


def key(n: int) -> PrivateKey:
    return PrivateKey(hashlib.sha256(b"test-key-%d" % n).digest())


def test_address_has_prefix_and_round_trips() -> None:
    addr = key(1).address
    assert addr.startswith("ct1")
    assert parse_address(addr) == addr
    assert parse_address(addr.upper()) == addr


def test_distinct_keys_have_distinct_addresses() -> None:
    assert len({key(i).address for i in range(200)}) == 200


def test_every_single_character_typo_is_rejected() -> None:
    # Substitute every data character of 20 addresses by every other bech32 character.
    tried = 0
    for n in range(20):
        addr = key(n).address
        for pos in range(3, len(addr)):
            for c in bech32.CHARSET:
                if c == addr[pos]:
                    continue
                typo = addr[:pos] + c + addr[pos + 1 :]
                tried += 1
                with pytest.raises(InvalidAddress):
                    parse_address(typo)
    assert tried == 20 * (len(addr) - 3) * (len(bech32.CHARSET) - 1)


def test_transpositions_deletions_and_insertions_are_rejected() -> None:
    addr = key(3).address
    for pos in range(3, len(addr) - 1):
        swapped = addr[:pos] + addr[pos + 1] + addr[pos] + addr[pos + 2 :]
        if swapped != addr:
            with pytest.raises(InvalidAddress):
                parse_address(swapped)
        with pytest.raises(InvalidAddress):
            parse_address(addr[:pos] + addr[pos + 1 :])
        with pytest.raises(InvalidAddress):
            parse_address(addr[:pos] + "q" + addr[pos:])


@pytest.mark.parametrize(
    "text",
    ["", "ct1", "xx1qqqqqqqqqqqqqqqq", "ct1" + "b" * 40, " ct1qq", "Ct1abc", "ct1qqqqqq\u00e9"],
)
def test_malformed_addresses_are_rejected(text: str) -> None:
    with pytest.raises(InvalidAddress):
        parse_address(text)


def test_mixed_case_is_rejected() -> None:
    addr = key(4).address
    mixed = addr[:5] + addr[5:].upper()
    with pytest.raises(InvalidAddress):
        parse_address(mixed)


def test_other_prefix_is_rejected() -> None:
    other = bech32.encode("cx", b"\x01" * 20)
    with pytest.raises(InvalidAddress, match="prefix"):
        parse_address(other)


def test_wrong_payload_length_is_rejected() -> None:
    with pytest.raises(InvalidAddress, match="length"):
        parse_address(bech32.encode("ct", b"\x01" * 19))


def test_public_key_length_is_checked() -> None:
    with pytest.raises(InvalidAddress):
        address_from_public_key(b"\x00" * 31)


def test_signature_verifies_and_rejects_tampering() -> None:
    k = key(5)
    sig = k.sign(b"message")
    assert verify_signature(k.public_key, b"message", sig)
    assert not verify_signature(k.public_key, b"messagE", sig)
    assert not verify_signature(key(6).public_key, b"message", sig)
    assert not verify_signature(k.public_key, b"message", sig[:-1] + bytes([sig[-1] ^ 1]))
    assert not verify_signature(k.public_key, b"message", sig[:10])
    assert not verify_signature(b"\x00" * 5, b"message", sig)


def test_private_key_repr_hides_the_seed() -> None:
    k = key(7)
    assert k.seed.hex() not in repr(k)
    with pytest.raises(ValueError):
        PrivateKey(b"short")
