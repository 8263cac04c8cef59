"""Turn API replies into plain dicts for ``emit`` and for scripts reading ``-o json``.

The JSON speaks the API: field names are the proto field names (docs/api.md), nested as in the
reply. Beside the raw values it adds what a person reads, never instead of them:

- every ``*_grams`` integer gets a ``*_tco2e`` sibling, the same quantity as exact tCO2e text
  (``"amount_grams": 15000000000, "amount_tco2e": "15000"``);
- every ``time_ms`` / ``*_time_ms`` (milliseconds since the Unix epoch) gets a ``time`` /
  ``*_time`` sibling in RFC 3339 UTC (``"2024-02-17T08:00:00.000Z"``; ``""`` when unset);
- bytes are hex; enum values are their short lower-case names (``ACCOUNT_KIND_COMPANY`` ->
  ``"company"``); an unset message is ``null``;
- an event is flattened to ``{"type": ..., <attribute key>: <value>, ...}``; numeric ``*_grams``
  attributes become integers with their ``*_tco2e`` sibling, and so do the few gram quantities
  named otherwise (their names are in the receipts' canonical bytes): an exchange's ``grams``
  (sibling ``tco2e``) and the ``amount`` of an offer or a redemption paid in tickets (sibling
  ``amount_tco2e``; paid in points it is points). The signed ``ExchangePoints`` and
  ``RegisterOffer`` read the same.

The table view (``emit`` with ``table``) shows the tCO2e text and the RFC 3339 time only.
``print_rows`` prints the commands' aligned tables, padded by the columns a terminal gives each
character (``display_width``), not by ``len``, so CJK text keeps the columns straight.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import click
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from carbon_ticket.chain.amounts import format_tco2e, tco2e
from carbon_ticket.chain.records import OFFER_PAYMENTS
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = [
    "account",
    "batch",
    "block",
    "certificate",
    "certificate_bundle",
    "display_width",
    "event",
    "history_item",
    "merchant",
    "message_dict",
    "offer",
    "print_rows",
    "project",
    "receipt",
    "redemption",
    "report",
    "rfc3339",
    "submitted",
    "tco2e",
    "tx",
]

_GRAMS = "_grams"

# East Asian Width: wide (CJK ideographs, kana, hangul) and fullwidth forms take two columns.
_WIDE = ("W", "F")
# Combining marks draw on the character before them: an accent of NFD text takes no column.
_MARKS = ("Mn", "Me")


def display_width(text: str) -> int:
    """The columns a terminal gives ``text``: two for each wide or fullwidth character, none for
    a combining mark, one for every other character."""
    width = 0
    for char in text:
        if unicodedata.category(char) in _MARKS:
            continue
        width += 2 if unicodedata.east_asian_width(char) in _WIDE else 1
    return width


def print_rows(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> None:
    """An aligned table with a header row, each column as wide on screen as its widest cell (by
    ``display_width``), two spaces between columns; the last column is not padded."""
    lines = [header, *rows]
    widths = [max(display_width(r[c]) for r in lines) for c in range(len(header) - 1)]
    for row in lines:
        cells = [c + " " * (w - display_width(c)) for c, w in zip(row, widths, strict=False)]
        click.echo(indent + "  ".join([*cells, row[-1]]).rstrip())


def rfc3339(time_ms: int) -> str:
    """Milliseconds since the Unix epoch as RFC 3339 UTC text; ``""`` for 0 (unset)."""
    if time_ms == 0:
        return ""
    moment = datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time_key(name: str) -> str | None:
    """``time_ms`` -> ``time``, ``last_block_time_ms`` -> ``last_block_time``; else None."""
    if name == "time_ms" or name.endswith("_time_ms"):
        return name.removesuffix("_ms")
    return None


def _enum_prefix(enum: EnumDescriptor) -> str:
    # AccountKind -> ACCOUNT_KIND_: values are named after their type (proto style guide).
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def _scalar(field: Any, value: Any) -> Any:  # a FieldDescriptor (upb or pure Python)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return bytes(value).hex()
    if field.type == FieldDescriptor.TYPE_ENUM and field.enum_type is not None:
        enum = field.enum_type
        known = enum.values_by_number.get(value)
        return (
            (known.name if known is not None else str(value))
            .removeprefix(_enum_prefix(enum))
            .lower()
        )
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_dict(value)
    return value


def _add(out: dict[str, Any], name: str, value: Any) -> None:
    """Set ``name`` and the readable siblings of grams and epoch milliseconds."""
    out[name] = value
    if isinstance(value, int) and not isinstance(value, bool):
        if name.endswith(_GRAMS):
            out[name.removesuffix(_GRAMS) + "_tco2e"] = format_tco2e(value)
        time_key = _time_key(name)
        if time_key is not None:
            out[time_key] = rfc3339(value)


def message_dict(message: Message) -> dict[str, Any]:
    """Every field of ``message`` under its proto name (the conventions in the module doc)."""
    if isinstance(message, ledger_pb2.Event):
        return event(message)
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and message.WhichOneof(oneof.name) != field.name:
            continue
        value = getattr(message, field.name)
        if field.is_repeated:
            out[field.name] = [_scalar(field, v) for v in value]
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not message.HasField(field.name):
            out[field.name] = None
        else:
            _add(out, field.name, _scalar(field, value))
    return _signed_grams(message, out)


def _signed_grams(message: Message, fields: dict[str, Any]) -> dict[str, Any]:
    """The grams of a signed message under a name without ``_grams``, with their tCO2e named as
    in the message's event (``_unsuffixed_grams``), so one quantity is never shown two ways."""
    if isinstance(message, ledger_pb2.ExchangePoints):
        return _with_tco2e(fields, "grams", "tco2e")
    if isinstance(message, ledger_pb2.RegisterOffer) and message.payment == (
        ledger_pb2.OFFER_PAYMENT_GRAMS
    ):
        return _with_tco2e(fields, "amount", "amount_tco2e")
    return fields


