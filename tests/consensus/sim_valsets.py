"""Validator set changes for the consensus simulator: schedules, the safety rule, random plans.

A change decided by the block at height H takes effect at H + 2 (docs/consensus.md), at most
one change is pending at a time, and every step obeys the rule of the chain: at least 4
validators, and the validators the step leaves unchanged (same key, same power) hold more than
2/3 of the power of the old set and of the new set.

Members are simulator node ids with a power; a node's key never changes, so a key rotation is a
node leaving and a new node (the new key) joining in one step.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from carbon_ticket.consensus import Validator, ValidatorSet

Members = tuple[tuple[int, int], ...]
"""An ordered validator set as (node id, power) pairs; a validator's index is its position."""

EFFECT_DELAY = 2
KINDS = ("join", "leave", "power", "rotate")


@dataclass(frozen=True)
class SetChange:
    """The set `members` decided by the block at `decided`, in effect from `decided + 2`."""

    decided: int
    kind: str
    members: Members

    @property
    def effective(self) -> int:
        """First height the new set signs."""
        return self.decided + EFFECT_DELAY


def safe_step(old: Members, new: Members) -> bool:
    """The chain's rule for one change: >= 4 validators, unchanged ones > 2/3 of both sets."""
    if len(new) < 4 or len({n for n, _ in new}) != len(new):
        return False
    kept = set(old) & set(new)
    kept_power = sum(p for _, p in kept)
    return all(3 * kept_power > 2 * sum(p for _, p in s) for s in (old, new))


class Schedule:
    """The validator set in effect at every height (global truth of one simulated run)."""

    def __init__(self, keys: Sequence[bytes], genesis: Members, changes: Sequence[SetChange]):
        self._keys = list(keys)
        self.starts: list[int] = [1]
        self.members: list[Members] = [genesis]
        for change in changes:
            self.starts.append(change.effective)
            self.members.append(change.members)
        self.sets = [self._build(m) for m in self.members]
        self._index = [{node: i for i, (node, _) in enumerate(m)} for m in self.members]

    def _build(self, members: Members) -> ValidatorSet:
        return ValidatorSet(
            tuple(Validator(f"v{node}", self._keys[node], power) for node, power in members)
        )

    def _slot(self, height: int) -> int:
        return bisect.bisect_right(self.starts, height) - 1

    def at(self, height: int) -> ValidatorSet | None:
        """The set in effect at `height` (every height is known: this is the global view)."""
        return self.sets[self._slot(height)]

    def set_at(self, height: int) -> ValidatorSet:
        """As `at`, never None."""
        return self.sets[self._slot(height)]

    def index_of(self, node: int, height: int) -> int | None:
        """`node`'s validator index at `height`, or None when it is not a member there."""
        return self._index[self._slot(height)].get(node)

    def node_at(self, height: int, index: int) -> int | None:
        """The node holding validator index `index` at `height`, if any."""
        members = self.members[self._slot(height)]
        return members[index][0] if 0 <= index < len(members) else None

    def removed_at(self, node: int) -> int | None:
        """The first height at which `node`, a genesis member, is no longer in the set."""
        for start, slot in zip(self.starts, self._index, strict=True):
            if node not in slot:
                return start
        return None


class NodeView:
    """What one node knows: the sets up to its committed height + 2, None beyond."""

    def __init__(self, schedule: Schedule, committed: Callable[[], int]) -> None:
        self._schedule = schedule
        self._committed = committed

    def at(self, height: int) -> ValidatorSet | None:
        """The set in effect at `height` if this node can know it yet."""
        if height > self._committed() + EFFECT_DELAY:
            return None
        return self._schedule.at(height)


def draw_changes(
    rng: random.Random,
    genesis: Members,
    joiners: Sequence[int],
    byzantine: set[int],
    must_remove: set[int],
    count: int,
) -> list[SetChange]:
    """Draw up to `count` safe changes; Byzantine power stays below 1/3 of every set.

    The one node in `must_remove` (if any) leaves, or is rotated out, in the first change (a
    removed validator that keeps signing is the point of the "zombie" behaviour).
    """
    changes: list[SetChange] = []
    current = genesis
    pool = list(joiners)
    decided = rng.randint(1, 3)
    for k in range(count):
        for _ in range(30):
            remove = must_remove if k == 0 else set()
            kind = rng.choice(("leave", "rotate") if remove else KINDS)
            new = _apply(rng, kind, current, pool, remove)
            if new is not None and safe_step(current, new) and _byz_ok(new, byzantine):
                break
        else:
            break
        changes.append(SetChange(decided, kind, new))
        pool = [j for j in pool if j not in {n for n, _ in new}]
        current = new
        # One change pending at a time: the next is decided once this one is in effect.
        decided += EFFECT_DELAY + rng.randint(0, 2)
    return changes


def _apply(
    rng: random.Random, kind: str, current: Members, pool: list[int], remove: set[int]
) -> Members | None:
    nodes = [n for n, _ in current]
    if kind == "join":
        if not pool:
            return None
        return (*current, (pool[0], rng.choice((1, 1, 2))))
    if kind == "leave":
        gone = next(iter(remove)) if remove else rng.choice(nodes)
        return tuple(m for m in current if m[0] != gone)
    if kind == "power":
        i = rng.randrange(len(current))
        node, power = current[i]
        changed = power + 1 if power == 1 or rng.random() < 0.5 else power - 1
        return (*current[:i], (node, changed), *current[i + 1 :])
    if not pool:
        return None
    # Rotate: the new key takes the old key's place (and power) in the order.
    i = nodes.index(next(iter(remove))) if remove else rng.randrange(len(current))
    return (*current[:i], (pool[0], current[i][1]), *current[i + 1 :])


def _byz_ok(members: Members, byzantine: set[int]) -> bool:
    total = sum(p for _, p in members)
    return 3 * sum(p for n, p in members if n in byzantine) < total
