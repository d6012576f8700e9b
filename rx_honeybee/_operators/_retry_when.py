"""``retry_when``: resubscribe to the source each time a notifier says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc

from ..hot import HotStream
from ..lean import SerialSlot, Sink, Slot, lean

__all__ = ["retry_when_"]

_T = TypeVar("_T")


def retry_when_(
    notifier: Callable[[Observable[Exception]], Observable[Any]],
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Build the ``retry_when`` operator; see :func:`rx_honeybee.operators.retry_when`."""

    def _retry_when(source: Observable[_T]) -> Observable[_T]:
        def subscribe(observer: Sink, scheduler: abc.SchedulerBase | None = None) -> _RetryWhen:
            retrying = _RetryWhen(source, observer, scheduler)
            retrying.start(notifier)
            return retrying

        return lean(subscribe)

    return _retry_when


class _RetryWhen(abc.DisposableBase):
    """One subscription of ``retry_when``: the current attempt and the notifier's signals.

    A class with slots rather than closures: every connection holds one for its life, and
    a closure per callback with a cell per variable costs several times more memory.
    """

    __slots__ = (
        "attempt",
        "errors",
        "observer",
        "requested",
        "scheduler",
        "signals",
        "source",
        "stopped",
        "subscribing",
    )

    def __init__(
        self, source: Observable[Any], observer: Sink, scheduler: abc.SchedulerBase | None
    ) -> None:
        self.source = source  # what is (re)subscribed
        self.observer = observer  # the output
        self.scheduler = scheduler  # forwarded to every attempt and to the notifier
        self.errors: HotStream[Exception] = HotStream(_reraise)  # source errors, to the notifier
        self.attempt = SerialSlot()  # subscription to the current attempt at the source
        self.signals = Slot()  # subscription to the notifier's output
        self.stopped = False  # the output terminated or was disposed: never subscribe again
        self.subscribing = False  # the trampoline in ``resubscribe`` runs (on this stack)
        self.requested = False  # a (re)subscription was asked for and not yet made

    def start(self, notifier: Callable[[Observable[Exception]], Observable[Any]]) -> None:
        # Hold the trampoline while the notifier is subscribed, so a notifier that emits
        # at once is folded into the first attempt instead of making a second one.
        self.subscribing = True
        try:
            self.signals.disposable = notifier(self.errors).subscribe(
                self.resubscribe,
                self.on_signal_error,
                self.on_signal_completed,
                scheduler=self.scheduler,
            )
        except Exception as exc:  # a notifier that cannot even start: the output fails
            self.subscribing = False
            self.on_signal_error(exc)
            return
        finally:
            self.subscribing = False
        self.resubscribe()

    def on_source_error(self, error: Exception) -> None:
        if not self.stopped:
            self.errors.on_next(error)

    def on_source_completed(self) -> None:
        self.stopped = True
        self.signals.dispose()
        self.observer.on_completed()

    def on_signal_error(self, error: Exception) -> None:
        self.stopped = True
        self.attempt.dispose()
        self.observer.on_error(error)

    def on_signal_completed(self) -> None:
        self.stopped = True
        self.attempt.dispose()
        self.observer.on_completed()

    def resubscribe(self, _: Any = None) -> None:
        # Trampoline: a source that fails while being subscribed makes the notifier call
        # back in here, on the same stack. That call only raises the flag; the loop below
        # makes the next attempt once the current subscribe() returned, so 10,000
        # synchronous failures take 10,000 turns, not 10,000 frames.
        self.requested = True
        if self.subscribing:
            return
        self.subscribing = True
        try:
            while self.requested and not self.stopped:
                self.requested = False
                current = Slot()
                self.attempt.disposable = current  # disposes the previous attempt first
                current.disposable = self.source.subscribe(
                    self.observer.on_next,
                    self.on_source_error,
                    self.on_source_completed,
                    scheduler=self.scheduler,
                )
        finally:
            self.subscribing = False

    def dispose(self) -> None:
        self.stopped = True
        self.attempt.dispose()
        self.signals.dispose()


def _reraise(error: Exception) -> None:
    raise error  # a notifier that fails on an error fails the subscription, as with a Subject
