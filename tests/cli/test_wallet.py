"""The CLI wallet through click's runner against a real (in-process) one-validator devnet."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from carbon_ticket.cli import common as cli_common
from carbon_ticket.cli.keystore import Keystore
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo
from tests.cli.harness import running_devnet

PASSWORD = "devnet"


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetInfo]:
    with running_devnet(tmp_path_factory.mktemp("wallet") / "devnet") as (info, _node):
        yield info


def run(*args: str, password: str | None = PASSWORD, input: str | None = None) -> Result:
    env = {"CARBON_TICKET_PASSWORD": password} if password is not None else {}
    env["CARBON_TICKET_CONNECT_TIMEOUT"] = "1"
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def ok(*args: str, **kwargs: Any) -> Any:
    result = run(*args, "-o", "json", **kwargs)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def common(info: DevnetInfo, *keys: str) -> list[str]:
    out = ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir)]
    for key in keys:
        out += ["--key", key]
    return out


def one_line_error(result: Result, exit_code: int, *fragments: str) -> None:
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


# ---------------------------------------------------------------- keys


def test_keys_new_list_show_export_import(tmp_path: Path) -> None:
    store = ["--keystore", str(tmp_path / "ks")]
    made = ok("keys", "new", "alice", *store)
    assert made["address"].startswith("ct1")
    listed = ok("keys", "list", *store)
    assert [k["name"] for k in listed] == ["alice"]
    assert ok("keys", "show", "alice", *store)["address"] == made["address"]
    exported = run("keys", "export", "alice", "--yes", *store)
    assert exported.exit_code == 0
    seed = exported.stdout.strip()
    assert len(bytes.fromhex(seed)) == 32
    as_json = ok("keys", "export", "alice", "--yes", *store)
    assert as_json == {"name": "alice", "address": made["address"], "seed": seed}
    (tmp_path / "seed").write_text(seed)
    again = ok("keys", "import", "alice2", "--seed-file", str(tmp_path / "seed"), *store)
    assert again["address"] == made["address"]
    # The file is encrypted: the seed does not appear in it.
    assert seed not in (tmp_path / "ks" / "alice.json").read_text()


def test_keys_password_prompt_with_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_common, "stdin_is_terminal", lambda: True)  # click's runner answers
    store = ["--keystore", str(tmp_path / "ks")]
    result = run("keys", "new", "bob", *store, password=None, input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.stderr
    assert Keystore(tmp_path / "ks").load("bob", "s3cret").address


def test_a_piped_password_is_read_from_stdin_without_a_prompt(tmp_path: Path) -> None:
    # No terminal (click's runner gives none): `echo PW | carbon-ticket keys new NAME` reads the
    # first line, once, and writes no prompt (a confirmation would wait for a second line).
    store = ["--keystore", str(tmp_path / "ks")]
    made = run("keys", "new", "erin", *store, "-o", "json", password=None, input="pass word\n")
    assert made.exit_code == 0 and made.stderr == "", made.output
    assert (
        Keystore(tmp_path / "ks").load("erin", "pass word").address
        == json.loads(made.stdout)["address"]
    )
    exported = run("keys", "export", "erin", "--yes", *store, password=None,
                   input="pass word\r\n")  # fmt: skip
    assert exported.exit_code == 0 and exported.stderr == "", exported.output
    # keys import without --seed-file: the seed's line, then the password's.
    piped = f"{exported.stdout.strip()}\nother\n"
    again = run("keys", "import", "erin2", *store, "-o", "json", password=None, input=piped)
    assert again.exit_code == 0 and again.stderr == "", again.output
    assert (
        Keystore(tmp_path / "ks").load("erin2", "other").address
        == json.loads(made.stdout)["address"]
    )


def test_keys_errors_are_one_line(tmp_path: Path) -> None:
    store = ["--keystore", str(tmp_path / "ks")]
    ok("keys", "new", "carol", *store)
    before = (tmp_path / "ks" / "carol.json").read_bytes()
    one_line_error(
        run("keys", "export", "carol", "--yes", *store, password="nope"), 5, "wrong password"
    )
    one_line_error(run("keys", "show", "dave", *store), 5, "no key named 'dave'")
    # ... and says how to find or make one
    missing = run("keys", "show", "dave", *store)
    assert "`carbon-ticket keys list`" in missing.stderr and "`keys new dave`" in missing.stderr
    # A name already taken is bad input, like an invalid one: choose another (exit 2)
    one_line_error(run("keys", "new", "carol", *store), 2, "already exists", "choose another")
    one_line_error(run("keys", "new", "bad/name", *store), 2, "invalid key name")
    assert (tmp_path / "ks" / "carol.json").read_bytes() == before


# ---------------------------------------------------------------- transactions and queries


@pytest.fixture(scope="module")
def story(devnet: DevnetInfo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Register, anchor, attest, issue, sell and retire, all through the CLI."""
    info = devnet
    wallet = ["--keystore", str(info.wallet_dir)]
    company = ok("keys", "new", "company", *wallet)["address"]
    data = tmp_path_factory.mktemp("data") / "flux.csv"
    data.write_text("tower,day,flux\nGY-01,20230101,-3.2\n")
    data_hash = hashlib.sha256(data.read_bytes()).hexdigest()
    ok("tx", "register-account", "@company", "--name", "Zhejiang Co", *common(info, "registrar"))
    ok(
        "tx",
        "register-project",
        "CN15-GY-0001",
        "--name",
        "Guyang forest",
        "--region",
        "CN-15",
        "--area-ha",
        "1500",
        "--methodology",
        "CCER-14-001",
        "--owner",
        "@issuer",
        "--metadata-uri",
        "https://x/p.json",
        "--metadata-file",
        str(data),
        *common(info, "issuer"),
    )
    ok(
        "tx",
        "anchor-data",
        "CN15-GY-0001",
        "--file",
        str(data),
        "--period",
        "20230101-20231231",
        "--uri",
        "https://x/flux.csv",
        "--kind",
        "co2-flux",
        *common(info, "issuer"),
    )
    ok(
        "tx",
        "attest",
        data_hash,
        "--amount",
        "150000",
        "--period",
        "20230101-20231231",
        *common(info, "verifier"),
    )
    issued = ok(
        "tx",
        "issue",
        "CN15-GY-0001",
        "--vintage",
        "20230101-20231231",
        "--report",
        data_hash,
        "--amount",
        "150000",
        "--recipient",
        "@issuer",
        *common(info, "issuer"),
    )
    assert issued["committed"] and issued["receipt"]["code"] == 0
    batch_id = issued["receipt"]["events"][0]["batch_id"]
    ok(
        "tx",
        "transfer",
        "--to",
        company,
        "--batch",
        batch_id,
        "--amount",
        "20000",
        *common(info, "issuer"),
    )
    retired = ok(
        "tx",
        "retire",
        batch_id,
        "5000",
        "--beneficiary",
        "14th National Winter Games",
        "--reason",
        "offset",
        "--event",
        "14th National Winter Games",
        "--period",
        "20240217-20240227",
        *common(info, "company"),
    )
    # The wallet computed both ids from the signed body before submitting; the ledger agrees.
    assert retired["certificate_id"] == retired["receipt"]["events"][0]["certificate_id"]
    assert retired["certificate_id"] == "RC-" + retired["tx_hash"][:24].upper()
    return {
        "company": company,
        "batch_id": batch_id,
        "data_hash": data_hash,
        "certificate_id": retired["certificate_id"],
        "retire_tx": retired["tx_hash"],
        "retire_height": str(retired["height"]),
    }


