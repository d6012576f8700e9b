"""Tests for rx_mana.write_queue: levels, bounds, pressure, batches, the writer protocol."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Coroutine
from typing import Any

import pytest
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import TestScheduler

from rx_honeybee.errors import EnvelopeTooLarge, InvalidState, QueueFull
from rx_honeybee.interfaces import OutgoingQueue
from rx_honeybee.testing import RecordingLink
from rx_mana._labels import read_label
from rx_mana.write_queue import PriorityWriteQueue, WriteQueueStats, label_priority
from rx_roots import (
    enclose_auth_challenge,
    enclose_auth_response,
    enclose_close,
    enclose_closed,
    enclose_eose,
    enclose_notice,
    enclose_ok,
    enclose_req,
)

pytestmark = [pytest.mark.timeout(10)]

REQ = enclose_req("s", [{"kinds": [1]}])
CLOSE = enclose_close("s")


def req(n: int) -> str:
    return enclose_req(f"s{n}", [{"kinds": [1]}])


def event(n: int) -> str:
    return f'["EVENT",{{"id":"{n:064x}","kind":1}}]'


async def turns(n: int = 10) -> None:
    """Let the event loop run ``n`` rounds."""
    for _ in range(n):
        await asyncio.sleep(0)


def spawn(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    return asyncio.get_running_loop().create_task(coro)


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


class FastLink(RecordingLink):
    """A RecordingLink that also writes synchronously through ``try_send`` (as aiohttp's)."""

    def __init__(self, *, accept: bool = True) -> None:
        super().__init__()
        self.accept = accept  # what try_send answers
        self.tried: list[str] = []  # envelopes offered to try_send

    def try_send(self, envelope: str) -> bool:
        self.tried.append(envelope)
        if self.accept:
            self.sent.append(envelope)
        return self.accept


def unblocked(**kwargs: Any) -> PriorityWriteQueue:
    """A queue whose writer never holds a batch open (no timer involved)."""
    return PriorityWriteQueue(**{"batch_delay": 0.0, **kwargs})


# --- label_priority -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("envelope", "level"),
    [
        (CLOSE, 2),
        (enclose_auth_response({"kind": 22242}), 2),
        (enclose_auth_challenge("x"), 2),
        (enclose_eose("s"), 2),
        (enclose_ok("ab" * 32, True, ""), 2),
        (enclose_notice("hi"), 2),
        (enclose_closed("s", "error: no"), 2),
        (event(1), 1),
        (REQ, 0),
        ('["COUNT","c",{}]', 0),
        ('["WHATEVER"]', 0),
        ('[ "CLOSE" , "s" ]', 2),  # not compact: read through get_label
        ('["CL\\u004fSE","s"]', 2),  # an escaped label is decoded
        ("not json", 0),
        ("", 0),
        ("[1,2]", 0),
        ('["CLOSE"', 0),  # cut short: no label at all
    ],
)
def test_label_priority(envelope: str, level: int) -> None:
    assert label_priority(envelope) == level


def test_read_label_slices_the_compact_form_and_refuses_what_is_not_an_envelope() -> None:
    assert read_label('["REQ","s",{}]') == "REQ"
    assert read_label('["EOSE"]') == "EOSE"
    assert read_label('["a\\"b",1]') == 'a"b'
    assert read_label("{}") is None


# --- construction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"capacity": 0},
        {"max_size": 0},
        {"levels": 0},
        {"high_watermark": 0.5, "low_watermark": 0.5},
        {"high_watermark": 1.1},
        {"low_watermark": -0.1},
        {"batch_size": 0},
        {"batch_delay": -1.0},
        {"batch_delay": float("inf")},
        {"batch_delay": float("nan")},
    ],
)
def test_invalid_configuration_raises_value_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PriorityWriteQueue(**kwargs)


def test_defaults_are_the_seeds() -> None:
    queue = PriorityWriteQueue()
    assert (queue.capacity, queue.max_size, queue.levels) == (1000, 1 << 20, 3)
    assert (queue.batch_size, queue.batch_delay) == (10, 0.020)
    conforms: OutgoingQueue = queue  # the extension point's protocol (checked by mypy)
    assert conforms is queue


# --- put ----------------------------------------------------------------------------------


