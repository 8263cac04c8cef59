from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_VALIDATOR: _ClassVar[Role]
    ROLE_ISSUER: _ClassVar[Role]
    ROLE_VERIFIER: _ClassVar[Role]
    ROLE_REGISTRAR: _ClassVar[Role]
    ROLE_POINTS_OPERATOR: _ClassVar[Role]
    ROLE_MERCHANT: _ClassVar[Role]
    ROLE_SETTLEMENT: _ClassVar[Role]
    ROLE_BRIDGE: _ClassVar[Role]

class AccountKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_KIND_UNSPECIFIED: _ClassVar[AccountKind]
    ACCOUNT_KIND_COMPANY: _ClassVar[AccountKind]
    ACCOUNT_KIND_RESIDENT: _ClassVar[AccountKind]
    ACCOUNT_KIND_MERCHANT: _ClassVar[AccountKind]
    ACCOUNT_KIND_BUREAU: _ClassVar[AccountKind]

class ProjectKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROJECT_KIND_UNSPECIFIED: _ClassVar[ProjectKind]
    PROJECT_KIND_FOREST: _ClassVar[ProjectKind]
    PROJECT_KIND_GRASSLAND: _ClassVar[ProjectKind]
    PROJECT_KIND_BAMBOO: _ClassVar[ProjectKind]
    PROJECT_KIND_WETLAND: _ClassVar[ProjectKind]
    PROJECT_KIND_OTHER: _ClassVar[ProjectKind]

