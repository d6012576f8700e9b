"""The aiohttp client socket: the module that dials (aiohttp stays in ``rx_honeybee.transport``).

``aiohttp_socket(url, config, tasks)`` is the default :data:`SocketFactory`. Subscribing
starts one task that dials, emits :class:`Opened`, then every frame; disposing cancels
that task, whose ``finally`` closes the socket and the session.
"""

from __future__ import annotations

import asyncio

import aiohttp
from reactivex import Observable, abc

from rx_honeybee.config import ConnectionConfig
from rx_honeybee.errors import ConnectionClosed, ConnectionFailed, ConnectionTimeout
from rx_honeybee.lean import OnDispose, lean
from rx_honeybee.socket import DO_NOT_RECONNECT, DialContext, Opened, SocketFactory, SocketItem
from rx_honeybee.transport.frames import AiohttpLink, read_frames, set_compression_level

__all__ = ["SharedSession", "aiohttp_socket", "classify_dial_error", "shared_sockets"]

_CLOSE_TIMEOUT = 1.0  # seconds to wait for the peer's close frame before aborting
_NO_TOTAL = aiohttp.ClientTimeout(total=None)  # a socket lives long; dialling is timed apart


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


class SharedSession:
    """One aiohttp ``ClientSession`` for many sockets (a Pool's relays), made on first use.

    A session with its connector costs several KiB; 500 relays need one, not 500. Its
    connector has no connection limit (each websocket keeps its connection).
    """

    __slots__ = ("_session",)

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None  # made at the first dial

    def get(self) -> aiohttp.ClientSession:
        """The session (a new one if the previous was closed)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0)
            self._session = aiohttp.ClientSession(connector=connector, timeout=_NO_TOTAL)
        return self._session

    async def close(self) -> None:
        """Close the session; sockets still open on it are closed with it."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def aiohttp_socket(
    url: str, config: ConnectionConfig, context: DialContext
) -> Observable[SocketItem]:
    """Return the cold Observable of one aiohttp client socket to ``url`` (own session)."""
    return _socket(url, config, context, None)


def shared_sockets(shared: SharedSession) -> SocketFactory:
    """A socket factory whose sockets all dial through ``shared``."""

    def factory(url: str, config: ConnectionConfig, context: DialContext) -> Observable[SocketItem]:
        return _socket(url, config, context, shared)

    return factory


def _socket(
    url: str, config: ConnectionConfig, context: DialContext, shared: SharedSession | None
) -> Observable[SocketItem]:
    def subscribe(
        observer: abc.ObserverBase[SocketItem], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        task = context.tasks.spawn(_run(url, config, context, observer, shared))

        def stop() -> None:
            task.cancel()

        return OnDispose(stop)

    return lean(subscribe)


async def _run(
    url: str,
    config: ConnectionConfig,
    context: DialContext,
    observer: abc.ObserverBase[SocketItem],
    shared: SharedSession | None,
) -> None:
    session = shared.get() if shared is not None else aiohttp.ClientSession(timeout=_NO_TOTAL)
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
        if config.compression.enabled:
            set_compression_level(ws, config.compression.level)
        observer.on_next(Opened(AiohttpLink(ws, context.tasks)))
        try:
            error = await read_frames(ws, observer, context.deliver, pause=context.gate)
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
        if shared is None:
            await session.close()
