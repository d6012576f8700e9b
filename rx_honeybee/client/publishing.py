"""``publish()``'s Observable: one lean subscription per caller waiting for an OK.

Publishing is the per-event path of a writing client, so a subscription here is one small
object (:class:`PublishCall`) that is at once the waiter the session answers, the timeout
(queued in the session's :class:`~rx_honeybee.client.deadlines.Deadlines`) and the
disposable returned to the caller: no reactivex trampoline, no locks, no timer of its own.
A caller's callback that raises is reported on the connection's ``errors`` and never
keeps the OK from the other callers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from reactivex import abc

from rx_honeybee.client.publishes import OkResult
from rx_honeybee.client.session import Session
from rx_honeybee.errors import PublishTimeout
from rx_honeybee.lean import Handlers, LeanObservable, handlers_of
from rx_roots import InvalidEvent, RootsError, check_event_shape

if TYPE_CHECKING:
    from rx_honeybee.connection import Connection

__all__ = ["PublishCall", "PublishObservable"]

_DELTAS: dict[float, timedelta] = {}  # timeout → timedelta, made once per distinct value
_NEVER = datetime.max


class PublishCall(abc.DisposableBase):
    """One subscriber of ``publish(...)``: waits for the OK, times out, can be disposed."""

    __slots__ = ("_handlers", "_session", "done", "due", "event_id", "timeout")

    def __init__(self, handlers: Handlers, session: Session, event_id: str, timeout: float):
        self._handlers: Handlers | None = handlers  # the subscriber's three callbacks
        self._session = session  # whose publishes and deadlines this call uses
        self.event_id = event_id  # the event published
        self.timeout = timeout  # seconds to wait for the OK
        self.due = _NEVER  # when it times out (set by Deadlines.add)
        self.done = False  # answered, failed, timed out or disposed

    def _finish(self) -> Handlers | None:
        """Mark it done; return the callbacks the first time (they are let go of)."""
        handlers, self._handlers = self._handlers, None
        self.done = True
        return handlers

    def result(self, ok: OkResult) -> None:
        """The relay answered: emit it, then complete."""
        handlers = self._finish()
        if handlers is not None:
            self._call(handlers[0], ok)
            self._call(handlers[2])

    def error(self, error: Exception) -> None:
        """The publish failed."""
        handlers = self._finish()
        if handlers is not None:
            self._call(handlers[1], error)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception as exc:  # the subscriber's fault, not the publish's: reported
            self._session.conn.report(exc)

    def expire(self) -> None:
        """No OK in time: stop waiting and fail with ``PublishTimeout``."""
        if not self.done:
            self._session.publishes.detach(self.event_id, self)
            self.error(PublishTimeout(self.event_id, self.timeout))

    def dispose(self) -> None:
        """The subscriber left: stop waiting (the EVENT stays sent)."""
        if self._finish() is not None:
            self._session.publishes.detach(self.event_id, self)


class PublishObservable(LeanObservable[OkResult]):
    """Publishes ``event`` on ``conn`` for each subscriber (see ``initiator.publish``)."""

    def __init__(self, conn: Connection, event: Mapping[str, Any], timeout: float) -> None:
        self._conn = conn  # where to publish
        self._event = event  # what
        self._timeout = timeout  # seconds to wait for the OK
        delta = _DELTAS.get(timeout)
        if delta is None:
            delta = _DELTAS[timeout] = timedelta(seconds=timeout)
        self._delta = delta  # the same, for deadlines

    def subscribe(
        self,
        on_next: abc.ObserverBase[OkResult] | Callable[[OkResult], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_completed: Callable[[], None] | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
    ) -> abc.DisposableBase:
        """Publish for this subscriber (one call per publish: keep it lean)."""
        if on_next is None or on_error is None or on_completed is None or not callable(on_next):
            return self._attach(handlers_of(on_next, on_error, on_completed), scheduler)
        return self._attach((on_next, on_error, on_completed), scheduler)

    def _attach(
        self, handlers: Handlers, scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        session = self._conn.session or Session(self._conn)
        event = self._event
        event_id = event.get("id") if isinstance(event, Mapping) else None
        call = PublishCall(handlers, session, str(event_id), self._timeout)
        try:
            _check_shape(event)  # a relay may never answer a malformed one: fail now
            session.publishes.start(str(event_id), event, call)
        except Exception as exc:
            call.error(exc)
            return call
        session.deadlines.add(self._delta, call)
        return call


def _check_shape(event: Mapping[str, Any]) -> None:
    """Raise ``InvalidEvent`` (the failed check as cause) unless ``event`` is NIP-01 shaped."""
    try:
        check_event_shape(event)
    except RootsError as err:
        raise InvalidEvent(f"not published: {err}") from err
