"""How soon a waiting wallet call reaches a node that starts listening after the call began.

    python -m tests.cli.microbench_connect [--late 3.0] [--runs 5]

A GetStatus-only server on 127.0.0.1 starts ``--late`` seconds after ``cli.common.connect``
begins to wait for it; prints, per run, how long after the server listened the call was
answered (gRPC's reconnect backoff decides when the waiting channel tries again). Not a test:
figures depend on the machine.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from concurrent import futures
from typing import Any

import grpc

from carbon_ticket.cli.common import connect
from carbon_ticket.proto import services_pb2, services_pb2_grpc


class _Status(services_pb2_grpc.LedgerServiceServicer):
    def GetStatus(self, request: Any, context: Any) -> services_pb2.StatusResponse:
        return services_pb2.StatusResponse(chain_id="late", height=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def answered_after_listening(late: float) -> float:
    """Seconds between the server listening and the waiting call's answer."""
    port = _free_port()
    listened: list[float] = []
    done = threading.Event()

    def serve_late() -> None:
        time.sleep(late)
        server = grpc.server(futures.ThreadPoolExecutor(2))
        services_pb2_grpc.add_LedgerServiceServicer_to_server(_Status(), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        server.start()
        listened.append(time.monotonic())
        done.wait(30)
        server.stop(None)

    thread = threading.Thread(target=serve_late)
    thread.start()
    try:
        with connect(f"127.0.0.1:{port}", timeout=late + 10) as stub:
            stub.GetStatus(services_pb2.StatusRequest(), timeout=10)
        return time.monotonic() - listened[0]
    finally:
        done.set()
        thread.join(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--late", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    figures = [answered_after_listening(args.late) for _ in range(args.runs)]
    print("answered after listening, s:", " ".join(f"{f:.2f}" for f in figures))


if __name__ == "__main__":
    main()
