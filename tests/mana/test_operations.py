"""OperationRegistry and the tracked operator: lifecycle, waits, cancellation, bounds."""

from __future__ import annotations

import asyncio
import dataclasses
import doctest
import importlib
from typing import Any

import pytest
import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from rx_honeybee.errors import HoneybeeError, InvalidState
from rx_honeybee.lean import Handlers, LeanObservable
from rx_mana.operations import (
    Operation,
    OperationCancelled,
    OperationNotFound,
    OperationRegistry,
    OperationStatus,
    OperationTimedOut,
    OperationType,
)
from rx_mana.tracked import tracked

S = OperationStatus
T = OperationType

pytestmark = [pytest.mark.timeout(10)]


def registry(**kwargs: Any) -> tuple[OperationRegistry, TestScheduler]:
    scheduler = TestScheduler()
    return OperationRegistry(scheduler=scheduler, **kwargs), scheduler


class Probe:
    """A source that records subscribes and disposes, and emits what the test pushes."""

    def __init__(self) -> None:
        self.subject: Subject[Any] = Subject()
        self.subscribed = 0
        self.disposed = 0

    @property
    def observable(self) -> Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            self.subscribed += 1
            inner = self.subject.subscribe(observer)

            def dispose() -> None:
                self.disposed += 1
                inner.dispose()

            return Disposable(dispose)

        return Observable(subscribe)


class Downstream:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.errors: list[Exception] = []
        self.completed = 0

    def observe(self, source: Observable[Any]) -> abc.DisposableBase:
        return source.subscribe(self.items.append, self.errors.append, self._done)

    def _done(self) -> None:
        self.completed += 1


# -- types ---------------------------------------------------------------------------------


def test_types_and_statuses_are_strings_with_the_seed_names() -> None:
    assert [t.value for t in T] == ["subscription", "publication", "connection", "query"]
    assert [s.value for s in S] == [
        "pending",
        "in_progress",
        "completed",
        "failed",
        "cancelled",
        "timed_out",
    ]
    assert T.QUERY == "query"


def test_errors_are_honeybee_errors_with_the_builtins_callers_catch() -> None:
    assert issubclass(OperationNotFound, KeyError) and issubclass(OperationNotFound, HoneybeeError)
    assert issubclass(OperationTimedOut, TimeoutError)
    assert issubclass(OperationCancelled, HoneybeeError)
    assert str(OperationNotFound("op-9")) == "no operation 'op-9'"
    timed_out = OperationTimedOut("op-1", 2.5)
    assert (timed_out.op_id, timed_out.timeout) == ("op-1", 2.5)


# -- register and the lifecycle ------------------------------------------------------------


def test_register_gives_unique_ids_and_keeps_metadata() -> None:
    reg, scheduler = registry()
    scheduler.advance_to(3)
    a = reg.register(T.PUBLICATION, relay="wss://a")
    b = reg.register("query", priority=2, type="not the type")  # a value works; type is free
    assert a.id != b.id
    assert (a.type, a.status, a.priority, a.metadata) == (
        T.PUBLICATION,
        S.PENDING,
        0,
        {"relay": "wss://a"},
    )
    assert (b.type, b.priority, b.metadata) == (T.QUERY, 2, {"type": "not the type"})
    assert (a.registered_at, a.started_at, a.ended_at, a.result, a.error) == (
        3.0,
        None,
        None,
        None,
        None,
    )
    assert a.active and a.id in reg and len(reg) == 2 and reg.get(a.id) is a
    assert repr(a) == f"<Operation {a.id} publication pending>"


def test_register_refuses_an_unknown_type() -> None:
    reg, _ = registry()
    with pytest.raises(ValueError):
        reg.register("download")


