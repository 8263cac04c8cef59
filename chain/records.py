"""Typed ledger records and their canonical byte encoding in state.

Every record is a frozen, slotted dataclass. ``encode()`` produces the only byte form the ledger
ever stores or hashes: a one-byte record tag, then each field in declaration order (integers as
8-byte big-endian, text as UTF-8 and bytes each behind a 4-byte length, lists behind a 4-byte
count, an optional period behind a presence byte). The encoding has no map order, floats or
optional whitespace, so equal records always have equal bytes on every platform.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar

from carbon_ticket.chain.errors import StorageError
from carbon_ticket.chain.limits import Limits

__all__ = [
    "ACCOUNT_KINDS",
    "ACTIVITIES",
    "MAX_VALIDATOR_POWER",
    "OFFER_PAYMENTS",
    "PROJECT_KINDS",
    "RETIREMENT_USES",
    "ROLES",
    "Account",
    "Batch",
    "Certificate",
    "Evidence",
    "Export",
    "GovernanceParams",
    "Import",
    "MarketParams",
    "Offer",
    "Params",
    "Period",
    "PointsAccount",
    "Project",
    "RateLimits",
    "Record",
    "Redemption",
    "Report",
    "ResidentParams",
    "Settlement",
    "Validator",
    "ValidatorSet",
    "account_kind",
    "serial_string",
]

# Names used in state, events, genesis JSON and messages; index = proto enum value.
ROLES: tuple[str, ...] = (
    "",
    "validator",
    "issuer",
    "verifier",
    "registrar",
    "points_operator",
    "merchant",
    "settlement",
    "bridge",
)
ACCOUNT_KINDS: tuple[str, ...] = ("", "company", "resident", "merchant", "bureau")
PROJECT_KINDS: tuple[str, ...] = ("", "forest", "grassland", "bamboo", "wetland", "other")
# Activities that earn carbon sink points (index = proto ``Activity`` value).
ACTIVITIES: tuple[str, ...] = (
    "",
    "walk",
    "cycle",
    "tree_planting",
    "forest_adoption",
    "forest_grassland_protection",
    "wildlife_conservation",
    "other",
)
# What a retirement is used for (index = proto ``RetirementUse`` value; 0 reads as voluntary).
RETIREMENT_USES: tuple[str, ...] = ("", "voluntary", "compliance_offset")
# What an offer accepts (index = proto ``OfferPayment`` value).
OFFER_PAYMENTS: tuple[str, ...] = ("", "grams", "points")

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")

R = TypeVar("R", bound="Record")


@dataclass(frozen=True, slots=True)
class Period:
    """An inclusive range of calendar days written as YYYYMMDD integers."""

    start_date: int
    end_date: int

    def overlaps(self, other: Period) -> bool:
        """True when the two periods share at least one day."""
        return self.start_date <= other.end_date and other.start_date <= self.end_date

    def contains(self, other: Period) -> bool:
        """True when ``other`` lies entirely within this period."""
        return self.start_date <= other.start_date and other.end_date <= self.end_date

    def __str__(self) -> str:
        return f"{self.start_date:08d}-{self.end_date:08d}"


def _put(out: list[bytes], kind: str, value: Any) -> None:
    if kind == "u":
        out.append(_U64.pack(value))
    elif kind == "s":
        data = value.encode()
        out.append(_U32.pack(len(data)))
        out.append(data)
    elif kind == "b":
        out.append(_U32.pack(len(value)))
        out.append(value)
    elif kind == "B":
        out.append(_U32.pack(len(value)))
        for item in value:
            out.append(_U32.pack(len(item)))
            out.append(item)
    elif kind == "S":  # a tuple of texts
        out.append(_U32.pack(len(value)))
        for item in value:
            data = item.encode()
            out.append(_U32.pack(len(data)))
            out.append(data)
    elif kind == "p":
        out.append(_U64.pack(value.start_date))
        out.append(_U64.pack(value.end_date))
    elif kind == "P":
        if value is None:
            out.append(b"\x00")
        else:
            out.append(b"\x01")
            _put(out, "p", value)
    elif kind == "L":  # Limits / RateLimits: their int fields in declaration order
        signed = getattr(value, "SIGNED_FIELDS", ())
        for f in fields(value):
            packer = _I64 if f.name in signed else _U64
            out.append(packer.pack(getattr(value, f.name)))
    else:  # pragma: no cover - a schema typo is a programming error
        raise ValueError(f"unknown field kind {kind!r}")


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise StorageError("corrupt state record: truncated", "corrupt_state")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def u64(self) -> int:
        return int(_U64.unpack(self.take(8))[0])

    def get(self, kind: str, cls: type | None = None) -> Any:
        if kind == "u":
            return self.u64()
        if kind == "s":
            try:
                return self.take(self.u32()).decode()
            except UnicodeDecodeError as exc:
                raise StorageError("corrupt state record: bad text", "corrupt_state") from exc
        if kind == "b":
            return self.take(self.u32())
        if kind == "B":
            return tuple(self.take(self.u32()) for _ in range(self.u32()))
        if kind == "S":
            return tuple(self.get("s") for _ in range(self.u32()))
        if kind == "p":
            return Period(self.u64(), self.u64())
        if kind == "P":
            return None if self.take(1) == b"\x00" else self.get("p")
        if kind == "L" and cls is not None:
            signed = getattr(cls, "SIGNED_FIELDS", ())
            return cls(
                *(
                    int(_I64.unpack(self.take(8))[0]) if f.name in signed else self.u64()
                    for f in fields(cls)
                )
            )
        raise ValueError(f"unknown field kind {kind!r}")  # pragma: no cover


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() builds a new tuple on every call; records are encoded per award.
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


_FIXED: dict[type, struct.Struct | None] = {}


def _fixed_layout(cls: type[Record]) -> struct.Struct | None:
    # Records of u64 fields only (a resident's points, written for every award) are one
    # struct: packed and unpacked in one call, to the same bytes as field by field.
    try:
        return _FIXED[cls]
    except KeyError:
        kinds = cls.KINDS
        layout = struct.Struct(">" + "Q" * len(kinds)) if kinds and set(kinds) == {"u"} else None
        _FIXED[cls] = layout
        return layout


class Record:
    """Base of stored records: a tag byte and one field kind per dataclass field."""

    __slots__ = ()
    TAG: ClassVar[bytes]
    KINDS: ClassVar[str]
    NESTED: ClassVar[tuple[type, ...]] = ()  # classes of "L" fields, in order

    def encode(self) -> bytes:
        """The canonical bytes of this record."""
        cls = type(self)
        fixed = _fixed_layout(cls)
        if fixed is not None:
            return self.TAG + fixed.pack(*[getattr(self, name) for name in _field_names(cls)])
        out = [self.TAG]
        for name, kind in zip(_field_names(type(self)), self.KINDS, strict=True):
            _put(out, kind, getattr(self, name))
        return b"".join(out)

    @classmethod
    def decode(cls: type[R], data: bytes) -> R:
        """Parse bytes made by ``encode``; raise StorageError if they are not such bytes."""
        if data[:1] != cls.TAG:
            raise StorageError(
                f"corrupt state record: expected a {cls.__name__} record", "corrupt_state"
            )
        fixed = _fixed_layout(cls)
        if fixed is not None:
            if len(data) != 1 + fixed.size:
                problem = "truncated" if len(data) < 1 + fixed.size else "trailing bytes"
                raise StorageError(f"corrupt state record: {problem}", "corrupt_state")
            return cls(*fixed.unpack_from(data, 1))
        # Integers and texts, the most common fields, are read inline: records are decoded
        # many times per block (a resident's account and points for every award), and the
        # calls of _Reader cost more than the parsing. The other kinds go through _Reader.
        pos, end = 1, len(data)
        nested = iter(cls.NESTED)
        values: list[Any] = []
        for kind in cls.KINDS:
            if kind == "u":
                if pos + 8 > end:
                    raise StorageError("corrupt state record: truncated", "corrupt_state")
                values.append(_U64.unpack_from(data, pos)[0])
                pos += 8
            elif kind == "s":
                if pos + 4 > end:
                    raise StorageError("corrupt state record: truncated", "corrupt_state")
                stop = pos + 4 + _U32.unpack_from(data, pos)[0]
                if stop > end:
                    raise StorageError("corrupt state record: truncated", "corrupt_state")
                try:
                    values.append(data[pos + 4 : stop].decode())
                except UnicodeDecodeError as exc:
                    raise StorageError("corrupt state record: bad text", "corrupt_state") from exc
                pos = stop
            else:
                reader = _Reader(data, pos)
                values.append(reader.get(kind, next(nested) if kind == "L" else None))
                pos = reader.pos
        if pos != end:
            raise StorageError("corrupt state record: trailing bytes", "corrupt_state")
        return cls(*values)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Rate limits used by later issues (points, per-account throughput); 0 means no limit."""

    points_daily_cap: int = 0  # carbon sink points one resident may earn per day
    max_account_txs_per_block: int = 0


