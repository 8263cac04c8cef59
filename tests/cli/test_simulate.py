"""SimulateTx (issue 14): a dry run of one transaction that changes nothing, the wallet that
simulates before it signs, and co-signing files that count what they need and can be renewed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner, Result

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.cli.client import LedgerClient, draft_envelope, make_body
from carbon_ticket.cli.cosign import CosignFile, Member
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.cli.harness import issue_fresh_batch, stub_for, wallet_keys

T = 1_000_000
VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)


def run(*args: str) -> Result:
    env = {
        "CARBON_TICKET_PASSWORD": "devnet",
        "CARBON_TICKET_CONNECT_TIMEOUT": "1",
        "CARBON_TICKET_CONFIG": None,
        "CARBON_TICKET_NODE": None,
    }
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def wallet(info: DevnetInfo, *keys: str) -> list[str]:
    out = ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir)]
    for key in keys:
        out += ["-k", key]
    return out


@pytest.fixture(scope="module")
def batch(shared_devnet: DevnetInfo) -> str:
    """A fresh batch of 100 tCO2e held by the devnet's issuer."""
    return issue_fresh_batch(shared_devnet, "CN15-SIM", 100 * T)


def _transfer(issuer: Any, registrar: Any, batch: str, grams: int) -> ledger_pb2.Transfer:
    return ledger_pb2.Transfer(
        entries=[ledger_pb2.TransferEntry(to=registrar.address, batch_id=batch, amount_grams=grams)]
    )


def _unchanged(stub: Any, action: Callable[[], Any]) -> Any:
    """Run ``action`` and check the committed state and the mempool did not move because of it.

    Empty blocks keep coming, so the comparison is retried when a block landed in between.
    """
    for _ in range(5):
        before = stub.GetStatus(services_pb2.StatusRequest(), timeout=5)
        outcome = action()
        after = stub.GetStatus(services_pb2.StatusRequest(), timeout=5)
        if after.height == before.height:
            assert after.app_hash == before.app_hash
            assert before.mempool_size == after.mempool_size == 0
            return outcome
    raise AssertionError("a block landed during every attempt")


# ---------------------------------------------------------------- the RPC


def test_a_draft_is_filled_in_executed_and_nothing_changes(
    shared_devnet: DevnetInfo, batch: str
) -> None:
    keys: Any = wallet_keys(shared_devnet)
    issuer, registrar = keys["issuer"], keys["registrar"]
    over = make_body("", issuer.address, 0, _transfer(issuer, registrar, batch, 101 * T))
    fine = make_body("", issuer.address, 0, _transfer(issuer, registrar, batch, 1 * T))
    with stub_for(shared_devnet.endpoints[0]) as stub:
        client = LedgerClient(stub)
        nonce = client.next_nonce(issuer.address)
        refused = _unchanged(stub, lambda: client.simulate(draft_envelope(over)))
        applied = _unchanged(stub, lambda: client.simulate(draft_envelope(fine)))
        assert client.next_nonce(issuer.address) == nonce  # no nonce used
        tx = services_pb2.GetTxRequest(tx_hash=applied.receipt.tx_hash)
        with pytest.raises(grpc.RpcError) as err:
            stub.GetTx(tx, timeout=5)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND  # never committed
    assert (refused.chain_id, refused.nonce) == (shared_devnet.chain_id, nonce)
    assert not refused.signatures_verified
    assert refused.receipt.code != 0 and refused.receipt.error_code == "insufficient_balance"
    assert "101 tCO2e" in refused.receipt.message
    assert applied.receipt.code == 0 and applied.receipt.events[0].type == "transfer"
    assert [v.name for v in applied.signing_validators] == ["node0"]


def test_a_signed_tx_is_verified_and_its_nonce_checked(
    shared_devnet: DevnetInfo, batch: str
) -> None:
    keys: Any = wallet_keys(shared_devnet)
    issuer, registrar = keys["issuer"], keys["registrar"]
    msg = _transfer(issuer, registrar, batch, 1 * T)
    with stub_for(shared_devnet.endpoints[0]) as stub:
        client = LedgerClient(stub)
        nonce = client.next_nonce(issuer.address)
        chain = shared_devnet.chain_id
        signed = encode_tx(make_body(chain, issuer.address, nonce, msg), [issuer])
        good = _unchanged(stub, lambda: client.simulate(signed))
        assert good.signatures_verified and good.receipt.code == 0
        client.submit(signed)  # now the nonce is used
        used = encode_tx(make_body(chain, issuer.address, nonce, msg), [issuer])
        again = _unchanged(stub, lambda: client.simulate(used))
    assert again.receipt.error_code == "nonce_used"


