"""docs/spec.md is enough to verify a certificate: section 7 followed literally, with hashlib and
PyNaCl only (no code of carbon_ticket checks anything here), on bundles of Retires that
``verify`` accepts, and on tampered ones it refuses.

The bundles come from tests/cli/ledger_bundles.py (the in-memory ledger, a validator set change
by governance, several transactions in a block); the verifier below reads nothing but the
bundle's JSON and the genesis document's text.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

import nacl.bindings
import nacl.exceptions
import pytest

from carbon_ticket.cli.verify import BundleError, verify_bundle
from tests.chain.conftest import BATCH_ID, COMPANY, ISSUER, T, retire, transfer
from tests.cli.ledger_bundles import Bundle, ProvenLedger
from tests.cli.test_verify_ledger import NEWCOMER, add_validator, certificate_of, decide, issued


class Refused(Exception):
    """The spec-only verifier's refusal."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def u(n: int, size: int) -> bytes:
    return n.to_bytes(size, "big")


def ed25519_ok(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.CryptoError, ValueError):
        return False
    return True


# ---------------------------------------------------------------- section 2: addresses


_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def address(public_key: bytes) -> str:
    """bech32m("ct", convertbits(sha256(public_key)[0:20], 8 -> 5, pad))."""
    acc, bits, data = 0, 0, []
    for byte in sha256(public_key)[:20]:
        acc = acc << 8 | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append(acc >> bits & 31)
    if bits:
        data.append(acc << (5 - bits) & 31)
    hrp = "ct"
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _polymod(expanded + data + [0] * 6) ^ 0x2BC830A3
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in data + checksum)


# ---------------------------------------------------------------- section 3: canonical protobuf


