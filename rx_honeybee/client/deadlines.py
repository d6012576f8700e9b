"""Many timeouts on one timer: FIFO queues of due times, one scheduler action for the earliest.

A publish waits for its OK at most ``timeout``; with thousands in flight, a scheduler
action each (a loop handle and three reactivex disposables) cost more than the publish
itself (``bench/pub_bench.py``). Here the waiting item itself is queued (in a FIFO per
timeout value: items of one timeout come due in the order they were added), an item
finished early is skipped when it comes due, and the one action is moved only when an
earlier deadline arrives. Virtual time works as before: the action is scheduled on the
connection's scheduler.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from reactivex import abc

__all__ = ["Deadlines", "Expiring"]

_COMPACT_EVERY = 1024  # additions between sweeps of finished items out of the queues


class Expiring(Protocol):
    """Something that may run out of time: ``due`` is set by :meth:`Deadlines.add`."""

    due: datetime  # when it expires
    done: bool  # finished: it no longer expires

    def expire(self) -> None:
        """Its time ran out."""


class Deadlines:
    """Call each item's ``expire()`` once its timeout has passed, unless it is ``done``.

    Args:
        scheduler: the time source (looked up at each use: a connection picks its own at
            connect).
    """

    __slots__ = ("_added", "_queues", "_scheduler", "_timer", "_timer_due")

    def __init__(self, scheduler: Callable[[], abc.SchedulerBase]) -> None:
        self._scheduler = scheduler  # the time source
        self._queues: dict[timedelta, deque[Expiring]] = {}  # one FIFO per timeout value
        self._added = 0  # additions since the last sweep
        self._timer: abc.DisposableBase | None = None  # the scheduled check
        self._timer_due: datetime | None = None  # when it runs

    def add(self, timeout: timedelta, item: Expiring) -> None:
        """Expire ``item`` after ``timeout`` unless it is done by then."""
        scheduler = self._scheduler()
        due = item.due = scheduler.now + timeout
        queue = self._queues.get(timeout)
        if queue is None:
            queue = self._queues[timeout] = deque()
        queue.append(item)
        if self._timer_due is None or due < self._timer_due:
            self._arm(scheduler, due)
        self._added += 1
        if self._added >= _COMPACT_EVERY:
            self._sweep()

    def __len__(self) -> int:
        return sum(1 for queue in self._queues.values() for item in queue if not item.done)

    def _sweep(self) -> None:
        """Drop finished items, so they are not kept until they would have come due."""
        self._added = 0
        for timeout, queue in list(self._queues.items()):
            live = deque(item for item in queue if not item.done)
            if live:
                self._queues[timeout] = live
            else:
                del self._queues[timeout]

    def _arm(self, scheduler: abc.SchedulerBase, due: datetime) -> None:
        if self._timer is not None:
            self._timer.dispose()
        self._timer_due = due
        self._timer = scheduler.schedule_absolute(due, self._fire)

    def _fire(self, scheduler: abc.SchedulerBase, _: Any = None) -> None:
        self._timer = self._timer_due = None
        now = scheduler.now
        earliest: datetime | None = None
        for timeout, queue in list(self._queues.items()):
            while queue and (queue[0].done or queue[0].due <= now):
                item = queue.popleft()
                if not item.done:
                    item.expire()
            if not queue:
                del self._queues[timeout]
            elif earliest is None or queue[0].due < earliest:
                earliest = queue[0].due
        if earliest is not None and (self._timer_due is None or earliest < self._timer_due):
            self._arm(scheduler, earliest)

    def clear(self) -> None:
        """Forget everything (the connection ended)."""
        if self._timer is not None:
            self._timer.dispose()
        self._timer = self._timer_due = None
        self._queues.clear()
