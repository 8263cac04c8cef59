"""What a bureau's operator meets following docs/operations.md ("Several machines", "A bureau
joins or leaves a running network"), through click's runner: each mistake gets one line that
says what to do, and changes nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.main import cli
from carbon_ticket.node.config import NodeConfig


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _validator_spec(port: int) -> str:
    return f"bureau-baotou={PrivateKey.generate().public_key.hex()}@10.1.0.1:{port}"


def test_an_unquoted_account_name_says_to_quote_it_and_writes_nothing(tmp_path: Path) -> None:
    # `--account ct1...=bureau:Baotou Forestry Bureau:issuer` typed without quotes: the shell
    # splits the name, and the words after the first space arrive as stray arguments.
    issuer = PrivateKey.generate().address
    out_file = tmp_path / "genesis.json"
    code, out = _run(
        "genesis", "new", "--chain-id", "carbon-cn15-1", "--validator", _validator_spec(26656),
        "--account", f"{issuer}=bureau:Baotou", "Forestry", "Bureau:issuer",
        "--buffer-share-bps", "2000", "--out", str(out_file),
    )  # fmt: skip
    assert code == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), out
    assert "'Forestry' 'Bureau:issuer'" in out and "quote" in out, out
    assert not out_file.exists()
    # Quoted, the same name is one value and the genesis is written.
    code, out = _run(
        "genesis", "new", "--chain-id", "carbon-cn15-1", "--validator", _validator_spec(26656),
        "--account", f"{issuer}=bureau:Baotou Forestry Bureau:issuer", "--out", str(out_file),
    )  # fmt: skip
    assert code == 0 and out_file.exists(), out


def test_node_init_on_a_made_home_says_how_to_serve_an_observer(tmp_path: Path) -> None:
    # Joining, step 2: a running validator's operator is told to list the new bureau's key with
    # `node init ... --serve-observer KEY`; its home exists, so the command must say what to do.
    home = tmp_path / "baotou"
    code, out = _run("node", "init", "--home", str(home), "--listen", "127.0.0.1:26656")
    assert code == 0, out
    before = (home / "config.toml").read_text()
    observer = PrivateKey.generate().public_key.hex()
    code, out = _run("node", "init", "--home", str(home), "--serve-observer", observer)
    assert code != 0 and "refusing" in out, out
    assert "[peers] observers" in out and "config.toml" in out and "restart" in out, out
    assert (home / "config.toml").read_text() == before
    assert NodeConfig.load(home).observers == ()


def test_node_init_of_a_joining_bureau_does_not_promise_a_genesis_entry(tmp_path: Path) -> None:
    # A bureau joining a running network becomes a validator by a governance proposal, not by
    # the genesis (which it only copies): the role line says both ways.
    code, out = _run("node", "init", "--home", str(tmp_path / "xilingol"), "-o", "json")
    assert code == 0, out
    assert "governance" in out and "genesis" in out, out


def test_genesis_show_lets_each_bureau_find_its_own_key_and_operator(tmp_path: Path) -> None:
    # "Several machines", step 3: before starting, a bureau checks that the genesis names the
    # public key `node show` printed (a mistyped key would make its node a mere observer) and
    # its operator, without reading the JSON.
    key = PrivateKey.generate().public_key.hex()
    operator = PrivateKey.generate().address
    out_file = tmp_path / "genesis.json"
    spec = f"bureau-baotou={key}@10.1.0.1:26656,power=2,operator={operator}"
    code, out = _run("genesis", "new", "--chain-id", "carbon-cn15-1", "--validator", spec,
                     "--out", str(out_file))  # fmt: skip
    assert code == 0, out
    code, out = _run("genesis", "show", str(out_file))
    assert code == 0, out
    row = next(line for line in out.splitlines() if "bureau-baotou" in line)
    assert key in row and operator in row and "power=2" in row and "10.1.0.1:26656" in row, out
