"""The moment a peer link's frames leave a gRPC Stream call for the peer's frame link.

A ``node.peers.PeerLink`` whose peer's frame port did not answer sends its frames by the Stream
call, and meanwhile tries the port again from time to time. Once the port takes an opening the
call must give way without losing or reordering a frame: ``CarrierSwitch`` ends the call's
frames between two frames, and keeps the one it had already taken from the queue for the frame
link (``Handover``). The peer answers the call only after handling all its frames, so waiting
for that answer before the frame link's first frame keeps the order at the receiver too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from carbon_ticket.node.frame_link import FrameConnection, FrameQueue
from carbon_ticket.node.peer_auth import OutboundStream
from carbon_ticket.proto import services_pb2

__all__ = ["CarrierSwitch", "Frame", "Handover", "OpenedFrameLink"]

log = logging.getLogger(__name__)

Frame = tuple[services_pb2.PeerFrameKind, bytes]  # what a frame carries, before it is signed


@dataclass(frozen=True)
class OpenedFrameLink:
    """A frame link the peer accepted, and what its failures are measured against."""

    connection: FrameConnection
    stream: OutboundStream
    opened_s: float  # the event loop's clock when it was dialled
    failures_before: int


@dataclass(frozen=True)
class Handover:
    """What a Stream call that gave way hands on: the frame link, and the frame it held."""

    link: OpenedFrameLink
    held: Frame | None


class CarrierSwitch:
    """Ends a Stream call's frames between two frames once ``probe`` opened a frame link."""

    def __init__(self, probe: asyncio.Task[OpenedFrameLink] | None) -> None:
        self._probe = probe
        self.held: Frame | None = None  # taken from the queue after the call's last frame

    async def next_frame(self, queue: FrameQueue) -> Frame | None:
        """The next frame for the call; None once the frame link is open, the frame taken from
        the queue meanwhile (if any) kept in ``held`` for the frame link."""
        if self._switch_due():
            return None
        # An idle call waits for the next frame even when the frame link opens meanwhile, and
        # hands that frame over: one look at the probe per frame, no task to race it (frames
        # on the Stream call are what the link pays most for already).
        frame = await queue.get()
        if self._switch_due():
            self.held = frame
            return None
        return frame

    def _switch_due(self) -> bool:
        probe = self._probe
        if probe is None or not probe.done():
            return False
        if probe.cancelled() or probe.exception() is not None:  # a bug: no more tries
            if not probe.cancelled():
                log.error("frame port probe failed", exc_info=probe.exception())
            self._probe = None
            return False
        return True

    async def settle(self, keep: bool) -> OpenedFrameLink | None:
        """Stop the probe; the frame link it opened, if any (closed unless ``keep``)."""
        probe = self._probe
        if probe is None:
            return None
        probe.cancel()
        await asyncio.wait((probe,))
        if probe.cancelled():
            return None
        if probe.exception() is not None:
            log.error("frame port probe failed", exc_info=probe.exception())
            return None
        link = probe.result()
        if not keep:
            await link.connection.close()
            return None
        return link
