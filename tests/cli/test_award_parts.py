"""``tx award-points`` with more awards than one transaction holds (cli/award_parts.py): the
wallet sends them as several transactions with one password and consecutive nonces; a rerun of
the same file finds its parts already applied; a refused part stops the run, naming the parts on
the ledger. On the shared one-validator devnet, each test with residents of its own."""

from __future__ import annotations

import datetime
import itertools
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from click.testing import CliRunner, Result

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.cli.award_parts import (
    Part,
    _limits_in_force,
    _refusal_status,
    _signed_size,
    split_awards,
)
from carbon_ticket.cli.client import LedgerClient, make_body
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.proto import ledger_pb2, services_pb2
from tests.cli.harness import running_devnet, stub_for, wallet_keys


def run(*args: str, password_line: bool = False) -> Result:
    """The CLI; with ``password_line`` the password comes once, as the one line of stdin (a
    second ask would find none and exit 5)."""
    env = {"CARBON_TICKET_PASSWORD": None if password_line else "devnet",
           "CARBON_TICKET_CONNECT_TIMEOUT": "1", "CARBON_TICKET_CONFIG": None,
           "CARBON_TICKET_NODE": None}  # fmt: skip
    stdin = "devnet\n" if password_line else None
    return CliRunner().invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)


def operator(info: DevnetInfo) -> list[str]:
    return ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir),
            "-k", "points-operator"]  # fmt: skip


def chain_day(days_ago: int) -> str:
    """A day in the devnet chain's time zone (UTC+8)."""
    local = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=8, days=-days_ago)
    return local.strftime("%Y%m%d")


def new_residents(info: DevnetInfo, count: int) -> list[str]:
    """``count`` residents registered now: their points are this test's alone."""
    addresses: list[str] = [PrivateKey.generate().address for _ in range(count)]
    registrar = ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir), "-k",
                 "registrar", "-o", "json"]  # fmt: skip
    for address in addresses:
        result = run("tx", "register-account", address, "--kind", "resident", *registrar)
        assert result.exit_code == 0, result.output
    return addresses


def awards_file(path: Path, recipients: Sequence[str], count: int, day: str) -> Path:
    """``count`` awards of 1 point, round robin over ``recipients``, each with its own ref."""
    tag = time.time_ns()
    rows = [f"{recipients[n % len(recipients)]},walk,{day},1,split-{tag}-{n:05d}"
            for n in range(count)]  # fmt: skip
    path.write_text("recipient,activity,day,points,ref\n" + "\n".join(rows) + "\n")
    return path


def points(info: DevnetInfo, addresses: Sequence[str]) -> list[int]:
    with stub_for(info.endpoints[0]) as stub:
        return [
            stub.GetPoints(services_pb2.GetPointsRequest(address=a), timeout=10).balance
            for a in addresses
        ]


def operator_nonce(info: DevnetInfo) -> int:
    with stub_for(info.endpoints[0]) as stub:
        return LedgerClient(stub).next_nonce(wallet_keys(info)["points-operator"].address)


def statuses(document: dict[str, Any]) -> list[str]:
    return [part["status"] for part in document["parts"]]