# An offer's payment as the rules name it in its events: its amount is grams of tickets.
_PAID_IN_TICKETS = OFFER_PAYMENTS[ledger_pb2.OFFER_PAYMENT_GRAMS]


def _unsuffixed_grams(ev: ledger_pb2.Event) -> dict[str, str]:
    """The attributes of ``ev`` that are grams under a name without ``_grams``, each with the
    name of its tCO2e sibling. The names are in the receipts' canonical bytes, so they stay:
    an exchange's ``grams`` (``tco2e``, as the merchant's settlement totals name it), and the
    ``amount`` of an offer or a redemption paid in tickets (``amount_tco2e``, as ``offer``);
    paid in points, that amount is points."""
    if ev.type == "exchange_points":
        return {"grams": "tco2e"}
    if ev.type in ("register_offer", "redeem"):
        payment = next((a.value for a in ev.attributes if a.key == "payment"), "")
        if payment == _PAID_IN_TICKETS:
            return {"amount": "amount_tco2e"}
    return {}


def event(ev: ledger_pb2.Event) -> dict[str, Any]:
    """An event as ``type`` plus its attributes; grams (``*_grams`` attributes and the few
    named otherwise, ``_unsuffixed_grams``) as integers with their tCO2e beside them."""
    out: dict[str, Any] = {"type": ev.type}
    unsuffixed = _unsuffixed_grams(ev)
    for attr in ev.attributes:
        grams = attr.key.endswith(_GRAMS) or attr.key in unsuffixed
        if not (grams and attr.value.isascii() and attr.value.isdigit()):
            out[attr.key] = attr.value
        elif attr.key in unsuffixed:
            out[attr.key] = int(attr.value)
            out[unsuffixed[attr.key]] = format_tco2e(int(attr.value))
        else:
            _add(out, attr.key, int(attr.value))
    return out