class RetirementUse(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETIREMENT_USE_UNSPECIFIED: _ClassVar[RetirementUse]
    RETIREMENT_USE_VOLUNTARY: _ClassVar[RetirementUse]
    RETIREMENT_USE_COMPLIANCE_OFFSET: _ClassVar[RetirementUse]

class Activity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTIVITY_UNSPECIFIED: _ClassVar[Activity]
    ACTIVITY_WALK: _ClassVar[Activity]
    ACTIVITY_CYCLE: _ClassVar[Activity]
    ACTIVITY_TREE_PLANTING: _ClassVar[Activity]
    ACTIVITY_FOREST_ADOPTION: _ClassVar[Activity]
    ACTIVITY_FOREST_GRASSLAND_PROTECTION: _ClassVar[Activity]
    ACTIVITY_WILDLIFE_CONSERVATION: _ClassVar[Activity]
    ACTIVITY_OTHER: _ClassVar[Activity]

class OfferPayment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OFFER_PAYMENT_UNSPECIFIED: _ClassVar[OfferPayment]
    OFFER_PAYMENT_GRAMS: _ClassVar[OfferPayment]
    OFFER_PAYMENT_POINTS: _ClassVar[OfferPayment]

class VoteOption(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOTE_OPTION_UNSPECIFIED: _ClassVar[VoteOption]
    VOTE_OPTION_YES: _ClassVar[VoteOption]
    VOTE_OPTION_NO: _ClassVar[VoteOption]
    VOTE_OPTION_ABSTAIN: _ClassVar[VoteOption]

class VoteType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOTE_TYPE_UNSPECIFIED: _ClassVar[VoteType]
    VOTE_TYPE_PREVOTE: _ClassVar[VoteType]
    VOTE_TYPE_PRECOMMIT: _ClassVar[VoteType]
ROLE_UNSPECIFIED: Role
ROLE_VALIDATOR: Role
ROLE_ISSUER: Role
ROLE_VERIFIER: Role
ROLE_REGISTRAR: Role
ROLE_POINTS_OPERATOR: Role
ROLE_MERCHANT: Role
ROLE_SETTLEMENT: Role
ROLE_BRIDGE: Role
ACCOUNT_KIND_UNSPECIFIED: AccountKind
ACCOUNT_KIND_COMPANY: AccountKind
ACCOUNT_KIND_RESIDENT: AccountKind
ACCOUNT_KIND_MERCHANT: AccountKind
ACCOUNT_KIND_BUREAU: AccountKind
PROJECT_KIND_UNSPECIFIED: ProjectKind
PROJECT_KIND_FOREST: ProjectKind
PROJECT_KIND_GRASSLAND: ProjectKind
PROJECT_KIND_BAMBOO: ProjectKind
PROJECT_KIND_WETLAND: ProjectKind
PROJECT_KIND_OTHER: ProjectKind
RETIREMENT_USE_UNSPECIFIED: RetirementUse
RETIREMENT_USE_VOLUNTARY: RetirementUse
RETIREMENT_USE_COMPLIANCE_OFFSET: RetirementUse
ACTIVITY_UNSPECIFIED: Activity
ACTIVITY_WALK: Activity
ACTIVITY_CYCLE: Activity
ACTIVITY_TREE_PLANTING: Activity
ACTIVITY_FOREST_ADOPTION: Activity
ACTIVITY_FOREST_GRASSLAND_PROTECTION: Activity
ACTIVITY_WILDLIFE_CONSERVATION: Activity
ACTIVITY_OTHER: Activity
OFFER_PAYMENT_UNSPECIFIED: OfferPayment
OFFER_PAYMENT_GRAMS: OfferPayment
OFFER_PAYMENT_POINTS: OfferPayment
VOTE_OPTION_UNSPECIFIED: VoteOption
VOTE_OPTION_YES: VoteOption
VOTE_OPTION_NO: VoteOption
VOTE_OPTION_ABSTAIN: VoteOption
VOTE_TYPE_UNSPECIFIED: VoteType
VOTE_TYPE_PREVOTE: VoteType
VOTE_TYPE_PRECOMMIT: VoteType

class TxEnvelope(_message.Message):
    __slots__ = ("body", "signatures")
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    signatures: _containers.RepeatedCompositeFieldContainer[Signature]
    def __init__(self, body: _Optional[bytes] = ..., signatures: _Optional[_Iterable[_Union[Signature, _Mapping]]] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ("public_key", "signature")
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    signature: bytes
    def __init__(self, public_key: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class TxBody(_message.Message):
    __slots__ = ("chain_id", "signer", "nonce", "memo", "register_account", "register_project", "anchor_data", "attest_report", "issue_batch", "transfer", "retire", "cancel", "reversal", "grant_role", "revoke_role", "report_evidence", "appoint_issuer", "award_points", "exchange_points", "register_offer", "redeem", "submit_proposal", "cast_vote", "sell", "buy", "confirm_payment", "cancel_order", "export", "import_batch")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    REGISTER_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    REGISTER_PROJECT_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_DATA_FIELD_NUMBER: _ClassVar[int]
    ATTEST_REPORT_FIELD_NUMBER: _ClassVar[int]
    ISSUE_BATCH_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    RETIRE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    REVERSAL_FIELD_NUMBER: _ClassVar[int]
    GRANT_ROLE_FIELD_NUMBER: _ClassVar[int]
    REVOKE_ROLE_FIELD_NUMBER: _ClassVar[int]
    REPORT_EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    APPOINT_ISSUER_FIELD_NUMBER: _ClassVar[int]
    AWARD_POINTS_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_POINTS_FIELD_NUMBER: _ClassVar[int]
    REGISTER_OFFER_FIELD_NUMBER: _ClassVar[int]
    REDEEM_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    CAST_VOTE_FIELD_NUMBER: _ClassVar[int]
    SELL_FIELD_NUMBER: _ClassVar[int]
    BUY_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_PAYMENT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_ORDER_FIELD_NUMBER: _ClassVar[int]
    EXPORT_FIELD_NUMBER: _ClassVar[int]
    IMPORT_BATCH_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    signer: str
    nonce: int
    memo: str
    register_account: RegisterAccount
    register_project: RegisterProject
    anchor_data: AnchorData
    attest_report: AttestReport
    issue_batch: IssueBatch
    transfer: Transfer
    retire: Retire
    cancel: Cancel
    reversal: Reversal
    grant_role: GrantRole
    revoke_role: RevokeRole
    report_evidence: ReportEvidence
    appoint_issuer: AppointIssuer
    award_points: AwardPoints
    exchange_points: ExchangePoints
    register_offer: RegisterOffer
    redeem: Redeem
    submit_proposal: SubmitProposal
    cast_vote: CastVote
    sell: SellOrder
    buy: Buy
    confirm_payment: ConfirmPayment
    cancel_order: CancelOrder
    export: ExportTickets
    import_batch: ImportBatch
    def __init__(self, chain_id: _Optional[str] = ..., signer: _Optional[str] = ..., nonce: _Optional[int] = ..., memo: _Optional[str] = ..., register_account: _Optional[_Union[RegisterAccount, _Mapping]] = ..., register_project: _Optional[_Union[RegisterProject, _Mapping]] = ..., anchor_data: _Optional[_Union[AnchorData, _Mapping]] = ..., attest_report: _Optional[_Union[AttestReport, _Mapping]] = ..., issue_batch: _Optional[_Union[IssueBatch, _Mapping]] = ..., transfer: _Optional[_Union[Transfer, _Mapping]] = ..., retire: _Optional[_Union[Retire, _Mapping]] = ..., cancel: _Optional[_Union[Cancel, _Mapping]] = ..., reversal: _Optional[_Union[Reversal, _Mapping]] = ..., grant_role: _Optional[_Union[GrantRole, _Mapping]] = ..., revoke_role: _Optional[_Union[RevokeRole, _Mapping]] = ..., report_evidence: _Optional[_Union[ReportEvidence, _Mapping]] = ..., appoint_issuer: _Optional[_Union[AppointIssuer, _Mapping]] = ..., award_points: _Optional[_Union[AwardPoints, _Mapping]] = ..., exchange_points: _Optional[_Union[ExchangePoints, _Mapping]] = ..., register_offer: _Optional[_Union[RegisterOffer, _Mapping]] = ..., redeem: _Optional[_Union[Redeem, _Mapping]] = ..., submit_proposal: _Optional[_Union[SubmitProposal, _Mapping]] = ..., cast_vote: _Optional[_Union[CastVote, _Mapping]] = ..., sell: _Optional[_Union[SellOrder, _Mapping]] = ..., buy: _Optional[_Union[Buy, _Mapping]] = ..., confirm_payment: _Optional[_Union[ConfirmPayment, _Mapping]] = ..., cancel_order: _Optional[_Union[CancelOrder, _Mapping]] = ..., export: _Optional[_Union[ExportTickets, _Mapping]] = ..., import_batch: _Optional[_Union[ImportBatch, _Mapping]] = ...) -> None: ...

class Period(_message.Message):
    __slots__ = ("start_date", "end_date")
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    start_date: int
    end_date: int
    def __init__(self, start_date: _Optional[int] = ..., end_date: _Optional[int] = ...) -> None: ...

class RegisterAccount(_message.Message):
    __slots__ = ("address", "kind", "name")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    address: str
    kind: AccountKind
    name: str
    def __init__(self, address: _Optional[str] = ..., kind: _Optional[_Union[AccountKind, str]] = ..., name: _Optional[str] = ...) -> None: ...

class RegisterProject(_message.Message):
    __slots__ = ("project_id", "name", "region", "kind", "area_centihectares", "methodology", "owner", "metadata_hash", "metadata_uri", "external_ids", "parcel_ids", "boundary_hash")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AREA_CENTIHECTARES_FIELD_NUMBER: _ClassVar[int]
    METHODOLOGY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    METADATA_HASH_FIELD_NUMBER: _ClassVar[int]
    METADATA_URI_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_IDS_FIELD_NUMBER: _ClassVar[int]
    PARCEL_IDS_FIELD_NUMBER: _ClassVar[int]
    BOUNDARY_HASH_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    name: str
    region: str
    kind: ProjectKind
    area_centihectares: int
    methodology: str
    owner: str
    metadata_hash: bytes
    metadata_uri: str
    external_ids: _containers.RepeatedScalarFieldContainer[str]
    parcel_ids: _containers.RepeatedScalarFieldContainer[str]
    boundary_hash: bytes
    def __init__(self, project_id: _Optional[str] = ..., name: _Optional[str] = ..., region: _Optional[str] = ..., kind: _Optional[_Union[ProjectKind, str]] = ..., area_centihectares: _Optional[int] = ..., methodology: _Optional[str] = ..., owner: _Optional[str] = ..., metadata_hash: _Optional[bytes] = ..., metadata_uri: _Optional[str] = ..., external_ids: _Optional[_Iterable[str]] = ..., parcel_ids: _Optional[_Iterable[str]] = ..., boundary_hash: _Optional[bytes] = ...) -> None: ...

class AnchorData(_message.Message):
    __slots__ = ("project_id", "data_hash", "period", "uri", "kind")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_HASH_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    data_hash: bytes
    period: Period
    uri: str
    kind: str
    def __init__(self, project_id: _Optional[str] = ..., data_hash: _Optional[bytes] = ..., period: _Optional[_Union[Period, _Mapping]] = ..., uri: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class AttestReport(_message.Message):
    __slots__ = ("data_hash", "verified_grams", "period")
    DATA_HASH_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_GRAMS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    data_hash: bytes
    verified_grams: int
    period: Period
    def __init__(self, data_hash: _Optional[bytes] = ..., verified_grams: _Optional[int] = ..., period: _Optional[_Union[Period, _Mapping]] = ...) -> None: ...

class IssueBatch(_message.Message):
    __slots__ = ("project_id", "vintage", "report_hashes", "amount_grams", "recipient")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_FIELD_NUMBER: _ClassVar[int]
    REPORT_HASHES_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    vintage: Period
    report_hashes: _containers.RepeatedScalarFieldContainer[bytes]
    amount_grams: int
    recipient: str
    def __init__(self, project_id: _Optional[str] = ..., vintage: _Optional[_Union[Period, _Mapping]] = ..., report_hashes: _Optional[_Iterable[bytes]] = ..., amount_grams: _Optional[int] = ..., recipient: _Optional[str] = ...) -> None: ...

class TransferEntry(_message.Message):
    __slots__ = ("to", "batch_id", "amount_grams")
    TO_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    to: str
    batch_id: str
    amount_grams: int
    def __init__(self, to: _Optional[str] = ..., batch_id: _Optional[str] = ..., amount_grams: _Optional[int] = ...) -> None: ...

class Transfer(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[TransferEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[TransferEntry, _Mapping]]] = ...) -> None: ...

class Retire(_message.Message):
    __slots__ = ("batch_id", "amount_grams", "beneficiary", "reason", "jurisdiction", "event", "period", "use", "scheme", "emitter_account", "corresponding_adjustment")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    BENEFICIARY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    USE_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    EMITTER_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CORRESPONDING_ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    amount_grams: int
    beneficiary: str
    reason: str
    jurisdiction: str
    event: str
    period: Period
    use: RetirementUse
    scheme: str
    emitter_account: str
    corresponding_adjustment: bool
    def __init__(self, batch_id: _Optional[str] = ..., amount_grams: _Optional[int] = ..., beneficiary: _Optional[str] = ..., reason: _Optional[str] = ..., jurisdiction: _Optional[str] = ..., event: _Optional[str] = ..., period: _Optional[_Union[Period, _Mapping]] = ..., use: _Optional[_Union[RetirementUse, str]] = ..., scheme: _Optional[str] = ..., emitter_account: _Optional[str] = ..., corresponding_adjustment: _Optional[bool] = ...) -> None: ...

class ExportTickets(_message.Message):
    __slots__ = ("batch_id", "amount_grams", "registry", "account", "reason")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    amount_grams: int
    registry: str
    account: str
    reason: str
    def __init__(self, batch_id: _Optional[str] = ..., amount_grams: _Optional[int] = ..., registry: _Optional[str] = ..., account: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ImportBatch(_message.Message):
    __slots__ = ("origin_registry", "origin_id", "project_id", "vintage", "amount_grams", "recipient")
    ORIGIN_REGISTRY_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    origin_registry: str
    origin_id: str
    project_id: str
    vintage: Period
    amount_grams: int
    recipient: str
    def __init__(self, origin_registry: _Optional[str] = ..., origin_id: _Optional[str] = ..., project_id: _Optional[str] = ..., vintage: _Optional[_Union[Period, _Mapping]] = ..., amount_grams: _Optional[int] = ..., recipient: _Optional[str] = ...) -> None: ...

class Cancel(_message.Message):
    __slots__ = ("batch_id", "amount_grams", "reason")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    amount_grams: int
    reason: str
    def __init__(self, batch_id: _Optional[str] = ..., amount_grams: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class Reversal(_message.Message):
    __slots__ = ("batch_id", "amount_grams", "loss_report_hash", "reason")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    LOSS_REPORT_HASH_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    amount_grams: int
    loss_report_hash: bytes
    reason: str
    def __init__(self, batch_id: _Optional[str] = ..., amount_grams: _Optional[int] = ..., loss_report_hash: _Optional[bytes] = ..., reason: _Optional[str] = ...) -> None: ...

class GrantRole(_message.Message):
    __slots__ = ("address", "role")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    address: str
    role: Role
    def __init__(self, address: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ...) -> None: ...

class RevokeRole(_message.Message):
    __slots__ = ("address", "role")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    address: str
    role: Role
    def __init__(self, address: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ...) -> None: ...

class AppointIssuer(_message.Message):
    __slots__ = ("project_id", "issuer")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    issuer: str
    def __init__(self, project_id: _Optional[str] = ..., issuer: _Optional[str] = ...) -> None: ...

class ReportEvidence(_message.Message):
    __slots__ = ("evidence",)
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    evidence: DuplicateVoteEvidence
    def __init__(self, evidence: _Optional[_Union[DuplicateVoteEvidence, _Mapping]] = ...) -> None: ...

class Award(_message.Message):
    __slots__ = ("recipient", "activity", "day", "points", "external_ref", "evidence_hash")
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_REF_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_HASH_FIELD_NUMBER: _ClassVar[int]
    recipient: str
    activity: Activity
    day: int
    points: int
    external_ref: str
    evidence_hash: bytes
    def __init__(self, recipient: _Optional[str] = ..., activity: _Optional[_Union[Activity, str]] = ..., day: _Optional[int] = ..., points: _Optional[int] = ..., external_ref: _Optional[str] = ..., evidence_hash: _Optional[bytes] = ...) -> None: ...

class AwardPoints(_message.Message):
    __slots__ = ("awards",)
    AWARDS_FIELD_NUMBER: _ClassVar[int]
    awards: _containers.RepeatedCompositeFieldContainer[Award]
    def __init__(self, awards: _Optional[_Iterable[_Union[Award, _Mapping]]] = ...) -> None: ...

class ExchangePoints(_message.Message):
    __slots__ = ("grams", "batch_id")
    GRAMS_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    grams: int
    batch_id: str
    def __init__(self, grams: _Optional[int] = ..., batch_id: _Optional[str] = ...) -> None: ...

class RegisterOffer(_message.Message):
    __slots__ = ("offer_id", "description", "payment", "amount", "discount", "validity", "max_redemptions", "jurisdiction")
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FIELD_NUMBER: _ClassVar[int]
    VALIDITY_FIELD_NUMBER: _ClassVar[int]
    MAX_REDEMPTIONS_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    offer_id: str
    description: str
    payment: OfferPayment
    amount: int
    discount: str
    validity: Period
    max_redemptions: int
    jurisdiction: str
    def __init__(self, offer_id: _Optional[str] = ..., description: _Optional[str] = ..., payment: _Optional[_Union[OfferPayment, str]] = ..., amount: _Optional[int] = ..., discount: _Optional[str] = ..., validity: _Optional[_Union[Period, _Mapping]] = ..., max_redemptions: _Optional[int] = ..., jurisdiction: _Optional[str] = ...) -> None: ...

class Redeem(_message.Message):
    __slots__ = ("merchant", "offer_id", "voucher_ref", "batch_id")
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_REF_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    merchant: str
    offer_id: str
    voucher_ref: str
    batch_id: str
    def __init__(self, merchant: _Optional[str] = ..., offer_id: _Optional[str] = ..., voucher_ref: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class SubmitProposal(_message.Message):
    __slots__ = ("title", "description_uri", "description_hash", "voting_period", "actions")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_URI_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_HASH_FIELD_NUMBER: _ClassVar[int]
    VOTING_PERIOD_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    title: str
    description_uri: str
    description_hash: bytes
    voting_period: int
    actions: _containers.RepeatedCompositeFieldContainer[GovAction]
    def __init__(self, title: _Optional[str] = ..., description_uri: _Optional[str] = ..., description_hash: _Optional[bytes] = ..., voting_period: _Optional[int] = ..., actions: _Optional[_Iterable[_Union[GovAction, _Mapping]]] = ...) -> None: ...

class GovAction(_message.Message):
    __slots__ = ("add_validator", "remove_validator", "set_validator_power", "set_validator_address", "rotate_validator_key", "grant_role", "revoke_role", "change_params", "appoint_issuer", "freeze_account", "unfreeze_account")
    ADD_VALIDATOR_FIELD_NUMBER: _ClassVar[int]
    REMOVE_VALIDATOR_FIELD_NUMBER: _ClassVar[int]
    SET_VALIDATOR_POWER_FIELD_NUMBER: _ClassVar[int]
    SET_VALIDATOR_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROTATE_VALIDATOR_KEY_FIELD_NUMBER: _ClassVar[int]
    GRANT_ROLE_FIELD_NUMBER: _ClassVar[int]
    REVOKE_ROLE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PARAMS_FIELD_NUMBER: _ClassVar[int]
    APPOINT_ISSUER_FIELD_NUMBER: _ClassVar[int]
    FREEZE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    UNFREEZE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    add_validator: AddValidator
    remove_validator: RemoveValidator
    set_validator_power: SetValidatorPower
    set_validator_address: SetValidatorAddress
    rotate_validator_key: RotateValidatorKey
    grant_role: GrantRole
    revoke_role: RevokeRole
    change_params: ChangeParams
    appoint_issuer: AppointIssuer
    freeze_account: FreezeAccount
    unfreeze_account: UnfreezeAccount
    def __init__(self, add_validator: _Optional[_Union[AddValidator, _Mapping]] = ..., remove_validator: _Optional[_Union[RemoveValidator, _Mapping]] = ..., set_validator_power: _Optional[_Union[SetValidatorPower, _Mapping]] = ..., set_validator_address: _Optional[_Union[SetValidatorAddress, _Mapping]] = ..., rotate_validator_key: _Optional[_Union[RotateValidatorKey, _Mapping]] = ..., grant_role: _Optional[_Union[GrantRole, _Mapping]] = ..., revoke_role: _Optional[_Union[RevokeRole, _Mapping]] = ..., change_params: _Optional[_Union[ChangeParams, _Mapping]] = ..., appoint_issuer: _Optional[_Union[AppointIssuer, _Mapping]] = ..., freeze_account: _Optional[_Union[FreezeAccount, _Mapping]] = ..., unfreeze_account: _Optional[_Union[UnfreezeAccount, _Mapping]] = ...) -> None: ...

class AddValidator(_message.Message):
    __slots__ = ("name", "public_key", "network_address", "power", "operator")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    public_key: bytes
    network_address: str
    power: int
    operator: str
    def __init__(self, name: _Optional[str] = ..., public_key: _Optional[bytes] = ..., network_address: _Optional[str] = ..., power: _Optional[int] = ..., operator: _Optional[str] = ...) -> None: ...

class RemoveValidator(_message.Message):
    __slots__ = ("public_key",)
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    def __init__(self, public_key: _Optional[bytes] = ...) -> None: ...

class SetValidatorPower(_message.Message):
    __slots__ = ("public_key", "power")
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    power: int
    def __init__(self, public_key: _Optional[bytes] = ..., power: _Optional[int] = ...) -> None: ...

class SetValidatorAddress(_message.Message):
    __slots__ = ("public_key", "network_address")
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    network_address: str
    def __init__(self, public_key: _Optional[bytes] = ..., network_address: _Optional[str] = ...) -> None: ...

class RotateValidatorKey(_message.Message):
    __slots__ = ("public_key", "new_public_key")
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NEW_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    new_public_key: bytes
    def __init__(self, public_key: _Optional[bytes] = ..., new_public_key: _Optional[bytes] = ...) -> None: ...

class ChangeParams(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[ParamChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[ParamChange, _Mapping]]] = ...) -> None: ...

class ParamChange(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class FreezeAccount(_message.Message):
    __slots__ = ("address", "reason")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    address: str
    reason: str
    def __init__(self, address: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class UnfreezeAccount(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: str
    def __init__(self, address: _Optional[str] = ...) -> None: ...

class CastVote(_message.Message):
    __slots__ = ("proposal_id", "option")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    proposal_id: int
    option: VoteOption
    def __init__(self, proposal_id: _Optional[int] = ..., option: _Optional[_Union[VoteOption, str]] = ...) -> None: ...

class BlockHeader(_message.Message):
    __slots__ = ("chain_id", "height", "time_ms", "prev_hash", "tx_root", "app_hash", "proposer", "validators_hash", "tx_count", "results_root", "envelopes_root", "next_validators_hash")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    TX_ROOT_FIELD_NUMBER: _ClassVar[int]
    APP_HASH_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_FIELD_NUMBER: _ClassVar[int]
    VALIDATORS_HASH_FIELD_NUMBER: _ClassVar[int]
    TX_COUNT_FIELD_NUMBER: _ClassVar[int]
    RESULTS_ROOT_FIELD_NUMBER: _ClassVar[int]
    ENVELOPES_ROOT_FIELD_NUMBER: _ClassVar[int]
    NEXT_VALIDATORS_HASH_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    height: int
    time_ms: int
    prev_hash: bytes
    tx_root: bytes
    app_hash: bytes
    proposer: bytes
    validators_hash: bytes
    tx_count: int
    results_root: bytes
    envelopes_root: bytes
    next_validators_hash: bytes
    def __init__(self, chain_id: _Optional[str] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ..., prev_hash: _Optional[bytes] = ..., tx_root: _Optional[bytes] = ..., app_hash: _Optional[bytes] = ..., proposer: _Optional[bytes] = ..., validators_hash: _Optional[bytes] = ..., tx_count: _Optional[int] = ..., results_root: _Optional[bytes] = ..., envelopes_root: _Optional[bytes] = ..., next_validators_hash: _Optional[bytes] = ...) -> None: ...

class Block(_message.Message):
    __slots__ = ("header", "txs")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    TXS_FIELD_NUMBER: _ClassVar[int]
    header: BlockHeader
    txs: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, header: _Optional[_Union[BlockHeader, _Mapping]] = ..., txs: _Optional[_Iterable[bytes]] = ...) -> None: ...

class Vote(_message.Message):
    __slots__ = ("type", "height", "round", "block_hash", "validator_index", "signature")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    VALIDATOR_INDEX_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    type: VoteType
    height: int
    round: int
    block_hash: bytes
    validator_index: int
    signature: bytes
    def __init__(self, type: _Optional[_Union[VoteType, str]] = ..., height: _Optional[int] = ..., round: _Optional[int] = ..., block_hash: _Optional[bytes] = ..., validator_index: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Proposal(_message.Message):
    __slots__ = ("height", "round", "pol_round", "block_hash", "block", "proposer_index", "signature")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    POL_ROUND_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_INDEX_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    height: int
    round: int
    pol_round: int
    block_hash: bytes
    block: bytes
    proposer_index: int
    signature: bytes
    def __init__(self, height: _Optional[int] = ..., round: _Optional[int] = ..., pol_round: _Optional[int] = ..., block_hash: _Optional[bytes] = ..., block: _Optional[bytes] = ..., proposer_index: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class CommitCertificate(_message.Message):
    __slots__ = ("height", "round", "block_hash", "precommits")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    PRECOMMITS_FIELD_NUMBER: _ClassVar[int]
    height: int
    round: int
    block_hash: bytes
    precommits: _containers.RepeatedCompositeFieldContainer[Vote]
    def __init__(self, height: _Optional[int] = ..., round: _Optional[int] = ..., block_hash: _Optional[bytes] = ..., precommits: _Optional[_Iterable[_Union[Vote, _Mapping]]] = ...) -> None: ...

class DuplicateVoteEvidence(_message.Message):
    __slots__ = ("vote_a", "vote_b")
    VOTE_A_FIELD_NUMBER: _ClassVar[int]
    VOTE_B_FIELD_NUMBER: _ClassVar[int]
    vote_a: Vote
    vote_b: Vote
    def __init__(self, vote_a: _Optional[_Union[Vote, _Mapping]] = ..., vote_b: _Optional[_Union[Vote, _Mapping]] = ...) -> None: ...

class CommittedBlock(_message.Message):
    __slots__ = ("block", "certificate")
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    block: Block
    certificate: CommitCertificate
    def __init__(self, block: _Optional[_Union[Block, _Mapping]] = ..., certificate: _Optional[_Union[CommitCertificate, _Mapping]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("type", "attributes")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    type: str
    attributes: _containers.RepeatedCompositeFieldContainer[Attribute]
    def __init__(self, type: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[Attribute, _Mapping]]] = ...) -> None: ...

class Attribute(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("tx_hash", "code", "error_code", "message", "events")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    code: int
    error_code: str
    message: str
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, tx_hash: _Optional[bytes] = ..., code: _Optional[int] = ..., error_code: _Optional[str] = ..., message: _Optional[str] = ..., events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class SellOrder(_message.Message):
    __slots__ = ("batch_id", "amount_grams", "price_fen", "min_lot_grams", "expiry_blocks", "retire_on_purchase")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    MIN_LOT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    RETIRE_ON_PURCHASE_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    amount_grams: int
    price_fen: int
    min_lot_grams: int
    expiry_blocks: int
    retire_on_purchase: bool
    def __init__(self, batch_id: _Optional[str] = ..., amount_grams: _Optional[int] = ..., price_fen: _Optional[int] = ..., min_lot_grams: _Optional[int] = ..., expiry_blocks: _Optional[int] = ..., retire_on_purchase: _Optional[bool] = ...) -> None: ...

class Buy(_message.Message):
    __slots__ = ("order_id", "amount_grams", "beneficiary", "reason", "jurisdiction", "event")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    BENEFICIARY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    amount_grams: int
    beneficiary: str
    reason: str
    jurisdiction: str
    event: str
    def __init__(self, order_id: _Optional[int] = ..., amount_grams: _Optional[int] = ..., beneficiary: _Optional[str] = ..., reason: _Optional[str] = ..., jurisdiction: _Optional[str] = ..., event: _Optional[str] = ...) -> None: ...

class ConfirmPayment(_message.Message):
    __slots__ = ("trade_id",)
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    trade_id: int
    def __init__(self, trade_id: _Optional[int] = ...) -> None: ...

class CancelOrder(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    def __init__(self, order_id: _Optional[int] = ...) -> None: ...
