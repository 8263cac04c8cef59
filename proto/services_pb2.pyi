from carbon_ticket.proto import ledger_pb2 as _ledger_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeerFrameKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PEER_FRAME_KIND_UNSPECIFIED: _ClassVar[PeerFrameKind]
    PEER_FRAME_KIND_CONSENSUS: _ClassVar[PeerFrameKind]
    PEER_FRAME_KIND_TXS: _ClassVar[PeerFrameKind]
PEER_FRAME_KIND_UNSPECIFIED: PeerFrameKind
PEER_FRAME_KIND_CONSENSUS: PeerFrameKind
PEER_FRAME_KIND_TXS: PeerFrameKind

class ConsensusMessage(_message.Message):
    __slots__ = ("proposal", "vote")
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    VOTE_FIELD_NUMBER: _ClassVar[int]
    proposal: _ledger_pb2.Proposal
    vote: _ledger_pb2.Vote
    def __init__(self, proposal: _Optional[_Union[_ledger_pb2.Proposal, _Mapping]] = ..., vote: _Optional[_Union[_ledger_pb2.Vote, _Mapping]] = ...) -> None: ...

class ConsensusBatch(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[ConsensusMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[ConsensusMessage, _Mapping]]] = ...) -> None: ...

class TxBatch(_message.Message):
    __slots__ = ("txs",)
    TXS_FIELD_NUMBER: _ClassVar[int]
    txs: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, txs: _Optional[_Iterable[bytes]] = ...) -> None: ...

class PeerAck(_message.Message):
    __slots__ = ("accepted",)
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    def __init__(self, accepted: _Optional[int] = ...) -> None: ...

