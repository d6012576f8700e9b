"""A socket over a websocket the server already accepted: subscribe = read it.

The responder side's :data:`~rx_honeybee.socket.SocketFactory`, with the per-client
inbound token bucket (:class:`~rx_honeybee.config.InboundLimit`) and the read gate that
fault injection uses to stall a client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web
from reactivex import Observable, abc

from rx_honeybee.bucket import TokenBucket
from rx_honeybee.config import ConnectionConfig, InboundLimit
from rx_honeybee.errors import ConnectionClosed
from rx_honeybee.lean import OnDispose, lean
from rx_honeybee.socket import DialContext, Opened, SocketFactory, SocketItem
from rx_honeybee.transport.frames import (
    POLICY_VIOLATION,
    AiohttpLink,
    close_quietly,
    read_frames,
    set_compression_level,
)
from rx_roots import enclose_notice

__all__ = ["accepted_socket"]

_CLOSE_TIMEOUT = 1.0


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
            if config.compression.enabled:
                set_compression_level(ws, config.compression.level)
            task = context.tasks.spawn(_read_client(ws, url, observer, context, limit, gate))

            def stop() -> None:
                task.cancel()

            return OnDispose(stop)

        return lean(subscribe)

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
            error = await read_frames(ws, observer, deliver, gate, context.gate)
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
    bucket = TokenBucket(limit, asyncio.get_running_loop().time)
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
            context.tasks.spawn(close_quietly(ws, POLICY_VIOLATION, b"flooding"))

    return throttled


async def _send_quietly(ws: web.WebSocketResponse, text: str) -> None:
    try:
        await ws.send_str(text)
    except (ConnectionError, RuntimeError):
        pass
