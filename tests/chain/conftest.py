"""A small in-memory ledger harness for the rule tests: genesis, signed txs, one block per call."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, TypeVar, cast

import pytest

from carbon_ticket.chain import (
    BlockContext,
    BlockResult,
    Genesis,
    GenesisAccount,
    GenesisValidator,
    MemoryState,
    Params,
    TxResult,
    apply_block,
    check_tx,
    expected_nonce,
    init_chain,
)
from carbon_ticket.chain.crypto import POINTS_FLOAT_ADDRESS, PrivateKey
from carbon_ticket.chain.errors import InvalidTransaction
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.records import RateLimits, ResidentParams
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.proto import ledger_pb2

CHAIN_ID = "carbon-test-1"
GENESIS_TIME_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
LIMITS = Limits()
T = 1_000_000  # grams per tCO2e
H = hashlib.sha256

# TxBody oneof field name by message class name, e.g. "Transfer" -> "transfer".
_MSG_FIELD = {
    f.message_type.name: f.name
    for f in ledger_pb2.TxBody.DESCRIPTOR.oneofs_by_name["msg"].fields
    if f.message_type is not None  # every member of the oneof is a message
}


def key(name: str) -> PrivateKey:
    """A deterministic test key."""
    return PrivateKey(hashlib.sha256(b"ledger-test/" + name.encode()).digest())


def data_hash(name: str) -> bytes:
    """A deterministic 32-byte data hash."""
    return hashlib.sha256(b"data/" + name.encode()).digest()


VALIDATORS = tuple(key(f"validator-{i}") for i in range(4))
REGISTRAR = key("registrar")
ISSUER = key("issuer")
VERIFIER = key("verifier")
ISSUER2 = key("second-bureau")  # an issuer that did not register the test project


def make_genesis(
    buffer_share_bps: int = 2000, validators: Sequence[PrivateKey] = VALIDATORS
) -> Genesis:
    """The test genesis: 4 validators, a registrar, an issuer (the bureau) and a verifier."""
    return Genesis(
        chain_id=CHAIN_ID,
        genesis_time_ms=GENESIS_TIME_MS,
        validators=tuple(
            GenesisValidator(f"bureau-node-{i}", k.public_key, f"127.0.0.1:{26650 + i}")
            for i, k in enumerate(validators)
        ),
        accounts=(
            GenesisAccount(REGISTRAR.address, "bureau", "Account registry", ("registrar",)),
            GenesisAccount(ISSUER.address, "bureau", "Forestry bureau", ("issuer",)),
            GenesisAccount(VERIFIER.address, "company", "MRV verifier", ("verifier",)),
        ),
        params=Params(buffer_share_bps=buffer_share_bps),
    )


def body_of(signer: PrivateKey, msg: Any, nonce: int) -> ledger_pb2.TxBody:
    """A TxBody carrying ``msg`` (any ledger message) for ``signer`` at ``nonce``."""
    body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=signer.address, nonce=nonce)
    getattr(body, _MSG_FIELD[type(msg).__name__]).CopyFrom(msg)
    return body


def check_code(raw: bytes) -> str:
    """The error code check_tx rejects ``raw`` with."""
    with pytest.raises(InvalidTransaction) as info:
        check_tx(raw, CHAIN_ID, LIMITS)
    return info.value.code


class Ledger:
    """A chain in memory: genesis applied, each ``run`` commits one block."""

    def __init__(self, genesis: Genesis | None = None) -> None:
        genesis = genesis or make_genesis()
        result = init_chain(genesis)
        self.state = MemoryState()
        self.state.apply(result.writes)
        self.app_hash = result.app_hash
        self.height = 0
        self.blocks: list[list[bytes]] = []
        # Block n is dated base_time_ms + n seconds; a test may move it to a later day.
        self.base_time_ms = GENESIS_TIME_MS

    def nonce(self, signer: PrivateKey) -> int:
        """The signer's next nonce (0 if not registered)."""
        try:
            return expected_nonce(self.state, signer.address)
        except Exception:
            return 0

    def tx(
        self,
        signer: PrivateKey,
        msg: Any,
        *,
        nonce: int | None = None,
        cosigners: Sequence[PrivateKey] = (),
    ) -> bytes:
        """A signed tx at the signer's next nonce (or ``nonce``)."""
        body = body_of(signer, msg, self.nonce(signer) if nonce is None else nonce)
        return encode_tx(body, [signer, *[k for k in cosigners if k != signer]])

    def run(self, raws: Sequence[bytes]) -> BlockResult:
        """Check and apply one block of raw txs; commit its writes."""
        txs = [check_tx(raw, CHAIN_ID, LIMITS) for raw in raws]
        self.height += 1
        ctx = BlockContext(
            CHAIN_ID, self.height, self.base_time_ms + self.height * 1000, self.app_hash
        )
        result = apply_block(self.state, ctx, txs)
        self.state.apply(result.writes)
        self.app_hash = result.app_hash
        self.blocks.append(list(raws))
        return result

    def submit(
        self,
        signer: PrivateKey,
        msg: Any,
        *,
        nonce: int | None = None,
        cosigners: Sequence[PrivateKey] = (),
    ) -> TxResult:
        """Sign, check and apply ``msg`` alone in a block; return its receipt."""
        return self.run([self.tx(signer, msg, nonce=nonce, cosigners=cosigners)]).receipts[0]

    def ok(self, signer: PrivateKey, msg: Any, **kwargs: Any) -> TxResult:
        """Like ``submit`` but the tx must succeed."""
        receipt = self.submit(signer, msg, **kwargs)
        assert receipt.ok, receipt
        return receipt


