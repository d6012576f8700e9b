"""A connection's reconnecting socket: ``defer(dial) → retry_when(notifier)``, with its states.

The :class:`Dialler` owns the retries and the status events they imply, nothing else: each
attempt gets a fresh socket Observable from the connection (``make_socket``), failures go
to the notifier (the default backoff, or a replacement such as a circuit breaker), and
what comes out of the pipeline goes to the connection's callbacks.

With the default notifier (``backoff_notifier``) the backoff starts over once a socket has
stayed up ``stable_after`` seconds, not at every handshake: a relay that accepts and drops
at once uses up attempts like one that refuses.

The status moves as the notifier decides: a failure the notifier answers with a retry is
``DROPPED`` (BACKOFF) then ``DIALLED`` (CONNECTING) when the retry starts; a failure it
answers by giving up at once goes straight to ERROR, with no BACKOFF that no retry follows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactivex import Observable, abc

from rx_honeybee.config import ReconnectConfig
from rx_honeybee.hot import HotStream
from rx_honeybee.interfaces import Notifier
from rx_honeybee.lean import OnDispose, Sink, later, lean
from rx_honeybee.operators import backoff_notifier, retry_when
from rx_honeybee.socket import SocketItem
from rx_honeybee.state import Event, StateMachine
from rx_roots import ConnectionStatus

__all__ = ["Dialler"]


class Dialler:
    """Dials, and dials again while the notifier says so.

    Args:
        machine: the connection's status, moved by DROPPED and DIALLED here.
        make_socket: a fresh cold socket Observable for each attempt.
        on_failure: told of each lost socket (or failed dial) before the notifier is.
    """

    __slots__ = (
        "_machine",
        "_make_socket",
        "_on_failure",
        "_scheduler",
        "_stable",
        "_stable_after",
        "_stable_timer",
        "_subscription",
        "attempts",
    )

    def __init__(
        self,
        machine: StateMachine,
        make_socket: Callable[[], Observable[SocketItem]],
        on_failure: Callable[[Exception], None],
    ) -> None:
        self._machine = machine  # the connection's status
        self._make_socket = make_socket  # one socket Observable per attempt
        self._on_failure = on_failure  # a socket was lost: the connection cleans up
        self._subscription: abc.DisposableBase | None = None  # the running pipeline
        self._scheduler: abc.SchedulerBase | None = None  # the time source, once started
        self._stable: HotStream[None] | None = None  # "a socket stayed up": backoff resets
        self._stable_after = 0.0  # how long a socket must stay up for that
        self._stable_timer: abc.DisposableBase | None = None  # running while it is young
        self.attempts = 0  # sockets subscribed (dialled) so far

    def start(
        self,
        notifier: Notifier | None,
        reconnect: ReconnectConfig,
        scheduler: abc.SchedulerBase,
        on_item: Callable[[SocketItem], None],
        on_fail: Callable[[Exception], None],
        on_end: Callable[[], None],
    ) -> None:
        """Subscribe the pipeline; its items, give-up and end go to the callbacks.

        Without a ``notifier``, ``backoff_notifier(reconnect, scheduler)`` decides, reset
        by :meth:`opened` sockets that stay up ``reconnect.stable_after`` seconds.
        """
        self._scheduler = scheduler
        if notifier is None:
            self._stable = HotStream()
            self._stable_after = reconnect.stable_after
            notifier = backoff_notifier(reconnect, scheduler, reset=self._stable)
        pipeline = lean(self._dial).pipe(retry_when(self._watch(notifier)))
        self._subscription = pipeline.subscribe(on_item, on_fail, on_end, scheduler=scheduler)

    def opened(self) -> None:
        """A socket came up: once it has stayed up long enough, the backoff starts over."""
        if self._stable is None or self._scheduler is None:
            return
        if self._stable_after <= 0:
            self._stable.on_next(None)
            return
        self._stable_timer = later(self._scheduler, self._stable_after, self._stayed_up)

    def _stayed_up(self) -> None:
        self._stable_timer = None
        if self._stable is not None:
            self._stable.on_next(None)

    def lost(self) -> None:
        """The socket is gone: if it was young, it was a flap, not a success."""
        timer, self._stable_timer = self._stable_timer, None
        if timer is not None:
            timer.dispose()

    def stop(self) -> None:
        """Dispose the pipeline: the socket closes, no retry follows."""
        self.lost()
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.dispose()

    def _dial(self, sink: Sink, scheduler: abc.SchedulerBase | None) -> abc.DisposableBase:
        """One attempt (``defer``): a fresh socket Observable per subscription."""
        try:
            socket = self._attempt()
        except Exception as exc:  # a socket factory that cannot even start
            sink.on_error(exc)
            return OnDispose(_nothing)
        return socket.subscribe(sink, scheduler=scheduler)

    def _attempt(self) -> Observable[SocketItem]:
        """Dial once more: the first attempt, or a retry the notifier released."""
        machine = self._machine
        if self.attempts:
            if machine.status is not ConnectionStatus.BACKOFF:  # a retry without a delay
                machine.apply(Event.DROPPED)
            machine.apply(Event.DIALLED)
        self.attempts += 1
        return self._make_socket()

    def _watch(self, notifier: Notifier) -> Notifier:
        """Feed socket failures to ``notifier``; BACKOFF only if it did not give up at once."""

        def watched(failures: Observable[Exception]) -> Observable[Any]:
            def subscribe(observer: Sink, scheduler: abc.SchedulerBase | None) -> OnDispose:
                def on_failure(error: Exception) -> None:
                    attempt = self.attempts
                    self._on_failure(error)
                    observer.on_next(error)  # the notifier decides: retry later, or give up
                    machine = self._machine
                    if attempt == self.attempts and machine.can(Event.DROPPED):
                        machine.apply(Event.DROPPED)

                subscription = failures.subscribe(
                    on_failure, observer.on_error, observer.on_completed, scheduler=scheduler
                )
                return OnDispose(subscription.dispose)

            return notifier(lean(subscribe))

        return watched


def _nothing() -> None:
    pass
