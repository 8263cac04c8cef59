"""Proofs through the API and the offline certificate verifier, against an in-process devnet.

The multi-process round trip (4 validators, the CLI as a subprocess) is in
tests/node/test_certificate_proof.py; this module covers the same ground quickly, plus the
API's tx proofs and the verifier's refusals one by one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner, Result

from carbon_ticket.chain.block import Header, verify_receipt_proof, verify_tx_id_proof
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.chain.kvstore import decode_receipt
from carbon_ticket.chain.merkle import MerkleProof
from carbon_ticket.chain.rules.tickets import certificate_id
from carbon_ticket.chain.tx import tx_hash
from carbon_ticket.cli import render
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.cli.verify import BundleError, verify_bundle
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.cli.bundles import (
    PURCHASE_TAMPERS,
    TAMPERS,
    foreign_genesis,
    tampered,
    without_quorum,
)
from tests.cli.harness import running_devnet, stub_for, wallet_keys
from tests.cli.purchases import PURCHASE_BENEFICIARY, purchase_certificate
from tests.cli.test_explorer_js import RUNNER, VERIFIER, node_binary
from tests.cli.test_spec_verifier import verify as spec_verify

T = 1_000_000
ENV = {"CARBON_TICKET_PASSWORD": "devnet", "CARBON_TICKET_CONNECT_TIMEOUT": "1"}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=ENV, catch_exceptions=False)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetInfo]:
    with running_devnet(tmp_path_factory.mktemp("verify") / "devnet") as (info, _node):
        demo = run("demo", "--home", str(info.home), "-o", "json")
        assert demo.exit_code == 0, demo.output
        yield info


@pytest.fixture(scope="module")
def certificate(devnet: DevnetInfo) -> dict[str, Any]:
    with stub_for(devnet.endpoints[0]) as stub:
        history = stub.SubscribeEvents(
            services_pb2.SubscribeEventsRequest(from_height=1, types=["retire"])
        )
        event = next(iter(history))
        history.cancel()
    attrs = {a.key: a.value for a in event.event.attributes}
    return {"certificate_id": attrs["certificate_id"], "tx_hash": event.tx_hash}


@pytest.fixture(scope="module")
def bundle_file(
    devnet: DevnetInfo, certificate: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "cert.json"
    cert_id = certificate["certificate_id"]
    result = run("query", "certificate", cert_id, "--proof", "--out", str(out),
                 "--node", devnet.endpoints[0])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "carbon-ticket verify" in result.stdout
    return out


def test_the_hint_after_writing_a_bundle_names_the_genesis_file(
    devnet: DevnetInfo,
    certificate: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "cert.json"
    query = ("query", "certificate", certificate["certificate_id"], "--proof", "--out", str(out),
             "--node", devnet.endpoints[0])  # fmt: skip
    # Beside the devnet's directory (devnet init's default --home): the hint is the command.
    assert devnet.home.name == "devnet"
    monkeypatch.chdir(devnet.home.parent)
    written = run(*query)
    assert written.exit_code == 0, written.output
    hinted = written.stdout.strip().split("check it offline with: ")[1]
    assert hinted == f"carbon-ticket verify {out} --genesis devnet/genesis.json"
    checked = run(*hinted.split()[1:])
    assert checked.exit_code == 0 and "is valid" in checked.stdout, checked.output
    # Elsewhere: no file to name; the hint says which genesis (its hash) and where a devnet's is.
    monkeypatch.chdir(tmp_path)
    written = run(*query)
    assert written.exit_code == 0, written.output
    genesis_hash = json.loads(out.read_text())["genesis_hash"]
    assert "--genesis GENESIS_FILE" in written.stdout
    assert (
        genesis_hash[:16] in written.stdout and "devnet/genesis.json by default" in written.stdout
    )


def genesis_of(devnet: DevnetInfo) -> Path:
    return devnet.home / "genesis.json"


def check(bundle: Any, devnet: DevnetInfo) -> str:
    """The verifier's single error line for ``bundle``."""
    genesis = Genesis.from_json(genesis_of(devnet).read_text())
    with pytest.raises(BundleError) as info:
        verify_bundle(bundle, genesis)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- API proofs