def add_second_issuer(chain: Ledger) -> None:
    """Register ISSUER2 and grant it the issuer role (the validators co-sign)."""
    chain.ok(
        REGISTRAR,
        register_account(ISSUER2, ledger_pb2.ACCOUNT_KIND_BUREAU, "Neighbouring bureau"),
    )
    grant = ledger_pb2.GrantRole(address=ISSUER2.address, role=ledger_pb2.ROLE_ISSUER)
    chain.ok(VALIDATORS[0], grant, cosigners=VALIDATORS[1:])


# ---------------------------------------------------------------- message builders


def register_account(
    who: PrivateKey,
    kind: int = ledger_pb2.ACCOUNT_KIND_COMPANY,
    name: str = "Zhejiang Green Energy Co.",
) -> ledger_pb2.RegisterAccount:
    # Any int, on purpose: tests also pass kinds no enum names (refused by the rules).
    return ledger_pb2.RegisterAccount(address=who.address, name=name,
                                      kind=cast(ledger_pb2.AccountKind, kind))  # fmt: skip


PROJECT_ID = "CN15-GY-0001"
VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)
REPORT = data_hash("guyang-flux-2023")
OWNER = key("guyang-state-forest")
COMPANY = key("zhejiang-enterprise")
RESIDENT = key("resident")


def register_project(**overrides: Any) -> ledger_pb2.RegisterProject:
    fields: dict[str, Any] = {
        "project_id": PROJECT_ID,
        "name": "Guyang County State Forest",
        "region": "CN-15",
        "kind": ledger_pb2.PROJECT_KIND_FOREST,
        "area_centihectares": 150_000,
        "methodology": "CCER-14-001-V01",
        "owner": OWNER.address,
        "metadata_hash": data_hash("guyang-metadata"),
        "metadata_uri": "https://forestry.example/projects/CN15-GY-0001",
    }
    fields.update(overrides)
    return ledger_pb2.RegisterProject(**fields)


def anchor_data(**overrides: Any) -> ledger_pb2.AnchorData:
    fields: dict[str, Any] = {
        "project_id": PROJECT_ID,
        "data_hash": REPORT,
        "period": VINTAGE,
        "uri": "ipfs://bafy-guyang-flux-2023",
        "kind": "co2-flux",
    }
    fields.update(overrides)
    return ledger_pb2.AnchorData(**fields)


