"""CarrierSwitch: a Stream call gives way to a frame link between two frames, none lost.

The end-to-end case (a peer whose frame port answers late) is in tests/node/test_frame_link.py;
here the moments that traffic makes rare are set up one by one on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, cast

from carbon_ticket.node.carrier_switch import CarrierSwitch, Frame, OpenedFrameLink
from carbon_ticket.node.frame_link import FrameQueue
from carbon_ticket.proto import services_pb2

TXS = services_pb2.PEER_FRAME_KIND_TXS
FIRST: Frame = (TXS, b"first")
SECOND: Frame = (TXS, b"second")


class _Connection:
    def __init__(self) -> None:
        self.closed = False

    async def close(self) -> None:
        self.closed = True


def _link() -> OpenedFrameLink:
    return OpenedFrameLink(cast(Any, _Connection()), cast(Any, None), 0.0, 0)


def _run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


async def _ticks(count: int = 5) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


def _probe(opened: asyncio.Event, link: OpenedFrameLink) -> asyncio.Task[OpenedFrameLink]:
    async def probe() -> OpenedFrameLink:
        await opened.wait()
        return link

    return asyncio.get_running_loop().create_task(probe())


def test_frames_go_to_the_call_in_order_while_the_port_does_not_answer() -> None:
    async def test() -> None:
        queue: FrameQueue = asyncio.Queue()
        opened = asyncio.Event()
        switch = CarrierSwitch(_probe(opened, _link()))
        queue.put_nowait(FIRST)
        queue.put_nowait(SECOND)
        assert await switch.next_frame(queue) == FIRST
        assert await switch.next_frame(queue) == SECOND
        waiting = asyncio.ensure_future(switch.next_frame(queue))
        await _ticks()
        queue.put_nowait(FIRST)  # the call waited for it
        assert await waiting == FIRST and switch.held is None
        assert await switch.settle(keep=True) is None  # the probe never got through

    _run(test)


def test_an_idle_call_hands_its_next_frame_to_the_frame_link_that_opened_meanwhile() -> None:
    # The call waits for a frame while the probe gets through; that frame has left the queue,
    # so it is held for the frame link instead of going by the call.
    async def test() -> None:
        queue: FrameQueue = asyncio.Queue()
        opened, link = asyncio.Event(), _link()
        switch = CarrierSwitch(_probe(opened, link))
        waiting = asyncio.ensure_future(switch.next_frame(queue))
        await _ticks()
        opened.set()
        await _ticks()
        assert not waiting.done()  # idle: nothing to hand over yet
        queue.put_nowait(FIRST)
        queue.put_nowait(SECOND)
        assert await waiting is None
        assert switch.held == FIRST and queue.get_nowait() == SECOND
        assert await switch.settle(keep=True) is link

    _run(test)


def test_a_frame_waiting_in_the_queue_stays_there_once_the_link_is_open() -> None:
    async def test() -> None:
        queue: FrameQueue = asyncio.Queue()
        opened = asyncio.Event()
        switch = CarrierSwitch(_probe(opened, _link()))
        opened.set()
        await _ticks()
        queue.put_nowait(FIRST)
        assert await switch.next_frame(queue) is None
        assert switch.held is None and queue.get_nowait() == FIRST

    _run(test)


def test_a_link_not_kept_is_closed_and_a_probe_still_trying_is_stopped() -> None:
    async def test() -> None:
        opened, link = asyncio.Event(), _link()
        probe = _probe(opened, link)
        opened.set()
        await _ticks()
        assert await CarrierSwitch(probe).settle(keep=False) is None
        assert cast(_Connection, link.connection).closed
        trying = _probe(asyncio.Event(), _link())
        assert await CarrierSwitch(trying).settle(keep=True) is None and trying.cancelled()

    _run(test)


def test_without_a_dialler_the_call_takes_every_frame() -> None:
    async def test() -> None:
        queue: FrameQueue = asyncio.Queue()
        switch = CarrierSwitch(None)
        waiting = asyncio.ensure_future(switch.next_frame(queue))
        await _ticks()
        queue.put_nowait(SECOND)
        assert await waiting == SECOND and await switch.settle(keep=True) is None

    _run(test)
