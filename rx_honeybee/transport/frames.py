"""Frames of one open aiohttp websocket, client or server: write them and read them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
from aiohttp.compression_utils import ZLibCompressor
from reactivex import abc

from rx_honeybee.socket import Gate, Pong, SocketItem
from rx_honeybee.tasks import TaskSet

__all__ = ["AiohttpLink", "read_frames", "set_compression_level"]

_SYNC_CHUNK = 16 * 1024  # aiohttp compresses frames up to this size on the loop itself


class AiohttpLink:
    """Write side of an aiohttp websocket (client or server)."""

    __slots__ = ("_draining", "_tasks", "_ws")

    def __init__(self, ws: aiohttp.ClientWebSocketResponse | Any, tasks: TaskSet) -> None:
        self._ws = ws  # the open websocket
        self._tasks = tasks  # where fire-and-forget pings and drains run
        self._draining: asyncio.Task[None] | None = None  # a try_send waiting for the buffer

    async def send(self, envelope: str) -> None:
        """Write one text frame (after a ``try_send`` that is still waiting to drain)."""
        if self._draining is not None:
            await asyncio.shield(self._draining)
        await self._ws.send_str(envelope)

    def try_send(self, envelope: str) -> bool:
        """Write one text frame now, without a task switch, when nothing is in the way.

        A producer that queues many envelopes in one go (5,000 publishes) would otherwise
        have the relay wait until it yields before the first byte leaves. Uncompressed,
        aiohttp's ``send_str`` writes the frame to the transport before its only possible
        suspension (waiting for a full buffer to drain), so it is stepped by hand here: it
        either finishes at once, or the frame is written and a task waits for the drain
        (later writes wait for that task). Returns False, writing nothing, when
        compressing (aiohttp may suspend before writing), during a drain, or on error (the
        queue's writer task then writes it, or meets the error).
        """
        if self._draining is not None or self._ws.compress or self._ws.closed:
            return False
        step = self._ws.send_str(envelope)
        try:
            waiting = step.send(None)
        except StopIteration:
            return True
        except Exception:
            return False
        self._draining = task = self._tasks.spawn(_finish(step, waiting))
        task.add_done_callback(self._drained)
        return True

    def _drained(self, task: asyncio.Task[None]) -> None:
        if self._draining is task:
            self._draining = None

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


async def _finish(step: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Drive ``step``, a coroutine stepped by hand that suspended on ``waiting``, to its end.

    What an asyncio Task would do: wait for what it waits on, resume it, repeat. A failure
    (the socket died meanwhile) ends it quietly: the reader reports the lost socket.
    """
    try:
        while True:
            try:
                if waiting is None:
                    await asyncio.sleep(0)
                else:
                    await waiting
            except asyncio.CancelledError:
                raise
            except Exception:
                pass  # the coroutine meets the same failure when resumed
            waiting = step.send(None)
    except StopIteration:
        return
    except asyncio.CancelledError:
        step.close()
        raise
    except Exception:
        return


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
    While ``pause`` is shut nothing is read either: our consumer is full (back-pressure)."""
    text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
    ping, pong, error = aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG, aiohttp.WSMsgType.ERROR
    on_next = observer.on_next
    envelope = deliver or on_next
    receive = ws.receive
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
