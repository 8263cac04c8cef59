"""Every exit code README promises, each from a case that once exited with another one.

0 done, 1 ``verify`` failed or a devnet node died, 2 bad input, 3 refused by the ledger, 4 node
unreachable, 5 wallet, 6 not committed in time, 7 a damaged data directory (``node start``).
The click app runs in-process.
"""

from __future__ import annotations

import ast
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli import common, node_cmds, verify
from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo, init_devnet
from tests.cli.harness import free_port

PASSWORD = "devnet"


def run(*args: str, password: str | None = PASSWORD, **env: str) -> Result:
    base = {"CARBON_TICKET_CONNECT_TIMEOUT": "1", "CARBON_TICKET_CONFIG": None}
    if password is not None:
        base["CARBON_TICKET_PASSWORD"] = password
    return CliRunner().invoke(cli, list(args), env={**base, **env}, catch_exceptions=False)


def exits(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def wallet(info: DevnetInfo, *keys: str) -> list[str]:
    out = ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir)]
    for key in keys:
        out += ["-k", key]
    return out


# ---------------------------------------------------------------- 0 and 1


def test_0_when_done(shared_devnet: DevnetInfo) -> None:
    assert run("query", "status", "--node", shared_devnet.endpoints[0]).exit_code == 0


def test_1_when_verify_finds_the_bundle_invalid(shared_devnet: DevnetInfo, tmp_path: Path) -> None:
    bundle = tmp_path / "cert.json"
    bundle.write_text("{}")
    result = run("verify", str(bundle), "--genesis", str(shared_devnet.home / "genesis.json"))
    exits(result, 1, "verification failed")


class _DeadProcess:
    returncode = 3

    def poll(self) -> int:
        return self.returncode


class _OneNodeDies:
    """Stands in for the devnet's processes: node1 has exited as soon as it started."""

    def __init__(self, info: Any) -> None:
        self.procs: dict[int, Any] = {}
        self.stopped = False

    def start_all(self) -> None:
        self.procs = {1: _DeadProcess()}

    def stop_all(self) -> None:
        self.stopped = True


def test_1_when_a_devnet_node_dies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_devnet(tmp_path / "net", validators=1, base_port=free_port(), wallet_kdf=TEST_KDF)
    monkeypatch.setattr(node_cmds, "DevnetProcesses", _OneNodeDies)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = run("devnet", "up", "--home", str(tmp_path / "net"))
    finally:  # devnet up installs its own SIGINT/SIGTERM handlers: give the old ones back
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert "devnet stopped" in result.stdout
    exits(result, 1, "node1 exited with code 3")


# ---------------------------------------------------------------- 2 bad input


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--period", "20231301-20231231"), "20231301 is not a calendar date"),
        (("--period", "20230230-20231231"), "20230230 is not a calendar date"),
        (("--period", "20231231-20230101"), "the start is after the end"),
        (("--period", "2023-2024"), "write YYYYMMDD-YYYYMMDD"),
    ],
)
def test_2_for_an_invalid_calendar_period(
    shared_devnet: DevnetInfo, args: tuple[str, ...], fragment: str
) -> None:
    result = run(
        "tx", "anchor-data", "CN15-X", "--hash", "ab" * 32, "--uri", "u", *args,
        *wallet(shared_devnet, "issuer"),
    )  # fmt: skip
    exits(result, 2, fragment)


def test_2_when_verify_cannot_use_its_files(shared_devnet: DevnetInfo, tmp_path: Path) -> None:
    # A file that is missing, unreadable or no JSON at all is bad input, named in one line; only
    # a bundle that fails to prove its certificate is exit 1.
    genesis = str(shared_devnet.home / "genesis.json")
    missing = tmp_path / "nope.json"
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe{}")
    exits(run("verify", str(missing), "--genesis", genesis), 2,
          f"cannot read bundle {missing}", "No such file")  # fmt: skip
    exits(run("verify", str(junk), "--genesis", str(missing)), 2, f"cannot read genesis {missing}")
    exits(run("verify", str(junk), "--genesis", genesis), 2, f"bundle {junk} is not valid JSON")
    exits(run("verify", str(binary), "--genesis", genesis), 2, f"cannot read bundle {binary}")
    exits(run("verify", str(junk), "--genesis", str(junk)), 2,
          f"genesis {junk} is not a valid genesis")  # fmt: skip
    assert run("verify", str(tmp_path), "--genesis", genesis).exit_code == 2  # click: a directory


