"""Deadlines in virtual time: many timeouts on one timer, moved only for an earlier one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from reactivex.testing import TestScheduler

from rx_honeybee.client.deadlines import Deadlines

pytestmark = pytest.mark.timeout(10)


class Item:
    """An Expiring that logs the virtual time it expired at."""

    def __init__(self, scheduler: TestScheduler, log: list[tuple[str, float]], name: str) -> None:
        self.due = datetime.max
        self.done = False
        self._scheduler = scheduler
        self._log = log
        self.name = name

    def expire(self) -> None:
        self._log.append((self.name, float(self._scheduler.clock)))


class Counting(TestScheduler):
    """A TestScheduler that counts absolute schedules and disposals of them."""

    def __init__(self) -> None:
        super().__init__()
        self.armed: list[datetime] = []
        self.disposed = 0

    def schedule_absolute(self, duetime: Any, action: Any, state: Any = None) -> Any:
        self.armed.append(duetime)
        inner = super().schedule_absolute(duetime, action, state)
        scheduler = self

        class Counted:
            def dispose(self) -> None:
                scheduler.disposed += 1
                inner.dispose()

        return Counted()


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def test_items_of_several_timeouts_expire_at_their_own_time_in_order() -> None:
    scheduler = Counting()
    log: list[tuple[str, float]] = []
    deadlines = Deadlines(lambda: scheduler)
    items = {name: Item(scheduler, log, name) for name in "abcd"}
    deadlines.add(s(10), items["a"])  # due 10
    scheduler.advance_to(2)
    deadlines.add(s(10), items["b"])  # due 12, same queue: the timer stays at 10
    deadlines.add(s(3), items["c"])  # due 5: earlier, the timer moves
    deadlines.add(s(30), items["d"])  # due 32: later, nothing moves
    assert len(scheduler.armed) == 2 and scheduler.disposed == 1
    assert len(deadlines) == 4
    scheduler.advance_to(40)
    assert log == [("c", 5.0), ("a", 10.0), ("b", 12.0), ("d", 32.0)]
    assert len(deadlines) == 0 and deadlines._queues == {}


def test_a_finished_item_is_skipped_and_does_not_keep_the_timer_alive() -> None:
    scheduler = TestScheduler()
    log: list[tuple[str, float]] = []
    deadlines = Deadlines(lambda: scheduler)
    early, late = Item(scheduler, log, "early"), Item(scheduler, log, "late")
    deadlines.add(s(5), early)
    deadlines.add(s(8), late)
    early.done = True
    assert len(deadlines) == 1
    scheduler.advance_to(20)
    assert log == [("late", 8.0)]


def test_finished_items_are_swept_out_after_1024_additions() -> None:
    scheduler = TestScheduler()
    log: list[tuple[str, float]] = []
    deadlines = Deadlines(lambda: scheduler)
    keeper = Item(scheduler, log, "keeper")
    deadlines.add(s(100), keeper)  # its queue survives the sweep
    for n in range(1022):
        item = Item(scheduler, log, f"i{n}")
        deadlines.add(s(1 + n % 2), item)  # two queues that end up all finished
        item.done = True
    queued = sum(len(q) for q in deadlines._queues.values())
    assert queued == 1023 and set(deadlines._queues) == {s(1), s(2), s(100)}
    last = Item(scheduler, log, "last")
    deadlines.add(s(1), last)  # the 1024th addition sweeps
    assert {t: len(q) for t, q in deadlines._queues.items()} == {s(1): 1, s(100): 1}
    scheduler.advance_to(200)
    assert log == [("last", 1.0), ("keeper", 100.0)]


def test_clear_forgets_everything_and_cancels_the_timer() -> None:
    scheduler = Counting()
    log: list[tuple[str, float]] = []
    deadlines = Deadlines(lambda: scheduler)
    deadlines.add(s(5), Item(scheduler, log, "a"))
    deadlines.clear()
    assert scheduler.disposed == 1 and len(deadlines) == 0
    scheduler.advance_to(10)
    assert log == []
    deadlines.clear()  # clearing twice is harmless
    deadlines.add(s(5), Item(scheduler, log, "b"))  # and it works again afterwards
    scheduler.advance_to(20)
    assert log == [("b", 15.0)]
