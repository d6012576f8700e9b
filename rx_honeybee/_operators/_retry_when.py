"""``retry_when``: resubscribe to the source each time a notifier says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc

from ..hot import HotStream
from ..lean import OnDispose, SerialSlot, Sink, Slot, lean

__all__ = ["retry_when_"]

_T = TypeVar("_T")


def retry_when_(
    notifier: Callable[[Observable[Exception]], Observable[Any]],
) -> Callable[[Observable[_T]], Observable[_T]]:
    """Build the ``retry_when`` operator; see :func:`rx_honeybee.operators.retry_when`."""

    def _retry_when(source: Observable[_T]) -> Observable[_T]:
        def subscribe(
            observer: Sink, scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            errors: HotStream[Exception] = HotStream(_reraise)  # source errors, to the notifier
            attempt = SerialSlot()  # subscription to the current attempt at the source
            signals = Slot()  # subscription to the notifier's output
            stopped = False  # the output terminated or was disposed: never subscribe again
            subscribing = False  # the trampoline below is running (on this stack)
            requested = False  # a (re)subscription was asked for and not yet made

            def stop() -> None:
                nonlocal stopped
                stopped = True

            def on_source_error(error: Exception) -> None:
                if not stopped:
                    errors.on_next(error)

            def on_source_completed() -> None:
                stop()
                signals.dispose()
                observer.on_completed()

            def on_signal_error(error: Exception) -> None:
                stop()
                attempt.dispose()
                observer.on_error(error)

            def on_signal_completed() -> None:
                stop()
                attempt.dispose()
                observer.on_completed()

            def resubscribe(_: Any = None) -> None:
                # Trampoline: a source that fails while being subscribed makes the notifier
                # call back in here, on the same stack. That call only raises the flag; the
                # loop below makes the next attempt once the current subscribe() returned,
                # so 10,000 synchronous failures take 10,000 turns, not 10,000 frames.
                nonlocal subscribing, requested
                requested = True
                if subscribing:
                    return
                subscribing = True
                try:
                    while requested and not stopped:
                        requested = False
                        current = Slot()
                        attempt.disposable = current  # disposes the previous attempt first
                        current.disposable = source.subscribe(
                            observer.on_next,
                            on_source_error,
                            on_source_completed,
                            scheduler=scheduler,
                        )
                finally:
                    subscribing = False

            # Hold the trampoline while the notifier is subscribed, so a notifier that emits
            # at once is folded into the first attempt instead of making a second one.
            subscribing = True
            try:
                signals.disposable = notifier(errors).subscribe(
                    resubscribe, on_signal_error, on_signal_completed, scheduler=scheduler
                )
            except Exception as exc:  # a notifier that cannot even start: the output fails
                subscribing = False
                on_signal_error(exc)
                return OnDispose(stop)
            finally:
                subscribing = False
            resubscribe()

            def dispose() -> None:
                stop()
                attempt.dispose()
                signals.dispose()

            return OnDispose(dispose)

        return lean(subscribe)

    return _retry_when


def _reraise(error: Exception) -> None:
    raise error  # a notifier that fails on an error fails the subscription, as with a Subject