def test_start_then_complete_sets_times_and_result_once() -> None:
    reg, scheduler = registry()
    op = reg.register(T.QUERY)
    scheduler.advance_to(2)
    assert reg.start(op.id) is True
    assert (op.status, op.started_at) == (S.IN_PROGRESS, 2.0)
    assert reg.start(op.id) is False  # only from PENDING
    scheduler.advance_to(5)
    assert reg.complete(op.id, ["e1"]) is True
    assert (op.status, op.result, op.ended_at, op.active) == (S.COMPLETED, ["e1"], 5.0, False)
    assert reg.complete(op.id, "late") is False
    assert reg.fail(op.id, RuntimeError("late")) is False
    assert reg.start(op.id) is False
    assert op.result == ["e1"] and op.error is None


def test_fail_keeps_the_error() -> None:
    reg, _ = registry()
    op = reg.register(T.CONNECTION)
    boom = ConnectionError("refused")
    assert reg.fail(op.id, boom) is True
    assert (op.status, op.error, op.result) == (S.FAILED, boom, None)


def test_an_operation_may_end_without_starting() -> None:
    reg, scheduler = registry()
    op = reg.register(T.QUERY)
    scheduler.advance_to(4)
    assert reg.complete(op.id, 1)
    assert op.started_at is None
    assert reg.stats().mean_completion_time == 4.0  # measured from registration


def test_cancel_is_true_once_and_false_after_any_end() -> None:
    reg, _ = registry()
    op = reg.register(T.SUBSCRIPTION)
    assert reg.cancel(op.id) is True
    assert op.status is S.CANCELLED
    assert isinstance(op.error, OperationCancelled) and op.error.op_id == op.id
    assert reg.cancel(op.id) is False
    done = reg.register(T.PUBLICATION)
    reg.complete(done.id, "ok")
    assert reg.cancel(done.id) is False
    assert done.status is S.COMPLETED  # cancel after completion changes nothing


def test_unknown_ids_raise_a_key_error() -> None:
    reg, _ = registry()
    for call in (reg.get, reg.start, reg.cancel, lambda i: reg.complete(i, 1)):
        with pytest.raises(KeyError):
            call("op-404")
    with pytest.raises(OperationNotFound):
        reg.fail("op-404", RuntimeError())
    with pytest.raises(OperationNotFound):
        reg.set_canceller("op-404", lambda op: None)
    assert "op-404" not in reg


def test_the_canceller_runs_once_on_cancel_but_not_on_complete_or_fail() -> None:
    reg, _ = registry()
    told: list[Operation] = []
    a, b, c = (reg.register(T.QUERY) for _ in range(3))
    for op in (a, b, c):
        assert reg.set_canceller(op.id, told.append)
    reg.complete(a.id)
    reg.fail(b.id, RuntimeError("x"))
    reg.cancel(c.id)
    reg.cancel(c.id)
    assert told == [c]
    assert reg.set_canceller(a.id, told.append) is False  # ended: nothing to stop


def test_a_failing_canceller_raises_but_the_operation_is_cancelled() -> None:
    reg, _ = registry()
    op = reg.register(T.QUERY)

    def broken(_: Operation) -> None:
        raise RuntimeError("canceller broke")

    reg.set_canceller(op.id, broken)
    with pytest.raises(RuntimeError, match="canceller broke"):
        reg.cancel(op.id)
    assert op.status is S.CANCELLED


def test_cancel_type_and_cancel_all_count_what_they_cancelled() -> None:
    reg, _ = registry()
    subs = [reg.register(T.SUBSCRIPTION) for _ in range(3)]
    pubs = [reg.register(T.PUBLICATION) for _ in range(2)]
    reg.complete(subs[0].id)
    assert reg.cancel_type(T.SUBSCRIPTION) == 2
    assert [op.status for op in subs] == [S.COMPLETED, S.CANCELLED, S.CANCELLED]
    assert all(op.status is S.PENDING for op in pubs)
    assert reg.cancel_type(T.SUBSCRIPTION) == 0
    reg.start(pubs[0].id)
    assert reg.cancel_all() == 2
    assert reg.cancel_all() == 0
    assert all(op.status is S.CANCELLED for op in pubs)


