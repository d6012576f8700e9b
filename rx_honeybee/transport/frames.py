"""Frames of one open aiohttp websocket, client or server: write them and read them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.compression_utils import ZLibCompressor
from reactivex import abc

from rx_honeybee.socket import Gate, Pong, SocketItem
from rx_honeybee.tasks import TaskSet

__all__ = ["AiohttpLink", "read_frames", "set_compression_level"]

_SYNC_CHUNK = 16 * 1024  # aiohttp compresses frames up to this size on the loop itself
_CHECK_EVERY = 32  # frames read between looks at the clock
_MAX_TURN = 0.005  # seconds of reading before the reader yields to the loop


class AiohttpLink:
    """Write side of an aiohttp websocket (client or server)."""

    __slots__ = ("_congested", "_tasks", "_ws")

    def __init__(self, ws: aiohttp.ClientWebSocketResponse | Any, tasks: TaskSet) -> None:
        self._ws = ws  # the open websocket
        self._tasks = tasks  # where fire-and-forget pings run
        self._congested: asyncio.Future[Any] | None = None  # the buffer is draining

    async def send(self, envelope: str) -> None:
        """Write one text frame."""
        await self._ws.send_str(envelope)

    def try_send(self, envelope: str) -> bool:
        """Write one text frame now, without a task switch, when nothing is in the way.

        A producer that queues many envelopes in one go (5,000 publishes) would otherwise
        have the relay wait until it yields before the first byte leaves. Uncompressed,
        aiohttp's ``send_str`` writes the frame to the transport before its only possible
        suspension (waiting for a full buffer to drain), so it is stepped by hand here: it
        finishes at once, or the frame is written and only the wait is left; that wait is
        dropped (the coroutine is closed) and the link counts as congested until the
        buffer drains, so the queue's writer task, whose sends do wait, takes over.
        Returns False, writing nothing, when compressing (aiohttp may suspend before
        writing), while congested, or on error (the writer task then meets it).
        """
        if self._congested is not None or self._ws.compress or self._ws.closed:
            return False
        step = self._ws.send_str(envelope)
        try:
            waiting = step.send(None)
        except StopIteration:
            return True
        except Exception:
            return False
        step.close()  # the frame is out; we do not wait for the buffer here
        if isinstance(waiting, asyncio.Future):
            # A Task clears this flag on every future it is handed; nobody awaited this
            # one for us, and the next await of it (the writer's drain) would fail on it.
            waiting._asyncio_future_blocking = False
            if not waiting.done():
                self._congested = waiting
                waiting.add_done_callback(self._drained)
        return True

    def _drained(self, waiting: asyncio.Future[Any]) -> None:
        if self._congested is waiting:
            self._congested = None

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
    pause: Gate | None = None,
) -> BaseException | None:
    """Pump frames into ``observer`` (envelopes into ``deliver`` when given) until the
    socket closes; return the read error, if any. Works for client and server sockets.

    While ``gate`` is cleared nothing is read (nor are pings answered): a stalled peer.
    While ``pause`` is shut nothing is read either: our consumer is full (back-pressure).

    aiohttp returns buffered frames without a task switch, so a backlog read by a busy
    consumer would hold the loop for as long as it lasts (pings unsent, pongs unread, a
    live peer declared dead): the reader yields to the loop once ``_MAX_TURN`` seconds of
    reading have passed (looked at every ``_CHECK_EVERY`` frames, so it costs next to
    nothing per frame)."""
    text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
    ping, pong, error = aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG, aiohttp.WSMsgType.ERROR
    on_next = observer.on_next
    envelope = deliver or on_next
    receive = ws.receive
    clock = asyncio.get_running_loop().time
    countdown = _CHECK_EVERY
    turn_began = clock()
    while True:
        if gate is not None and not gate.is_set():
            await gate.wait()
        if pause is not None and not pause.is_open:
            await pause.opened()
        msg = await receive()
        if gate is not None and not gate.is_set():  # stalled while this read waited
            await gate.wait()
        kind = msg.type
        if kind is text or kind is binary:
            envelope(msg.data)
            countdown -= 1
            if not countdown:
                countdown = _CHECK_EVERY
                if clock() - turn_began > _MAX_TURN:
                    await asyncio.sleep(0)  # let pings, pongs and other tasks through
                    turn_began = clock()
        elif kind is pong:
            on_next(Pong(msg.data))
        elif kind is ping:
            await ws.pong(msg.data)
        elif kind is error:
            exc: BaseException = msg.data
            return exc
        else:  # CLOSE, CLOSING, CLOSED
            return None


def set_compression_level(ws: Any, level: int) -> bool:
    """Make permessage-deflate compress at ``level`` (0-9) on this socket, if negotiated.

    aiohttp always compresses at level 1 (``Z_BEST_SPEED``) and has no setting for it, so
    the writer's compressor is replaced by one at ``level`` (same window bits; aiohttp
    flushes it per message as before). Returns False, changing nothing, when deflate was
    not negotiated or the writer is not the one this was written against.
    """
    writer = getattr(ws, "_writer", None)
    wbits = getattr(writer, "compress", 0)
    if not wbits or not hasattr(writer, "_compressobj"):
        return False
    writer._compressobj = ZLibCompressor(  # type: ignore[union-attr]
        level=level, wbits=-wbits, max_sync_chunk_size=_SYNC_CHUNK
    )
    return True
