"""The in-memory port implementations (virtual clock, memory network) and the node's use of
ports: it reads no clock and schedules no timer except through its Clock."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from carbon_ticket.consensus import Vote, VoteType
from carbon_ticket.node.clock import LoopClock, SkewedClock, VirtualClock, skewed
from carbon_ticket.node.memory_transport import MemoryNetwork, PeerEndpoint

ROOT = Path(__file__).resolve().parents[2]
# Modules that must take time from a Clock port (so the in-process harness controls it).
CLOCK_USERS = ("node/node.py", "node/service_public.py", "node/service_peer.py")
TIME_CALLS = {"time", "time_ns", "monotonic", "perf_counter", "call_later", "call_soon", "call_at"}


def test_virtual_timers_fire_in_due_order_only_when_time_moves() -> None:
    clock = VirtualClock(wall_start_ms=5_000)
    fired: list[str] = []
    clock.call_later(0.5, lambda: fired.append("b"))
    clock.call_later(0.1, lambda: fired.append("a"))
    clock.call_later(0.5, lambda: fired.append("c"))  # same moment: scheduling order
    cancelled = clock.call_later(0.2, lambda: fired.append("never"))
    cancelled.cancel()
    assert clock.fire_due() == 0 and fired == []
    clock.advance_to(clock.monotonic_s() + 0.3)
    assert clock.fire_due() == 1 and fired == ["a"]
    assert clock.wall_ms() == 5_300
    assert clock.next_due_s() == pytest.approx(clock.monotonic_s() + 0.2)
    clock.advance_to(clock.monotonic_s() + 1.0)
    clock.fire_due()
    assert fired == ["a", "b", "c"] and clock.next_due_s() is None


def test_a_timer_scheduled_for_now_by_a_timer_fires_in_the_same_round() -> None:
    clock = VirtualClock(wall_start_ms=0)
    fired: list[int] = []
    clock.call_later(0.0, lambda: clock.call_later(0.0, lambda: fired.append(2)))
    assert clock.fire_due() == 2 and fired == [2]


def test_a_skewed_clock_moves_wall_time_only() -> None:
    clock = VirtualClock(wall_start_ms=10_000)
    assert skewed(clock, 0) is clock
    ahead = skewed(clock, 2_500)
    assert isinstance(ahead, SkewedClock)
    assert ahead.wall_ms() == 12_500 and ahead.monotonic_s() == clock.monotonic_s()
    fired: list[bool] = []
    ahead.call_later(1.0, lambda: fired.append(True))
    clock.advance_to(clock.monotonic_s() + 1.0)
    clock.fire_due()
    assert fired == [True]


def test_the_loop_clock_schedules_on_the_running_loop() -> None:
    async def main() -> list[str]:
        fired: list[str] = []
        handle = LoopClock().call_later(0.0, lambda: fired.append("ran"))
        LoopClock().call_later(0.0, lambda: fired.append("cancelled")).cancel()
        await asyncio.sleep(0.01)
        assert handle is not None
        return fired

    assert asyncio.run(main()) == ["ran"]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[object] = []
        self.txs: list[bytes] = []

    def on_consensus_message(self, message: object) -> None:
        self.messages.append(message)

    def admit_gossip(self, raws: list[bytes]) -> int:
        self.txs.extend(raws)
        return len(raws)


def _network(names: list[str]) -> tuple[VirtualClock, MemoryNetwork, dict[str, _Inbox]]:
    clock = VirtualClock(wall_start_ms=0)
    network = MemoryNetwork(clock, latency_s=0.05)
    inboxes = {name: _Inbox() for name in names}
    four = SimpleNamespace(size=4)
    info: Any = SimpleNamespace(chain_id="c", validator_sets=SimpleNamespace(at=lambda h: four))
    unused: Any = None
    for name, inbox in inboxes.items():
        network.attach(name, PeerEndpoint(inbox, unused, unused, info))  # type: ignore[arg-type]
    return clock, network, inboxes


def _deliver(clock: VirtualClock) -> None:
    clock.advance_to(clock.monotonic_s() + 1.0)
    clock.fire_due()


def test_messages_cross_the_wire_format_after_the_latency_and_respect_partitions() -> None:
    clock, network, inboxes = _network(["a", "b", "c"])
    sender = network.transport("a", ["a", "b", "c"])
    sender.start()
    vote = Vote(VoteType.PREVOTE, 3, 0, b"\x01" * 32, 1, b"\x02" * 64)
    sender.broadcast_consensus(vote)
    assert inboxes["b"].messages == []  # never inside the sender's call
    _deliver(clock)
    assert inboxes["b"].messages == [vote] == inboxes["c"].messages
    assert inboxes["a"].messages == []  # not to itself
    network.partition(["a", "b"], ["c"])
    sender.gossip_txs([b"tx"])
    _deliver(clock)
    assert inboxes["b"].txs == [b"tx"] and inboxes["c"].txs == []
    network.heal()
    network.detach("b")
    network.drop = lambda src, dst, what: what == "txs"
    sender.gossip_txs([b"tx2"])
    sender.broadcast_consensus(vote)
    _deliver(clock)
    assert inboxes["c"].txs == [] and len(inboxes["c"].messages) == 2
    assert len(inboxes["b"].messages) == 1


def test_a_message_from_a_non_member_index_is_refused_at_the_door() -> None:
    clock, network, inboxes = _network(["a", "b"])
    sender = network.transport("a", ["b"])
    sender.start()
    sender.broadcast_consensus(Vote(VoteType.PREVOTE, 3, 0, b"\x01" * 32, 99, b"\x02" * 64))
    _deliver(clock)
    assert inboxes["b"].messages == []


@pytest.mark.parametrize("module", CLOCK_USERS)
def test_the_node_takes_time_and_timers_from_its_clock_port(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text())
    imports = {alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
    assert "time" not in imports
    offenders = [
        ast.unparse(n.func)
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in TIME_CALLS
        and ast.unparse(n.func.value) != "self._clock"
    ]
    assert not offenders, f"{module} reads time or schedules around its Clock: {offenders}"
