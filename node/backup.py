"""Backup and restore of a node's block store (docs/operations.md, "Backup and restore").

A backup is a directory: ``blocks/``, a fresh LevelDB holding every key of the source store read
at one LevelDB snapshot (so it is one committed height, never half a block), ``backup.json``
describing it, and, when the node had signed anything, a copy of its signing record
(``sign_state``, and ``sign_state.blocks`` of the earlier format) for a machine that lost
everything.

A running node holds the LevelDB lock, so the backup of a running node streams the snapshot from
the node itself (``PeerService.GetSnapshot``, signed by the node's own key); a stopped node's
store is read directly. ``verify_backup`` checks a backup before anything is installed; the
restore never replaces a signing record with an older one (see ``plan_sign_state``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, get_type_hints

import plyvel

from carbon_ticket.chain import Genesis, validators_at
from carbon_ticket.chain.errors import LedgerError, StorageError, StoreInUse
from carbon_ticket.chain.jsontext import parse_json
from carbon_ticket.chain.kvstore import KVSnapshot
from carbon_ticket.consensus import ConsensusError, SignState, Step, Validator, ValidatorSet
from carbon_ticket.consensus import verify_certificate as verify_commit_certificate
from carbon_ticket.node.codec import PeerMessageError, certificate_from_proto
from carbon_ticket.node.durable import fsync_dir_contents, fsync_path, write_durably
from carbon_ticket.node.rebuild import mark_rebuilt
from carbon_ticket.node.safety import FileSafetyStore
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import ledger_pb2

__all__ = [
    "BACKUP_FORMAT",
    "BackupError",
    "BackupSummary",
    "SignStatePlan",
    "StoreWriter",
    "copy_store",
    "install_blocks",
    "plan_sign_state",
    "read_summary",
    "snapshot_chunks",
    "verify_backup",
    "write_summary",
]

BACKUP_FORMAT = "carbon-ticket-backup/v1"
SUMMARY_FILE = "backup.json"
BLOCKS_DIR = "blocks"
SIGN_STATE_FILES = ("sign_state", "sign_state.blocks")
CHUNK_BYTES = 1024 * 1024


class BackupError(LedgerError):
    """A backup that cannot be made, read, trusted or installed; nothing was changed."""

    default_code = "bad_backup"


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What ``backup.json`` records about one backup (hashes in hex)."""

    format: str
    chain_id: str
    genesis_hash: str
    height: int
    app_hash: str
    last_block_hash: str
    keys: int
    created_ms: int
    source: str
    sign_state: str  # "(h, r, step)" of the copied signing record, or "" when none was copied
    node_key: str = ""  # public key of the node backed up: its signing record is that key's


def snapshot_chunks(
    snap: KVSnapshot, chunk_bytes: int = CHUNK_BYTES
) -> Generator[list[tuple[bytes, bytes]], None, None]:
    """Every item of ``snap`` in key order, in lists of about ``chunk_bytes``."""
    chunk: list[tuple[bytes, bytes]] = []
    size = 0
    for key, value in snap.iterate(b"", b"\xff" * 16):
        chunk.append((key, value))
        size += len(key) + len(value)
        if size >= chunk_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


class StoreWriter:
    """Writes items in key order into a fresh LevelDB; ``finish`` compacts and closes it."""

    def __init__(self, out: Path, on_progress: Callable[[int, int], None]) -> None:
        if out.exists():
            raise BackupError(f"{out} exists already; a backup goes into a new directory")
        self._db = plyvel.DB(
            str(out), create_if_missing=True, error_if_exists=True, compression="snappy"
        )
        self._on_progress = on_progress
        self._path = out
        self.keys = 0
        self.bytes = 0

    def write(self, chunk: list[tuple[bytes, bytes]]) -> None:
        """Add one chunk of items (unsynced: the copy is synced once, at ``finish``)."""
        with self._db.write_batch() as batch:
            for key, value in chunk:
                batch.put(key, value)
        self.keys += len(chunk)
        self.bytes += sum(len(k) + len(v) for k, v in chunk)
        self._on_progress(self.keys, self.bytes)

    def finish(self) -> None:
        """Make the copy durable and release it."""
        self.close()
        fsync_dir_contents(self._path)

    def close(self) -> None:
        """Release the database (idempotent)."""
        if not self._db.closed:
            self._db.close()


def copy_store(
    chunks: Iterable[list[tuple[bytes, bytes]]],
    out: Path,
    on_progress: Callable[[int, int], None] = lambda keys, size: None,
) -> int:
    """Write every item of ``chunks`` into a fresh LevelDB at ``out``; the number of keys."""
    writer = StoreWriter(out, on_progress)
    try:
        for chunk in chunks:
            writer.write(chunk)
        writer.finish()
    finally:
        writer.close()
    return writer.keys


