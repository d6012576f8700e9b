"""``rate_limit``: a token bucket that delays, never drops."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SerialDisposable

from ._scheduler import resolve_scheduler

__all__ = ["rate_limit_"]

_T = TypeVar("_T")

# Clocks report datetimes with microsecond resolution: an item due less than this far in the
# future is due now.
_SLACK = 1e-6


def rate_limit_(
    rate: float, burst: int, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Build the ``rate_limit`` operator; see :func:`rx_honeybee.operators.rate_limit`."""
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be > 0 and finite, got {rate}")
    if burst < 1:
        raise ValueError(f"burst must be >= 1, got {burst}")
    interval = 1.0 / rate  # seconds per token
    tolerance = (burst - 1) * interval  # how far ahead of the steady pace a burst may run

    def _rate_limit(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: abc.ObserverBase[_T], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            # The bucket in its "theoretical arrival time" form (GCRA): ``next_token`` is when
            # the bucket would be empty if every item so far had taken its token on time; an
            # item may leave once now >= next_token - tolerance, i.e. once it has a token.
            # Due times are exact, so waiting never drifts with float rounding of a level.
            queue: deque[tuple[float, _T]] = deque()  # (due time, item), in arrival order
            timer = SerialDisposable()  # the wake-up for the head of the queue
            clock: abc.SchedulerBase | None = None  # resolved at the first item
            next_token: float | None = None  # None until the first item: the bucket is full
            armed = False  # a wake-up is scheduled
            completed = False  # the source completed; complete once the queue drains
            stopped = False  # the output terminated or was disposed

            def seconds(now_of: abc.SchedulerBase) -> float:
                return now_of.to_seconds(now_of.now)

            def arm(sched: abc.SchedulerBase, now: float) -> None:
                nonlocal armed
                if armed or stopped or not queue:
                    return
                armed = True
                timer.disposable = sched.schedule_relative(max(0.0, queue[0][0] - now), wake)

            def wake(sched: abc.SchedulerBase, _: Any = None) -> None:
                nonlocal armed
                armed = False
                assert clock is not None
                now = seconds(clock)
                release_head = True  # this wake-up was set for the head: its token is due
                while queue and not stopped and (release_head or queue[0][0] <= now + _SLACK):
                    release_head = False
                    observer.on_next(queue.popleft()[1])
                if stopped:
                    return
                if queue:
                    arm(clock, now)
                elif completed:
                    observer.on_completed()

            def on_next(item: _T) -> None:
                nonlocal clock, next_token
                if stopped:
                    return
                if clock is None:
                    try:
                        clock = resolve_scheduler(scheduler, scheduler_, "rate_limit")
                    except Exception as exc:
                        on_error(exc)
                        return
                now = seconds(clock)
                if next_token is None:
                    next_token = now
                due = max(now, next_token - tolerance)
                next_token = max(next_token, due) + interval
                if not queue and due <= now + _SLACK:
                    observer.on_next(item)
                else:
                    queue.append((due, item))
                    arm(clock, now)

            def on_error(error: Exception) -> None:
                nonlocal stopped
                stopped = True
                queue.clear()
                timer.dispose()
                observer.on_error(error)

            def on_completed() -> None:
                nonlocal completed
                completed = True
                if not queue:
                    observer.on_completed()

            def dispose() -> None:
                nonlocal stopped
                stopped = True
                queue.clear()

            upstream = source.subscribe(on_next, on_error, on_completed, scheduler=scheduler_)
            return CompositeDisposable(Disposable(dispose), timer, upstream)

        return Observable(subscribe)

    return _rate_limit
