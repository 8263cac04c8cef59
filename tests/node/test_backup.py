"""node backup / node restore: a consistent copy of a running or stopped node, checked before
it is installed, and a restore that never rolls back a validator's signing record."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import plyvel
import pytest
from click.testing import CliRunner

from carbon_ticket.chain import Genesis
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.kvstore import K_TIP, P_CERT, P_HEADER
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo, cli_command, cli_env
from carbon_ticket.consensus import SignState, Step
from carbon_ticket.node.backup import (
    BackupError,
    copy_store,
    plan_sign_state,
    position_text,
    verify_backup,
)
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.peer_auth import ObserverList, PeerAuthenticator, PeerAuthError
from carbon_ticket.node.rebuild import REBUILT_MARKER
from carbon_ticket.node.safety import FileSafetyStore
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import services_pb2, services_pb2_grpc
from tests.cli.harness import NodeThread, make_fast, running_devnet
from tests.node.network import SigningInterceptor


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _genesis(info: DevnetInfo) -> Genesis:
    return Genesis.from_json((info.node_home(0) / "genesis.json").read_text())


def _sign_state(height: int, round_: int = 0, step: Step = Step.PRECOMMIT) -> SignState:
    return SignState(height, round_, step, b"x", bytes(64))


@pytest.fixture(scope="module")
def devnet_with_backup(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DevnetInfo, Path]]:
    """A stopped one-validator devnet and a backup taken while its node was running."""
    root = tmp_path_factory.mktemp("backup")
    with running_devnet(root / "devnet") as (info, thread):
        deadline = time.monotonic() + 30
        while thread.node is not None and thread.node.store.height < 5:  # a few blocks
            assert time.monotonic() < deadline, "the devnet made no blocks"
            time.sleep(0.05)
        code, out = _run("node", "backup", "--home", str(info.node_home(0)), str(root / "bk"),
                         "-o", "json")  # fmt: skip
        assert code == 0, out
        shown = json.loads(out)
        assert shown["height"] >= 5 and shown["source"].startswith("running node")
        # The live node kept committing while the copy was made and afterwards.
        assert thread.node is not None
        height = thread.node.store.height
        deadline = time.monotonic() + 30
        while thread.node.store.height <= height:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    yield info, root / "bk"


def test_a_backup_of_a_running_node_verifies_and_names_its_signing_record(
    devnet_with_backup: tuple[DevnetInfo, Path],
) -> None:
    info, backup = devnet_with_backup
    summary = verify_backup(backup, _genesis(info))
    assert summary.height >= 5 and summary.chain_id == info.chain_id
    # A validator that signed: its record was copied, and is shown in words
    assert re.fullmatch(r"height \d+, round \d+, (propose|prevote|precommit)", summary.sign_state)
    key = json.loads((info.node_home(0) / "validator_key.json").read_text())
    assert summary.node_key and summary.node_key in json.dumps(key)
    assert (backup / "sign_state").exists()


def test_restore_into_a_fresh_home_gives_the_same_chain_and_installs_the_record(
    devnet_with_backup: tuple[DevnetInfo, Path], tmp_path: Path
) -> None:
    info, backup = devnet_with_backup
    home = _fresh_home(info, tmp_path)
    code, out = _run("node", "restore", str(backup), "--home", str(home), "-o", "json")
    assert code == 0, out
    shown = json.loads(out[out.index("{") :])
    assert shown["sign_state"] == "install" and "WARNING" in out
    summary = verify_backup(backup, _genesis(info))
    with LevelDBStore.open(home / "data" / "blocks", create=False) as store:
        assert (store.height, store.app_hash.hex()) == (summary.height, summary.app_hash)
    signed = FileSafetyStore(home / "data" / "sign_state").load()
    assert signed is not None and position_text(signed) == summary.sign_state


def test_restore_needs_replace_over_an_existing_store_and_keeps_the_old_one(
    devnet_with_backup: tuple[DevnetInfo, Path], tmp_path: Path
) -> None:
    info, backup = devnet_with_backup
    home = _fresh_home(info, tmp_path)
    assert _run("node", "restore", str(backup), "--home", str(home))[0] == 0
    code, out = _run("node", "restore", str(backup), "--home", str(home))
    assert code != 0 and "--replace" in out
    code, out = _run("node", "restore", str(backup), "--home", str(home), "--replace")
    assert code == 0, out
    assert [p.name.startswith("blocks.before-restore-")
            for p in (home / "data").iterdir()].count(True) == 1  # fmt: skip


def test_a_backup_of_a_stopped_node_reads_its_store(
    devnet_with_backup: tuple[DevnetInfo, Path], tmp_path: Path
) -> None:
    info, _ = devnet_with_backup
    code, out = _run("node", "backup", "--home", str(info.node_home(0)), str(tmp_path / "b"),
                     "--json")  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["source"] == "stopped node's store"
    code, out = _run("node", "backup", "--home", str(info.node_home(0)), str(tmp_path / "b"))
    assert code != 0 and "exists already" in out


def test_backup_shows_progress_on_a_terminal_only(
    devnet_with_backup: tuple[DevnetInfo, Path], tmp_path: Path
) -> None:
    info, _ = devnet_with_backup
    home = str(info.node_home(0))
    primary, secondary = pty.openpty()
    try:
        cmd = cli_command("node", "backup", "--home", home, str(tmp_path / "tty"))
        done = subprocess.run(cmd, env=cli_env(), stdout=secondary, stderr=secondary,
                              stdin=subprocess.DEVNULL, timeout=60, check=False)  # fmt: skip
        os.close(secondary)
        shown = _read_all(primary)
    finally:
        os.close(primary)
    assert done.returncode == 0, shown
    assert "\rbackup: " in shown and "keys" in shown
    cmd = cli_command("node", "backup", "--home", home, str(tmp_path / "pipe"))
    piped = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=60,
                           check=False)  # fmt: skip
    assert piped.returncode == 0 and "\r" not in piped.stdout + piped.stderr


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO once the other side is closed and drained
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


def _tampered(backup: Path, tmp_path: Path, change: str) -> Path:
    copy = tmp_path / f"tampered-{change}"
    shutil.copytree(backup, copy)
    db = plyvel.DB(str(copy / "blocks"))
    try:
        if change == "header":  # block 2's header replaced by block 3's
            db.put(P_HEADER + (2).to_bytes(8, "big"), db.get(P_HEADER + (3).to_bytes(8, "big")))
        elif change == "certificate":  # the tip's certificate replaced by the one before
            tip = int.from_bytes(db.get(K_TIP)[:8], "big")
            db.put(P_CERT + tip.to_bytes(8, "big"), db.get(P_CERT + (tip - 1).to_bytes(8, "big")))
        elif change == "app_hash":
            raw = db.get(K_TIP)
            db.put(K_TIP, raw[:8] + bytes(32) + raw[40:])
    finally:
        db.close()
    return copy


@pytest.mark.parametrize("change", ["header", "certificate", "app_hash"])
def test_a_tampered_backup_is_refused_and_the_home_is_untouched(
    devnet_with_backup: tuple[DevnetInfo, Path], tmp_path: Path, change: str
) -> None:
    info, backup = devnet_with_backup
    bad = _tampered(backup, tmp_path, change)
    with pytest.raises(BackupError):
        verify_backup(bad, _genesis(info))
    home = _fresh_home(info, tmp_path)
    code, out = _run("node", "restore", str(bad), "--home", str(home))
    assert code != 0 and "backup" in out and len(out.strip().splitlines()) == 1
    assert not (home / "data").exists()


def test_a_backup_of_another_network_is_refused(
    devnet_with_backup: tuple[DevnetInfo, Path],
) -> None:
    info, backup = devnet_with_backup
    other = Genesis.from_json((info.node_home(0) / "genesis.json").read_text())
    doc = json.loads(other.to_json())
    doc["genesis_time_ms"] += 1
    with pytest.raises(BackupError, match="genesis hash"):
        verify_backup(backup, Genesis.from_json(json.dumps(doc)))


def test_a_backup_whose_summary_lies_is_refused(
    devnet_with_backup: tuple[DevnetInfo, Path], tmp_path: Path
) -> None:
    info, backup = devnet_with_backup
    copy = tmp_path / "lying"
    shutil.copytree(backup, copy)
    summary = json.loads((copy / "backup.json").read_text())
    summary["height"] += 100
    (copy / "backup.json").write_text(json.dumps(summary))
    with pytest.raises(BackupError, match="does not describe"):
        verify_backup(copy, _genesis(info))
    (copy / "backup.json").write_text("{}")
    with pytest.raises(BackupError, match="not a carbon-ticket backup"):
        verify_backup(copy, _genesis(info))


@pytest.mark.parametrize(
    ("field", "value"),
    [("height", "5"), ("keys", "many"), ("created_ms", True), ("keys", -1), ("node_key", 7),
     ("sign_state", None), ("format", ["carbon-ticket-backup/v1"])],
)  # fmt: skip
def test_a_summary_field_of_the_wrong_type_is_named_and_the_home_is_untouched(
    devnet_with_backup: tuple[DevnetInfo, Path], tmp_path: Path, field: str, value: object
) -> None:
    # Before: a wrong type went unnoticed (keys, created_ms, node_key: the restore went on and
    # a node_key that is no text dropped the backup's signing record) or was reported as a
    # summary that does not describe its store (height).
    info, backup = devnet_with_backup
    copy = tmp_path / "mistyped"
    shutil.copytree(backup, copy)
    summary = json.loads((copy / "backup.json").read_text())
    summary[field] = value
    (copy / "backup.json").write_text(json.dumps(summary))
    with pytest.raises(BackupError, match=f"field '{field}' must be"):
        verify_backup(copy, _genesis(info))
    home = _fresh_home(info, tmp_path)
    code, out = _run("node", "restore", str(copy), "--home", str(home))
    assert code != 0 and f"field '{field}'" in out and len(out.strip().splitlines()) == 1
    assert not (home / "data").exists()


def test_a_summary_that_is_no_object_is_not_a_backup(tmp_path: Path) -> None:
    (tmp_path / "backup.json").write_text("[1, 2]")
    with pytest.raises(BackupError, match="not a carbon-ticket backup"):
        plan_sign_state(tmp_path, tmp_path / "data", "aa" * 32)


def _with_record(path: Path, state: SignState | None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if state is not None:
        FileSafetyStore(path / "sign_state").save(state)
    return path


def test_the_homes_signing_record_is_never_rolled_back(tmp_path: Path) -> None:
    backup = _with_record(tmp_path / "backup", _sign_state(10, 1, Step.PREVOTE))
    # The home signed later than the backup's record: keep the home's.
    home = _with_record(tmp_path / "newer", _sign_state(12))
    assert plan_sign_state(backup, home).action == "keep"
    # Same height, later round or step: still the home's.
    home = _with_record(tmp_path / "same", _sign_state(10, 1, Step.PRECOMMIT))
    assert plan_sign_state(backup, home).action == "keep"
    # The backup's record is newer: the key signed somewhere else; refused.
    home = _with_record(tmp_path / "older", _sign_state(10, 0, Step.PRECOMMIT))
    with pytest.raises(BackupError, match="signed somewhere else"):
        plan_sign_state(backup, home)
    # No record in the home: the backup's is installed, with a warning.
    plan = plan_sign_state(backup, _with_record(tmp_path / "empty", None))
    assert plan.action == "install" and "old machine" in plan.warning
    # No record anywhere (an observer, or a validator that never signed).
    nothing = _with_record(tmp_path / "nothing", None)
    assert plan_sign_state(nothing, _with_record(tmp_path / "empty2", None)).action == "none"


def test_another_nodes_signing_record_is_never_installed(tmp_path: Path) -> None:
    backup = _with_record(tmp_path / "backup", _sign_state(10))
    summary: dict[str, object] = {f: "" for f in ("format", "chain_id", "genesis_hash", "app_hash",
                               "last_block_hash", "source", "sign_state")}  # fmt: skip
    summary.update(format="carbon-ticket-backup/v1", height=0, keys=0, created_ms=0,
                   node_key="aa" * 32)  # fmt: skip
    (backup / "backup.json").write_text(json.dumps(summary))
    empty = _with_record(tmp_path / "empty", None)
    assert plan_sign_state(backup, empty, "bb" * 32).action == "none"
    assert plan_sign_state(backup, empty, "aa" * 32).action == "install"
    # Nor does it trip the "signed somewhere else" refusal of another key's home.
    older = _with_record(tmp_path / "older", _sign_state(3))
    assert plan_sign_state(backup, older, "bb" * 32).action == "keep"


def _record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    # The inode of every file or directory this thread fsyncs from now on (copies and restores
    # sync on the caller's thread): an in-process node of another fixture, still making blocks
    # in its own threads, syncs its store meanwhile and made the order checks flaky.
    synced: list[int] = []
    real_fsync = os.fsync
    caller = threading.get_ident()

    def fsync(fd: int) -> None:
        if threading.get_ident() == caller:
            synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_a_copied_store_is_synced_file_by_file_and_then_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _record_fsyncs(monkeypatch)
    out = tmp_path / "copy"
    assert copy_store([[(b"k%d" % n, b"v" * 100) for n in range(50)]], out) == 50
    files = [item.stat().st_ino for item in out.iterdir()]
    assert files and sorted(synced[:-1]) == sorted(files)
    assert synced[-1] == out.stat().st_ino


def test_a_copy_is_checked_alone_while_another_thread_syncs_its_own_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reproduction (2 failures in 100 beside a running in-process devnet): the recorder took
    # in the fsyncs of another node's threads, so the copy's order looked wrong.
    synced = _record_fsyncs(monkeypatch)
    other = tmp_path / "other-node-file"
    other.write_bytes(b"x")
    stop = threading.Event()

    def sync_forever() -> None:
        with other.open("rb") as fh:
            while not stop.is_set():
                os.fsync(fh.fileno())

    syncer = threading.Thread(target=sync_forever)
    syncer.start()
    try:
        out = tmp_path / "copy"
        assert copy_store([[(b"k%d" % n, b"v" * 100) for n in range(50)]], out) == 50
    finally:
        stop.set()
        syncer.join(10)
    assert other.stat().st_ino not in synced
    assert sorted(synced[:-1]) == sorted(item.stat().st_ino for item in out.iterdir())
    assert synced[-1] == out.stat().st_ino


def test_a_damaged_signing_record_stops_the_restore(tmp_path: Path) -> None:
    backup = _with_record(tmp_path / "backup", _sign_state(3))
    home = _with_record(tmp_path / "home", None)
    (home / "sign_state").write_bytes(b"garbage")
    with pytest.raises(BackupError, match="unreadable"):
        plan_sign_state(backup, home)


def test_snapshots_are_served_only_to_the_nodes_own_key() -> None:
    own, other, observer = (PrivateKey.generate() for _ in range(3))
    members = {own.public_key, other.public_key}
    observers = ObserverList.parse([observer.public_key.hex()])
    auth = PeerAuthenticator(
        "c", members.__contains__, observers, lambda: 0, own_key=own.public_key
    )
    auth._check_role("GetSnapshot", own.public_key)
    for key in (other, observer):
        with pytest.raises(PeerAuthError) as refused:
            auth._check_role("GetSnapshot", key.public_key)
        assert refused.value.code == "not_operator"
    auth._check_role("GetBlocks", other.public_key)  # other methods unchanged


def test_a_running_node_refuses_a_snapshot_to_another_validator_key(tmp_path: Path) -> None:
    with running_devnet(tmp_path / "devnet") as (info, _thread):
        channel = grpc.insecure_channel(info.endpoints[0])
        try:
            stranger = SigningInterceptor(PrivateKey.generate(), info.chain_id)
            stub = services_pb2_grpc.PeerServiceStub(grpc.intercept_channel(channel, stranger))
            with pytest.raises(grpc.RpcError) as refused:
                list(stub.GetSnapshot(services_pb2.SnapshotRequest(), timeout=10))
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        finally:
            channel.close()


def test_restore_refuses_while_the_node_runs(
    devnet_with_backup: tuple[DevnetInfo, Path], tmp_path: Path
) -> None:
    info, backup = devnet_with_backup
    home = _fresh_home(info, tmp_path)
    assert _run("node", "restore", str(backup), "--home", str(home))[0] == 0
    config = make_fast(home)
    thread = NodeThread(config).start()
    try:
        code, out = _run("node", "restore", str(backup), "--home", str(home), "--replace")
        assert code != 0 and "stop the node first" in out and "[store_in_use]" in out
        # Without --replace too: asking for --replace first would only lead to this
        code, out = _run("node", "restore", str(backup), "--home", str(home))
        assert code != 0 and "stop the node first" in out and "--replace" not in out
    finally:
        thread.stop()


def _fresh_home(info: DevnetInfo, tmp_path: Path) -> Path:
    """A new home for the devnet's validator 0: its key, config and genesis, no data."""
    home = tmp_path / f"home{len(list(tmp_path.glob('home*')))}"
    source = info.node_home(0)
    home.mkdir()
    for name in ("config.toml", "genesis.json", "validator_key.json"):
        shutil.copy(source / name, home / name)
    assert NodeConfig.load(home).data_path == home / "data"
    return home


def test_a_restored_store_and_its_marker_are_on_the_disk_before_restore_returns(
    devnet_with_backup: tuple[DevnetInfo, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info, backup = devnet_with_backup
    home = _fresh_home(info, tmp_path)
    synced = _record_fsyncs(monkeypatch)
    assert _run("node", "restore", str(backup), "--home", str(home))[0] == 0
    data = home / "data"
    blocks = data / "blocks"
    # Every file of the copied store, the store's directory, the marker and the signing
    # record; the data directory (the renames) last of all.
    for item in [*blocks.iterdir(), blocks, data / "sign_state", data / REBUILT_MARKER]:
        assert item.stat().st_ino in synced, item.name
    assert synced[-1] == data.stat().st_ino