def test_cancel_all_cancels_everything_even_when_a_canceller_fails() -> None:
    reg, _ = registry()
    ops = [reg.register(T.QUERY) for _ in range(3)]

    def broken(_: Operation) -> None:
        raise RuntimeError("first")

    reg.set_canceller(ops[0].id, broken)
    reg.set_canceller(ops[1].id, lambda _: (_ for _ in ()).throw(RuntimeError("second")))
    with pytest.raises(RuntimeError, match="first"):
        reg.cancel_all()
    assert all(op.status is S.CANCELLED for op in ops)
    assert reg.stats().by_status[S.CANCELLED] == 3


def test_a_canceller_may_cancel_another_operation() -> None:
    reg, _ = registry()
    a, b = reg.register(T.QUERY), reg.register(T.QUERY)
    reg.set_canceller(a.id, lambda _: reg.cancel(b.id))
    assert reg.cancel_all() == 1  # b was cancelled by a's canceller, not by cancel_all
    assert b.status is S.CANCELLED


def test_operations_are_listed_by_priority_then_age_and_filtered() -> None:
    reg, _ = registry()
    low = reg.register(T.QUERY)
    high = reg.register(T.PUBLICATION, priority=5)
    mid = reg.register(T.QUERY, priority=1)
    low2 = reg.register(T.QUERY)
    reg.complete(high.id)
    assert reg.operations() == [high, mid, low, low2]
    assert reg.operations(T.QUERY) == [mid, low, low2]
    assert reg.operations("query", "pending") == [mid, low, low2]
    assert reg.operations(status=S.COMPLETED) == [high]


# -- wait ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_wait_on_an_ended_operation_answers_at_once() -> None:
    reg, _ = registry()
    done, failed, cancelled = (reg.register(T.QUERY) for _ in range(3))
    reg.complete(done.id, 42)
    boom = ValueError("boom")
    reg.fail(failed.id, boom)
    reg.cancel(cancelled.id)
    assert await reg.wait(done.id) == 42
    with pytest.raises(ValueError) as info:
        await reg.wait(failed.id, 1.0)
    assert info.value is boom
    with pytest.raises(asyncio.CancelledError):
        await reg.wait(cancelled.id)


@pytest.mark.asyncio
async def test_wait_on_an_unknown_id_raises_key_error() -> None:
    reg, _ = registry()
    with pytest.raises(KeyError):
        await reg.wait("op-1", 1.0)


@pytest.mark.asyncio
async def test_wait_refuses_a_bad_timeout() -> None:
    reg, _ = registry()
    op = reg.register(T.QUERY)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            await reg.wait(op.id, bad)