def attest_report(**overrides: Any) -> ledger_pb2.AttestReport:
    fields: dict[str, Any] = {"data_hash": REPORT, "verified_grams": 150_000 * T, "period": VINTAGE}
    fields.update(overrides)
    return ledger_pb2.AttestReport(**fields)


def issue_batch(**overrides: Any) -> ledger_pb2.IssueBatch:
    fields: dict[str, Any] = {
        "project_id": PROJECT_ID,
        "vintage": VINTAGE,
        "report_hashes": [REPORT],
        "amount_grams": 150_000 * T,
        "recipient": ISSUER.address,
    }
    fields.update(overrides)
    return ledger_pb2.IssueBatch(**fields)


BATCH_ID = f"{PROJECT_ID}-20230101-20231231-001"


def transfer(*entries: tuple[PrivateKey, str, int]) -> ledger_pb2.Transfer:
    return ledger_pb2.Transfer(
        entries=[
            ledger_pb2.TransferEntry(to=k.address, batch_id=b, amount_grams=a)
            for k, b, a in entries
        ]
    )


def retire(**overrides: Any) -> ledger_pb2.Retire:
    fields: dict[str, Any] = {
        "batch_id": BATCH_ID,
        "amount_grams": 5_000 * T,
        "beneficiary": "14th National Winter Games organising committee",
        "reason": "offset the emissions of the 14th National Winter Games",
        "jurisdiction": "CN",
        "event": "14th National Winter Games",
    }
    fields.update(overrides)
    return ledger_pb2.Retire(**fields)


@pytest.fixture
def ledger() -> Ledger:
    """Genesis only."""
    return Ledger()


@pytest.fixture
def project_ledger() -> Ledger:
    """Genesis, the project owner and a company registered, the project registered."""
    chain = Ledger()
    chain.ok(
        REGISTRAR,
        register_account(OWNER, ledger_pb2.ACCOUNT_KIND_BUREAU, "Guyang State Forest Farm"),
    )
    chain.ok(REGISTRAR, register_account(COMPANY))
    chain.ok(ISSUER, register_project())
    return chain


@pytest.fixture
def attested_ledger(project_ledger: Ledger) -> Ledger:
    """Plus the 2023 flux report anchored and attested for 150,000 tCO2e."""
    project_ledger.ok(ISSUER, anchor_data())
    project_ledger.ok(VERIFIER, attest_report())
    return project_ledger


@pytest.fixture
def batch_ledger(attested_ledger: Ledger) -> Ledger:
    """Plus 150,000 tCO2e issued to the bureau (120,000 tradable, 30,000 buffer) and 20,000 t
    transferred to the company."""
    attested_ledger.ok(ISSUER, issue_batch())
    attested_ledger.ok(ISSUER, transfer((COMPANY, BATCH_ID, 20_000 * T)))
    return attested_ledger


L = TypeVar("L", bound=Ledger)


def issue_the_batch(chain: L, owner_name: str) -> L:
    """``chain`` with the project owner (``owner_name``) and a company registered, and the test
    project registered, its report anchored and attested, and its batch issued to the bureau."""
    chain.ok(REGISTRAR, register_account(OWNER, ledger_pb2.ACCOUNT_KIND_BUREAU, owner_name))
    chain.ok(REGISTRAR, register_account(COMPANY))
    chain.ok(ISSUER, register_project())
    chain.ok(ISSUER, anchor_data())
    chain.ok(VERIFIER, attest_report())
    chain.ok(ISSUER, issue_batch())
    return chain


# ---------------------------------------------------------------- residents' points

OPERATOR = key("points-operator")  # the app's backend
MERCHANT = key("bike-shop")
RESIDENT2 = key("resident-2")
DAILY_CAP = 1_000
RESIDENT_PARAMS = ResidentParams(
    utc_offset_minutes=480,
    award_window_days=7,
    points_per_gram=10,
    exchange_daily_limit_grams=5_000,
    tree_planting_daily_cap=600,
)
TODAY = 20240101  # the chain-local day of every block of a fresh residents ledger
FLOAT = POINTS_FLOAT_ADDRESS


