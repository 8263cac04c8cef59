from proto import ledger_pb2 as _ledger_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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

class PeerStatus(_message.Message):
    __slots__ = ("chain_id", "height", "app_hash", "last_block_hash")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    APP_HASH_FIELD_NUMBER: _ClassVar[int]
    LAST_BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    height: int
    app_hash: bytes
    last_block_hash: bytes
    def __init__(self, chain_id: _Optional[str] = ..., height: _Optional[int] = ..., app_hash: _Optional[bytes] = ..., last_block_hash: _Optional[bytes] = ...) -> None: ...

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
    __slots__ = ("name", "public_key", "address")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    name: str
    public_key: bytes
    address: str
    def __init__(self, name: _Optional[str] = ..., public_key: _Optional[bytes] = ..., address: _Optional[str] = ...) -> None: ...

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