def receipt(r: ledger_pb2.Receipt) -> dict[str, Any]:
    """A receipt: code (0 = ok), error code and message, events."""
    return message_dict(r)


def submitted(reply: services_pb2.SubmitTxResponse) -> dict[str, Any]:
    """The outcome of SubmitTx (``receipt`` is null until committed)."""
    out = message_dict(reply)
    if not reply.committed:
        out["receipt"] = None
    return out


def account(a: services_pb2.AccountInfo) -> dict[str, Any]:
    """An account with roles, nonce and balances, plus the total of its balances."""
    out = message_dict(a)
    _add(out, "total_grams", sum(b.amount_grams for b in a.balances))
    return out


def project(p: services_pb2.ProjectInfo) -> dict[str, Any]:
    """A registered project, plus its area in hectares as text."""
    out = message_dict(p)
    out["area_ha"] = f"{p.area_centihectares // 100}.{p.area_centihectares % 100:02d}"
    return out


def batch(b: services_pb2.BatchInfo) -> dict[str, Any]:
    """A batch with its supply."""
    return message_dict(b)


def report(r: services_pb2.ReportInfo) -> dict[str, Any]:
    """An anchored report and its attestation."""
    return message_dict(r)


def certificate(c: services_pb2.RetirementCertificate) -> dict[str, Any]:
    """A retirement certificate."""
    return message_dict(c)


def redemption(r: services_pb2.RedemptionInfo) -> dict[str, Any]:
    """A resident's redemption: ``amount_grams`` (with ``amount_tco2e``) for a payment in
    tickets, ``points`` for one in points."""
    return message_dict(r)


def _with_tco2e(fields: dict[str, Any], key: str, name: str) -> dict[str, Any]:
    """``fields`` with ``name``, the grams under ``key`` as tCO2e text, right after ``key``."""
    out: dict[str, Any] = {}
    for field_name, value in fields.items():
        out[field_name] = value
        if field_name == key:
            out[name] = format_tco2e(value)
    return out


def offer(o: services_pb2.OfferInfo) -> dict[str, Any]:
    """A merchant's offer. Its ``amount`` is grams for an offer paid in tickets, then followed by
    ``amount_tco2e`` (the price as tCO2e text, as every quantity of tickets); points otherwise."""
    fields = message_dict(o)
    if o.payment == ledger_pb2.OFFER_PAYMENT_GRAMS:
        return _with_tco2e(fields, "amount", "amount_tco2e")
    return fields


def _settlement(totals: dict[str, Any] | None) -> dict[str, Any] | None:
    """Settlement totals with ``tco2e`` beside ``grams`` (the tickets retired)."""
    return None if totals is None else _with_tco2e(totals, "grams", "tco2e")


def merchant(m: services_pb2.MerchantInfo) -> dict[str, Any]:
    """A merchant's offers (as ``offer``) and settlement totals: all time, over the period and
    per day, each with ``tco2e`` beside the ``grams`` of tickets retired."""
    out = message_dict(m)
    out["offers"] = [offer(o) for o in m.offers]
    out["total"], out["period"] = _settlement(out["total"]), _settlement(out["period"])
    out["days"] = [{**d, "totals": _settlement(d["totals"])} for d in out["days"]]
    return out


def _period(p: ledger_pb2.Period) -> str:
    return f"{p.start_date:08d}-{p.end_date:08d}"