T = 1_000_000  # grams per tCO2e


def test_queries_speak_the_api_with_grams_and_tco2e(
    devnet: DevnetInfo, story: dict[str, str]
) -> None:
    node = ["--node", devnet.endpoints[0]]
    account = ok("query", "account", story["company"], *node)
    assert account["balances"] == [
        {"batch_id": story["batch_id"], "amount_grams": 15000 * T, "amount_tco2e": "15000"}
    ]
    assert account["nonce"] == 1 and account["kind"] == "company"
    supply = ok("query", "batch", story["batch_id"], *node)["supply"]
    assert (supply["issued_grams"], supply["tradable_tco2e"], supply["retired_tco2e"]) == (
        150000 * T,
        "115000",
        "5000",
    )
    assert supply["buffer_grams"] == 30000 * T
    cert = ok("query", "certificate", story["certificate_id"], *node)
    assert (cert["amount_grams"], cert["amount_tco2e"]) == (5000 * T, "5000")
    assert cert["period"] == {"start_date": 20240217, "end_date": 20240227}
    assert cert["time"].endswith("Z") and cert["time_ms"] > 0
    project = ok("query", "project", "CN15-GY-0001", *node)
    assert (project["area_centihectares"], project["area_ha"]) == (150000, "1500.00")
    assert ok("query", "report", story["data_hash"], *node)["remaining_tco2e"] == "0"
    status = ok("query", "status", *node)
    assert status["chain_id"] == "carbon-devnet" and status["last_block_time"].endswith("Z")
    table = run("query", "batch", story["batch_id"], *node)
    assert "tradable   115000 tCO2e" in table.stdout and "_grams" not in table.stdout