@dataclass(frozen=True, slots=True)
class ResidentParams:
    """Residents' points: award window, chain time zone, exchange rate and limits, activity caps.

    ``utc_offset_minutes`` is the chain's time zone (+480 for UTC+8): award days, exchange days
    and offer validity are calendar days there. Caps and limits of 0 mean no limit; the
    per-resident daily cap over all activities is ``RateLimits.points_daily_cap``.
    """

    SIGNED_FIELDS: ClassVar[frozenset[str]] = frozenset({"utc_offset_minutes"})

    utc_offset_minutes: int = 480
    award_window_days: int = 7  # an award's day is at most this many days before today
    points_per_gram: int = 10  # exchange rate: points burned per gram of tickets
    exchange_daily_limit_grams: int = 10_000  # per resident and chain-local day; 0 = none
    walk_daily_cap: int = 0
    cycle_daily_cap: int = 0
    tree_planting_daily_cap: int = 0
    forest_adoption_daily_cap: int = 0
    forest_grassland_protection_daily_cap: int = 0
    wildlife_conservation_daily_cap: int = 0
    other_daily_cap: int = 0

    def activity_cap(self, activity: str) -> int:
        """The per-resident daily cap of one activity (0 = none beyond the overall cap)."""
        return int(getattr(self, f"{activity}_daily_cap"))


