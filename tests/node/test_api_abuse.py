"""One abusive client against one real validator process (issue 20): 200 block streams and four
threads sending 10,000-transaction batches with bad signatures, all at once. The node refuses what
is over its [api] limits with RESOURCE_EXHAUSTED and a message naming the setting, its memory stays
within the 250 MB budget, and it keeps committing blocks. No time is asserted."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from carbon_ticket.cli.keystore import TEST_KDF
from carbon_ticket.cli.tools.abuse import (
    MEMORY_BUDGET_MB,
    flood_abuser,
    node_rss_mb,
    stream_abuser,
)
from carbon_ticket.cli.tools.devnet import DevnetInfo, DevnetProcesses, free_base_port, init_devnet
from carbon_ticket.node.config import ApiSettings
from carbon_ticket.proto import services_pb2, services_pb2_grpc
from tests.cli.harness import make_fast

pytestmark = pytest.mark.slow

STREAMS = 200
ABUSE_S = 12.0
GUARD_CODES = {
    "tx_rate_limited", "bytes_rate_limited", "too_many_submissions", "admission_queue_full",
    "rate_limited", "batch_over_burst", "request_too_large",
}  # fmt: skip


def _height(stub: services_pb2_grpc.LedgerServiceStub) -> int:
    return int(stub.GetStatus(services_pb2.StatusRequest(), timeout=10).height)


@pytest.fixture
def validator(tmp_path: Path) -> Iterator[tuple[DevnetInfo, int]]:
    info = init_devnet(
        tmp_path / "devnet", validators=1, base_port=free_base_port(1), wallet_kdf=TEST_KDF
    )
    make_fast(info.node_home(0))  # default [api] limits
    procs = DevnetProcesses(info)
    try:
        procs.start_all()
        with grpc.insecure_channel(info.endpoints[0]) as channel:
            stub = services_pb2_grpc.LedgerServiceStub(channel)
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _height(stub) >= 1:
                        break
                except grpc.RpcError:
                    pass
                assert time.monotonic() < deadline, "the validator did not start"
                time.sleep(0.2)
        yield info, procs.procs[0].pid
    finally:
        procs.stop_all()


def test_one_client_with_many_streams_and_a_bad_signature_flood_is_refused_not_served(
    validator: tuple[DevnetInfo, int],
) -> None:
    info, pid = validator
    endpoint = info.endpoints[0]
    limit = ApiSettings().max_streams_per_client
    stop = threading.Event()
    streams_out: queue.Queue[dict[str, Any]] = queue.Queue()
    flood_out: queue.Queue[dict[str, Any]] = queue.Queue()
    abusers = [
        threading.Thread(target=stream_abuser, args=(endpoint, STREAMS, stop, streams_out, False)),
        threading.Thread(
            target=flood_abuser, args=(endpoint, info.chain_id, 4, 10_000, stop, flood_out, False)
        ),
    ]
    peak_mb = 0.0
    with grpc.insecure_channel(endpoint) as channel:
        stub = services_pb2_grpc.LedgerServiceStub(channel)
        before = _height(stub)
        for abuser in abusers:
            abuser.start()
        try:
            end = time.monotonic() + ABUSE_S
            while time.monotonic() < end:
                peak_mb = max(peak_mb, node_rss_mb(pid)[0])
                time.sleep(0.25)
            during = _height(stub)
        finally:
            stop.set()
            for abuser in abusers:
                abuser.join(timeout=60)
    streams, flood = streams_out.get(timeout=5), flood_out.get(timeout=5)

    # Streams: exactly the limit is served, every other one refused with the message.
    assert streams["opened"] == limit
    assert streams["refused"] == {"too_many_streams": STREAMS - limit}
    assert streams["example"] == (
        f"too many streams from 127.0.0.1 (limit {limit}); close some or raise [api] "
        "max_streams_per_client"
    )
    assert streams["messages"] >= limit  # the served streams got blocks

    # Flood: refused by the guard, every refusal RESOURCE_EXHAUSTED with a named setting.
    assert sum(flood["refused"].values()) > 0
    assert set(flood["refused"]) <= GUARD_CODES, flood["refused"]
    assert set(flood["statuses"]) == {"RESOURCE_EXHAUSTED"}, flood["statuses"]
    assert "raise [api] " in flood["example"]

    # Memory within budget, and the chain moved on while it all happened.
    assert 0 < peak_mb < MEMORY_BUDGET_MB, f"node RSS peaked at {peak_mb:.0f} MiB"
    assert during > before, f"no block committed under abuse (height {before} -> {during})"