def test_a_file_too_big_for_one_transaction_commits_as_several_with_one_password(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    # Reproduction: 450 awards (a transaction of 39 KB, the chain allows 16 KiB) exited 2
    # with [tx_too_large] and the operator had to split the file by hand.
    info = shared_devnet
    residents = new_residents(info, 3)
    awards = awards_file(tmp_path / "awards.csv", residents, 450, chain_day(1))
    nonce = operator_nonce(info)
    result = run("tx", "award-points", "--file", str(awards), *operator(info), "-o", "json",
                 password_line=True)  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    parts = document["parts"]
    assert len(parts) >= 2 and statuses(document) == ["committed"] * len(parts)
    # The awards keep the file's order, each part after the one before, with consecutive nonces
    assert [p["first_award"] for p in parts] == [sum(q["awards"] for q in parts[:i])
                                                  for i in range(len(parts))]  # fmt: skip
    assert sum(p["awards"] for p in parts) == 450
    for part in parts:
        events = part["receipt"]["events"]
        assert part["committed"] and part["receipt"]["code"] == 0 and len(part["tx_hash"]) == 64
        assert [e["outcome"] for e in events if e["type"] == "award"] == ["ok"] * part["awards"]
    assert document["totals"] == {
        "parts": len(parts), "committed": len(parts), "already_applied": 0, "not_sent": 0,
        "awards": 450, "applied": 450, "rejected": 0, "points": 450, "already_applied_awards": 0,
    }  # fmt: skip
    assert points(info, residents) == [150, 150, 150]
    assert operator_nonce(info) == nonce + len(parts)
    with stub_for(info.endpoints[0]) as stub:
        committed = [
            stub.GetTx(services_pb2.GetTxRequest(tx_hash=bytes.fromhex(p["tx_hash"])), timeout=10)
            for p in parts
        ]
    assert [t.body.nonce for t in committed] == list(range(nonce, nonce + len(parts)))
    assert [len(t.envelope.signatures) for t in committed] == [1] * len(parts)

    # The same file again: every part already applied, nothing signed, no balance changed
    again = run("tx", "award-points", "--file", str(awards), *operator(info))
    assert again.exit_code == 0, again.output
    lines = again.stdout.splitlines()
    assert len(lines) == len(parts) + 1
    for number, line in enumerate(lines[:-1], start=1):
        assert line.startswith(f"part {number} of {len(parts)} (awards ")
        assert line.endswith("already applied: every award's reference was used before")
    assert lines[-1] == (
        f"0 of {len(parts)} parts committed, {len(parts)} already applied; "
        "0 of 450 awards applied (0 points), 0 refused, 450 applied before"
    )
    assert points(info, residents) == [150, 150, 150]
    assert operator_nonce(info) == nonce + len(parts)


def test_a_refused_part_stops_the_run_and_a_rerun_after_the_fix_completes_it(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    info = shared_devnet
    residents = new_residents(info, 3)
    stranger = PrivateKey.generate().address  # not registered: its awards are refused
    day = chain_day(2)
    awards = awards_file(tmp_path / "good.csv", residents, 300, day)
    bad = awards_file(tmp_path / "bad.csv", [stranger], 300, day)
    rows = awards.read_text() + "".join(bad.read_text().splitlines(keepends=True)[1:])
    awards.write_text(rows)
    nonce = operator_nonce(info)
    args = ("tx", "award-points", "--file", str(awards), *operator(info))
    result = run(*args, "-o", "json")
    # The one transaction's path exits 3 for a refusal before signing: so does the run
    assert result.exit_code == 3, result.output
    document = json.loads(result.stdout)
    got = statuses(document)
    stop = got.index("refused")
    # Parts of good awards, then one mixing both (its good awards apply), commit; the first part
    # with no good award is refused with the ledger's code, nothing after it is signed or sent
    assert stop >= 2 and got == ["committed"] * stop + ["refused"] + ["not_sent"] * (
        len(got) - stop - 1
    )
    refused = document["parts"][stop]
    assert refused["error_code"] == "unknown_account"
    assert document["parts"][stop - 1]["first_award"] < 300 < refused["first_award"]
    assert document["totals"]["applied"] == 300 and document["totals"]["committed"] == stop
    assert points(info, residents) == [100, 100, 100]
    assert operator_nonce(info) == nonce + stop
    stderr = result.stderr.strip().splitlines()
    assert len(stderr) == 1 and "[unknown_account]" in stderr[0], result.stderr
    first_line = 2 + refused["first_award"]  # the header is line 1
    assert f"part {stop + 1} of {len(got)} (awards {refused['first_award']}-" in stderr[0]
    assert f"the first on line {first_line} of {awards}): " in stderr[0]
    assert f"on the ledger: parts 1-{stop}; " in stderr[0]
    assert f"not sent by this run: parts {stop + 1}-{len(got)}; " in stderr[0]

    # Rerun unchanged: the mixed part's applied awards are duplicates now and its others still
    # refused: not "already applied" (the ledger names both reasons), refused with the code of
    # its first award, and nothing sent
    unchanged = run(*args, "-o", "json")
    assert unchanged.exit_code == 3, unchanged.output
    document = json.loads(unchanged.stdout)
    got = statuses(document)
    assert got[: stop - 1] == ["already_applied"] * (stop - 1)
    assert got[stop - 1] == "refused" and document["parts"][stop - 1]["error_code"] == (
        "duplicate_ref"
    )
    assert operator_nonce(info) == nonce + stop

    # Once the stranger is a resident, the same file completes: the applied parts are skipped,
    # the mixed part applies its other awards (its applied ones refused as duplicates)
    registrar = ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir), "-k",
                 "registrar"]  # fmt: skip
    assert run("tx", "register-account", stranger, "--kind", "resident", *registrar).exit_code == 0
    fixed = run(*args)
    assert fixed.exit_code == 0, fixed.output
    lines = fixed.stdout.splitlines()
    assert all("already applied" in line for line in lines[: stop - 1])
    assert " awards applied (" in lines[stop - 1] and "refused:" in lines[stop - 1]
    assert lines[stop].startswith("  award ") and lines[stop].endswith(": duplicate_ref")
    assert points(info, [*residents, stranger]) == [100, 100, 100, 300]
    assert lines[-1].endswith(
        "300 of 600 awards applied (300 points), "
        f"{600 - 300 - document['parts'][stop - 1]['first_award']} "
        "refused, "
        f"{document['parts'][stop - 1]['first_award']} applied before"
    )


