"""Reactive operators rx_honeybee needs and reactivex lacks.

``retry_when`` resubscribes a cold source when a notifier says so; ``backoff_notifier`` is
the notifier that says so after exponential backoff delays (the reconnection policy of
:class:`~rx_honeybee.config.ReconnectConfig`); ``rate_limit`` spaces items out with a token
bucket (:class:`~rx_honeybee.config.RateLimitConfig`). A connection composes the first two
over its socket Observable::

    socket.pipe(retry_when(backoff_notifier(config.reconnect, scheduler, reset=connected)))

Schedulers: time-based operators here never fall back to a background thread. Their timers
run on the ``scheduler=`` given to the operator, else on the one given to ``subscribe``, else
on an ``AsyncIOScheduler`` for the asyncio loop running when one is first needed (the first
delay, the first item); with none of these the output errors with
:class:`~rx_honeybee.errors.InvalidState`. None of these operators is thread-safe: use them
from one thread (the event loop's). ``resolve_scheduler`` is that choice, for operators
written elsewhere (rx_mana's) to make the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable
from reactivex.abc import SchedulerBase

from ._operators import backoff_notifier_, rate_limit_, retry_when_
from ._operators._scheduler import resolve_scheduler
from .config import ReconnectConfig

__all__ = ["backoff_notifier", "rate_limit", "resolve_scheduler", "retry_when"]

_T = TypeVar("_T")


def retry_when(
    notifier: Callable[[Observable[Exception]], Observable[Any]],
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Resubscribe to the source each time the notifier emits (RxJS ``retryWhen``).

    .. marble::
        :alt: retry_when

        source:    -a-#                  cold: every attempt starts over
        errors:    ---x----x----x
        notifier:  -----0----0----0      errors.pipe(ops.delay(2.0, scheduler))
        output:    -a----a----a----a

    At subscription the operator calls ``notifier(errors)`` once and subscribes to what it
    returns, then subscribes to the source. Each source error is pushed into ``errors``
    (it does not reach the output); each notifier emission disposes the current attempt and
    subscribes to the source again. The output completes when the source completes or the
    notifier completes (even while an attempt is running), and errors when the notifier
    errors, with that error. A notifier that emits while it is being subscribed does not
    add an attempt to the first one.

    Resubscription is trampolined: a source that fails while being subscribed, with a
    notifier that answers at once, loops instead of recursing (no ``RecursionError`` after
    thousands of failures). The ``scheduler`` given to ``subscribe`` is forwarded to every
    attempt and to the notifier. Disposing the output disposes the current attempt and the
    notifier's subscription, cancelling a backoff delay in progress.

    Example:
        >>> # pass the scheduler: without one, ``delay`` runs on a background thread
        >>> source.pipe(retry_when(lambda errors: errors.pipe(ops.delay(2.0, scheduler))))

    Args:
        notifier: receives the Observable of source errors and returns an Observable whose
            items mean "retry now"; its completion or error ends the output.

    Returns:
        An operator that mirrors the source across resubscriptions.
    """
    return retry_when_(notifier)


def backoff_notifier(
    config: ReconnectConfig,
    scheduler: SchedulerBase | None = None,
    random: Callable[[], float] | None = None,
    *,
    reset: Observable[Any] | None = None,
    retryable: Callable[[Exception], bool] | None = None,
) -> Callable[[Observable[Exception]], Observable[float]]:
    """Make a :func:`retry_when` notifier that waits out exponential backoff delays.

    .. marble::
        :alt: backoff_notifier

        errors:  -x---x-------x---------------x
        [ backoff_notifier(initial_delay=1, factor=2, jitter=0, max_attempts=3) ]
        output:  --1----2---------4-----------#   # = MaxReconnectAttemptsExceeded(3)

    Each error waits the next delay of :func:`rx_roots.backoff.backoff_delays` (attempt
    ``n`` waits ``min(initial_delay * factor**n, max_delay)``, moved by up to ``±jitter``)
    and then emits that delay in seconds, a float. When ``max_attempts`` delays have been
    used up, the next error ends the output with
    :class:`~rx_honeybee.errors.MaxReconnectAttemptsExceeded` (``attempts`` = delays used
    since the last reset) whose ``__cause__`` is that error. If ``config.enabled`` is False,
    or ``retryable(error)`` is False, the output errors at once with the error itself,
    unchanged. An error raised by ``retryable`` ends the output too.

    Every item of ``reset`` (say, "the socket reached CONNECTED") starts the delays over
    from the first, so the backoff only grows over failures in a row; a delay already
    running is kept. An error of ``reset`` ends the output; its completion is ignored.
    Attempt state is per subscription of the notifier. Errors that arrive while a delay
    runs (``retry_when`` never does that) are queued: delays never overlap.

    Timers run on ``scheduler``; if it is None, on the scheduler given to ``subscribe``
    (``retry_when`` forwards its own), and if that is None too, on an ``AsyncIOScheduler``
    for the asyncio loop running when the first delay starts; without a running loop the
    output errors with :class:`~rx_honeybee.errors.InvalidState`. Never on a thread.

    Example:
        >>> socket.pipe(retry_when(backoff_notifier(ReconnectConfig(), scheduler)))

    Args:
        config: the reconnection policy.
        scheduler: where the delays run; see above for None.
        random: source of floats in [0, 1) for the jitter; ``random.random`` by default.
        reset: each item restarts the delays from the first; None never restarts.
        retryable: tells whether an error is worth a retry; None retries every error.

    Returns:
        A notifier for :func:`retry_when`, emitting each delay (seconds) when it is over.

    Raises:
        ValueError: the delays policy is out of range (checked by ``backoff_delays``).
    """
    return backoff_notifier_(config, scheduler, random, reset=reset, retryable=retryable)


def rate_limit(
    rate: float, burst: int, scheduler: SchedulerBase | None = None
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Space items out with a token bucket: excess items wait, none is dropped.

    .. marble::
        :alt: rate_limit

        source:  -a-b-c-d----------e-f-|
        [  rate_limit(rate=0.25, burst=2)  ]     one dash = 1 s: a token every 4 s
        output:  -a-b-c---d--------e-f-|

    The bucket holds ``burst`` tokens and starts full; it refills at ``rate`` tokens per
    second, measured with the scheduler's ``now``. An item that finds a token passes at
    once; otherwise it waits for its token, behind the items already waiting (order is
    preserved). The waiting queue is unbounded: bound it upstream. Completion is delivered
    once the waiting items have left; an error is delivered at once and drops the items
    still waiting. Disposing cancels the pending wake-up.

    Timers and ``now`` come from ``scheduler``; if it is None, from the scheduler given to
    ``subscribe``, and if that is None too, from an ``AsyncIOScheduler`` for the asyncio
    loop running when the first item arrives; without a running loop the output errors
    with :class:`~rx_honeybee.errors.InvalidState`. Never on a thread.

    Example:
        >>> outbound.pipe(rate_limit(config.messages_per_sec, config.burst, scheduler))

    Args:
        rate: tokens per second, > 0.
        burst: bucket size, the number of items that may pass back to back, >= 1.
        scheduler: clock and timers; see above for None.

    Returns:
        An operator that delays items to keep within the rate.

    Raises:
        ValueError: ``rate`` is not > 0 (or not finite) or ``burst`` < 1.
    """
    return rate_limit_(rate, burst, scheduler)
