"""docs/examples/node-client: a second implementation of docs/spec.md in Node.js.

The fast test has it recompute the spec's vectors (plain `node`, no packages); the slow one
installs its locked packages with `npm ci` into a temporary copy and has it sign, submit and read
back a transfer against an in-process devnet. Both are skipped where `node`/`npm` are missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.cli.harness import running_devnet, stub_for, wallet_keys

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "node-client"
T = 1_000_000
VINTAGE = ledger_pb2.Period(start_date=20230101, end_date=20231231)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        # CI must exercise the example (.ci/run installs Node.js where it is missing).
        if os.environ.get("CI"):
            pytest.fail(f"`{name}` is not installed, and CI must run the Node.js example")
        pytest.skip(f"`{name}` is not installed")
    return found


def test_the_node_example_reproduces_the_spec_vectors() -> None:
    node = _tool("node")
    run = subprocess.run(
        [node, str(EXAMPLE / "client.js"), "check-spec", str(ROOT / "docs" / "spec.md")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["ok"] and report["values_checked"] >= 10


def test_the_node_example_pins_its_packages() -> None:
    package = json.loads((EXAMPLE / "package.json").read_text())
    lock = json.loads((EXAMPLE / "package-lock.json").read_text())
    for name, version in package["dependencies"].items():
        assert version[0].isdigit(), f"{name} must be pinned to an exact version, not {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def _issue_batch(client: LedgerClient, keys: dict[str, Any], company: str) -> str:
    issuer, verifier, registrar = keys["issuer"], keys["verifier"], keys["registrar"]
    report = hashlib.sha256(b"node-client example report").digest()
    client.send(
        ledger_pb2.RegisterAccount(
            address=company, kind=ledger_pb2.ACCOUNT_KIND_COMPANY, name="Fujian Co"
        ),
        [registrar],
    )
    client.send(
        ledger_pb2.RegisterProject(
            project_id="CN15-GY-0007",
            name="Node client forest",
            region="CN-15",
            kind=ledger_pb2.PROJECT_KIND_FOREST,
            area_centihectares=10_000,
            methodology="CCER-14-001",
            owner=issuer.address,
            metadata_hash=bytes(32),
            metadata_uri="ipfs://meta",
        ),
        [issuer],
    )
    client.send(
        ledger_pb2.AnchorData(project_id="CN15-GY-0007", data_hash=report, period=VINTAGE,
                              uri="ipfs://data", kind="survey"),
        [issuer],
    )  # fmt: skip
    client.send(
        ledger_pb2.AttestReport(data_hash=report, verified_grams=100 * T, period=VINTAGE),
        [verifier],
    )
    issued = client.send(
        ledger_pb2.IssueBatch(project_id="CN15-GY-0007", vintage=VINTAGE, report_hashes=[report],
                              amount_grams=100 * T, recipient=issuer.address),
        [issuer],
    )  # fmt: skip
    batch_ids = [
        a.value for event in issued.receipt.events for a in event.attributes if a.key == "batch_id"
    ]
    assert batch_ids, issued.receipt
    return batch_ids[0]


def _npm_ci_copy(tmp_path: Path) -> Path:
    # A temporary copy: the test writes nothing (node_modules) into the repository.
    work = tmp_path / "node-client"
    work.mkdir()
    for name in ("package.json", "package-lock.json", "client.js"):
        shutil.copy(EXAMPLE / name, work / name)
    install = subprocess.run(
        [_tool("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    return work


def _transfer(work: Path, seed: bytes, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CARBON_TICKET_SEED": seed.hex(),
        "CARBON_TICKET_PROTO_ROOT": str(ROOT / "proto"),
    }
    return subprocess.run(
        [_tool("node"), "client.js", "transfer", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_node_example_submits_a_signed_transfer_and_reads_it_back(tmp_path: Path) -> None:
    _tool("node")
    work = _npm_ci_copy(tmp_path)
    with (
        running_devnet(tmp_path / "devnet") as (info, _thread),
        stub_for(info.endpoints[0]) as stub,
    ):
        keys: dict[str, Any] = wallet_keys(info)
        company = PrivateKey(hashlib.sha256(b"node-client/company").digest()).address
        batch_id = _issue_batch(LedgerClient(stub), keys, company)
        args = ["--node", info.endpoints[0], "--to", company, "--batch", batch_id,
                "--amount", str(2_500_000), "--memo", "from node"]  # fmt: skip
        run = _transfer(work, keys["issuer"].seed, args)
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout)
        assert out["committed"] is True and out["signer"] == keys["issuer"].address
        assert out["read_back"] == {
            "height": out["height"],
            "index": out["read_back"]["index"],
            "kind": "transfer",
            "receipt_code": 0,
            "to": company,
            "batch_id": batch_id,
            "amount_grams": "2500000",
        }
        # The node agrees: the id the Node.js client computed names a committed transfer.
        tx = stub.GetTx(services_pb2.GetTxRequest(tx_hash=bytes.fromhex(out["tx_id"])))
        assert tx.body.memo == "from node" and tx.receipt.code == 0
        account = stub.GetAccount(services_pb2.GetAccountRequest(address=company))
        assert [(b.batch_id, b.amount_grams) for b in account.balances] == [(batch_id, 2_500_000)]
        # A refusal is one line with the ledger's code (far more than the batch holds).
        args[args.index("--amount") + 1] = str(10**9 * T)
        run = _transfer(work, keys["issuer"].seed, args)
        assert run.returncode == 1
        assert run.stderr.startswith("error: ") and "[insufficient_balance]" in run.stderr
        # Read from the google.rpc.ErrorInfo in grpc-status-details-bin: only it names the tx.
        assert "failed at height" in run.stderr and len(run.stderr.splitlines()) == 1
