"""Observables and disposables for honeybee's own per-item and per-connection objects.

reactivex gives every ``Observable`` and ``Disposable`` a ``threading.RLock`` and runs every
``subscribe`` through a thread-local trampoline. Honeybee runs on one event loop, so its
own streams skip both: measured, each RLock is ~48 bytes and each trampolined subscribe
several microseconds, which a publish per event or 500 idle connections pay in full
(``bench/pub_bench.py``, ``bench/mem_bench.py``). Operators that take ``source.lock`` still
find one: every lean Observable shares a single lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc

__all__ = ["Handlers", "LeanObservable", "OnDispose", "handlers_of"]

T = TypeVar("T")

Handlers = tuple[Callable[[Any], None], Callable[[Exception], None], Callable[[], None]]

_SHARED_LOCK = threading.RLock()


def _ignore(*_: Any) -> None:
    pass


def _raise(error: Exception) -> None:
    raise error  # reactivex's default for an observer without on_error


def handlers_of(
    on_next: abc.ObserverBase[Any] | Callable[[Any], None] | None,
    on_error: Callable[[Exception], None] | None,
    on_completed: Callable[[], None] | None,
) -> Handlers:
    """The three callbacks of an observer, or the ones given (defaults filled in)."""
    if isinstance(on_next, abc.ObserverBase):
        return on_next.on_next, on_next.on_error, on_next.on_completed
    return on_next or _ignore, on_error or _raise, on_completed or _ignore


class LeanObservable(Observable[T]):
    """An Observable whose ``subscribe`` calls ``_attach(handlers)`` directly.

    No per-instance lock, no ``AutoDetachObserver``, no trampoline: a subclass guarantees
    itself that nothing reaches a subscriber after its termination or disposal.
    """

    lock = _SHARED_LOCK  # for operators that synchronise on ``source.lock``

    def __init__(self) -> None:  # no RLock of our own (see the module docstring)
        pass

    def subscribe(
        self,
        on_next: abc.ObserverBase[T] | Callable[[T], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_completed: Callable[[], None] | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        """Subscribe an observer or callbacks (``scheduler`` goes to ``_attach``)."""
        return self._attach(handlers_of(on_next, on_error, on_completed), scheduler)

    def _subscribe_core(
        self, observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        return self._attach((observer.on_next, observer.on_error, observer.on_completed), scheduler)

    def _attach(
        self, handlers: Handlers, scheduler: abc.SchedulerBase | None
    ) -> abc.DisposableBase:  # pragma: no cover - abstract
        raise NotImplementedError


class OnDispose(abc.DisposableBase):
    """Runs ``action`` on the first ``dispose()``; a lock-free ``Disposable`` for one loop."""

    __slots__ = ("_action",)

    def __init__(self, action: Callable[[], None]) -> None:
        self._action: Callable[[], None] | None = action  # cleared once run

    def dispose(self) -> None:
        action, self._action = self._action, None
        if action is not None:
            action()
