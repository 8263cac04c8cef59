"""The wallet's round trips (issue 13): one call before SubmitTx, none with --chain-id and
--nonce; consecutive nonces for quick transactions; where the node address comes from."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner, Result

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.cli.harness import issue_fresh_batch, stub_for, wallet_keys

T = 1_000_000
VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)


def run(*args: str, **env: str | None) -> Result:
    base: dict[str, str | None] = {
        "CARBON_TICKET_PASSWORD": "devnet",
        "CARBON_TICKET_CONNECT_TIMEOUT": "1",
        "CARBON_TICKET_CONFIG": None,
        "CARBON_TICKET_NODE": None,
    }
    return CliRunner().invoke(cli, list(args), env={**base, **env}, catch_exceptions=False)


class CountingInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Records the method name of every unary call the wallet makes."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        self.methods.append(details.method.rsplit("/", 1)[-1])
        return continuation(details, request)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The RPCs the CLI makes during the test, in order (every channel it opens is counted)."""
    counter = CountingInterceptor()
    plain = grpc.insecure_channel

    def counted(target: str, *args: Any, **kwargs: Any) -> grpc.Channel:
        return grpc.intercept_channel(plain(target, *args, **kwargs), counter)

    monkeypatch.setattr(grpc, "insecure_channel", counted)
    yield counter.methods


@pytest.fixture(scope="module")
def batch(shared_devnet: DevnetInfo) -> str:
    """A fresh batch held by the devnet's issuer (set up through the client library)."""
    return issue_fresh_batch(shared_devnet, "CN15-RT", 1000 * T)


def transfer(info: DevnetInfo, batch_id: str, *extra: str) -> list[str]:
    return [
        "tx", "transfer", "--to", "@registrar", "--batch", batch_id, "--amount", "1",
        "--node", info.endpoints[0], "--keystore", str(info.wallet_dir), "-k", "issuer",
        "-o", "json", *extra,
    ]  # fmt: skip


def test_a_transfer_makes_one_call_before_submitting(
    shared_devnet: DevnetInfo, batch: str, calls: list[str]
) -> None:
    result = run(*transfer(shared_devnet, batch))
    assert result.exit_code == 0, result.output
    assert calls == ["SimulateTx", "SubmitTx"]  # the simulation brings chain id and nonce
    calls.clear()
    result = run(*transfer(shared_devnet, batch, "--no-simulate"))
    assert result.exit_code == 0, result.output
    assert calls == ["GetSigningInfo", "SubmitTx"]


def test_with_chain_id_and_nonce_the_wallet_asks_nothing(
    shared_devnet: DevnetInfo, batch: str, calls: list[str]
) -> None:
    issuer: Any = wallet_keys(shared_devnet)["issuer"]
    with stub_for(shared_devnet.endpoints[0]) as stub:
        nonce = LedgerClient(stub).next_nonce(issuer.address)
    calls.clear()
    flags: tuple[str, ...] = (
        "--chain-id",
        shared_devnet.chain_id,
        "--nonce",
        str(nonce),
        "--no-simulate",
    )
    result = run(*transfer(shared_devnet, batch, *flags))
    assert result.exit_code == 0, result.output
    assert calls == ["SubmitTx"]
    # Simulating, the given chain id and nonce are simulated as they are: still one call.
    calls.clear()
    flags = ("--chain-id", shared_devnet.chain_id, "--nonce", str(nonce + 1))
    result = run(*transfer(shared_devnet, batch, *flags))
    assert result.exit_code == 0, result.output
    assert calls == ["SimulateTx", "SubmitTx"]


def test_two_quick_transactions_get_consecutive_nonces(
    shared_devnet: DevnetInfo, batch: str
) -> None:
    first = run(*transfer(shared_devnet, batch, "--no-wait"))
    second = run(*transfer(shared_devnet, batch, "--no-wait"))
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    with stub_for(shared_devnet.endpoints[0]) as stub:
        nonces = [_nonce_of(stub, json.loads(r.stdout)["tx_hash"]) for r in (first, second)]
    assert nonces[1] == nonces[0] + 1