def test_tx_proof_of_a_retirement_verifies_from_its_header(
    devnet: DevnetInfo, certificate: dict[str, Any]
) -> None:
    with stub_for(devnet.endpoints[0]) as stub:
        proof = stub.GetTxProof(services_pb2.GetTxProofRequest(tx_hash=certificate["tx_hash"]))
    header = Header.from_proto(proof.header)
    assert tx_hash(proof.tx, header.chain_id) == proof.tx_hash == certificate["tx_hash"]
    tx_path = MerkleProof(proof.tx_proof.index, proof.tx_proof.size, tuple(proof.tx_proof.path))
    assert verify_tx_id_proof(header, proof.tx_hash, tx_path)
    receipt = decode_receipt(proof.tx_hash, proof.receipt.SerializeToString())
    r_path = MerkleProof(proof.index, header.tx_count, tuple(proof.receipt_proof.path))
    assert receipt.ok and verify_receipt_proof(header, receipt, r_path)
    assert certificate_id(proof.tx_hash) == certificate["certificate_id"]


def _wait_for_proof(stub: Any, digest: bytes) -> services_pb2.TxProof:
    deadline = time.monotonic() + 30
    while True:
        try:
            return stub.GetTxProof(services_pb2.GetTxProofRequest(tx_hash=digest), timeout=5)
        except grpc.RpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # pending: not committed yet


def test_a_failed_retire_is_proven_failed_and_cannot_back_a_certificate(
    devnet: DevnetInfo, bundle_file: Path
) -> None:
    """Issue 12, finding 2, end to end: a Retire that failed with insufficient_balance is in a
    block, but its committed receipt says so, and no bundle built on it verifies."""
    keys = wallet_keys(devnet)
    verifier_key: PrivateKey = keys["verifier"]
    good = json.loads(bundle_file.read_text())
    with stub_for(devnet.endpoints[0]) as stub:
        client = LedgerClient(stub)
        raw = client.build(
            ledger_pb2.Retire(batch_id=good["certificate"]["batch_id"], amount_grams=5_000 * T,
                              beneficiary="Nobody", reason="holds none", jurisdiction="CN"),
            [verifier_key],
        )  # fmt: skip
        reply = client.submit(raw, wait=False)
        proof = _wait_for_proof(stub, reply.tx_hash)
        block = stub.GetBlock(services_pb2.GetBlockRequest(height=proof.height))
        status = stub.GetStatus(services_pb2.StatusRequest())
    assert proof.receipt.error_code == "insufficient_balance"
    fake = services_pb2.CertificateProof(
        tx=proof,
        commit=block.committed.certificate,
        chain_id=status.chain_id,
        genesis_hash=bytes.fromhex(good["genesis_hash"]),
        validators=[services_pb2.ProofValidator(name=v["name"], power=v["power"],
                                                public_key=bytes.fromhex(v["public_key"]))
                    for v in good["validators"]],
    )  # fmt: skip
    fake.certificate.certificate_id = certificate_id(proof.tx_hash)
    bundle = render.certificate_bundle(fake)
    assert "failed on chain: insufficient_balance" in check(bundle, devnet)
    # Claiming it succeeded breaks the receipt proof.
    bundle["receipt"] = {**bundle["receipt"], "code": 0, "error_code": "",
                         "events": good["receipt"]["events"]}  # fmt: skip
    assert "receipt proof does not lead to results_root" in check(bundle, devnet)


def test_unknown_certificate_and_tx_are_not_found(devnet: DevnetInfo) -> None:
    result = run("query", "certificate", "RC-000000000000000000000000", "--proof",
                 "--node", devnet.endpoints[0])  # fmt: skip
    assert result.exit_code != 0 and "unknown_certificate" in result.output
    assert run("query", "certificate", "RC-0", "--out", "x.json").exit_code != 0


# ---------------------------------------------------------------- the verifier


def test_verify_prints_what_the_bundle_proves(devnet: DevnetInfo, bundle_file: Path) -> None:
    result = run("verify", str(bundle_file), "--genesis", str(genesis_of(devnet)))
    assert result.exit_code == 0, result.output
    bundle = json.loads(bundle_file.read_text())
    text = result.stdout
    assert f"certificate {bundle['certificate']['certificate_id']} is valid" in text
    assert "retired 5000 tCO2e" in text and bundle["certificate"]["batch_id"] in text
    assert "14th National Winter Games" in text and bundle["certificate"]["account"] in text
    assert "signed by 1 of 1 voting power: node0" in text