def make_residents_genesis(
    residents: ResidentParams = RESIDENT_PARAMS, daily_cap: int = DAILY_CAP
) -> Genesis:
    """The test genesis plus a points operator, a merchant and two residents (UTC+8 chain)."""
    base = make_genesis()
    return Genesis(
        chain_id=base.chain_id,
        genesis_time_ms=base.genesis_time_ms,
        validators=base.validators,
        accounts=(
            *base.accounts,
            GenesisAccount(OPERATOR.address, "bureau", "Carbon app backend", ("points_operator",)),
            GenesisAccount(MERCHANT.address, "merchant", "Green Wheels bike shop", ("merchant",)),
            GenesisAccount(RESIDENT.address, "resident", "resident"),
            GenesisAccount(RESIDENT2.address, "resident", "resident"),
        ),
        params=Params(rate_limits=RateLimits(points_daily_cap=daily_cap), residents=residents),
    )


def award(
    who: PrivateKey = RESIDENT,
    points: int = 100,
    ref: str = "app-1",
    day: int = TODAY,
    activity: int = ledger_pb2.ACTIVITY_WALK,
    evidence_hash: bytes = b"",
) -> ledger_pb2.Award:
    return ledger_pb2.Award(
        recipient=who.address,
        activity=cast(ledger_pb2.Activity, activity),  # any int, as kind above
        day=day,
        points=points,
        external_ref=ref,
        evidence_hash=evidence_hash,
    )


def award_points(*awards: ledger_pb2.Award) -> ledger_pb2.AwardPoints:
    return ledger_pb2.AwardPoints(awards=list(awards))


def register_offer(**overrides: Any) -> ledger_pb2.RegisterOffer:
    fields: dict[str, Any] = {
        "offer_id": "SPRING-SERVICE",
        "description": "Spring bicycle service",
        "payment": ledger_pb2.OFFER_PAYMENT_GRAMS,
        "amount": 2_000,
        "discount": "20% off a bicycle service",
        "validity": ledger_pb2.Period(start_date=20231201, end_date=20240131),
        "max_redemptions": 2,
        "jurisdiction": "CN-15",
    }
    fields.update(overrides)
    return ledger_pb2.RegisterOffer(**fields)


def redeem(
    voucher: str = "V-1", offer_id: str = "SPRING-SERVICE", batch_id: str = BATCH_ID
) -> ledger_pb2.Redeem:
    return ledger_pb2.Redeem(
        merchant=MERCHANT.address, offer_id=offer_id, voucher_ref=voucher, batch_id=batch_id
    )


def top_up_float(batch_id: str, grams: int) -> ledger_pb2.Transfer:
    """An ordinary transfer of ``grams`` of a batch into the points float."""
    return ledger_pb2.Transfer(
        entries=[ledger_pb2.TransferEntry(to=FLOAT, batch_id=batch_id, amount_grams=grams)]
    )


def funded_residents_ledger(float_grams: int = 100_000, genesis: Genesis | None = None) -> Ledger:
    """A residents' chain with 100,000 t of a batch issued (50,000 t of the attested report
    left) and ``float_grams`` transferred into the float."""
    chain = Ledger(genesis or make_residents_genesis())
    chain.ok(
        REGISTRAR,
        register_account(OWNER, ledger_pb2.ACCOUNT_KIND_BUREAU, "Guyang State Forest Farm"),
    )
    chain.ok(REGISTRAR, register_account(COMPANY))
    chain.ok(ISSUER, register_project())
    chain.ok(ISSUER, anchor_data())
    chain.ok(VERIFIER, attest_report())
    chain.ok(ISSUER, issue_batch(amount_grams=100_000 * T))
    chain.ok(ISSUER, top_up_float(BATCH_ID, float_grams))
    return chain


@pytest.fixture
def residents_ledger() -> Ledger:
    """A residents' chain (UTC+8) with a funded float; blocks fall on TODAY (chain-local)."""
    return funded_residents_ledger()
