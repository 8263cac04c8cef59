"""Turn API replies into plain dicts for ``emit``: amounts in tCO2e, hashes in hex, enum names."""

from __future__ import annotations

import base64
from typing import Any

from chain.amounts import tco2e
from proto import ledger_pb2, services_pb2

__all__ = [
    "account",
    "batch",
    "block",
    "certificate",
    "certificate_bundle",
    "event",
    "history",
    "project",
    "receipt",
    "report",
    "submitted",
    "tco2e",
    "tx",
]


def _enum(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value)).removeprefix(prefix).lower()


def _period(p: ledger_pb2.Period) -> str:
    return f"{p.start_date:08d}-{p.end_date:08d}"


def event(ev: ledger_pb2.Event) -> dict[str, str]:
    """An event as ``type`` plus attributes; ``*_grams`` attributes are shown in tCO2e."""
    out = {"type": ev.type}
    for attr in ev.attributes:
        if attr.key.endswith("_grams") and attr.value.isdigit():
            out[attr.key.removesuffix("_grams")] = tco2e(int(attr.value))
        else:
            out[attr.key] = attr.value
    return out


def receipt(r: ledger_pb2.Receipt) -> dict[str, Any]:
    """A receipt: status, error (if any) and events."""
    out: dict[str, Any] = {"status": "ok" if r.code == 0 else "failed"}
    if r.code:
        out["error"] = f"{r.message} [{r.error_code}]"
    out["events"] = [event(e) for e in r.events]
    return out


def submitted(reply: services_pb2.SubmitTxResponse) -> dict[str, Any]:
    """The outcome of SubmitTx."""
    out: dict[str, Any] = {"tx_hash": reply.tx_hash.hex(), "committed": reply.committed}
    if reply.committed:
        out["height"] = reply.height
        out.update(receipt(reply.receipt))
    return out


def account(a: services_pb2.AccountInfo) -> dict[str, Any]:
    """An account with roles, nonce and balances."""
    return {
        "address": a.address,
        "name": a.name,
        "kind": _enum(ledger_pb2.AccountKind, a.kind, "ACCOUNT_KIND_"),
        "roles": [_enum(ledger_pb2.Role, r, "ROLE_") for r in a.roles],
        "nonce": a.nonce,
        "registered_by": a.registered_by or "genesis",
        "registered_height": a.height,
        "balances": [{"batch_id": b.batch_id, "amount": tco2e(b.amount_grams)} for b in a.balances],
        "total": tco2e(sum(b.amount_grams for b in a.balances)),
    }


def project(p: services_pb2.ProjectInfo) -> dict[str, Any]:
    """A registered project."""
    return {
        "project_id": p.project_id,
        "name": p.name,
        "region": p.region,
        "kind": _enum(ledger_pb2.ProjectKind, p.kind, "PROJECT_KIND_"),
        "area": f"{p.area_centihectares // 100}.{p.area_centihectares % 100:02d} ha",
        "methodology": p.methodology,
        "owner": p.owner,
        "metadata_hash": p.metadata_hash.hex(),
        "metadata_uri": p.metadata_uri,
        "height": p.height,
    }


def batch(b: services_pb2.BatchInfo) -> dict[str, Any]:
    """A batch with its supply in tCO2e."""
    s = b.supply
    return {
        "batch_id": b.batch_id,
        "project_id": b.project_id,
        "vintage": _period(b.vintage),
        "issuer": b.issuer,
        "recipient": b.recipient,
        "reports": [h.hex() for h in b.report_hashes],
        "issued": tco2e(s.issued_grams),
        "tradable": tco2e(s.tradable_grams),
        "retired": tco2e(s.retired_grams),
        "cancelled": tco2e(s.cancelled_grams),
        "buffer": tco2e(s.buffer_grams),
        "reversed": tco2e(s.reversed_grams),
        "height": b.height,
    }


def report(r: services_pb2.ReportInfo) -> dict[str, Any]:
    """An anchored report and its attestation."""
    out: dict[str, Any] = {
        "data_hash": r.data_hash.hex(),
        "project_id": r.project_id,
        "kind": r.kind,
        "period": _period(r.period),
        "uri": r.uri,
        "anchored_by": r.anchored_by,
        "anchored_height": r.anchored_height,
        "attested": r.attested,
    }
    if r.attested:
        out.update(
            verifier=r.verifier,
            verified=tco2e(r.verified_grams),
            attested_period=_period(r.attested_period),
            remaining=tco2e(r.remaining_grams),
            attested_height=r.attested_height,
        )
    return out


