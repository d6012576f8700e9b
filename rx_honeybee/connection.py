"""The Connection: hot streams over a socket that reconnects by itself.

The socket is a cold Observable (subscribe = dial and read, see :mod:`rx_honeybee.socket`);
the connection subscribes to::

    defer(dial).pipe(monitor_health(...)).pipe(retry_when(notifier))

and fans what comes out into hot streams that never end across reconnects. Everything runs
on the asyncio loop of the caller of :meth:`Connection.connect`; every timer goes through
the connection's scheduler, so tests can drive it in virtual time. The status changes only
through :class:`~rx_honeybee.state.StateMachine` events. The write queue and the
reconnection notifier are replaceable (:mod:`rx_honeybee.interfaces`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any

from reactivex import Observable, abc
from reactivex.scheduler.eventloop import AsyncIOScheduler

from rx_honeybee.config import ConnectionConfig, InboundLimit
from rx_honeybee.dialler import Dialler
from rx_honeybee.errors import ConnectionClosed, InvalidState, WriteFailed
from rx_honeybee.health import monitor_health
from rx_honeybee.inbound import inbound_path
from rx_honeybee.interfaces import Notifier, OutgoingQueue
from rx_honeybee.operators import rate_limit
from rx_honeybee.roles import Role
from rx_honeybee.socket import DialContext, Link, Opened, SocketFactory, SocketItem
from rx_honeybee.state import LIVE, TERMINAL, Event
from rx_honeybee.streams import Streams
from rx_honeybee.tasks import TaskSet
from rx_honeybee.write_queue import WriteQueue, encoded_size
from rx_roots import ConnectionStatus

if TYPE_CHECKING:
    from rx_honeybee.client.session import Session

__all__ = ["Connection"]

S = ConnectionStatus
OnWritten = Callable[[int], None]


def _default_factory() -> SocketFactory:
    from rx_honeybee.transport.client import aiohttp_socket  # aiohttp stays in the transport

    return aiohttp_socket


class Connection(Streams):
    """A Nostr connection with hot ``messages``, ``state`` and ``errors`` streams.

    Construction does nothing but set up; ``await connect()`` (or ``async with``) dials,
    retrying per ``config.reconnect``. ``send`` queues while dialling or backing off.

    Args:
        url: the relay, ``ws://`` or ``wss://``.
        config: every knob, defaulted (``ConnectionConfig()``).
        write_queue: replaces the bounded FIFO ``WriteQueue`` (an ``OutgoingQueue``, such
            as rx_mana's priority queue); ``config.write_queue_size``/``rate_limit`` then
            are the replacement's business.
        reconnect: replaces ``backoff_notifier(config.reconnect, scheduler)`` in the
            ``retry_when`` pipeline (a ``Notifier``, such as a circuit breaker's).
        scheduler: the time source for reconnection, health and rate limiting; an
            ``AsyncIOScheduler`` on the running loop by default, a ``TestScheduler`` in tests.
        socket_factory: replaces the aiohttp socket (tests, custom transports).
    """

    __slots__ = (
        "_closing",
        "_confirm",
        "_deliver",
        "_done",
        "_factory",
        "_link",
        "_notifier",
        "_queue",
        "_ready",
        "_dialler",
        "_tasks",
        "_writer",
        "generation",
        "role",
        "session",
    )

    def __init__(
        self,
        url: str,
        config: ConnectionConfig | None = None,
        *,
        write_queue: OutgoingQueue | None = None,
        reconnect: Notifier | None = None,
        scheduler: abc.SchedulerBase | None = None,
        socket_factory: SocketFactory | None = None,
    ) -> None:
        super().__init__(url, config if config is not None else ConnectionConfig(), scheduler)
        self.role = Role.INITIATOR  # which side of the protocol we are
        self.session: Session | None = None  # the initiator session, once one is made
        self.generation = 0  # sockets opened so far; the current one's number when CONNECTED
        self._factory = socket_factory  # socket Observable factory; aiohttp by default
        self._notifier = reconnect  # retry_when notifier; backoff by default
        # send(on_written=): by the envelope object's id, its callbacks in the order sent
        self._confirm: dict[int, tuple[str, deque[OnWritten]]] | None = None
        self._queue = write_queue if write_queue is not None else self._default_queue()
        self._tasks = TaskSet()  # reader, writer and ping tasks, drained by close()
        self._ready: asyncio.Future[None] | None = None  # first CONNECTED or giving up
        self._writer: asyncio.Task[Any] | None = None  # writer task of the current socket
        self._link: Link | None = None  # the current socket, when CONNECTED
        self._closing: asyncio.Task[None] | None = None  # close() in progress
        self._done: asyncio.Future[None] | None = None  # wait_closed(), created on demand
        self._deliver = inbound_path(self)  # the per-envelope path, handed to the socket
        self._dialler = Dialler(self._machine, self._socket, self._on_drop)  # the retries

    def _default_queue(self) -> WriteQueue:
        rl = self.config.rate_limit
        limiter = rate_limit(rl.messages_per_sec, rl.burst, self._scheduler) if rl.enabled else None
        config = self.config
        return WriteQueue(
            config.write_queue_size, config.max_message_size, limiter, config.write_queue_bytes
        )

    @property
    def link(self) -> Link | None:
        """The open socket, when CONNECTED."""
        return self._link

    # -- lifetime ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Dial (retrying per ``config.reconnect``) and return once CONNECTED.

        Raises:
            InvalidState: the connection was closed or gave up before.
            HoneybeeError: reconnection gave up (``MaxReconnectAttemptsExceeded`` with the
                last failure as cause, or the failure itself when retrying is off); the
                status is then ERROR and nothing keeps dialling.
        """
        status = self._machine.status
        if self._closing is not None or status in TERMINAL or status is S.CLOSING:
            raise InvalidState(f"cannot connect a connection that is {status.name}")
        if self._ready is None:
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
            if self._machine.status in TERMINAL:
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
            await conn.connect()      # UPGRADING, then CONNECTED; nothing is dialled
            ...                        # subscribe to conn.messages, answer with responder.*
            await conn.wait_closed()   # keep the handler alive while the client is there
            await conn.close()
            return ws

        Reconnection is off (a relay cannot redial its client); the connection ends CLOSED
        when the client leaves. ``limit`` is a token bucket on what the client sends; while
        ``gate`` is cleared the socket is not read (fault injection).
        """
        from rx_honeybee.transport.accepted import accepted_socket  # aiohttp stays there

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

    async def close(
        self, *, flush_timeout: float = 1.0, code: int | None = None, reason: str = ""
    ) -> None:
        """Close for good; idempotent. Waits up to ``flush_timeout`` for queued envelopes.

        ``code`` (with ``reason``) is the websocket close code the peer is sent, where the
        link can say one (the aiohttp link can): 1008 when a relay cuts off a flooder.
        Afterwards no task, socket or session of this connection is left, ``messages`` and
        ``errors`` have completed and ``state`` replays CLOSED.
        """
        if self._closing is None:
            closing = self._close(flush_timeout, code, reason)
            self._closing = asyncio.get_running_loop().create_task(closing)
        await asyncio.shield(self._closing)

    async def _close(self, flush_timeout: float, code: int | None, reason: str) -> None:
        machine = self._machine
        if machine.status is S.CONNECTED and len(self._queue):
            try:
                await asyncio.wait_for(self._queue.drained(), flush_timeout)
            except TimeoutError:
                pass
        closer = getattr(self._link, "close", None) if code is not None else None
        if closer is not None:
            await closer(code, reason)  # a link's close is bounded and quiet (socket.Link)
        # The peer may have ended it meanwhile (close code 4000 during the flush).
        if machine.can(Event.CLOSE_REQUESTED):
            machine.apply(Event.CLOSE_REQUESTED)
        self._stop_pipeline()
        unsent = self._queue.close()
        if unsent:
            self._report(WriteFailed(f"{unsent} queued envelopes were not sent before close"))
        await self._tasks.drain()
        self._link = None
        self._settle(InvalidState("the connection was closed before it connected"))
        if machine.can(Event.CLOSE_DONE):
            machine.apply(Event.CLOSE_DONE)
        self._end_streams()

    # -- sending -------------------------------------------------------------------------

    def send(
        self, envelope: str, *, priority: int | None = None, on_written: OnWritten | None = None
    ) -> None:
        """Queue ``envelope`` for writing; it waits while dialling or backing off.

        Args:
            envelope: the text frame.
            priority: for a priority queue (``write_queue=``); the default queue is FIFO.
            on_written: called with the socket ``generation`` once a socket took it.

        Raises:
            InvalidState: the connection is closing, closed or gave up.
            EnvelopeTooLarge: over ``config.max_message_size`` bytes (nothing queued).
            QueueFull: the write queue is full.
        """
        status = self._machine.status
        if self._closing is not None or not (status in LIVE or status is S.DISCONNECTED):
            raise InvalidState(f"cannot send on a connection that is {status.name}")
        if on_written is None:
            self._queue.put(envelope, priority)
            return
        confirm = self._confirm
        if confirm is None:
            confirm = self._confirm = {}
        key = id(envelope)
        entry = confirm.get(key)
        if entry is None or entry[0] is not envelope:
            entry = confirm[key] = (envelope, deque())
        entry[1].append(on_written)  # first: the queue may write it at once
        try:
            self._queue.put(envelope, priority)
        except BaseException:
            entry[1].pop()  # this send's callback only: an earlier one still waits
            if not entry[1]:
                del confirm[key]
            raise

    @property
    def pending(self) -> int:
        """Envelopes accepted by ``send`` and not yet written."""
        return len(self._queue)

    @property
    def pending_bytes(self) -> int:
        """Their UTF-8 bytes, where the queue counts them: the default queue under a
        ``config.write_queue_bytes`` budget (a relay's clients); 0 otherwise."""
        return int(getattr(self._queue, "bytes", 0))

    # -- the pipeline --------------------------------------------------------------------

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        scheduler = self._scheduler or AsyncIOScheduler(loop)
        self._scheduler = scheduler
        self._ready = loop.create_future()
        self._queue.start(scheduler)
        self.metrics.defer_stamps(loop.call_soon)
        initiator = self.role is Role.INITIATOR
        self._machine.apply(Event.DIALLED if initiator else Event.ACCEPTED)
        self._dialler.start(
            self._notifier,
            self.config.reconnect,
            scheduler,
            self._on_item,
            self._on_fail,
            self._on_end,
        )

    def _socket(self) -> Observable[SocketItem]:
        factory = self._factory or _default_factory()
        context = DialContext(self._tasks, self._deliver, self._gate)
        socket = factory(self.url, self.config, context)
        health = self.config.health
        if not health.enabled:
            return socket
        return socket.pipe(
            monitor_health(
                health,
                self.url,
                scheduler=self._scheduler,
                on_latency=self._on_latency,
                on_miss=self._on_miss,
                paused=self._reading_held,
                activity=self._envelopes_read,
            )
        )

    def _on_item(self, item: SocketItem) -> None:
        kind = type(item)
        if kind is Opened:
            self._on_open(item.link)  # type: ignore[union-attr]
        elif kind is str or kind is bytes:  # a socket that ignores ``deliver`` (marbles)
            self._deliver(item)  # type: ignore[arg-type]

    def _on_open(self, link: Link) -> None:
        self._link = link
        self._misses = 0
        self.generation += 1
        self._machine.apply(Event.OPENED)
        if self.config.metrics_enabled:
            if self.generation > 1:
                self.metrics.record_reconnection()
            self.metrics.mark_connected(link.compressed)
        self._writer = self._tasks.spawn(self._write(link))
        self._dialler.opened()
        self._settle(None)
        if self._opened is not None:
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
        if self.config.metrics_enabled:
            self.metrics.record_sent(encoded_size(envelope))
        confirm = self._confirm
        if confirm:
            key = id(envelope)
            entry = confirm.get(key)
            if entry is not None and entry[0] is envelope:
                callbacks = entry[1]
                callback = callbacks.popleft()
                if not callbacks:
                    del confirm[key]
                callback(self.generation)
        written = self._written
        if written is not None and written.observed:
            written.on_next(envelope)

    def _on_drop(self, error: Exception) -> None:
        """A socket was lost (or a dial failed); the notifier decides what follows."""
        self._lose_socket()
        self._report(error)

    def _on_fail(self, error: Exception) -> None:
        """Reconnection gave up (or the failure was not retryable)."""
        self._lose_socket()
        self._report(error)
        self._queue.close()
        self._settle(error)
        self._machine.apply(Event.GAVE_UP)
        self._end_streams()

    def _on_end(self) -> None:
        """The socket ended for good: close code 4000, or a responder's client left."""
        self._lose_socket()
        self._settle(ConnectionClosed(self.url, None, "closed by the peer"))
        self._queue.close()
        machine = self._machine
        machine.apply(Event.PEER_CLOSED if machine.can(Event.PEER_CLOSED) else Event.GAVE_UP)
        self._end_streams()

    def _lose_socket(self) -> None:
        self._link = None
        self._dialler.lost()
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
        if self.config.metrics_enabled:
            self.metrics.mark_disconnected()

    def _stop_pipeline(self) -> None:
        self._lose_socket()
        self._dialler.stop()

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
        self._confirm = None
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
        super()._end_streams()