@pytest.mark.parametrize("node", ["not an address", "127.0.0.1", "127.0.0.1:99999", "host:"])
def test_2_for_a_malformed_node_address(node: str) -> None:
    exits(run("query", "status", "--node", node), 2, "invalid --node", "HOST:PORT")
    exits(run("query", "status", CARBON_TICKET_NODE=node), 2, "$CARBON_TICKET_NODE")


@pytest.mark.parametrize("listen", ["127.0.0.1", "host:port", "127.0.0.1:99999"])
def test_2_for_a_malformed_listen_address_in_node_init(tmp_path: Path, listen: str) -> None:
    home = tmp_path / "n"
    exits(run("node", "init", "--home", str(home), "--listen", listen), 2, "listen")
    assert not (home / "config.toml").exists()


def test_2_for_a_missing_tls_file(tmp_path: Path, dead_address: str) -> None:
    missing = str(tmp_path / "nope.pem")
    node = ["--node", dead_address]
    exits(run("query", "status", *node, "--tls-ca", missing), 2, "--tls-ca", "does not exist")
    exits(run("query", "status", *node, CARBON_TICKET_TLS_CA=missing), 2, "does not exist")


def test_2_for_an_unusable_tls_file(tmp_path: Path, dead_address: str) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate")
    result = run("query", "status", "--node", dead_address, "--tls-ca", str(garbage))
    exits(result, 2)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('nodes = "127.0.0.1:1"\n', "unknown key 'nodes'"),
        ("node = 5\n", "node must be a non-empty string"),
        ('node = "nowhere"\n', "invalid node in"),
        ("node = [\n", "not valid TOML"),
    ],
)
def test_2_for_a_bad_client_config(tmp_path: Path, text: str, fragment: str) -> None:
    config = tmp_path / "client.toml"
    config.write_text(text)
    exits(run("query", "status", CARBON_TICKET_CONFIG=str(config)), 2, fragment, str(config))
    missing = str(tmp_path / "absent.toml")
    exits(run("query", "status", CARBON_TICKET_CONFIG=missing), 2, "cannot read client config")


@pytest.mark.parametrize("name", ["bad/name", "bad name", ".hidden", "x" * 65, ""])
def test_2_for_an_invalid_key_name(tmp_path: Path, name: str) -> None:
    # A name the user typed is bad input that names the rule, not a wallet problem (5).
    keystore = tmp_path / "ks"
    rule = "1 to 64 letters, digits, '-', '_' or '.', and does not start with '.'"
    exits(run("keys", "new", name, "--keystore", str(keystore)), 2, "invalid key name", rule)
    assert not keystore.exists()
    exits(run("keys", "show", name, "--keystore", str(keystore)), 2, "invalid key name")


# ---------------------------------------------------------------- 3 refused


def test_3_when_the_ledger_refuses(shared_devnet: DevnetInfo) -> None:
    result = run("query", "batch", "NOPE-1", "--node", shared_devnet.endpoints[0])
    exits(result, 3, "[unknown_batch]", "NOT_FOUND")


def test_3_when_the_wallet_refuses_what_the_ledger_would(shared_devnet: DevnetInfo) -> None:
    result = run(
        "tx", "transfer", "--to", "@registrar", "--batch", "NOPE-1", "--amount", "1",
        *wallet(shared_devnet, "issuer"),
    )  # fmt: skip
    # The simulation answers with the ledger's own, precise code.
    exits(result, 3, "refused before signing", "[unknown_batch]")


# ---------------------------------------------------------------- 4 unreachable


def test_4_when_nothing_answers(dead_address: str) -> None:
    dead = dead_address
    exits(run("query", "status", "--node", dead), 4, "node unreachable", dead, "(from --node)")
    # The hint names the ways to give the address; TLS only when TLS is in use.
    result = run("query", "status", CARBON_TICKET_NODE=dead)
    exits(result, 4, "(from $CARBON_TICKET_NODE)", "--node HOST:PORT", "$CARBON_TICKET_NODE")
    assert "TLS" not in result.stderr


# ---------------------------------------------------------------- 5 wallet


def test_5_for_a_wrong_password_and_a_missing_key(shared_devnet: DevnetInfo) -> None:
    args = ["tx", "register-account", PrivateKey.generate().address, "--name", "x"]
    exits(run(*args, *wallet(shared_devnet, "registrar"), password="wrong"), 5, "wrong password")
    exits(run(*args, *wallet(shared_devnet, "ghost")), 5, "no key named 'ghost'")


