"""Ledger errors also travel as a standard google.rpc.Status (grpc-status-details-bin) with an
ErrorInfo whose reason is the ledger code, beside the custom ``ledger-error-code`` trailer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]  # no py.typed
from grpc_status import rpc_status  # type: ignore[import-untyped]  # no stubs installed

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.errors import LedgerError, NotFound
from carbon_ticket.chain.tx import tx_hash
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.node.errors import (
    ERROR_CODE_KEY,
    ERROR_DOMAIN,
    HEIGHT_KEY,
    TX_HASH_KEY,
    rich_status,
)
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.cli.harness import running_devnet, stub_for, wallet_keys


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Any]]]:
    root: Path = tmp_path_factory.mktemp("rich") / "devnet"
    with running_devnet(root) as (info, _thread), stub_for(info.endpoints[0]) as stub:
        yield stub, wallet_keys(info)


def _failure(call: Callable[[], Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value


def _error_info(status: status_pb2.Status) -> error_details_pb2.ErrorInfo:
    assert len(status.details) == 1
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    return info


def _read_back(error: grpc.RpcError) -> tuple[status_pb2.Status, error_details_pb2.ErrorInfo]:
    # from_call also checks that the Status's code and message equal the call's.
    status = rpc_status.from_call(error)
    assert status is not None, "no grpc-status-details-bin trailer"
    return status, _error_info(status)


def test_a_bad_signature_carries_error_info_with_the_ledger_code(node: Any) -> None:
    stub, keys = node
    raw = LedgerClient(stub).build(
        ledger_pb2.RegisterAccount(
            address=PrivateKey(bytes(32)).address, kind=ledger_pb2.ACCOUNT_KIND_COMPANY, name="x"
        ),
        [keys["registrar"]],
    )
    envelope = ledger_pb2.TxEnvelope.FromString(raw)
    forged = bytearray(envelope.signatures[0].signature)
    forged[0] ^= 1
    envelope.signatures[0].signature = bytes(forged)
    bad = envelope.SerializeToString(deterministic=True)

    error = _failure(lambda: stub.SubmitTx(services_pb2.SubmitTxRequest(tx=bad), timeout=20))
    status, info = _read_back(error)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert (info.reason, info.domain) == ("bad_signature", ERROR_DOMAIN)
    # The custom trailer is still there, with the same code.
    assert dict(error.trailing_metadata())[ERROR_CODE_KEY] == "bad_signature"


def test_a_committed_failure_names_its_tx_in_error_info(node: Any) -> None:
    stub, keys = node
    client = LedgerClient(stub)
    raw = client.build(
        ledger_pb2.Retire(
            batch_id="CN15-GY-0001-20230101-20231231-001",
            amount_grams=1,
            beneficiary="x",
            reason="x",
            jurisdiction="CN",
        ),
        [keys["issuer"]],
    )
    request = services_pb2.SubmitTxRequest(tx=raw, wait_for_commit=True)
    error = _failure(lambda: stub.SubmitTx(request, timeout=20))
    status, info = _read_back(error)
    meta = dict(error.trailing_metadata())
    assert info.reason == meta[ERROR_CODE_KEY] and info.reason
    assert info.metadata["tx_hash"] == meta[TX_HASH_KEY] == tx_hash(raw, client.chain_id).hex()
    assert info.metadata["height"] == meta[HEIGHT_KEY] and int(info.metadata["height"]) > 0
    assert status.message == error.details()


def test_not_found_and_stream_errors_carry_it_too(node: Any) -> None:
    stub, _keys = node
    error = _failure(lambda: stub.GetTx(services_pb2.GetTxRequest(tx_hash=bytes(32)), timeout=5))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert _read_back(error)[1].reason == dict(error.trailing_metadata())[ERROR_CODE_KEY]
    stream = stub.SubscribeEvents(services_pb2.SubscribeEventsRequest(account="nope"), timeout=5)
    error = _failure(lambda: next(iter(stream)))
    assert _read_back(error)[1].reason == "invalid_address"


def test_rich_status_is_built_in_one_place() -> None:
    error = NotFound("no such batch", "batch_not_found")
    extra = ((TX_HASH_KEY, "ab" * 32), (HEIGHT_KEY, "7"), ("other-key", "x"))
    status = rich_status(error, grpc.StatusCode.NOT_FOUND, "no such batch", extra)
    assert status.code == grpc.StatusCode.NOT_FOUND and status.details == "no such batch"
    [(key, value)] = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    info = _error_info(status_pb2.Status.FromString(value))
    assert info.reason == "batch_not_found" and info.domain == ERROR_DOMAIN
    assert dict(info.metadata) == {"tx_hash": "ab" * 32, "height": "7"}
    bare = rich_status(LedgerError("x", "internal"), grpc.StatusCode.INTERNAL, "x")
    assert _error_info(status_pb2.Status.FromString(bare.trailing_metadata[0][1])).metadata == {}
