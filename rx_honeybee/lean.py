"""Observables and disposables for honeybee's own per-item and per-connection objects.

reactivex gives every ``Observable`` and ``Disposable`` a ``threading.RLock`` and runs every
``subscribe`` through a thread-local trampoline. Honeybee runs on one event loop, so its
own streams skip both: measured, each RLock is ~48 bytes and each trampolined subscribe
several microseconds, which a publish per event or 500 idle connections pay in full
(``bench/pub_bench.py``, ``bench/mem_bench.py``). Operators that take ``source.lock`` still
find one: every lean Observable shares a single lock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.scheduler.eventloop import AsyncIOScheduler

__all__ = [
    "Handlers",
    "LeanObservable",
    "OnDispose",
    "SerialSlot",
    "Signal",
    "Sink",
    "Slot",
    "handlers_of",
    "later",
    "lean",
]

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


class Signal:
    """Wake whoever waits, once per ``fire()``: an ``asyncio.Event`` without its deque.

    An idle connection has a few of these; an Event allocates a ~760-byte deque each at
    construction, a Signal nothing until someone waits.
    """

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] | None = None  # who waits now

    def fire(self) -> None:
        """Wake every waiter (nothing happens without one)."""
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Return at the next ``fire()``."""
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter


class Sink(abc.ObserverBase[Any]):
    """An observer over three callbacks that ignores everything after its end.

    What reactivex's ``AutoDetachObserver`` guarantees, without its two locked disposables.
    """

    __slots__ = ("_completed", "_error", "_next", "stopped")

    def __init__(self, handlers: Handlers) -> None:
        self._next, self._error, self._completed = handlers  # where items go
        self.stopped = False  # completed or failed: nothing more passes

    def on_next(self, value: Any) -> None:
        if not self.stopped:
            self._next(value)

    def on_error(self, error: Exception) -> None:
        if not self.stopped:
            self.stopped = True
            self._error(error)

    def on_completed(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._completed()


Subscribe = Callable[[Sink, "abc.SchedulerBase | None"], abc.DisposableBase]


class _FunctionObservable(LeanObservable[T]):
    """A cold Observable whose subscriptions run ``subscribe(sink, scheduler)``."""

    def __init__(self, subscribe: Subscribe) -> None:
        self._run = subscribe  # what each subscription does

    def _attach(
        self, handlers: Handlers, scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        return self._run(Sink(handlers), scheduler)


def lean(subscribe: Subscribe) -> Observable[Any]:
    """``reactivex.create`` for honeybee's own operators: the subscriber gets a :class:`Sink`.

    ``subscribe`` must not raise (reactivex would turn that into ``on_error``).
    """
    return _FunctionObservable(subscribe)


class Slot(abc.DisposableBase):
    """Holds one disposable, set once; disposing before it is set disposes it on arrival."""

    __slots__ = ("_current", "is_disposed")

    _serial = False  # a new disposable replaces (and disposes) the previous one

    def __init__(self) -> None:
        self._current: abc.DisposableBase | None = None  # what it holds
        self.is_disposed = False  # disposed: whatever arrives is disposed at once

    @property
    def disposable(self) -> abc.DisposableBase | None:
        return self._current

    @disposable.setter
    def disposable(self, value: abc.DisposableBase | None) -> None:
        if self.is_disposed:
            if value is not None:
                value.dispose()
            return
        previous, self._current = self._current, value
        if self._serial and previous is not None:
            previous.dispose()

    def dispose(self) -> None:
        if not self.is_disposed:
            self.is_disposed = True
            current, self._current = self._current, None
            if current is not None:
                current.dispose()


class SerialSlot(Slot):
    """Holds the current disposable; setting a new one disposes the previous one first."""

    __slots__ = ()

    _serial = True


class _Cancel(abc.DisposableBase):
    """Disposes an asyncio timer handle."""

    __slots__ = ("_handle",)

    def __init__(self, handle: asyncio.TimerHandle) -> None:
        self._handle = handle

    def dispose(self) -> None:
        self._handle.cancel()


def later(
    scheduler: abc.SchedulerBase, delay: float, action: Callable[[], None]
) -> abc.DisposableBase:
    """Run ``action`` after ``delay`` seconds on ``scheduler``; dispose the result to cancel.

    On the asyncio scheduler this is one ``loop.call_later`` (a recurring health timer on
    every idle connection); any other scheduler (a TestScheduler) is used as such.
    """
    loop = getattr(scheduler, "_loop", None) if type(scheduler) is AsyncIOScheduler else None
    if loop is not None:
        return _Cancel(loop.call_later(max(0.0, delay), action))
    return scheduler.schedule_relative(delay, lambda _s, _st: action())
