"""The genesis document (chain id, validators, accounts and roles, params) and ``init_chain``.

``Genesis`` validates itself on construction, so every instance is a usable genesis. Its JSON form
is for people and files; ``hash()`` covers a canonical JSON encoding (sorted keys, no spaces), so
reformatting the file does not change the genesis hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

from carbon_ticket.chain import keys
from carbon_ticket.chain.crypto import (
    POINTS_FLOAT_ADDRESS,
    Address,
    address_from_public_key,
    parse_address,
)
from carbon_ticket.chain.errors import InvalidAddress, InvalidGenesis, InvalidRequest, LedgerError
from carbon_ticket.chain.execute import GENESIS_PREV_APP_HASH, compute_app_hash
from carbon_ticket.chain.jsontext import parse_json
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.params import check_params
from carbon_ticket.chain.records import (
    ACCOUNT_KINDS,
    MAX_VALIDATOR_POWER,
    ROLES,
    Account,
    GovernanceParams,
    MarketParams,
    Params,
    RateLimits,
    ResidentParams,
    Validator,
    ValidatorSet,
)
from carbon_ticket.chain.results import BlockResult

__all__ = [
    "GENESIS_HASH_DOMAIN",
    "Genesis",
    "GenesisAccount",
    "GenesisValidator",
    "init_chain",
]

GENESIS_HASH_DOMAIN = b"carbonticket/genesis/v1\x00"
_CHAIN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
_HOST_PORT_RE = re.compile(r"([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})", re.ASCII)
_MAX_NAME_BYTES = 256
_ASSIGNABLE_ROLES = ROLES[2:]  # "validator" follows the validator list
FLOAT_ACCOUNT_NAME = "Residents' points exchange float"


def _bad(message: str) -> InvalidGenesis:
    return InvalidGenesis(f"invalid genesis: {message}", "invalid_genesis")


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value.encode()) > _MAX_NAME_BYTES:
        raise _bad(f"{what} must be text of 1 to {_MAX_NAME_BYTES} bytes")
    return value


def _int(value: object, what: str, low: int = 0, high: int = 2**64 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"{what} must be an integer from {low} to {high}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class GenesisValidator:
    """A validator at genesis: a bureau node's name, Ed25519 public key, peer address, voting
    power, and optionally the address of a separate operator account that votes for it."""

    name: str
    public_key: bytes
    network_address: str  # "host:port"
    power: int = 1
    operator: str = ""  # "" = the validator's own account votes for it

    def __post_init__(self) -> None:
        _name(self.name, "validator name")
        _int(self.power, f"validator {self.name!r} power", 1, MAX_VALIDATOR_POWER)
        if self.operator:
            try:
                canonical = parse_address(self.operator)
            except InvalidAddress as exc:
                raise _bad(f"validator {self.name!r} operator: {exc}") from exc
            if canonical != self.operator:
                raise _bad(
                    f"validator {self.name!r}: operator {self.operator!r} must be lower case"
                )
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 32:
            raise _bad(f"validator {self.name!r}: public key must be 32 bytes")
        match = _HOST_PORT_RE.fullmatch(self.network_address)
        if match is None or not 0 < int(match.group(2)) < 65536:
            raise _bad(
                f"validator {self.name!r}: network address {self.network_address!r} must be "
                "host:port"
            )

    @property
    def address(self) -> Address:
        """The validator's account address."""
        return address_from_public_key(self.public_key)

    def to_dict(self) -> dict[str, Any]:
        """JSON form; power and operator appear only when not the defaults, so that a genesis
        written before they existed keeps its hash."""
        out: dict[str, Any] = {
            "name": self.name,
            "public_key": self.public_key.hex(),
            "network_address": self.network_address,
        }
        if self.power != 1:
            out["power"] = self.power
        if self.operator:
            out["operator"] = self.operator
        return out


@dataclass(frozen=True, slots=True)
class GenesisAccount:
    """An account registered at genesis, with the roles it starts with."""

    address: str
    kind: str  # company, resident, merchant or bureau
    name: str
    roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            canonical = parse_address(self.address)
        except InvalidAddress as exc:
            raise _bad(str(exc)) from exc
        if canonical != self.address:
            raise _bad(f"account address {self.address!r} must be lower case")
        if self.kind not in ACCOUNT_KINDS[1:]:
            raise _bad(
                f"account {self.address}: kind {self.kind!r} is not one of "
                f"{', '.join(ACCOUNT_KINDS[1:])}"
            )
        _name(self.name, f"account {self.address} name")
        for role in self.roles:
            if role not in _ASSIGNABLE_ROLES:
                raise _bad(
                    f"account {self.address}: role {role!r} is not one of "
                    f"{', '.join(_ASSIGNABLE_ROLES)} (validators get their role from the "
                    "validator list)"
                )
        if len(set(self.roles)) != len(self.roles):
            raise _bad(f"account {self.address} lists a role twice")