def test_a_verifier_written_from_the_spec_proves_the_nodes_bundle(
    devnet: DevnetInfo, bundle_file: Path
) -> None:
    # docs/spec.md, section 7, followed with hashlib and PyNaCl only (test_spec_verifier.py), on
    # the bundle GetCertificateProof made and the genesis file devnet init wrote.
    bundle = json.loads(bundle_file.read_text())
    proven = spec_verify(bundle, genesis_of(devnet).read_text())
    by_verify = verify_bundle(bundle, Genesis.from_json(genesis_of(devnet).read_text()))
    assert proven == {name: by_verify.certificate[name] for name in proven}
    assert proven["period"] != ""  # the demo's Retire names a claim period


def test_formatting_and_key_order_do_not_matter(devnet: DevnetInfo, bundle_file: Path) -> None:
    bundle = json.loads(bundle_file.read_text())
    compact = json.loads(json.dumps(bundle, sort_keys=True, separators=(",", ":")))
    genesis = Genesis.from_json(genesis_of(devnet).read_text())
    assert verify_bundle(compact, genesis).certificate == verify_bundle(bundle, genesis).certificate


@pytest.mark.parametrize(("what", "how", "fragment"), TAMPERS, ids=[t[0] for t in TAMPERS])
def test_every_tampering_fails_with_one_line(
    devnet: DevnetInfo, bundle_file: Path, what: str, how: Any, fragment: str, tmp_path: Path
) -> None:
    bad = tampered(json.loads(bundle_file.read_text()), how)
    assert fragment in check(bad, devnet)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = run("verify", str(path), "--genesis", str(genesis_of(devnet)))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and fragment in result.stderr


def test_removed_precommits_and_a_foreign_genesis_fail(
    devnet: DevnetInfo, bundle_file: Path, tmp_path: Path
) -> None:
    bundle = json.loads(bundle_file.read_text())
    assert "commit certificate" in check(without_quorum(bundle), devnet)
    other = tmp_path / "other-genesis.json"
    other.write_text(foreign_genesis(genesis_of(devnet).read_text()))
    result = run("verify", str(bundle_file), "--genesis", str(other))
    assert result.exit_code == 1 and "wrong genesis" in result.stderr


