"""What ``carbon-ticket chaos`` checks, as pure functions over what it read from the nodes.

The chaos engine reads every node's committed blocks (header hash, app hash, receipts) into a
``NodeView`` and keeps the load generator's list of transactions it was told were committed.
These functions compare the two, without I/O, so each check is tested on fabricated views:

- ``find_lost``: a transaction the load generator saw committed is missing from a node that has
  reached its height, sits at another height, or has another receipt there;
- ``find_divergent``: two nodes hold different block hashes or app hashes at one height;
- ``find_stalls``: the chain did not grow while more than 2/3 of the voting power was up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "BlockRecord",
    "CheckReport",
    "CommittedTx",
    "Divergence",
    "LostTx",
    "NodeView",
    "Sample",
    "Stall",
    "check_all",
    "find_divergent",
    "find_lost",
    "find_stalls",
    "has_quorum",
]


@dataclass(frozen=True, slots=True)
class CommittedTx:
    """A transaction the load generator was told was committed, with what it was told."""

    tx_hash: bytes
    height: int
    receipt: bytes  # the receipt as given, serialised deterministically
    kind: str  # "transfer" or "retire"


@dataclass(frozen=True, slots=True)
class BlockRecord:
    """What one node holds at one height."""

    block_hash: bytes
    app_hash: bytes


@dataclass(slots=True)
class NodeView:
    """One node's committed chain as read through its public API."""

    name: str
    height: int = 0
    blocks: dict[int, BlockRecord] = field(default_factory=dict)
    # tx hash -> (height, receipt serialised deterministically)
    receipts: dict[bytes, tuple[int, bytes]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LostTx:
    """A committed transaction that one node does not hold as it was committed."""

    tx_hash: bytes
    node: str
    reason: str  # "missing", "at height N instead of M", "different receipt"


@dataclass(frozen=True, slots=True)
class Divergence:
    """A height at which the nodes disagree."""

    height: int
    what: str  # "block hash" or "app hash"
    values: dict[str, str]  # node name -> hex value


@dataclass(frozen=True, slots=True)
class Sample:
    """At monotonic time ``t``: how much voting power was running and the highest height seen."""

    t: float
    up_power: int
    total_power: int
    height: int


@dataclass(frozen=True, slots=True)
class Stall:
    """A stretch with more than 2/3 of the power up in which the chain did not grow."""

    start: float
    end: float
    height: int

    @property
    def seconds(self) -> float:
        """Its length."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Every finding of one check."""

    lost: tuple[LostTx, ...]
    divergent: tuple[Divergence, ...]
    stalls: tuple[Stall, ...]
    stall_limit_s: float

    @property
    def lost_count(self) -> int:
        """Distinct committed transactions that some node lost."""
        return len({item.tx_hash for item in self.lost})

    @property
    def divergent_heights(self) -> int:
        """Distinct heights at which some nodes disagree."""
        return len({item.height for item in self.divergent})

    @property
    def longest_stall_s(self) -> float:
        """The longest stall (0 when the chain always grew)."""
        return max((stall.seconds for stall in self.stalls), default=0.0)

    @property
    def stalls_over_limit(self) -> int:
        """Stalls longer than the limit: the chain did not make progress with a quorum up."""
        return sum(1 for stall in self.stalls if stall.seconds > self.stall_limit_s)

    @property
    def ok(self) -> bool:
        """Nothing lost, no divergence, progress whenever a quorum was up."""
        return not self.lost and not self.divergent and self.stalls_over_limit == 0


def find_lost(committed: Iterable[CommittedTx], views: Sequence[NodeView]) -> list[LostTx]:
    """Committed transactions that a node past their height does not hold as committed.

    A node below a transaction's height has not reached it yet: that is lag, not loss (the
    engine waits for every node to catch up before its final check).
    """
    lost = []
    for tx in committed:
        for view in views:
            if view.height < tx.height:
                continue
            found = view.receipts.get(tx.tx_hash)
            if found is None:
                lost.append(LostTx(tx.tx_hash, view.name, "missing"))
            elif found[0] != tx.height:
                lost.append(LostTx(tx.tx_hash, view.name, f"at height {found[0]} not {tx.height}"))
            elif found[1] != tx.receipt:
                lost.append(LostTx(tx.tx_hash, view.name, "different receipt"))
    return lost


def find_divergent(views: Sequence[NodeView]) -> list[Divergence]:
    """Heights held by two or more nodes at which their block hashes or app hashes differ."""
    heights = sorted({height for view in views for height in view.blocks})
    found = []
    for height in heights:
        held = {view.name: view.blocks[height] for view in views if height in view.blocks}
        if len(held) < 2:
            continue
        for what, attribute in (("block hash", "block_hash"), ("app hash", "app_hash")):
            values = {name: getattr(record, attribute).hex() for name, record in held.items()}
            if len(set(values.values())) > 1:
                found.append(Divergence(height, what, values))
    return found


def has_quorum(up_power: int, total_power: int) -> bool:
    """More than 2/3 of the voting power."""
    return 3 * up_power > 2 * total_power


def find_stalls(samples: Sequence[Sample], min_seconds: float = 0.0) -> list[Stall]:
    """Stretches longer than ``min_seconds`` with a quorum up and no new height.

    A stretch starts at the first sample with a quorum up after the height last grew (or the
    quorum came back) and ends at the first sample with a higher height, the quorum gone, or the
    last sample.
    """
    stalls = []
    start: float | None = None
    height = -1
    for sample in sorted(samples, key=lambda s: s.t):
        quorum = has_quorum(sample.up_power, sample.total_power)
        if start is not None and (not quorum or sample.height > height):
            if sample.t - start > min_seconds:
                stalls.append(Stall(start, sample.t, height))
            start = None
        if quorum and start is None:
            start, height = sample.t, sample.height
        height = max(height, sample.height)
    if start is not None and samples:
        last = max(s.t for s in samples)
        if last - start > min_seconds:
            stalls.append(Stall(start, last, height))
    return stalls


def check_all(
    committed: Iterable[CommittedTx],
    views: Sequence[NodeView],
    samples: Sequence[Sample],
    stall_limit_s: float,
    min_stall_s: float = 0.0,
) -> CheckReport:
    """Every check at once."""
    return CheckReport(
        lost=tuple(find_lost(committed, views)),
        divergent=tuple(find_divergent(views)),
        stalls=tuple(find_stalls(samples, min_stall_s)),
        stall_limit_s=stall_limit_s,
    )
