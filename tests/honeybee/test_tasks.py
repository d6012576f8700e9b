"""Tests for rx_honeybee.tasks: tracking, dropping finished tasks, draining with a deadline."""

from __future__ import annotations

import asyncio

import pytest

from rx_honeybee.tasks import Periodic, TaskSet
from rx_honeybee.testing import until


async def turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def forever(started: list[str], name: str) -> None:
    started.append(name)
    await asyncio.Event().wait()


@pytest.mark.asyncio
async def test_spawn_tracks_the_task_and_returns_it() -> None:
    tasks = TaskSet()
    gate = asyncio.Event()
    task = tasks.spawn(gate.wait())
    assert isinstance(task, asyncio.Task)
    assert len(tasks) == 1
    gate.set()
    assert await task is True


@pytest.mark.asyncio
async def test_finished_tasks_are_dropped() -> None:
    tasks = TaskSet()
    gate = asyncio.Event()
    first = tasks.spawn(gate.wait())
    second = tasks.spawn(asyncio.sleep(0))
    assert len(tasks) == 2
    await second
    await turns()  # done callbacks run on the next loop turn
    assert len(tasks) == 1
    gate.set()
    await first
    await turns()
    assert len(tasks) == 0


@pytest.mark.asyncio
async def test_failed_and_cancelled_tasks_are_dropped_too() -> None:
    tasks = TaskSet()

    async def fail() -> None:
        raise ValueError("boom")

    failing = tasks.spawn(fail())
    started: list[str] = []
    cancelled = tasks.spawn(forever(started, "c"))
    await turns()
    cancelled.cancel()
    await turns()
    assert len(tasks) == 0
    assert isinstance(failing.exception(), ValueError)
    assert cancelled.cancelled()


def test_spawn_needs_a_running_loop() -> None:
    tasks = TaskSet()

    async def nothing() -> None:
        pass

    coro = nothing()
    with pytest.raises(RuntimeError):
        tasks.spawn(coro)
    coro.close()
    assert len(tasks) == 0


@pytest.mark.asyncio
async def test_drain_on_an_empty_set_returns_at_once() -> None:
    await asyncio.wait_for(TaskSet().drain(), 1.0)


@pytest.mark.asyncio
async def test_drain_waits_for_every_task() -> None:
    tasks = TaskSet()
    gate = asyncio.Event()
    done: list[str] = []

    async def work(name: str) -> None:
        await gate.wait()
        done.append(name)

    tasks.spawn(work("a"))
    tasks.spawn(work("b"))
    drain = asyncio.get_running_loop().create_task(tasks.drain(timeout=5.0))
    await turns()
    assert not drain.done()  # still waiting on the gate
    gate.set()
    await asyncio.wait_for(drain, 1.0)
    assert sorted(done) == ["a", "b"]
    assert len(tasks) == 0


@pytest.mark.asyncio
async def test_drain_waits_for_tasks_spawned_meanwhile() -> None:
    tasks = TaskSet()
    done: list[str] = []

    async def child() -> None:
        await turns()
        done.append("child")

    async def parent() -> None:
        await asyncio.sleep(0)
        tasks.spawn(child())
        done.append("parent")

    tasks.spawn(parent())
    await asyncio.wait_for(tasks.drain(timeout=5.0), 1.0)
    assert done == ["parent", "child"]
    assert len(tasks) == 0


@pytest.mark.asyncio
async def test_drain_cancels_what_outlives_the_timeout() -> None:
    tasks = TaskSet()
    started: list[str] = []
    stuck = tasks.spawn(forever(started, "stuck"))
    await asyncio.wait_for(tasks.drain(timeout=0.0), 1.0)
    assert started == ["stuck"]
    assert stuck.cancelled()
    assert len(tasks) == 0


@pytest.mark.asyncio
async def test_drain_cancels_a_task_that_blocks_past_a_short_deadline() -> None:
    tasks = TaskSet()
    started: list[str] = []
    stuck = tasks.spawn(forever(started, "stuck"))
    quick = tasks.spawn(turns())
    loop = asyncio.get_running_loop()
    before = loop.time()
    await asyncio.wait_for(tasks.drain(timeout=0.05), 1.0)
    assert stuck.cancelled()
    assert quick.done() and not quick.cancelled()  # it finished within the deadline
    assert 0.04 <= loop.time() - before < 0.9
    assert len(tasks) == 0


@pytest.mark.asyncio
async def test_drain_does_not_raise_for_failed_tasks() -> None:
    tasks = TaskSet()

    async def fail() -> None:
        raise ValueError("boom")

    failing = tasks.spawn(fail())
    await asyncio.wait_for(tasks.drain(timeout=1.0), 2.0)
    assert isinstance(failing.exception(), ValueError)


@pytest.mark.asyncio
async def test_periodic_ticks_until_stopped_and_both_ends_are_idempotent() -> None:
    ticks: list[float] = []
    loop = asyncio.get_running_loop()
    periodic = Periodic(0.01, lambda: ticks.append(loop.time()))
    await periodic.stop()  # before start: nothing to stop
    periodic.start()
    periodic.start()  # one task, not two
    await until(lambda: len(ticks) >= 3)
    await periodic.stop()
    await periodic.stop()
    count = len(ticks)
    await asyncio.sleep(0.05)
    assert len(ticks) == count  # no tick after stop
    assert all(later - earlier >= 0.009 for earlier, later in zip(ticks, ticks[1:], strict=False))