def test_no_wait_out_and_no_simulate_take_one_transaction(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    # --no-simulate (review, 2026-12-03): a part's simulation is what tells it already applied;
    # without it a rerun's first applied part committed and failed, used a nonce and stopped
    info = shared_devnet
    awards = awards_file(tmp_path / "awards.csv", [PrivateKey.generate().address], 450, "20260101")
    for flag in (["--no-wait"], ["--out", str(tmp_path / "cosign.json")], ["--no-simulate"]):
        # No password is given: the refusal comes before it is asked
        result = CliRunner().invoke(
            cli,
            ["tx", "award-points", "--file", str(awards), *operator(info), *flag],
            env={"CARBON_TICKET_PASSWORD": None, "CARBON_TICKET_CONFIG": None},
            input="",
        )
        assert result.exit_code == 2, result.output
        assert re.search(
            f"these 450 awards need [2-9] transactions and {flag[0]} takes one", result.stderr
        ), result.stderr
        assert "split the file into parts of at most " in result.stderr
    assert not (tmp_path / "cosign.json").exists()


def test_parts_follow_a_limit_governance_lowered_since_genesis(tmp_path: Path) -> None:
    # Its own devnet: the lowered limit must not reach the other tests. The wallet cuts by the
    # 8 KiB in force (GetParams), not by the genesis' 16 KiB, which the node would refuse.
    with running_devnet(tmp_path / "devnet") as (info, _node):
        wallet = ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir)]
        proposed = run("tx", "propose", "--title", "smaller transactions", "--voting-period",
                       "50", "--set-param", "limits.max_tx_bytes=8192", *wallet, "-k",
                       "operator0", "-o", "json")  # fmt: skip
        assert proposed.exit_code == 0, proposed.output
        proposal = json.loads(proposed.stdout)["receipt"]["events"][0]["proposal_id"]
        voted = run("tx", "vote", proposal, "yes", *wallet, "-k", "operator0")
        assert voted.exit_code == 0 and "passed" in voted.output, voted.output
        residents = new_residents(info, 1)
        awards = awards_file(tmp_path / "awards.csv", residents, 300, chain_day(1))
        result = run("tx", "award-points", "--file", str(awards), *operator(info), "-o", "json")
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert statuses(document) == ["committed"] * len(document["parts"])
        assert len(document["parts"]) >= 4 and document["totals"]["applied"] == 300
        with stub_for(info.endpoints[0]) as stub:
            sizes = [
                stub.GetTx(services_pb2.GetTxRequest(tx_hash=bytes.fromhex(p["tx_hash"])),
                           timeout=10).envelope.ByteSize()
                for p in document["parts"]
            ]  # fmt: skip
        # Each part within the node's limit, and all but the last close to it (an award here is
        # about 90 bytes): cut to the limit, not halved until it fits
        assert max(sizes) <= 8192 and min(sizes[:-1]) > 8192 - 2 * 90
        assert points(info, residents) == [300]


