"""Marble tests of ``rate_limit``."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
import reactivex
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import marbles_testing

from rx_honeybee.errors import InvalidState
from rx_honeybee.operators import rate_limit

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe


class Spy(TestScheduler):
    """A TestScheduler that records when each relative timer fires."""

    def __init__(self) -> None:
        super().__init__()
        self.fired: list[float] = []

    def schedule_relative(self, duetime: Any, action: Any, state: Any = None) -> Any:
        def spied(scheduler: Any, state: Any = None) -> Any:
            self.fired.append(self.clock)
            return action(scheduler, state)

        return super().schedule_relative(duetime, spied, state)


def burst_at(scheduler: TestScheduler, time: float, items: str) -> Any:
    """A hot source emitting every character of ``items`` at ``time``."""
    return scheduler.create_hot_observable([on_next(time, c) for c in items])


def test_docstring_marble() -> None:
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        source = hot("-a-b-c-d----------e-f-|")
        expected = exp("-a-b-c---d--------e-f-|")
        results = start(source.pipe(rate_limit(0.25, 2)))
    assert results == expected


def test_a_burst_passes_at_once_and_the_excess_is_spaced_at_one_over_rate() -> None:
    scheduler = Spy()
    source = burst_at(scheduler, 201, "abcdef")
    results = scheduler.start(lambda: source.pipe(rate_limit(0.5, 3)))
    assert results.messages == [
        on_next(201, "a"),
        on_next(201, "b"),
        on_next(201, "c"),
        on_next(203, "d"),
        on_next(205, "e"),
        on_next(207, "f"),
    ]
    assert scheduler.fired == [203, 205, 207]


def test_the_bucket_refills_over_idle_time_up_to_burst() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(
        *[on_next(201, c) for c in "ab"],  # empties the bucket
        on_next(204, "c"),  # 1.5 tokens back (rate 0.5 for 3 s): passes, 0.5 left
        on_next(204, "d"),  # waits 1 s for the rest of its token
        *[on_next(250, c) for c in "efg"],  # long idle: full again, but only 2 tokens
    )
    results = scheduler.start(lambda: source.pipe(rate_limit(0.5, 2)))
    assert results.messages == [
        on_next(201, "a"),
        on_next(201, "b"),
        on_next(204, "c"),
        on_next(205, "d"),
        on_next(250, "e"),
        on_next(250, "f"),
        on_next(252, "g"),
    ]


def test_order_is_preserved_and_nothing_is_dropped() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(
        [on_next(201 + i * 0.1, i) for i in range(20)] + [on_next(203, 99)]
    )
    results = scheduler.start(lambda: source.pipe(rate_limit(10.0, 5)))
    assert [m.value.value for m in results.messages] == [*range(20), 99]
    times = [m.time for m in results.messages]
    assert times == sorted(times)
    # Five at once, then one every 0.1 s, starting 0.1 s after the burst emptied the bucket.
    assert times[-1] == pytest.approx(201 + 0.4 + 16 * 0.1)


def test_a_fractional_interval_does_not_drift() -> None:
    scheduler = Spy()
    source = burst_at(scheduler, 201, "abcd")
    results = scheduler.start(lambda: source.pipe(rate_limit(3.0, 1)))
    assert [m.time for m in results.messages] == pytest.approx([201, 201 + 1 / 3, 201 + 2 / 3, 202])
    assert len(scheduler.fired) == 3  # one wake-up per waiting item, no re-polling


def test_completion_is_delivered_after_the_queue_drains() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(*[on_next(201, c) for c in "abcd"], on_completed(202))
    results = scheduler.start(lambda: source.pipe(rate_limit(0.5, 2)))
    assert results.messages == [
        on_next(201, "a"),
        on_next(201, "b"),
        on_next(203, "c"),
        on_next(205, "d"),
        on_completed(205),
    ]


def test_completion_with_nothing_waiting_is_immediate() -> None:
    with marbles_testing(timespan=1.0) as (start, _cold, hot, exp):
        results = start(hot("-a-b-|").pipe(rate_limit(1.0, 1)))
        expected = exp("-a-b-|")
    assert results == expected


def test_an_error_passes_at_once_and_drops_what_waits() -> None:
    fault = OSError("write side broke")
    scheduler = Spy()
    source = scheduler.create_hot_observable(
        *[on_next(201, c) for c in "abcd"], on_error(202, fault)
    )
    results = scheduler.start(lambda: source.pipe(rate_limit(0.5, 2)))
    assert results.messages == [on_next(201, "a"), on_next(201, "b"), on_error(202, fault)]
    assert results.messages[-1].value.exception is fault
    assert scheduler.fired == []  # the wake-up for "c" was cancelled


def test_dispose_cancels_the_pending_wake_up() -> None:
    scheduler = Spy()
    source = burst_at(scheduler, 201, "abcd")
    results = scheduler.start(lambda: source.pipe(rate_limit(0.5, 2)), disposed=204)
    assert results.messages == [on_next(201, "a"), on_next(201, "b"), on_next(203, "c")]
    assert scheduler.fired == [203]
    assert source.subscriptions == [subscribe(200, 204)]


def test_explicit_scheduler_wins_over_the_subscribe_scheduler() -> None:
    used = TestScheduler()
    ignored = TestScheduler()
    items: Subject[str] = Subject()
    got: list[str] = []
    items.pipe(rate_limit(1.0, 1, used)).subscribe(got.append, scheduler=ignored)
    items.on_next("a")
    items.on_next("b")
    ignored.advance_by(10.0)
    assert got == ["a"]
    used.advance_by(1.0)
    assert got == ["a", "b"]


def test_without_any_scheduler_or_loop_it_refuses_rather_than_use_a_thread() -> None:
    failures: list[Exception] = []
    reactivex.of(1).pipe(rate_limit(1.0, 1)).subscribe(on_error=failures.append)
    assert len(failures) == 1
    assert isinstance(failures[0], InvalidState)


@pytest.mark.asyncio
async def test_without_a_scheduler_it_runs_on_the_running_asyncio_loop() -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    stamps: list[float] = []
    reactivex.of(1, 2, 3).pipe(rate_limit(100.0, 1)).subscribe(
        lambda _: stamps.append(loop.time()), done.set_exception, lambda: done.set_result(None)
    )
    await asyncio.wait_for(done, 1.0)
    assert len(stamps) == 3
    assert stamps[2] - stamps[0] >= 0.019


@pytest.mark.parametrize("rate", [0.0, -1.0, math.nan, math.inf])
def test_rate_must_be_positive_and_finite(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        rate_limit(rate, 1)


@pytest.mark.parametrize("burst", [0, -3])
def test_burst_must_be_at_least_one(burst: int) -> None:
    with pytest.raises(ValueError, match="burst"):
        rate_limit(1.0, burst)
