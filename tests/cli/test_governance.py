"""Governance through the CLI on its own one-validator devnet (issue 16): proposals voted by the
validator's operator key (``operator0``): a parameter change and a transaction it refuses then
permits, a project handover, a freeze that refuses a transfer and an unfreeze that lets it pass;
the proposal and validator queries; and the wallet's own refusals of bad options."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.cli.client import make_body, missing_signatures
from carbon_ticket.cli.common import EXIT_USAGE, CliError
from carbon_ticket.cli.cosign import CosignFile, Member, read_cosign
from carbon_ticket.cli.governance_cmds import parse_actions
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DEVNET_POINTS_DAILY_CAP, DevnetInfo
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.cli.harness import issue_fresh_batch, running_devnet

T = 1_000_000


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetInfo]:
    # Its own devnet: the parameter changed here must not reach the other modules' tests.
    with running_devnet(tmp_path_factory.mktemp("governance") / "devnet") as (info, _node):
        yield info


def run(*args: str) -> Result:
    env = {"CARBON_TICKET_PASSWORD": "devnet", "CARBON_TICKET_CONNECT_TIMEOUT": "1",
           "CARBON_TICKET_CONFIG": None, "CARBON_TICKET_NODE": None}  # fmt: skip
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def ok(*args: str) -> Any:
    result = run(*args, "-o", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def signed_by(info: DevnetInfo, key: str) -> list[str]:
    return ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir), "-k", key]


def node(info: DevnetInfo) -> list[str]:
    return ["--node", info.endpoints[0]]


def refused(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def propose_and_pass(info: DevnetInfo, *actions: str) -> int:
    """Submit a proposal with ``actions`` and vote it through with operator0 (all the power);
    returns the proposal id."""
    submitted = ok("tx", "propose", "--title", "devnet change", "--voting-period", "50",
                   *actions, *signed_by(info, "operator0"))  # fmt: skip
    events = submitted["receipt"]["events"]
    proposal_id = int(events[0]["proposal_id"])
    voted = ok("tx", "vote", str(proposal_id), "yes", *signed_by(info, "operator0"))
    types = [e["type"] for e in voted["receipt"]["events"]]
    assert types[:2] == ["cast_vote", "proposal_passed"], voted
    return proposal_id


def chain_day() -> str:
    """Today in the devnet chain's time zone (UTC+8)."""
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=8)).strftime("%Y%m%d")


def award(info: DevnetInfo, points: int, ref: str) -> Result:
    resident = ok("keys", "show", "resident", "--keystore", str(info.wallet_dir))["address"]
    return run("tx", "award-points", "--award", f"{resident}:walk:{chain_day()}:{points}:{ref}",
               "-o", "json", *signed_by(info, "points-operator"))  # fmt: skip


def test_a_parameter_change_by_proposal_refuses_then_permits(devnet: DevnetInfo) -> None:
    assert award(devnet, DEVNET_POINTS_DAILY_CAP - 100, "gov-1").exit_code == 0
    over = award(devnet, 200, "gov-2")  # 400 + 200 > the devnet cap of 500
    refused(over, 3, "[daily_cap_exceeded]")
    cap = "rate_limits.points_daily_cap"
    before = ok("query", "params", *node(devnet))["params"]
    assert {"name": cap, "value": "500", "genesis_value": "500"} in before
    assert ok("query", "params", "--changed", *node(devnet))["params"] == []
    pid = propose_and_pass(devnet, "--set-param", f"{cap}=1000")
    assert award(devnet, 200, "gov-3").exit_code == 0  # the next block runs under the new cap
    # The wallet shows the value in force and the genesis one, under the proposal's names
    after = ok("query", "params", *node(devnet))["params"]
    assert [p["name"] for p in after] == [p["name"] for p in before]
    assert [p for p in after if p not in before] == [
        {"name": cap, "value": "1000", "genesis_value": "500"}
    ]
    assert ok("query", "params", "--changed", *node(devnet))["params"] == [
        {"name": cap, "value": "1000", "genesis_value": "500"}
    ]
    table = run("query", "params", *node(devnet)).output.splitlines()
    assert table[1].split() == ["NAME", "VALUE", "GENESIS", "(if", "changed)"]
    assert [line.split() for line in table if line.startswith(cap)] == [[cap, "1000", "500"]]
    assert ["limits.max_tx_bytes", "16384"] in [line.split() for line in table]
    shown = ok("query", "proposal", str(pid), *node(devnet))
    assert shown["status"] == "passed" and shown["yes_power"] == shown["total_power"] == 1
    change = shown["actions"][0]["change_params"]["changes"][0]
    assert change == {"name": "rate_limits.points_daily_cap", "value": "1000"}
    assert [v["option"] for v in shown["votes"]] == ["yes"]