def test_query_tx_shows_one_quantity_one_way(devnet: DevnetInfo, story: dict[str, str]) -> None:
    node = ["--node", devnet.endpoints[0]]
    tx = ok("query", "tx", story["retire_tx"], *node)
    assert tx["kind"] == "retire" and tx["receipt"]["code"] == 0
    signed, event = tx["body"]["retire"], tx["receipt"]["events"][0]
    # The signed body and the receipt's event give the amount the same two ways.
    assert (signed["amount_grams"], signed["amount_tco2e"]) == (5000 * T, "5000")
    assert (event["amount_grams"], event["amount_tco2e"]) == (5000 * T, "5000")
    assert tx["time"].endswith("Z") and len(tx["envelope"]["signatures"]) == 1
    block = ok("query", "block", story["retire_height"], *node)
    assert block["receipts"][0]["tx_hash"] == story["retire_tx"]
    assert block["header"]["height"] == int(story["retire_height"])


def test_history_has_a_header_and_separate_height_and_index(
    devnet: DevnetInfo, story: dict[str, str]
) -> None:
    node = ["--node", devnet.endpoints[0]]
    history = ok("query", "history", "batch", story["batch_id"], "--limit", "1", "--all", *node)
    assert [i["kind"] for i in history["items"]] == ["retire", "transfer", "issue_batch"]
    assert history["items"][0]["height"] == int(story["retire_height"])
    table = run("query", "history", "batch", story["batch_id"], *node).stdout.splitlines()
    assert table[0].split()[:4] == ["height", "index", "time", "(UTC)"]
    first = table[1].split()
    assert first[0] == story["retire_height"] and first[1] == "0" and first[3] == "retire"


def test_query_retirements_lists_the_register(devnet: DevnetInfo, story: dict[str, str]) -> None:
    node = ["--node", devnet.endpoints[0]]
    games = ["--event", "14th National Winter Games"]
    page = ok("query", "retirements", *games, "--batch", story["batch_id"], *node)
    assert [c["certificate_id"] for c in page["items"]] == [story["certificate_id"]]
    assert page["items"][0]["amount_tco2e"] == "5000" and page["next_page_token"] == ""
    by_height = ok(
        "query", "retirements", "--from-height", story["retire_height"],
        "--to-height", story["retire_height"], *node,
    )  # fmt: skip
    assert story["certificate_id"] in [c["certificate_id"] for c in by_height["items"]]
    assert ok("query", "retirements", "--beneficiary", "nobody", *node)["items"] == []
    table = run("query", "retirements", *games, "--project", "CN15-GY-0001", *node)
    assert table.stdout.splitlines()[0].split()[:2] == ["height", "certificate_id"]
    assert story["certificate_id"] in table.stdout and " 5000 " in table.stdout


