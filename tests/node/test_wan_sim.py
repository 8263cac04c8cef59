"""The simulated WAN on peer links (``[debug] simulated_rtt_ms`` / ``simulated_loss_ppm``)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from carbon_ticket.node import peers
from carbon_ticket.node.config import ConfigError, DebugSettings
from carbon_ticket.node.peers import PeerLink
from carbon_ticket.node.wan_sim import WanSimulation


def test_no_loss_keeps_every_message_in_order() -> None:
    wan = WanSimulation(rtt_ms=50)
    assert wan.survivors(list(range(100))) == list(range(100))
    assert wan.one_way_s == 0.025 and wan.round_trip_s == 0.05


def test_loss_drops_about_its_share_and_keeps_the_order_of_the_rest() -> None:
    wan = WanSimulation(loss_ppm=10_000, rng=random.Random(7))  # 1 %
    kept = wan.survivors(list(range(100_000)))
    assert kept == sorted(kept)
    assert 98_500 < len(kept) < 99_500  # 1,000 expected drops; 15 standard deviations of room


def test_the_same_seed_drops_the_same_messages() -> None:
    runs = [WanSimulation(loss_ppm=300_000, rng=random.Random(3)).survivors(list(range(50)))
            for _ in range(2)]  # fmt: skip
    assert runs[0] == runs[1] and len(runs[0]) < 50


def test_an_inactive_simulation_is_not_installed_on_a_link() -> None:
    assert not WanSimulation().active
    assert PeerLink("127.0.0.1:1", wan=WanSimulation())._wan is None


@pytest.mark.parametrize(
    ("key", "value"), [("simulated_rtt_ms", -1), ("simulated_loss_ppm", 1_000_000)]
)
def test_out_of_range_settings_are_refused(key: str, value: int) -> None:
    with pytest.raises(ConfigError, match=key):
        DebugSettings(**{key: value})


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[list[Any]] = []

    def call(self, kept: list[Any]) -> Any:
        self.sent.append(kept)
        return asyncio.sleep(0)


def test_a_batch_arrives_half_a_round_trip_later_without_holding_up_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(peers.asyncio, "sleep", fake_sleep)
    link = PeerLink("127.0.0.1:1", wan=WanSimulation(rtt_ms=80))
    recorder = _Recorder()

    async def scenario() -> None:
        await link._send([1, 2], recorder.call)
        await link._send([3], recorder.call)
        assert recorder.sent == []  # both still in flight: the sender did not wait for them
        await asyncio.gather(*link._in_flight)

    asyncio.run(scenario())
    assert recorder.sent == [[1, 2], [3]]
    assert slept[:2] == [0.04, 0.04]


def test_a_fully_lost_batch_is_never_sent() -> None:
    link = PeerLink("127.0.0.1:1", wan=WanSimulation(loss_ppm=999_999))
    recorder = _Recorder()
    asyncio.run(link._send(list(range(5)), recorder.call))
    assert recorder.sent == [] and not link._in_flight
