"""Tests for rx_honeybee.write_queue: bounds, order, at-least-once writes, the limiter."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import TestScheduler

from rx_honeybee.errors import EnvelopeTooLarge, InvalidState, QueueFull
from rx_honeybee.operators import rate_limit
from rx_honeybee.socket import EncodedText
from rx_honeybee.testing import RecordingLink
from rx_honeybee.write_queue import WriteQueue, encoded_size


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


# --- encoded_size -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [("", 0), ("abc", 3), ("é", 2), ("€", 3), ("🐝", 4), ('["EVENT","ü"]', 14), ("\ud800", 3)],
)
def test_encoded_size_counts_utf8_bytes(text: str, size: int) -> None:
    assert encoded_size(text) == size


def test_encoded_size_of_encoded_text_is_its_bytes() -> None:
    text = '["EVENT","s",{"content":"üé"}]'
    assert encoded_size(EncodedText(text, text.encode("utf-8"))) == len(text.encode("utf-8"))


# --- put: bounds and checks ---------------------------------------------------------------


def test_put_counts_pending_envelopes() -> None:
    queue = WriteQueue(capacity=3, max_size=100)
    assert len(queue) == 0
    queue.put("a")
    queue.put("b")
    assert len(queue) == 2


def test_an_envelope_of_exactly_max_size_is_accepted() -> None:
    queue = WriteQueue(capacity=3, max_size=4)
    queue.put("abcd")
    queue.put("éé")  # 4 bytes
    assert len(queue) == 2


def test_an_envelope_over_max_size_raises_and_is_not_queued() -> None:
    queue = WriteQueue(capacity=3, max_size=4)
    with pytest.raises(EnvelopeTooLarge) as info:
        queue.put("abcde")
    assert (info.value.size, info.value.limit) == (5, 4)
    assert len(queue) == 0


def test_the_size_limit_counts_utf8_bytes_not_characters() -> None:
    queue = WriteQueue(capacity=3, max_size=4)
    with pytest.raises(EnvelopeTooLarge) as info:
        queue.put("ééé")  # 3 characters, 6 bytes
    assert info.value.size == 6
    assert len(queue) == 0


def test_envelope_too_large_is_checked_before_queue_full() -> None:
    queue = WriteQueue(capacity=1, max_size=4)
    queue.put("a")
    with pytest.raises(EnvelopeTooLarge):
        queue.put("€€")  # 6 bytes, and the queue is full too
    with pytest.raises(QueueFull):
        queue.put("b")


def test_queue_full_at_capacity() -> None:
    queue = WriteQueue(capacity=2, max_size=100)
    queue.put("a")
    queue.put("b")
    with pytest.raises(QueueFull) as info:
        queue.put("c")
    assert info.value.capacity == 2
    assert len(queue) == 2


def test_queue_full_at_its_byte_budget() -> None:
    queue = WriteQueue(capacity=100, max_size=10, max_bytes=12)
    queue.put("aaaaa")
    queue.put("é" * 3)  # 6 bytes: 11 waiting
    with pytest.raises(QueueFull) as info:
        queue.put("bb")  # 13 > 12
    assert info.value.max_bytes == 12 and "12 bytes" in str(info.value)
    assert len(queue) == 2 and queue.bytes == 11
    queue.put("c")  # exactly the budget
    assert queue.bytes == 12
    assert queue.close() == 3 and queue.bytes == 0


@pytest.mark.asyncio
async def test_bytes_count_until_written() -> None:
    queue = WriteQueue(capacity=100, max_size=100, max_bytes=8)
    link = RecordingLink()
    link.gate = asyncio.Event()
    task = spawn(queue.run(link, lambda _: None))
    queue.put("aaaa")
    queue.put("bbbb")
    await turns()  # the writer is blocked inside send("aaaa"): both still count
    with pytest.raises(QueueFull):
        queue.put("c")
    link.gate.set()
    await turns()
    assert queue.bytes == 0 and link.sent == ["aaaa", "bbbb"]
    queue.put("cccccccc")
    await turns()
    assert queue.bytes == 0 and link.sent[-1] == "cccccccc"
    await stop(task)


def test_a_non_str_envelope_raises_type_error() -> None:
    queue = WriteQueue(capacity=2, max_size=100)
    with pytest.raises(TypeError, match="bytes"):
        queue.put(b"abc")  # type: ignore[arg-type]
    assert len(queue) == 0


# --- close --------------------------------------------------------------------------------


def test_close_returns_the_unsent_count_and_refuses_further_puts() -> None:
    queue = WriteQueue(capacity=5, max_size=100)
    queue.put("a")
    queue.put("b")
    assert queue.close() == 2
    assert len(queue) == 0
    with pytest.raises(InvalidState):
        queue.put("c")


def test_invalid_state_after_close_comes_before_the_other_checks() -> None:
    queue = WriteQueue(capacity=1, max_size=1)
    queue.close()
    with pytest.raises(InvalidState):
        queue.put("too large")


def test_close_on_an_empty_queue_returns_zero_and_is_repeatable() -> None:
    queue = WriteQueue(capacity=5, max_size=100)
    assert queue.close() == 0
    assert queue.close() == 0


# --- run ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_run_writes_in_order_and_reports_each_sent_envelope() -> None:
    queue = WriteQueue(capacity=10, max_size=100)
    for envelope in ("a", "b", "c"):
        queue.put(envelope)
    link = RecordingLink()
    reported: list[str] = []
    task = spawn(queue.run(link, reported.append))
    await turns()
    assert link.sent == ["a", "b", "c"]
    assert reported == ["a", "b", "c"]
    assert len(queue) == 0
    queue.put("d")  # a running writer picks up later puts
    await turns()
    assert link.sent == ["a", "b", "c", "d"]
    await stop(task)


@pytest.mark.asyncio
async def test_an_envelope_counts_against_capacity_until_it_was_written() -> None:
    queue = WriteQueue(capacity=1, max_size=100)
    link = RecordingLink()
    link.gate = asyncio.Event()
    task = spawn(queue.run(link, lambda _: None))
    queue.put("a")
    await turns()  # the writer is blocked inside send("a")
    with pytest.raises(QueueFull):
        queue.put("b")
    link.gate.set()
    await turns()
    queue.put("b")
    await turns()
    assert link.sent == ["a", "b"]
    await stop(task)


@pytest.mark.asyncio
async def test_a_failed_write_keeps_the_envelope_for_the_next_link() -> None:
    queue = WriteQueue(capacity=10, max_size=100)
    for envelope in ("a", "b", "c"):
        queue.put(envelope)
    dying = RecordingLink(fail_on="b")
    reported: list[str] = []
    with pytest.raises(ConnectionResetError):
        await queue.run(dying, reported.append)
    assert dying.sent == ["a"]
    assert len(queue) == 2
    queue.put("d")  # queued while "reconnecting"
    fresh = RecordingLink()
    task = spawn(queue.run(fresh, reported.append))
    await turns()
    assert fresh.sent == ["b", "c", "d"]  # the failed one first, nothing lost
    assert reported == ["a", "b", "c", "d"]
    assert len(queue) == 0
    await stop(task)


@pytest.mark.asyncio
async def test_a_cancelled_write_keeps_the_envelope_for_the_next_link() -> None:
    queue = WriteQueue(capacity=10, max_size=100)
    queue.put("a")
    queue.put("b")
    stuck = RecordingLink()
    stuck.gate = asyncio.Event()  # never set: the write hangs until cancelled
    task = spawn(queue.run(stuck, lambda _: None))
    await turns()
    await stop(task)
    fresh = RecordingLink()
    task = spawn(queue.run(fresh, lambda _: None))
    await turns()
    assert fresh.sent == ["a", "b"]
    await stop(task)


@pytest.mark.asyncio
async def test_a_write_finishing_after_close_reports_nothing() -> None:
    queue = WriteQueue(capacity=10, max_size=100)
    queue.put("a")
    link = RecordingLink()
    link.gate = asyncio.Event()
    reported: list[str] = []
    task = spawn(queue.run(link, reported.append))
    await turns()
    assert queue.close() == 1
    link.gate.set()
    await turns()
    assert reported == []
    assert len(queue) == 0
    await stop(task)


# --- drained ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_drained_returns_at_once_when_nothing_is_pending() -> None:
    queue = WriteQueue(capacity=10, max_size=100)
    await asyncio.wait_for(queue.drained(), 1.0)


@pytest.mark.asyncio
async def test_drained_resolves_once_every_envelope_was_written() -> None:
    queue = WriteQueue(capacity=10, max_size=100)
    queue.put("a")
    queue.put("b")
    link = RecordingLink()
    link.gate = asyncio.Event()
    waiter = spawn(queue.drained())
    writer = spawn(queue.run(link, lambda _: None))
    await turns()
    assert not waiter.done()
    link.gate.set()
    await asyncio.wait_for(waiter, 1.0)
    assert link.sent == ["a", "b"]
    await stop(writer)


# --- the limiter --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_envelopes_pass_through_the_limiter_before_being_written() -> None:
    wired: list[Observable[str]] = []

    def upper(source: Observable[str]) -> Observable[str]:
        wired.append(source)
        return source.pipe(ops.map(str.upper))

    queue = WriteQueue(capacity=10, max_size=100, limiter=upper)
    queue.start(TestScheduler())
    queue.start(TestScheduler())  # idempotent: one pipeline, not two
    assert len(wired) == 1
    queue.put("a")
    queue.put("b")
    link = RecordingLink()
    task = spawn(queue.run(link, lambda _: None))
    await turns()
    assert link.sent == ["A", "B"]
    await stop(task)


@pytest.mark.asyncio
async def test_the_rate_limiter_holds_envelopes_back_until_their_token_arrives() -> None:
    scheduler = TestScheduler()
    queue = WriteQueue(capacity=10, max_size=100, limiter=rate_limit(1.0, 1, scheduler))
    queue.start(scheduler)
    for envelope in ("a", "b", "c"):
        queue.put(envelope)
    link = RecordingLink()
    reported: list[str] = []
    task = spawn(queue.run(link, reported.append))
    await turns()
    assert link.sent == ["a"]  # one token in the bucket
    assert len(queue) == 2  # the others wait in the limiter, still counted
    scheduler.advance_by(1.0)
    await turns()
    assert link.sent == ["a", "b"]
    scheduler.advance_by(1.0)
    await turns()
    assert link.sent == ["a", "b", "c"]
    assert reported == ["a", "b", "c"]
    assert len(queue) == 0
    await stop(task)


def test_envelopes_held_by_the_limiter_count_as_unsent_on_close() -> None:
    scheduler = TestScheduler()
    queue = WriteQueue(capacity=10, max_size=100, limiter=rate_limit(1.0, 1, scheduler))
    queue.start(scheduler)
    for envelope in ("a", "b", "c"):
        queue.put(envelope)
    assert queue.close() == 3
    scheduler.advance_by(10.0)  # the limiter was disposed: nothing comes out
    assert len(queue) == 0


def test_the_limiter_counts_against_capacity() -> None:
    scheduler = TestScheduler()
    queue = WriteQueue(capacity=2, max_size=100, limiter=rate_limit(1.0, 1, scheduler))
    queue.start(scheduler)
    queue.put("a")
    queue.put("b")
    with pytest.raises(QueueFull):
        queue.put("c")


@pytest.mark.asyncio
async def test_close_releases_a_drained_waiter() -> None:
    queue = WriteQueue(capacity=5, max_size=100)
    queue.put('["A"]')
    waiter = asyncio.ensure_future(queue.drained())
    await asyncio.sleep(0)
    assert not waiter.done()
    assert queue.close() == 1
    await asyncio.wait_for(waiter, 1.0)  # was a hang before close() set the event