def test_streams_from_a_past_height(devnet: DevnetInfo, story: dict[str, str]) -> None:
    node = ["--node", devnet.endpoints[0]]
    result = run(
        "query",
        "events",
        "--from-height",
        "1",
        "--type",
        "retire",
        "--count",
        "1",
        "-o",
        "json",
        *node,
    )
    event = json.loads(result.stdout)
    assert event["tx_hash"] == story["retire_tx"] and event["time"].endswith("Z")
    assert event["event"]["certificate_id"] == story["certificate_id"]
    assert event["event"]["amount_grams"] == 5000 * T
    result = run("query", "blocks", "--from-height", "2", "--count", "3", *node)
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["2", "3", "4"]


def test_an_imported_validator_key_does_not_speak_for_its_validator(
    devnet: DevnetInfo, story: dict[str, str]
) -> None:
    wallet = ["--keystore", str(devnet.wallet_dir)]
    imported = ok(
        "keys",
        "import",
        "validator0",
        "--validator-key",
        str(devnet.node_home(0) / "validator_key.json"),
        *wallet,
    )
    node = ["--node", devnet.endpoints[0]]
    validators = ok("query", "validators", *node)["validators"]
    assert validators[0]["address"] == imported["address"]
    assert validators[0]["operator"] == ok("keys", "show", "operator0", *wallet)["address"]
    # The consensus key is the validator's own account, but the devnet binds a separate
    # operator key (operator0): only the operator speaks for the validator in governance.
    refused = run("tx", "grant-role", story["company"], "merchant", *common(devnet, "validator0"))
    one_line_error(refused, 3, "[not_validator_operator]")


def test_governance_with_sign_and_broadcast(
    devnet: DevnetInfo, story: dict[str, str], tmp_path: Path
) -> None:
    wallet = ["--keystore", str(devnet.wallet_dir)]
    granted = ok("tx", "grant-role", story["company"], "merchant", *common(devnet, "operator0"))
    assert granted["receipt"]["events"][0] == {
        "type": "grant_role",
        "address": story["company"],
        "role": "merchant",
    }
    # Offline flow: write, co-sign, broadcast.
    out = tmp_path / "revoke.json"
    result = run(
        "tx",
        "revoke-role",
        story["company"],
        "merchant",
        "--out",
        str(out),
        *common(devnet, "operator0"),
    )
    assert result.exit_code == 0 and "1 signature" in result.stdout
    unsigned = out.read_text()
    # The issuer is no validator's operator: the co-signature the ledger would refuse is refused
    # before anything is signed.
    refused = run("tx", "sign", str(out), "--key", "issuer", *wallet)
    one_line_error(refused, 3, "[unexpected_signature]")
    assert out.read_text() == unsigned  # operator0 alone is > 2/3 of this one-validator devnet
    done = ok("tx", "broadcast", str(out), "--node", devnet.endpoints[0])
    assert done["receipt"]["code"] == 0
    roles = ok("query", "account", story["company"], "--node", devnet.endpoints[0])["roles"]
    assert roles == []


def test_ledger_refusal_names_the_failed_tx(devnet: DevnetInfo, story: dict[str, str]) -> None:
    unknown_report = "ab" * 32
    attest = ("tx", "attest", unknown_report, "--amount", "1", "--period", "20230101-20231231",
              *common(devnet, "verifier"))  # fmt: skip
    # Simulated first: refused with the ledger's own code before anything is signed.
    one_line_error(run(*attest), 3, "refused before signing", "[unknown_report]")
    # Without the simulation it is committed, and fails.
    result = run(*attest, "--no-simulate")
    one_line_error(result, 3, "[unknown_report]", "NOT_FOUND", "failed at height")


def test_a_retirement_above_the_balance_is_refused_before_signing(
    devnet: DevnetInfo, story: dict[str, str]
) -> None:
    node = ["--node", devnet.endpoints[0]]
    before = ok("query", "account", story["company"], *node)
    result = run(
        "tx", "retire", story["batch_id"], "1000000", "--beneficiary", "x", "--reason", "x",
        *common(devnet, "company"),
    )  # fmt: skip
    one_line_error(result, 3, "refused before signing", "[insufficient_balance]", "15000 tCO2e")
    assert ok("query", "account", story["company"], *node) == before  # the nonce is unused