def _nonce_of(stub: Any, tx_hash: str) -> int:
    """The nonce of a tx submitted without waiting, once it is committed (polls up to ~10 s)."""
    request = services_pb2.GetTxRequest(tx_hash=bytes.fromhex(tx_hash))
    for _ in range(100):
        try:
            return int(stub.GetTx(request, timeout=5).body.nonce)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:  # NOT_FOUND: still pending
                raise
        time.sleep(0.1)
    raise AssertionError(f"tx {tx_hash} did not commit")


# ---------------------------------------------------------------- where the node address comes from


def test_node_address_precedence_flag_env_file_default(
    shared_devnet: DevnetInfo, tmp_path: Path, dead_address: str
) -> None:
    live, dead = shared_devnet.endpoints[0], dead_address
    config = tmp_path / "client.toml"
    config.write_text(f'node = "{live}"\n')
    with_file = {"CARBON_TICKET_CONFIG": str(config)}
    assert run("query", "status", **with_file).exit_code == 0  # the file
    refused = run("query", "status", CARBON_TICKET_NODE=dead, **with_file)  # env over file
    assert refused.exit_code == 4 and dead in refused.stderr
    assert run("query", "status", "--node", live, CARBON_TICKET_NODE=dead).exit_code == 0
    config.write_text(f'node = "{dead}"\n')
    from_file = run("query", "status", **with_file)
    assert from_file.exit_code == 4 and f"(from node in {config})" in from_file.stderr


def test_the_config_file_names_tls_files_relative_to_itself(
    tmp_path: Path, dead_address: str
) -> None:
    config = tmp_path / "client.toml"
    config.write_text(f'node = "{dead_address}"\ntls_ca = "ca.pem"\n')
    result = run("query", "status", CARBON_TICKET_CONFIG=str(config))
    assert result.exit_code == 2 and str(tmp_path / "ca.pem") in result.stderr


# ---------------------------------------------------------------- the RPC itself


def test_signing_info_answers_balances_in_request_order_and_the_validator_set(
    shared_devnet: DevnetInfo, batch: str
) -> None:
    issuer: Any = wallet_keys(shared_devnet)["issuer"]
    request = services_pb2.GetSigningInfoRequest(
        address=issuer.address, batch_ids=["NONE-1", batch]
    )
    with stub_for(shared_devnet.endpoints[0]) as stub:
        info = stub.GetSigningInfo(request, timeout=5)
        account = stub.GetAccount(services_pb2.GetAccountRequest(address=issuer.address), timeout=5)
    assert info.chain_id == shared_devnet.chain_id and info.next_nonce == account.next_nonce
    assert [(b.batch_id, b.amount_grams) for b in info.balances] == [
        ("NONE-1", 0),
        (batch, {b.batch_id: b.amount_grams for b in account.balances}[batch]),
    ]
    assert [v.name for v in info.signing_validators] == ["node0"]


@pytest.mark.parametrize(
    ("request_fields", "code", "ledger_code"),
    [
        ({"address": "ct1nope"}, grpc.StatusCode.INVALID_ARGUMENT, "invalid_address"),
        ({"address": PrivateKey.generate().address}, grpc.StatusCode.NOT_FOUND, "unknown_account"),
        ({"batch_ids": ["B"] * 257}, grpc.StatusCode.INVALID_ARGUMENT, "too_many_batch_ids"),
        ({"batch_ids": [""]}, grpc.StatusCode.INVALID_ARGUMENT, "missing_field"),
    ],
)
def test_signing_info_refuses_bad_requests(
    shared_devnet: DevnetInfo, request_fields: dict[str, Any], code: Any, ledger_code: str
) -> None:
    issuer: Any = wallet_keys(shared_devnet)["issuer"]
    request = services_pb2.GetSigningInfoRequest(**{"address": issuer.address, **request_fields})
    with stub_for(shared_devnet.endpoints[0]) as stub, pytest.raises(grpc.RpcError) as err:
        stub.GetSigningInfo(request, timeout=5)
    assert err.value.code() == code
    assert dict(err.value.trailing_metadata() or ())["ledger-error-code"] == ledger_code
