"""A session's publishes waiting for their OK: one EVENT per event id, however many wait.

An EVENT a dying socket took without an answer is sent again after the reconnect;
``auth-required:`` and ``rate-limited:`` refusals are retried by the session's policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from rx_honeybee.client.retry import Pending, Phase, Refusal
from rx_honeybee.errors import UnexpectedOk
from rx_roots import classify_reason, enclose_event

if TYPE_CHECKING:
    from rx_honeybee.client.session import Session

__all__ = ["OkResult", "PendingPublish", "Publishes", "Waiter"]


class OkResult(NamedTuple):
    """A relay's answer to a published event (NIP-01 ``OK``)."""

    event_id: str  # the event published
    accepted: bool  # stored (or already had it)
    message: str  # the relay's full text
    prefix: str  # machine-readable prefix ("duplicate", "invalid", ...) or ""


class Waiter(Protocol):
    """Someone waiting for an event's OK (a ``publish()`` subscription)."""

    def result(self, ok: OkResult) -> None:
        """The relay answered."""

    def error(self, error: Exception) -> None:
        """The publish failed (the connection ended, the AUTH hook failed, ...)."""


class PendingPublish(Pending):
    """One event waiting for its OK; several callers may wait for the same event."""

    __slots__ = ("envelope", "event_id", "others", "waiter")

    def __init__(self, event_id: str, envelope: str, waiter: Waiter) -> None:
        super().__init__()
        self.event_id = event_id  # what the OK names
        self.envelope = envelope  # the EVENT, encoded once
        self.waiter: Waiter | None = waiter  # the first caller waiting (most often the only)
        self.others: list[Waiter] | None = None  # callers who published the same event since

    def waiters(self) -> tuple[Waiter, ...]:
        """Every caller waiting for this event, first come first."""
        first = () if self.waiter is None else (self.waiter,)
        return first if self.others is None else (*first, *self.others)

    def leave(self, waiter: Waiter) -> bool:
        """``waiter`` stopped waiting; return whether anyone still waits."""
        if self.waiter is waiter:
            self.waiter = None
        elif self.others is not None and waiter in self.others:
            self.others.remove(waiter)
        return self.waiter is not None or bool(self.others)


class Publishes:
    """The pending publishes of one session, by event id."""

    __slots__ = ("pending", "session")

    def __init__(self, session: Session) -> None:
        self.session = session  # sends, retries
        self.pending: dict[str, PendingPublish] = {}  # events waiting for OK, by id

    def start(self, event_id: str, event: Mapping[str, Any], waiter: Waiter) -> None:
        """Send EVENT (once for concurrent publishes of one event) for ``waiter``.

        Raises:
            HoneybeeError: the connection refused the envelope (nothing is left pending).
        """
        pub = self.pending.get(event_id)
        if pub is not None:
            if pub.others is None:
                pub.others = []
            pub.others.append(waiter)
            return
        pub = PendingPublish(event_id, enclose_event(event), waiter)
        self.pending[event_id] = pub
        try:
            self.session.send(pub.envelope, pub)
        except Exception:
            self._drop(pub)
            raise

    def detach(self, event_id: str, waiter: Waiter) -> None:
        """``waiter`` stopped waiting; the last one to leave forgets the publish."""
        pub = self.pending.get(event_id)
        if pub is not None and not pub.leave(waiter):
            self._drop(pub)

    def _drop(self, pub: PendingPublish) -> None:
        pub.end()
        if self.pending.get(pub.event_id) is pub:
            del self.pending[pub.event_id]

    def resend(self, pub: PendingPublish) -> None:
        """Send the EVENT again."""
        self.session.send(pub.envelope, pub)

    def on_ok(self, event_id: str, accepted: bool, message: str) -> None:
        pub = self.pending.get(event_id)
        session = self.session
        if pub is None:  # an AUTH's, or late, unasked, unmatchable (an empty id)
            if session.auth_answered(event_id, accepted, message):
                return
            verdict = "accepted" if accepted else "refused"
            session.conn.report(
                UnexpectedOk(f"OK for no pending event {event_id!r} ({verdict}): {message}")
            )
            return
        prefix, _ = classify_reason(message)
        if accepted:
            session.retry.succeeded()
        else:
            decision = session.retry.refused(pub, prefix, session.can_authenticate())
            if decision is Refusal.AUTHENTICATE:
                session.authenticate(lambda: self.resend(pub), lambda exc: self.fail(pub, exc))
                return
            if decision is Refusal.RETRY_LATER:
                session.retry_later(pub, lambda: self.resend(pub), lambda e: self.fail(pub, e))
                return
        self._drop(pub)
        result = OkResult(event_id, accepted, message, prefix)
        for waiter in pub.waiters():
            waiter.result(result)

    def fail(self, pub: PendingPublish, error: Exception) -> None:
        """End ``pub`` with ``error`` for every waiter."""
        if pub.phase is not Phase.ENDED:
            self._drop(pub)
            for waiter in pub.waiters():
                waiter.error(error)

    def restore(self, generation: int) -> None:
        """Resend what an older socket took and nobody answered."""
        room = self.session.room
        for pub in list(self.pending.values()):
            if pub.stale(generation):
                room.send(partial(self._resend_waiting, pub), partial(self.fail, pub))

    def _resend_waiting(self, pub: PendingPublish) -> None:
        """Resend ``pub`` unless everyone stopped waiting for it meanwhile."""
        if pub.phase is not Phase.ENDED:
            self.resend(pub)

    def end_all(self, error: Exception) -> None:
        """The connection ended: fail every publish still waiting."""
        for pub in list(self.pending.values()):
            self.fail(pub, error)
