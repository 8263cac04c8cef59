"""The public API over a given store, served in-process on 127.0.0.1 for the length of a few
calls: no node, no consensus, nothing committed while it serves."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias, TypeVar

import grpc

from carbon_ticket.chain.kvstore import KVBackend, KVSnapshot
from carbon_ticket.chain.store import StoreView
from carbon_ticket.node.errors import ERROR_CODE_KEY
from carbon_ticket.node.service_public import LedgerServicer
from carbon_ticket.proto import services_pb2_grpc

T = TypeVar("T")
Stub: TypeAlias = services_pb2_grpc.LedgerServiceStub


class _NoCommits:
    """The servicer's submitter: reads submit nothing, and no commit comes."""

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        return lambda: None


class _NothingPending:
    """The servicer's mempool: empty (GetAccount's next nonce is the committed one)."""

    def next_nonce(self, address: str, committed: int | None = None) -> int:
        return committed or 0


async def _start(store: StoreView) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    servicer = LedgerServicer(_NoCommits(), store, _NothingPending(), None)  # type: ignore[arg-type]
    services_pb2_grpc.add_LedgerServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


def serve_api(store: StoreView, calls: Callable[[Stub], Awaitable[T]]) -> T:
    """Serve the public API over ``store``, make ``calls`` with a stub, stop the server."""

    async def run() -> T:
        server, port = await _start(store)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                return await calls(services_pb2_grpc.LedgerServiceStub(channel))
        finally:
            await server.stop(None)

    return asyncio.run(run())


@contextmanager
def serving(store: StoreView) -> Iterator[str]:
    """The public API over ``store`` on 127.0.0.1, its event loop in a thread, for synchronous
    callers (the wallet); yields its address and stops it afterwards."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server, port = asyncio.run_coroutine_threadsafe(_start(store), loop).result(10)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def refusal(call: Awaitable[Any]) -> tuple[grpc.StatusCode, str, str]:
    """The status, message and ``ledger-error-code`` of a call that must be refused."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        trailers = dict(exc.trailing_metadata() or ())
        return exc.code(), exc.details() or "", str(trailers.get(ERROR_CODE_KEY, ""))
    raise AssertionError("the call was answered, not refused")


class CountingKV:
    """A KVBackend over another that counts what is read from it: point reads and the entries
    drawn from iterators (what a read costs LevelDB, whatever the iterator's range)."""

    def __init__(self, kv: KVBackend) -> None:
        self._kv = kv
        self.reads = 0

    def get(self, key: bytes) -> bytes | None:
        self.reads += 1
        return self._kv.get(key)

    def iterate(
        self, start: bytes, stop: bytes, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        return self._counted(self._kv.iterate(start, stop, reverse))

    def _counted(self, items: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        for item in items:
            self.reads += 1
            yield item

    def write(self, items: list[tuple[bytes, bytes | None]]) -> None:
        self._kv.write(items)

    def snapshot(self) -> KVSnapshot:
        return self._kv.snapshot()

    def close(self) -> None:
        self._kv.close()
