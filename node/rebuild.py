"""Recovering a damaged node: move its blocks aside so the next start fetches them from peers.

``rebuild`` keeps everything that is not the chain: the node key, the config, the genesis and,
above all, the signing state (``sign_state``): it is the double-sign protection and the chain
cannot give it back. It leaves a marker (``data/REBUILT``) so the start-up check accepts a store
below the height the validator last signed at until block sync has brought it back up (until
the validator signs again); restoring a backup leaves the same marker (node.backup).

``check_against_sign_state`` is that start-up check: a store that lost committed blocks (a
truncated LevelDB log replays silently to an older height) must not start as if nothing happened.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from carbon_ticket.chain.errors import StorageError, StoreInUse
from carbon_ticket.consensus import SafetyStoreError, SignState
from carbon_ticket.node.durable import write_durably
from carbon_ticket.node.errors import StoreDamaged
from carbon_ticket.node.safety import FileSafetyStore
from carbon_ticket.node.store import LevelDBStore

__all__ = [
    "REBUILT_MARKER",
    "RebuildResult",
    "check_against_sign_state",
    "load_sign_state",
    "mark_rebuilt",
    "rebuild",
]

log = logging.getLogger(__name__)

REBUILT_MARKER = "REBUILT"
BLOCKS_DIR = "blocks"
SIGN_STATE = "sign_state"


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What ``rebuild`` did."""

    blocks: str  # the store directory
    moved_to: str  # where it went, or "" when deleted (--force) or absent
    kept: tuple[str, ...]  # files kept in the data directory (sign_state among them)
    signed_height: int  # the height sign_state says it last signed at (0: none, -1: unreadable)


def load_sign_state(data_dir: Path) -> SignState | None:
    """The signing state in ``data_dir`` (its lock-block file checked too), or None.

    StoreDamaged when either file does not decode: a truncated write or flipped bytes.
    """
    safety = FileSafetyStore(data_dir / SIGN_STATE)
    try:
        state = safety.load()
        if state is not None:
            safety.load_blocks(state.height)
    except SafetyStoreError as exc:
        raise StoreDamaged(
            f"signing state {safety.path} is damaged ({exc}): this validator cannot know what it "
            "signed last. Stop it, wait until the network has committed two blocks past the "
            "height this node last logged, then move the file aside and start again "
            "(docs/operations.md, Recovering a damaged node)"
        ) from exc
    return state


def mark_rebuilt(data_dir: Path) -> None:
    """Record that the store was replaced on purpose (rebuild, restore): see the module doc.

    The marker holds the height the signing state is at now. It excuses a lower store only
    while the validator has signed nothing higher: the engine signs a new height only once its
    store is at the height below, so a signing state past the marker means the store had
    caught up, and a lower store after that lost blocks again (a crash that tore the log).
    """
    try:
        state = load_sign_state(data_dir)
    except StoreDamaged:
        state = None  # the start refuses a damaged signing state anyway
    data_dir.mkdir(parents=True, exist_ok=True)
    height = state.height if state is not None else 0
    # Whole or absent after a crash (a torn marker would read as unreadable and excuse nothing),
    # and on the disk before a restore puts its store in place (node.backup.install_blocks).
    write_durably(
        data_dir / REBUILT_MARKER,
        f"{height}\nblocks replaced on purpose while signed up to the height above; the node "
        "syncs them from peers before it signs again\n".encode(),
    )


def _marker_height(marker: Path) -> int | None:
    # None: no marker; -1: unreadable (then it excuses nothing).
    try:
        first = marker.read_text().split("\n", 1)[0]
    except FileNotFoundError:
        return None
    except OSError:
        return -1
    return int(first) if first.isdigit() else -1


def check_against_sign_state(home: Path, data_dir: Path, store: LevelDBStore, fresh: bool) -> None:
    """Refuse (StoreDamaged) a store below the height this validator signed at.

    The engine signs at height ``store.height + 1`` only after block ``store.height`` is synced
    to disk, so a store lower than that lost blocks it had. Allowed when the store is ``fresh``
    (created by this start: its directory was removed by hand) or marked rebuilt since the
    validator last signed.
    """
    state = load_sign_state(data_dir)
    marker = data_dir / REBUILT_MARKER
    marked = _marker_height(marker)
    if state is None or store.height + 1 >= state.height:
        if marked is not None:
            marker.unlink()  # caught up: from now on the check applies in full
        return
    if fresh or (marked is not None and state.height <= marked):
        log.info("block store at height %d, below the signed height %d: rebuilt on purpose; "
                 "syncing from peers before signing", store.height, state.height)  # fmt: skip
        return
    if marked is not None:
        marker.unlink()  # signed past it since: it excuses nothing any more
    raise StoreDamaged(
        f"block store {store.path} is at height {store.height} but this validator signed at "
        f"height {state.height} ({data_dir / SIGN_STATE}): the store lost committed blocks "
        f"(a truncated log?). Run `carbon-ticket node rebuild --home {home}` and start it again "
        "to fetch them from peers"
    )


def _check_not_running(blocks: Path) -> None:
    # LevelDB holds a POSIX lock on LOCK while the node runs; probing it needs no working store.
    lock = blocks / "LOCK"
    if not lock.exists():
        return
    fd = os.open(lock, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise StoreInUse(f"{blocks} is in use: stop the node first") from exc
        fcntl.lockf(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def rebuild(home: Path, data_dir: Path, force: bool = False) -> RebuildResult:
    """Move ``data_dir/blocks`` aside (delete it with ``force``); keep keys and sign_state."""
    blocks = data_dir / BLOCKS_DIR
    if not blocks.exists():
        raise StorageError(
            f"no block store at {blocks}: nothing to rebuild (the next start syncs from peers)"
        )
    _check_not_running(blocks)
    try:  # the signing state is kept whatever it holds; a damaged one is the start's to refuse
        state = load_sign_state(data_dir)
        signed_height = state.height if state is not None else 0
    except StoreDamaged:
        signed_height = -1
    moved = ""
    if force:
        shutil.rmtree(blocks)
    else:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = data_dir / f"{BLOCKS_DIR}.damaged-{stamp}"
        os.replace(blocks, target)
        moved = str(target)
    mark_rebuilt(data_dir)
    kept = tuple(sorted(p.name for p in data_dir.iterdir() if not p.name.startswith(BLOCKS_DIR)))
    return RebuildResult(str(blocks), moved, kept, signed_height)
