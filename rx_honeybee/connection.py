"""The initiator-side Connection: hot streams over a socket that reconnects by itself.

The socket is a cold Observable (subscribe = dial and read, see :mod:`rx_honeybee.socket`);
the connection subscribes to::

    defer(dial).pipe(monitor_health(...)).pipe(retry_when(backoff_notifier(...)))

and fans what comes out into hot streams that never end across reconnects. Everything runs
on the asyncio loop of the caller of :meth:`Connection.connect`; every timer goes through
the connection's scheduler, so tests can drive it in virtual time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler.eventloop import AsyncIOScheduler

from rx_honeybee.channels import EVENT_FRONT, EVENT_FRONT_BYTES, ChannelHub
from rx_honeybee.config import ConnectionConfig
from rx_honeybee.errors import ConnectionClosed, InvalidState, WriteFailed
from rx_honeybee.health import monitor_health
from rx_honeybee.hot import HotStream
from rx_honeybee.metrics import Inbound, Metrics
from rx_honeybee.operators import backoff_notifier, rate_limit, retry_when
from rx_honeybee.roles import Role
from rx_honeybee.socket import DialContext, Link, Opened, SocketFactory, SocketItem
from rx_honeybee.state import StateMachine
from rx_honeybee.tasks import TaskSet
from rx_honeybee.write_queue import WriteQueue
from rx_roots import ConnectionStatus, standard_labels

if TYPE_CHECKING:  # the server module imports aiohttp; only its type is needed here
    from rx_honeybee.server import InboundLimit

__all__ = ["Connection"]

S = ConnectionStatus


def _default_factory() -> SocketFactory:
    from rx_honeybee.transport import aiohttp_socket  # the only aiohttp import on this path

    return aiohttp_socket


class Connection:
    """A Nostr connection with hot ``messages``, ``state`` and ``errors`` streams.

    Construction does nothing but set up; ``await connect()`` (or ``async with``) dials,
    retrying per ``config.reconnect``. ``send`` queues while dialling or backing off.

    Args:
        url: the relay, ``ws://`` or ``wss://``.
        config: every knob, defaulted (``ConnectionConfig()``).
        scheduler: the time source for reconnection, health and rate limiting; an
            ``AsyncIOScheduler`` on the running loop by default, a ``TestScheduler`` in tests.
        socket_factory: replaces the aiohttp socket (tests, custom transports).
    """

    def __init__(
        self,
        url: str,
        config: ConnectionConfig | None = None,
        *,
        scheduler: abc.SchedulerBase | None = None,
        socket_factory: SocketFactory | None = None,
    ) -> None:
        self.url = url  # the peer
        self.role = Role.INITIATOR  # which side of the protocol we are
        self.config = config if config is not None else ConnectionConfig()  # every knob
        self.metrics = Metrics()  # counters, bytes, latency; see ``metrics.snapshot()``
        self._scheduler = scheduler  # time source; resolved at connect()
        self._factory = socket_factory  # socket Observable factory; aiohttp by default
        self._errors: HotStream[Exception] = HotStream()  # faults; a faulty observer is logged
        self._messages: HotStream[str] = HotStream(self._report)  # inbound envelopes
        self._machine = StateMachine(self._report)  # status and its replaying stream
        self._opened: HotStream[Link] = HotStream(self._report)  # each socket that came up
        self._hub: ChannelHub | None = None  # per-label streams, once ``channels()`` is used
        self._written: HotStream[str] = HotStream(self._report)  # envelopes a socket took
        self.generation = 0  # sockets opened so far; the current one's number when CONNECTED
        limiter = None
        if self.config.rate_limit.enabled:
            rl = self.config.rate_limit
            limiter = rate_limit(rl.messages_per_sec, rl.burst, scheduler)
        self._queue = WriteQueue(
            self.config.write_queue_size, self.config.max_message_size, limiter
        )  # outgoing envelopes
        self._tasks = TaskSet()  # reader, writer and ping tasks, drained by close()
        self._ready: asyncio.Future[None] | None = None  # first CONNECTED or giving up
        self._subscription: abc.DisposableBase | None = None  # the reconnecting pipeline
        self._writer: asyncio.Task[Any] | None = None  # writer task of the current socket
        self._link: Link | None = None  # the current socket, when CONNECTED
        self._closing: asyncio.Task[None] | None = None  # close() in progress
        self._ever_connected = False  # a later CONNECTED counts as a reconnection
        self._done: asyncio.Future[None] | None = None  # wait_closed(), created on demand
        metrics_on = self.config.metrics_enabled
        self._record_out: Callable[[int], None] = (
            self.metrics.record_sent if metrics_on else _ignore
        )
        self._deliver = self._inbound()  # the per-envelope path, handed to the socket

    # -- streams and status --------------------------------------------------------------

    @property
    def messages(self) -> Observable[str]:
        """Every inbound envelope; completes only when the connection ends for good."""
        return self._messages

    @property
    def state(self) -> Observable[ConnectionStatus]:
        """Every status change; a new subscriber first gets the current status."""
        return self._machine.stream

    @property
    def errors(self) -> Observable[Exception]:
        """Transport, protocol and subscriber faults; the connection goes on after most."""
        return self._errors

    @property
    def opened(self) -> Observable[Link]:
        """Each socket that came up (the first and every reconnection): restore state here."""
        return self._opened

    @property
    def written(self) -> Observable[str]:
        """Each envelope once a socket accepted it (written on socket ``generation``)."""
        return self._written

    @property
    def scheduler(self) -> abc.SchedulerBase | None:
        """The time source: the one given, or the asyncio one chosen at ``connect()``."""
        return self._scheduler

    @property
    def status(self) -> ConnectionStatus:
        """The current status."""
        return self._machine.status

    @property
    def link(self) -> Link | None:
        """The open socket, when CONNECTED."""
        return self._link

    def channels(self, labels: Iterable[str] | None = None) -> dict[str, Observable[str]]:
        """One hot stream per envelope label: the eight standard ones plus ``labels``.

        Fed straight from the reader (no extra subscription per envelope); unreadable
        labels and channel subscribers' faults go to ``errors``. Every call shares one
        dispatcher; channels complete with ``messages``.
        """
        if self._hub is None:
            self._hub = ChannelHub(on_error=self._report)
            if self._messages.is_stopped:
                self._hub.complete()
        wanted = standard_labels() | frozenset(labels or ())
        return self._hub.add(wanted)  # type: ignore[return-value]

    def report(self, error: Exception) -> None:
        """Publish ``error`` on ``errors`` (and count it)."""
        self._report(error)

    # -- lifetime ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Dial (retrying per ``config.reconnect``) and return once CONNECTED.

        Raises:
            InvalidState: the connection was closed or gave up before.
            HoneybeeError: reconnection gave up (``MaxReconnectAttemptsExceeded`` with the
                last failure as cause, or the failure itself when retrying is off); the
                status is then ERROR and nothing keeps dialling.
        """
        if self._closing is not None or self.status in (S.CLOSING, S.CLOSED, S.ERROR):
            raise InvalidState(f"cannot connect a connection that is {self.status.name}")
        if self._ready is None:
            if self.status is not S.DISCONNECTED:
                raise InvalidState(f"cannot connect a connection that is {self.status.name}")
            self._start()
        assert self._ready is not None
        try:
            await asyncio.shield(self._ready)
        except asyncio.CancelledError:
            if not self._ready.done():
                await self.close()
            raise

    async def wait_closed(self) -> None:
        """Wait until the connection has ended (CLOSED or ERROR), however that happens."""
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
            if self.status in (S.CLOSED, S.ERROR):
                self._done.set_result(None)
        await asyncio.shield(self._done)

    @classmethod
    def from_socket(
        cls,
        ws: Any,
        config: ConnectionConfig | None = None,
        *,
        url: str = "client",
        scheduler: abc.SchedulerBase | None = None,
        limit: InboundLimit | None = None,
        gate: asyncio.Event | None = None,
    ) -> Connection:
        """Wrap a prepared ``aiohttp.web.WebSocketResponse`` as a responder connection.

        For users with their own aiohttp app. In the handler::

            ws = web.WebSocketResponse(); await ws.prepare(request)
            conn = Connection.from_socket(ws, url=request.remote or "client")
            await conn.connect()      # starts reading; nothing is dialled
            ...                        # subscribe to conn.messages, answer with responder.*
            await conn.wait_closed()   # keep the handler alive while the client is there
            await conn.close()
            return ws

        Reconnection is off (a relay cannot redial its client); the connection ends CLOSED
        when the client leaves. ``limit`` is a token bucket on what the client sends; while
        ``gate`` is cleared the socket is not read (fault injection).
        """
        from rx_honeybee.server import accepted_socket  # aiohttp stays in the transports

        base = config if config is not None else ConnectionConfig()
        config = replace(base, reconnect=replace(base.reconnect, enabled=False))
        conn = cls(
            url, config, scheduler=scheduler, socket_factory=accepted_socket(ws, limit, gate)
        )
        conn.role = Role.RESPONDER
        return conn

    async def __aenter__(self) -> Connection:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self, *, flush_timeout: float = 1.0) -> None:
        """Close for good; idempotent. Waits up to ``flush_timeout`` for queued envelopes.

        Afterwards no task, socket or session of this connection is left, ``messages`` and
        ``errors`` have completed and ``state`` replays CLOSED.
        """
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close(flush_timeout))
        await asyncio.shield(self._closing)

    async def _close(self, flush_timeout: float) -> None:
        if self.status is S.CLOSED:  # ended by the peer: only the tasks are left
            self._stop_pipeline()
            await self._tasks.drain()
            return
        if self.status is S.CONNECTED and len(self._queue):
            try:
                await asyncio.wait_for(self._queue.drained(), flush_timeout)
            except TimeoutError:
                pass
        if self._machine.can(S.CLOSING):
            self._machine.advance(S.CLOSING)
        self._stop_pipeline()
        unsent = self._queue.close()
        if unsent:
            self._report(WriteFailed(f"{unsent} queued envelopes were not sent before close"))
        await self._tasks.drain()
        self._link = None
        self.metrics.mark_disconnected()
        self._settle(InvalidState("the connection was closed before it connected"))
        self._machine.advance(S.CLOSED)
        self._end_streams()

    # -- sending -------------------------------------------------------------------------

    def send(self, envelope: str) -> None:
        """Queue ``envelope`` for writing; it waits while dialling or backing off.

        Raises:
            InvalidState: the connection is closing, closed or gave up.
            EnvelopeTooLarge: over ``config.max_message_size`` bytes (nothing queued).
            QueueFull: ``config.write_queue_size`` envelopes are waiting already.
        """
        if self._closing is not None or self.status in (S.CLOSED, S.ERROR):
            raise InvalidState(f"cannot send on a connection that is {self.status.name}")
        self._queue.put(envelope)

    @property
    def pending(self) -> int:
        """Envelopes accepted by ``send`` and not yet written."""
        return len(self._queue)

    # -- the pipeline --------------------------------------------------------------------

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        scheduler = self._scheduler or AsyncIOScheduler(loop)
        self._scheduler = scheduler
        self._ready = loop.create_future()
        self._queue.start(scheduler)
        self.metrics.defer_stamps(loop.call_soon)
        self._machine.advance(S.CONNECTING)
        connected = self._opened.pipe(ops.map(lambda _: None))
        notifier = backoff_notifier(self.config.reconnect, scheduler, reset=connected)

        def on_errors(errors: Observable[Exception]) -> Observable[float]:
            return notifier(errors.pipe(ops.do_action(self._on_drop)))

        def attempt(_: abc.SchedulerBase | None = None) -> Observable[SocketItem]:
            if self.status is S.BACKOFF:
                self._machine.advance(S.CONNECTING)
            return self._socket(scheduler)

        pipeline = reactivex.defer(attempt).pipe(retry_when(on_errors))
        self._subscription = pipeline.subscribe(
            self._on_item, self._on_fail, self._on_end, scheduler=scheduler
        )

    def _socket(self, scheduler: abc.SchedulerBase) -> Observable[SocketItem]:
        factory = self._factory or _default_factory()
        socket = factory(self.url, self.config, DialContext(self._tasks, self._deliver))
        health = self.config.health
        if not health.enabled:
            return socket
        return socket.pipe(
            monitor_health(
                health,
                self.url,
                scheduler=scheduler,
                on_latency=self.metrics.record_latency,
                on_miss=self._report,
            )
        )

    def _inbound(self) -> Callable[[str | bytes], None]:
        """Build the inbound hot path: every envelope, straight from the socket's reader.

        A closure over locals (attribute lookups and calls cost on this path): count it,
        hand it to ``messages`` subscribers if any, route it to ``channels()`` once they
        exist, with the canonical ``["EVENT",`` front sent straight to its channel.
        """
        metrics = self.metrics
        inbound = metrics.inbound
        if not self.config.metrics_enabled:
            inbound = Inbound()  # counted nowhere, and never stamped:
            inbound.stamp_due = True
        messages = self._messages
        push = messages.on_next

        def deliver(envelope: str | bytes) -> None:
            inbound.count += 1  # Metrics.record_received, inlined: no call per envelope
            inbound.size += len(envelope)
            if not inbound.stamp_due:
                metrics.stamp_received()
            if messages.observed:
                push(envelope)  # type: ignore[arg-type]
            hub = self._hub
            if hub is not None:
                head = envelope[:9]
                if head == EVENT_FRONT or head == EVENT_FRONT_BYTES:
                    hub.push_event(envelope)
                else:
                    hub.dispatch(envelope)

        return deliver

    def _on_item(self, item: SocketItem) -> None:
        kind = type(item)
        if kind is Opened:
            self._on_open(item.link)  # type: ignore[union-attr]
        elif kind is str or kind is bytes:  # a socket that ignores ``deliver`` (marbles)
            self._deliver(item)  # type: ignore[arg-type]

    def _on_open(self, link: Link) -> None:
        self._link = link
        self.generation += 1
        self._machine.advance(S.CONNECTED)
        if self._ever_connected:
            self.metrics.record_reconnection()
        self._ever_connected = True
        self.metrics.mark_connected(link.compressed)
        self._writer = self._tasks.spawn(self._write(link))
        self._settle(None)
        self._opened.on_next(link)

    async def _write(self, link: Link) -> None:
        try:
            await self._queue.run(link, self._on_sent)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the socket is dying; the reader will see it too
            failed = WriteFailed(f"write to {self.url} failed: {exc}")
            failed.__cause__ = exc
            self._report(failed)

    def _on_sent(self, envelope: str) -> None:
        self._record_out(len(envelope))
        written = self._written
        if written.observed:
            written.on_next(envelope)

    def _on_drop(self, error: Exception) -> None:
        """A socket was lost (or never came up): report it and back off."""
        self._lose_socket()
        self._report(error)
        self._machine.advance(S.BACKOFF)

    def _on_fail(self, error: Exception) -> None:
        """Reconnection gave up (or the failure was not retryable)."""
        self._lose_socket()
        self._report(error)
        self._queue.close()
        self._settle(error)
        self._machine.advance(S.ERROR)
        self._end_streams()

    def _on_end(self) -> None:
        """The socket ended for good: close code 4000, or a responder's client left."""
        self._lose_socket()
        self._settle(ConnectionClosed(self.url, None, "closed by the peer"))
        self._queue.close()
        self._machine.advance(S.CLOSED)
        self._end_streams()

    def _lose_socket(self) -> None:
        self._link = None
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
        self.metrics.mark_disconnected()

    def _stop_pipeline(self) -> None:
        self._lose_socket()
        if self._subscription is not None:
            self._subscription.dispose()
            self._subscription = None

    def _settle(self, error: Exception | None) -> None:
        """Resolve the future ``connect()`` waits on, once."""
        ready = self._ready
        if ready is None or ready.done():
            return
        if error is None:
            ready.set_result(None)
        else:
            ready.set_exception(error)
            ready.exception()  # retrieved here: nobody may be awaiting connect()

    def _end_streams(self) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
        self._messages.on_completed()
        if self._hub is not None:
            self._hub.complete()
        self._opened.on_completed()
        self._written.on_completed()
        self._errors.on_completed()

    def _report(self, error: Exception) -> None:
        if self.config.metrics_enabled:
            self.metrics.record_error()
        self._errors.on_next(error)


def _ignore(_: int) -> None:
    pass
