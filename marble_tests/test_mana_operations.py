"""In-flight operations in virtual time: tracked streams, wait deadlines, cleanup by age,
and a tracked request and publish on a Connection over marble sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest
import reactivex
import ujson
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.marbles import marbles_testing
from reactivex.testing.recorded import Recorded
from reactivex.testing.subscription import Subscription

from marble_tests.support import Sink, ev, opened
from rx_honeybee import OkResult, PublishTimeout, publish, request
from rx_honeybee.testing import MarbleHarness
from rx_mana.operations import (
    Operation,
    OperationCancelled,
    OperationRegistry,
    OperationStatus,
    OperationTimedOut,
    OperationType,
)
from rx_mana.tracked import tracked

S = OperationStatus
T = OperationType
on_next = cast("Callable[[float, Any], Recorded[Any]]", ReactiveTest.on_next)
on_error = cast("Callable[[float, Exception], Recorded[Any]]", ReactiveTest.on_error)
on_completed = ReactiveTest.on_completed

pytestmark = [pytest.mark.timeout(10)]


# -- the operator's docstring, line by line ------------------------------------------------


def test_docstring_marble_completion_and_error() -> None:
    reg = OperationRegistry()
    ops: list[Operation] = []
    with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
        completes = cold("-a-b-|").pipe(tracked(reg, T.QUERY, on_register=ops.append))
        results = start(completes)
        assert results == exp("-a-b-|")
    (op,) = ops
    assert (op.status, op.result, op.started_at, op.ended_at) == (S.COMPLETED, "b", 200, 205)
    assert reg.stats().mean_completion_time == 5

    reg = OperationRegistry()  # a new marble context is a new clock
    with marbles_testing(timespan=1.0) as (start, cold, _hot, exp):
        results = start(cold("-a-#").pipe(tracked(reg, T.QUERY, on_register=ops.append)))
        assert results == exp("-a-#")
    assert (ops[1].status, ops[1].ended_at, str(ops[1].error)) == (S.FAILED, 203, "error")


def test_registry_cancel_disposes_the_source_at_that_time() -> None:
    scheduler = TestScheduler()
    reg = OperationRegistry(scheduler=scheduler)
    ops: list[Operation] = []
    source = scheduler.create_cold_observable(
        on_next(1, "a"), on_next(3, "b"), on_next(5, "c"), on_completed(9)
    )
    scheduler.schedule_absolute(204, lambda *_: reg.cancel(ops[0].id))
    results = scheduler.start(
        lambda: source.pipe(tracked(reg, T.SUBSCRIPTION, on_register=ops.append))
    )
    assert source.subscriptions == [Subscription(200, 204)]
    assert results.messages[:2] == [on_next(201, "a"), on_next(203, "b")]
    (time, notification) = results.messages[2].time, results.messages[2].value
    assert time == 204 and isinstance(notification.exception, OperationCancelled)
    assert len(results.messages) == 3
    assert (ops[0].status, ops[0].ended_at) == (S.CANCELLED, 204)


def test_disposing_the_subscription_cancels_at_that_time() -> None:
    scheduler = TestScheduler()
    reg = OperationRegistry(scheduler=scheduler)
    source = scheduler.create_cold_observable(on_next(1, "a"), on_completed(2000))
    results = scheduler.start(lambda: source.pipe(tracked(reg, T.QUERY)))  # disposed at 1000
    assert results.messages == [on_next(201, "a")]
    (op,) = reg.operations()
    assert (op.status, op.ended_at) == (S.CANCELLED, 1000)


# -- wait deadlines in virtual time --------------------------------------------------------


@pytest.mark.asyncio
async def test_a_wait_deadline_times_out_the_operation_and_disposes_its_source() -> None:
    scheduler = TestScheduler()
    reg = OperationRegistry(scheduler=scheduler)
    ops: list[Operation] = []
    source = scheduler.create_cold_observable(on_next(2, "a"), on_next(8, "late"))
    scheduler.advance_to(200)
    sink = Sink(scheduler)
    sink.observe(source.pipe(tracked(reg, T.QUERY, on_register=ops.append)))
    waiting = asyncio.ensure_future(reg.wait(ops[0].id, 5))
    await asyncio.sleep(0)
    scheduler.advance_to(204.9)
    await asyncio.sleep(0)
    assert not waiting.done() and ops[0].status is S.IN_PROGRESS
    scheduler.advance_to(210)
    with pytest.raises(OperationTimedOut):
        await waiting
    assert (ops[0].status, ops[0].ended_at) == (S.TIMED_OUT, 205)
    assert source.subscriptions == [Subscription(200, 205)]
    assert sink.items == [(202, "a")]  # "late" at 208 never came through
    assert sink.error is not None and sink.error[0] == 205
    assert isinstance(sink.error[1], OperationTimedOut)


@pytest.mark.asyncio
async def test_an_operation_that_ends_before_the_deadline_is_not_timed_out() -> None:
    scheduler = TestScheduler()
    reg = OperationRegistry(scheduler=scheduler)
    ops: list[Operation] = []
    source = scheduler.create_cold_observable(on_next(2, "a"), on_completed(4))
    scheduler.advance_to(200)
    sink = Sink(scheduler)
    sink.observe(source.pipe(tracked(reg, T.QUERY, on_register=ops.append)))
    waiting = asyncio.ensure_future(reg.wait(ops[0].id, 5))
    await asyncio.sleep(0)
    scheduler.advance_to(300)
    assert await waiting == "a"
    assert (ops[0].status, ops[0].ended_at, sink.completed) == (S.COMPLETED, 204, 204)


@pytest.mark.asyncio
async def test_the_earliest_deadline_of_several_waiters_wins() -> None:
    scheduler = TestScheduler()
    reg = OperationRegistry(scheduler=scheduler)
    op = reg.register(T.CONNECTION)
    patient = asyncio.ensure_future(reg.wait(op.id, 30))
    hasty = asyncio.ensure_future(reg.wait(op.id, 3))
    await asyncio.sleep(0)
    scheduler.advance_to(10)
    for waiter in (hasty, patient):
        with pytest.raises(OperationTimedOut) as info:
            await waiter
        assert info.value.timeout == 3
    assert op.ended_at == 3


# -- cleanup by age in virtual time --------------------------------------------------------


def test_cleanup_removes_operations_by_the_age_of_their_end() -> None:
    scheduler = TestScheduler()
    reg = OperationRegistry(scheduler=scheduler)
    ends = [2, 4, 7, 30]  # relative to the subscription at 200
    sources = [scheduler.create_cold_observable(on_completed(t)) for t in ends]
    scheduler.schedule_absolute(
        200, lambda *_: [s.pipe(tracked(reg, T.QUERY)).subscribe() for s in sources]
    )
    removed: list[tuple[float, int]] = []

    def clean(*_: Any) -> None:
        removed.append((float(scheduler.clock), reg.cleanup(5)))

    for at in (206, 209, 212, 300):
        scheduler.schedule_absolute(at, clean)
    scheduler.advance_to(300)
    # at 206: ended at 202 (4 s ago) is younger than 5 s; at 209: 202 and 204 are old
    assert removed == [(206, 0), (209, 2), (212, 1), (300, 1)]
    assert len(reg) == 0
    assert reg.stats().removed == 4 and reg.stats().by_status[S.COMPLETED] == 4


def test_a_periodic_cleanup_keeps_memory_bounded_while_work_flows() -> None:
    # one operation ends each second; a cleanup every 10 s keeps the last 20 s of them
    scheduler = TestScheduler()
    reg = OperationRegistry(scheduler=scheduler)
    held: list[int] = []
    reactivex.interval(1.0).subscribe(
        lambda _: reactivex.of(1).pipe(tracked(reg, T.PUBLICATION)).subscribe(),
        scheduler=scheduler,
    )
    reactivex.interval(10.0).subscribe(
        lambda _: (reg.cleanup(20), held.append(len(reg))), scheduler=scheduler
    )
    scheduler.advance_to(100)
    assert reg.stats().registered == 100
    # each cleanup runs before that instant's tick: what ended in the last 20 s stays
    assert held == [9] + [19] * 9
    assert (len(reg), reg.stats().removed) == (20, 80)


# -- on a Connection over marble sockets ---------------------------------------------------

EVENT = ev(1, 100)


def relay_event(sub: str, event: dict[str, Any]) -> str:
    return str(ujson.dumps(["EVENT", sub, event]))


@pytest.mark.asyncio
async def test_a_tracked_request_that_times_out_sends_close_at_the_deadline() -> None:
    h = MarbleHarness(lambda link: [[opened(link), on_next(3, relay_event("s", EVENT))]])
    reg = OperationRegistry(scheduler=h.scheduler)
    await h.start()  # CONNECTED at 1
    ops: list[Operation] = []
    sink = Sink(h.scheduler)
    sink.observe(
        request(h.conn, [{"kinds": [1]}], sub_id="s").pipe(
            tracked(reg, T.SUBSCRIPTION, on_register=ops.append, relay=h.conn.url)
        )
    )
    waiting = asyncio.ensure_future(reg.wait(ops[0].id, 4))  # deadline at 5
    await h.run_until(8)
    with pytest.raises(OperationTimedOut):
        await waiting
    assert h.link.labels() == [(1.0, "REQ"), (5.0, "CLOSE")]
    assert [item["id"] for _, item in sink.items] == [EVENT["id"]]
    assert sink.error is not None and sink.error[0] == 5
    assert (ops[0].status, ops[0].metadata) == (S.TIMED_OUT, {"relay": "ws://relay"})
    await h.conn.close()


@pytest.mark.asyncio
async def test_a_tracked_publish_completes_with_its_ok_result() -> None:
    ok = str(ujson.dumps(["OK", EVENT["id"], True, ""]))
    h = MarbleHarness(lambda link: [[opened(link), on_next(5, ok)]])
    reg = OperationRegistry(scheduler=h.scheduler)
    await h.start()
    ops: list[Operation] = []
    sink = Sink(h.scheduler)
    sink.observe(publish(h.conn, EVENT).pipe(tracked(reg, T.PUBLICATION, on_register=ops.append)))
    waiting = asyncio.ensure_future(reg.wait(ops[0].id, 10))
    await h.run_until(6)
    result = await waiting
    assert isinstance(result, OkResult) and result.accepted and result.event_id == EVENT["id"]
    assert (ops[0].status, ops[0].result, ops[0].started_at, ops[0].ended_at) == (
        S.COMPLETED,
        result,
        1,
        5,
    )
    assert reg.stats().mean_completion_time == 4
    assert h.link.labels() == [(1.0, "EVENT")]
    await h.conn.close()


@pytest.mark.asyncio
async def test_a_tracked_publish_without_ok_fails_with_publish_timeout() -> None:
    h = MarbleHarness(lambda link: [[opened(link)]])
    reg = OperationRegistry(scheduler=h.scheduler)
    await h.start()
    ops: list[Operation] = []
    sink = Sink(h.scheduler)
    sink.observe(
        publish(h.conn, EVENT, timeout=3).pipe(tracked(reg, T.PUBLICATION, on_register=ops.append))
    )
    await h.run_until(5)
    assert ops[0].status is S.FAILED and isinstance(ops[0].error, PublishTimeout)
    assert ops[0].ended_at == 4
    await h.conn.close()
