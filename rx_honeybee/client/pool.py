"""A pool of relays: one Connection each, merged streams, subscriptions over all of them.

The seed's connection pool, translated: relays are added and removed at any time; each
dials on its own (a relay that is down or refusing never blocks or delays the others);
subscriptions go to every relay, including relays added later, survive reconnects (each
connection's session resumes them) and drop the same event arriving from several relays.
URLs are normalized (``normalize_relay_url``): any spelling reaches the same relay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import Disposable

from rx_honeybee.checked import EventChecker
from rx_honeybee.client.initiator import publish as publish_on
from rx_honeybee.client.initiator import request
from rx_honeybee.client.seen import SeenIds
from rx_honeybee.client.session import OkResult
from rx_honeybee.config import ConnectionConfig
from rx_honeybee.connection import Connection
from rx_honeybee.errors import (
    InvalidState,
    RelayAlreadyExists,
    RelayNotFound,
    SubscriptionDuplicate,
    SubscriptionNotFound,
)
from rx_honeybee.hot import HotStream
from rx_honeybee.interfaces import ConnectionFactory, FanOut, send_each
from rx_honeybee.lean import Handlers, LeanObservable, OnDispose
from rx_honeybee.tasks import TaskSet
from rx_honeybee.transport.client import SharedSession, shared_sockets
from rx_roots import ConnectionStatus, normalize_relay_url

__all__ = ["Pool"]

_SEEN_CAP = 50_000  # event ids remembered per pool subscription to drop cross-relay repeats

RelayEvent = tuple[str, dict[str, Any]]


@dataclass(eq=False)
class _PoolSub:
    """One pool subscription: its filters, its observer and its per-relay requests."""

    sub_id: str
    filters: list[dict[str, Any]]
    observer: abc.ObserverBase[RelayEvent]
    close_on_eose: bool = False  # complete once every relay sent EOSE (or failed)
    verify: bool | EventChecker = True  # given to each relay's request()
    per_relay: dict[str, abc.DisposableBase] = field(default_factory=dict)
    seen: SeenIds = field(default_factory=lambda: SeenIds(_SEEN_CAP))  # ids delivered


class Pool:
    """Several relays behind one set of streams.

    Args:
        urls: relays to connect to on entering (``async with``).
        config: every connection's configuration.
        scheduler: time source for every connection (a ``TestScheduler`` in tests).
        connection_factory: builds each relay's connection, called as
            ``factory(url, config, scheduler=scheduler)`` (to give every relay, say, an
            rx_mana queue or circuit breaker); ``Connection(...)`` by default.
    """

    def __init__(
        self,
        urls: Iterable[str] = (),
        config: ConnectionConfig | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
        connection_factory: ConnectionFactory | None = None,
        fan_out: FanOut | None = None,
    ) -> None:
        self.config = config if config is not None else ConnectionConfig()  # per connection
        self._fan_out = fan_out if fan_out is not None else send_each  # broadcast's sender
        self._scheduler = scheduler  # shared time source
        self._factory = connection_factory  # builds each relay's connection, if given
        self._http = SharedSession()  # one aiohttp session for every default connection
        self._sockets = shared_sockets(self._http)  # their socket factory
        self._initial = list(dict.fromkeys(normalize_relay_url(u) for u in urls))  # to dial
        self._conns: dict[str, Connection] = {}  # normalized url → connection
        self._wiring: dict[str, list[abc.DisposableBase]] = {}  # url → stream subscriptions
        self._subs: dict[str, _PoolSub] = {}  # pool subscriptions by id
        self._statuses: HotStream[dict[str, ConnectionStatus]] = HotStream(
            replay_last=True, initial={}
        )  # the status of every relay, replayed
        self._messages: HotStream[tuple[str, str]] | None = None  # (url, envelope), on demand
        self._errors: HotStream[tuple[str, Exception]] = HotStream()  # (url, fault)
        self._membership: HotStream[tuple[str, Connection | None]] = HotStream()  # joins/leaves
        self._tasks = TaskSet()  # background dials
        self._closed = False  # close() was called
        self._verifier: EventChecker | None = None  # checks ids and signatures for all relays

    # -- lifetime ------------------------------------------------------------------------

    async def __aenter__(self) -> Pool:
        for url in self._initial:
            if url not in self._conns:
                self._attach(url)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every relay and end every stream; idempotent."""
        if self._closed:
            return
        self._closed = True
        for sub in list(self._subs.values()):
            self._end_sub(sub)
        conns = list(self._conns.values())
        await asyncio.gather(*(conn.close() for conn in conns))
        await self._tasks.drain()
        await self._http.close()
        for url in list(self._conns):
            self._detach(url)
        self._statuses.on_completed()
        if self._messages is not None:
            self._messages.on_completed()
        self._errors.on_completed()
        self._membership.on_completed()

    # -- relays --------------------------------------------------------------------------

    @property
    def relays(self) -> list[str]:
        """The pool's relay URLs (normalized)."""
        return list(self._conns)

    def connection(self, url: str) -> Connection:
        """The connection to ``url`` (any spelling).

        Raises:
            RelayNotFound: not in the pool.
        """
        key = normalize_relay_url(url)
        conn = self._conns.get(key)
        if conn is None:
            raise RelayNotFound(f"relay {key} is not in the pool")
        return conn

    async def add_relay(self, url: str) -> None:
        """Add ``url`` and start dialling it (without waiting for it to come up).

        Raises:
            RelayAlreadyExists: the pool has it already (under any spelling).
            InvalidState: the pool is closed.
        """
        if self._closed:
            raise InvalidState("the pool is closed")
        key = normalize_relay_url(url)
        if key in self._conns:
            raise RelayAlreadyExists(f"relay {key} is already in the pool")
        self._attach(key)

    async def remove_relay(self, url: str) -> None:
        """Close ``url``'s subscriptions (CLOSE is sent) and its connection.

        Raises:
            RelayNotFound: not in the pool.
        """
        key = normalize_relay_url(url)
        conn = self.connection(key)
        for sub in list(self._subs.values()):
            requested = sub.per_relay.pop(key, None)
            if requested is not None:
                requested.dispose()
                self._maybe_done(sub)  # it may have been the last relay owing an EOSE
        await conn.close()
        self._detach(key)
        self._publish_statuses()

    def status(self, url: str) -> ConnectionStatus:
        """The status of ``url`` (any spelling); ``RelayNotFound`` if not in the pool."""
        return self.connection(url).status

    @property
    def statuses(self) -> Observable[dict[str, ConnectionStatus]]:
        """Every relay's status, as a new dict on each change; replays the current one."""
        return self._statuses

    @property
    def messages(self) -> Observable[tuple[str, str]]:
        """Every inbound envelope as ``(relay_url, envelope)``.

        Wired to the relays on first use: until then no envelope pays for the pair.
        """
        if self._messages is None:
            self._messages = HotStream()
            if self._closed:
                self._messages.on_completed()
            for url, conn in self._conns.items():
                self._wiring[url].append(self._forward(url, conn, self._messages))
        return self._messages

    @property
    def errors(self) -> Observable[tuple[str, Exception]]:
        """Every relay's faults as ``(relay_url, error)``; one relay's fault ends nothing."""
        return self._errors

    @property
    def membership(self) -> Observable[tuple[str, Connection | None]]:
        """Each relay joining, as ``(url, its connection)`` before it dials, and leaving,
        as ``(url, None)``; completes on close. Where a pool that follows each relay (rx_mana's
        ``BalancedPool`` tracks their health) hooks in: not replayed, so subscribe before
        relays are added (``__aenter__``, ``add_relay``)."""
        return self._membership

    def _attach(self, url: str) -> None:
        if self._factory is not None:
            conn = self._factory(url, self.config, scheduler=self._scheduler)
        else:
            conn = Connection(
                url, self.config, scheduler=self._scheduler, socket_factory=self._sockets
            )
        self._conns[url] = conn
        self._wiring[url] = [
            conn.state.subscribe(self._publish_statuses),
            conn.errors.subscribe(lambda err: self._errors.on_next((url, err))),
        ]
        if self._messages is not None:
            self._wiring[url].append(self._forward(url, conn, self._messages))
        for sub in self._subs.values():
            self._request(sub, url, conn)
        self._membership.on_next((url, conn))
        self._tasks.spawn(self._dial(url, conn))

    @staticmethod
    def _forward(
        url: str, conn: Connection, into: HotStream[tuple[str, str]]
    ) -> abc.DisposableBase:
        return conn.messages.subscribe(lambda envelope: into.on_next((url, envelope)))

    async def _dial(self, url: str, conn: Connection) -> None:
        try:
            await conn.connect()
        except Exception:
            pass  # reported on errors already; the relay's status says ERROR

    def _detach(self, url: str) -> None:
        conn = self._conns.pop(url, None)
        for wire in self._wiring.pop(url, []):
            wire.dispose()
        if conn is not None:
            self._membership.on_next((url, None))

    def _publish_statuses(self, _: object = None) -> None:
        self._statuses.on_next({url: c.status for url, c in self._conns.items()})

    # -- sending -------------------------------------------------------------------------

    def send_to(self, url: str, envelope: str) -> None:
        """Queue ``envelope`` on one relay (``RelayNotFound``, or the connection's errors)."""
        self.connection(url).send(envelope)

    def broadcast(self, envelope: str) -> list[Exception]:
        """Queue ``envelope`` on every relay; return the errors of those that refused it."""
        return self._fan_out(list(self._conns.values()), envelope)

    def publish(self, event: Mapping[str, Any], *, timeout: float = 10.0) -> Observable[OkResult]:
        """Publish ``event`` to every relay; emit each relay's :class:`OkResult`.

        Completes once every relay answered or gave up; a relay that timed out or failed
        emits nothing and reports the fault (``PublishTimeout``...) on ``errors``. Use
        :meth:`publish_to` for one given relay's answer.
        """

        return _PoolPublish(self, event, timeout)

    def publish_to(
        self, url: str, event: Mapping[str, Any], *, timeout: float = 10.0
    ) -> Observable[OkResult]:
        """Publish ``event`` to one relay of the pool (see ``initiator.publish``)."""
        return publish_on(self.connection(url), event, timeout=timeout)

    # -- subscriptions -------------------------------------------------------------------

    def subscribe(
        self,
        sub_id: str,
        filters: Sequence[Mapping[str, Any]],
        *,
        close_on_eose: bool = False,
        verify: bool = True,
    ) -> Observable[RelayEvent]:
        """REQ ``sub_id`` on every relay (now and added later); emit ``(relay_url, event)``.

        Each event is emitted once, from the first relay that delivers it, well formed and
        (unless ``verify`` is False) with a right id and signature, verified once however
        many relays send it (one checker for the pool); forged or malformed events are
        reported on ``errors`` as ``(url, InvalidEvent)``. Each relay
        resumes the subscription after its reconnects. Disposing (or
        :meth:`unsubscribe`) sends CLOSE everywhere. A relay that ends the subscription
        (CLOSED) reports it on ``errors``; the others go on. Completes when the pool
        closes, or with ``close_on_eose`` once every relay sent EOSE or failed.
        """
        wanted = [dict(f) for f in filters]

        def subscribe(
            observer: abc.ObserverBase[RelayEvent], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            if self._closed:
                observer.on_error(InvalidState("the pool is closed"))
                return Disposable()
            if sub_id in self._subs:
                observer.on_error(SubscriptionDuplicate(f"subscription {sub_id} is active"))
                return Disposable()
            sub = _PoolSub(sub_id, wanted, observer, close_on_eose, self._checker(verify))
            self._subs[sub_id] = sub
            for url, conn in list(self._conns.items()):
                self._request(sub, url, conn)
            self._maybe_done(sub)

            def dispose() -> None:
                if self._subs.get(sub_id) is sub:
                    self._drop_sub(sub)

            return Disposable(dispose)

        return Observable(subscribe)

    @property
    def checker(self) -> EventChecker:
        """The one checker verifying events for every relay (its counters: ``checked``,
        ``cache_hits``, ``rejected``); made on first use."""
        if self._verifier is None:
            self._verifier = EventChecker()
        return self._verifier

    def _checker(self, verify: bool) -> bool | EventChecker:
        return self.checker if verify else False

    def unsubscribe(self, sub_id: str) -> None:
        """Send CLOSE for ``sub_id`` everywhere and complete its stream.

        Raises:
            SubscriptionNotFound: no active pool subscription has that id.
        """
        sub = self._subs.get(sub_id)
        if sub is None:
            raise SubscriptionNotFound(f"no subscription {sub_id}")
        self._end_sub(sub)

    def _request(self, sub: _PoolSub, url: str, conn: Connection) -> None:
        ended = False  # this relay's request already finished (maybe synchronously)

        def on_event(event: dict[str, Any]) -> None:
            if sub.seen.add(event["id"]):  # checked by request(): the id is a str
                sub.observer.on_next((url, event))

        def finish(error: Exception | None) -> None:
            nonlocal ended
            ended = True
            sub.per_relay.pop(url, None)
            if error is not None:
                self._errors.on_next((url, error))
            self._maybe_done(sub)

        try:
            requested = request(
                conn,
                sub.filters,
                sub_id=sub.sub_id,
                close_on_eose=sub.close_on_eose,
                verify=sub.verify,
            )
            disposable = requested.subscribe(on_event, finish, lambda: finish(None))
        except Exception as exc:
            finish(exc)
            return
        if not ended:
            sub.per_relay[url] = disposable

    def _maybe_done(self, sub: _PoolSub) -> None:
        """With ``close_on_eose``: complete once no relay is still sending stored events."""
        if sub.close_on_eose and not sub.per_relay and self._subs.get(sub.sub_id) is sub:
            self._end_sub(sub)

    def _drop_sub(self, sub: _PoolSub) -> None:
        self._subs.pop(sub.sub_id, None)
        for requested in list(sub.per_relay.values()):
            requested.dispose()
        sub.per_relay.clear()

    def _end_sub(self, sub: _PoolSub) -> None:
        self._drop_sub(sub)
        sub.observer.on_completed()


class _PoolPublish(LeanObservable[OkResult]):
    """``Pool.publish``: one ``publish()`` per relay, merged; completes when all are done."""

    def __init__(self, pool: Pool, event: Mapping[str, Any], timeout: float) -> None:
        self._pool = pool  # whose relays
        self._event = event  # what
        self._timeout = timeout  # per relay

    def _attach(
        self, handlers: Handlers, scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        on_next, _, on_completed = handlers
        targets = list(self._pool._conns.items())
        remaining = len(targets)
        calls: list[abc.DisposableBase] = []
        if not remaining:
            on_completed()
            return OnDispose(_nothing)

        def finished() -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0:
                on_completed()

        for url, conn in targets:

            def failed(error: Exception, url: str = url) -> None:
                self._pool._errors.on_next((url, error))
                finished()

            try:
                answer = publish_on(conn, self._event, timeout=self._timeout)
            except Exception as exc:
                failed(exc)
                continue
            calls.append(answer.subscribe(on_next, failed, finished))

        def dispose() -> None:
            for call in calls:
                call.dispose()

        return OnDispose(dispose)


def _nothing() -> None:
    pass
