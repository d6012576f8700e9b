"""``backoff_notifier``: turn source errors into backoff delays for ``retry_when``."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from reactivex import Observable, abc

from rx_roots.backoff import backoff_delays

from ..config import ReconnectConfig
from ..errors import MaxReconnectAttemptsExceeded
from ..lean import SerialSlot, Sink, lean
from ._scheduler import resolve_scheduler

__all__ = ["backoff_notifier_"]


def backoff_notifier_(
    config: ReconnectConfig,
    scheduler: abc.SchedulerBase | None = None,
    random: Callable[[], float] | None = None,
    *,
    reset: Observable[Any] | None = None,
    retryable: Callable[[Exception], bool] | None = None,
) -> Callable[[Observable[Exception]], Observable[float]]:
    """Build a backoff notifier; see :func:`rx_honeybee.operators.backoff_notifier`."""

    def delays() -> Iterator[float]:
        return backoff_delays(
            config.initial_delay,
            config.factor,
            config.max_delay,
            config.jitter,
            max_attempts=config.max_attempts,
            random=random,
        )

    delays()  # validate the policy now rather than at the first error

    def _backoff_notifier(errors: Observable[Exception]) -> Observable[float]:
        def subscribe(observer: Sink, subscribed: abc.SchedulerBase | None = None) -> _Backoff:
            backoff = _Backoff(config, delays, retryable, observer, scheduler, subscribed)
            backoff.start(errors, reset)
            return backoff

        return lean(subscribe)

    return _backoff_notifier


class _Backoff(abc.DisposableBase):
    """One subscription of a backoff notifier (a class: every connection holds one)."""

    __slots__ = (
        "attempts",
        "config",
        "delays",
        "main",
        "observer",
        "pending",
        "resets",
        "retryable",
        "schedule",
        "scheduler",
        "stopped",
        "subscribed",
        "timer",
        "upcoming",
        "upstream_done",
        "waiting",
    )

    def __init__(
        self,
        config: ReconnectConfig,
        delays: Callable[[], Iterator[float]],
        retryable: Callable[[Exception], bool] | None,
        observer: Sink,
        scheduler: abc.SchedulerBase | None,
        subscribed: abc.SchedulerBase | None,
    ) -> None:
        self.config = config  # the policy
        self.delays = delays  # a fresh iterator of the policy's delays
        self.retryable = retryable  # which errors are retried at all
        self.observer = observer  # the output: one item per retry
        self.scheduler = scheduler  # the operator's own scheduler, if given
        self.subscribed = subscribed  # the one given to subscribe
        self.pending: deque[Exception] | None = None  # errors that arrived while waiting
        self.timer = SerialSlot()  # the delay being waited out
        self.schedule: abc.SchedulerBase | None = None  # resolved at the first delay
        self.upcoming: Iterator[float] | None = None  # delays left since the last (re)start
        self.attempts = 0  # delays handed out since the last (re)start
        self.waiting = False  # a delay is running
        self.upstream_done = False  # the errors stream completed
        self.stopped = False  # the output terminated or was disposed
        self.resets: abc.DisposableBase | None = None  # subscription to ``reset``
        self.main: abc.DisposableBase | None = None  # subscription to the errors

    def start(self, errors: Observable[Exception], reset: Observable[Any] | None) -> None:
        sched = self.subscribed
        if reset is not None:
            self.resets = reset.subscribe(self.restart, self.on_upstream_error, scheduler=sched)
        self.main = errors.subscribe(
            self.on_error_item, self.on_upstream_error, self.on_upstream_completed, scheduler=sched
        )

    def restart(self, _: Any) -> None:
        self.upcoming = None  # made again at the next failure: an idle link holds none
        self.attempts = 0

    def fail(self, error: Exception) -> None:
        self.stopped = True
        self.pending = None
        self.timer.dispose()
        self.observer.on_error(error)

    def handle(self, error: Exception) -> None:
        try:
            retryable = self.retryable
            if not self.config.enabled or (retryable is not None and not retryable(error)):
                self.fail(error)
                return
            if self.upcoming is None:
                self.upcoming = self.delays()
            delay = next(self.upcoming, None)
            if delay is None:
                give_up = MaxReconnectAttemptsExceeded(self.attempts)
                give_up.__cause__ = error
                self.fail(give_up)
                return
            if self.schedule is None:
                self.schedule = resolve_scheduler(
                    self.scheduler, self.subscribed, "backoff_notifier"
                )
        except Exception as exc:  # a faulty retryable() or no scheduler
            self.fail(exc)
            return
        self.attempts += 1
        self.waiting = True
        self.timer.disposable = self.schedule.schedule_relative(
            delay, lambda _s, _st: self.elapsed(delay)
        )

    def elapsed(self, delay: float) -> None:
        self.waiting = False
        self.observer.on_next(delay)
        self.next_step()

    def next_step(self) -> None:
        if self.stopped or self.waiting:
            return
        if self.pending:
            self.handle(self.pending.popleft())
        elif self.upstream_done:
            self.observer.on_completed()

    def on_error_item(self, error: Exception) -> None:
        if self.stopped:
            return
        if self.waiting:  # never with retry_when; queue rather than overlap delays
            if self.pending is None:
                self.pending = deque()
            self.pending.append(error)
        else:
            self.handle(error)

    def on_upstream_completed(self) -> None:
        self.upstream_done = True
        self.next_step()

    def on_upstream_error(self, error: Exception) -> None:
        if not self.stopped:
            self.fail(error)

    def dispose(self) -> None:
        self.stopped = True
        self.pending = None
        self.timer.dispose()
        if self.resets is not None:
            self.resets.dispose()
        if self.main is not None:
            self.main.dispose()
