"""The initiator's memory of one connection: what it asked for and what it is still owed.

The seed's subscription registry, grown into what users of nostr-tools, NDK and go-nostr
miss (NOTES.md): after every reconnect the live subscriptions are sent again with
``since`` moved to the newest event delivered (minus a small overlap) and the events
already delivered are not delivered twice; publishes still waiting for their OK are sent
again instead of failing; ``CLOSED``/``OK`` with ``auth-required:`` run the user's AUTH
hook and retry once; ``rate-limited:`` delays the retry and slows every further retry
on this connection. All timers run on the connection's scheduler.

One :class:`Session` exists per connection (``session_of(conn)``); the reactive API in
:mod:`rx_honeybee.initiator` is built on it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from reactivex import abc
from reactivex.disposable import Disposable

from rx_honeybee._operators._scheduler import resolve_scheduler
from rx_honeybee.connection import Connection
from rx_honeybee.errors import HoneybeeError, InvalidState, SubscriptionClosed, UnexpectedOk
from rx_roots import (
    ConnectionStatus,
    RootsError,
    WrongFieldType,
    classify_reason,
    enclose_auth_response,
    enclose_close,
    enclose_event,
    enclose_req,
    find_auth_challenge,
    find_closed,
    find_eose,
    find_ok,
    find_subscription_event,
)

__all__ = ["AuthHook", "OkResult", "Session", "SessionConfig", "session_of"]

AuthHook = Callable[[str, str], "Mapping[str, Any] | Awaitable[Mapping[str, Any]]"]
"""``hook(challenge, relay_url)`` returns a signed kind-22242 event (or an awaitable of it)."""


class OkResult(NamedTuple):
    """A relay's answer to a published event (NIP-01 ``OK``)."""

    event_id: str  # the event published
    accepted: bool  # stored (or already had it)
    message: str  # the relay's full text
    prefix: str  # machine-readable prefix ("duplicate", "invalid", ...) or ""


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """How a session resumes and retries.

    Args:
        resume_overlap: seconds subtracted from the newest ``created_at`` delivered when a
            subscription is resumed, for events stamped a little out of order.
        seen_cap: how many delivered event ids a subscription remembers to drop repeats
            (older ones beyond the overlap window are forgotten first).
        rate_limit_delay: first delay before retrying after ``rate-limited:``; doubles on
            each further one, down to nothing again after a success.
        max_rate_limit_delay: cap of that delay.
        max_retries: retries of one REQ or EVENT after ``rate-limited:``.
    """

    resume_overlap: int = 30
    seen_cap: int = 10_000
    rate_limit_delay: float = 1.0
    max_rate_limit_delay: float = 30.0
    max_retries: int = 3


@dataclass(eq=False)
class _Sub:
    """One live subscription: its filters, its observer and what it delivered."""

    sub_id: str
    filters: list[dict[str, Any]]
    on_event: Callable[[dict[str, Any]], None]
    on_error: Callable[[Exception], None]
    on_completed: Callable[[], None]
    close_on_eose: bool
    sent_on: int | None = None  # socket generation that took the latest REQ
    newest: int | None = None  # largest created_at delivered
    seen: dict[str, int] = field(default_factory=dict)  # delivered ids → created_at
    eosed: bool = False  # stored events are done
    auth_tried: bool = False  # the one AUTH retry was used
    retries: int = 0  # rate-limited retries used
    timer: abc.DisposableBase | None = None  # a delayed retry, pending


@dataclass(eq=False)
class _Publish:
    """One event waiting for its OK; several subscribers may wait for the same event."""

    event_id: str
    envelope: str
    observers: list[tuple[Callable[[OkResult], None], Callable[[Exception], None]]]
    sent_on: int | None = None  # socket generation that took the EVENT
    auth_tried: bool = False
    retries: int = 0
    timer: abc.DisposableBase | None = None  # a delayed retry, pending


_sessions: WeakKeyDictionary[Connection, Session] = WeakKeyDictionary()


