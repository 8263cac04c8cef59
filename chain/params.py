"""The chain parameters' one validity check, and parameter changes by name.

Genesis (``chain.genesis``) and governance proposals (``ChangeParams``) both validate parameters
with ``check_params``, so a proposal can never set a value a genesis file could not hold. A
parameter is named by its place in ``Params``: ``buffer_share_bps``, ``limits.max_block_txs``,
``rate_limits.points_daily_cap``, ``residents.points_per_gram``, ``governance.max_actions``...
"""

from __future__ import annotations

import re
from dataclasses import fields, replace
from typing import Any

from carbon_ticket.chain.check_fields import BATCH_ID_SUFFIX_CHARS, MAX_PROJECT_ID_CHARS
from carbon_ticket.chain.errors import InvalidRequest
from carbon_ticket.chain.records import Params

__all__ = [
    "MAX_AWARDS",
    "MAX_VOTING_PERIOD",
    "apply_param_change",
    "check_params",
    "param_names",
    "param_value",
    "param_values",
    "parse_param_value",
]

# Time zones in use run from UTC-12:00 to UTC+14:00.
_MIN_UTC_OFFSET_MINUTES = -720
_MAX_UTC_OFFSET_MINUTES = 840
_MAX_AWARD_WINDOW_DAYS = 3660
MAX_AWARDS = 60_000  # a receipt counts its events in 16 bits: one per award plus a summary
MAX_VOTING_PERIOD = 10_000_000  # blocks: months at one block a second
_MAX_PROPOSAL_ACTIONS = 256
_U64_MAX = 2**64 - 1
_I64_MAX = 2**63 - 1
_GROUPS = ("limits", "rate_limits", "residents", "governance", "market")
_DECIMAL_RE = re.compile(r"-?(0|[1-9][0-9]{0,19})", re.ASCII)


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(message, "invalid_param")


def _int(value: object, what: str, low: int = 0, high: int = _U64_MAX) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"{what} must be an integer from {low} to {high}, got {value!r}")


def check_params(params: Params, validator_count: int) -> None:
    """Verify every parameter is in range and the limits fit together; raise InvalidRequest.

    ``validator_count`` is the size of the latest validator set: the multi-signature shortcut
    needs signatures of more than 2/3 of it in one envelope.
    """
    _int(params.buffer_share_bps, "params.buffer_share_bps", 0, 10_000)
    for f in fields(params.limits):
        _int(getattr(params.limits, f.name), f"params.limits.{f.name}", 1)
    for f in fields(params.rate_limits):
        _int(getattr(params.rate_limits, f.name), f"params.rate_limits.{f.name}")
    _check_resident_params(params)
    _check_governance_params(params)
    # A trade must be able to wait at least one block for its payment, and not for ever.
    _int(
        params.market.trade_timeout_blocks,
        "params.market.trade_timeout_blocks",
        1,
        MAX_VOTING_PERIOD,
    )
    limits = params.limits
    quorum = validator_count * 2 // 3 + 1
    if limits.max_signatures < quorum:
        raise _bad(
            f"params.limits.max_signatures is {limits.max_signatures}, but governance "
            f"needs {quorum} signatures (more than 2/3 of {validator_count} validators)"
        )
    if limits.max_awards > MAX_AWARDS:
        raise _bad(
            f"params.limits.max_awards is {limits.max_awards}; a receipt holds at most "
            f"{MAX_AWARDS} award events"
        )
    longest_batch_id = MAX_PROJECT_ID_CHARS + BATCH_ID_SUFFIX_CHARS
    if limits.max_id_bytes < longest_batch_id:
        raise _bad(
            f"params.limits.max_id_bytes is {limits.max_id_bytes}, but a batch id of a "
            f"{MAX_PROJECT_ID_CHARS}-character project id is {longest_batch_id} bytes"
        )


def _check_resident_params(params: Params) -> None:
    """The residents' parameters: a real time zone, a rate of at least one point a gram."""
    residents = params.residents
    for f in fields(residents):
        if f.name != "utc_offset_minutes":
            _int(getattr(residents, f.name), f"params.residents.{f.name}", 0, _I64_MAX)
    _int(
        residents.utc_offset_minutes,
        "params.residents.utc_offset_minutes",
        _MIN_UTC_OFFSET_MINUTES,
        _MAX_UTC_OFFSET_MINUTES,
    )
    _int(
        residents.award_window_days,
        "params.residents.award_window_days",
        0,
        _MAX_AWARD_WINDOW_DAYS,
    )
    _int(residents.points_per_gram, "params.residents.points_per_gram", 1, 2**32)


def _check_governance_params(params: Params) -> None:
    """Voting periods: 1 <= min <= default <= max <= MAX_VOTING_PERIOD; 1 to 256 actions."""
    gov = params.governance
    _int(gov.min_voting_period, "params.governance.min_voting_period", 1, MAX_VOTING_PERIOD)
    _int(
        gov.max_voting_period,
        "params.governance.max_voting_period",
        gov.min_voting_period,
        MAX_VOTING_PERIOD,
    )
    _int(
        gov.default_voting_period,
        "params.governance.default_voting_period",
        gov.min_voting_period,
        gov.max_voting_period,
    )
    _int(gov.max_actions, "params.governance.max_actions", 1, _MAX_PROPOSAL_ACTIONS)


def param_names() -> tuple[str, ...]:
    """Every parameter a proposal may change, in ``Params`` order."""
    names = ["buffer_share_bps"]
    for group in _GROUPS:
        names.extend(f"{group}.{f.name}" for f in fields(getattr(Params(), group)))
    return tuple(names)


def parse_param_value(name: str, text: str) -> int:
    """The integer a ``ParamChange`` value spells; raise InvalidRequest for an unknown name or
    for text that is not a canonical decimal integer (no sign on zero, no leading zeros)."""
    if name not in param_names():
        raise InvalidRequest(
            f"unknown parameter {name!r}; parameters are named like buffer_share_bps, "
            "limits.max_block_txs, rate_limits.points_daily_cap, residents.points_per_gram, "
            "governance.max_actions, market.trade_timeout_blocks (all: carbon-ticket query "
            "params)",
            "unknown_param",
        )
    if not _DECIMAL_RE.fullmatch(text) or text == "-0":
        raise _bad(f"parameter {name} value {text!r} must be a decimal integer such as 5000")
    return int(text)


def param_value(params: Params, name: str) -> int:
    """The current value of a named parameter (a name from ``param_names``)."""
    group, _, field = name.rpartition(".")
    return int(getattr(getattr(params, group) if group else params, field))


def param_values(params: Params) -> tuple[tuple[str, int], ...]:
    """Every parameter a proposal may change and its value in ``params``, in ``Params`` order."""
    return tuple((name, param_value(params, name)) for name in param_names())


def apply_param_change(params: Params, name: str, text: str) -> Params:
    """``params`` with one parameter set; the result is NOT yet checked (see ``check_params``)."""
    value = parse_param_value(name, text)
    group, _, field = name.rpartition(".")
    changes: dict[str, Any] = (
        {field: value} if not group else {group: replace(getattr(params, group), **{field: value})}
    )
    return replace(params, **changes)