def test_put_checks_state_type_size_and_priority_and_queues_nothing_on_refusal() -> None:
    queue = PriorityWriteQueue(max_size=4)
    with pytest.raises(TypeError):
        queue.put(b"abc")  # type: ignore[arg-type]
    with pytest.raises(EnvelopeTooLarge) as info:
        queue.put("ééé")  # 3 characters, 6 bytes
    assert (info.value.size, info.value.limit) == (6, 4)
    with pytest.raises(TypeError):
        queue.put("ab", priority="high")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        queue.put("ab", priority=True)
    with pytest.raises(TypeError):
        queue.put("ab", priority=1.0)  # type: ignore[arg-type]
    assert len(queue) == 0
    queue.put("éé")  # exactly 4 bytes
    queue.close()
    with pytest.raises(InvalidState):
        queue.put("ab")


def test_a_str_subclass_is_an_envelope() -> None:
    class Encoded(str):  # as rx_honeybee's pre-encoded text is
        pass

    queue = unblocked()
    queue.put(Encoded(CLOSE))
    assert queue.waiting(2) == 1


def test_explicit_priorities_override_the_label_and_are_clamped() -> None:
    queue = unblocked()
    queue.put(CLOSE, priority=0)
    queue.put(REQ, priority=99)
    queue.put(event(1), priority=-3)
    assert [queue.waiting(level) for level in (0, 1, 2)] == [2, 0, 1]
    assert queue.waiting(7) == 1  # a level asked for is clamped as well


def test_a_priority_function_result_is_clamped_to_the_levels() -> None:
    queue = unblocked(levels=2, priority_of=lambda env: 10 if env == "hi" else -10)
    queue.put("hi")
    queue.put("lo")
    assert (queue.waiting(0), queue.waiting(1)) == (1, 1)


def test_a_single_level_queue_is_fifo_with_a_reserve() -> None:
    queue = unblocked(capacity=10, levels=1)
    for n in range(11):
        queue.put(req(n))
    with pytest.raises(QueueFull) as info:
        queue.put(CLOSE)
    assert info.value.capacity == 11


# --- capacity and the top level's reserve ------------------------------------------------


def test_lower_levels_are_refused_at_capacity_and_the_top_level_has_a_reserve() -> None:
    queue = unblocked(capacity=20)
    for n in range(20):
        queue.put(req(n))
    for envelope in (req(99), event(1)):
        with pytest.raises(QueueFull) as info:
            queue.put(envelope)
        assert info.value.capacity == 20
    queue.put(CLOSE)
    queue.put(CLOSE)  # capacity // 10 == 2 beyond capacity
    with pytest.raises(QueueFull) as info:
        queue.put(CLOSE)
    assert info.value.capacity == 22
    assert len(queue) == 22
    stats = queue.stats()
    assert (stats.queued, stats.refused, stats.sent) == (22, 3, 0)


# --- order --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_writer_writes_highest_level_first_and_fifo_within_a_level() -> None:
    queue = unblocked()
    for envelope in (req(1), event(1), CLOSE, req(2), event(2), enclose_eose("x")):
        queue.put(envelope)
    link = RecordingLink()
    sent: list[str] = []
    task = spawn(queue.run(link, sent.append))
    await queue.drained()
    assert link.sent == sent == [CLOSE, enclose_eose("x"), event(1), event(2), req(1), req(2)]
    assert len(queue) == 0
    await stop(task)


@pytest.mark.asyncio
async def test_a_control_envelope_waits_behind_at_most_the_write_in_flight() -> None:
    queue = unblocked()
    link = RecordingLink()
    link.gate = asyncio.Event()
    task = spawn(queue.run(link, lambda _: None))
    for n in range(100):
        queue.put(req(n))
    await turns()  # the writer is in link.send(req(0)), held by the gate
    queue.put(CLOSE)
    link.gate.set()
    await queue.drained()
    assert link.sent[:3] == [req(0), CLOSE, req(1)]
    await stop(task)


# --- the try_send fast path ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_put_writes_through_try_send_when_nothing_waits() -> None:
    queue = PriorityWriteQueue()  # default batch delay: the fast path never waits for it
    link = FastLink()
    sent: list[str] = []
    task = spawn(queue.run(link, sent.append))
    await turns(1)
    queue.put(REQ)
    assert link.sent == sent == [REQ]  # synchronously, inside put
    assert len(queue) == 0
    stats = queue.stats()
    assert (stats.queued, stats.sent, stats.batches) == (1, 1, 0)
    await stop(task)
    queue.put(CLOSE)  # the writer stopped: the fast path went with it
    assert len(queue) == 1 and link.sent == [REQ]


@pytest.mark.asyncio
async def test_a_congested_link_hands_the_envelope_to_the_writer() -> None:
    queue = unblocked()
    link = FastLink(accept=False)
    task = spawn(queue.run(link, lambda _: None))
    await turns(1)
    queue.put(REQ)
    assert link.tried == [REQ] and len(queue) == 1
    queue.put(CLOSE)  # something waits now: not offered to try_send, order is the queue's
    assert link.tried == [REQ]
    await queue.drained()
    assert link.sent == [CLOSE, REQ]
    await stop(task)


