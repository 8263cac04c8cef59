"""A validator process tunes Python's garbage collector once it is built (node.runtime)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from carbon_ticket.node.runtime import GC_THRESHOLDS, tune_garbage_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    built = [object() for _ in range(10)]  # what a node's start-up leaves alive
    tune_garbage_collector()
    assert gc.get_freeze_count() > len(built)
    assert gc.get_threshold() == GC_THRESHOLDS and GC_THRESHOLDS[0] > 700  # Python's default


@pytest.mark.usefixtures("restored_collector")
def test_cycles_are_still_collected() -> None:
    tune_garbage_collector()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle: only the collector frees it
    del a, b
    assert gc.collect() >= 2
