"""Bech32m text encoding (BIP-350) used for account addresses.

The checksum detects every error that touches up to four characters, so a mistyped address is
rejected instead of naming another account. Written from the public specification.
"""

from __future__ import annotations

from collections.abc import Sequence

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHAR_INDEX = {c: i for i, c in enumerate(CHARSET)}
_BECH32M_CONST = 0x2BC830A3
_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
MAX_LENGTH = 90


class Bech32Error(ValueError):
    """Text that is not valid bech32m."""


def _polymod(values: Sequence[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GENERATORS):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data: Sequence[int]) -> list[int]:
    polymod = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ _BECH32M_CONST
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def convert_bits(data: Sequence[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """Regroup a sequence of ``from_bits``-wide integers into ``to_bits``-wide integers."""
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    for value in data:
        if value < 0 or value >> from_bits:
            raise Bech32Error("value out of range")
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & maxv)
    elif bits >= from_bits or ((acc << (to_bits - bits)) & maxv):
        raise Bech32Error("invalid padding")
    return out


def encode(hrp: str, payload: bytes) -> str:
    """Encode ``payload`` bytes under human-readable prefix ``hrp``."""
    data = convert_bits(payload, 8, 5, pad=True)
    return hrp + "1" + "".join(CHARSET[d] for d in [*data, *_create_checksum(hrp, data)])


def decode(text: str) -> tuple[str, bytes]:
    """Decode bech32m text into (hrp, payload); raise Bech32Error with the reason."""
    if len(text) > MAX_LENGTH:
        raise Bech32Error(f"too long ({len(text)} characters, at most {MAX_LENGTH})")
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise Bech32Error("contains characters outside printable ASCII")
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("mixes upper and lower case")
    text = text.lower()
    sep = text.rfind("1")
    if sep < 1 or sep + 7 > len(text):
        raise Bech32Error("missing separator '1' or checksum")
    hrp, rest = text[:sep], text[sep + 1 :]
    try:
        data = [_CHAR_INDEX[c] for c in rest]
    except KeyError as exc:
        raise Bech32Error(f"invalid character {exc.args[0]!r}") from None
    if _polymod([*_hrp_expand(hrp), *data]) != _BECH32M_CONST:
        raise Bech32Error("checksum mismatch (mistyped?)")
    return hrp, bytes(convert_bits(data[:-6], 5, 8, pad=False))
