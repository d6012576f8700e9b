"""The aiohttp server side: accept websockets and hand them out as responder Connections.

With :mod:`rx_honeybee.transport` this is the only module that imports aiohttp. A relay
is written against :func:`serve` and ``server.connections`` (each a ``Connection`` with
``role == Role.RESPONDER``), answering with :mod:`rx_honeybee.responder` functions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web
from reactivex import Observable, abc, create
from reactivex.disposable import Disposable

from rx_honeybee.config import ConnectionConfig
from rx_honeybee.connection import Connection
from rx_honeybee.errors import ConnectionClosed, InvalidState
from rx_honeybee.hot import HotStream
from rx_honeybee.socket import DialContext, Opened, SocketFactory, SocketItem
from rx_honeybee.transport import AiohttpLink, read_frames
from rx_roots import enclose_notice

__all__ = ["InboundLimit", "Server", "accepted_socket", "serve"]

_CLOSE_TIMEOUT = 1.0
_POLICY_VIOLATION = 1008


@dataclass(frozen=True, slots=True)
class InboundLimit:
    """A token bucket per client on inbound envelopes.

    Envelopes beyond it are dropped with a ``NOTICE`` (``rate-limited:``); a client that
    keeps flooding (``max_dropped`` drops in a row) is disconnected with code 1008.
    """

    messages_per_sec: float = 100.0
    burst: int = 200
    max_dropped: int = 100

    def __post_init__(self) -> None:
        if not self.messages_per_sec > 0:
            raise ValueError(f"messages_per_sec must be > 0, got {self.messages_per_sec}")
        if self.burst < 1 or self.max_dropped < 1:
            raise ValueError("burst and max_dropped must be >= 1")


class _Bucket:
    """Token bucket on the loop's clock; ``take()`` says whether an envelope may pass."""

    def __init__(self, limit: InboundLimit, now: Callable[[], float]) -> None:
        self._rate = limit.messages_per_sec  # tokens per second
        self._burst = float(limit.burst)  # capacity
        self._tokens = float(limit.burst)  # available now
        self._now = now  # monotonic seconds
        self._last = now()  # last refill

    def take(self) -> bool:
        now = self._now()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def accepted_socket(
    ws: web.WebSocketResponse,
    limit: InboundLimit | None = None,
    gate: asyncio.Event | None = None,
) -> SocketFactory:
    """A socket factory over an already prepared server websocket (subscribe = read it).

    It completes when the client leaves; ``limit`` throttles what the client sends; while
    ``gate`` is cleared the socket is not read at all (fault injection: a stalled peer).
    """

    def factory(url: str, config: ConnectionConfig, context: DialContext) -> Observable[SocketItem]:
        def subscribe(
            observer: abc.ObserverBase[SocketItem], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            task = context.tasks.spawn(_read_client(ws, url, observer, context, limit, gate))

            def dispose() -> None:
                task.cancel()

            return Disposable(dispose)

        return create(subscribe)

    return factory


async def _read_client(
    ws: web.WebSocketResponse,
    url: str,
    observer: abc.ObserverBase[SocketItem],
    context: DialContext,
    limit: InboundLimit | None,
    gate: asyncio.Event | None,
) -> None:
    deliver = context.deliver or observer.on_next
    if limit is not None:
        deliver = _throttled(ws, deliver, limit, context)
    try:
        observer.on_next(Opened(AiohttpLink(ws, context.tasks)))
        try:
            error = await read_frames(ws, observer, deliver, gate)
        except Exception as exc:  # a fault downstream of the reader
            observer.on_error(exc)
            return
        if error is not None:
            observer.on_error(ConnectionClosed(url, ws.close_code or 1006, str(error)))
        else:
            observer.on_completed()
    except asyncio.CancelledError:
        pass
    finally:
        if not ws.closed:
            try:
                await asyncio.wait_for(ws.close(), _CLOSE_TIMEOUT)
            except (TimeoutError, OSError, RuntimeError):
                pass


def _throttled(
    ws: web.WebSocketResponse,
    deliver: Callable[[Any], None],
    limit: InboundLimit,
    context: DialContext,
) -> Callable[[Any], None]:
    bucket = _Bucket(limit, asyncio.get_running_loop().time)
    dropped = 0  # consecutive envelopes refused

    def throttled(envelope: Any) -> None:
        nonlocal dropped
        if bucket.take():
            dropped = 0
            deliver(envelope)
            return
        dropped += 1
        if dropped == 1:
            context.tasks.spawn(_send_quietly(ws, enclose_notice("rate-limited: slow down")))
        elif dropped >= limit.max_dropped:
            dropped = 0
            context.tasks.spawn(_close_quietly(ws, _POLICY_VIOLATION, b"flooding"))

    return throttled


async def _send_quietly(ws: web.WebSocketResponse, text: str) -> None:
    try:
        await ws.send_str(text)
    except (ConnectionError, RuntimeError):
        pass


async def _close_quietly(ws: web.WebSocketResponse, code: int, message: bytes) -> None:
    try:
        await asyncio.wait_for(ws.close(code=code, message=message), _CLOSE_TIMEOUT)
    except (TimeoutError, ConnectionError, RuntimeError):
        pass


class Server:
    """A websocket server whose clients arrive as responder Connections.

    Use :func:`serve`; ``async with serve(...) as server`` starts and stops it, or call
    :meth:`start` / :meth:`stop` (it can be restarted on the same port).
    """

    def __init__(
        self,
        host: str,
        port: int,
        config: ConnectionConfig | None = None,
        *,
        limit: InboundLimit | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.host = host  # interface to listen on
        self.port = port  # 0 picks a free port at start(); the real one afterwards
        self.config = config if config is not None else ConnectionConfig()  # per client
        self.limit = limit if limit is not None else InboundLimit()  # per-client bucket
        self.info = dict(info) if info is not None else None  # NIP-11 document, if any
        self._connections: HotStream[Connection] = HotStream()  # each accepted client
        self.clients: set[Connection] = set()  # clients connected now
        self._runner: web.AppRunner | None = None  # aiohttp's, while started
        self._reading = asyncio.Event()  # cleared by stall(): no client socket is read
        self._reading.set()
        self.refusing: int | None = None  # HTTP status refusing new clients, or None

    @property
    def connections(self) -> Observable[Connection]:
        """Each accepted client, as a responder ``Connection`` already CONNECTED."""
        return self._connections

    @property
    def url(self) -> str:
        """``ws://host:port`` of the running server."""
        return f"ws://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen (again); raises ``InvalidState`` if already listening."""
        if self._runner is not None:
            raise InvalidState("the server is already started")
        app = web.Application()
        app.router.add_get("/", self._handle)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=_CLOSE_TIMEOUT)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        if self.port == 0:
            listening = site._server
            assert isinstance(listening, asyncio.base_events.Server)
            self.port = int(listening.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Disconnect every client and stop listening; the port can be reused by start()."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await asyncio.gather(*(conn.close(flush_timeout=0.2) for conn in list(self.clients)))
        await runner.cleanup()

    def stall(self, stalled: bool = True) -> None:
        """Stop (or resume) reading every client socket: no envelope, no pong goes back.

        Fault injection for tests: to clients the relay looks frozen, as a stopped process
        or a half-open TCP connection does, until ``stall(False)``.
        """
        if stalled:
            self._reading.clear()
        else:
            self._reading.set()

    def refuse(self, status: int | None = 503) -> None:
        """Answer new websocket upgrades with HTTP ``status`` (None accepts them again)."""
        self.refusing = status

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        self._connections.on_completed()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            autoping=False,
            compress=self.config.compression.enabled,
            max_msg_size=self.config.max_message_size,
        )
        if not ws.can_prepare(request).ok:
            return self._describe(request)
        if self.refusing is not None:
            return web.Response(status=self.refusing, text="refused")
        await ws.prepare(request)
        conn = Connection.from_socket(
            ws, self.config, url=request.remote or "client", limit=self.limit, gate=self._reading
        )
        self.clients.add(conn)
        # Hand the connection out as its socket opens, before the reader's first frame:
        # a client's first envelope may already be buffered, and a late subscriber to
        # ``messages`` would miss it.
        announce = conn.opened.subscribe(lambda _: self._connections.on_next(conn))
        try:
            await conn.connect()
            announce.dispose()
            await conn.wait_closed()
        finally:
            announce.dispose()
            self.clients.discard(conn)
            await conn.close(flush_timeout=0.2)
        return ws

    def _describe(self, request: web.Request) -> web.StreamResponse:
        """Answer plain HTTP: the NIP-11 document when asked for and known."""
        if self.info is not None and "application/nostr+json" in request.headers.get("Accept", ""):
            return web.Response(
                text=json.dumps(self.info),
                content_type="application/nostr+json",
                headers={"Access-Control-Allow-Origin": "*"},
            )
        return web.Response(status=426, text="this is a Nostr relay: connect with a websocket")


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    config: ConnectionConfig | None = None,
    *,
    limit: InboundLimit | None = None,
    info: Mapping[str, Any] | None = None,
) -> Server:
    """Return a :class:`Server` for ``host:port``; ``async with`` it to listen.

    Example:
        >>> async with serve("127.0.0.1", 0) as server:
        ...     server.connections.subscribe(on_client)
        ...     print(server.url)

    Args:
        host: interface; loopback by default.
        port: 0 for a free port (read ``server.port`` once started).
        config: each client connection's configuration (reconnection is forced off).
        limit: per-client inbound token bucket; ``InboundLimit()`` by default.
        info: a NIP-11 relay information document served over HTTP on the same port.
    """
    return Server(host, port, config, limit=limit, info=info)
