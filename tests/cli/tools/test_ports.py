"""Ports for test and benchmark devnets: outside the ephemeral range, claimed across processes.

Each test keeps its claims in its own registry (``tmp_path``), so it neither sees nor leaves
claims of the real runs on this host.
"""

from __future__ import annotations

import multiprocessing
import random
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

from carbon_ticket.cli.tools.ports import CLAIM_S, claim_ports, ephemeral_ports, free_base_port


class _Bases(random.Random):
    """Gives the bases it was told, in order (a stand-in for the random choice)."""

    def __init__(self, *bases: int) -> None:
        super().__init__(0)
        self._bases = list(bases)

    def randrange(self, *args: object, **kwargs: object) -> int:
        return self._bases.pop(0)


def _below_ephemeral(offset: int) -> int:
    # A base of a few ports below the ephemeral range (where free_base_port looks by default).
    return ephemeral_ports().start - 1000 + offset


def test_a_claimed_range_is_not_claimed_again_until_its_claim_ends(tmp_path: Path) -> None:
    assert claim_ports(range(40_000, 40_004), tmp_path, now=1000.0)
    assert not claim_ports(range(40_003, 40_005), tmp_path, now=1000.0 + CLAIM_S - 1)
    assert claim_ports(range(40_004, 40_006), tmp_path, now=1001.0)  # beside it: free
    assert claim_ports(range(40_000, 40_004), tmp_path, now=1000.0 + CLAIM_S + 1)


def _claim_in_child(registry: str, done: EventType) -> None:
    claim_ports(range(41_000, 41_002), Path(registry))
    done.set()


def test_a_claim_made_by_another_process_holds(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    done = spawn.Event()
    child = spawn.Process(target=_claim_in_child, args=(str(tmp_path), done))
    child.start()
    child.join(60)
    assert done.is_set()
    assert not claim_ports(range(41_001, 41_003), tmp_path)


def test_two_devnets_made_at_once_get_ranges_apart(tmp_path: Path) -> None:
    # The same base comes up twice (two processes' choices, or one's twice): the ports are still
    # free, nothing bound them yet, but the second choice skips the first one's claim.
    first, other = _below_ephemeral(0), _below_ephemeral(100)
    rng = _Bases(first, first, other)
    assert free_base_port(4, rng=rng, registry=tmp_path) == first
    assert free_base_port(4, rng=rng, registry=tmp_path) == other


def test_no_port_is_chosen_where_outgoing_connections_take_theirs(tmp_path: Path) -> None:
    ephemeral = ephemeral_ports()
    inside, outside = ephemeral.start + 10, _below_ephemeral(200)
    rng = _Bases(inside, ephemeral.start - 2, outside)  # the second straddles its start
    assert free_base_port(4, rng=rng, registry=tmp_path) == outside