@pytest.mark.asyncio
async def test_every_waiter_gets_the_result_when_it_completes() -> None:
    reg, _ = registry()
    op = reg.register(T.PUBLICATION)
    waiters = [asyncio.ensure_future(reg.wait(op.id)) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    reg.complete(op.id, "ok")
    assert await asyncio.gather(*waiters) == ["ok", "ok", "ok"]


@pytest.mark.asyncio
async def test_a_waiter_learns_a_later_failure_or_cancel() -> None:
    reg, _ = registry()
    failing, cancelled = reg.register(T.QUERY), reg.register(T.QUERY)
    w1 = asyncio.ensure_future(reg.wait(failing.id, 10))
    w2 = asyncio.ensure_future(reg.wait(cancelled.id))
    await asyncio.sleep(0)
    reg.fail(failing.id, ConnectionError("gone"))
    reg.cancel(cancelled.id)
    with pytest.raises(ConnectionError):
        await w1
    with pytest.raises(asyncio.CancelledError):
        await w2


@pytest.mark.asyncio
async def test_the_deadline_runs_on_the_scheduler_and_marks_timed_out() -> None:
    reg, scheduler = registry()
    op = reg.register(T.QUERY)
    told: list[Operation] = []
    reg.set_canceller(op.id, told.append)
    waiting = asyncio.ensure_future(reg.wait(op.id, 5))
    await asyncio.sleep(0)
    scheduler.advance_to(4.9)
    await asyncio.sleep(0)
    assert not waiting.done() and op.active
    scheduler.advance_to(5)
    with pytest.raises(OperationTimedOut) as info:
        await waiting
    assert (info.value.op_id, info.value.timeout) == (op.id, 5)
    assert (op.status, op.ended_at, op.error) == (S.TIMED_OUT, 5.0, info.value)
    assert told == [op]  # the work is stopped too
    with pytest.raises(TimeoutError):  # later waits learn it at once
        await reg.wait(op.id)
    assert reg.complete(op.id, "late") is False


@pytest.mark.asyncio
async def test_a_wait_that_ends_in_time_leaves_no_timer() -> None:
    reg, scheduler = registry()
    op = reg.register(T.QUERY)
    waiting = asyncio.ensure_future(reg.wait(op.id, 5))
    await asyncio.sleep(0)
    scheduler.advance_to(2)
    reg.complete(op.id, "r")
    scheduler.advance_to(10)  # the deadline passes before the waiter runs again
    assert await waiting == "r"
    assert op.status is S.COMPLETED and op.error is None  # the deadline did nothing


@pytest.mark.asyncio
async def test_cancelling_the_waiting_task_leaves_the_operation_running() -> None:
    reg, scheduler = registry()
    op = reg.register(T.QUERY)
    waiting = asyncio.ensure_future(reg.wait(op.id, 5))
    other = asyncio.ensure_future(reg.wait(op.id))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    scheduler.advance_to(10)  # its deadline went with it
    assert op.status is S.PENDING
    reg.complete(op.id, "still here")
    assert await other == "still here"


@pytest.mark.asyncio
async def test_an_operation_ending_while_a_cancelled_waiter_unwinds_is_fine() -> None:
    reg, _ = registry()
    op = reg.register(T.QUERY)
    waiting = asyncio.ensure_future(reg.wait(op.id, 5))
    await asyncio.sleep(0)
    waiting.cancel()  # its future is cancelled now; its finally runs later
    reg.complete(op.id, "r")
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert op.status is S.COMPLETED


@pytest.mark.asyncio
async def test_a_zero_timeout_times_out_an_active_operation() -> None:
    reg, scheduler = registry()
    op = reg.register(T.QUERY)
    waiting = asyncio.ensure_future(reg.wait(op.id, 0))
    await asyncio.sleep(0)
    scheduler.advance_to(1)
    with pytest.raises(OperationTimedOut):
        await waiting
    assert (op.status, op.ended_at) == (S.TIMED_OUT, 0.0)  # due at once


@pytest.mark.asyncio
async def test_without_a_scheduler_the_running_loop_keeps_time() -> None:
    reg = OperationRegistry()
    op = reg.register(T.QUERY)
    with pytest.raises(TimeoutError):
        await reg.wait(op.id, 0.02)
    assert op.status is S.TIMED_OUT
    assert op.ended_at is not None and op.ended_at - op.registered_at >= 0.015


def test_without_a_scheduler_or_a_loop_register_says_what_is_missing() -> None:
    reg = OperationRegistry()
    with pytest.raises(InvalidState, match="OperationRegistry needs a scheduler"):
        reg.register(T.QUERY)


def test_adopt_scheduler_sets_the_clock_once() -> None:
    first, second = TestScheduler(), TestScheduler()
    first.advance_to(7)
    reg = OperationRegistry()
    reg.adopt_scheduler(None)
    reg.adopt_scheduler(first)
    reg.adopt_scheduler(second)
    assert reg.register(T.QUERY).registered_at == 7.0


# -- cleanup, bounds and stats -------------------------------------------------------------


def test_cleanup_removes_ended_operations_of_that_age_and_never_active_ones() -> None:
    reg, scheduler = registry()
    old, recent, active = (reg.register(T.QUERY) for _ in range(3))
    scheduler.advance_to(1)
    reg.complete(old.id)
    scheduler.advance_to(8)
    reg.cancel(recent.id)
    scheduler.advance_to(11)
    assert reg.cleanup(10) == 1  # old ended 10 s ago
    assert old.id not in reg and recent.id in reg and active.id in reg
    assert reg.cleanup(10) == 0
    assert reg.cleanup(0) == 1  # every ended one
    assert reg.operations() == [active]
    assert reg.stats().removed == 2
    with pytest.raises(KeyError):
        reg.get(old.id)


def test_cleanup_refuses_a_bad_age_and_is_cheap_when_nothing_ended() -> None:
    reg = OperationRegistry()  # no clock needed when nothing ended
    assert reg.cleanup(5) == 0
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            reg.cleanup(bad)


def test_max_ended_bounds_memory_dropping_the_earliest_ended() -> None:
    reg, _ = registry(max_ended=2)
    ops = [reg.register(T.PUBLICATION) for _ in range(5)]
    for op in ops:
        reg.complete(op.id)
    assert [op.id for op in reg.operations()] == [ops[3].id, ops[4].id]
    assert reg.stats().removed == 3
    assert reg.stats().by_status[S.COMPLETED] == 5  # totals outlive removal


def test_max_ended_zero_keeps_only_active_operations() -> None:
    reg, _ = registry(max_ended=0)
    told: list[Operation] = []
    op = reg.register(T.QUERY)
    reg.set_canceller(op.id, told.append)
    reg.cancel(op.id)
    assert len(reg) == 0 and told == [op]


def test_unbounded_when_max_ended_is_none() -> None:
    reg, _ = registry(max_ended=None)
    for _ in range(20):
        reg.complete(reg.register(T.QUERY).id)
    assert len(reg) == 20


def test_max_ended_must_not_be_negative() -> None:
    with pytest.raises(ValueError):
        OperationRegistry(max_ended=-1)


def test_stats_count_per_status_and_type_and_average_completion() -> None:
    reg, scheduler = registry()
    assert reg.stats().mean_completion_time is None
    a = reg.register(T.PUBLICATION)
    b = reg.register(T.PUBLICATION)
    c = reg.register(T.QUERY)
    d = reg.register(T.SUBSCRIPTION)
    reg.start(a.id)
    reg.start(b.id)
    scheduler.advance_to(2)
    reg.complete(a.id)
    scheduler.advance_to(6)
    reg.complete(b.id)
    reg.fail(c.id, RuntimeError())
    reg.start(d.id)
    stats = reg.stats()
    assert stats.registered == 4
    assert (stats.pending, stats.in_progress, stats.held, stats.removed) == (0, 1, 4, 0)
    assert stats.by_status == {
        S.PENDING: 4,
        S.IN_PROGRESS: 3,
        S.COMPLETED: 2,
        S.FAILED: 1,
        S.CANCELLED: 0,
        S.TIMED_OUT: 0,
    }
    assert stats.by_type == {
        T.SUBSCRIPTION: 1,
        T.PUBLICATION: 2,
        T.CONNECTION: 0,
        T.QUERY: 1,
    }
    assert stats.mean_completion_time == 4.0  # (2 + 6) / 2: failures do not count
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.registered = 0  # type: ignore[misc]


# -- tracked -------------------------------------------------------------------------------


def test_tracked_docstring_example_runs() -> None:
    result = doctest.testmod(importlib.import_module("rx_mana.tracked"))  # the module
    assert result.attempted > 0 and result.failed == 0


def test_tracked_completes_with_the_last_item() -> None:
    reg, _ = registry()
    seen: list[tuple[str, OperationStatus]] = []
    down = Downstream()
    down.observe(
        reactivex.of("a", "b").pipe(
            tracked(reg, T.QUERY, on_register=lambda op: seen.append((op.id, op.status)))
        )
    )
    (op,) = reg.operations()
    assert seen == [(op.id, S.PENDING)]  # told before it starts
    assert (down.items, down.completed) == (["a", "b"], 1)
    assert (op.status, op.result, op.started_at) == (S.COMPLETED, "b", 0.0)


def test_tracked_result_is_none_for_an_empty_source_and_metadata_sets_priority() -> None:
    reg, _ = registry()
    reactivex.empty().pipe(tracked(reg, "publication", priority=3, relay="r")).subscribe()
    (op,) = reg.operations()
    assert (op.type, op.priority, op.metadata, op.result) == (
        T.PUBLICATION,
        3,
        {"relay": "r"},
        None,
    )
    assert op.status is S.COMPLETED


def test_tracked_fails_with_the_source_error() -> None:
    reg, _ = registry()
    boom = ConnectionError("boom")
    down = Downstream()
    down.observe(reactivex.throw(boom).pipe(tracked(reg, T.CONNECTION)))
    (op,) = reg.operations()
    assert (op.status, op.error) == (S.FAILED, boom)
    assert down.errors == [boom]


def test_tracked_refuses_an_unknown_type_at_call_time() -> None:
    reg, _ = registry()
    with pytest.raises(ValueError):
        tracked(reg, "download")


def test_registry_cancel_disposes_the_source_and_errors_the_stream() -> None:
    reg, _ = registry()
    probe = Probe()
    down = Downstream()
    ops: list[Operation] = []
    down.observe(probe.observable.pipe(tracked(reg, T.SUBSCRIPTION, on_register=ops.append)))
    probe.subject.on_next(1)
    assert ops[0].status is S.IN_PROGRESS and probe.subscribed == 1
    assert reg.cancel(ops[0].id) is True
    assert probe.disposed == 1
    assert down.items == [1]
    assert len(down.errors) == 1 and isinstance(down.errors[0], OperationCancelled)
    probe.subject.on_next(2)  # nothing leaks through after the cancel
    probe.subject.on_completed()
    assert down.items == [1] and down.completed == 0
    assert ops[0].status is S.CANCELLED


class Leaky(LeanObservable[Any]):
    """A lean source (as honeybee's are): no AutoDetachObserver silences it after dispose."""

    def __init__(self) -> None:
        self.handlers: list[Handlers] = []

    def _attach(self, handlers: Handlers, scheduler: abc.SchedulerBase | None) -> Disposable:
        self.handlers.append(handlers)
        return Disposable()  # disposing does not stop it: a source that keeps talking


@pytest.mark.parametrize("end", ["error", "completed"])
def test_late_source_signals_after_a_cancel_are_ignored(end: str) -> None:
    reg, _ = registry()
    ops: list[Operation] = []
    leaky = Leaky()
    down = Downstream()
    down.observe(leaky.pipe(tracked(reg, T.QUERY, on_register=ops.append)))
    reg.cancel(ops[0].id)
    on_next, on_error, on_completed = leaky.handlers[0]
    on_next("late")
    if end == "error":
        on_error(RuntimeError("late"))
    else:
        on_completed()
    assert down.items == [] and down.completed == 0 and len(down.errors) == 1
    assert ops[0].status is S.CANCELLED


def test_disposing_the_subscription_cancels_the_operation_quietly() -> None:
    reg, _ = registry()
    probe = Probe()
    down = Downstream()
    subscription = down.observe(probe.observable.pipe(tracked(reg, T.QUERY)))
    (op,) = reg.operations()
    subscription.dispose()
    assert op.status is S.CANCELLED and probe.disposed == 1
    assert down.errors == []  # the subscriber left: nothing is sent to it
    subscription.dispose()  # twice is harmless
    assert reg.stats().by_status[S.CANCELLED] == 1


def test_disposing_after_completion_leaves_it_completed() -> None:
    reg, _ = registry()
    subscription = reactivex.of(1).pipe(tracked(reg, T.QUERY)).subscribe()
    subscription.dispose()
    assert reg.operations()[0].status is S.COMPLETED


def test_disposing_after_the_operation_was_cleaned_up_is_harmless() -> None:
    reg, _ = registry(max_ended=0)
    probe = Probe()
    down = Downstream()
    subscription = down.observe(probe.observable.pipe(tracked(reg, T.QUERY)))
    reg.cancel_all()
    assert len(reg) == 0
    subscription.dispose()


def test_a_cancel_from_inside_on_next_disposes_the_source_before_it_is_assigned() -> None:
    reg, _ = registry()
    ops: list[Operation] = []
    emitted: list[int] = []

    def synchronous(
        observer: abc.ObserverBase[int], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        for n in range(5):
            emitted.append(n)
            observer.on_next(n)
        observer.on_completed()
        return Disposable()

    down = Downstream()
    source = Observable(synchronous).pipe(tracked(reg, T.QUERY, on_register=ops.append))

    def on_next(n: int) -> None:
        down.items.append(n)
        if n == 1:
            reg.cancel(ops[0].id)

    source.subscribe(on_next, down.errors.append, down._done)
    assert emitted == [0, 1, 2, 3, 4]  # the source went on; nothing after the cancel came out
    assert down.items == [0, 1] and down.completed == 0
    assert ops[0].status is S.CANCELLED and ops[0].result is None
    assert len(down.errors) == 1


def test_on_register_may_cancel_before_the_source_is_subscribed() -> None:
    reg, _ = registry()
    probe = Probe()
    down = Downstream()
    down.observe(
        probe.observable.pipe(tracked(reg, T.QUERY, on_register=lambda op: reg.cancel(op.id)))
    )
    assert probe.subscribed == 0
    assert reg.operations()[0].status is S.CANCELLED
    assert isinstance(down.errors[0], OperationCancelled)


def test_a_failing_on_register_fails_the_operation_and_the_stream() -> None:
    reg, _ = registry()
    probe = Probe()
    down = Downstream()

    def broken(op: Operation) -> None:
        raise RuntimeError("hook broke")

    down.observe(probe.observable.pipe(tracked(reg, T.QUERY, on_register=broken)))
    (op,) = reg.operations()
    assert op.status is S.FAILED and str(op.error) == "hook broke"
    assert probe.subscribed == 0
    assert [str(e) for e in down.errors] == ["hook broke"]


def test_a_source_that_raises_on_subscribe_fails_the_operation() -> None:
    reg, _ = registry()

    def raising(
        observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        raise RuntimeError("cannot subscribe")

    down = Downstream()
    down.observe(Observable(raising).pipe(tracked(reg, T.QUERY)))
    (op,) = reg.operations()
    assert op.status is S.FAILED
    assert [str(e) for e in down.errors] == ["cannot subscribe"]


def test_a_source_that_fails_synchronously_on_subscribe_after_ending_is_not_refailed() -> None:
    reg, _ = registry()

    def ends_then_raises(
        observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        observer.on_completed()
        raise RuntimeError("after the end")

    with pytest.raises(RuntimeError):
        Observable(ends_then_raises).pipe(tracked(reg, T.QUERY)).subscribe()
    assert reg.operations()[0].status is S.COMPLETED


def test_each_subscription_is_its_own_operation() -> None:
    reg, _ = registry()
    source = reactivex.of(1).pipe(tracked(reg, T.PUBLICATION))
    source.subscribe()
    source.subscribe()
    assert [op.status for op in reg.operations()] == [S.COMPLETED, S.COMPLETED]
    assert len({op.id for op in reg.operations()}) == 2


def test_tracked_adopts_the_subscribe_scheduler_as_the_clock() -> None:
    scheduler = TestScheduler()
    scheduler.advance_to(9)
    reg = OperationRegistry()
    reactivex.never().pipe(tracked(reg, T.QUERY)).subscribe(scheduler=scheduler)
    assert reg.operations()[0].registered_at == 9.0


def test_cancel_all_stops_every_tracked_stream() -> None:
    reg, _ = registry()
    probes = [Probe() for _ in range(3)]
    downs = [Downstream() for _ in probes]
    for probe, down in zip(probes, downs, strict=True):
        down.observe(probe.observable.pipe(tracked(reg, T.SUBSCRIPTION)))
    assert reg.cancel_all() == 3
    assert [p.disposed for p in probes] == [1, 1, 1]
    assert all(isinstance(d.errors[0], OperationCancelled) for d in downs)
