"""CircuitBreaker and FailureStrategy: settings, classification, jitter, state, history, stats."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from reactivex.disposable import Disposable
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from rx_honeybee.errors import (
    ConnectionClosed,
    ConnectionFailed,
    ConnectionTimeout,
    InvalidState,
    PongTimeout,
)
from rx_honeybee.lean import lean
from rx_honeybee.testing import until
from rx_mana.breaker import BreakerStats, CircuitBreaker, CircuitState, FailureRecord
from rx_mana.failures import (
    AUTH,
    DEFAULT_CATEGORIES,
    DNS,
    NETWORK,
    SERVER,
    FailureStrategy,
    classify,
    jittered,
)

URL = "ws://relay.example"


# -- FailureStrategy and DEFAULT_CATEGORIES ----------------------------------------------


def test_seed_defaults() -> None:
    assert DEFAULT_CATEGORIES == {
        NETWORK: FailureStrategy(5, 1.0, 30.0, 2.0),
        DNS: FailureStrategy(3, 5.0, 60.0, 2.0),
        SERVER: FailureStrategy(10, 0.5, 10.0, 1.5),
        AUTH: FailureStrategy(2, 10.0, 60.0, 2.0),
    }
    with pytest.raises(TypeError):
        DEFAULT_CATEGORIES["x"] = FailureStrategy(1, 1.0, 1.0, 1.0)  # type: ignore[index]


@pytest.mark.parametrize(
    "fields",
    [(-1, 1.0, 1.0, 2.0), (1, -1.0, 1.0, 2.0), (1, 2.0, 1.0, 2.0), (1, 1.0, 1.0, 0.5)],
)
def test_strategy_rejects_bad_settings(fields: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError):
        FailureStrategy(*fields)


def test_strategy_delays() -> None:
    s = FailureStrategy(5, 1.0, 30.0, 2.0)
    assert [s.delay(n) for n in range(7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert s.delay(10_000) == 30.0  # overflow is the cap
    assert FailureStrategy(1, 3.0, 9.0, 1.0).delay(50) == 3.0
    assert FailureStrategy(1, 0.0, 9.0, 2.0).delay(50) == 0.0


def test_strategy_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_CATEGORIES[NETWORK].max_attempts = 9  # type: ignore[misc]


# -- classify ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (ConnectionFailed(URL, "refused"), NETWORK),
        (ConnectionFailed(URL, "network"), NETWORK),
        (ConnectionTimeout(URL), NETWORK),
        (ConnectionFailed(URL, "dns"), DNS),
        (ConnectionFailed(URL, "handshake", status=503), SERVER),
        (ConnectionFailed(URL, "handshake", status=500), SERVER),
        (ConnectionFailed(URL, "handshake", status=429), SERVER),
        (ConnectionFailed(URL, "handshake", status=None), SERVER),
        (ConnectionFailed(URL, "handshake", status=401), AUTH),
        (ConnectionFailed(URL, "handshake", status=403), AUTH),
        (ConnectionFailed(URL, "invalid-url"), NETWORK),
        (ConnectionClosed(URL, 1006), NETWORK),
        (PongTimeout(URL, 1, 0.5), NETWORK),
        (OSError("boom"), NETWORK),
    ],
)
def test_classify_default(error: Exception, category: str) -> None:
    assert classify(error, DEFAULT_CATEGORIES) == category


def test_classify_custom_categories() -> None:
    only_network = {NETWORK: DEFAULT_CATEGORIES[NETWORK]}
    assert classify(ConnectionFailed(URL, "dns"), only_network) == NETWORK
    assert classify(ConnectionFailed(URL, "handshake", status=401), only_network) == NETWORK
    own = {**DEFAULT_CATEGORIES, "invalid-url": FailureStrategy(1, 0.0, 0.0, 1.0)}
    assert classify(ConnectionFailed(URL, "invalid-url"), own) == "invalid-url"

    class Odd(Exception):
        category = 42

    assert classify(Odd(), DEFAULT_CATEGORIES) == NETWORK


def test_jittered_bounds_and_edges() -> None:
    rng = random.Random(1)
    values = [jittered(10.0, 0.2, rng) for _ in range(500)]
    assert all(8.0 <= v <= 12.0 for v in values)
    assert min(values) < 8.5 and max(values) > 11.5  # uses the whole range
    assert jittered(10.0, 0.0, rng) == 10.0
    assert jittered(0.0, 0.5, rng) == 0.0

    class Low(random.Random):
        def random(self) -> float:
            return 0.0

    assert jittered(4.0, 1.0, Low()) == 0.0


# -- CircuitBreaker settings -------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {"failure_threshold": 0},
        {"reset_timeout": -1.0},
        {"reset_timeout": float("nan")},
        {"half_open_max_calls": 0},
        {"probe_timeout": 0.0},
        {"jitter": -0.1},
        {"jitter": 1.5},
        {"stable_after": -1.0},
        {"categories": {DNS: DEFAULT_CATEGORIES[DNS]}},
        {"categories": {NETWORK: (5, 1.0, 30.0, 2.0)}},
    ],
)
def test_breaker_rejects_bad_settings(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(**settings)


def test_breaker_defaults() -> None:
    b = CircuitBreaker()
    assert (b.failure_threshold, b.reset_timeout, b.half_open_max_calls) == (10, 300.0, 3)
    assert (b.probe_timeout, b.jitter, b.stable_after) == (10.0, 0.2, 5.0)
    assert b.categories == DEFAULT_CATEGORIES
    assert b.current is CircuitState.CLOSED


def test_state_replays_the_current_state() -> None:
    s = TestScheduler()
    b = CircuitBreaker(failure_threshold=1, reset_timeout=10.0, scheduler=s)
    failures: Subject[Exception] = Subject()
    b.notifier(failures).subscribe(lambda _: None, scheduler=s)
    failures.on_next(ConnectionFailed(URL, "refused"))
    late: list[CircuitState] = []
    b.state.subscribe(late.append)
    assert late == [CircuitState.OPEN]
    assert b.current is CircuitState.OPEN
    s.advance_to(10.0)
    assert late == [CircuitState.OPEN, CircuitState.HALF_OPEN]


def test_history_is_bounded_and_stats_are_frozen() -> None:
    s = TestScheduler()
    b = CircuitBreaker(failure_threshold=100, categories={NETWORK: FailureStrategy(0, 1, 1, 1)})
    failures: Subject[Exception] = Subject()
    b.notifier(failures).subscribe(lambda _: None, scheduler=s)
    for i in range(15):
        s.advance_to(float(i))
        failures.on_next(ConnectionFailed(URL, "refused", f"n{i}"))
    assert len(b.history) == 10
    assert b.history[0] == FailureRecord(5.0, NETWORK, f"connection to {URL} failed (refused): n5")
    stats = b.stats()
    assert isinstance(stats, BreakerStats)
    assert stats.failures == 15 and stats.consecutive == 15 and stats.state is CircuitState.CLOSED
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.failures = 0  # type: ignore[misc]


def test_no_scheduler_outside_a_loop_fails_the_notifier() -> None:
    b = CircuitBreaker()
    errors: list[Exception] = []
    b.notifier(Subject()).subscribe(on_error=errors.append)
    assert len(errors) == 1 and isinstance(errors[0], InvalidState)


@pytest.mark.asyncio
async def test_default_scheduler_is_the_running_loop() -> None:
    b = CircuitBreaker(
        failure_threshold=100, jitter=0.0, categories={NETWORK: FailureStrategy(0, 0.01, 1, 1)}
    )
    failures: Subject[Exception] = Subject()
    got: list[float] = []
    b.notifier(failures).subscribe(got.append)
    failures.on_next(ConnectionFailed(URL, "refused"))
    await until(lambda: bool(got))
    assert got == [0.01]
    assert isinstance(b._scheduler, AsyncIOScheduler)


def test_upstream_error_fails_the_notifier_once() -> None:
    s = TestScheduler()
    b = CircuitBreaker(scheduler=s)
    failures: Subject[Exception] = Subject()
    errors: list[Exception] = []
    sub = b.notifier(failures).subscribe(on_error=errors.append, scheduler=s)
    boom = RuntimeError("boom")
    failures.on_error(boom)
    assert errors == [boom]
    sub.dispose()  # again: no effect


def test_failures_after_disposal_are_ignored() -> None:
    s = TestScheduler()
    b = CircuitBreaker(scheduler=s)
    failures: Subject[Exception] = Subject()
    got: list[Any] = []
    sub = b.notifier(failures).subscribe(got.append, got.append, scheduler=s)
    sub.dispose()
    failures.on_next(ConnectionFailed(URL, "refused"))
    s.advance_to(100.0)
    assert got == [] and b.stats().failures == 0


def test_a_second_failure_while_waiting_replaces_the_wait() -> None:
    s = TestScheduler()
    b = CircuitBreaker(failure_threshold=100, jitter=0.0, scheduler=s)
    failures: Subject[Exception] = Subject()
    got: list[tuple[float, float]] = []
    b.notifier(failures).subscribe(lambda d: got.append((s.clock, d)), scheduler=s)
    failures.on_next(ConnectionFailed(URL, "refused"))
    failures.on_next(ConnectionFailed(URL, "refused"))
    s.advance_to(10.0)
    assert got == [(2.0, 2.0)]  # one dial, after the second failure's wait


def test_a_source_that_ignores_disposal_is_ignored() -> None:
    s = TestScheduler()
    b = CircuitBreaker(scheduler=s)
    held: list[Any] = []

    def subscribe(observer: Any, _scheduler: Any = None) -> Disposable:
        held.append(observer)
        return Disposable()

    got: list[Any] = []
    sub = b.notifier(lean(subscribe)).subscribe(got.append, got.append, scheduler=s)
    sub.dispose()
    held[0].on_next(ConnectionFailed(URL, "refused"))
    held[0].on_error(RuntimeError("late"))
    s.advance_to(100.0)
    assert got == [] and b.stats().failures == 0


def test_disposing_a_notifier_that_never_started() -> None:
    errors: list[Exception] = []
    sub = CircuitBreaker().notifier(Subject()).subscribe(on_error=errors.append)
    sub.dispose()
    assert len(errors) == 1