def certificate(c: services_pb2.RetirementCertificate) -> dict[str, Any]:
    """A retirement certificate."""
    return {
        "certificate_id": c.certificate_id,
        "amount": tco2e(c.amount_grams),
        "batch_id": c.batch_id,
        "project_id": c.project_id,
        "vintage": _period(c.vintage),
        "beneficiary": c.beneficiary,
        "reason": c.reason,
        "jurisdiction": c.jurisdiction,
        "event": c.event,
        "period": _period(c.period) if c.HasField("period") else "",
        "retired_by": c.account,
        "height": c.height,
        "time_ms": c.time_ms,
        "tx_hash": c.tx_hash.hex(),
    }


def certificate_bundle(proof: services_pb2.CertificateProof) -> dict[str, Any]:
    """The self-contained JSON bundle ``carbon-ticket verify`` checks (format in cli/verify.py).

    Integers stay integers (grams, heights, milliseconds); hashes and keys are hex; the
    transaction envelope is base64, exactly as committed.
    """
    from cli.verify import BUNDLE_FORMAT

    c, t, h = proof.certificate, proof.tx, proof.tx.header
    return {
        "format": BUNDLE_FORMAT,
        "chain_id": proof.chain_id,
        "genesis_hash": proof.genesis_hash.hex(),
        "validators": [
            {"name": v.name, "public_key": v.public_key.hex(), "power": v.power}
            for v in proof.validators
        ],
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
        "header": {
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
            "tx_count": h.tx_count,
        },
        "commit": {
            "height": proof.commit.height,
            "round": proof.commit.round,
            "block_hash": proof.commit.block_hash.hex(),
            "precommits": [
                {"validator_index": v.validator_index, "signature": v.signature.hex()}
                for v in proof.commit.precommits
            ],
        },
    }


def _body(body: ledger_pb2.TxBody) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    kind = body.WhichOneof("msg") or ""
    msg = MessageToDict(getattr(body, kind), preserving_proto_field_name=True) if kind else {}
    return {
        "kind": kind,
        "signer": body.signer,
        "nonce": body.nonce,
        "memo": body.memo,
        "message": msg,
    }


def tx(t: services_pb2.TxInfo) -> dict[str, Any]:
    """A committed transaction."""
    out: dict[str, Any] = {
        "tx_hash": t.tx_hash.hex(),
        "height": t.height,
        "index": t.index,
        "time_ms": t.time_ms,
    }
    out.update(_body(t.body))
    out["signatures"] = [s.public_key.hex() for s in t.envelope.signatures]
    out.update(receipt(t.receipt))
    return out


def block(b: services_pb2.BlockInfo) -> dict[str, Any]:
    """A block with its certificate summary and receipts."""
    h = b.committed.block.header
    cert = b.committed.certificate
    return {
        "height": h.height,
        "block_hash": b.block_hash.hex(),
        "time_ms": h.time_ms,
        "prev_hash": h.prev_hash.hex(),
        "app_hash": h.app_hash.hex(),
        "tx_root": h.tx_root.hex(),
        "proposer": h.proposer.hex(),
        "tx_count": h.tx_count,
        "certificate": {
            "round": cert.round,
            "precommits": len(cert.precommits),
            "signers": [v.validator_index for v in cert.precommits],
        },
        "txs": [
            {"tx_hash": r.tx_hash.hex(), "status": "ok" if r.code == 0 else r.error_code}
            for r in b.receipts
        ],
    }


def history(page: services_pb2.HistoryPage) -> dict[str, Any]:
    """A history page."""
    return {
        "items": [
            {
                "height": i.height,
                "index": i.index,
                "kind": i.kind,
                "signer": i.signer,
                "status": "ok" if i.receipt.code == 0 else i.receipt.error_code,
                "tx_hash": i.tx_hash.hex(),
            }
            for i in page.items
        ],
        "next_page_token": page.next_page_token,
    }