# --- failures, cancellation, close --------------------------------------------------------


@pytest.mark.asyncio
async def test_a_failed_write_raises_and_keeps_the_envelope_for_the_next_socket() -> None:
    queue = unblocked()
    queue.put(req(1))
    queue.put(req(2))
    dying = RecordingLink()
    dying.fail_next(ConnectionResetError("gone"))
    sent: list[str] = []
    with pytest.raises(ConnectionResetError):
        await queue.run(dying, sent.append)
    assert (sent, len(queue), queue.stats().write_errors) == ([], 2, 1)
    fresh = RecordingLink()
    task = spawn(queue.run(fresh, sent.append))
    await queue.drained()
    assert fresh.sent == sent == [req(1), req(2)]
    await stop(task)


@pytest.mark.asyncio
async def test_a_write_cancelled_mid_flight_keeps_its_envelope() -> None:
    queue = unblocked()
    queue.put(REQ)
    held = RecordingLink()
    held.gate = asyncio.Event()
    writer = spawn(queue.run(held, lambda _: None))
    await turns()  # in link.send(REQ), held by the gate
    await stop(writer)
    assert len(queue) == 1
    link = RecordingLink()
    task = spawn(queue.run(link, lambda _: None))
    await queue.drained()
    assert link.sent == [REQ]
    await stop(task)


@pytest.mark.asyncio
async def test_close_drops_the_rest_releases_drained_and_reports_the_unsent_count() -> None:
    queue = unblocked()
    link = RecordingLink()
    link.gate = asyncio.Event()
    sent: list[str] = []
    task = spawn(queue.run(link, sent.append))
    for n in range(3):
        queue.put(req(n))
    await turns()  # req(0) is in flight
    waiter = spawn(queue.drained())
    await turns()
    assert not waiter.done()
    assert queue.close() == 3
    await waiter
    link.gate.set()
    await turns()
    assert link.sent == [req(0)] and sent == []  # written, but gone from the queue: not sent
    assert queue.close() == 0  # idempotent
    await stop(task)


@pytest.mark.asyncio
async def test_drained_returns_at_once_when_nothing_waits() -> None:
    await PriorityWriteQueue().drained()


# --- pressure -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_pressure_turns_on_at_the_high_watermark_and_off_at_the_low_one() -> None:
    scheduler = TestScheduler()
    queue = unblocked(capacity=10, scheduler=scheduler)
    seen: list[bool] = []
    queue.pressure.subscribe(seen.append)
    assert seen == [False]  # replays the current value
    for n in range(7):
        queue.put(req(n))
    assert seen == [False] and not queue.under_pressure
    queue.put(req(7))  # 8 of 10 waiting
    assert seen == [False, True] and queue.under_pressure
    queue.put(req(8))
    queue.put(CLOSE)  # the top level is never delayed
    assert queue.stats().delayed == 1
    late: list[bool] = []
    queue.pressure.subscribe(late.append)
    assert late == [True]
    scheduler.advance_to(3.0)
    link = RecordingLink()
    link.gate = asyncio.Event()
    task = spawn(queue.run(link, lambda _: None))
    while len(queue) > 6:  # one write at a time: 10 waiting down to 6
        link.gate.set()
        link.gate = asyncio.Event()
        await turns()
    assert seen == [False, True]  # 6 waiting: above the low watermark, still on
    assert queue.stats().pressure_seconds == pytest.approx(3.0)
    link.gate.set()
    link.gate = None
    await turns()
    assert seen == [False, True, False] and not queue.under_pressure
    scheduler.advance_to(10.0)
    stats = queue.stats()
    assert (stats.pressure_events, stats.pressure_seconds) == (1, pytest.approx(3.0))
    await stop(task)


def test_pressure_before_any_scheduler_is_timed_on_the_monotonic_clock() -> None:
    queue = unblocked(capacity=1)
    queue.put(REQ)  # full at once: pressure on
    assert queue.under_pressure
    time.sleep(0.01)
    assert queue.stats().pressure_seconds >= 0.009
    queue.close()
    assert not queue.under_pressure


@pytest.mark.asyncio
async def test_an_asyncio_scheduler_times_pressure_on_the_monotonic_clock() -> None:
    queue = unblocked(capacity=1)
    queue.start(AsyncIOScheduler(asyncio.get_running_loop()))
    queue.put(REQ)
    await asyncio.sleep(0.01)
    assert queue.stats().pressure_seconds >= 0.009
    queue.close()