@dataclass(frozen=True, slots=True)
class GovernanceParams:
    """Proposals: the voting periods allowed (in blocks) and the actions one proposal may carry."""

    min_voting_period: int = 1
    max_voting_period: int = 100_000
    default_voting_period: int = 1_000  # used when a proposal names no voting period
    max_actions: int = 16


@dataclass(frozen=True, slots=True)
class MarketParams:
    """The market (issue 17): how long a purchase may wait for its payment to be confirmed."""

    trade_timeout_blocks: int = 86_400  # a day at one block a second


@dataclass(frozen=True, slots=True)
class Params(Record):
    """Chain parameters set at genesis and changed later by governance proposals only."""

    TAG: ClassVar[bytes] = b"P"
    KINDS: ClassVar[str] = "uLLLLL"
    NESTED: ClassVar[tuple[type, ...]] = (
        Limits,
        RateLimits,
        ResidentParams,
        GovernanceParams,
        MarketParams,
    )

    buffer_share_bps: int = 2000  # 20% of every issuance is withheld in the buffer pool
    limits: Limits = field(default_factory=Limits)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    residents: ResidentParams = field(default_factory=ResidentParams)
    governance: GovernanceParams = field(default_factory=GovernanceParams)
    market: MarketParams = field(default_factory=MarketParams)


# Voting power of one validator: small enough that no sum over a set can overflow a u64.
MAX_VALIDATOR_POWER = 2**32


@dataclass(frozen=True, slots=True)
class Validator(Record):
    """A validator: a bureau node's name, consensus key, peer address and account address, its
    voting power, and its operator: the ledger account that votes for it in governance (the
    validator's own account unless genesis or governance bound a separate operator key)."""

    TAG: ClassVar[bytes] = b"V"
    KINDS: ClassVar[str] = "sbssus"

    name: str
    public_key: bytes
    network_address: str  # "host:port"
    address: str  # address_from_public_key(public_key)
    power: int = 1
    operator: str = ""  # operator account address; "" means the validator's own address

    @property
    def operator_address(self) -> str:
        """The account that votes for this validator in governance."""
        return self.operator or self.address


@dataclass(frozen=True, slots=True)
class ValidatorSet(Record):
    """A validator set in consensus index order (stored once per effective height)."""

    TAG: ClassVar[bytes] = b"S"
    KINDS: ClassVar[str] = "B"

    encoded: tuple[bytes, ...]  # each an encoded Validator

    @classmethod
    def of(cls, validators: tuple[Validator, ...]) -> ValidatorSet:
        """Wrap a tuple of validators."""
        return cls(tuple(v.encode() for v in validators))

    @property
    def validators(self) -> tuple[Validator, ...]:
        """The validators, decoded."""
        return tuple(Validator.decode(v) for v in self.encoded)


@dataclass(frozen=True, slots=True)
class Account(Record):
    """A registered account. Roles are stored separately (``role/...`` keys)."""

    TAG: ClassVar[bytes] = b"A"
    KINDS: ClassVar[str] = "ssssu"

    address: str
    kind: str  # one of ACCOUNT_KINDS
    name: str
    registered_by: str  # registrar address, or "" for genesis
    height: int