def test_a_project_handover_by_proposal(devnet: DevnetInfo, tmp_path: Path) -> None:
    batch_id = issue_fresh_batch(devnet, "CN15-HO", 100 * T)
    project_id = batch_id.rsplit("-", 3)[0]
    wallet = ["--keystore", str(devnet.wallet_dir)]
    successor = ok("keys", "new", "successor", *wallet)["address"]
    ok("tx", "register-account", successor, "--kind", "company", "--name", "Provincial bureau",
       *signed_by(devnet, "registrar"))  # fmt: skip
    # One proposal: the successor becomes an issuer, then takes the project over.
    pid = propose_and_pass(
        devnet,
        "--grant-role",
        f"{successor}:issuer",
        "--appoint-issuer",
        f"{project_id}:@successor",
    )
    executed = ok("query", "tx", ok("query", "proposal", str(pid), *node(devnet))["votes"][0][
        "tx_hash"], *node(devnet))["receipt"]["events"]  # fmt: skip
    appointed = [e for e in executed if e["type"] == "appoint_issuer"]
    assert appointed[0]["issuer"] == successor and appointed[0]["project_id"] == project_id
    data = tmp_path / "survey.csv"
    data.write_text("plot,height\n1,12.5\n")
    anchor = ("tx", "anchor-data", project_id, "--file", str(data), "--period",
              "20240101-20241231", "--uri", "https://x/survey", "--kind", "survey")  # fmt: skip
    refused(run(*anchor, *signed_by(devnet, "issuer")), 3, "[not_project_issuer]")
    assert run(*anchor, *signed_by(devnet, "successor")).exit_code == 0


def test_freeze_refuses_a_transfer_and_unfreeze_lets_it_pass(devnet: DevnetInfo) -> None:
    batch_id = issue_fresh_batch(devnet, "CN15-FZ", 100 * T)
    wallet = ["--keystore", str(devnet.wallet_dir)]
    company = ok("keys", "new", "frozen-co", *wallet)["address"]
    ok("tx", "register-account", company, "--name", "Frozen Co", *signed_by(devnet, "registrar"))
    ok("tx", "transfer", "--to", company, "--batch", batch_id, "--amount", "10",
       *signed_by(devnet, "issuer"))  # fmt: skip
    propose_and_pass(devnet, "--freeze", "@frozen-co", "--reason", "court order 17")
    send_back = ("tx", "transfer", "--to", "@issuer", "--batch", batch_id, "--amount", "1",
                 *signed_by(devnet, "frozen-co"))  # fmt: skip
    refused(run(*send_back), 3, "[account_frozen]", "court order 17")
    ok("tx", "transfer", "--to", company, "--batch", batch_id, "--amount", "1",
       *signed_by(devnet, "issuer"))  # a frozen account still receives  # fmt: skip
    propose_and_pass(devnet, "--unfreeze", company)
    assert ok(*send_back)["receipt"]["code"] == 0
    balance = ok("query", "account", company, *node(devnet))["balances"]
    assert balance[0]["amount_grams"] == 10 * T


