"""Bad requests cost one log line each (or a "suppressed" summary), never a traceback."""

from __future__ import annotations

import json
import logging
import random
import re
import sys
from pathlib import Path

import grpc
import pytest

from carbon_ticket.node.logs import JsonFormatter, RateLimitedLog
from carbon_ticket.proto import services_pb2
from tests.cli.harness import running_devnet

_SERVICE = "/carbonticket.v1.LedgerService/"
_SUPPRESSED = re.compile(r"suppressed (\d+) more lines for (\S+)")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_repeated_reasons_are_cut_to_a_burst_and_summarised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = _Clock()
    lines = RateLimitedLog(logging.getLogger("test.ratelimit"), burst=3, window_s=10, clock_s=clock)
    with caplog.at_level(logging.INFO, logger="test.ratelimit"):
        for i in range(10):
            lines.emit(logging.WARNING, "bad", "bad request %d", i)
        lines.emit(logging.WARNING, "other", "other reason")
        clock.now = 10.0  # a new window: the summary first, then lines again
        lines.emit(logging.WARNING, "bad", "bad request again")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "bad request 0",
        "bad request 1",
        "bad request 2",
        "other reason",
        "suppressed 7 more lines for bad in 10 s",
        "bad request again",
    ]


def test_flush_writes_the_summary_of_an_open_window(caplog: pytest.LogCaptureFixture) -> None:
    lines = RateLimitedLog(logging.getLogger("test.flush"), burst=1, clock_s=_Clock())
    with caplog.at_level(logging.INFO, logger="test.flush"):
        lines.emit(logging.INFO, "r", "one")
        lines.emit(logging.INFO, "r", "two")
        lines.flush()
        lines.flush()  # nothing left to say
    assert [r.getMessage() for r in caplog.records] == [
        "one",
        "suppressed 1 more lines for r in 10 s",
    ]


def test_json_format_is_one_object_per_line_even_with_an_exception() -> None:
    formatter = JsonFormatter("node0")
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["node"] == "node0" and entry["level"] == "ERROR"
    assert entry["message"] == "failed here" and "ValueError: boom" in entry["exception"]


def _malformed_requests(rng: random.Random) -> list[tuple[str, bytes]]:
    """About 50 bad requests: garbage bytes, an oversized transaction, bad fields."""
    requests: list[tuple[str, bytes]] = []
    for _ in range(20):
        garbage = b"\x0a\xff" + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        requests.append((rng.choice(["SubmitTx", "GetAccount", "GetTx", "GetBlock"]), garbage))
    for _ in range(5):
        oversized = services_pb2.SubmitTxRequest(tx=b"\x00" * 300_000).SerializeToString()
        requests.append(("SubmitTx", oversized))
    for i in range(25):
        bad = [
            ("GetAccount", services_pb2.GetAccountRequest(address=f"not-an-address-{i}")),
            ("GetTx", services_pb2.GetTxRequest(tx_hash=bytes([i]) * 7)),
            ("SubmitTx", services_pb2.SubmitTxRequest(tx=b"garbage %d" % i)),
            ("GetCertificate", services_pb2.GetCertificateRequest(certificate_id=f"nope-{i}")),
            ("GetTxProof", services_pb2.GetTxProofRequest(tx_hash=b"short")),
        ][i % 5]
        requests.append((bad[0], bad[1].SerializeToString()))
    return requests


def test_fifty_malformed_requests_log_one_line_each_and_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    requests = _malformed_requests(random.Random(18))
    refused = 0
    with caplog.at_level(logging.INFO), running_devnet(tmp_path / "devnet") as (info, _node):
        channel = grpc.insecure_channel(info.endpoints[0])
        try:
            for method, payload in requests:
                try:
                    channel.unary_unary(_SERVICE + method)(payload, timeout=10)
                except grpc.RpcError as exc:
                    assert exc.code() in (
                        grpc.StatusCode.INVALID_ARGUMENT,
                        grpc.StatusCode.NOT_FOUND,
                    ), exc
                    refused += 1
        finally:
            channel.close()
    # The node has stopped: its summaries of suppressed lines are written.
    assert refused == len(requests) == 50
    records = [r for r in caplog.records if r.name == "carbon_ticket.node.request_log"]
    assert all(r.exc_info is None for r in caplog.records)
    assert "Traceback" not in caplog.text
    per_request = [r for r in records if "refused a" in r.getMessage()]
    suppressed = sum(int(m.group(1)) for r in records if (m := _SUPPRESSED.search(r.getMessage())))
    assert len(per_request) + suppressed == refused
    assert all(r.getMessage().count("\n") == 0 for r in records)
    assert any("malformed request" in r.getMessage() for r in per_request)


def test_a_node_process_with_log_format_json_writes_json_lines(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import logging\n"
        "from carbon_ticket.node.logs import configure_logging\n"
        "configure_logging('bureau %1', 'INFO', 'json')\n"
        "logging.getLogger('carbon_ticket.x').warning('two\\nlines')\n"
        "configure_logging('ignored', 'INFO', 'text')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    entry = json.loads(lines[0])
    assert entry["node"] == "bureau %1" and entry["message"] == "two\nlines"
    assert entry["logger"] == "carbon_ticket.x" and entry["level"] == "WARNING"
