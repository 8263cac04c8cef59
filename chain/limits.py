"""Size limits that bound every message the ledger accepts (part of the genesis params)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on envelopes, signatures and fields; violations are InvalidTransaction."""

    max_tx_bytes: int = 16 * 1024
    max_signatures: int = 16
    max_memo_bytes: int = 256
    max_text_bytes: int = 256  # names, reasons, beneficiaries, methodology, kinds
    max_id_bytes: int = 64  # project ids, batch ids
    max_uri_bytes: int = 512
    max_transfer_entries: int = 64
    max_report_refs: int = 64
    max_awards: int = 1000  # awards in one AwardPoints (max_tx_bytes bounds them too)
    max_block_txs: int = 10_000
    max_block_bytes: int = 8 * 1024 * 1024