def test_query_proposals_and_validators(devnet: DevnetInfo) -> None:
    pid = int(
        ok(
            "tx",
            "propose",
            "--title",
            "left open",
            "--voting-period",
            "1000",
            "--freeze",
            "@issuer",
            *signed_by(devnet, "operator0"),
        )["receipt"]["events"][0]["proposal_id"]
    )
    listed = ok("query", "proposals", "--status", "voting", *node(devnet))["items"]
    assert [p["proposal_id"] for p in listed] == [pid] and listed[0]["title"] == "left open"
    table = run("query", "proposals", *node(devnet))
    assert table.exit_code == 0 and "left open" in table.output and "voting" in table.output
    page = ok("query", "proposals", "--limit", "1", *node(devnet))
    assert len(page["items"]) == 1 and page["next_page_token"]
    validators = ok("query", "validators", *node(devnet))
    operator0 = ok("keys", "show", "operator0", "--keystore", str(devnet.wallet_dir))["address"]
    assert [(v["name"], v["power"], v["operator"]) for v in validators["validators"]] == [
        ("node0", 1, operator0)
    ]
    assert validators["effective_height"] == 1 and validators["pending_height"] == 0
    table = run("query", "validators", "--height", "1", *node(devnet))
    assert table.exit_code == 0 and "node0" in table.output and operator0 in table.output
    refused(run("query", "validators", "--height", "999999", *node(devnet)), 3, "not decided")
    refused(run("query", "proposal", "999", *node(devnet)), 3, "unknown_proposal")
    vote = run("tx", "vote", str(pid), "no", *signed_by(devnet, "operator0"))
    assert vote.exit_code == 0 and f"proposal {pid}: rejected" in vote.output


def test_only_an_operator_proposes_and_votes(devnet: DevnetInfo) -> None:
    refused(run("tx", "propose", "--title", "t", "--freeze", "@resident",
                *signed_by(devnet, "issuer")), 3, "[not_validator_operator]")  # fmt: skip
    refused(run("tx", "vote", "1", "yes", *signed_by(devnet, "issuer")), 3,
            "[not_validator_operator]")  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "at least one action"),
        (("--add-validator", "n:zz:h:1"), "64 hex digits"),
        (("--add-validator", "n"), "NAME:PUBKEY_HEX:HOST:PORT"),
        (("--set-param", "buffer_share_bps"), "NAME=VALUE"),
        (("--grant-role", "@issuer:validator"), "invalid role"),
        (("--set-power", f"{'ab' * 32}:0"), "invalid power"),
    ],
)
def test_bad_action_options_are_refused_before_anything_is_sent(
    devnet: DevnetInfo, args: tuple[str, ...], fragment: str
) -> None:
    refused(run("tx", "propose", "--title", "t", *args, *signed_by(devnet, "operator0")), 2,
            fragment)  # fmt: skip


def test_a_ledger_refusal_of_a_proposal_comes_before_signing(devnet: DevnetInfo) -> None:
    stranger = PrivateKey(hashlib.sha256(b"stranger").digest()).address
    refused(run("tx", "propose", "--title", "t", "--freeze", stranger,
                *signed_by(devnet, "operator0")), 3, "refused before signing",
            "[unknown_account]")  # fmt: skip
    refused(run("tx", "propose", "--title", "t", "--remove-validator", "node0",
                *signed_by(devnet, "operator0")), 3, "[too_few_validators]")  # fmt: skip
    refused(run("tx", "propose", "--title", "t", "--remove-validator", "nobody",
                *signed_by(devnet, "operator0")), 2, "no validator named")  # fmt: skip


