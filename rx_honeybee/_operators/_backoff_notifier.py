"""``backoff_notifier``: turn source errors into backoff delays for ``retry_when``."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from reactivex import Observable, abc

from rx_roots.backoff import backoff_delays

from ..config import ReconnectConfig
from ..errors import MaxReconnectAttemptsExceeded
from ..lean import OnDispose, SerialSlot, Sink, lean
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
        def subscribe(
            observer: Sink, scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            pending: deque[Exception] | None = None  # errors that arrived while a delay ran
            timer = SerialSlot()  # the delay being waited out
            schedule: abc.SchedulerBase | None = None  # resolved at the first delay
            upcoming = delays()  # the delays left since the last (re)start
            attempts = 0  # delays handed out since the last (re)start
            waiting = False  # a delay is running
            upstream_done = False  # the errors stream completed
            stopped = False  # the output terminated or was disposed

            def restart(_: Any) -> None:
                nonlocal upcoming, attempts
                upcoming = delays()
                attempts = 0

            def fail(error: Exception) -> None:
                nonlocal stopped, pending
                stopped = True
                pending = None
                timer.dispose()
                observer.on_error(error)

            def handle(error: Exception) -> None:
                nonlocal schedule, attempts, waiting
                try:
                    if not config.enabled or (retryable is not None and not retryable(error)):
                        fail(error)
                        return
                    delay = next(upcoming, None)
                    if delay is None:
                        give_up = MaxReconnectAttemptsExceeded(attempts)
                        give_up.__cause__ = error
                        fail(give_up)
                        return
                    if schedule is None:
                        schedule = resolve_scheduler(scheduler, scheduler_, "backoff_notifier")
                except Exception as exc:  # a faulty retryable() or no scheduler
                    fail(exc)
                    return
                attempts += 1
                waiting = True

                def elapsed(_: abc.SchedulerBase, __: Any = None) -> None:
                    nonlocal waiting
                    waiting = False
                    observer.on_next(delay)
                    next_step()

                timer.disposable = schedule.schedule_relative(delay, elapsed)

            def next_step() -> None:
                if stopped or waiting:
                    return
                if pending:
                    handle(pending.popleft())
                elif upstream_done:
                    observer.on_completed()

            def on_error_item(error: Exception) -> None:
                nonlocal pending
                if stopped:
                    return
                if waiting:  # never with retry_when; queue rather than overlap delays
                    if pending is None:
                        pending = deque()
                    pending.append(error)
                else:
                    handle(error)

            def on_upstream_completed() -> None:
                nonlocal upstream_done
                upstream_done = True
                next_step()

            def on_upstream_error(error: Exception) -> None:
                if not stopped:
                    fail(error)

            resets = (
                reset.subscribe(restart, on_upstream_error, scheduler=scheduler_)
                if reset is not None
                else None
            )
            main = errors.subscribe(
                on_error_item, on_upstream_error, on_upstream_completed, scheduler=scheduler_
            )

            def dispose() -> None:
                nonlocal stopped, pending
                stopped = True
                pending = None
                timer.dispose()
                if resets is not None:
                    resets.dispose()
                main.dispose()

            return OnDispose(dispose)

        return lean(subscribe)

    return _backoff_notifier
