"""The initiator's memory of one connection: what it asked for and what it is still owed.

The seed's subscription registry, grown into what users of nostr-tools, NDK and go-nostr
miss: after every reconnect the live subscriptions are sent again (resumed, in the
registry's order) and events already delivered are not delivered twice; publishes still
waiting for their OK are sent again instead of failing; ``auth-required:`` runs the user's
AUTH hook and retries once; ``rate-limited:`` delays the retry and slows every further
retry on this connection. All timers run on the connection's scheduler.

A session belongs to its connection (``conn.session``) and is freed with it; there is no
module-level registry. Its settings are fixed when it is made: make one explicitly,
``Session(conn, config, registry=..., auth=...)``, before the first ``request``/``publish``
(which otherwise make a default one).
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from reactivex import abc

from rx_honeybee._operators._scheduler import resolve_scheduler
from rx_honeybee.checked import EventChecker
from rx_honeybee.client.deadlines import Deadlines
from rx_honeybee.client.publishes import OkResult, Publishes
from rx_honeybee.client.registry import Registry
from rx_honeybee.client.retry import Pending, Phase, RetryPolicy, SessionConfig
from rx_honeybee.client.room import WaitingRoom
from rx_honeybee.client.subscriptions import Subscriptions
from rx_honeybee.connection import Connection
from rx_honeybee.errors import HoneybeeError, InvalidState
from rx_honeybee.interfaces import SubscriptionRegistry
from rx_honeybee.roles import Role, require_role
from rx_roots import (
    ConnectionStatus,
    RootsError,
    enclose_auth_response,
    find_auth_challenge,
    find_closed,
    find_eose,
    find_ok,
)

__all__ = ["AuthHook", "OkResult", "Session", "SessionConfig"]

_AUTHS_KEPT = 4  # AUTH event ids remembered to recognise the relay's OK to them

AuthHook = Callable[[str, str], "Mapping[str, Any] | Awaitable[Mapping[str, Any]]"]
"""``hook(challenge, relay_url)`` returns a signed kind-22242 event (or an awaitable of it)."""


class Session:
    """Tracks one initiator connection's subscriptions and unanswered publishes.

    Args:
        conn: the connection; it holds the session (``conn.session``) from now on.
        config: how to resume and retry (``SessionConfig()``).
        registry: what is restored after a reconnect, and in which order (oldest first).
        auth: the NIP-42 hook answering ``auth-required:``; none by default.

    Raises:
        RoleError: ``conn`` is a responder.
        InvalidState: ``conn`` has a session already (its settings are fixed).
    """

    def __init__(
        self,
        conn: Connection,
        config: SessionConfig | None = None,
        *,
        registry: SubscriptionRegistry | None = None,
        auth: AuthHook | None = None,
    ) -> None:
        require_role(conn.role, Role.INITIATOR, "a session")
        if conn.session is not None:
            raise InvalidState(
                f"{conn.url} has a session already; its settings are fixed: make the "
                "Session before the first request() or publish()"
            )
        self.conn = conn  # the connection served
        self.config = config if config is not None else SessionConfig()  # resume/retry knobs
        self.registry: SubscriptionRegistry = registry if registry is not None else Registry()
        self.auth = auth  # signs AUTH events, when set
        self.retry = RetryPolicy(self.config)  # the one retry policy
        self.subscriptions = Subscriptions(self)  # live REQs
        self.publishes = Publishes(self)  # EVENTs waiting for OK
        self._deadlines: Deadlines | None = None  # publish timeouts, made at the first
        self.challenge: str | None = None  # latest NIP-42 challenge from the relay
        self._tasks: set[asyncio.Task[Any]] | None = None  # running auth hooks, if any
        self._checkers: dict[bool, EventChecker] = {}  # by ``verify``, made on first use
        self._auth_ids: deque[str] = deque(maxlen=_AUTHS_KEPT)  # AUTH events sent lately
        self.room = WaitingRoom(conn)  # sends refused for a full queue, waiting for a slot
        self._up = False  # a socket is open (CONNECTED)
        conn.tap(
            {
                "EVENT": self.subscriptions.on_event,
                "EOSE": _Reader(find_eose, self.subscriptions.on_eose, conn.report),
                "CLOSED": _Reader(find_closed, self.subscriptions.on_closed, conn.report),
                "OK": _Reader(find_ok, self.publishes.on_ok, conn.report),
                "AUTH": self._on_auth,
            }
        )
        conn.opened.subscribe(self._restore)
        conn.state.subscribe(self._on_state)
        conn.session = self

    @classmethod
    def of(cls, conn: Connection) -> Session:
        """The connection's session, made with default settings on first use."""
        session = conn.session
        return session if session is not None else cls(conn)

    # -- what subscriptions and publishes use --------------------------------------------

    @property
    def deadlines(self) -> Deadlines:
        """The timeouts of this session's publishes, on one timer (made on first use)."""
        if self._deadlines is None:
            self._deadlines = Deadlines(lambda: self.scheduler)
        return self._deadlines

    def checker(self, verify: bool) -> EventChecker:
        """This connection's event checker: verifying ids and signatures, or shapes only."""
        checker = self._checkers.get(verify)
        if checker is None:
            checker = self._checkers[verify] = EventChecker(verify=verify)
        return checker

    @property
    def scheduler(self) -> abc.SchedulerBase:
        """The connection's time source."""
        return resolve_scheduler(self.conn.scheduler, None, "the initiator session")

    def now(self) -> float:
        """The local clock, Unix seconds (virtual under a test scheduler)."""
        return self.scheduler.now.timestamp()

    def send(self, envelope: str, item: Pending) -> None:
        """Queue ``envelope`` for ``item``; the write is confirmed to it by callback."""
        item.phase = Phase.QUEUED
        self.conn.send(envelope, on_written=item)

    def send_quietly(self, envelope: str) -> None:
        """Queue a CLOSE or AUTH no one waits for: it waits for room in a full queue;
        another refusal is reported, not raised."""
        if self.conn.status in (ConnectionStatus.CLOSED, ConnectionStatus.ERROR):
            return
        self.room.send(lambda: self.conn.send(envelope), self.conn.report)

    def retry_later(
        self, item: Pending, action: Callable[[], None], fail: Callable[[Exception], None]
    ) -> None:
        """Run ``action`` after the policy's delay; ``fail`` if the connection refuses it."""

        def fire(_s: Any, _st: Any) -> None:
            item.timer = None
            if item.phase is not Phase.RETRY_WAIT:
                return
            try:
                action()
            except HoneybeeError as exc:  # the connection ended meanwhile
                fail(exc)

        item.timer = self.scheduler.schedule_relative(self.retry.next_delay(), fire)

    def auth_answered(self, event_id: str, accepted: bool, message: str) -> bool:
        """Whether an OK answers one of our AUTH events (a refusal is reported)."""
        if event_id not in self._auth_ids:
            return False
        if not accepted:
            self.conn.report(HoneybeeError(f"{self.conn.url} refused our AUTH: {message}"))
        return True

    def can_authenticate(self) -> bool:
        """Whether an AUTH hook and a challenge are there to answer ``auth-required:``."""
        return self.auth is not None and self.challenge is not None

    def authenticate(self, retry: Callable[[], None], fail: Callable[[Exception], None]) -> None:
        """Run the hook, send AUTH, then ``retry``; a failing hook calls ``fail``."""
        assert self.auth is not None and self.challenge is not None
        try:
            signed = self.auth(self.challenge, self.conn.url)
        except Exception as exc:
            fail(exc)
            return
        if not inspect.isawaitable(signed):
            self._answer(signed, retry, fail)
            return

        async def wait() -> None:
            try:
                event = await signed
            except Exception as exc:
                fail(exc)
                return
            self._answer(event, retry, fail)

        task = asyncio.get_running_loop().create_task(wait())
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _answer(
        self,
        event: Mapping[str, Any],
        retry: Callable[[], None],
        fail: Callable[[Exception], None],
    ) -> None:
        try:
            self.conn.send(enclose_auth_response(event))
            self._auth_ids.append(str(event.get("id")))
            retry()
        except (HoneybeeError, RootsError) as exc:
            fail(exc)

    # -- the socket's life ---------------------------------------------------------------

    def _on_auth(self, envelope: str) -> None:
        try:
            self.challenge = find_auth_challenge(envelope)
        except RootsError:
            pass  # an AUTH with an event is a client's message; not ours to read

    def _restore(self, _: object = None) -> None:
        """A socket came up: resend what a previous socket took and never answered."""
        generation = self.conn.generation
        self.subscriptions.restore(generation)
        self.publishes.restore(generation)

    def _on_state(self, status: ConnectionStatus) -> None:
        if status is ConnectionStatus.CONNECTED:
            self._up = True
            return
        if self._up:  # the socket was lost now: what had its EOSE resumes from here
            self._up = False
            self.subscriptions.lost(self.now())
        if status not in (ConnectionStatus.CLOSED, ConnectionStatus.ERROR):
            return
        for task in self._tasks or ():
            task.cancel()
        if self._deadlines is not None:
            self._deadlines.clear()
        self.room.clear()
        ended = InvalidState(f"the connection is {status.name}")
        self.subscriptions.end_all(None if status is ConnectionStatus.CLOSED else ended)
        self.publishes.end_all(ended)


class _Reader:
    """Parses each envelope with ``find`` and passes its fields to ``handle``.

    A malformed envelope is reported (``report``) and skipped. A small object rather than
    a closure: every connection with a session holds three.
    """

    __slots__ = ("_find", "_handle", "_report")

    def __init__(
        self,
        find: Callable[[str], Any],
        handle: Callable[..., None],
        report: Callable[[Exception], None],
    ) -> None:
        self._find = find  # an rx_roots find_* function
        self._handle = handle  # gets the fields
        self._report = report  # gets a RootsError

    def __call__(self, envelope: str) -> None:
        try:
            fields = self._find(envelope)
        except RootsError as err:
            self._report(err)
            return
        if isinstance(fields, tuple):
            self._handle(*fields)
        else:
            self._handle(fields)