@pytest.mark.parametrize(
    ("args", "password", "exit_code", "fragment"),
    [
        (("--to", "ct1notanaddress", "--amount", "1"), PASSWORD, 2, "invalid address"),
        (("--to", "@registrar", "--amount", "1,5"), PASSWORD, 2, "invalid amount"),
        (("--to", "@registrar", "--amount", "-3"), PASSWORD, 2, "invalid amount"),
        (("--to", "@registrar", "--amount", "1"), "wrong", 5, "wrong password"),
        (("--to", "@registrar", "--amount", "1", "--key", "ghost"), PASSWORD, 5, "no key named"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    devnet: DevnetInfo,
    story: dict[str, str],
    args: tuple[str, ...],
    password: str,
    exit_code: int,
    fragment: str,
) -> None:
    before = ok("query", "account", story["company"], "--node", devnet.endpoints[0])
    result = run(
        "tx",
        "transfer",
        "--batch",
        story["batch_id"],
        *args,
        *common(devnet, "company"),
        password=password,
    )
    one_line_error(result, exit_code, fragment)
    after = ok("query", "account", story["company"], "--node", devnet.endpoints[0])
    assert after == before


def test_unreachable_node_is_one_line(devnet: DevnetInfo, dead_address: str) -> None:
    dead = dead_address
    result = run(
        "tx",
        "transfer",
        "--to",
        "@registrar",
        "--batch",
        "B",
        "--amount",
        "1",
        "--node",
        dead,
        "--keystore",
        str(devnet.wallet_dir),
        "--key",
        "issuer",
    )
    one_line_error(result, 4, "node unreachable", dead, "--node", "CARBON_TICKET_NODE")
    one_line_error(run("query", "status", "--node", dead), 4, "node unreachable")


def test_not_found_query_is_one_line(devnet: DevnetInfo) -> None:
    result = run("query", "batch", "NOPE-1", "--node", devnet.endpoints[0])
    one_line_error(result, 3, "does not exist", "[unknown_batch]", "NOT_FOUND")


def test_demo_runs_twice_on_the_same_network(devnet: DevnetInfo) -> None:
    for _ in range(2):
        result = run("demo", "--home", str(devnet.home))
        assert result.exit_code == 0, result.output
        assert "[7/7] enterprise retires 5,000 tCO2e" in result.stdout
        assert re.search(r"^event +14th National Winter Games$", result.stdout, re.M), result.stdout
        assert re.search(r"^retired +5000 tCO2e$", result.stdout, re.M), result.stdout


def test_governance_short_of_signatures_is_refused_before_it_is_sent(
    devnet: DevnetInfo, story: dict[str, str], tmp_path: Path
) -> None:
    node = ["--node", devnet.endpoints[0]]
    before = ok("query", "account", "@issuer", *node, "--keystore", str(devnet.wallet_dir))
    grant = ("tx", "grant-role", story["company"], "merchant")
    # Simulated: the ledger's own permission refusal (the issuer operates no validator).
    result = run(*grant, *common(devnet, "issuer"))
    one_line_error(
        result,
        3,
        "refused before signing",
        "operators of the validators",
        "[not_validator_operator]",
    )
    # Without the simulation, the wallet's own count: its signature counts for nothing of 2/3.
    result = run(*grant, "--no-simulate", *common(devnet, "issuer"))
    one_line_error(result, 3, "refused before sending", "1 more needed",
                   "[insufficient_validator_signatures]")  # fmt: skip
    out = tmp_path / "grant.json"
    written = run(*grant, "--out", str(out), "--no-simulate", *common(devnet, "issuer"))
    assert written.exit_code == 0 and "1 more validator signature(s) needed" in written.stdout
    # Broadcast simulates it as signed: the node refuses the non-validator's co-signature.
    refused = run("tx", "broadcast", str(out), *node)
    one_line_error(refused, 3, "[unexpected_signature]")
    after = ok("query", "account", "@issuer", *node, "--keystore", str(devnet.wallet_dir))
    assert after["nonce"] == before["nonce"]  # nothing reached the ledger
