"""node.limits: the token bucket, per-client counters, the shared budget and client naming."""

from __future__ import annotations

import pytest

from carbon_ticket.node.limits import Budget, Counters, TokenBucket, client_of_peer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refuses_until_time_refills_it() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.15  # one and a half tokens
    assert bucket.take() and not bucket.take()
    clock.now += 100  # refills only up to the burst
    assert sum(bucket.take() for _ in range(10)) == 3


def test_a_refused_take_spends_nothing() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=5, clock=clock)
    assert not bucket.take(6)
    assert bucket.take(5)


def test_a_clock_stepping_back_does_not_drain_the_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=2, clock=clock)
    clock.now -= 50
    assert bucket.take() and bucket.take()
    assert bucket.is_full() is False


def test_a_bucket_needs_a_positive_rate_and_burst() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate=0, burst=1, clock=FakeClock())


def test_counters_limit_each_client_and_the_total() -> None:
    streams = Counters(limit=2, total=3)
    assert streams.acquire("a") and streams.acquire("a")
    assert not streams.acquire("a")  # its own limit
    assert streams.acquire("b")
    assert not streams.acquire("c")  # the total
    streams.release("a")
    assert streams.held("a") == 1 and streams.in_use == 2
    assert streams.acquire("c")


def test_a_release_without_acquire_is_ignored_and_idle_clients_are_forgotten() -> None:
    counters = Counters(limit=1)
    counters.release("ghost")
    assert counters.in_use == 0
    assert counters.acquire("a")
    counters.release("a")
    counters.release("a")
    assert counters.held("a") == 0 and counters.in_use == 0 and counters.acquire("a")


def test_a_budget_refuses_what_does_not_fit_and_takes_it_back() -> None:
    budget = Budget(10)
    assert budget.reserve(7)
    assert not budget.reserve(4)
    assert budget.used == 7
    budget.give_back(7)
    assert budget.reserve(10)
    with pytest.raises(ValueError):
        budget.reserve(-1)


@pytest.mark.parametrize(
    ("peer", "client"),
    [
        ("ipv4:127.0.0.1:54321", "127.0.0.1"),
        ("ipv6:[::1]:40000", "::1"),
        ("ipv6:%5B::1%5D:40000", "::1"),
        ("unix:/tmp/sock", "unix:/tmp/sock"),
    ],
)
def test_a_client_is_its_address_without_the_port(peer: str, client: str) -> None:
    assert client_of_peer(peer) == client