@pytest.mark.parametrize(
    ("make", "ledger_code"),
    [
        (lambda k: b"\x01junk", "malformed_tx"),
        (lambda k: b"", "malformed_tx"),
        # A draft (no chain id) cannot carry signatures: they would cover other bytes.
        (
            lambda k: encode_tx(make_body("", k.address, 0, ledger_pb2.Retire()), [k]),
            "unexpected_signature",
        ),
        (
            lambda k: draft_envelope(make_body("", k.address, 3, ledger_pb2.Retire())),
            "invalid_nonce",
        ),
        (
            lambda k: draft_envelope(ledger_pb2.TxBody(chain_id="other", signer=k.address)),
            "wrong_chain_id",
        ),
        (lambda k: b"\x0a" + bytes([127]) + b"x" * 127 + b"\x00" * 70_000, "tx_too_large"),
    ],
)
def test_malformed_simulations_are_invalid_argument(
    shared_devnet: DevnetInfo, make: Callable[[Any], bytes], ledger_code: str
) -> None:
    issuer: Any = wallet_keys(shared_devnet)["issuer"]
    request = services_pb2.SimulateTxRequest(tx=make(issuer))
    with stub_for(shared_devnet.endpoints[0]) as stub, pytest.raises(grpc.RpcError) as err:
        stub.SimulateTx(request, timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(err.value.trailing_metadata() or ())["ledger-error-code"] == ledger_code


# ---------------------------------------------------------------- the wallet


def _one_line(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in line, line


def test_a_transfer_over_the_balance_is_refused_before_signing_and_keeps_its_nonce(
    shared_devnet: DevnetInfo, batch: str
) -> None:
    issuer: Any = wallet_keys(shared_devnet)["issuer"]
    with stub_for(shared_devnet.endpoints[0]) as stub:
        nonce = LedgerClient(stub).next_nonce(issuer.address)
    transfer = ("tx", "transfer", "--to", "@registrar", "--batch", batch)
    over = run(*transfer, "--amount", "100000", *wallet(shared_devnet, "issuer"))
    _one_line(over, 3, "refused before signing", "[insufficient_balance]")
    done = run(*transfer, "--amount", "1", "-o", "json", *wallet(shared_devnet, "issuer"))
    assert done.exit_code == 0, done.output
    with stub_for(shared_devnet.endpoints[0]) as stub:
        tx = stub.GetTx(
            services_pb2.GetTxRequest(tx_hash=bytes.fromhex(json.loads(done.stdout)["tx_hash"])),
            timeout=5,
        )
    assert tx.body.nonce == nonce  # the refused transfer did not use it


def test_a_missing_role_is_refused_with_the_ledgers_permission_code(
    shared_devnet: DevnetInfo,
) -> None:
    stranger = PrivateKey.generate().address
    # The verifier may not register accounts: only a registrar may.
    result = run("tx", "register-account", stranger, "--kind", "company", "--name", "X",
                 *wallet(shared_devnet, "verifier"))  # fmt: skip
    _one_line(result, 3, "refused before signing", "registrar role", "[missing_role]")


# ---------------------------------------------------------------- co-signing files


def test_a_file_whose_nonce_got_used_is_renewed_signed_and_broadcast(
    shared_devnet: DevnetInfo, batch: str, tmp_path: Path
) -> None:
    out = tmp_path / "transfer.json"
    transfer = ("tx", "transfer", "--to", "@registrar", "--batch", batch, "--amount", "1")
    written = run(*transfer, "--out", str(out), *wallet(shared_devnet, "issuer"))
    assert written.exit_code == 0 and "ready to broadcast" in written.stdout, written.output
    doc = json.loads(out.read_text())
    assert doc["version"] == 2 and doc["signatures_needed"] == 0 and doc["awaiting"] == []
    # Another transaction (not the same one: 2 tCO2e) takes the file's nonce first.
    assert run(*transfer[:-1], "2", *wallet(shared_devnet, "issuer")).exit_code == 0
    node = ("--node", shared_devnet.endpoints[0])
    stale = run("tx", "broadcast", str(out), *node)
    _one_line(stale, 3, "[nonce_used]", f"carbon-ticket tx renew {out}")
    stale = run("tx", "broadcast", str(out), "--no-simulate", *node)
    _one_line(stale, 3, "[nonce_used]", f"carbon-ticket tx renew {out}")
    renewed = run("tx", "renew", str(out), *node)
    assert renewed.exit_code == 0, renewed.output
    assert "1 old signature(s) dropped" in renewed.stdout and "tx sign" in renewed.stdout
    doc = json.loads(out.read_text())
    assert doc["nonce"] > 0 and doc["signed_by"] == [] and doc["signatures_needed"] == 1
    assert doc["awaiting"][0]["address"] == doc["signer"]
    unsigned = run("tx", "broadcast", str(out), *node)
    _one_line(unsigned, 3, "[missing_signature]")
    signed = run("tx", "sign", str(out), "-k", "issuer", "--keystore",
                 str(shared_devnet.wallet_dir), "-o", "json")  # fmt: skip
    assert signed.exit_code == 0 and json.loads(signed.stdout)["signatures_needed"] == 0
    sent = run("tx", "broadcast", str(out), "-o", "json", *node)
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["receipt"]["code"] == 0


def test_sign_refuses_offline_a_key_the_ledger_would_refuse(
    shared_devnet: DevnetInfo, batch: str, tmp_path: Path
) -> None:
    keystore = ("--keystore", str(shared_devnet.wallet_dir))
    # A transfer is signed by its signer alone: the registrar's signature would be refused.
    transfer = tmp_path / "transfer.json"
    written = run("tx", "transfer", "--to", "@registrar", "--batch", batch, "--amount", "1",
                  "--out", str(transfer), *wallet(shared_devnet, "issuer"))  # fmt: skip
    assert written.exit_code == 0, written.output
    before = transfer.read_bytes()
    refused = run("tx", "sign", str(transfer), "-k", "registrar", *keystore)
    _one_line(refused, 3, "refused before signing", "signed by its signer", "'registrar'",
              "[unexpected_signature]")  # fmt: skip
    assert transfer.read_bytes() == before
    # Governance is co-signed by the validators' operators only: the issuer operates none.
    grant = tmp_path / "grant.json"
    written = run("tx", "grant-role", "@registrar", "verifier", "--out",
                  str(grant), *wallet(shared_devnet, "operator0"))  # fmt: skip
    assert written.exit_code == 0, written.output
    before = grant.read_bytes()
    for keys in (("-k", "issuer"), ("-k", "operator0", "-k", "issuer")):
        refused = run("tx", "sign", str(grant), *keys, *keystore)
        _one_line(refused, 3, "refused before signing", "'issuer'", "is neither",
                  "[unexpected_signature]")  # fmt: skip
        assert grant.read_bytes() == before


def test_a_governance_file_counts_validator_signatures_and_names_who_is_missing() -> None:
    members = tuple(
        Member(f"node{i}", PrivateKey(bytes([i + 1]) * 32).address,
               PrivateKey(bytes([i + 1]) * 32).public_key)
        for i in range(4)
    )  # fmt: skip
    validator = [PrivateKey(bytes([i + 1]) * 32) for i in range(4)]
    grant = ledger_pb2.GrantRole(address=validator[3].address, role=ledger_pb2.ROLE_VERIFIER)
    body = make_body("c", validator[0].address, 0, grant)
    envelope = ledger_pb2.TxEnvelope.FromString(encode_tx(body, [validator[0]]))
    needed, awaiting = CosignFile(envelope, body, members).awaiting()
    assert needed == 2  # more than 2/3 of 4 is 3
    assert [a["name"] for a in awaiting] == ["node1", "node2", "node3"]
    envelope = ledger_pb2.TxEnvelope.FromString(encode_tx(body, validator[:3]))
    assert CosignFile(envelope, body, members).awaiting() == (0, [])
    assert CosignFile(envelope, body, ()).awaiting() == (None, [])  # written offline