def account_kind(data: bytes) -> str:
    """The ``kind`` of an ``Account`` record's bytes, without decoding the rest.

    Every award checks that its recipient is a resident: reading the one text costs a fifth of
    building the whole record. Raises StorageError (``corrupt_state``) as ``decode`` would for
    bytes that are not an account record up to that field.
    """
    if data[:1] != Account.TAG:
        raise StorageError("corrupt state record: expected a Account record", "corrupt_state")
    pos = 1
    for _ in range(2):  # the address, then the kind
        if pos + 4 > len(data):
            raise StorageError("corrupt state record: truncated", "corrupt_state")
        start, pos = pos + 4, pos + 4 + _U32.unpack_from(data, pos)[0]
        if pos > len(data):
            raise StorageError("corrupt state record: truncated", "corrupt_state")
    try:
        return data[start:pos].decode()
    except UnicodeDecodeError as exc:
        raise StorageError("corrupt state record: bad text", "corrupt_state") from exc


@dataclass(frozen=True, slots=True)
class Project(Record):
    """A registered carbon project."""

    TAG: ClassVar[bytes] = b"J"
    KINDS: ClassVar[str] = "ssssusbsssuuSSb"

    project_id: str
    name: str
    region: str  # ISO 3166-2, e.g. CN-15
    kind: str  # one of PROJECT_KINDS
    area_centihectares: int
    methodology: str
    metadata_hash: bytes
    metadata_uri: str
    owner: str
    issuer: str  # the issuer that registered it: the only account that may issue or reverse
    height: int
    time_ms: int
    # One forest, one project: each external id and parcel id belongs to one project only.
    external_ids: tuple[str, ...] = ()
    parcel_ids: tuple[str, ...] = ()
    boundary_hash: bytes = b""


@dataclass(frozen=True, slots=True)
class Report(Record):
    """An anchored monitoring dataset or report and, once attested, its verified grams.

    ``remaining_grams`` is what later batches may still issue against this report.
    """

    TAG: ClassVar[bytes] = b"R"
    KINDS: ClassVar[str] = "bspsssusuPuu"

    data_hash: bytes
    project_id: str
    period: Period
    uri: str
    kind: str
    anchored_by: str
    anchored_height: int
    # Attestation; verifier == "" until attested.
    verifier: str = ""
    verified_grams: int = 0
    attested_period: Period | None = None
    remaining_grams: int = 0
    attested_height: int = 0

    @property
    def attested(self) -> bool:
        """True once a verifier attested this report."""
        return self.verifier != ""


@dataclass(frozen=True, slots=True)
class Batch(Record):
    """An issued batch and its supply:
    tradable + escrowed + retired + cancelled + exported + buffer == issued.

    ``reversed_grams`` counts the part of ``cancelled`` that left the buffer pool by reversal.
    ``escrowed`` are grams held by open sell orders and pending trades of the market;
    ``exported`` left this registry for another one (their own category, not cancelled).
    """

    TAG: ClassVar[bytes] = b"B"
    KINDS: ClassVar[str] = "sspssBuuuuuuuuuu"

    batch_id: str
    project_id: str
    vintage: Period
    issuer: str
    recipient: str
    report_hashes: tuple[bytes, ...]
    issued: int
    tradable: int
    retired: int
    cancelled: int
    buffer: int
    reversed_grams: int
    height: int
    time_ms: int
    escrowed: int = 0
    exported: int = 0


@dataclass(frozen=True, slots=True)
class Certificate(Record):
    """A retirement certificate: who retired how many grams of which batch, for whom and why."""

    TAG: ClassVar[bytes] = b"C"
    KINDS: ClassVar[str] = "ssspusssssPuubsssuuu"

    certificate_id: str
    batch_id: str
    project_id: str
    vintage: Period
    amount_grams: int
    beneficiary: str
    reason: str
    jurisdiction: str
    event: str
    account: str  # the retiring account
    period: Period | None  # the period of the offset claim, if given
    height: int
    time_ms: int
    tx_hash: bytes
    # Use of the retirement (one of RETIREMENT_USES) and, for a compliance offset, the scheme
    # and the emitter's account id in it; corresponding_adjustment is 1 or 0.
    use: str = "voluntary"
    scheme: str = ""
    emitter_account: str = ""
    corresponding_adjustment: int = 0
    # The grams of the batch's serial sequence this retirement consumed, inclusive (from 1).
    serial_first: int = 0
    serial_last: int = 0

    @property
    def serial(self) -> str:
        """The registry-style serial string of the consumed range."""
        return serial_string(self.batch_id, self.serial_first, self.serial_last)