@dataclass(frozen=True, slots=True)
class Genesis:
    """The first state of a chain; validated on construction."""

    chain_id: str
    genesis_time_ms: int
    validators: tuple[GenesisValidator, ...]
    accounts: tuple[GenesisAccount, ...] = ()
    params: Params = field(default_factory=Params)

    def __post_init__(self) -> None:
        if not isinstance(self.chain_id, str) or not _CHAIN_ID_RE.fullmatch(self.chain_id):
            raise _bad(f"chain id {self.chain_id!r} must be 1-64 letters, digits, '.', '_' or '-'")
        _int(self.genesis_time_ms, "genesis_time_ms")
        if not self.validators:
            raise _bad("at least one validator is required")
        for what, values in (
            ("validator name", [v.name for v in self.validators]),
            ("validator public key", [v.public_key.hex() for v in self.validators]),
            ("validator network address", [v.network_address for v in self.validators]),
            ("account address", [a.address for a in self.accounts]),
        ):
            seen: set[str] = set()
            for value in values:
                if value in seen:
                    raise _bad(f"duplicate {what} {value!r}")
                seen.add(value)
        if POINTS_FLOAT_ADDRESS in {a.address for a in self.accounts}:
            raise _bad(
                f"account {POINTS_FLOAT_ADDRESS} is the points exchange float, a module account "
                "that init_chain creates; do not list it"
            )
        try:
            check_params(self.params, len(self.validators))
        except InvalidRequest as exc:
            raise _bad(exc.message) from exc

    # ------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the genesis; ``params.governance`` appears only when not the
        defaults, so that a genesis written before governance existed keeps its hash."""
        out: dict[str, Any] = {
            "chain_id": self.chain_id,
            "genesis_time_ms": self.genesis_time_ms,
            "validators": [v.to_dict() for v in self.validators],
            "accounts": [
                {"address": a.address, "kind": a.kind, "name": a.name, "roles": list(a.roles)}
                for a in self.accounts
            ],
            "params": {
                "buffer_share_bps": self.params.buffer_share_bps,
                "limits": _int_fields(self.params.limits),
                "rate_limits": _int_fields(self.params.rate_limits),
                "residents": _int_fields(self.params.residents),
            },
        }
        if self.params.governance != GovernanceParams():
            out["params"]["governance"] = _int_fields(self.params.governance)
        if self.params.market != MarketParams():  # likewise for the market (issue 17)
            out["params"]["market"] = _int_fields(self.params.market)
        return out

    def to_json(self) -> str:
        """Human-readable JSON (2-space indent, sorted keys)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Genesis:
        """Parse and validate genesis JSON (text, or a file's bytes: UTF-8 is checked too);
        raise InvalidGenesis (``invalid_genesis``)."""
        data = parse_json(text, "genesis", InvalidGenesis)
        try:
            return cls._from_dict(data)
        except LedgerError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _bad(f"{type(exc).__name__}: {exc}") from exc

    @classmethod
    def _from_dict(cls, data: Any) -> Genesis:
        top = _object(
            data, "genesis", {"chain_id", "genesis_time_ms", "validators"}, {"accounts", "params"}
        )
        validators = tuple(
            GenesisValidator(
                name=v["name"],
                public_key=_hex(v["public_key"], f"validator {v['name']!r} public_key"),
                network_address=v["network_address"],
                power=v.get("power", 1),
                operator=v.get("operator", ""),
            )
            for v in (
                _object(
                    item,
                    "validator",
                    {"name", "public_key", "network_address"},
                    {"power", "operator"},
                )
                for item in _list(top["validators"], "validators")
            )
        )
        accounts = tuple(
            GenesisAccount(
                address=a["address"],
                kind=a["kind"],
                name=a["name"],
                roles=tuple(_list(a.get("roles", []), "roles")),
            )
            for a in (
                _object(item, "account", {"address", "kind", "name"}, {"roles"})
                for item in _list(top.get("accounts", []), "accounts")
            )
        )
        raw_params = _object(
            top.get("params", {}),
            "params",
            set(),
            {"buffer_share_bps", "limits", "rate_limits", "residents", "governance", "market"},
        )
        params = Params(
            buffer_share_bps=raw_params.get("buffer_share_bps", Params().buffer_share_bps),
            limits=_dataclass_of(Limits, raw_params.get("limits", {}), "params.limits"),
            rate_limits=_dataclass_of(
                RateLimits, raw_params.get("rate_limits", {}), "params.rate_limits"
            ),
            residents=_dataclass_of(
                ResidentParams, raw_params.get("residents", {}), "params.residents", signed=True
            ),
            governance=_dataclass_of(
                GovernanceParams, raw_params.get("governance", {}), "params.governance"
            ),
            market=_dataclass_of(MarketParams, raw_params.get("market", {}), "params.market"),
        )
        return cls(
            chain_id=top["chain_id"],
            genesis_time_ms=top["genesis_time_ms"],
            validators=validators,
            accounts=accounts,
            params=params,
        )

    def canonical_bytes(self) -> bytes:
        """Canonical JSON bytes: sorted keys, no whitespace, UTF-8."""
        return json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()

    def hash(self) -> bytes:
        """SHA-256 of the domain tag and the canonical JSON bytes."""
        return hashlib.sha256(GENESIS_HASH_DOMAIN + self.canonical_bytes()).digest()