def session_of(conn: Connection, config: SessionConfig | None = None) -> Session:
    """Return the connection's session, creating it on first use."""
    session = _sessions.get(conn)
    if session is None:
        session = _sessions[conn] = Session(conn, config)
    return session


class Session:
    """Tracks one initiator connection's subscriptions and unanswered publishes."""

    def __init__(self, conn: Connection, config: SessionConfig | None = None) -> None:
        self.conn = conn  # the connection served
        self.config = config if config is not None else SessionConfig()  # resume/retry knobs
        self.subs: dict[str, _Sub] = {}  # live subscriptions by id
        self.publishes: dict[str, _Publish] = {}  # events waiting for OK, by id
        self.challenge: str | None = None  # latest NIP-42 challenge from the relay
        self.auth_hook: AuthHook | None = None  # signs AUTH events, when set
        self.slowdown = 0.0  # current delay before a rate-limited retry (0: none yet)
        self._awaiting_write: dict[str, _Sub | _Publish] = {}  # envelope → its owner
        self._tasks: set[asyncio.Task[Any]] = set()  # running auth hooks
        self._next_id = 0  # generated subscription ids
        ch = conn.channels()
        ch["EVENT"].subscribe(self._on_event)
        ch["EOSE"].subscribe(self._reading(find_eose, self._on_eose))
        ch["CLOSED"].subscribe(self._reading(find_closed, self._on_closed))
        ch["OK"].subscribe(self._reading(find_ok, self._on_ok))
        ch["AUTH"].subscribe(self._on_auth)
        conn.written.subscribe(self._on_written)
        conn.opened.subscribe(lambda _: self._restore())
        conn.state.subscribe(self._on_state)

    def _reading(
        self, find: Callable[[str], Any], handle: Callable[..., None]
    ) -> Callable[[str], None]:
        """Parse each envelope with ``find`` and pass its fields to ``handle``.

        A malformed envelope is reported on the connection's ``errors`` and skipped.
        """

        def on_envelope(envelope: str) -> None:
            try:
                fields = find(envelope)
            except RootsError as err:
                self.conn.report(err)
                return
            if isinstance(fields, tuple):
                handle(*fields)
            else:
                handle(fields)

        return on_envelope

    # -- scheduling ----------------------------------------------------------------------

    @property
    def scheduler(self) -> abc.SchedulerBase:
        return resolve_scheduler(self.conn.scheduler, None, "the initiator session")

    def _later(self, delay: float, action: Callable[[], None]) -> abc.DisposableBase:
        return self.scheduler.schedule_relative(delay, lambda _s, _st: action())

    def _retry_later(self, owner: _Sub | _Publish, action: Callable[[], None]) -> None:
        """Run ``action`` after the (growing) rate-limit delay, failing ``owner`` if it raises."""

        def fire() -> None:
            owner.timer = None
            try:
                action()
            except HoneybeeError as exc:  # the connection ended meanwhile
                self._fail(owner, exc)

        owner.timer = self._later(self._slow_down(), fire)

    def _slow_down(self) -> float:
        cfg = self.config
        self.slowdown = min(cfg.max_rate_limit_delay, max(cfg.rate_limit_delay, 2 * self.slowdown))
        return self.slowdown

    # -- subscriptions -------------------------------------------------------------------

    def new_sub_id(self) -> str:
        """A subscription id unique on this connection (and short: ≤ 64 chars)."""
        self._next_id += 1
        return f"rx{self._next_id}"

    def subscribe(
        self,
        sub_id: str,
        filters: Sequence[Mapping[str, Any]],
        on_event: Callable[[dict[str, Any]], None],
        on_error: Callable[[Exception], None],
        on_completed: Callable[[], None],
        close_on_eose: bool,
    ) -> abc.DisposableBase:
        """Send REQ ``sub_id`` and route its events; dispose to send CLOSE."""
        sub = _Sub(
            sub_id, [dict(f) for f in filters], on_event, on_error, on_completed, close_on_eose
        )
        self.subs[sub_id] = sub
        self._send_req(sub, sub.filters)

        def dispose() -> None:
            if self.subs.get(sub_id) is sub:
                self._forget(sub)
                if self.conn.status not in (ConnectionStatus.CLOSED, ConnectionStatus.ERROR):
                    self._send(enclose_close(sub_id), None)

        return Disposable(dispose)

    def _send_req(self, sub: _Sub, filters: list[dict[str, Any]]) -> None:
        self._send(enclose_req(sub.sub_id, filters), sub)

    def _resume_filters(self, sub: _Sub) -> list[dict[str, Any]]:
        if sub.newest is None:
            return sub.filters
        since = sub.newest - self.config.resume_overlap
        return [{**f, "since": max(int(f.get("since", 0)), since)} for f in sub.filters]

    def _forget(self, sub: _Sub) -> None:
        self.subs.pop(sub.sub_id, None)
        if sub.timer is not None:
            sub.timer.dispose()

    def _on_event(self, envelope: str) -> None:
        """Route one inbound EVENT to its subscription, once (the per-event path)."""
        try:
            sub_id, event = find_subscription_event(envelope)
        except RootsError as err:
            self.conn.report(err)
            return
        sub = self.subs.get(sub_id)
        if sub is None:
            return
        event_id = event.get("id")
        created = event.get("created_at")
        if type(event_id) is str and type(created) is int:
            seen = sub.seen
            if event_id in seen:
                return
            seen[event_id] = created
            if sub.newest is None or created > sub.newest:
                sub.newest = created
            if len(seen) > self.config.seen_cap:
                self._prune(sub)
        sub.on_event(event)  # without an id and a time there is nothing to deduplicate by

    def _prune(self, sub: _Sub) -> None:
        """Forget delivered ids outside the resume window, then the oldest remembered."""
        assert sub.newest is not None
        floor = sub.newest - self.config.resume_overlap
        kept = {i: t for i, t in sub.seen.items() if t >= floor}
        while len(kept) > self.config.seen_cap:
            del kept[next(iter(kept))]
        sub.seen = kept

    def _on_eose(self, sub_id: str) -> None:
        sub = self.subs.get(sub_id)
        if sub is None:
            return
        sub.eosed = True
        self.slowdown = 0.0
        if sub.close_on_eose:
            self._forget(sub)
            self._send(enclose_close(sub_id), None)
            sub.on_completed()

    def _on_closed(self, sub_id: str, message: str) -> None:
        sub = self.subs.get(sub_id)
        if sub is None:
            return
        prefix, _ = classify_reason(message)
        sub.sent_on = None  # the relay dropped it: nothing to resume
        if prefix == "auth-required" and not sub.auth_tried and self._can_auth():
            sub.auth_tried = True
            self._authenticate(lambda: self._send_req(sub, self._resume_filters(sub)), sub)
            return
        if prefix == "rate-limited" and sub.retries < self.config.max_retries:
            sub.retries += 1
            self._retry_later(sub, lambda: self._send_req(sub, self._resume_filters(sub)))
            return
        self._forget(sub)
        sub.on_error(SubscriptionClosed(sub_id, message, prefix))

    # -- publishes -----------------------------------------------------------------------

    def publish(
        self,
        event: Mapping[str, Any],
        on_result: Callable[[OkResult], None],
        on_error: Callable[[Exception], None],
    ) -> Callable[[], None]:
        """Send EVENT (once for concurrent publishes of one event); return a detach function."""
        event_id = event.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise WrongFieldType("event id", "non-empty string", type(event_id).__name__)
        observer = (on_result, on_error)
        pub = self.publishes.get(event_id)
        if pub is None:
            pub = _Publish(event_id, enclose_event(event), [observer])
            self.publishes[event_id] = pub
            self._send(pub.envelope, pub)
        else:
            pub.observers.append(observer)

        def detach() -> None:
            if observer in pub.observers:
                pub.observers.remove(observer)
            if not pub.observers and self.publishes.get(event_id) is pub:
                self._drop_publish(pub)

        return detach

    def _drop_publish(self, pub: _Publish) -> None:
        self.publishes.pop(pub.event_id, None)
        self._awaiting_write.pop(pub.envelope, None)
        if pub.timer is not None:
            pub.timer.dispose()

    def _on_ok(self, event_id: str, accepted: bool, message: str) -> None:
        pub = self.publishes.get(event_id)
        if pub is None:  # late, unasked, or unmatchable (some relays send an empty id)
            verdict = "accepted" if accepted else "refused"
            self.conn.report(
                UnexpectedOk(f"OK for no pending event {event_id!r} ({verdict}): {message}")
            )
            return
        prefix, _ = classify_reason(message)
        if not accepted:
            if prefix == "auth-required" and not pub.auth_tried and self._can_auth():
                pub.auth_tried = True
                self._authenticate(lambda: self._send(pub.envelope, pub), pub)
                return
            if prefix == "rate-limited" and pub.retries < self.config.max_retries:
                pub.retries += 1
                pub.sent_on = None  # answered: a reconnect must not resend it too
                self._retry_later(pub, lambda: self._send(pub.envelope, pub))
                return
        else:
            self.slowdown = 0.0
        self._drop_publish(pub)
        result = OkResult(event_id, accepted, message, prefix)
        for on_result, _ in list(pub.observers):
            on_result(result)

    # -- auth ----------------------------------------------------------------------------

    def _on_auth(self, envelope: str) -> None:
        try:
            self.challenge = find_auth_challenge(envelope)
        except RootsError:
            pass  # an AUTH with an event is a client's message; not ours to read

    def _can_auth(self) -> bool:
        return self.auth_hook is not None and self.challenge is not None

    def _authenticate(self, retry: Callable[[], None], owner: _Sub | _Publish) -> None:
        """Run the hook, send AUTH, then ``retry``; a failing hook fails ``owner``."""
        assert self.auth_hook is not None and self.challenge is not None
        try:
            signed = self.auth_hook(self.challenge, self.conn.url)
        except Exception as exc:
            self._fail(owner, exc)
            return
        if not inspect.isawaitable(signed):
            self._send(enclose_auth_response(signed), None)
            retry()
            return

        async def wait() -> None:
            try:
                event = await signed
            except Exception as exc:
                self._fail(owner, exc)
                return
            self._send(enclose_auth_response(event), None)
            retry()

        task = asyncio.get_running_loop().create_task(wait())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fail(self, owner: _Sub | _Publish, error: Exception) -> None:
        if isinstance(owner, _Sub):
            self._forget(owner)
            owner.on_error(error)
        else:
            self._drop_publish(owner)
            for _, on_error in list(owner.observers):
                on_error(error)

    # -- the socket's life ---------------------------------------------------------------

    def _send(self, envelope: str, owner: _Sub | _Publish | None) -> None:
        if owner is not None:
            owner.sent_on = None
            self._awaiting_write[envelope] = owner
        self.conn.send(envelope)

    def _on_written(self, envelope: str) -> None:
        owner = self._awaiting_write.pop(envelope, None)
        if owner is not None:
            owner.sent_on = self.conn.generation

    def _restore(self) -> None:
        """A socket came up: resend what a previous socket took and never answered."""
        current = self.conn.generation
        for sub in list(self.subs.values()):
            if sub.sent_on is not None and sub.sent_on < current and sub.timer is None:
                self._send_req(sub, self._resume_filters(sub))
        for pub in list(self.publishes.values()):
            if pub.sent_on is not None and pub.sent_on < current:
                self._send(pub.envelope, pub)

    def _on_state(self, status: ConnectionStatus) -> None:
        if status not in (ConnectionStatus.CLOSED, ConnectionStatus.ERROR):
            return
        for task in self._tasks:
            task.cancel()
        ended = InvalidState(f"the connection is {status.name}")
        for sub in list(self.subs.values()):
            self._forget(sub)
            if status is ConnectionStatus.CLOSED:
                sub.on_completed()
            else:
                sub.on_error(ended)
        for pub in list(self.publishes.values()):
            self._fail(pub, ended)