@dataclass(frozen=True, slots=True)
class Evidence(Record):
    """A validator's double vote, as committed on chain: the offender, where, and the proof.

    ``evidence`` holds the two signed votes (a serialised ``DuplicateVoteEvidence``), so anyone
    holding the validator set can re-check it offline.
    """

    TAG: ClassVar[bytes] = b"E"
    KINDS: ClassVar[str] = "ssuuuusuub"

    offender: str  # the validator's account address
    offender_name: str
    validator_index: int
    height: int  # consensus height of the conflicting votes
    round: int
    vote_type: int  # 1 prevote, 2 precommit
    reporter: str  # account that reported it
    reported_height: int  # block that recorded it
    reported_time_ms: int
    evidence: bytes


@dataclass(frozen=True, slots=True)
class PointsAccount(Record):
    """A resident's carbon sink points: balance == awarded - exchanged - redeemed, always.

    Points are integers that never move between accounts and never count as tCO2e.
    """

    TAG: ClassVar[bytes] = b"K"
    KINDS: ClassVar[str] = "uuuu"

    balance: int = 0
    awarded: int = 0
    exchanged: int = 0  # burned by exchanges for tickets
    redeemed: int = 0  # burned by redemptions of offers paid in points

    @classmethod
    def encode_fields(cls, balance: int, awarded: int, exchanged: int, redeemed: int) -> bytes:
        """``PointsAccount(balance, awarded, exchanged, redeemed).encode()`` without building
        the record: every award writes one (a frozen record costs more to build than to pack)."""
        return cls.TAG + _POINTS_LAYOUT.pack(balance, awarded, exchanged, redeemed)


def _layout_of(cls: type[Record]) -> struct.Struct:
    # ``Record.encode``'s own struct for a record of u64 fields only, so the two cannot differ.
    layout = _fixed_layout(cls)
    if layout is None:
        raise TypeError(f"{cls.__name__} is not a record of u64 fields only")
    return layout


_POINTS_LAYOUT = _layout_of(PointsAccount)


@dataclass(frozen=True, slots=True)
class Offer(Record):
    """A merchant's offer and how often it has been redeemed."""

    TAG: ClassVar[bytes] = b"O"
    KINDS: ClassVar[str] = "sssusspsuuu"

    merchant: str
    offer_id: str
    payment: str  # one of OFFER_PAYMENTS: "grams" (tickets, retired) or "points" (burned)
    amount: int  # grams or points per redemption
    description: str
    discount: str
    validity: Period  # chain-local calendar days, inclusive
    jurisdiction: str  # ISO 3166 code written on the certificates of ticket redemptions
    max_redemptions: int
    redemptions: int
    height: int


@dataclass(frozen=True, slots=True)
class Redemption(Record):
    """One redemption of an offer, stored under its (merchant, voucher reference)."""

    TAG: ClassVar[bytes] = b"D"
    KINDS: ClassVar[str] = "sssssuusuub"

    merchant: str
    voucher_ref: str
    offer_id: str
    resident: str
    payment: str
    amount: int
    day: int  # chain-local YYYYMMDD
    certificate_id: str  # "" for a redemption paid in points
    height: int
    time_ms: int
    tx_hash: bytes


@dataclass(frozen=True, slots=True)
class Settlement(Record):
    """A merchant's settlement totals (overall or for one chain-local day)."""

    TAG: ClassVar[bytes] = b"T"
    KINDS: ClassVar[str] = "uuu"

    redemptions: int = 0
    grams: int = 0  # tickets retired through the merchant's offers
    points: int = 0  # points burned through the merchant's offers


def serial_string(batch_id: str, first: int, last: int) -> str:
    """``CTL-<batch id>-<first>-<last>``: a range of grams in a batch's serial sequence."""
    return f"CTL-{batch_id}-{first}-{last}"


@dataclass(frozen=True, slots=True)
class Export(Record):
    """Grams that left this registry for another: who, how many of which batch, to where."""

    TAG: ClassVar[bytes] = b"X"
    KINDS: ClassVar[str] = "ssspusssuuuub"

    export_id: str
    batch_id: str
    project_id: str
    vintage: Period
    amount_grams: int
    account: str  # the exporting account
    registry: str  # the target registry
    target_account: str  # the account in the target registry
    serial_first: int
    serial_last: int
    height: int
    time_ms: int
    tx_hash: bytes

    @property
    def serial(self) -> str:
        """The registry-style serial string of the exported range."""
        return serial_string(self.batch_id, self.serial_first, self.serial_last)


@dataclass(frozen=True, slots=True)
class Import(Record):
    """A batch imported from another registry, stored under its origin (registry, id)."""

    TAG: ClassVar[bytes] = b"I"
    KINDS: ClassVar[str] = "ssssuuub"

    origin_registry: str
    origin_id: str
    batch_id: str
    bridge: str  # the bridge account that imported it
    amount_grams: int
    height: int
    time_ms: int
    tx_hash: bytes
