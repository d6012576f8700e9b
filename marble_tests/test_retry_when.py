"""Marble tests of ``retry_when``."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import marbles_testing
from reactivex.testing.recorded import Recorded

from rx_honeybee.config import ReconnectConfig
from rx_honeybee.errors import MaxReconnectAttemptsExceeded
from rx_honeybee.operators import backoff_notifier, retry_when

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe


def retry_after(seconds: float) -> Any:
    """A notifier that retries every error ``seconds`` later."""
    return lambda errors: errors.pipe(ops.delay(seconds))


def test_docstring_marble_resubscribes_after_each_notifier_item() -> None:
    with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
        source = cold("-a-#")
        expected = exp("-a----a----a----a")  # errors at 3, 8, 13; notifier 2 later
        results = start(source.pipe(retry_when(retry_after(2.0))))
    # The cold marble runs on the scheduler given to subscribe, the delay too: both forwarded.
    assert results[:4] == expected
    assert [m.time for m in results] == list(range(201, 1000, 5))


def test_each_attempt_is_disposed_before_the_next_and_on_dispose() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(1, "a"), on_error(3, ValueError("drop")))
    results = scheduler.start(lambda: source.pipe(retry_when(retry_after(2.0))), disposed=222)
    assert results.messages == [
        on_next(201, "a"),
        on_next(206, "a"),
        on_next(211, "a"),
        on_next(216, "a"),
        on_next(221, "a"),
    ]
    assert source.subscriptions == [
        subscribe(200, 203),
        subscribe(205, 208),
        subscribe(210, 213),
        subscribe(215, 218),
        subscribe(220, 222),
    ]


def test_dispose_during_backoff_cancels_the_wait_and_resubscribes_no_more() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(3, ValueError("drop")))
    waits: list[Any] = []

    def notifier(errors: Observable[Exception]) -> Observable[Any]:
        def wait(_: Exception) -> Observable[Any]:
            timer = scheduler.create_cold_observable(on_next(10, 0), on_completed(10))
            waits.append(timer)
            return timer

        return errors.pipe(ops.flat_map(wait))

    results = scheduler.start(lambda: source.pipe(retry_when(notifier)), disposed=220)
    assert results.messages == []
    assert source.subscriptions == [subscribe(200, 203), subscribe(213, 216)]
    assert [w.subscriptions for w in waits] == [[subscribe(203, 213)], [subscribe(216, 220)]]


def test_errors_reach_the_notifier_and_not_the_output() -> None:
    seen: list[Exception] = []
    boom = ValueError("boom")

    def notifier(errors: Observable[Exception]) -> Observable[Any]:
        return errors.pipe(ops.do_action(seen.append), ops.take(3))

    with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
        source = cold("-a-#", error=boom)
        expected = exp("-a--a--a-|")  # the third error ends take(3): complete at once
        results = start(source.pipe(retry_when(notifier)))
    assert results == expected
    assert seen == [boom, boom, boom]
    assert all(e is boom for e in seen)


def test_notifier_completion_completes_the_output_and_stops_the_attempt() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(
        on_next(1, "a"), on_next(3, "b"), on_next(6, "c"), on_next(9, "d")
    )
    stop = scheduler.create_hot_observable(on_completed(207))
    results = scheduler.start(lambda: source.pipe(retry_when(lambda _: stop)))
    assert results.messages == [
        on_next(201, "a"),
        on_next(203, "b"),
        on_next(206, "c"),
        on_completed(207),
    ]
    assert source.subscriptions == [subscribe(200, 207)]
    assert stop.subscriptions == [subscribe(200, 207)]


def test_notifier_error_is_the_output_error() -> None:
    stop = PermissionError("no more")
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(1, "a"), on_error(2, ValueError("x")))
    signals = scheduler.create_hot_observable(on_next(205, 0), on_error(209, stop))
    results = scheduler.start(lambda: source.pipe(retry_when(lambda _: signals)))
    assert results.messages == [on_next(201, "a"), on_next(206, "a"), on_error(209, stop)]
    assert results.messages[-1].value.exception is stop
    assert source.subscriptions == [subscribe(200, 202), subscribe(205, 207)]


def test_notifier_error_while_an_attempt_runs_disposes_it() -> None:
    with marbles_testing(timespan=1.0) as (start, cold, hot, exp):
        source = cold("-a-b-c-d-e-f")
        signals = hot("------#", error=PermissionError("stop"))
        expected = exp("-a-b-c#", error=PermissionError("stop"))
        results = start(source.pipe(retry_when(lambda _: signals)))
    assert results == expected
    assert isinstance(results[-1].value.exception, PermissionError)


def test_source_completion_completes_and_drops_the_notifier() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(1, "a"), on_completed(3))
    signals = scheduler.create_hot_observable(on_next(500, 0))
    results = scheduler.start(lambda: source.pipe(retry_when(lambda _: signals)))
    assert results.messages == [on_next(201, "a"), on_completed(203)]
    assert signals.subscriptions == [subscribe(200, 203)]
    assert source.subscriptions == [subscribe(200, 203)]


def test_notifier_is_called_once_per_subscription_at_subscribe() -> None:
    calls: list[Observable[Exception]] = []

    def notifier(errors: Observable[Exception]) -> Observable[Any]:
        calls.append(errors)
        return errors.pipe(ops.take(2))

    retried = reactivex.throw(ValueError("x")).pipe(retry_when(notifier))
    assert calls == []
    done: list[str] = []
    retried.subscribe(on_completed=lambda: done.append("first"))
    retried.subscribe(on_completed=lambda: done.append("second"))
    assert done == ["first", "second"]
    assert len(calls) == 2
    assert calls[0] is not calls[1]


def test_a_notifier_raising_at_subscribe_is_the_output_error() -> None:
    def notifier(_: Observable[Exception]) -> Observable[Any]:
        raise RuntimeError("bad notifier")

    errors: list[Exception] = []
    reactivex.of(1).pipe(retry_when(notifier)).subscribe(on_error=errors.append)
    assert [str(e) for e in errors] == ["bad notifier"]


def test_a_notifier_emitting_at_subscribe_does_not_add_an_attempt() -> None:
    subscriptions: list[int] = []

    def source_subscribe(
        observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        subscriptions.append(1)
        return Disposable()

    def eager(observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None) -> Any:
        observer.on_next(0)
        return Disposable()

    Observable(source_subscribe).pipe(retry_when(lambda _: Observable(eager))).subscribe()
    assert subscriptions == [1]


def failing_then(failures: int) -> tuple[Observable[int], list[int]]:
    """A source that fails synchronously at subscribe ``failures`` times, then succeeds."""
    count: list[int] = []

    def subscribe_(
        observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        count.append(1)
        if len(count) <= failures:
            observer.on_error(ConnectionError(f"failure {len(count)}"))
        else:
            observer.on_next(len(count))
            observer.on_completed()
        return Disposable()

    return Observable(subscribe_), count


def test_ten_thousand_synchronous_failures_do_not_recurse() -> None:
    source, count = failing_then(10_000)
    results: list[int] = []
    done: list[bool] = []
    source.pipe(retry_when(lambda errors: errors.pipe(ops.map(lambda _: 0)))).subscribe(
        results.append, lambda e: pytest.fail(f"unexpected {e!r}"), lambda: done.append(True)
    )
    assert results == [10_001]
    assert done == [True]
    assert len(count) == 10_001


def test_ten_thousand_synchronous_throws_then_the_notifier_completes() -> None:
    calls: list[int] = []

    def notifier(errors: Observable[Exception]) -> Observable[Any]:
        return errors.pipe(ops.do_action(lambda _: calls.append(1)), ops.take(10_000))

    done: list[bool] = []
    errors: list[Exception] = []
    reactivex.throw(ValueError("x")).pipe(retry_when(notifier)).subscribe(
        on_error=errors.append, on_completed=lambda: done.append(True)
    )
    assert errors == []
    assert done == [True]
    assert len(calls) == 10_000


def test_the_subscribe_scheduler_is_forwarded_to_source_and_notifier() -> None:
    given = TestScheduler()
    seen: list[abc.SchedulerBase | None] = []

    def recording(
        observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        seen.append(scheduler)
        return Disposable()

    Observable(recording).pipe(retry_when(lambda _: Observable(recording))).subscribe(
        scheduler=given
    )
    assert seen == [given, given]


def test_composed_with_backoff_drop_backoff_reconnect_give_up() -> None:
    # Each attempt is a fresh cold marble; "c" means the socket got connected.
    config = ReconnectConfig(max_attempts=3, initial_delay=1.0, factor=2.0, jitter=0.0)
    dialled: list[float] = []
    connected = reactivex.subject.Subject[Any]()
    with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
        attempts = iter(
            [
                cold("--#"),  # 200: drop at 202, wait 1
                cold("--#"),  # 203: drop at 205, wait 2
                cold("-c--#"),  # 207: connected at 208 (reset), drop at 211, wait 1 again
                cold("--#"),  # 212: drop at 214, wait 2
                cold("--#"),  # 216: drop at 218, wait 4
                cold("--#"),  # 222: drop at 224, three delays used: give up
            ]
        )

        def dial(scheduler: abc.SchedulerBase) -> Observable[Any]:
            assert isinstance(scheduler, TestScheduler)
            dialled.append(scheduler.clock)
            return next(attempts)

        socket = reactivex.defer(dial).pipe(ops.do_action(connected.on_next))
        expected = exp("--------c---------------#", error=MaxReconnectAttemptsExceeded(3))
        results = start(socket.pipe(retry_when(backoff_notifier(config, reset=connected))))
    assert results == expected
    assert dialled == [200, 203, 207, 212, 216, 222]
    give_up = results[-1].value.exception
    assert isinstance(give_up, MaxReconnectAttemptsExceeded)
    assert give_up.attempts == 3
    assert str(give_up.__cause__) == "error"


def test_recorded_marbles_are_recorded_types() -> None:
    # Guard the helpers above: marble expectations are Recorded, so == compares time and kind.
    with marbles_testing(timespan=1.0) as (_start, _cold, _hot, exp):
        first = exp("-a|")[0]
    assert isinstance(first, Recorded)
    assert first != on_next(202, "a")