def test_actions_keep_the_documented_order() -> None:
    options: dict[str, tuple[str, ...]] = {
        name: ()
        for name in (
            "add_validator",
            "remove_validator",
            "set_power",
            "set_address",
            "rotate_key",
            "grant_role",
            "revoke_role",
            "set_param",
            "appoint_issuer",
            "freeze",
            "unfreeze",
        )
    }
    address = PrivateKey(bytes(32)).address
    options.update(
        unfreeze=(address,), set_param=("a.b=1", "c=2"), grant_role=(f"{address}:issuer",)
    )
    kinds = [a.WhichOneof("action") for a in parse_actions(options, "", None, "127.0.0.1:1")]
    assert kinds == ["grant_role", "change_params", "unfreeze_account"]


def test_genesis_new_takes_power_and_operator(tmp_path: Path) -> None:
    keys = [PrivateKey(hashlib.sha256(bytes([i])).digest()) for i in range(4)]
    operator = PrivateKey(hashlib.sha256(b"officer").digest()).address
    specs = [f"b{i}={k.public_key.hex()}@10.0.0.{i}:26656" for i, k in enumerate(keys)]
    specs[0] += f",power=3,operator={operator}"
    out = tmp_path / "genesis.json"
    args = [a for spec in specs for a in ("--validator", spec)]
    result = run("genesis", "new", "--chain-id", "c-1", *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    shown = ok("genesis", "show", str(out))["validators"]
    assert [(v["power"], v["operator"]) for v in shown] == [
        (3, operator),
        *((1, k.address) for k in keys[1:]),
    ]
    bad = run("genesis", "new", "--chain-id", "c-1", "--validator", specs[1] + ",weight=2",
              "--out", str(tmp_path / "bad.json"))  # fmt: skip
    refused(bad, 2, "power=N")


def test_the_wallet_counts_operator_power_for_the_shortcut() -> None:
    validators = [PrivateKey(bytes([i + 1]) * 32) for i in range(4)]
    officers = [PrivateKey(bytes([i + 11]) * 32) for i in range(4)]
    powers = (10, 1, 1, 1)
    members = tuple(
        Member(f"node{i}", v.address, v.public_key, o.address, p)
        for i, (v, o, p) in enumerate(zip(validators, officers, powers, strict=True))
    )
    infos = [
        services_pb2.ValidatorInfo(name=m.name, public_key=m.public_key, address=m.address,
                                   operator=m.operator, power=m.power)
        for m in members
    ]  # fmt: skip
    grant = ledger_pb2.GrantRole(address=officers[3].address, role=ledger_pb2.ROLE_VERIFIER)
    body = make_body("c", officers[1].address, 0, grant)

    def cosign(*keys: PrivateKey) -> CosignFile:
        return CosignFile(ledger_pb2.TxEnvelope.FromString(encode_tx(body, list(keys))), body,
                          members)  # fmt: skip

    # Three small operators hold 3 of 13: the heavy one is still needed (one more signature).
    needed, awaiting = cosign(*officers[1:]).awaiting()
    assert (needed, [a["name"] for a in awaiting]) == (1, ["node0"])
    assert cosign(officers[0]).awaiting() == (0, [])  # 10 of 13 alone
    # Validator keys count for nothing once operators are bound.
    assert cosign(*validators).awaiting()[0] == 1
    assert missing_signatures([k.public_key for k in officers[1:]], infos) == (1, 3)
    assert missing_signatures([officers[0].public_key], infos) == (0, 1)


@pytest.mark.parametrize(
    ("tx_hex", "says"),
    [("zz", "cannot read a transaction"), ("ff" * 8, "does not hold a transaction")],
)
def test_a_cosign_file_without_a_transaction_is_a_usage_error(
    tmp_path: Path, tx_hex: str, says: str
) -> None:
    path = tmp_path / "cosign.json"
    path.write_text(json.dumps({"version": 2, "tx": tx_hex, "validators": []}))
    with pytest.raises(CliError, match=says) as refused:
        read_cosign(path)
    assert refused.value.exit_code == EXIT_USAGE
