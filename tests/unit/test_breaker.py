"""The circuit breaker and the retry backoff, in virtual time."""

from __future__ import annotations

import pytest

from voxline.breaker import Backoff, Breaker


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_opens_after_consecutive_failures_only(clock: Clock) -> None:
    b = Breaker("x", failures=3, cooldown_s=2.0, clock=clock)
    assert not b.failure() and not b.failure()
    b.success()  # a success in between resets the count
    assert not b.failure() and not b.failure()
    assert b.state == "closed" and b.allow()
    assert b.failure()  # the third in a row opens it
    assert b.state == "open" and not b.allow()


def test_half_open_lets_one_probe_through_after_the_cooldown(clock: Clock) -> None:
    b = Breaker("x", failures=1, cooldown_s=2.0, clock=clock)
    b.failure()
    clock.t += 1.9
    assert not b.allow()
    clock.t += 0.1
    assert b.state == "half-open"
    assert b.allow()  # the probe
    assert not b.allow()  # everyone else keeps using the fallback meanwhile
    b.success()
    assert b.state == "closed" and b.allow() and b.allow()


def test_failed_probes_double_the_cooldown_up_to_the_cap(clock: Clock) -> None:
    b = Breaker("x", failures=1, cooldown_s=1.0, max_cooldown_s=5.0, clock=clock)
    b.failure()
    waits = []
    for _ in range(5):
        start = clock.t
        while not b.allow():
            clock.t += 0.25
        waits.append(clock.t - start)
        assert b.failure()  # the probe failed: open again
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    clock.t += 5.0
    assert b.allow()
    b.success()
    assert b.cooldown_s == 1.0  # recovery resets the backoff


def test_a_probe_that_never_reports_is_replaced(clock: Clock) -> None:
    b = Breaker("x", failures=1, cooldown_s=2.0, clock=clock)
    b.failure()
    clock.t += 2.0
    assert b.allow()  # a probe that was then cancelled (the caller hung up)
    clock.t += 1.0
    assert not b.allow()
    clock.t += 1.0
    assert b.allow()


def test_late_failures_of_requests_sent_before_it_opened_do_not_extend_it(clock: Clock) -> None:
    b = Breaker("x", failures=2, cooldown_s=2.0, clock=clock)
    b.failure()
    assert b.failure()
    clock.t += 1.0
    assert not b.failure()  # a slow request from before: no new cool-down
    clock.t += 1.0
    assert b.allow()


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    backoff = Backoff(base_s=0.1, cap_s=1.0)
    assert [backoff.delay(n, lambda: 0.0) for n in range(5)] == [0.05, 0.1, 0.2, 0.4, 0.5]
    assert [backoff.delay(n, lambda: 1.0) for n in range(5)] == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert backoff.delay(3, lambda: 0.5) == pytest.approx(0.6)
