"""Frames of one open aiohttp websocket, client or server: write them and read them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.client_exceptions import ClientConnectionResetError
from aiohttp.compression_utils import ZLibBackend, ZLibCompressor
from reactivex import abc

from rx_honeybee.socket import EncodedText, Gate, Pong, SocketItem
from rx_honeybee.tasks import TaskSet

__all__ = [
    "POLICY_VIOLATION",
    "AiohttpLink",
    "close_quietly",
    "read_frames",
    "set_compression_level",
]

POLICY_VIOLATION = 1008
"""The websocket close code for a peer cut off for flooding."""

_CLOSE_TIMEOUT = 1.0  # seconds a close frame may take to go out

_SYNC_CHUNK = 16 * 1024  # aiohttp compresses frames up to this size on the loop itself
_CHECK_EVERY = 32  # frames read between looks at the clock
_MAX_TURN = 0.005  # seconds of reading before the reader yields to the loop
_RSV1 = 0x40  # the frame header bit of a permessage-deflate message (RFC 7692 section 6)
_EMPTY_BLOCK = b"\x00\x00\x00\xff\xff"  # what resetting a flushed compressor emits
# What AiohttpLink steps by hand on aiohttp's WebSocketWriter (aiohttp 3.x internals);
# without any of them, EncodedText is sent as the str it is.
_WRITER_PARTS = (
    "_write_websocket_frame",
    "_send_lock",
    "_compressobj",
    "_closing",
    "_output_size",
    "_limit",
    "compress",
    "notakeover",
    "protocol",
)


def _raw_writer(ws: Any) -> Any:
    """aiohttp's frame writer of ``ws`` if it has what EncodedText writing needs, else None."""
    writer = getattr(ws, "_writer", None)
    return writer if all(hasattr(writer, part) for part in _WRITER_PARTS) else None


class AiohttpLink:
    """Write side of an aiohttp websocket (client or server).

    An :class:`~rx_honeybee.socket.EncodedText` is written from its ready bytes: ``data``
    as they are, and where permessage-deflate was negotiated its shared ``deflated``
    payload. Under context takeover (aiohttp's default, and what it negotiates unless the
    peer asks otherwise) a payload compressed elsewhere would desynchronise the peer's
    window from our compressor's, so the compressor's history is reset (a full flush)
    before such a frame: our next messages then refer only to what follows it. Without
    a deflated payload (small, or compression did not pay) the message goes uncompressed,
    which RFC 7692 allows and which touches neither side's window.
    """

    __slots__ = ("_congested", "_tasks", "_writer", "_ws")

    def __init__(self, ws: aiohttp.ClientWebSocketResponse | Any, tasks: TaskSet) -> None:
        self._ws = ws  # the open websocket
        self._tasks = tasks  # where fire-and-forget pings run
        self._congested: asyncio.Future[Any] | None = None  # the buffer is draining
        self._writer = _raw_writer(ws)  # aiohttp's frame writer, for EncodedText

    async def send(self, envelope: str) -> None:
        """Write one text frame."""
        writer = self._writer
        if type(envelope) is EncodedText and writer is not None:
            frame = self._frame(envelope)
            if frame is not None:
                if writer.compress:  # keep order with a large frame compressing elsewhere
                    async with writer._send_lock:
                        must_drain = self._write_frame(*frame)
                else:  # as aiohttp: no compression, no lock
                    must_drain = self._write_frame(*frame)
                if must_drain:
                    await writer.protocol._drain_helper()
                return
        await self._ws.send_str(envelope)

    def _frame(self, envelope: EncodedText) -> tuple[bytes, int] | None:
        """The payload and RSV bits to write ``envelope`` with, or None: let aiohttp do it."""
        wbits = self._writer.compress
        if not wbits:
            return envelope.data, 0
        deflated = envelope.deflated
        if deflated is None:
            return envelope.data, 0
        if wbits < 15 and len(envelope.data) > 1 << wbits:  # may reach past the peer's window
            return None
        return deflated, _RSV1

    def _write_frame(self, payload: bytes, rsv: int) -> bool:
        """Write one ready text frame now, as aiohttp's ``send_frame`` would, without
        encoding; return True when aiohttp would then wait for the buffer to drain."""
        writer = self._writer
        if writer._closing:
            raise ClientConnectionResetError("Cannot write to closing transport")
        compressor = writer._compressobj
        if rsv and compressor is not None and not writer.notakeover:
            tail = compressor.flush(ZLibBackend.Z_FULL_FLUSH)  # forget the history
            if tail != _EMPTY_BLOCK:  # never seen: aiohttp flushes each message
                payload = tail + payload
        writer._write_websocket_frame(payload, aiohttp.WSMsgType.TEXT, rsv)
        if writer._output_size > writer._limit:  # aiohttp's flow control, as in send_frame
            writer._output_size = 0
            return bool(writer.protocol._paused)
        return False

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
        writing; a ready ``EncodedText`` is written, unless a large frame holds the
        writer), while congested, or on error (the writer task then meets it).
        """
        if self._congested is not None or self._ws.closed:
            return False
        writer = self._writer
        if type(envelope) is EncodedText and writer is not None:
            frame = self._frame(envelope)
            if frame is None or writer._send_lock.locked():
                return False
            try:
                must_drain = self._write_frame(*frame)
            except Exception:
                return False
            if must_drain:
                self._step(writer.protocol._drain_helper())
            return True
        if self._ws.compress:
            return False
        return self._step(self._ws.send_str(envelope))

    def _step(self, step: Any) -> bool:
        """Run ``step`` up to its first wait, which can only be for the buffer to drain."""
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

    async def close(self, code: int, reason: str = "") -> None:
        """Close the websocket with ``code`` (such as 1008) and ``reason`` (at most 123
        bytes), within a second: a peer that stopped reading never answers."""
        await close_quietly(self._ws, code, reason.encode("utf-8")[:123])


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


async def close_quietly(ws: Any, code: int, message: bytes) -> None:
    """``ws.close(code, message)`` bounded by a second; a socket already gone is fine."""
    try:
        await asyncio.wait_for(ws.close(code=code, message=message), _CLOSE_TIMEOUT)
    except (TimeoutError, OSError, RuntimeError):
        pass