def test_5_for_keys_export_without_a_terminal(shared_devnet: DevnetInfo) -> None:
    # CliRunner's stdin is no terminal: nothing can be confirmed, so --yes is required.
    result = run("keys", "export", "issuer", "--keystore", str(shared_devnet.wallet_dir))
    exits(result, 5, "no terminal", "--yes")
    assert result.stdout == ""


@pytest.mark.parametrize("stdin", ["", "\n"])
def test_5_for_a_password_that_cannot_be_asked(shared_devnet: DevnetInfo, stdin: str) -> None:
    # No $CARBON_TICKET_PASSWORD and no terminal: stdin holds no password line. One line, no
    # prompt, saying how to give one.
    args = ("keys", "export", "issuer", "--yes", "--keystore", str(shared_devnet.wallet_dir))
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False,
                                env={"CARBON_TICKET_PASSWORD": None})  # fmt: skip
    exits(result, 5, "no password given", "$CARBON_TICKET_PASSWORD")
    assert result.stdout == ""


def test_5_for_a_password_that_is_not_utf8(shared_devnet: DevnetInfo) -> None:
    # Bytes that are not UTF-8 reach Python as lone surrogates, which cannot be encoded again.
    args = ("keys", "export", "issuer", "--yes", "--keystore", str(shared_devnet.wallet_dir))
    result = run(*args, password="\udcff")
    exits(result, 5, "$CARBON_TICKET_PASSWORD is not UTF-8 text")


# ---------------------------------------------------------------- 6 not committed in time


def test_6_when_the_commit_outlasts_the_wait(shared_devnet: DevnetInfo) -> None:
    # A wait of one millisecond ends before any block can commit the transaction.
    result = run(
        "tx", "register-account", PrivateKey.generate().address, "--name", "late",
        "--timeout", "0.001", *wallet(shared_devnet, "registrar"),
    )  # fmt: skip
    exits(result, 6, "not committed within", "carbon-ticket query tx")


def test_7_when_the_data_directory_is_damaged(tmp_path: Path) -> None:
    info = init_devnet(tmp_path / "dn", 1, free_port(), wallet_kdf=TEST_KDF)
    blocks = info.node_home(0) / "data" / "blocks"
    blocks.mkdir(parents=True)
    (blocks / "000005.ldb").write_bytes(b"a table whose CURRENT and MANIFEST are gone")
    exits(run("node", "start", "--home", str(info.node_home(0))), 7,
          "is damaged", "CURRENT is missing", "carbon-ticket node rebuild")  # fmt: skip


def test_exit_codes_are_the_ones_readme_documents() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    phrases = ("2 bad input", "3 refused", "4 node unreachable", "5 wallet", "6 not committed",
               "7 `node start`: the data directory is")  # fmt: skip
    for phrase in phrases:
        assert phrase in readme


def _codes_the_cli_uses() -> set[int]:
    """Every exit code named (``EXIT_*``) or written as a number (``CliError(..., N)``,
    ``SystemExit(N)``) in cli/."""
    names = {**vars(common), **{k: v for k, v in vars(verify).items() if k.startswith("EXIT_")}}
    found: set[int] = set()
    for path in Path(common.__file__).resolve().parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Name)
                and node.id.startswith("EXIT_")
                and node.id != "EXIT_CODES"
            ):
                found.add(names[node.id])
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                "CliError",
                "SystemExit",
            ):
                for arg in node.args:  # a number, or either side of `A if x else B`
                    sides = (arg.body, arg.orelse) if isinstance(arg, ast.IfExp) else (arg,)
                    found |= {c.value for c in sides
                              if isinstance(c, ast.Constant) and type(c.value) is int}  # fmt: skip
    return found


def test_help_docs_and_tests_list_every_exit_code_the_cli_uses() -> None:
    used = _codes_the_cli_uses()
    assert {1, 2, 3, 4, 5, 6, 7} <= used
    help_text = run("--help").stdout
    listed = help_text[help_text.index("Exit codes") : help_text.index("Options:")]
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    tests = set(re.findall(r"^def test_(\d)_", Path(__file__).read_text(), re.M))
    for code in sorted(used):
        assert re.search(rf"(^|[:,]) *{code} [a-z]", listed, re.M), (code, listed)
        assert f"\n| {code} | " in docs, code
        assert str(code) in tests, code
    assert set(common.EXIT_CODES) == used - {0}
