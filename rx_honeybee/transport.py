"""The aiohttp client socket: the one module that dials (SPEC §2: aiohttp stays in the transport).

``aiohttp_socket(url, config, tasks)`` is the default :data:`SocketFactory`. Subscribing
starts one task that dials, emits :class:`Opened`, then every frame; disposing cancels
that task, whose ``finally`` closes the socket and the session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from reactivex import Observable, abc, create
from reactivex.disposable import Disposable

from rx_honeybee.config import ConnectionConfig
from rx_honeybee.errors import ConnectionClosed, ConnectionFailed, ConnectionTimeout
from rx_honeybee.socket import DO_NOT_RECONNECT, DialContext, Opened, Pong, SocketItem
from rx_honeybee.tasks import TaskSet

__all__ = ["AiohttpLink", "aiohttp_socket", "classify_dial_error", "read_frames"]

_CLOSE_TIMEOUT = 1.0  # seconds to wait for the peer's close frame before aborting


class AiohttpLink:
    """Write side of an aiohttp websocket (client or server)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse | Any, tasks: TaskSet) -> None:
        self._ws = ws  # the open websocket
        self._tasks = tasks  # where fire-and-forget pings run

    async def send(self, envelope: str) -> None:
        """Write one text frame."""
        await self._ws.send_str(envelope)

    def ping(self, payload: bytes) -> None:
        """Send a ping frame in the background; a failure shows up as a missing pong."""
        self._tasks.spawn(self._ping(payload))

    async def _ping(self, payload: bytes) -> None:
        try:
            await self._ws.ping(payload)
        except (ConnectionError, RuntimeError, aiohttp.ClientError):
            pass  # the socket is going away; the reader reports that

    @property
    def compressed(self) -> bool:
        """Whether permessage-deflate was negotiated."""
        return bool(self._ws.compress)


def classify_dial_error(url: str, exc: BaseException) -> ConnectionFailed:
    """Turn an aiohttp/OS dialling failure into a ``ConnectionFailed`` with a category."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return ConnectionTimeout(url, str(exc) or type(exc).__name__)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return ConnectionFailed(url, "dns", str(exc))
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return ConnectionFailed(url, "handshake", exc.message, status=exc.status)
    if isinstance(exc, aiohttp.ClientResponseError):
        return ConnectionFailed(url, "handshake", exc.message, status=exc.status)
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(
        exc.os_error, ConnectionRefusedError
    ):
        return ConnectionFailed(url, "refused", str(exc))
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return ConnectionFailed(url, "invalid-url", str(exc))
    return ConnectionFailed(url, "network", f"{type(exc).__name__}: {exc}")


def aiohttp_socket(
    url: str, config: ConnectionConfig, context: DialContext
) -> Observable[SocketItem]:
    """Return the cold Observable of one aiohttp client socket to ``url``."""

    def subscribe(
        observer: abc.ObserverBase[SocketItem], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        task = context.tasks.spawn(_run(url, config, context, observer))

        def dispose() -> None:
            task.cancel()

        return Disposable(dispose)

    return create(subscribe)


async def _run(
    url: str, config: ConnectionConfig, context: DialContext, observer: abc.ObserverBase[SocketItem]
) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=config.connect_timeout)
    session = aiohttp.ClientSession(timeout=timeout)
    ws: aiohttp.ClientWebSocketResponse | None = None
    try:
        try:
            async with asyncio.timeout(config.connect_timeout):
                ws = await session.ws_connect(
                    url,
                    autoping=False,  # pongs reach the health monitor; pings answered below
                    compress=15 if config.compression.enabled else 0,
                    max_msg_size=config.max_message_size,
                    timeout=aiohttp.ClientWSTimeout(ws_close=_CLOSE_TIMEOUT),
                )
        except (TimeoutError, OSError, aiohttp.ClientError, ValueError) as exc:
            observer.on_error(classify_dial_error(url, exc))
            return
        observer.on_next(Opened(AiohttpLink(ws, context.tasks)))
        try:
            error = await read_frames(ws, observer, context.deliver)
        except Exception as exc:  # a fault downstream of the reader: drop this socket
            observer.on_error(exc)
            return
        code = ws.close_code
        if error is None and code == DO_NOT_RECONNECT:
            observer.on_completed()
        else:
            reason = str(error) if error is not None else ""
            observer.on_error(ConnectionClosed(url, code if error is None else 1006, reason))
    except asyncio.CancelledError:
        pass  # disposed: close quietly below
    finally:
        if ws is not None and not ws.closed:
            try:
                await asyncio.wait_for(ws.close(), _CLOSE_TIMEOUT)
            except (TimeoutError, OSError, aiohttp.ClientError, RuntimeError):
                pass
        await session.close()


async def read_frames(
    ws: aiohttp.ClientWebSocketResponse | Any,
    observer: abc.ObserverBase[SocketItem],
    deliver: Callable[[str | bytes], None] | None = None,
    gate: asyncio.Event | None = None,
) -> BaseException | None:
    """Pump frames into ``observer`` (envelopes into ``deliver`` when given) until the
    socket closes; return the read error, if any. Works for client and server sockets.

    While ``gate`` is cleared nothing is read (nor are pings answered): a stalled peer."""
    text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
    ping, pong, error = aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG, aiohttp.WSMsgType.ERROR
    on_next = observer.on_next
    envelope = deliver or on_next
    receive = ws.receive
    while True:
        if gate is not None and not gate.is_set():
            await gate.wait()
        msg = await receive()
        if gate is not None and not gate.is_set():  # stalled while this read waited
            await gate.wait()
        kind = msg.type
        if kind is text or kind is binary:
            envelope(msg.data)
        elif kind is pong:
            on_next(Pong(msg.data))
        elif kind is ping:
            await ws.pong(msg.data)
        elif kind is error:
            exc: BaseException = msg.data
            return exc
        else:  # CLOSE, CLOSING, CLOSED
            return None
