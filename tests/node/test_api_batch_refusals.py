"""SubmitTxs' refusals are worded as SubmitTx's (docs/api.md, "Errors").

Reproduction (found by tests/node/test_api_fuzz.py): a refusal that quotes the transaction's
input was clipped to 1,000 characters in SubmitTx's status message, but came back whole in
SubmitTxs' ``TxAdmission.message``, escaped: a 1.2 KB transaction whose recipient is 1,000 NUL
characters got a 4 KB message, so a batch of such transactions under ``[api] max_request_bytes``
(8 MiB) was answered with about four times its size (past a client's default 4 MiB limit, so
the caller saw gRPC's RESOURCE_EXHAUSTED and none of the answers).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest

from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.node.api_fuzz_node import FuzzNode, fuzz_node

_FAR_NONCE = 2**62  # refused as too far ahead if it passed its field checks: nothing is admitted


@dataclass
class LongRefusal:
    node: FuzzNode
    raw: bytes  # a transaction whose refusal quotes 1,000 NUL characters (4,000 escaped)
    whole: str  # SubmitTx's status message for it


@pytest.fixture(scope="module")
def refusal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LongRefusal]:
    with fuzz_node(tmp_path_factory.mktemp("batch") / "devnet") as node:
        issuer = node.keys["issuer"]
        body = ledger_pb2.TxBody(chain_id=node.chain_id, signer=issuer.address, nonce=_FAR_NONCE)
        body.transfer.entries.add(to="\x00" * 1_000, batch_id=node.batch_id, amount_grams=1)
        raw = encode_tx(body, [issuer])
        with pytest.raises(grpc.RpcError) as single:
            node.stub.SubmitTx(services_pb2.SubmitTxRequest(tx=raw), timeout=10)
        yield LongRefusal(node, raw, single.value.details())


def test_a_batch_refusal_quoting_long_input_is_clipped_as_the_status_message_is(
    refusal: LongRefusal,
) -> None:
    request = services_pb2.SubmitTxsRequest(txs=[refusal.raw] * 100)
    results = refusal.node.stub.SubmitTxs(request, timeout=30).results
    assert len(results) == 100
    for result in results:
        assert (result.accepted, result.error_code) == (False, "invalid_address")
        assert result.message == refusal.whole
        assert len(result.message) == 1_003 and result.message.endswith("...")
    assert refusal.node.status().mempool_size == 0


def test_a_full_batch_of_long_refusals_is_answered_within_a_clients_default_limit(
    refusal: LongRefusal,
) -> None:
    # Reproduction: 1,000 characters a refusal, as SubmitTx's status, made the answer to 6,000
    # such transactions (7 MB asked, under [api] max_request_bytes) about 6 MB: past a client's
    # default 4 MiB limit, so it got RESOURCE_EXHAUSTED and none of the answers.
    request = services_pb2.SubmitTxsRequest(txs=[refusal.raw] * 6_000)
    response = refusal.node.stub.SubmitTxs(request, timeout=60)
    assert response.ByteSize() < 4 << 20
    assert len(response.results) == 6_000
    for result in response.results:
        assert (result.accepted, result.error_code) == (False, "invalid_address")
        # Each refusal's start, as SubmitTx words it, then "..."
        assert result.message.endswith("...") and refusal.whole.startswith(result.message[:-3])
        assert len(result.message) == 800_000 // 6_000 + 3  # the batch's share, then "..."
    assert refusal.node.status().mempool_size == 0
