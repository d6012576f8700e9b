"""Frames of one open aiohttp websocket, client or server: write them and read them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from reactivex import abc

from rx_honeybee.socket import Pong, SocketItem
from rx_honeybee.tasks import TaskSet

__all__ = ["AiohttpLink", "read_frames"]


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
