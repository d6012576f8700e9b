"""Marble tests of ``backoff_notifier``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import marbles_testing

from rx_honeybee.config import ReconnectConfig
from rx_honeybee.errors import InvalidState, MaxReconnectAttemptsExceeded
from rx_honeybee.operators import backoff_notifier, retry_when

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe

DROP = ConnectionError("drop")


def config(**changes: Any) -> ReconnectConfig:
    """A policy without jitter, unless asked: delays 1, 2, 4, 8, ... capped at 30."""
    fields: dict[str, Any] = {"initial_delay": 1.0, "factor": 2.0, "jitter": 0.0}
    fields.update(changes)
    return ReconnectConfig(**fields)


def run(
    notifier: Any, *errors_at: float, disposed: float = 1000.0
) -> tuple[list[tuple[float, Any]], list[Any]]:
    """Feed DROP at each time into ``notifier``; return (time, delay) items and the rest."""
    scheduler = TestScheduler()
    errors = scheduler.create_hot_observable([on_next(t, DROP) for t in errors_at])
    results = scheduler.start(lambda: notifier(errors), disposed=disposed)
    items = [(m.time, m.value.value) for m in results.messages if m.value.kind == "N"]
    ends = [m for m in results.messages if m.value.kind != "N"]
    return items, ends


def test_docstring_marble() -> None:
    policy = config(max_attempts=3)
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        errors = hot("-x---x-------x---------------x", lookup={"x": DROP})
        expected = exp("--1----2---------4-----------#", error=MaxReconnectAttemptsExceeded(3))
        results = start(backoff_notifier(policy)(errors))
    assert results == expected
    assert [type(m.value.value) for m in results[:-1]] == [float, float, float]


def test_delays_grow_by_factor() -> None:
    items, ends = run(backoff_notifier(config(max_attempts=0)), 210, 220, 230, 240, 250)
    assert items == [(211, 1.0), (222, 2.0), (234, 4.0), (248, 8.0), (266, 16.0)]
    assert ends == []


def test_delays_are_capped_at_max_delay() -> None:
    policy = config(factor=3.0, max_delay=5.0, max_attempts=0)
    items, _ = run(backoff_notifier(policy), 210, 220, 230, 240)
    assert items == [(211, 1.0), (223, 3.0), (235, 5.0), (245, 5.0)]


@pytest.mark.parametrize(
    ("draw", "first", "second", "capped"),
    [(0.0, 0.8, 1.6, 2.4), (1.0, 1.2, 2.4, 3.0), (0.5, 1.0, 2.0, 3.0)],
)
def test_jitter_uses_the_injected_random(
    draw: float, first: float, second: float, capped: float
) -> None:
    policy = config(jitter=0.2, max_delay=3.0, max_attempts=0)
    items, _ = run(backoff_notifier(policy, random=lambda: draw), 210, 220, 230)
    assert [t for t, _ in items] == pytest.approx([210 + first, 220 + second, 230 + capped])
    assert [d for _, d in items] == pytest.approx([first, second, capped])


def test_reset_starts_the_delays_over() -> None:
    scheduler = TestScheduler()
    errors = scheduler.create_hot_observable(
        on_next(210, DROP), on_next(220, DROP), on_next(230, DROP), on_next(240, DROP)
    )
    connected = scheduler.create_hot_observable(on_next(225, "up"), on_completed(226))
    notifier = backoff_notifier(config(max_attempts=2), reset=connected)
    results = scheduler.start(lambda: notifier(errors))
    # 1, 2, then the socket came up at 225: 1, 2 again; the limit counts since the reset.
    assert results.messages == [
        on_next(211, 1.0),
        on_next(222, 2.0),
        on_next(231, 1.0),
        on_next(242, 2.0),
    ]
    assert connected.subscriptions == [subscribe(200, 226)]


def test_without_reset_the_same_errors_give_up() -> None:
    items, ends = run(backoff_notifier(config(max_attempts=2)), 210, 220, 230)
    assert items == [(211, 1.0), (222, 2.0)]
    assert [(m.time, type(m.value.exception)) for m in ends] == [
        (230, MaxReconnectAttemptsExceeded)
    ]


def test_give_up_chains_the_last_error() -> None:
    last = ConnectionError("the last drop")
    scheduler = TestScheduler()
    errors = scheduler.create_hot_observable(
        on_next(210, DROP), on_next(220, DROP), on_next(230, last)
    )
    results = scheduler.start(lambda: backoff_notifier(config(max_attempts=2))(errors))
    assert results.messages == [
        on_next(211, 1.0),
        on_next(222, 2.0),
        on_error(230, MaxReconnectAttemptsExceeded(2)),
    ]
    give_up = results.messages[-1].value.exception
    assert isinstance(give_up, MaxReconnectAttemptsExceeded)
    assert give_up.attempts == 2
    assert give_up.__cause__ is last


def test_disabled_passes_the_original_error() -> None:
    _, ends = run(backoff_notifier(config(enabled=False)), 210)
    assert [(m.time, m.value.exception) for m in ends] == [(210, DROP)]
    assert ends[0].value.exception is DROP


def test_non_retryable_errors_pass_unchanged() -> None:
    denied = PermissionError("403")
    asked: list[Exception] = []

    def retryable(error: Exception) -> bool:
        asked.append(error)
        return not isinstance(error, PermissionError)

    scheduler = TestScheduler()
    errors = scheduler.create_hot_observable(on_next(210, DROP), on_next(220, denied))
    results = scheduler.start(lambda: backoff_notifier(config(), retryable=retryable)(errors))
    assert results.messages == [on_next(211, 1.0), on_error(220, denied)]
    assert results.messages[-1].value.exception is denied
    assert asked == [DROP, denied]


def test_a_raising_retryable_ends_the_output() -> None:
    def retryable(error: Exception) -> bool:
        raise LookupError("broken predicate")

    _, ends = run(backoff_notifier(config(), retryable=retryable), 210)
    assert [(m.time, str(m.value.exception)) for m in ends] == [(210, "broken predicate")]
    assert isinstance(ends[0].value.exception, LookupError)


def test_errors_during_a_delay_wait_their_turn() -> None:
    items, _ = run(backoff_notifier(config(max_attempts=0)), 210, 210.5)
    assert items == [(211, 1.0), (213, 2.0)]


def test_completion_of_errors_waits_for_the_running_delay() -> None:
    scheduler = TestScheduler()
    errors = scheduler.create_hot_observable(on_next(210, DROP), on_completed(210.5))
    results = scheduler.start(lambda: backoff_notifier(config())(errors))
    assert results.messages == [on_next(211, 1.0), on_completed(211)]


def test_an_error_of_reset_ends_the_output() -> None:
    scheduler = TestScheduler()
    errors = scheduler.create_hot_observable(on_next(210, DROP))
    reset = scheduler.create_hot_observable(on_error(205, OSError("state broke")))
    results = scheduler.start(lambda: backoff_notifier(config(), reset=reset)(errors))
    assert [(m.time, str(m.value.exception)) for m in results.messages] == [(205, "state broke")]


def test_dispose_cancels_the_running_delay() -> None:
    fired: list[float] = []

    class Spy(TestScheduler):
        def schedule_relative(self, duetime: Any, action: Any, state: Any = None) -> Any:
            def spied(scheduler: Any, state: Any = None) -> Any:
                fired.append(self.clock)
                return action(scheduler, state)

            return super().schedule_relative(duetime, spied, state)

    scheduler = Spy()
    errors = scheduler.create_hot_observable(on_next(210, DROP), on_next(220, DROP))
    results = scheduler.start(lambda: backoff_notifier(config())(errors), disposed=221)
    assert results.messages == [on_next(211, 1.0)]
    assert fired == [211]  # the 2-second delay started at 220 never ran


def test_attempts_are_per_subscription() -> None:
    scheduler = TestScheduler()
    errors = scheduler.create_hot_observable(
        on_next(210, DROP), on_next(220, DROP), on_next(230, DROP)
    )
    notifier = backoff_notifier(config(max_attempts=0))
    early = scheduler.create_observer()
    late = scheduler.create_observer()
    notifier(errors).subscribe(early, scheduler=scheduler)
    scheduler.schedule_absolute(
        225, lambda *_: notifier(errors).subscribe(late, scheduler=scheduler)
    )
    scheduler.start()
    assert early.messages == [on_next(211, 1.0), on_next(222, 2.0), on_next(234, 4.0)]
    assert late.messages == [on_next(231, 1.0)]


def test_explicit_scheduler_wins_over_the_subscribe_scheduler() -> None:
    used = TestScheduler()
    ignored = TestScheduler()
    errors: Subject[Exception] = Subject()
    got: list[float] = []
    backoff_notifier(config(), used)(errors).subscribe(got.append, scheduler=ignored)
    errors.on_next(DROP)
    ignored.advance_by(10.0)
    assert got == []
    used.advance_by(1.0)
    assert got == [1.0]


def test_without_any_scheduler_or_loop_it_refuses_rather_than_use_a_thread() -> None:
    errors: Subject[Exception] = Subject()
    failures: list[Exception] = []
    backoff_notifier(config())(errors).subscribe(on_error=failures.append)
    errors.on_next(DROP)
    assert len(failures) == 1
    assert isinstance(failures[0], InvalidState)
    assert "scheduler" in str(failures[0])


@pytest.mark.asyncio
async def test_without_a_scheduler_it_runs_on_the_running_asyncio_loop() -> None:
    loop = asyncio.get_running_loop()
    errors: Subject[Exception] = Subject()
    got: list[tuple[float, float]] = []
    done = loop.create_future()
    notifier = backoff_notifier(config(initial_delay=0.01, max_attempts=1))
    notifier(errors).subscribe(
        lambda d: got.append((d, loop.time())), done.set_exception, lambda: None
    )
    started = loop.time()
    errors.on_next(DROP)
    await asyncio.sleep(0.05)
    errors.on_next(DROP)
    with pytest.raises(MaxReconnectAttemptsExceeded):
        await asyncio.wait_for(done, 1.0)
    assert [d for d, _ in got] == [0.01]
    assert got[0][1] - started >= 0.009


def test_composed_over_a_cold_socket_until_it_gives_up() -> None:
    policy = config(max_attempts=3)
    with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
        socket: Observable[Any] = cold("-a--#")  # connects, sends "a", drops 4 later
        # dial at 200, 205 (+1), 211 (+2), 219 (+4); the fourth drop at 223 gives up
        expected = exp("-a----a-----a-------a--#", error=MaxReconnectAttemptsExceeded(3))
        results = start(socket.pipe(retry_when(backoff_notifier(policy))))
    assert results == expected
    assert isinstance(results[-1].value.exception, MaxReconnectAttemptsExceeded)


def test_composed_with_a_non_retryable_fault_stops_at_once() -> None:
    denied = PermissionError("handshake 403")
    with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
        attempts = iter([cold("--#"), cold("--#", error=denied)])
        socket = reactivex.defer(lambda _: next(attempts))
        notifier = backoff_notifier(
            config(), retryable=lambda e: not isinstance(e, PermissionError)
        )
        expected = exp("-----#", error=denied)  # drop 202, wait 1, dial 203, 403 at 205
        results = start(socket.pipe(retry_when(notifier)))
    assert results == expected
    assert results[-1].value.exception is denied