class PeerFrame(_message.Message):
    __slots__ = ("seq", "kind", "payload", "signature")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    kind: PeerFrameKind
    payload: bytes
    signature: bytes
    def __init__(self, seq: _Optional[int] = ..., kind: _Optional[_Union[PeerFrameKind, str]] = ..., payload: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class PeerOpening(_message.Message):
    __slots__ = ("key", "time_ms", "nonce", "signature")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    time_ms: int
    nonce: bytes
    signature: bytes
    def __init__(self, key: _Optional[bytes] = ..., time_ms: _Optional[int] = ..., nonce: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class PeerOpeningReply(_message.Message):
    __slots__ = ("accepted", "denied", "reason")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DENIED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    denied: bool
    reason: str
    def __init__(self, accepted: _Optional[bool] = ..., denied: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class GetBlocksRequest(_message.Message):
    __slots__ = ("from_height", "max_blocks")
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    max_blocks: int
    def __init__(self, from_height: _Optional[int] = ..., max_blocks: _Optional[int] = ...) -> None: ...

class PeerStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetProposalBlockRequest(_message.Message):
    __slots__ = ("height", "block_hash")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    height: int
    block_hash: bytes
    def __init__(self, height: _Optional[int] = ..., block_hash: _Optional[bytes] = ...) -> None: ...

class ProposalBlock(_message.Message):
    __slots__ = ("found", "block")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    found: bool
    block: bytes
    def __init__(self, found: _Optional[bool] = ..., block: _Optional[bytes] = ...) -> None: ...

class PeerStatus(_message.Message):
    __slots__ = ("chain_id", "height", "app_hash", "last_block_hash", "frame_port")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    APP_HASH_FIELD_NUMBER: _ClassVar[int]
    LAST_BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    FRAME_PORT_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    height: int
    app_hash: bytes
    last_block_hash: bytes
    frame_port: int
    def __init__(self, chain_id: _Optional[str] = ..., height: _Optional[int] = ..., app_hash: _Optional[bytes] = ..., last_block_hash: _Optional[bytes] = ..., frame_port: _Optional[int] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SnapshotEntry(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    value: bytes
    def __init__(self, key: _Optional[bytes] = ..., value: _Optional[bytes] = ...) -> None: ...

class SnapshotChunk(_message.Message):
    __slots__ = ("entries", "done")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[SnapshotEntry]
    done: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[SnapshotEntry, _Mapping]]] = ..., done: _Optional[bool] = ...) -> None: ...

class SubmitTxRequest(_message.Message):
    __slots__ = ("tx", "wait_for_commit")
    TX_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_COMMIT_FIELD_NUMBER: _ClassVar[int]
    tx: bytes
    wait_for_commit: bool
    def __init__(self, tx: _Optional[bytes] = ..., wait_for_commit: _Optional[bool] = ...) -> None: ...

class SubmitTxResponse(_message.Message):
    __slots__ = ("tx_hash", "committed", "height", "receipt")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    committed: bool
    height: int
    receipt: _ledger_pb2.Receipt
    def __init__(self, tx_hash: _Optional[bytes] = ..., committed: _Optional[bool] = ..., height: _Optional[int] = ..., receipt: _Optional[_Union[_ledger_pb2.Receipt, _Mapping]] = ...) -> None: ...

class SubmitTxsRequest(_message.Message):
    __slots__ = ("txs",)
    TXS_FIELD_NUMBER: _ClassVar[int]
    txs: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, txs: _Optional[_Iterable[bytes]] = ...) -> None: ...

class TxAdmission(_message.Message):
    __slots__ = ("tx_hash", "accepted", "error_code", "message")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    accepted: bool
    error_code: str
    message: str
    def __init__(self, tx_hash: _Optional[bytes] = ..., accepted: _Optional[bool] = ..., error_code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class SubmitTxsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[TxAdmission]
    def __init__(self, results: _Optional[_Iterable[_Union[TxAdmission, _Mapping]]] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ValidatorInfo(_message.Message):
    __slots__ = ("name", "public_key", "address", "operator", "power", "network_address")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    public_key: bytes
    address: str
    operator: str
    power: int
    network_address: str
    def __init__(self, name: _Optional[str] = ..., public_key: _Optional[bytes] = ..., address: _Optional[str] = ..., operator: _Optional[str] = ..., power: _Optional[int] = ..., network_address: _Optional[str] = ...) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("chain_id", "height", "app_hash", "last_block_hash", "last_block_time_ms", "validators", "node_name", "mempool_size")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    APP_HASH_FIELD_NUMBER: _ClassVar[int]
    LAST_BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    LAST_BLOCK_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    MEMPOOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    height: int
    app_hash: bytes
    last_block_hash: bytes
    last_block_time_ms: int
    validators: _containers.RepeatedCompositeFieldContainer[ValidatorInfo]
    node_name: str
    mempool_size: int
    def __init__(self, chain_id: _Optional[str] = ..., height: _Optional[int] = ..., app_hash: _Optional[bytes] = ..., last_block_hash: _Optional[bytes] = ..., last_block_time_ms: _Optional[int] = ..., validators: _Optional[_Iterable[_Union[ValidatorInfo, _Mapping]]] = ..., node_name: _Optional[str] = ..., mempool_size: _Optional[int] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: str
    def __init__(self, address: _Optional[str] = ...) -> None: ...

class Balance(_message.Message):
    __slots__ = ("batch_id", "amount_grams")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    amount_grams: int
    def __init__(self, batch_id: _Optional[str] = ..., amount_grams: _Optional[int] = ...) -> None: ...

class AccountInfo(_message.Message):
    __slots__ = ("address", "kind", "name", "roles", "nonce", "balances", "registered_by", "height", "next_nonce")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_BY_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    NEXT_NONCE_FIELD_NUMBER: _ClassVar[int]
    address: str
    kind: _ledger_pb2.AccountKind
    name: str
    roles: _containers.RepeatedScalarFieldContainer[_ledger_pb2.Role]
    nonce: int
    balances: _containers.RepeatedCompositeFieldContainer[Balance]
    registered_by: str
    height: int
    next_nonce: int
    def __init__(self, address: _Optional[str] = ..., kind: _Optional[_Union[_ledger_pb2.AccountKind, str]] = ..., name: _Optional[str] = ..., roles: _Optional[_Iterable[_Union[_ledger_pb2.Role, str]]] = ..., nonce: _Optional[int] = ..., balances: _Optional[_Iterable[_Union[Balance, _Mapping]]] = ..., registered_by: _Optional[str] = ..., height: _Optional[int] = ..., next_nonce: _Optional[int] = ...) -> None: ...

class GetProjectRequest(_message.Message):
    __slots__ = ("project_id",)
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    def __init__(self, project_id: _Optional[str] = ...) -> None: ...

class ProjectInfo(_message.Message):
    __slots__ = ("project_id", "name", "region", "kind", "area_centihectares", "methodology", "owner", "metadata_hash", "metadata_uri", "height", "time_ms", "external_ids", "parcel_ids", "boundary_hash")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AREA_CENTIHECTARES_FIELD_NUMBER: _ClassVar[int]
    METHODOLOGY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    METADATA_HASH_FIELD_NUMBER: _ClassVar[int]
    METADATA_URI_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_IDS_FIELD_NUMBER: _ClassVar[int]
    PARCEL_IDS_FIELD_NUMBER: _ClassVar[int]
    BOUNDARY_HASH_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    name: str
    region: str
    kind: _ledger_pb2.ProjectKind
    area_centihectares: int
    methodology: str
    owner: str
    metadata_hash: bytes
    metadata_uri: str
    height: int
    time_ms: int
    external_ids: _containers.RepeatedScalarFieldContainer[str]
    parcel_ids: _containers.RepeatedScalarFieldContainer[str]
    boundary_hash: bytes
    def __init__(self, project_id: _Optional[str] = ..., name: _Optional[str] = ..., region: _Optional[str] = ..., kind: _Optional[_Union[_ledger_pb2.ProjectKind, str]] = ..., area_centihectares: _Optional[int] = ..., methodology: _Optional[str] = ..., owner: _Optional[str] = ..., metadata_hash: _Optional[bytes] = ..., metadata_uri: _Optional[str] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ..., external_ids: _Optional[_Iterable[str]] = ..., parcel_ids: _Optional[_Iterable[str]] = ..., boundary_hash: _Optional[bytes] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("batch_id",)
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    def __init__(self, batch_id: _Optional[str] = ...) -> None: ...

class BatchSupply(_message.Message):
    __slots__ = ("issued_grams", "tradable_grams", "retired_grams", "cancelled_grams", "buffer_grams", "reversed_grams", "exported_grams", "escrowed_grams")
    ISSUED_GRAMS_FIELD_NUMBER: _ClassVar[int]
    TRADABLE_GRAMS_FIELD_NUMBER: _ClassVar[int]
    RETIRED_GRAMS_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_GRAMS_FIELD_NUMBER: _ClassVar[int]
    BUFFER_GRAMS_FIELD_NUMBER: _ClassVar[int]
    REVERSED_GRAMS_FIELD_NUMBER: _ClassVar[int]
    EXPORTED_GRAMS_FIELD_NUMBER: _ClassVar[int]
    ESCROWED_GRAMS_FIELD_NUMBER: _ClassVar[int]
    issued_grams: int
    tradable_grams: int
    retired_grams: int
    cancelled_grams: int
    buffer_grams: int
    reversed_grams: int
    exported_grams: int
    escrowed_grams: int
    def __init__(self, issued_grams: _Optional[int] = ..., tradable_grams: _Optional[int] = ..., retired_grams: _Optional[int] = ..., cancelled_grams: _Optional[int] = ..., buffer_grams: _Optional[int] = ..., reversed_grams: _Optional[int] = ..., exported_grams: _Optional[int] = ..., escrowed_grams: _Optional[int] = ...) -> None: ...

class BatchInfo(_message.Message):
    __slots__ = ("batch_id", "project_id", "vintage", "issuer", "recipient", "report_hashes", "supply", "height", "time_ms")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    REPORT_HASHES_FIELD_NUMBER: _ClassVar[int]
    SUPPLY_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    project_id: str
    vintage: _ledger_pb2.Period
    issuer: str
    recipient: str
    report_hashes: _containers.RepeatedScalarFieldContainer[bytes]
    supply: BatchSupply
    height: int
    time_ms: int
    def __init__(self, batch_id: _Optional[str] = ..., project_id: _Optional[str] = ..., vintage: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., issuer: _Optional[str] = ..., recipient: _Optional[str] = ..., report_hashes: _Optional[_Iterable[bytes]] = ..., supply: _Optional[_Union[BatchSupply, _Mapping]] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("data_hash",)
    DATA_HASH_FIELD_NUMBER: _ClassVar[int]
    data_hash: bytes
    def __init__(self, data_hash: _Optional[bytes] = ...) -> None: ...

class ReportInfo(_message.Message):
    __slots__ = ("data_hash", "project_id", "period", "uri", "kind", "anchored_by", "anchored_height", "attested", "verifier", "verified_grams", "attested_period", "remaining_grams", "attested_height")
    DATA_HASH_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ANCHORED_BY_FIELD_NUMBER: _ClassVar[int]
    ANCHORED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ATTESTED_FIELD_NUMBER: _ClassVar[int]
    VERIFIER_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_GRAMS_FIELD_NUMBER: _ClassVar[int]
    ATTESTED_PERIOD_FIELD_NUMBER: _ClassVar[int]
    REMAINING_GRAMS_FIELD_NUMBER: _ClassVar[int]
    ATTESTED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    data_hash: bytes
    project_id: str
    period: _ledger_pb2.Period
    uri: str
    kind: str
    anchored_by: str
    anchored_height: int
    attested: bool
    verifier: str
    verified_grams: int
    attested_period: _ledger_pb2.Period
    remaining_grams: int
    attested_height: int
    def __init__(self, data_hash: _Optional[bytes] = ..., project_id: _Optional[str] = ..., period: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., uri: _Optional[str] = ..., kind: _Optional[str] = ..., anchored_by: _Optional[str] = ..., anchored_height: _Optional[int] = ..., attested: _Optional[bool] = ..., verifier: _Optional[str] = ..., verified_grams: _Optional[int] = ..., attested_period: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., remaining_grams: _Optional[int] = ..., attested_height: _Optional[int] = ...) -> None: ...

class GetTxRequest(_message.Message):
    __slots__ = ("tx_hash",)
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    def __init__(self, tx_hash: _Optional[bytes] = ...) -> None: ...

class TxInfo(_message.Message):
    __slots__ = ("tx_hash", "height", "index", "envelope", "body", "receipt", "time_ms")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    height: int
    index: int
    envelope: _ledger_pb2.TxEnvelope
    body: _ledger_pb2.TxBody
    receipt: _ledger_pb2.Receipt
    time_ms: int
    def __init__(self, tx_hash: _Optional[bytes] = ..., height: _Optional[int] = ..., index: _Optional[int] = ..., envelope: _Optional[_Union[_ledger_pb2.TxEnvelope, _Mapping]] = ..., body: _Optional[_Union[_ledger_pb2.TxBody, _Mapping]] = ..., receipt: _Optional[_Union[_ledger_pb2.Receipt, _Mapping]] = ..., time_ms: _Optional[int] = ...) -> None: ...

class GetBlockRequest(_message.Message):
    __slots__ = ("height", "block_hash", "without_receipts")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    height: int
    block_hash: bytes
    without_receipts: bool
    def __init__(self, height: _Optional[int] = ..., block_hash: _Optional[bytes] = ..., without_receipts: _Optional[bool] = ...) -> None: ...

class BlockInfo(_message.Message):
    __slots__ = ("block_hash", "committed", "receipts")
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    block_hash: bytes
    committed: _ledger_pb2.CommittedBlock
    receipts: _containers.RepeatedCompositeFieldContainer[_ledger_pb2.Receipt]
    def __init__(self, block_hash: _Optional[bytes] = ..., committed: _Optional[_Union[_ledger_pb2.CommittedBlock, _Mapping]] = ..., receipts: _Optional[_Iterable[_Union[_ledger_pb2.Receipt, _Mapping]]] = ...) -> None: ...

class GetCertificateRequest(_message.Message):
    __slots__ = ("certificate_id",)
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    certificate_id: str
    def __init__(self, certificate_id: _Optional[str] = ...) -> None: ...

class RetirementCertificate(_message.Message):
    __slots__ = ("certificate_id", "batch_id", "project_id", "vintage", "amount_grams", "beneficiary", "reason", "jurisdiction", "event", "account", "period", "height", "time_ms", "tx_hash", "use", "scheme", "emitter_account", "corresponding_adjustment", "serial_first", "serial_last", "serial")
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    BENEFICIARY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    USE_FIELD_NUMBER: _ClassVar[int]
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    EMITTER_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CORRESPONDING_ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIRST_FIELD_NUMBER: _ClassVar[int]
    SERIAL_LAST_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    certificate_id: str
    batch_id: str
    project_id: str
    vintage: _ledger_pb2.Period
    amount_grams: int
    beneficiary: str
    reason: str
    jurisdiction: str
    event: str
    account: str
    period: _ledger_pb2.Period
    height: int
    time_ms: int
    tx_hash: bytes
    use: str
    scheme: str
    emitter_account: str
    corresponding_adjustment: bool
    serial_first: int
    serial_last: int
    serial: str
    def __init__(self, certificate_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., project_id: _Optional[str] = ..., vintage: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., amount_grams: _Optional[int] = ..., beneficiary: _Optional[str] = ..., reason: _Optional[str] = ..., jurisdiction: _Optional[str] = ..., event: _Optional[str] = ..., account: _Optional[str] = ..., period: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ..., tx_hash: _Optional[bytes] = ..., use: _Optional[str] = ..., scheme: _Optional[str] = ..., emitter_account: _Optional[str] = ..., corresponding_adjustment: _Optional[bool] = ..., serial_first: _Optional[int] = ..., serial_last: _Optional[int] = ..., serial: _Optional[str] = ...) -> None: ...

class InclusionProof(_message.Message):
    __slots__ = ("index", "size", "path")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    index: int
    size: int
    path: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, index: _Optional[int] = ..., size: _Optional[int] = ..., path: _Optional[_Iterable[bytes]] = ...) -> None: ...

class GetTxProofRequest(_message.Message):
    __slots__ = ("tx_hash",)
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    def __init__(self, tx_hash: _Optional[bytes] = ...) -> None: ...

class TxProof(_message.Message):
    __slots__ = ("tx_hash", "height", "index", "tx", "receipt", "header", "tx_proof", "receipt_proof")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TX_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    TX_PROOF_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_PROOF_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    height: int
    index: int
    tx: bytes
    receipt: _ledger_pb2.Receipt
    header: _ledger_pb2.BlockHeader
    tx_proof: InclusionProof
    receipt_proof: InclusionProof
    def __init__(self, tx_hash: _Optional[bytes] = ..., height: _Optional[int] = ..., index: _Optional[int] = ..., tx: _Optional[bytes] = ..., receipt: _Optional[_Union[_ledger_pb2.Receipt, _Mapping]] = ..., header: _Optional[_Union[_ledger_pb2.BlockHeader, _Mapping]] = ..., tx_proof: _Optional[_Union[InclusionProof, _Mapping]] = ..., receipt_proof: _Optional[_Union[InclusionProof, _Mapping]] = ...) -> None: ...

class GetCertificateProofRequest(_message.Message):
    __slots__ = ("certificate_id",)
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    certificate_id: str
    def __init__(self, certificate_id: _Optional[str] = ...) -> None: ...

class ProofValidator(_message.Message):
    __slots__ = ("name", "public_key", "power")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    name: str
    public_key: bytes
    power: int
    def __init__(self, name: _Optional[str] = ..., public_key: _Optional[bytes] = ..., power: _Optional[int] = ...) -> None: ...

class ValidatorSetChange(_message.Message):
    __slots__ = ("header", "commit", "validators")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    header: _ledger_pb2.BlockHeader
    commit: _ledger_pb2.CommitCertificate
    validators: _containers.RepeatedCompositeFieldContainer[ProofValidator]
    def __init__(self, header: _Optional[_Union[_ledger_pb2.BlockHeader, _Mapping]] = ..., commit: _Optional[_Union[_ledger_pb2.CommitCertificate, _Mapping]] = ..., validators: _Optional[_Iterable[_Union[ProofValidator, _Mapping]]] = ...) -> None: ...

class CertificateProof(_message.Message):
    __slots__ = ("certificate", "tx", "commit", "chain_id", "genesis_hash", "validators", "set_changes")
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    TX_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    GENESIS_HASH_FIELD_NUMBER: _ClassVar[int]
    VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    SET_CHANGES_FIELD_NUMBER: _ClassVar[int]
    certificate: RetirementCertificate
    tx: TxProof
    commit: _ledger_pb2.CommitCertificate
    chain_id: str
    genesis_hash: bytes
    validators: _containers.RepeatedCompositeFieldContainer[ProofValidator]
    set_changes: _containers.RepeatedCompositeFieldContainer[ValidatorSetChange]
    def __init__(self, certificate: _Optional[_Union[RetirementCertificate, _Mapping]] = ..., tx: _Optional[_Union[TxProof, _Mapping]] = ..., commit: _Optional[_Union[_ledger_pb2.CommitCertificate, _Mapping]] = ..., chain_id: _Optional[str] = ..., genesis_hash: _Optional[bytes] = ..., validators: _Optional[_Iterable[_Union[ProofValidator, _Mapping]]] = ..., set_changes: _Optional[_Iterable[_Union[ValidatorSetChange, _Mapping]]] = ...) -> None: ...

class GetAccountHistoryRequest(_message.Message):
    __slots__ = ("address", "page_size", "page_token")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    address: str
    page_size: int
    page_token: str
    def __init__(self, address: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetBatchHistoryRequest(_message.Message):
    __slots__ = ("batch_id", "page_size", "page_token")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    page_size: int
    page_token: str
    def __init__(self, batch_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class HistoryItem(_message.Message):
    __slots__ = ("height", "index", "tx_hash", "kind", "signer", "receipt", "time_ms")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    height: int
    index: int
    tx_hash: bytes
    kind: str
    signer: str
    receipt: _ledger_pb2.Receipt
    time_ms: int
    def __init__(self, height: _Optional[int] = ..., index: _Optional[int] = ..., tx_hash: _Optional[bytes] = ..., kind: _Optional[str] = ..., signer: _Optional[str] = ..., receipt: _Optional[_Union[_ledger_pb2.Receipt, _Mapping]] = ..., time_ms: _Optional[int] = ...) -> None: ...

class HistoryPage(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[HistoryItem]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[HistoryItem, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListRetirementsRequest(_message.Message):
    __slots__ = ("beneficiary", "event", "batch_id", "project_id", "from_height", "to_height", "page_size", "page_token")
    BENEFICIARY_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TO_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    beneficiary: str
    event: str
    batch_id: str
    project_id: str
    from_height: int
    to_height: int
    page_size: int
    page_token: str
    def __init__(self, beneficiary: _Optional[str] = ..., event: _Optional[str] = ..., batch_id: _Optional[str] = ..., project_id: _Optional[str] = ..., from_height: _Optional[int] = ..., to_height: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class RetirementPage(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[RetirementCertificate]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[RetirementCertificate, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SubscribeBlocksRequest(_message.Message):
    __slots__ = ("from_height", "without_receipts")
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    without_receipts: bool
    def __init__(self, from_height: _Optional[int] = ..., without_receipts: _Optional[bool] = ...) -> None: ...

class SubscribeEventsRequest(_message.Message):
    __slots__ = ("from_height", "types", "account")
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    types: _containers.RepeatedScalarFieldContainer[str]
    account: str
    def __init__(self, from_height: _Optional[int] = ..., types: _Optional[_Iterable[str]] = ..., account: _Optional[str] = ...) -> None: ...

class LedgerEvent(_message.Message):
    __slots__ = ("height", "tx_index", "tx_hash", "event", "time_ms")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TX_INDEX_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    height: int
    tx_index: int
    tx_hash: bytes
    event: _ledger_pb2.Event
    time_ms: int
    def __init__(self, height: _Optional[int] = ..., tx_index: _Optional[int] = ..., tx_hash: _Optional[bytes] = ..., event: _Optional[_Union[_ledger_pb2.Event, _Mapping]] = ..., time_ms: _Optional[int] = ...) -> None: ...

class GetPointsRequest(_message.Message):
    __slots__ = ("address", "history_days")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_DAYS_FIELD_NUMBER: _ClassVar[int]
    address: str
    history_days: int
    def __init__(self, address: _Optional[str] = ..., history_days: _Optional[int] = ...) -> None: ...

class PointsDay(_message.Message):
    __slots__ = ("day", "points")
    DAY_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    day: int
    points: int
    def __init__(self, day: _Optional[int] = ..., points: _Optional[int] = ...) -> None: ...

class PointsInfo(_message.Message):
    __slots__ = ("address", "balance", "awarded", "exchanged", "redeemed", "today", "earned_today", "daily_cap", "remaining_today", "history", "height", "points_per_gram")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    AWARDED_FIELD_NUMBER: _ClassVar[int]
    EXCHANGED_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_FIELD_NUMBER: _ClassVar[int]
    TODAY_FIELD_NUMBER: _ClassVar[int]
    EARNED_TODAY_FIELD_NUMBER: _ClassVar[int]
    DAILY_CAP_FIELD_NUMBER: _ClassVar[int]
    REMAINING_TODAY_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    POINTS_PER_GRAM_FIELD_NUMBER: _ClassVar[int]
    address: str
    balance: int
    awarded: int
    exchanged: int
    redeemed: int
    today: int
    earned_today: int
    daily_cap: int
    remaining_today: int
    history: _containers.RepeatedCompositeFieldContainer[PointsDay]
    height: int
    points_per_gram: int
    def __init__(self, address: _Optional[str] = ..., balance: _Optional[int] = ..., awarded: _Optional[int] = ..., exchanged: _Optional[int] = ..., redeemed: _Optional[int] = ..., today: _Optional[int] = ..., earned_today: _Optional[int] = ..., daily_cap: _Optional[int] = ..., remaining_today: _Optional[int] = ..., history: _Optional[_Iterable[_Union[PointsDay, _Mapping]]] = ..., height: _Optional[int] = ..., points_per_gram: _Optional[int] = ...) -> None: ...

class ListOffersRequest(_message.Message):
    __slots__ = ("merchant",)
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    merchant: str
    def __init__(self, merchant: _Optional[str] = ...) -> None: ...

class OfferInfo(_message.Message):
    __slots__ = ("merchant", "offer_id", "payment", "amount", "description", "discount", "validity", "jurisdiction", "max_redemptions", "redemptions", "height")
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FIELD_NUMBER: _ClassVar[int]
    VALIDITY_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    MAX_REDEMPTIONS_FIELD_NUMBER: _ClassVar[int]
    REDEMPTIONS_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    merchant: str
    offer_id: str
    payment: _ledger_pb2.OfferPayment
    amount: int
    description: str
    discount: str
    validity: _ledger_pb2.Period
    jurisdiction: str
    max_redemptions: int
    redemptions: int
    height: int
    def __init__(self, merchant: _Optional[str] = ..., offer_id: _Optional[str] = ..., payment: _Optional[_Union[_ledger_pb2.OfferPayment, str]] = ..., amount: _Optional[int] = ..., description: _Optional[str] = ..., discount: _Optional[str] = ..., validity: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., jurisdiction: _Optional[str] = ..., max_redemptions: _Optional[int] = ..., redemptions: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class OfferList(_message.Message):
    __slots__ = ("offers",)
    OFFERS_FIELD_NUMBER: _ClassVar[int]
    offers: _containers.RepeatedCompositeFieldContainer[OfferInfo]
    def __init__(self, offers: _Optional[_Iterable[_Union[OfferInfo, _Mapping]]] = ...) -> None: ...

class GetMerchantRequest(_message.Message):
    __slots__ = ("merchant", "from_day", "to_day")
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    FROM_DAY_FIELD_NUMBER: _ClassVar[int]
    TO_DAY_FIELD_NUMBER: _ClassVar[int]
    merchant: str
    from_day: int
    to_day: int
    def __init__(self, merchant: _Optional[str] = ..., from_day: _Optional[int] = ..., to_day: _Optional[int] = ...) -> None: ...

class SettlementTotals(_message.Message):
    __slots__ = ("redemptions", "grams", "points")
    REDEMPTIONS_FIELD_NUMBER: _ClassVar[int]
    GRAMS_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    redemptions: int
    grams: int
    points: int
    def __init__(self, redemptions: _Optional[int] = ..., grams: _Optional[int] = ..., points: _Optional[int] = ...) -> None: ...

class SettlementDay(_message.Message):
    __slots__ = ("day", "totals")
    DAY_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    day: int
    totals: SettlementTotals
    def __init__(self, day: _Optional[int] = ..., totals: _Optional[_Union[SettlementTotals, _Mapping]] = ...) -> None: ...

class MerchantInfo(_message.Message):
    __slots__ = ("merchant", "offers", "total", "from_day", "to_day", "period", "days", "height")
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    OFFERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FROM_DAY_FIELD_NUMBER: _ClassVar[int]
    TO_DAY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    merchant: str
    offers: _containers.RepeatedCompositeFieldContainer[OfferInfo]
    total: SettlementTotals
    from_day: int
    to_day: int
    period: SettlementTotals
    days: _containers.RepeatedCompositeFieldContainer[SettlementDay]
    height: int
    def __init__(self, merchant: _Optional[str] = ..., offers: _Optional[_Iterable[_Union[OfferInfo, _Mapping]]] = ..., total: _Optional[_Union[SettlementTotals, _Mapping]] = ..., from_day: _Optional[int] = ..., to_day: _Optional[int] = ..., period: _Optional[_Union[SettlementTotals, _Mapping]] = ..., days: _Optional[_Iterable[_Union[SettlementDay, _Mapping]]] = ..., height: _Optional[int] = ...) -> None: ...

class ListRedemptionsRequest(_message.Message):
    __slots__ = ("resident", "page_size", "page_token")
    RESIDENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    resident: str
    page_size: int
    page_token: str
    def __init__(self, resident: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class RedemptionInfo(_message.Message):
    __slots__ = ("resident", "merchant", "offer_id", "voucher_ref", "payment", "amount_grams", "points", "certificate_id", "day", "height", "time_ms", "tx_hash")
    RESIDENT_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_REF_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    resident: str
    merchant: str
    offer_id: str
    voucher_ref: str
    payment: _ledger_pb2.OfferPayment
    amount_grams: int
    points: int
    certificate_id: str
    day: int
    height: int
    time_ms: int
    tx_hash: bytes
    def __init__(self, resident: _Optional[str] = ..., merchant: _Optional[str] = ..., offer_id: _Optional[str] = ..., voucher_ref: _Optional[str] = ..., payment: _Optional[_Union[_ledger_pb2.OfferPayment, str]] = ..., amount_grams: _Optional[int] = ..., points: _Optional[int] = ..., certificate_id: _Optional[str] = ..., day: _Optional[int] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ..., tx_hash: _Optional[bytes] = ...) -> None: ...

class RedemptionPage(_message.Message):
    __slots__ = ("items", "next_page_token", "count", "height")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[RedemptionInfo]
    next_page_token: str
    count: int
    height: int
    def __init__(self, items: _Optional[_Iterable[_Union[RedemptionInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., count: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class GetVoucherRequest(_message.Message):
    __slots__ = ("merchant", "voucher_ref")
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_REF_FIELD_NUMBER: _ClassVar[int]
    merchant: str
    voucher_ref: str
    def __init__(self, merchant: _Optional[str] = ..., voucher_ref: _Optional[str] = ...) -> None: ...

class ListVouchersRequest(_message.Message):
    __slots__ = ("merchant", "page_size", "page_token")
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    merchant: str
    page_size: int
    page_token: str
    def __init__(self, merchant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetPointsTotalsRequest(_message.Message):
    __slots__ = ("operator", "from_day", "to_day")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    FROM_DAY_FIELD_NUMBER: _ClassVar[int]
    TO_DAY_FIELD_NUMBER: _ClassVar[int]
    operator: str
    from_day: int
    to_day: int
    def __init__(self, operator: _Optional[str] = ..., from_day: _Optional[int] = ..., to_day: _Optional[int] = ...) -> None: ...

class ActivityPoints(_message.Message):
    __slots__ = ("activity", "points")
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    activity: _ledger_pb2.Activity
    points: int
    def __init__(self, activity: _Optional[_Union[_ledger_pb2.Activity, str]] = ..., points: _Optional[int] = ...) -> None: ...

class OperatorPointsDay(_message.Message):
    __slots__ = ("day", "activities", "points")
    DAY_FIELD_NUMBER: _ClassVar[int]
    ACTIVITIES_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    day: int
    activities: _containers.RepeatedCompositeFieldContainer[ActivityPoints]
    points: int
    def __init__(self, day: _Optional[int] = ..., activities: _Optional[_Iterable[_Union[ActivityPoints, _Mapping]]] = ..., points: _Optional[int] = ...) -> None: ...

class OperatorPoints(_message.Message):
    __slots__ = ("operator", "points", "activities", "period_points", "days")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    ACTIVITIES_FIELD_NUMBER: _ClassVar[int]
    PERIOD_POINTS_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    operator: str
    points: int
    activities: _containers.RepeatedCompositeFieldContainer[ActivityPoints]
    period_points: int
    days: _containers.RepeatedCompositeFieldContainer[OperatorPointsDay]
    def __init__(self, operator: _Optional[str] = ..., points: _Optional[int] = ..., activities: _Optional[_Iterable[_Union[ActivityPoints, _Mapping]]] = ..., period_points: _Optional[int] = ..., days: _Optional[_Iterable[_Union[OperatorPointsDay, _Mapping]]] = ...) -> None: ...

class PointsTotals(_message.Message):
    __slots__ = ("operators", "from_day", "to_day", "height")
    OPERATORS_FIELD_NUMBER: _ClassVar[int]
    FROM_DAY_FIELD_NUMBER: _ClassVar[int]
    TO_DAY_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    operators: _containers.RepeatedCompositeFieldContainer[OperatorPoints]
    from_day: int
    to_day: int
    height: int
    def __init__(self, operators: _Optional[_Iterable[_Union[OperatorPoints, _Mapping]]] = ..., from_day: _Optional[int] = ..., to_day: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class GetGenesisRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GenesisInfo(_message.Message):
    __slots__ = ("chain_id", "genesis_json", "genesis_hash")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    GENESIS_JSON_FIELD_NUMBER: _ClassVar[int]
    GENESIS_HASH_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    genesis_json: str
    genesis_hash: bytes
    def __init__(self, chain_id: _Optional[str] = ..., genesis_json: _Optional[str] = ..., genesis_hash: _Optional[bytes] = ...) -> None: ...

class GetSigningInfoRequest(_message.Message):
    __slots__ = ("address", "batch_ids")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    address: str
    batch_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, address: _Optional[str] = ..., batch_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SigningInfo(_message.Message):
    __slots__ = ("chain_id", "next_nonce", "height", "balances", "signing_validators")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_NONCE_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    SIGNING_VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    next_nonce: int
    height: int
    balances: _containers.RepeatedCompositeFieldContainer[Balance]
    signing_validators: _containers.RepeatedCompositeFieldContainer[ValidatorInfo]
    def __init__(self, chain_id: _Optional[str] = ..., next_nonce: _Optional[int] = ..., height: _Optional[int] = ..., balances: _Optional[_Iterable[_Union[Balance, _Mapping]]] = ..., signing_validators: _Optional[_Iterable[_Union[ValidatorInfo, _Mapping]]] = ...) -> None: ...

class SimulateTxRequest(_message.Message):
    __slots__ = ("tx",)
    TX_FIELD_NUMBER: _ClassVar[int]
    tx: bytes
    def __init__(self, tx: _Optional[bytes] = ...) -> None: ...

class SimulateTxResponse(_message.Message):
    __slots__ = ("receipt", "chain_id", "nonce", "signatures_verified", "height", "signing_validators")
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SIGNING_VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    receipt: _ledger_pb2.Receipt
    chain_id: str
    nonce: int
    signatures_verified: bool
    height: int
    signing_validators: _containers.RepeatedCompositeFieldContainer[ValidatorInfo]
    def __init__(self, receipt: _Optional[_Union[_ledger_pb2.Receipt, _Mapping]] = ..., chain_id: _Optional[str] = ..., nonce: _Optional[int] = ..., signatures_verified: _Optional[bool] = ..., height: _Optional[int] = ..., signing_validators: _Optional[_Iterable[_Union[ValidatorInfo, _Mapping]]] = ...) -> None: ...

class ListProposalsRequest(_message.Message):
    __slots__ = ("status", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: str
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ProposalVoteInfo(_message.Message):
    __slots__ = ("voter", "option", "power", "height", "tx_hash")
    VOTER_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    voter: str
    option: _ledger_pb2.VoteOption
    power: int
    height: int
    tx_hash: bytes
    def __init__(self, voter: _Optional[str] = ..., option: _Optional[_Union[_ledger_pb2.VoteOption, str]] = ..., power: _Optional[int] = ..., height: _Optional[int] = ..., tx_hash: _Optional[bytes] = ...) -> None: ...

class ProposalInfo(_message.Message):
    __slots__ = ("proposal_id", "proposer", "title", "description_uri", "description_hash", "actions", "submit_height", "deadline_height", "status", "yes_power", "no_power", "abstain_power", "total_power", "closed_height", "error_code", "error", "tx_hash", "votes", "height")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_URI_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_HASH_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    YES_POWER_FIELD_NUMBER: _ClassVar[int]
    NO_POWER_FIELD_NUMBER: _ClassVar[int]
    ABSTAIN_POWER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_POWER_FIELD_NUMBER: _ClassVar[int]
    CLOSED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    proposal_id: int
    proposer: str
    title: str
    description_uri: str
    description_hash: bytes
    actions: _containers.RepeatedCompositeFieldContainer[_ledger_pb2.GovAction]
    submit_height: int
    deadline_height: int
    status: str
    yes_power: int
    no_power: int
    abstain_power: int
    total_power: int
    closed_height: int
    error_code: str
    error: str
    tx_hash: bytes
    votes: _containers.RepeatedCompositeFieldContainer[ProposalVoteInfo]
    height: int
    def __init__(self, proposal_id: _Optional[int] = ..., proposer: _Optional[str] = ..., title: _Optional[str] = ..., description_uri: _Optional[str] = ..., description_hash: _Optional[bytes] = ..., actions: _Optional[_Iterable[_Union[_ledger_pb2.GovAction, _Mapping]]] = ..., submit_height: _Optional[int] = ..., deadline_height: _Optional[int] = ..., status: _Optional[str] = ..., yes_power: _Optional[int] = ..., no_power: _Optional[int] = ..., abstain_power: _Optional[int] = ..., total_power: _Optional[int] = ..., closed_height: _Optional[int] = ..., error_code: _Optional[str] = ..., error: _Optional[str] = ..., tx_hash: _Optional[bytes] = ..., votes: _Optional[_Iterable[_Union[ProposalVoteInfo, _Mapping]]] = ..., height: _Optional[int] = ...) -> None: ...

class ProposalPage(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ProposalInfo]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[ProposalInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetProposalRequest(_message.Message):
    __slots__ = ("proposal_id",)
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    proposal_id: int
    def __init__(self, proposal_id: _Optional[int] = ...) -> None: ...

class GetValidatorsRequest(_message.Message):
    __slots__ = ("height",)
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    height: int
    def __init__(self, height: _Optional[int] = ...) -> None: ...

class ValidatorEntry(_message.Message):
    __slots__ = ("name", "public_key", "address", "operator", "power", "network_address")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    public_key: bytes
    address: str
    operator: str
    power: int
    network_address: str
    def __init__(self, name: _Optional[str] = ..., public_key: _Optional[bytes] = ..., address: _Optional[str] = ..., operator: _Optional[str] = ..., power: _Optional[int] = ..., network_address: _Optional[str] = ...) -> None: ...

class ValidatorSetInfo(_message.Message):
    __slots__ = ("height", "effective_height", "validators", "total_power", "pending_height", "pending", "committed_height")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    VALIDATORS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_POWER_FIELD_NUMBER: _ClassVar[int]
    PENDING_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    height: int
    effective_height: int
    validators: _containers.RepeatedCompositeFieldContainer[ValidatorEntry]
    total_power: int
    pending_height: int
    pending: _containers.RepeatedCompositeFieldContainer[ValidatorEntry]
    committed_height: int
    def __init__(self, height: _Optional[int] = ..., effective_height: _Optional[int] = ..., validators: _Optional[_Iterable[_Union[ValidatorEntry, _Mapping]]] = ..., total_power: _Optional[int] = ..., pending_height: _Optional[int] = ..., pending: _Optional[_Iterable[_Union[ValidatorEntry, _Mapping]]] = ..., committed_height: _Optional[int] = ...) -> None: ...

class GetParamsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Param(_message.Message):
    __slots__ = ("name", "value", "genesis_value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    GENESIS_VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    genesis_value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., genesis_value: _Optional[str] = ...) -> None: ...

class ParamsInfo(_message.Message):
    __slots__ = ("params", "height", "chain_id")
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    params: _containers.RepeatedCompositeFieldContainer[Param]
    height: int
    chain_id: str
    def __init__(self, params: _Optional[_Iterable[_Union[Param, _Mapping]]] = ..., height: _Optional[int] = ..., chain_id: _Optional[str] = ...) -> None: ...

class ListOrdersRequest(_message.Message):
    __slots__ = ("seller", "batch_id", "status", "page_size", "page_token")
    SELLER_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    seller: str
    batch_id: str
    status: str
    page_size: int
    page_token: str
    def __init__(self, seller: _Optional[str] = ..., batch_id: _Optional[str] = ..., status: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class OrderInfo(_message.Message):
    __slots__ = ("order_id", "seller", "batch_id", "project_id", "vintage", "price_fen", "amount_grams", "remaining_grams", "pending_grams", "sold_grams", "min_lot_grams", "expires_height", "retire_on_purchase", "status", "height", "time_ms", "closed_height", "tx_hash")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    REMAINING_GRAMS_FIELD_NUMBER: _ClassVar[int]
    PENDING_GRAMS_FIELD_NUMBER: _ClassVar[int]
    SOLD_GRAMS_FIELD_NUMBER: _ClassVar[int]
    MIN_LOT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RETIRE_ON_PURCHASE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    seller: str
    batch_id: str
    project_id: str
    vintage: _ledger_pb2.Period
    price_fen: int
    amount_grams: int
    remaining_grams: int
    pending_grams: int
    sold_grams: int
    min_lot_grams: int
    expires_height: int
    retire_on_purchase: bool
    status: str
    height: int
    time_ms: int
    closed_height: int
    tx_hash: bytes
    def __init__(self, order_id: _Optional[int] = ..., seller: _Optional[str] = ..., batch_id: _Optional[str] = ..., project_id: _Optional[str] = ..., vintage: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., price_fen: _Optional[int] = ..., amount_grams: _Optional[int] = ..., remaining_grams: _Optional[int] = ..., pending_grams: _Optional[int] = ..., sold_grams: _Optional[int] = ..., min_lot_grams: _Optional[int] = ..., expires_height: _Optional[int] = ..., retire_on_purchase: _Optional[bool] = ..., status: _Optional[str] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ..., closed_height: _Optional[int] = ..., tx_hash: _Optional[bytes] = ...) -> None: ...

class OrderPage(_message.Message):
    __slots__ = ("items", "next_page_token", "height")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[OrderInfo]
    next_page_token: str
    height: int
    def __init__(self, items: _Optional[_Iterable[_Union[OrderInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., height: _Optional[int] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    def __init__(self, order_id: _Optional[int] = ...) -> None: ...

class ListTradesRequest(_message.Message):
    __slots__ = ("order_id", "account", "status", "page_size", "page_token")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    account: str
    status: str
    page_size: int
    page_token: str
    def __init__(self, order_id: _Optional[int] = ..., account: _Optional[str] = ..., status: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class TradeInfo(_message.Message):
    __slots__ = ("trade_id", "order_id", "seller", "buyer", "batch_id", "project_id", "vintage", "amount_grams", "price_fen", "total_fen", "status", "timeout_height", "retire", "beneficiary", "reason", "jurisdiction", "event", "certificate_id", "confirmed_by", "height", "time_ms", "closed_height", "tx_hash", "closed_time_ms")
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    RETIRE_FIELD_NUMBER: _ClassVar[int]
    BENEFICIARY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_BY_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    CLOSED_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    trade_id: int
    order_id: int
    seller: str
    buyer: str
    batch_id: str
    project_id: str
    vintage: _ledger_pb2.Period
    amount_grams: int
    price_fen: int
    total_fen: int
    status: str
    timeout_height: int
    retire: bool
    beneficiary: str
    reason: str
    jurisdiction: str
    event: str
    certificate_id: str
    confirmed_by: str
    height: int
    time_ms: int
    closed_height: int
    tx_hash: bytes
    closed_time_ms: int
    def __init__(self, trade_id: _Optional[int] = ..., order_id: _Optional[int] = ..., seller: _Optional[str] = ..., buyer: _Optional[str] = ..., batch_id: _Optional[str] = ..., project_id: _Optional[str] = ..., vintage: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., amount_grams: _Optional[int] = ..., price_fen: _Optional[int] = ..., total_fen: _Optional[int] = ..., status: _Optional[str] = ..., timeout_height: _Optional[int] = ..., retire: _Optional[bool] = ..., beneficiary: _Optional[str] = ..., reason: _Optional[str] = ..., jurisdiction: _Optional[str] = ..., event: _Optional[str] = ..., certificate_id: _Optional[str] = ..., confirmed_by: _Optional[str] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ..., closed_height: _Optional[int] = ..., tx_hash: _Optional[bytes] = ..., closed_time_ms: _Optional[int] = ...) -> None: ...

class TradePage(_message.Message):
    __slots__ = ("items", "next_page_token", "height")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[TradeInfo]
    next_page_token: str
    height: int
    def __init__(self, items: _Optional[_Iterable[_Union[TradeInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., height: _Optional[int] = ...) -> None: ...

class ListTradePricesRequest(_message.Message):
    __slots__ = ("project_id", "vintage", "page_size", "page_token")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    vintage: _ledger_pb2.Period
    page_size: int
    page_token: str
    def __init__(self, project_id: _Optional[str] = ..., vintage: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class TradePrice(_message.Message):
    __slots__ = ("trade_id", "batch_id", "vintage", "price_fen", "amount_grams", "total_fen", "height", "time_ms")
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    trade_id: int
    batch_id: str
    vintage: _ledger_pb2.Period
    price_fen: int
    amount_grams: int
    total_fen: int
    height: int
    time_ms: int
    def __init__(self, trade_id: _Optional[int] = ..., batch_id: _Optional[str] = ..., vintage: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., price_fen: _Optional[int] = ..., amount_grams: _Optional[int] = ..., total_fen: _Optional[int] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ...) -> None: ...

class TradePricePage(_message.Message):
    __slots__ = ("items", "next_page_token", "height")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[TradePrice]
    next_page_token: str
    height: int
    def __init__(self, items: _Optional[_Iterable[_Union[TradePrice, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., height: _Optional[int] = ...) -> None: ...

class ExportInfo(_message.Message):
    __slots__ = ("export_id", "batch_id", "project_id", "vintage", "amount_grams", "account", "registry", "target_account", "reason", "serial_first", "serial_last", "serial", "height", "time_ms", "tx_hash")
    EXPORT_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_FIELD_NUMBER: _ClassVar[int]
    TARGET_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIRST_FIELD_NUMBER: _ClassVar[int]
    SERIAL_LAST_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    export_id: str
    batch_id: str
    project_id: str
    vintage: _ledger_pb2.Period
    amount_grams: int
    account: str
    registry: str
    target_account: str
    reason: str
    serial_first: int
    serial_last: int
    serial: str
    height: int
    time_ms: int
    tx_hash: bytes
    def __init__(self, export_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., project_id: _Optional[str] = ..., vintage: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., amount_grams: _Optional[int] = ..., account: _Optional[str] = ..., registry: _Optional[str] = ..., target_account: _Optional[str] = ..., reason: _Optional[str] = ..., serial_first: _Optional[int] = ..., serial_last: _Optional[int] = ..., serial: _Optional[str] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ..., tx_hash: _Optional[bytes] = ...) -> None: ...

class ExportListRequest(_message.Message):
    __slots__ = ("batch_id", "account", "page_size", "page_token")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    account: str
    page_size: int
    page_token: str
    def __init__(self, batch_id: _Optional[str] = ..., account: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ExportPage(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ExportInfo]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[ExportInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExportGetRequest(_message.Message):
    __slots__ = ("export_id",)
    EXPORT_ID_FIELD_NUMBER: _ClassVar[int]
    export_id: str
    def __init__(self, export_id: _Optional[str] = ...) -> None: ...

class ImportInfo(_message.Message):
    __slots__ = ("origin_registry", "origin_id", "batch_id", "project_id", "vintage", "amount_grams", "recipient", "bridge", "height", "time_ms", "tx_hash")
    ORIGIN_REGISTRY_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    VINTAGE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    BRIDGE_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    origin_registry: str
    origin_id: str
    batch_id: str
    project_id: str
    vintage: _ledger_pb2.Period
    amount_grams: int
    recipient: str
    bridge: str
    height: int
    time_ms: int
    tx_hash: bytes
    def __init__(self, origin_registry: _Optional[str] = ..., origin_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., project_id: _Optional[str] = ..., vintage: _Optional[_Union[_ledger_pb2.Period, _Mapping]] = ..., amount_grams: _Optional[int] = ..., recipient: _Optional[str] = ..., bridge: _Optional[str] = ..., height: _Optional[int] = ..., time_ms: _Optional[int] = ..., tx_hash: _Optional[bytes] = ...) -> None: ...

class ImportGetRequest(_message.Message):
    __slots__ = ("origin_registry", "origin_id")
    ORIGIN_REGISTRY_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_ID_FIELD_NUMBER: _ClassVar[int]
    origin_registry: str
    origin_id: str
    def __init__(self, origin_registry: _Optional[str] = ..., origin_id: _Optional[str] = ...) -> None: ...