def test_garbage_inputs_fail_cleanly(devnet: DevnetInfo, bundle_file: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    result = run("verify", str(junk), "--genesis", str(genesis_of(devnet)))
    assert result.exit_code == 2 and f"bundle {junk} is not valid JSON" in result.stderr
    result = run("verify", str(bundle_file), "--genesis", str(junk))
    assert result.exit_code == 2 and f"genesis {junk} is not a valid genesis" in result.stderr
    not_bundles: list[object] = [[], {"format": "x"}, 5]
    for value in not_bundles:
        assert check(value, devnet)


def test_bench_prints_a_figure(devnet: DevnetInfo, bundle_file: Path) -> None:
    result = run("verify", str(bundle_file), "--genesis", str(genesis_of(devnet)), "--bench", "3")
    assert result.exit_code == 0 and "ms per bundle" in result.stdout


# ---------------------------------------------------------------- certificates of purchases


@pytest.fixture(scope="module")
def purchase_file(devnet: DevnetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle of a certificate made by confirm_payment (a purchase that retires)."""
    out = tmp_path_factory.mktemp("purchase") / "cert.json"
    cert_id = purchase_certificate(devnet, tonnes=30)
    result = run("query", "certificate", cert_id, "--proof", "--out", str(out),
                 "--node", devnet.endpoints[0])  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_a_certificate_made_by_confirm_payment_verifies(
    devnet: DevnetInfo, purchase_file: Path
) -> None:
    bundle = json.loads(purchase_file.read_text())
    keys: Any = wallet_keys(devnet)
    proven = verify_bundle(bundle, Genesis.from_json(genesis_of(devnet).read_text()))
    # The buyer retired, though the seller signed the confirmation.
    assert proven.certificate["account"] == keys["verifier"].address
    assert proven.certificate["amount_grams"] == 30 * T
    assert proven.certificate["beneficiary"] == PURCHASE_BENEFICIARY
    assert proven.certificate["use"] == "voluntary" and proven.certificate["serial"]
    result = run("verify", str(purchase_file), "--genesis", str(genesis_of(devnet)))
    assert result.exit_code == 0, result.output
    assert f"certificate {bundle['certificate']['certificate_id']} is valid" in result.stdout
    assert "retired 30 tCO2e" in result.stdout


@pytest.mark.parametrize(("what", "how", "fragment"), PURCHASE_TAMPERS,
                         ids=[t[0] for t in PURCHASE_TAMPERS])  # fmt: skip
def test_a_tampered_purchase_certificate_fails(
    devnet: DevnetInfo, purchase_file: Path, what: str, how: Any, fragment: str
) -> None:
    bad = tampered(json.loads(purchase_file.read_text()), how)
    assert fragment in check(bad, devnet)


def test_a_bundle_of_a_transaction_that_makes_no_certificate_fails(
    devnet: DevnetInfo, purchase_file: Path
) -> None:
    """The tx of a bundle swapped for the Buy before it: properly signed, in a block, but a Buy
    retires nothing (the trade's claim is stated there, the certificate made later)."""
    good = json.loads(purchase_file.read_text())
    with stub_for(devnet.endpoints[0]) as stub:
        trade = next(
            dict(e["attributes"])["trade_id"] for e in good["receipt"]["events"]
            if e["type"] == "confirm_payment"
        )  # fmt: skip
        page = stub.ListTrades(services_pb2.ListTradesRequest(), timeout=10)
        buy_hash = next(t.tx_hash for t in page.items if str(t.trade_id) == trade)
        proof = stub.GetTxProof(services_pb2.GetTxProofRequest(tx_hash=buy_hash), timeout=10)
        block = stub.GetBlock(services_pb2.GetBlockRequest(height=proof.height), timeout=10)
    fake = services_pb2.CertificateProof(
        tx=proof,
        commit=block.committed.certificate,
        chain_id=good["chain_id"],
        genesis_hash=bytes.fromhex(good["genesis_hash"]),
    )
    bundle = {**render.certificate_bundle(fake), "certificate": good["certificate"],
              "validators": good["validators"]}  # fmt: skip
    assert "the transaction is a buy, which makes no retirement certificate" in check(
        bundle, devnet
    )


def test_a_certificate_made_by_a_redemption_verifies(devnet: DevnetInfo, tmp_path: Path) -> None:
    """A merchant redemption paid in tickets (the residents' story) makes a certificate too."""
    played = run("demo", "--home", str(devnet.home), "--story", "residents", "-o", "json")
    assert played.exit_code == 0, played.output
    with stub_for(devnet.endpoints[0]) as stub:
        history = stub.SubscribeEvents(
            services_pb2.SubscribeEventsRequest(from_height=1, types=["retire"])
        )
        attrs = next(
            a for a in ({x.key: x.value for x in e.event.attributes} for e in history)
            if a["reason"] == "merchant redemption"
        )  # fmt: skip
        history.cancel()
    cert_id = attrs["certificate_id"]
    out = tmp_path / "redeem.json"
    result = run("query", "certificate", cert_id, "--proof", "--out", str(out),
                 "--node", devnet.endpoints[0])  # fmt: skip
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text())
    proven = verify_bundle(bundle, Genesis.from_json(genesis_of(devnet).read_text()))
    assert proven.certificate["reason"] == "merchant redemption"
    assert proven.certificate["account"] == proven.certificate["beneficiary"]
    bad = tampered(bundle, lambda b: b["certificate"].update(jurisdiction="CN-11"))
    assert "certificate field jurisdiction" in check(bad, devnet)
    # The explorer's verifier proves the same.
    genesis_text = genesis_of(devnet).read_text()
    results = run_js_verifier(
        {"good": (genesis_text, bundle), "bad": (genesis_text, bad)}, tmp_path
    )
    assert results["good"]["ok"], results["good"]
    assert results["good"]["proven"]["certificate"] == dict(proven.certificate)
    assert "certificate field jurisdiction" in results["bad"]["error"]


def run_js_verifier(cases: dict[str, tuple[str, Any]], tmp_path: Path) -> dict[str, dict[str, Any]]:
    """The explorer's verifier's result per case (name -> (genesis text, bundle)), under Node."""
    payload = {
        "verifier": str(VERIFIER),
        "cases": [
            {"name": n, "genesis": g, "bundle": json.dumps(b)} for n, (g, b) in cases.items()
        ],
        "genesis_hashes": [],
    }
    path = tmp_path / "js-cases.json"
    path.write_text(json.dumps(payload))
    ran = subprocess.run([node_binary(), str(RUNNER), str(path)], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    results: dict[str, dict[str, Any]] = json.loads(ran.stdout)["results"]
    return results


def test_the_verifier_imports_neither_grpc_nor_the_node() -> None:
    code = (
        "import sys, carbon_ticket.cli.verify\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'plyvel')\n"
        "             or m.split('.')[:2] == ['carbon_ticket', 'node'])\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
