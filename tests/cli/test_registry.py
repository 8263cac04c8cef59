"""Issue 17's registry commands through the CLI on the shared one-validator devnet: project ids
that no second project may claim, the use and serial range of a retirement on its certificate,
exports (paged, table and JSON) and imports by the bridge (once per origin)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner, Result

from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.cli.explorer import pages
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.cli.verify import verify_bundle
from carbon_ticket.node.errors import ERROR_CODE_KEY
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.cli.harness import issue_fresh_batch, stub_for
from tests.cli.test_explorer_js import RUNNER, VERIFIER, node_binary

T = 1_000_000
EXIT_REFUSED = 3


def run(*args: str) -> Result:
    env = {"CARBON_TICKET_PASSWORD": "devnet", "CARBON_TICKET_CONNECT_TIMEOUT": "1",
           "CARBON_TICKET_CONFIG": None, "CARBON_TICKET_NODE": None}  # fmt: skip
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def node(info: DevnetInfo) -> list[str]:
    return ["--node", info.endpoints[0]]


def signed_by(info: DevnetInfo, key: str) -> list[str]:
    return [*node(info), "--keystore", str(info.wallet_dir), "-k", key]


def ok(*args: str) -> dict[str, Any]:
    result = run(*args, "-o", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    if "receipt" in data:
        assert data["receipt"]["code"] == 0, data
    return data


def unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}"


def register_project(info: DevnetInfo, project_id: str, *ids: str) -> Result:
    digest = hashlib.sha256(project_id.encode()).hexdigest()
    return run("tx", "register-project", project_id, "--name", "Guyang forest", "--region",
               "CN-15", "--area-ha", "15", "--methodology", "CCER-14-001-V01", "--owner",
               "@issuer", "--metadata-uri", "https://x/p", "--metadata-hash", digest, *ids,
               *signed_by(info, "issuer"), "-o", "json")  # fmt: skip


def test_a_second_project_claiming_a_parcel_is_refused(shared_devnet: DevnetInfo) -> None:
    info, tag = shared_devnet, str(time.time_ns())[-9:]
    first, second = f"CN15-GYA-{tag}", f"CN15-GYB-{tag}"
    parcel = f"150221-{tag}-017"
    ids = ("--external-id", f"CCER-{tag}", "--parcel", parcel, "--parcel", f"150221-{tag}-018",
           "--boundary-hash", "ab" * 32)  # fmt: skip
    result = register_project(info, first, *ids)
    assert result.exit_code == 0, result.output
    project = ok("query", "project", first, *node(info))
    assert project["parcel_ids"] == [parcel, f"150221-{tag}-018"]
    assert project["external_ids"] == [f"CCER-{tag}"]

    result = register_project(info, second, "--parcel", parcel, "--boundary-hash", "cd" * 32)
    assert result.exit_code == EXIT_REFUSED, result.output
    assert "parcel_taken" in result.output and first in result.output
    assert run("query", "project", second, *node(info)).exit_code != 0  # nothing was written


def test_compliance_retirement_shows_use_and_serials(shared_devnet: DevnetInfo) -> None:
    info = shared_devnet
    batch_id = issue_fresh_batch(info, "CN15-RU", 100 * T)
    first = ok("tx", "retire", batch_id, "2", "--beneficiary", "Zhejiang Steel", "--reason",
               "2023 compliance", "--use", "compliance-offset", "--scheme", "CN-ETS",
               "--emitter-account", "ETS-33-000123", "--corresponding-adjustment",
               *signed_by(info, "issuer"))  # fmt: skip
    second = ok("tx", "retire", batch_id, "1", "--beneficiary", "Winter Games", "--reason",
                "event", *signed_by(info, "issuer"))  # fmt: skip
    c1 = ok("query", "certificate", first["certificate_id"], *node(info))
    c2 = ok("query", "certificate", second["certificate_id"], *node(info))
    assert (c1["use"], c1["scheme"], c1["emitter_account"], c1["corresponding_adjustment"]) == (
        "compliance_offset", "CN-ETS", "ETS-33-000123", True)  # fmt: skip
    assert c2["use"] == "voluntary" and not c2["corresponding_adjustment"]
    assert (c1["serial_first"], c1["serial_last"]) == (1, 2 * T)
    assert c2["serial"] == f"CTL-{batch_id}-{2 * T + 1}-{3 * T}"
    table = run("query", "certificate", first["certificate_id"], *node(info))
    assert "CN-ETS" in table.output and c1["serial"] in table.output
    # A person reads yes/no, as in the market's tables, not Python's True/False.
    assert re.search(r"^corresponding_adjustment +yes$", table.stdout, re.M), table.stdout
    table = run("query", "certificate", second["certificate_id"], *node(info))
    assert re.search(r"^corresponding_adjustment +no$", table.stdout, re.M), table.stdout

    # A compliance offset without its scheme is refused before anything is signed.
    result = run("tx", "retire", batch_id, "1", "--beneficiary", "x", "--reason", "y", "--use",
                 "compliance-offset", *signed_by(info, "issuer"))  # fmt: skip
    assert result.exit_code == 2 and "--scheme" in result.output


def test_exports_are_recorded_and_listed_in_pages(shared_devnet: DevnetInfo) -> None:
    info = shared_devnet
    batch_id = issue_fresh_batch(info, "CN15-EX", 100 * T)
    made = [
        ok("tx", "export", batch_id, str(n), "--registry", "VERRA", "--account", f"VCS-{n}",
           *signed_by(info, "issuer"))["export_id"]
        for n in (1, 2, 3)
    ]  # fmt: skip
    batch = ok("query", "batch", batch_id, *node(info))
    assert batch["supply"]["exported_grams"] == 6 * T
    assert batch["supply"]["cancelled_grams"] == 0

    seen, token = [], ""
    while True:
        page = ok("query", "exports", "--batch", batch_id, "--limit", "2",
                  *(["--page-token", token] if token else []), *node(info))  # fmt: skip
        seen += [e["export_id"] for e in page["items"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == made
    one = ok("query", "export", made[1], *node(info))
    assert (one["registry"], one["target_account"], one["serial"]) == (
        "VERRA", "VCS-2", f"CTL-{batch_id}-{1 * T + 1}-{3 * T}")  # fmt: skip
    table = run("query", "exports", "--batch", batch_id, "--all", *node(info))
    assert table.exit_code == 0 and all(e in table.output for e in made)

    result = run("tx", "export", batch_id, "1000", "--registry", "VERRA", "--account", "V",
                 *signed_by(info, "issuer"))  # fmt: skip
    assert result.exit_code == EXIT_REFUSED and "insufficient_balance" in result.output


def test_import_needs_the_bridge_and_happens_once(shared_devnet: DevnetInfo) -> None:
    info = shared_devnet
    batch_id = issue_fresh_batch(info, "CN15-IM", 10 * T)
    project = batch_id.rsplit("-", 3)[0]
    origin = unique("CCER-2023")
    args = ("tx", "import-batch", "CCER", origin, "40", "--project", project, "--vintage",
            "20230101-20231231", "--recipient", "@issuer")  # fmt: skip
    result = run(*args, *signed_by(info, "issuer"))
    assert result.exit_code == EXIT_REFUSED and "missing_role" in result.output

    data = ok(*args, *signed_by(info, "bridge"))
    imported = next(e for e in data["receipt"]["events"] if e["type"] == "import_batch")
    record = ok("query", "import", "CCER", origin, *node(info))
    assert record["batch_id"] == imported["batch_id"] != batch_id
    assert record["amount_grams"] == 40 * T

    again = run(*args, *signed_by(info, "bridge"))
    assert again.exit_code == EXIT_REFUSED and "already_imported" in again.output


def test_both_verifiers_show_the_use_and_serial_of_a_compliance_offset(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    info = shared_devnet
    batch_id = issue_fresh_batch(info, "CN15-RV", 10 * T)
    retired = ok("tx", "retire", batch_id, "3", "--beneficiary", "Shandong Power", "--reason",
                 "2023 compliance", "--use", "compliance-offset", "--scheme", "CN-ETS",
                 "--emitter-account", "ETS-37-000042", *signed_by(info, "issuer"))  # fmt: skip
    out = tmp_path / "cert.json"
    result = run("query", "certificate", retired["certificate_id"], "--proof", "--out", str(out),
                 *node(info))  # fmt: skip
    assert result.exit_code == 0, result.output
    result = run("verify", str(out), "--genesis", str(info.home / "genesis.json"))
    assert result.exit_code == 0, result.output
    assert "compliance offset under CN-ETS for emitter account ETS-37-000042" in result.stdout
    assert f"serial CTL-{batch_id}-1-{3 * T}" in result.stdout

    # The browser's verifier proves exactly the same fields.
    genesis_text = (info.home / "genesis.json").read_text()
    proven = verify_bundle(json.loads(out.read_text()), Genesis.from_json(genesis_text))
    payload = {
        "verifier": str(VERIFIER),
        "genesis_hashes": [],
        "cases": [{"name": "use", "genesis": genesis_text, "bundle": out.read_text()}],
    }
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps(payload))
    js = subprocess.run([node_binary(), str(RUNNER), str(cases)], capture_output=True,
                        text=True, timeout=120)  # fmt: skip
    assert js.returncode == 0, js.stderr
    got = json.loads(js.stdout)["results"]["use"]
    assert got["ok"], got
    assert got["proven"]["certificate"] == dict(proven.certificate)
    assert got["proven"]["certificate"]["use"] == "compliance_offset"


def test_explorer_pages_show_project_ids_exports_and_use() -> None:
    project = services_pb2.ProjectInfo(
        project_id="CN15-GY-0001", name="Guyang", region="CN-15",
        kind=ledger_pb2.PROJECT_KIND_FOREST, area_centihectares=100,
        external_ids=["CCER-14-2023-0042"], parcel_ids=["150221-003-017", "150221-003-018"],
        boundary_hash=b"\xab" * 32,
    )  # fmt: skip
    html = pages.project_page("chain", project, [])
    assert all(i in html for i in ("CCER-14-2023-0042", "150221-003-018", "ab" * 32))
    batch = services_pb2.BatchInfo(batch_id="B-1", project_id="CN15-GY-0001")
    batch.supply.exported_grams = 1_500 * T
    html = pages.batch_page("chain", batch)
    assert "<th>Exported</th>" in html and "1500 t" in html
    cert = services_pb2.RetirementCertificate(
        certificate_id="RC-1", batch_id="B-1", use="compliance_offset", scheme="CN-ETS",
        emitter_account="ETS-33-000123", corresponding_adjustment=True, serial="CTL-B-1-1-5",
    )  # fmt: skip
    html = pages.certificate_page("chain", cert, "00" * 32)
    assert all(s in html for s in ("compliance offset", "CN-ETS", "ETS-33-000123", "CTL-B-1-1-5"))


@pytest.mark.parametrize(
    ("rpc", "message", "status", "code"),
    [
        ("ExportGet", services_pb2.ExportGetRequest(export_id="EX-00"),
         grpc.StatusCode.NOT_FOUND, "unknown_export"),
        ("ExportGet", services_pb2.ExportGetRequest(), grpc.StatusCode.INVALID_ARGUMENT,
         "missing_field"),
        ("ImportGet", services_pb2.ImportGetRequest(origin_registry="CCER", origin_id="none"),
         grpc.StatusCode.NOT_FOUND, "unknown_import"),
        ("ExportList", services_pb2.ExportListRequest(batch_id="B-1", account="ct1x"),
         grpc.StatusCode.INVALID_ARGUMENT, "invalid_address"),
        ("ExportList", services_pb2.ExportListRequest(page_token="x"),
         grpc.StatusCode.INVALID_ARGUMENT, "bad_page_token"),
    ],
)  # fmt: skip
def test_registry_rpcs_refuse_bad_requests_with_one_code(
    shared_devnet: DevnetInfo, rpc: str, message: Any, status: grpc.StatusCode, code: str
) -> None:
    with stub_for(shared_devnet.endpoints[0]) as stub, pytest.raises(grpc.RpcError) as caught:
        getattr(stub, rpc)(message, timeout=10)
    assert caught.value.code() == status
    assert dict(caught.value.trailing_metadata() or ())[ERROR_CODE_KEY] == code