def test_close_ends_pressure_and_completes_the_stream() -> None:
    queue = unblocked(capacity=1)
    queue.put(REQ)
    ends: list[str] = []
    seen: list[bool] = []
    queue.pressure.subscribe(seen.append, on_completed=lambda: ends.append("done"))
    queue.close()
    assert (seen, ends) == ([True, False], ["done"])
    late: list[bool] = []
    queue.pressure.subscribe(late.append)
    assert late == [False]


# --- batches ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_one_wake_up_writes_at_most_batch_size_envelopes() -> None:
    queue = unblocked(batch_size=3)
    for n in range(7):
        queue.put(req(n))
    link = RecordingLink()
    task = spawn(queue.run(link, lambda _: None))
    await queue.drained()
    stats = queue.stats()
    assert link.sent == [req(n) for n in range(7)]
    assert (stats.batches, stats.average_batch, stats.sent) == (3, pytest.approx(7 / 3), 7)
    await stop(task)


@pytest.mark.asyncio
async def test_a_batch_is_held_open_until_batch_delay_then_written_together() -> None:
    scheduler = TestScheduler()
    queue = PriorityWriteQueue(batch_size=5, batch_delay=2.0, scheduler=scheduler)
    link = RecordingLink()
    task = spawn(queue.run(link, lambda _: None))
    await turns()
    queue.put(req(1))
    await turns()
    queue.put(req(2))
    await turns()
    assert link.sent == []  # held open: waiting for company
    scheduler.advance_to(2.0)
    await turns()
    assert link.sent == [req(1), req(2)]
    assert (queue.stats().batches, queue.stats().average_batch) == (1, 2.0)
    await stop(task)


@pytest.mark.parametrize("closer", ["control", "full"])
@pytest.mark.asyncio
async def test_a_control_envelope_or_a_full_batch_closes_a_held_batch_at_once(
    closer: str,
) -> None:
    scheduler = TestScheduler()
    queue = PriorityWriteQueue(batch_size=3, batch_delay=2.0, scheduler=scheduler)
    link = RecordingLink()
    task = spawn(queue.run(link, lambda _: None))
    await turns()
    queue.put(req(1))
    await turns()
    if closer == "control":
        queue.put(CLOSE)
        expected = [CLOSE, req(1)]
    else:
        queue.put(req(2))
        await turns()
        assert link.sent == []
        queue.put(req(3))
        expected = [req(1), req(2), req(3)]
    await turns()
    assert link.sent == expected  # no virtual time passed
    assert scheduler.clock == 0
    await stop(task)


@pytest.mark.asyncio
async def test_close_while_a_batch_is_held_open_leaves_the_writer_idle() -> None:
    scheduler = TestScheduler()
    queue = PriorityWriteQueue(batch_delay=2.0, scheduler=scheduler)
    link = RecordingLink()
    task = spawn(queue.run(link, lambda _: None))
    await turns()
    queue.put(REQ)
    await turns()
    assert queue.close() == 1
    await turns()
    scheduler.advance_to(5.0)
    await turns()
    assert link.sent == [] and queue.stats().batches == 0
    assert not task.done()
    await stop(task)


@pytest.mark.asyncio
async def test_envelopes_that_waited_for_a_socket_are_not_held_again() -> None:
    scheduler = TestScheduler()
    queue = PriorityWriteQueue(batch_delay=2.0, scheduler=scheduler)
    queue.start(TestScheduler())  # an explicit scheduler wins over start()'s
    queue.put(REQ)
    link = RecordingLink()
    task = spawn(queue.run(link, lambda _: None))
    await turns()
    assert link.sent == [REQ]
    await stop(task)


@pytest.mark.asyncio
async def test_under_pressure_a_batch_is_never_held() -> None:
    scheduler = TestScheduler()
    queue = PriorityWriteQueue(capacity=2, batch_delay=2.0, batch_size=5, scheduler=scheduler)
    link = RecordingLink()
    task = spawn(queue.run(link, lambda _: None))
    await turns()
    queue.put(req(1))
    await turns()
    assert link.sent == []
    queue.put(req(2))  # 2 of 2: pressure on, which closes the batch
    await turns()
    assert link.sent == [req(1), req(2)]
    await stop(task)


# --- stats --------------------------------------------------------------------------------


def test_stats_is_a_frozen_snapshot() -> None:
    queue = PriorityWriteQueue()
    stats = queue.stats()
    assert stats == WriteQueueStats(0, 0, 0, 0, 0, 0, 0.0, 0, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.sent = 1  # type: ignore[misc]
    queue.put(REQ)
    assert stats.queued == 0 and queue.stats().queued == 1
