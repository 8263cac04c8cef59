"""Serial numbers: each batch has one sequence of grams, numbered from 1, that retirements and
exports consume in order, so the ranges of a batch's certificates and exports are contiguous and
never overlap. A range is printed ``CTL-<batch id>-<first>-<last>`` (``records.serial_string``).
"""

from __future__ import annotations

from carbon_ticket.chain import keys
from carbon_ticket.chain.rules._common import read_u64
from carbon_ticket.chain.state import StateOverlay

__all__ = ["consume_serials"]


def consume_serials(state: StateOverlay, batch_id: str, amount_grams: int) -> tuple[int, int]:
    """Take the next ``amount_grams`` serials of the batch; return the first and last (inclusive).

    Writes only: the caller verified the grams exist, so the sequence never passes the
    batch's issued amount.
    """
    key = keys.batch_serial_key(batch_id)
    used = read_u64(state, key)
    state.set(key, keys.encode_u64(used + amount_grams))
    return used + 1, used + amount_grams
