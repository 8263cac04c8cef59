"""``backup_home`` and ``restore_home``: the two operations behind ``carbon-ticket node backup``
and ``node restore`` (the checks and formats are in ``node.backup``).

A stopped node's store is read directly at one LevelDB snapshot. A running node holds the
LevelDB lock, so its snapshot is streamed by the node itself over its own port
(``PeerService.GetSnapshot``), the call signed with the node's key read from its home: only
someone who can read that key (the node's operator) can pull a whole copy of the store.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

from carbon_ticket.chain.errors import StoreInUse
from carbon_ticket.node.backup import (
    BLOCKS_DIR,
    SIGN_STATE_FILES,
    BackupError,
    BackupSummary,
    StoreWriter,
    copy_store,
    describe_sign_state,
    install_blocks,
    plan_sign_state,
    snapshot_chunks,
    summarize,
    verify_backup,
    write_summary,
)
from carbon_ticket.node.build import load_genesis
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.keyfile import load_validator_key
from carbon_ticket.node.peer_auth import peer_call_signers
from carbon_ticket.node.peers import channel_options
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.node.tls import peer_credentials
from carbon_ticket.proto import services_pb2, services_pb2_grpc

__all__ = ["RestoreReport", "backup_home", "restore_home"]

Progress = Callable[[int, int], None]  # (keys copied, bytes copied)


def backup_home(
    config: NodeConfig, out: Path, on_progress: Progress = lambda k, b: None
) -> BackupSummary:
    """Back up the node of ``config`` (running or stopped) into the new directory ``out``."""
    genesis = load_genesis(config)
    if out.exists():
        raise BackupError(f"{out} exists already; a backup goes into a new directory")
    out.mkdir(parents=True)
    try:
        source = _copy_blocks(config, out / BLOCKS_DIR, on_progress)
        # The signing record is read after the store: it is at least as new as the copy.
        for name in SIGN_STATE_FILES:
            if (config.data_path / name).exists():
                shutil.copyfile(config.data_path / name, out / name)
        with LevelDBStore.open(out / BLOCKS_DIR, create=False) as copy:
            keys = sum(1 for _ in copy.kv.iterate(b"", b"\xff" * 16))
            record = describe_sign_state(out / "sign_state")
            summary = summarize(copy, genesis, keys, source, record, _own_key(config) or "")
        write_summary(out, summary)
        return verify_backup(out, genesis)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # never leave a half backup that looks whole
        raise


def _copy_blocks(config: NodeConfig, out: Path, on_progress: Progress) -> str:
    try:
        store = LevelDBStore.open(config.data_path / BLOCKS_DIR, create=False)
    except StoreInUse:
        asyncio.run(_copy_from_node(config, out, on_progress))
        return f"running node at {_own_address(config)}"
    with store:
        snap = store.kv.snapshot()
        try:
            copy_store(snapshot_chunks(snap), out, on_progress)
        finally:
            snap.close()
    return "stopped node's store"


def _own_address(config: NodeConfig) -> str:
    host, _, port = config.listen.rpartition(":")
    if host in ("0.0.0.0", "[::]", "::", ""):
        host = "127.0.0.1"
    return f"{host}:{port}"


async def _copy_from_node(config: NodeConfig, out: Path, on_progress: Progress) -> None:
    key = load_validator_key(config.key_path)
    chain_id = load_genesis(config).chain_id
    signers = peer_call_signers(key, chain_id, _wall_ms)
    address, tls = _own_address(config), peer_credentials(config)
    channel = (
        grpc.aio.insecure_channel(address, options=channel_options(), interceptors=signers)
        if tls is None
        else grpc.aio.secure_channel(address, tls, options=channel_options(), interceptors=signers)
    )
    async with channel:
        stream = services_pb2_grpc.PeerServiceStub(channel).GetSnapshot(
            services_pb2.SnapshotRequest()
        )
        writer = StoreWriter(out, on_progress)
        try:
            async for chunk in _entries(stream):
                writer.write(chunk)
            writer.finish()
        except grpc.aio.AioRpcError as exc:
            raise BackupError(
                f"the node at {address} refused the backup ({exc.code().name}): {exc.details()}"
            ) from exc
        finally:
            writer.close()


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


async def _entries(
    stream: AsyncIterator[services_pb2.SnapshotChunk],
) -> AsyncIterator[list[tuple[bytes, bytes]]]:
    done = False
    async for chunk in stream:
        if chunk.done:
            done = True
            break
        yield [(e.key, e.value) for e in chunk.entries]
    if not done:
        raise BackupError("the node's snapshot stream ended early; no backup was written")


def _own_key(config: NodeConfig) -> str | None:
    # The home's node key (hex), or None before one is put there.
    if not config.key_path.exists():
        return None
    return load_validator_key(config.key_path).public_key.hex()


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore did."""

    summary: BackupSummary
    sign_state: str  # keep / install / none
    moved_aside: str
    warning: str


def restore_home(config: NodeConfig, backup: Path, replace: bool) -> RestoreReport:
    """Verify ``backup`` against the home's genesis, then install it into the home's data dir.

    Every check (the backup, the signing record rule, a running node) comes before any change.
    """
    genesis = load_genesis(config)
    summary = verify_backup(backup, genesis)
    plan = plan_sign_state(backup, config.data_path, _own_key(config))
    moved = install_blocks(backup, config.data_path, plan, replace)
    return RestoreReport(summary, plan.action, moved, plan.warning)
