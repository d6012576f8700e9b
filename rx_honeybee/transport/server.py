"""The aiohttp server side: accept websockets and hand them out as responder Connections.

Part of :mod:`rx_honeybee.transport`, the only package that imports aiohttp. A relay
is written against :func:`serve` and ``server.connections`` (each a ``Connection`` with
``role == Role.RESPONDER``), answering with :mod:`rx_honeybee.responder` functions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from aiohttp import web
from reactivex import Observable

from rx_honeybee.config import ConnectionConfig, InboundLimit
from rx_honeybee.connection import Connection
from rx_honeybee.errors import InvalidState
from rx_honeybee.hot import HotStream
from rx_honeybee.transport.guard import ConnectionLimits, SocketWatch, abort_if_stuck, throttle_logs

__all__ = ["ConnectionLimits", "Server", "serve"]

_CLOSE_TIMEOUT = 1.0


class Server:
    """A websocket server whose clients arrive as responder Connections.

    Use :func:`serve`; ``async with serve(...) as server`` starts and stops it, or call
    :meth:`start` / :meth:`stop` (it can be restarted on the same port). ``limits``
    (:class:`ConnectionLimits`) caps connections (HTTP 503 with the reason), aborts
    sockets that do not upgrade in time or stop reading, and throttles flooded loggers.
    """

    def __init__(
        self,
        host: str,
        port: int,
        config: ConnectionConfig | None = None,
        *,
        limit: InboundLimit | None = None,
        info: Mapping[str, Any] | None = None,
        limits: ConnectionLimits | None = None,
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
        self.limits = limits if limits is not None else ConnectionLimits()  # the defences
        self._watch = SocketWatch(self.limits)  # handshake deadlines, stuck writers
        self._by_ip: dict[str, int] = {}  # client address → websockets open
        self._listening: asyncio.base_events.Server | None = None  # the TCP listener

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
        app.router.add_route("OPTIONS", "/", self._preflight)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            shutdown_timeout=_CLOSE_TIMEOUT,
            keepalive_timeout=self.limits.handshake_timeout,  # idle HTTP keep-alive
        )
        await runner.setup()
        handler_factory = runner.server
        assert handler_factory is not None
        watch = self._watch

        def accept() -> asyncio.BaseProtocol:
            protocol = handler_factory()
            watch.accepted(protocol)
            return protocol

        loop = asyncio.get_running_loop()
        try:
            listening = await loop.create_server(accept, self.host, self.port, reuse_address=True)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._listening = runner, listening
        watch.start()
        throttle_logs(self.limits.log_interval)
        if self.port == 0:
            self.port = int(listening.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Disconnect every client and stop listening; the port can be reused by start().

        The port is released even when closing a client fails (that error is raised after).
        """
        runner, self._runner = self._runner, None
        if runner is None:
            return
        listening, self._listening = self._listening, None
        failures: list[BaseException | None] = []
        try:
            if listening is not None:
                listening.close()  # no new client from now on
            closes = (conn.close(flush_timeout=0.2) for conn in list(self.clients))
            failures = await asyncio.gather(*closes, return_exceptions=True)
        finally:
            await runner.cleanup()
            if listening is not None:
                await listening.wait_closed()
            await self._watch.stop()
            throttle_logs(self.limits.log_interval, on=False)
        for failure in failures:
            if isinstance(failure, BaseException):
                raise failure

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
        address = request.remote or "client"
        full = self._full(address)
        if full:
            refusal = web.Response(status=503, text=full, headers={"Retry-After": "10"})
            refusal.force_close()  # the socket goes too: it counts against the same limits
            return refusal
        self._by_ip[address] = self._by_ip.get(address, 0) + 1
        try:
            self._watch.upgraded(request.protocol)
            await ws.prepare(request)
            await self._serve_client(ws, address)
        finally:
            left = self._by_ip.pop(address) - 1
            if left:
                self._by_ip[address] = left
            abort_if_stuck(request.transport)  # a client that stopped reading
        return ws

    def _full(self, address: str) -> str:
        """Why a new websocket from ``address`` is refused, or ``""``."""
        limits = self.limits
        if sum(self._by_ip.values()) >= limits.max_total:
            return f"too many connections: the server takes {limits.max_total} in all"
        if self._by_ip.get(address, 0) >= limits.max_per_ip:
            return f"too many connections from {address} (max {limits.max_per_ip})"
        return ""

    async def _serve_client(self, ws: web.WebSocketResponse, address: str) -> None:
        conn = Connection.from_socket(
            ws, self.config, url=address, limit=self.limit, gate=self._reading
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

    async def _preflight(self, request: web.Request) -> web.StreamResponse:
        """A browser's CORS preflight for the NIP-11 document (NIP-11 asks for all three)."""
        return web.Response(status=204, headers=_CORS)

    def _describe(self, request: web.Request) -> web.StreamResponse:
        """Answer plain HTTP: the NIP-11 document when asked for and known."""
        if self.info is not None and "application/nostr+json" in request.headers.get("Accept", ""):
            return web.Response(
                text=json.dumps(self.info),
                content_type="application/nostr+json",
                headers=_CORS,
            )
        return web.Response(status=426, text="this is a Nostr relay: connect with a websocket")


_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Accept, Content-Type",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
}
"""NIP-11: a relay's document must be readable from any web page."""


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    config: ConnectionConfig | None = None,
    *,
    limit: InboundLimit | None = None,
    info: Mapping[str, Any] | None = None,
    limits: ConnectionLimits | None = None,
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
        limits: connection caps, handshake and stall deadlines, log throttling;
            ``ConnectionLimits()`` by default.
    """
    return Server(host, port, config, limit=limit, info=info, limits=limits)