def _varint(raw: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(raw) or shift > 63:
            raise Refused("truncated varint")
        byte = raw[at]
        value |= (byte & 0x7F) << shift
        at += 1
        shift += 7
        if byte < 0x80:
            return value, at


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def fields(
    raw: bytes, known: dict[int, int], repeated: frozenset[int] = frozenset()
) -> dict[int, Any]:
    """A message's fields (number -> value, a list for repeated ones), checked canonical:
    ascending numbers, each once (repeated ones consecutively), minimal varints, no default
    scalar written, no unknown field. ``known``: number -> wire type (0 varint, 2 bytes)."""
    out: dict[int, Any] = {}
    at, last = 0, 0
    while at < len(raw):
        start = at
        key, at = _varint(raw, at)
        number, wire = key >> 3, key & 7
        value: Any
        if known.get(number) != wire:
            raise Refused(f"unknown field {number} (wire type {wire})")
        if number < last or (number == last and number not in repeated):
            raise Refused("fields out of order or twice")
        last = number
        if wire == 0:
            value, at = _varint(raw, at)
            encoded = _encode_varint(value)
            if value == 0:
                raise Refused("a default value is written")
        else:
            size, at = _varint(raw, at)
            value = raw[at : at + size]
            if len(value) != size:
                raise Refused("truncated field")
            at += size
            encoded = _encode_varint(size) + value
        if _encode_varint(key) + encoded != raw[start:at]:
            raise Refused("a varint is not minimal")
        if number in repeated:
            out.setdefault(number, []).append(value)
        else:
            out[number] = value
    return out


def text(value: bytes) -> str:
    return value.decode("utf-8")


# ---------------------------------------------------------------- sections 6 and 7


def genesis_hash(genesis_text: str) -> bytes:
    """The hash of a genesis file the node wrote (already in the normal form)."""
    canonical = json.dumps(json.loads(genesis_text), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)  # fmt: skip
    return sha256(b"carbonticket/genesis/v1\x00" + canonical.encode())


Member = tuple[str, bytes, int]  # name, public key, power


def valset_hash(members: list[Member]) -> bytes:
    out = b"carbonticket/valset/v1\x00" + u(len(members), 4)
    for name, key, power in members:
        out += u(len(name.encode()), 2) + name.encode() + key + u(power, 8)
    return sha256(out)


_HASHES = ("prev_hash", "tx_root", "results_root", "envelopes_root", "app_hash", "proposer",
           "validators_hash", "next_validators_hash")  # fmt: skip


def header_hash(h: dict[str, Any]) -> bytes:
    cid = h["chain_id"].encode()
    out = b"carbonticket/header/v3\x00" + u(len(cid), 2) + cid + u(h["height"], 8)
    out += u(h["time_ms"], 8) + b"".join(bytes.fromhex(h[n]) for n in _HASHES)
    return sha256(out + u(h["tx_count"], 4))


def vote_sign_bytes(chain_id: str, height: int, round_: int, block_hash: bytes) -> bytes:
    cid = chain_id.encode()
    return (b"carbonticket/vote/v1\x00" + u(len(cid), 2) + cid + u(2, 1) + u(height, 8)
            + u(round_, 4) + u(len(block_hash), 1) + block_hash)  # fmt: skip


def check_commit(chain_id: str, commit: dict[str, Any], h: dict[str, Any], s: list[Member]) -> None:
    if commit["height"] != h["height"] or bytes.fromhex(commit["block_hash"]) != header_hash(h):
        raise Refused("the commit is not for this header")
    seen: set[int] = set()
    power = 0
    for vote in commit["precommits"]:
        i = vote["validator_index"]
        if i in seen or not 0 <= i < len(s):
            raise Refused("a precommit's validator index is repeated or unknown")
        seen.add(i)
        power += s[i][2]
    total = sum(m[2] for m in s)
    if power < 2 * total // 3 + 1:
        raise Refused("precommits carry 2/3 of the power or less")
    message = vote_sign_bytes(chain_id, h["height"], commit["round"], header_hash(h))
    for vote in commit["precommits"]:
        if not ed25519_ok(s[vote["validator_index"]][1], message, bytes.fromhex(vote["signature"])):
            raise Refused("a precommit's signature does not verify")


def included(root: bytes, leaf: bytes, index: int, size: int, path: list[bytes]) -> bool:
    """RFC 9162, 2.1.3.2, as section 7 writes it."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, sha256(b"\x00" + leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def receipt_bytes(tx_id: bytes, code: int, error_code: str, events: list[Any]) -> bytes:
    out = b"carbonticket/receipt/v1\x00" + tx_id + u(code, 4)
    out += u(len(error_code.encode()), 2) + error_code.encode() + u(len(events), 2)
    for event in events:
        kind = event["type"].encode()
        out += u(len(kind), 2) + kind + u(len(event["attributes"]), 2)
        for key, value in event["attributes"]:
            out += u(len(key.encode()), 2) + key.encode()
            out += u(len(value.encode()), 4) + value.encode()
    return out


_ENVELOPE = {1: 2, 2: 2}
_SIGNATURE = {1: 2, 2: 2}
_BODY = {1: 2, 2: 2, 3: 0, 4: 2, 16: 2}  # a Retire body: no other message
_RETIRE = {1: 2, 2: 0, 3: 2, 4: 2, 5: 2, 6: 2, 7: 2, 8: 0, 9: 2, 10: 2, 11: 0}
_PERIOD = {1: 0, 2: 0}


def verify(bundle: dict[str, Any], genesis_text: str) -> dict[str, Any]:
    """Section 7's checks, in order; the certificate it proves, or Refused."""
    genesis = json.loads(genesis_text)
    chain_id = genesis["chain_id"]
    # 1. Genesis.
    if bytes.fromhex(bundle["genesis_hash"]) != genesis_hash(genesis_text):
        raise Refused("another genesis")
    if bundle["chain_id"] != chain_id:
        raise Refused("another chain")
    # 2. Validator sets.
    h = bundle["header"]
    s: list[Member] = [(v["name"], bytes.fromhex(v["public_key"]), v.get("power", 1))
                       for v in genesis["validators"]]  # fmt: skip
    last = 0
    for change in bundle["set_changes"]:
        ch = change["header"]
        if ch["chain_id"] != chain_id or not last < ch["height"] < h["height"]:
            raise Refused("a set change of another chain or out of order")
        if bytes.fromhex(ch["validators_hash"]) != valset_hash(s):
            raise Refused("a set change's header names another set")
        if ch["next_validators_hash"] == ch["validators_hash"]:
            raise Refused("a set change that changes nothing")
        check_commit(chain_id, change["commit"], ch, s)
        new = [(v["name"], bytes.fromhex(v["public_key"]), v["power"])
               for v in change["validators"]]  # fmt: skip
        if valset_hash(new) != bytes.fromhex(ch["next_validators_hash"]):
            raise Refused("a set change lists another set than its header names")
        s, last = new, ch["height"]
    listed = [(v["name"], bytes.fromhex(v["public_key"]), v["power"]) for v in bundle["validators"]]
    if listed != s:
        raise Refused("the bundle's validators are not the set reached")
    # 3. Header.
    if h["chain_id"] != chain_id or bytes.fromhex(h["validators_hash"]) != valset_hash(s):
        raise Refused("the header is of another chain or set")
    check_commit(chain_id, bundle["commit"], h, s)
    # 4. Transaction.
    raw = base64.b64decode(bundle["tx"]["envelope"], validate=True)
    envelope = fields(raw, _ENVELOPE, frozenset({2}))
    body_bytes = envelope[1]
    body = fields(body_bytes, _BODY)
    if text(body[1]) != chain_id or 16 not in body:
        raise Refused("not a Retire of this chain")
    sign_bytes = (b"carbonticket/tx/v1\x00" + u(len(chain_id.encode()), 2) + chain_id.encode()
                  + body_bytes)  # fmt: skip
    signatures = [fields(sig, _SIGNATURE) for sig in envelope.get(2, [])]
    signer = text(body[2])
    if len(signatures) != 1 or address(signatures[0][1]) != signer:
        raise Refused("a Retire is signed by its signer alone")
    if not ed25519_ok(signatures[0][1], sign_bytes, signatures[0][2]):
        raise Refused("the transaction's signature does not verify")
    tx_id = sha256(sign_bytes)
    index, size = bundle["tx"]["index"], h["tx_count"]
    tx_path = [bytes.fromhex(p) for p in bundle["tx"]["proof"]]
    if not included(bytes.fromhex(h["tx_root"]), tx_id, index, size, tx_path):
        raise Refused("the transaction is not in tx_root")
    # 5. Receipt.
    r = bundle["receipt"]
    leaf = receipt_bytes(tx_id, r["code"], r["error_code"], r["events"])
    receipt_path = [bytes.fromhex(p) for p in r["proof"]]
    if not included(bytes.fromhex(h["results_root"]), leaf, index, size, receipt_path):
        raise Refused("the receipt is not in results_root")
    retired = [dict(e["attributes"]) for e in r["events"] if e["type"] == "retire"]
    if r["code"] != 0 or len(retired) != 1:
        raise Refused("the retirement failed or made no one certificate")
    event = retired[0]
    # 6. Certificate.
    msg = fields(body[16], _RETIRE)
    period = fields(msg[7], _PERIOD) if 7 in msg else None
    expected = {
        "certificate_id": "RC-" + tx_id[:12].hex().upper(),
        "batch_id": text(msg.get(1, b"")),
        "amount_grams": msg.get(2, 0),
        "beneficiary": text(msg.get(3, b"")),
        "reason": text(msg.get(4, b"")),
        "jurisdiction": text(msg.get(5, b"")),
        "event": text(msg.get(6, b"")),
        "period": f"{period.get(1, 0):08d}-{period.get(2, 0):08d}" if period is not None else "",
        "account": signer,
        "project_id": event.get("project_id"),
        "vintage": event.get("vintage"),
        "height": h["height"],
        "time_ms": h["time_ms"],
        "tx_hash": tx_id.hex(),
    }
    certificate = bundle["certificate"]
    for name, value in expected.items():
        if type(certificate[name]) is not type(value) or certificate[name] != value:
            raise Refused(f"certificate field {name}")
    for name in ("certificate_id", "batch_id", "beneficiary", "reason", "account"):
        if event.get(name) != expected[name]:
            raise Refused(f"the retire event's {name}")
    if event.get("amount_grams") != str(expected["amount_grams"]):
        raise Refused("the retire event's amount_grams")
    return expected


# ---------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def proven_chain() -> tuple[ProvenLedger, Bundle, Bundle]:
    """A bundle from the genesis set, and one across a set change from a block of four txs."""
    chain = issued(ProvenLedger(keys=[NEWCOMER]))
    first = chain.bundle(certificate_of(chain.ok(ISSUER, retire(amount_grams=7 * T))))
    decide(chain, add_validator())
    chain.run([])
    chain.run([])
    nonce = chain.nonce(ISSUER)
    raws = [chain.tx(ISSUER, transfer((COMPANY, BATCH_ID, T)), nonce=nonce + i) for i in range(4)]
    raws[1] = chain.tx(ISSUER, retire(jurisdiction="CN-15"), nonce=nonce + 1)
    receipts = chain.run(raws).receipts
    later = chain.bundle(certificate_of(receipts[1]))
    assert len(later["set_changes"]) == 1 and later["tx"]["index"] == 1
    return chain, first, later


def test_the_spec_alone_verifies_what_verify_proves(
    proven_chain: tuple[ProvenLedger, Bundle, Bundle],
) -> None:
    chain, first, later = proven_chain
    genesis_text = chain.genesis.to_json()  # the file as the node writes it
    for bundle in (first, later):
        proven = verify(bundle, genesis_text)
        by_verify = verify_bundle(bundle, chain.genesis).certificate
        assert proven == {name: by_verify[name] for name in proven}


def _header_time(b: Bundle) -> None:
    b["header"]["time_ms"] += 1


def _proof_step(b: Bundle) -> None:
    b["tx"]["proof"][0] = "00" * 32


def _receipt_value(b: Bundle) -> None:
    b["receipt"]["events"][0]["attributes"][3][1] += "0"


def _certificate_vintage(b: Bundle) -> None:
    b["certificate"]["vintage"] = "20240101-20241231"


def _new_set(b: Bundle) -> None:
    b["set_changes"][0]["validators"][4]["power"] = 2


def _signature(b: Bundle) -> None:
    b["commit"]["precommits"][0]["signature"] = "00" * 64


def _no_change(b: Bundle) -> None:
    b["set_changes"] = []


TAMPERS: list[Callable[[Bundle], None]] = [_header_time, _proof_step, _receipt_value,
                                           _certificate_vintage, _new_set, _signature,
                                           _no_change]  # fmt: skip


@pytest.mark.parametrize("tamper", TAMPERS, ids=[t.__name__.strip("_") for t in TAMPERS])
def test_the_spec_alone_refuses_what_verify_refuses(
    proven_chain: tuple[ProvenLedger, Bundle, Bundle], tamper: Callable[[Bundle], None]
) -> None:
    chain, _, later = proven_chain
    bundle = copy.deepcopy(later)
    tamper(bundle)
    with pytest.raises(BundleError):
        verify_bundle(bundle, chain.genesis)
    with pytest.raises(Refused):
        verify(bundle, chain.genesis.to_json())