def write_summary(backup: Path, summary: BackupSummary) -> None:
    """Write ``backup.json``."""
    (backup / SUMMARY_FILE).write_text(json.dumps(asdict(summary), indent=2) + "\n")


def read_summary(backup: Path) -> BackupSummary:
    """Read ``backup.json``; BackupError when it is missing or not this format."""
    path = backup / SUMMARY_FILE
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BackupError(f"{path}: not a carbon-ticket backup ({exc})") from exc
    data = parse_json(raw, f"{path} (not a carbon-ticket backup)", BackupError)
    if not isinstance(data, dict):
        raise BackupError(f"{path}: not a carbon-ticket backup (not a JSON object)")
    _check_field_types(data, path)
    try:
        summary = BackupSummary(**data)
    except TypeError as exc:  # other fields than a summary's
        raise BackupError(f"{path}: not a carbon-ticket backup ({exc})") from exc
    if summary.format != BACKUP_FORMAT:
        raise BackupError(f"{path}: unknown backup format {summary.format!r}")
    return summary


def _check_field_types(data: dict[str, Any], path: Path) -> None:
    """Verify each field of a summary holds its type: what reads a summary trusts its fields
    (a ``node_key`` that is no text would silently drop the backup's signing record)."""
    for name, kind in get_type_hints(BackupSummary).items():
        if name not in data:
            continue  # a missing field is named by the constructor
        value = data[name]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise BackupError(
                f"{path}: field {name!r} must be a non-negative integer, got {_short(value)}"
            )
        if kind is str and not isinstance(value, str):
            raise BackupError(f"{path}: field {name!r} must be text, got {_short(value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def verify_backup(backup: Path, genesis: Genesis) -> BackupSummary:
    """Check a backup against the network's ``genesis``; the summary of what it holds.

    Verify: the store opens for this chain id (format version and tip consistent), its genesis
    document is this genesis, every header links to the one before it (chain id, height,
    prev_hash) up to the tip, and the tip block's certificate proves it final with the validator
    set in effect at that height, for the app hash the tip records.
    """
    summary = read_summary(backup)
    try:
        store = LevelDBStore.open(backup / BLOCKS_DIR, chain_id=genesis.chain_id, create=False)
    except StorageError as exc:
        raise BackupError(f"backup {backup}: {exc.message}") from exc
    with store:
        try:
            _check_genesis(store, genesis)
            _check_header_chain(store)
            _check_tip_certificate(store)
        except StorageError as exc:  # an unreadable record inside the copy
            raise BackupError(f"backup {backup}: {exc.message}") from exc
        found = (store.height, store.app_hash.hex(), store.last_hash.hex())
    if found != (summary.height, summary.app_hash, summary.last_block_hash):
        raise BackupError(f"backup {backup}: {SUMMARY_FILE} does not describe its store")
    return summary


def _check_genesis(store: LevelDBStore, genesis: Genesis) -> None:
    raw = store.genesis()
    if raw is None or not store.initialized:
        raise BackupError("backup store has no genesis")
    try:
        stored = Genesis.from_json(raw.decode())
    except (LedgerError, UnicodeDecodeError) as exc:
        raise BackupError(f"backup genesis is unreadable: {exc}") from exc
    if stored.hash() != genesis.hash():
        raise BackupError(
            f"backup genesis hash {stored.hash().hex()} is not this network's "
            f"{genesis.hash().hex()}"
        )


def _check_header_chain(store: LevelDBStore) -> None:
    prev = bytes(32)  # block 1 carries GENESIS_PREV_HASH
    for height in range(1, store.height + 1):
        header = store.get_header(height)
        if header is None:
            raise BackupError(f"backup store lacks the header of block {height}")
        if header.height != height or header.chain_id != store.chain_id or header.prev_hash != prev:
            raise BackupError(f"backup header {height} does not follow block {height - 1}")
        prev = header.hash()
    if prev != store.last_hash:
        raise BackupError("backup tip does not name its last header")


def _check_tip_certificate(store: LevelDBStore) -> None:
    height = store.height
    if height == 0:
        return
    header = store.last_header()
    raw = store.get_certificate(height)
    if header is None or raw is None:
        raise BackupError(f"backup store lacks block {height} or its certificate")
    if header.app_hash != store.app_hash:
        raise BackupError(f"backup tip app hash differs from block {height}'s header")
    try:
        msg = ledger_pb2.CommitCertificate.FromString(raw)
        cert = certificate_from_proto(msg)
    except (ValueError, PeerMessageError) as exc:
        raise BackupError(f"backup certificate of block {height} is unreadable: {exc}") from exc
    if cert.block_hash != header.hash() or cert.height != height:
        raise BackupError(f"backup certificate of block {height} is for another block")
    members = validators_at(store, height)
    validators = ValidatorSet(tuple(Validator(v.name, v.public_key, v.power) for v in members))
    try:
        verify_commit_certificate(store.chain_id, validators, cert)
    except ConsensusError as exc:
        raise BackupError(f"backup certificate of block {height} does not verify: {exc}") from exc


@dataclass(frozen=True, slots=True)
class SignStatePlan:
    """What a restore does with the signing record: keep the home's, install the backup's, or
    neither (no record anywhere); ``warning`` is for the operator."""

    action: str  # "keep", "install" or "none"
    warning: str


def _load_sign_state(path: Path) -> SignState | None:
    try:
        return FileSafetyStore(path).load()
    except (ConsensusError, ValueError) as exc:
        raise BackupError(f"signing record {path} is unreadable: {exc}") from exc


def plan_sign_state(backup: Path, data_dir: Path, own_key: str | None = None) -> SignStatePlan:
    """Decide what happens to the signing record; BackupError when the restore must not go on.

    A validator must never sign twice at one height and round. So the home's record is never
    replaced (it is at least as new as anything this machine signed); a backup's record newer
    than the home's means the key signed elsewhere after this machine last did (two machines
    with one key, or a home that was itself rolled back): refused, for the operator to sort
    out. With no record in the home the backup's is installed, as a floor only. A backup of
    another node (``own_key`` differs from the backup's ``node_key``) brings no record at all.
    """
    ours = _load_sign_state(data_dir / "sign_state")
    theirs = _load_sign_state(backup / "sign_state")
    if own_key is not None and read_summary(backup).node_key not in ("", own_key):
        theirs = None  # another key's record says nothing about what this key signed
    if ours is not None:
        if theirs is not None and theirs.position > ours.position:
            raise BackupError(
                f"the backup's signing record ({position_text(theirs)}) is newer than this "
                f"home's ({position_text(ours)}): this validator key signed somewhere else after "
                "this home last signed. Make sure no other machine runs this key; see "
                "docs/operations.md (Backup and restore) before going on"
            )
        return SignStatePlan("keep", "")
    if theirs is None:
        return SignStatePlan("none", "")
    return SignStatePlan(
        "install",
        f"installed the backup's signing record ({position_text(theirs)}): this key may have "
        "signed later than that; start the node only once the old machine is stopped for good "
        "and the network has committed a block after it stopped",
    )


def install_blocks(backup: Path, data_dir: Path, plan: SignStatePlan, replace: bool) -> str:
    """Copy the verified backup into ``data_dir``; the path the old store was moved to, or ""."""
    target = data_dir / BLOCKS_DIR
    moved = ""
    if target.exists():
        try:  # a running node holds the lock: never restore under it (said first: --replace
            LevelDBStore.open(target, create=False).close()  # would not help)
        except StorageError as exc:
            if isinstance(exc, StoreInUse):
                raise BackupError(
                    f"{target} is in use: stop the node first", "store_in_use"
                ) from exc
        if not replace:
            raise BackupError(
                f"{target} exists; pass --replace to move it aside and restore", "store_exists"
            )
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = data_dir / f"{BLOCKS_DIR}.restoring"
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(backup / BLOCKS_DIR, staging)
    fsync_dir_contents(staging)  # on the disk before it takes the store's place
    # The signing record and the marker before the store: a crash between two steps leaves
    # either the old store (which a newer record and the marker only restrict) or the restored
    # one with everything it needs, never a restored store without its marker.
    if plan.action == "install":
        for name in SIGN_STATE_FILES:
            if (backup / name).exists():
                write_durably(data_dir / name, (backup / name).read_bytes(), mode=0o600)
    mark_rebuilt(data_dir)  # the signing record may be newer than the restored blocks
    if target.exists():
        moved = str(data_dir / f"{BLOCKS_DIR}.before-restore-{time.time_ns() // 1_000_000}")
        os.replace(target, moved)
    os.replace(staging, target)
    fsync_path(data_dir)  # the renames
    return moved


def describe_sign_state(path: Path) -> str:
    """The position of the signing record at ``path`` as text, or "" when there is none."""
    state = _load_sign_state(path)
    return "" if state is None else position_text(state)


def position_text(state: SignState) -> str:
    """Where a signing record stands, for people: ``height 55, round 0, precommit``."""
    return f"height {state.height}, round {state.round}, {Step(state.step).name.lower()}"


def summarize(
    store: Any, genesis: Genesis, keys: int, source: str, sign_state: str, node_key: str = ""
) -> BackupSummary:
    """The summary of a store just copied (``store`` open on the copy)."""
    return BackupSummary(
        format=BACKUP_FORMAT,
        chain_id=store.chain_id,
        genesis_hash=genesis.hash().hex(),
        height=store.height,
        app_hash=store.app_hash.hex(),
        last_block_hash=store.last_hash.hex(),
        keys=keys,
        created_ms=time.time_ns() // 1_000_000,
        source=source,
        sign_state=sign_state,
        node_key=node_key,
    )
