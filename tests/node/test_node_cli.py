"""Operator commands: node init/show, genesis new/show, devnet init (through click's runner)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from click.testing import CliRunner

from carbon_ticket.chain import Genesis
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.cli.main import cli
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.keyfile import load_validator_key


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _table(output: str) -> dict[str, str]:
    rows = {}
    for line in output.splitlines():
        key, _, value = line.partition("  ")
        rows[key.strip()] = value.strip()
    return rows


def test_two_bureaus_build_a_genesis_from_their_node_keys(tmp_path: Path) -> None:
    specs = []
    for i, port in enumerate((26656, 26657)):
        home = tmp_path / f"bureau{i}"
        peer = f"10.0.0.{2 - i}:2665{7 - i}"
        code, out = _run("node", "init", "--home", str(home), "--name", f"bureau{i}",
                         "--listen", f"0.0.0.0:{port}", "--peer", peer)  # fmt: skip
        assert code == 0, out
        code, out = _run("node", "show", "--home", str(home))
        assert code == 0, out
        shown = _table(out)
        specs.append(f"bureau{i}={shown['public_key']}@10.0.0.{i + 1}:{port}")
        assert NodeConfig.load(home).peers == (peer,)
    issuer = PrivateKey.generate().address
    out_file = tmp_path / "genesis.json"
    account = f"{issuer}=bureau:Forestry bureau:issuer"
    code, out = _run(
        "genesis", "new", "--chain-id", "carbon-cn15-1", "--validator", specs[0],
        "--validator", specs[1], "--account", account, "--out", str(out_file),
    )  # fmt: skip
    assert code == 0, out
    doc = Genesis.from_json(out_file.read_text())
    assert [v.name for v in doc.validators] == ["bureau0", "bureau1"]
    assert doc.accounts[0].roles == ("issuer",)
    code, out = _run("genesis", "show", str(out_file))
    assert code == 0 and _table(out)["genesis_hash"] == doc.hash().hex()
    # Refuses to overwrite, and refuses to re-initialise a node key.
    code, out = _run("genesis", "new", "--chain-id", "x", "--validator", specs[0],
                     "--out", str(out_file))  # fmt: skip
    assert code == 2 and "refusing to overwrite" in out  # a local conflict: bad input, not 3
    code, out = _run("node", "init", "--home", str(tmp_path / "bureau0"))
    assert code == 2 and "refusing" in out


def test_bad_genesis_input_is_one_clear_line(tmp_path: Path) -> None:
    code, out = _run("genesis", "new", "--chain-id", "c", "--validator", "nonsense",
                     "--out", str(tmp_path / "g.json"))  # fmt: skip
    assert code == 2 and out.strip().startswith("error:") and len(out.strip().splitlines()) == 1
    key = PrivateKey.generate().public_key.hex()
    code, out = _run("genesis", "new", "--chain-id", "c", "--validator", f"v={key}@nowhere",
                     "--out", str(tmp_path / "g.json"))  # fmt: skip
    assert code != 0 and "host:port" in out and not (tmp_path / "g.json").exists()


def test_devnet_init_writes_a_ready_network(tmp_path: Path) -> None:
    code, out = _run("devnet", "init", "--home", str(tmp_path / "dn"), "--validators", "3",
                     "--base-port", "31000")  # fmt: skip
    assert code == 0, out
    doc = json.loads((tmp_path / "dn" / "devnet.json").read_text())
    assert doc["endpoints"] == ["127.0.0.1:31000", "127.0.0.1:31001", "127.0.0.1:31002"]
    genesis = Genesis.from_json((tmp_path / "dn" / "genesis.json").read_text())
    roles = {r for a in genesis.accounts for r in a.roles}
    assert roles == {
        "issuer",
        "verifier",
        "registrar",
        "points_operator",
        "merchant",
        "settlement",
        "bridge",
    }
    assert [a.kind for a in genesis.accounts if not a.roles] == ["resident"]
    for i in range(3):
        config = NodeConfig.load(tmp_path / "dn" / f"node{i}")
        assert config.listen == f"127.0.0.1:{31000 + i}"
        assert (config.home / "genesis.json").read_text() == genesis.to_json()
    code, out = _run("devnet", "init", "--home", str(tmp_path / "dn"))
    assert code != 0 and "already holds a devnet" in out


def test_node_init_lists_the_observers_it_serves(tmp_path: Path) -> None:
    watcher = PrivateKey.generate()
    code, out = _run("node", "init", "--home", str(tmp_path / "v"), "--serve-observer",
                     watcher.public_key.hex(), "--serve-observer", watcher.address)  # fmt: skip
    assert code == 0, out
    assert NodeConfig.load(tmp_path / "v").observers == (watcher.public_key.hex(), watcher.address)
    code, out = _run("node", "init", "--home", str(tmp_path / "w"), "--serve-observer", "nope")
    assert code != 0 and "peers.observers" in out and not (tmp_path / "w").exists()


def test_a_damaged_sign_state_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    code, out = _run("devnet", "init", "--home", str(tmp_path / "dn"), "--validators", "4",
                     "--base-port", "31100")  # fmt: skip
    assert code == 0, out
    node_home = tmp_path / "dn" / "node0"
    config = NodeConfig.load(node_home)
    config.data_path.mkdir(parents=True, exist_ok=True)
    (config.data_path / "sign_state").write_bytes(b"carbonticket/signstate/v2\x00\x01")
    result = CliRunner().invoke(cli, ["node", "start", "--home", str(node_home)])
    assert result.exit_code == 7
    assert "cannot start: signing state" in result.output and "corrupt sign state" in result.output
    assert "Traceback" not in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)


def test_node_init_observer_makes_a_follower_and_says_how_to_admit_it(tmp_path: Path) -> None:
    code, out = _run("node", "init", "--home", str(tmp_path / "o"), "--observer", "-o", "json")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["role"] == "observer" and shown["name"] == "observer0"
    assert f'observers` += "{shown["public_key"]}"' in shown["next"]
    assert NodeConfig.load(tmp_path / "o").observers == ()


def test_devnet_init_with_observers_lists_them_to_every_validator(tmp_path: Path) -> None:
    code, out = _run("devnet", "init", "--home", str(tmp_path / "dn"), "--validators", "2",
                     "--observers", "2", "--base-port", "32000", "-o", "json")  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["observers"] == ["127.0.0.1:32002", "127.0.0.1:32003"]
    keys = []
    for i in (2, 3):
        config = NodeConfig.load(tmp_path / "dn" / f"node{i}")
        assert config.peers == ("127.0.0.1:32000", "127.0.0.1:32001") and config.observers == ()
        keys.append(load_validator_key(config.key_path).public_key.hex())
    genesis = Genesis.from_json((tmp_path / "dn" / "genesis.json").read_text())
    assert not {v.public_key.hex() for v in genesis.validators} & set(keys)
    for i in (0, 1):
        assert NodeConfig.load(tmp_path / "dn" / f"node{i}").observers == tuple(keys)


def test_a_port_in_use_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:  # whoever has the port first (another node, say)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, out = _run("devnet", "init", "--home", str(tmp_path / "dn"), "--validators", "1",
                         "--base-port", port)  # fmt: skip
        assert code == 0, out
        node_home = tmp_path / "dn" / "node0"
        config = NodeConfig.load(node_home)
        result = CliRunner().invoke(cli, ["node", "start", "--home", str(node_home)])
    assert result.exit_code == 2, result.output
    assert f"error: cannot listen on {config.listen}: the port is in use" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_node_rebuild_moves_the_blocks_and_keeps_the_signing_state(tmp_path: Path) -> None:
    code, out = _run("devnet", "init", "--home", str(tmp_path / "dn"), "--validators", "1")
    assert code == 0, out
    data = tmp_path / "dn" / "node0" / "data"
    (data / "blocks").mkdir(parents=True)
    (data / "blocks" / "000005.ldb").write_bytes(b"damaged")
    (data / "sign_state").write_bytes(b"kept as it is")
    code, out = _run("node", "rebuild", "--home", str(tmp_path / "dn" / "node0"), "-o", "json")
    assert code == 0, out
    shown = json.loads(out)
    assert shown["moved_to"].startswith(str(data / "blocks.damaged-"))
    assert (Path(shown["moved_to"]) / "000005.ldb").read_bytes() == b"damaged"
    assert "sign_state" in shown["kept"] and (data / "sign_state").read_bytes() == b"kept as it is"
    assert "sign_state is damaged" in shown["signed_height"]  # kept, and the operator told
    code, out = _run("node", "rebuild", "--home", str(tmp_path / "dn" / "node0"))
    assert code == 3 and "nothing to rebuild" in out


def test_a_node_without_its_genesis_says_where_the_networks_goes(tmp_path: Path) -> None:
    # A new bureau's first start: the bare "[Errno 2] No such file" told nothing of what to do.
    home = tmp_path / "bureau"
    code, _ = _run("node", "init", "--home", str(home), "--listen", "127.0.0.1:0")
    assert code == 0
    code, out = _run("node", "start", "--home", str(home))
    assert code == 2, out
    assert f"no genesis file at {home / 'genesis.json'}: copy the network's genesis.json" in out
    assert "Errno" not in out and len(out.strip().splitlines()) == 1


def test_genesis_new_for_fewer_than_four_validators_says_it_tolerates_no_fault(
    tmp_path: Path,
) -> None:
    # Allowed (a test network), but an operator reading the guide's "4 to 7" must hear it
    spec = f"solo={PrivateKey.generate().public_key.hex()}@127.0.0.1:26656"
    result = CliRunner().invoke(
        cli, ["genesis", "new", "--chain-id", "c", "--validator", spec,
              "--out", str(tmp_path / "g.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 validator(s) tolerate no faulty or stopped validator" in result.stderr
    specs = [f"b{i}={PrivateKey.generate().public_key.hex()}@127.0.0.1:2665{i}" for i in range(4)]
    four = [a for s in specs for a in ("--validator", s)]
    result = CliRunner().invoke(
        cli, ["genesis", "new", "--chain-id", "c", *four, "--out", str(tmp_path / "g4.json")]
    )
    assert result.exit_code == 0 and "tolerate" not in result.stderr, result.output