def _award(ref: str, evidence: bool = False) -> ledger_pb2.Award:
    evidence_hash = b"e" * 32 if evidence else b""
    return ledger_pb2.Award(recipient="ct1x", activity=ledger_pb2.ACTIVITY_WALK, day=20260101,
                            points=1, external_ref=ref, evidence_hash=evidence_hash)  # fmt: skip


def test_the_split_keeps_the_order_and_makes_as_few_parts_as_fit() -> None:
    awards = [_award(f"r{n}" * (1 + n % 7), evidence=n % 3 == 0) for n in range(500)]

    def size(part: Sequence[ledger_pb2.Award]) -> int:
        return ledger_pb2.AwardPoints(awards=part).ByteSize()

    for most, budget in ((1000, 4000), (40, 100_000), (7, 300)):

        def fits(part: Sequence[ledger_pb2.Award], budget: int = budget) -> bool:
            return size(part) <= budget

        parts = split_awards(awards, fits, most)
        assert parts[0].start == 0 and parts[-1].stop == len(awards)
        assert all(a.stop == b.start for a, b in itertools.pairwise(parts))
        for part in parts:
            assert part.count <= most and size(awards[part.start : part.stop]) <= budget
            if part.stop < len(awards):  # one award more would not fit
                over = awards[part.start : part.stop + 1]
                assert part.count == most or size(over) > budget
    # An award larger than any part goes alone, for the node to refuse it
    assert split_awards(awards[:3], lambda part: len(part) < 1, 10) == [
        Part(0, 1),
        Part(1, 2),
        Part(2, 3),
    ]


def test_a_part_is_measured_as_the_wallet_signs_it() -> None:
    """References are signed in NFC, which can be longer than as written (U+0958, 3 bytes, is
    U+0915 U+093C, 6 bytes): a part measured as written could be refused as too large, on every
    rerun alike (review, 2026-12-03)."""
    key = PrivateKey.generate()
    awards = [_award("\u0958" * 20 + str(n)) for n in range(30)]
    msg = ledger_pb2.AwardPoints(awards=awards)
    body = make_body("carbon-devnet", key.address, 2**64 - 1, msg, "memo \u0958")
    signed = encode_tx(body, [key])
    assert len(signed) == _signed_size(awards, "carbon-devnet", key.address, "memo \u0958", 1)
    assert len(signed) > len(encode_tx(ledger_pb2.TxBody(
        chain_id="carbon-devnet", signer=key.address, nonce=2**64 - 1, memo="memo \u0958",
        award_points=msg), [key]))  # fmt: skip


class _Refused(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, trailer: tuple[tuple[str, str], ...] = ()) -> None:
        self._code, self._trailer = code, trailer

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "refused"

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._trailer


def test_a_refused_submission_says_whether_the_part_is_on_the_ledger() -> None:
    committed = (("ledger-error-code", "daily_cap_exceeded"), ("ledger-tx-hash", "ab" * 32))
    assert _refusal_status(_Refused(grpc.StatusCode.FAILED_PRECONDITION, committed)) == "failed"
    not_admitted = (("ledger-error-code", "nonce_used"),)
    assert _refusal_status(_Refused(grpc.StatusCode.FAILED_PRECONDITION, not_admitted)) == (
        "refused"
    )
    assert _refusal_status(_Refused(grpc.StatusCode.UNAVAILABLE)) == "pending"


class _OldNode:
    """A node that predates GetParams: its genesis' limits are all the wallet can read."""

    def GetParams(self, request: Any, timeout: float) -> Any:
        raise _Refused(grpc.StatusCode.UNIMPLEMENTED)

    def GetGenesis(self, request: Any, timeout: float) -> Any:
        genesis = Genesis.from_json(json.dumps({
            "chain_id": "old-chain", "genesis_time_ms": 1, "validators": [
                {"name": "v0", "public_key": "11" * 32, "network_address": "127.0.0.1:1"}],
            "params": {"limits": {"max_tx_bytes": 9000}}}))  # fmt: skip
        return services_pb2.GenesisInfo(chain_id="old-chain", genesis_json=genesis.to_json())


def test_a_node_without_get_params_gives_its_genesis_limits() -> None:
    chain_id, limits = _limits_in_force(_OldNode(), 5.0)
    assert (chain_id, limits.max_tx_bytes) == ("old-chain", 9000)
