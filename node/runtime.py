"""Process-wide settings of a validator's Python runtime, applied once the node is built.

Only ``carbon-ticket node start`` calls ``tune_garbage_collector``: in-process test networks
and tools keep Python's defaults.
"""

from __future__ import annotations

import gc

__all__ = ["GC_THRESHOLDS", "tune_garbage_collector"]

# Young collections after this many more container objects allocated than freed (Python's
# default is 700), and a full one after every 10 x 10 of them.
GC_THRESHOLDS = (50_000, 10, 10)


def tune_garbage_collector() -> None:
    """Collect reference cycles far less often, and never walk what start-up built.

    A node's objects (transactions, blocks, messages, receipts) are freed by reference counting
    as soon as they are dropped; cycles are rare. Yet with the default thresholds the collector
    ran about 2,500 young and 20 full collections in 60 heights of 400 transfers on four
    in-process validators, ~10 % of their CPU, each full one stopping the event loop for up to
    ~80 ms (``python -m tests.node.microbench_height --txs-per-block 400 --gc-stats``; with
    these thresholds it ran twice). ``gc.freeze`` moves everything alive after start-up
    (modules, genesis, configuration, caches) out of the collector's reach, so a full
    collection no longer walks it. Memory stays bounded: the bench's RSS figures are measured
    with this setting.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