def _int_fields(obj: Any) -> dict[str, int]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _object(
    value: Any, what: str, required: set[str], optional: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{what} must be a JSON object")
    missing = required - value.keys()
    if missing:
        raise _bad(f"{what} is missing {', '.join(sorted(missing))}")
    unknown = value.keys() - required - set(optional)
    if unknown:
        raise _bad(f"{what} has unknown field(s) {', '.join(sorted(unknown))}")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(f"{what} must be a JSON list")
    return value


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise _bad(f"{what} must be hex text")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise _bad(f"{what} must be hex text") from exc


def _dataclass_of(cls: Any, value: Any, what: str, *, signed: bool = False) -> Any:
    names = {f.name for f in fields(cls)}
    data = _object(value, what, set(), names)
    for name, item in data.items():
        _int(item, f"{what}.{name}", -(2**63) if signed else 0)
    return cls(**data)


def init_chain(genesis: Genesis) -> BlockResult:
    """The writes of the initial state and the genesis app hash.

    Every validator becomes a registered ``bureau`` account (unless listed among the accounts)
    holding the validator role, and so does a separate operator address a validator names (as
    "<name> operator"); the set is stored as in effect from height 1. Every account starts at
    nonce 0 with its listed roles. The
    points exchange float (``POINTS_FLOAT_ADDRESS``, a module account without a key) is
    registered too, so that ordinary transfers can top it up.
    """
    writes: dict[bytes, bytes | None] = {
        keys.GENESIS_HASH: genesis.hash(),
        keys.PARAMS: genesis.params.encode(),
    }
    validators = tuple(
        Validator(v.name, v.public_key, v.network_address, v.address, v.power, v.operator)
        for v in genesis.validators
    )
    writes[keys.validator_set_key(1)] = ValidatorSet.of(validators).encode()
    listed = {a.address for a in genesis.accounts}
    operators = {
        v.operator: GenesisAccount(v.operator, "bureau", f"{v.name} operator")
        for v in validators
        if v.operator and v.operator not in listed
    }
    accounts = (
        list(genesis.accounts)
        + [
            GenesisAccount(v.address, "bureau", v.name)
            for v in validators
            if v.address not in listed
        ]
        + list(operators.values())
        + [GenesisAccount(POINTS_FLOAT_ADDRESS, "bureau", FLOAT_ACCOUNT_NAME)]
    )
    for account in accounts:
        record = Account(account.address, account.kind, account.name, "", 0)
        writes[keys.account_key(account.address)] = record.encode()
        writes[keys.nonce_key(account.address)] = keys.encode_u64(0)
        for role in account.roles:
            writes[keys.role_key(role, account.address)] = b"\x01"
    for v in validators:
        writes[keys.role_key("validator", v.address)] = b"\x01"
    return BlockResult(writes=writes, app_hash=compute_app_hash(GENESIS_PREV_APP_HASH, writes))
