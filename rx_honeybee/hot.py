"""A hot, multicast stream that isolates its subscribers from each other.

A plain ``Subject`` lets an exception raised in one subscriber's ``on_next`` propagate into
whoever pushed the item (for a connection: the socket reader) and skip the subscribers
after it. ``HotStream`` catches it per subscriber, hands it to ``on_fault`` and goes on.

It is also the inbound hot path's fan-out, so it is lean (:mod:`rx_honeybee.lean`): no lock
(everything runs on one event loop), subscribers kept as a tuple of handler triples
replaced on (un)subscription, and no ``AutoDetachObserver`` between an item and a
subscriber's function (the stream itself guarantees nothing arrives after termination or
disposal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from reactivex import abc
from reactivex.disposable import Disposable

from rx_honeybee.lean import Handlers, LeanObservable

__all__ = ["HotStream"]

T = TypeVar("T")

_log = logging.getLogger(__name__)
_NOTHING = Disposable()  # what subscribing to an ended stream returns


def _log_fault(exc: Exception) -> None:
    _log.error("subscriber raised", exc_info=exc)


class HotStream(LeanObservable[T], Generic[T]):
    """A hot stream: items go to the subscribers present when they are pushed.

    Args:
        on_fault: receives any exception a subscriber raises; logged when omitted.
        replay_last: a new subscriber first gets the latest item (a BehaviorSubject).
        initial: the item replayed before any was pushed (with ``replay_last``).
    """

    def __init__(
        self,
        on_fault: Callable[[Exception], None] | None = None,
        *,
        replay_last: bool = False,
        initial: T | None = None,
    ) -> None:
        self._handlers: tuple[Handlers, ...] = ()  # current subscribers
        self.observed = False  # anyone subscribed: lets a producer skip building an item
        self._on_fault = on_fault or _log_fault  # where subscriber exceptions go
        self._replay = replay_last  # replay the latest item to new subscribers
        self._has_last = initial is not None  # whether ``_last`` holds an item
        self._last: T | None = initial  # latest item, when replaying
        self._error: Exception | None = None  # terminal error, once failed
        self._stopped = False  # completed or failed: no more items

    @property
    def is_stopped(self) -> bool:
        """Whether the stream completed or failed."""
        return self._stopped

    def _attach(
        self, handlers: Handlers, scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        if self._replay and self._has_last:
            self._guard(handlers[0], self._last)
        if self._stopped:
            if self._error is not None:
                self._guard(handlers[1], self._error)
            else:
                self._guard(handlers[2])
            return _NOTHING
        self._handlers = (*self._handlers, handlers)
        self.observed = True
        return _Subscription(self, handlers)

    def _remove(self, handlers: Handlers) -> None:
        self._handlers = tuple(h for h in self._handlers if h is not handlers)
        self.observed = bool(self._handlers)

    def _guard(self, handler: Callable[..., None], *args: Any) -> None:
        try:
            handler(*args)
        except Exception as exc:  # a subscriber's fault must not reach the producer
            self._on_fault(exc)

    def on_next(self, value: T) -> None:
        """Push ``value`` to every current subscriber, isolating their faults."""
        if self._replay:
            if self._stopped:
                return
            self._last = value
            self._has_last = True
        snapshot = self._handlers
        for handlers in snapshot:
            # A subscriber may dispose another one, or end the stream, during this push:
            # those must not get the item (checked only once the tuple was replaced).
            if self._handlers is not snapshot and handlers not in self._handlers:
                continue
            try:
                handlers[0](value)
            except Exception as exc:
                self._on_fault(exc)

    def on_completed(self) -> None:
        """End the stream; late subscribers get the last item (if replaying) then completion."""
        if self._stopped:
            return
        self._stopped = True
        subscribers, self._handlers = self._handlers, ()
        self.observed = False
        for handlers in subscribers:
            self._guard(handlers[2])

    def on_error(self, error: Exception) -> None:
        """Fail the stream with ``error``."""
        if self._stopped:
            return
        self._stopped = True
        self._error = error
        subscribers, self._handlers = self._handlers, ()
        self.observed = False
        for handlers in subscribers:
            self._guard(handlers[1], error)


class _Subscription(abc.DisposableBase):
    """One subscriber of a HotStream; disposing removes it (a closure would cost more)."""

    __slots__ = ("_handlers", "_stream")

    def __init__(self, stream: HotStream[Any], handlers: Handlers) -> None:
        self._stream: HotStream[Any] | None = stream  # cleared once removed
        self._handlers = handlers  # what to remove

    def dispose(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream._remove(self._handlers)