def certificate_bundle(proof: services_pb2.CertificateProof) -> dict[str, Any]:
    """The self-contained JSON bundle ``carbon-ticket verify`` checks (format in cli/verify.py).

    Integers stay integers (grams, heights, milliseconds); hashes and keys are hex; the
    transaction envelope is base64, exactly as committed.
    """
    from carbon_ticket.cli.verify import BUNDLE_FORMAT

    c, t, h = proof.certificate, proof.tx, proof.tx.header
    return {
        "format": BUNDLE_FORMAT,
        "chain_id": proof.chain_id,
        "genesis_hash": proof.genesis_hash.hex(),
        "validators": _bundle_validators(proof.validators),
        "certificate": {
            "certificate_id": c.certificate_id,
            "batch_id": c.batch_id,
            "project_id": c.project_id,
            "vintage": _period(c.vintage),
            "amount_grams": c.amount_grams,
            "beneficiary": c.beneficiary,
            "reason": c.reason,
            "jurisdiction": c.jurisdiction,
            "event": c.event,
            "account": c.account,
            "period": _period(c.period) if c.HasField("period") else "",
            "height": c.height,
            "time_ms": c.time_ms,
            "tx_hash": c.tx_hash.hex(),
        },
        "tx": {
            "index": t.index,
            "envelope": base64.b64encode(t.tx).decode(),
            "proof": [p.hex() for p in t.tx_proof.path],
        },
        "receipt": {
            "code": t.receipt.code,
            "error_code": t.receipt.error_code,
            "events": [
                {"type": e.type, "attributes": [[a.key, a.value] for a in e.attributes]}
                for e in t.receipt.events
            ],
            "proof": [p.hex() for p in t.receipt_proof.path],
        },
        "header": _bundle_header(h),
        "commit": _bundle_commit(proof.commit),
        "set_changes": [
            {
                "header": _bundle_header(change.header),
                "commit": _bundle_commit(change.commit),
                "validators": _bundle_validators(change.validators),
            }
            for change in proof.set_changes
        ],
    }


def _bundle_validators(validators: Iterable[services_pb2.ProofValidator]) -> list[dict[str, Any]]:
    return [
        {"name": v.name, "public_key": v.public_key.hex(), "power": v.power} for v in validators
    ]


def _bundle_header(h: ledger_pb2.BlockHeader) -> dict[str, Any]:
    return {
        "chain_id": h.chain_id,
        "height": h.height,
        "time_ms": h.time_ms,
        "prev_hash": h.prev_hash.hex(),
        "tx_root": h.tx_root.hex(),
        "results_root": h.results_root.hex(),
        "envelopes_root": h.envelopes_root.hex(),
        "app_hash": h.app_hash.hex(),
        "proposer": h.proposer.hex(),
        "validators_hash": h.validators_hash.hex(),
        "next_validators_hash": h.next_validators_hash.hex(),
        "tx_count": h.tx_count,
    }


def _bundle_commit(c: ledger_pb2.CommitCertificate) -> dict[str, Any]:
    return {
        "height": c.height,
        "round": c.round,
        "block_hash": c.block_hash.hex(),
        "precommits": [
            {"validator_index": v.validator_index, "signature": v.signature.hex()}
            for v in c.precommits
        ],
    }


def tx(t: services_pb2.TxInfo) -> dict[str, Any]:
    """A committed transaction: the envelope as committed (the signed body bytes in hex, the
    signatures), its decoded body, its receipt, and ``kind`` (the body's message).

    The body's amounts follow the same conventions as the receipt's events, so one quantity is
    never shown two ways.
    """
    out = message_dict(t)
    out["kind"] = t.body.WhichOneof("msg") or ""
    return out


def block(b: services_pb2.BlockInfo) -> dict[str, Any]:
    """A block: hash, header, commit certificate and one receipt per transaction.

    The raw transactions are left out (``query tx`` shows each; its id is the receipt's
    ``tx_hash``).
    """
    return {
        "block_hash": b.block_hash.hex(),
        "header": message_dict(b.committed.block.header),
        "certificate": message_dict(b.committed.certificate),
        "receipts": [receipt(r) for r in b.receipts],
    }


def history_item(i: services_pb2.HistoryItem) -> dict[str, Any]:
    """One history entry: position (height, index), kind, signer, receipt, time."""
    return message_dict(i)
