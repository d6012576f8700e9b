"""EncodedText: an envelope encoded (and deflated) once, written as it is by the aiohttp link.

The loopback tests give an EncodedText ``data`` and ``deflated`` that differ from its
text, so what the peer reads proves which bytes went on the wire.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.client_exceptions import ClientConnectionResetError

from rx_honeybee import CompressionConfig, Connection
from rx_honeybee.socket import EncodedText
from rx_honeybee.tasks import TaskSet
from rx_honeybee.testing import MarbleHarness
from rx_honeybee.transport.frames import AiohttpLink
from rx_honeybee.transport.server import Server, serve
from rx_honeybee.write_queue import WriteQueue
from tests.support import FAST, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

DEFLATE = replace(FAST, compression=CompressionConfig(enabled=True))


def fresh_deflate(text: str) -> bytes:
    """``text`` as one permessage-deflate payload from a compressor with no history."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = compressor.compress(text.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return out.removesuffix(b"\x00\x00\xff\xff")


def note(n: int, size: int = 600) -> str:
    """A compressible envelope; consecutive notes share most bytes (context takeover bites)."""
    return (
        f'["NOTICE","{n:04d} '
        + "the quick brown fox jumps over the lazy dog " * (size // 44)
        + '"]'
    )


def marked(text: str, mark: str) -> EncodedText:
    """An EncodedText whose bytes say ``mark``-data / ``mark``-deflated instead of ``text``."""
    return EncodedText(
        text,
        note_as(text, f"{mark}-data").encode(),
        lambda: fresh_deflate(note_as(text, f"{mark}-deflated")),
    )


def note_as(text: str, tag: str) -> str:
    return text.replace('["NOTICE","', f'["NOTICE","{tag} ', 1)


# -- the type and the queue --------------------------------------------------------------


async def test_encoded_text_is_its_text_and_deflates_once_on_demand() -> None:
    calls: list[int] = []

    def deflate() -> bytes:
        calls.append(1)
        return b"z"

    enc = EncodedText('["NOTICE","hi"]', b"raw", deflate)
    assert enc == '["NOTICE","hi"]' and isinstance(enc, str) and hash(enc) == hash(str(enc))
    assert enc.data == b"raw" and calls == []
    assert enc.deflated == b"z" and enc.deflated == b"z" and calls == [1]
    assert EncodedText("x", b"x").deflated is None


async def test_a_write_queue_carries_the_same_encoded_object_to_the_link() -> None:
    queue = WriteQueue(10, 1 << 20)
    enc = EncodedText('["NOTICE","hi"]', b'["NOTICE","hi"]')
    queue.put(enc)
    with pytest.raises(TypeError):
        queue.put(b"bytes")  # type: ignore[arg-type]
    h = MarbleHarness(lambda link: ["-o"])
    await h.start()
    h.conn.send(enc)
    await h.run_until(3)
    assert h.link.sent == [enc] and h.link.sent[0] is enc
    await h.conn.close()


# -- loopback: a server responder writing to an aiohttp client ----------------------------


@pytest_asyncio.fixture
async def server() -> AsyncIterator[tuple[Server, list[Connection]]]:
    accepted: list[Connection] = []
    async with serve("127.0.0.1", 0, DEFLATE) as running:
        sub = running.connections.subscribe(accepted.append)
        yield running, accepted
        sub.dispose()


async def _client(
    server: Server, accepted: list[Connection], compress: int
) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse, Connection]:
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(server.url, compress=compress)
    await until(lambda: len(accepted) == 1)
    return session, ws, accepted.pop()


async def _read(ws: aiohttp.ClientWebSocketResponse, n: int) -> list[str]:
    return [await asyncio.wait_for(ws.receive_str(), 5) for _ in range(n)]


async def test_deflated_payloads_mixed_with_plain_sends_all_decode(
    server: tuple[Server, list[Connection]],
) -> None:
    session, ws, conn = await _client(*server, compress=15)
    try:
        link = conn.link
        assert link is not None and link.compressed
        expected: list[str] = []
        for n in range(30):  # plain, try_send-encoded, plain, link.send-encoded, ...
            text = note(n)
            if n % 2 == 0:
                conn.send(text)  # aiohttp compresses, with its history
                expected.append(text)
            elif n % 4 == 1:
                conn.send(marked(text, "q"))  # through the queue (try_send)
                expected.append(note_as(text, "q-deflated"))
            else:
                await link.send(marked(text, "l"))  # the writer task's path
                expected.append(note_as(text, "l-deflated"))
            await conn._queue.drained()
        # Without the compressor reset each plain message after an encoded one would
        # refer to history the client never saw: garbage or a zlib error here.
        assert await _read(ws, 30) == expected
    finally:
        await ws.close()
        await session.close()


async def test_small_or_unhelpful_payloads_go_uncompressed_and_keep_the_contexts(
    server: tuple[Server, list[Connection]],
) -> None:
    session, ws, conn = await _client(*server, compress=15)
    try:
        plain = EncodedText('["NOTICE","x"]', b'["NOTICE","small-data"]')  # never deflated
        texts = [note(1), plain, note(2), plain, note(3)]
        for text in texts:
            conn.send(text)
        assert await _read(ws, 5) == [note(1), '["NOTICE","small-data"]', note(2)] + [
            '["NOTICE","small-data"]',
            note(3),
        ]
    finally:
        await ws.close()
        await session.close()


async def test_without_deflate_the_data_bytes_are_written_as_they_are() -> None:
    accepted: list[Connection] = []
    async with serve("127.0.0.1", 0, FAST) as running:
        sub = running.connections.subscribe(accepted.append)
        session, ws, conn = await _client(running, accepted, compress=0)
        try:
            assert conn.link is not None and not conn.link.compressed
            conn.send(marked(note(1), "q"))
            await conn.link.send(marked(note(2), "l"))
            got = await _read(ws, 2)
            assert got == [note_as(note(1), "q-data"), note_as(note(2), "l-data")]
        finally:
            await ws.close()
            await session.close()
            sub.dispose()


async def test_a_smaller_peer_window_gets_long_messages_compressed_by_aiohttp(
    server: tuple[Server, list[Connection]],
) -> None:
    session, ws, conn = await _client(*server, compress=9)  # server_max_window_bits=9
    try:
        short, long = note(1, size=100), note(2, size=2000)
        assert len(short) <= 512 < len(long)
        conn.send(marked(short, "q"))  # fits the 512-byte window: the shared payload
        conn.send(marked(long, "q"))  # might reach too far back: aiohttp compresses the text
        conn.send(note(3))
        assert await _read(ws, 3) == [note_as(short, "q-deflated"), long, note(3)]
    finally:
        await ws.close()
        await session.close()


async def test_a_client_connection_writes_masked_deflated_frames(
    server: tuple[Server, list[Connection]],
) -> None:
    running, accepted = server
    async with Connection(running.url, DEFLATE) as client:
        await until(lambda: len(accepted) == 1)
        got: list[str] = []
        accepted[0].messages.subscribe(lambda env: got.append(str(env)))
        client.send(marked(note(1), "c"))
        client.send(note(2))
        client.send(marked(note(3), "c"))
        await until(lambda: len(got) == 3)
        assert got == [note_as(note(1), "c-deflated"), note(2), note_as(note(3), "c-deflated")]


# -- the link's guards, over a stand-in writer ------------------------------------------------


class _Compressor:
    def __init__(self, tail: bytes) -> None:
        self.tail = tail
        self.flushes: list[int] = []

    def flush(self, mode: int) -> bytes:
        self.flushes.append(mode)
        return self.tail


class _Protocol:
    def __init__(self) -> None:
        self._paused = False
        self.drains = 0

    async def _drain_helper(self) -> None:
        self.drains += 1


@dataclass
class _Writer:
    """aiohttp's WebSocketWriter, as far as AiohttpLink steps it."""

    compress: int = 15
    notakeover: bool = False
    _closing: bool = False
    _output_size: int = 0
    _limit: int = 1 << 16
    _compressobj: Any = None
    protocol: Any = None
    frames: list[tuple[bytes, int, int]] | None = None

    def __post_init__(self) -> None:
        self._send_lock = asyncio.Lock()
        self.protocol = self.protocol or _Protocol()
        self.frames = []

    def _write_websocket_frame(self, payload: bytes, opcode: int, rsv: int) -> None:
        assert self.frames is not None
        self.frames.append((payload, int(opcode), rsv))
        self._output_size += len(payload)


class _Ws:
    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self.compress = getattr(writer, "compress", 0)
        self.closed = False
        self.sent: list[str] = []

    async def send_str(self, text: str) -> None:
        self.sent.append(text)


def _link(writer: Any) -> tuple[AiohttpLink, _Ws]:
    ws = _Ws(writer)
    return AiohttpLink(ws, TaskSet()), ws


async def test_a_busy_writer_makes_try_send_wait_for_the_writer_task() -> None:
    writer = _Writer()
    link, _ = _link(writer)
    enc = EncodedText("x" * 300, b"d" * 300, lambda: b"z")
    async with writer._send_lock:  # a large frame compressing in the executor
        assert link.try_send(enc) is False
    assert link.try_send(enc) is True
    assert writer.frames == [(b"z", 1, 0x40)]


async def test_the_compressor_history_is_reset_and_an_odd_tail_is_kept() -> None:
    compressor = _Compressor(b"\x00\x00\x00\xff\xff")
    writer = _Writer(_compressobj=compressor)
    link, _ = _link(writer)
    await link.send(EncodedText("x", b"d", lambda: b"z"))
    compressor.tail = b"\x02\x00"  # never seen from aiohttp: keep it in the stream
    await link.send(EncodedText("x", b"d", lambda: b"z"))
    assert writer.frames == [(b"z", 1, 0x40), (b"\x02\x00z", 1, 0x40)]
    assert compressor.flushes == [zlib.Z_FULL_FLUSH] * 2


async def test_no_takeover_or_an_uncompressed_frame_leaves_the_compressor_alone() -> None:
    compressor = _Compressor(b"")
    writer = _Writer(_compressobj=compressor, notakeover=True)
    link, _ = _link(writer)
    await link.send(EncodedText("x", b"d", lambda: b"z"))
    await link.send(EncodedText("x", b"d"))
    assert writer.frames == [(b"z", 1, 0x40), (b"d", 1, 0)]
    assert compressor.flushes == []


async def test_flow_control_and_closing_follow_aiohttp() -> None:
    writer = _Writer(_limit=1)
    writer.protocol._paused = True
    link, _ = _link(writer)
    await link.send(EncodedText("x", b"data"))
    assert writer.protocol.drains == 1 and writer._output_size == 0
    writer._closing = True
    with pytest.raises(ClientConnectionResetError):
        await link.send(EncodedText("x", b"data"))
    assert link.try_send(EncodedText("x", b"data")) is False


async def test_an_unknown_writer_gets_the_text() -> None:
    link, ws = _link(object())  # not the aiohttp writer this was written against
    await link.send(EncodedText("text", b"data"))
    assert ws.sent == ["text"]


async def test_try_send_into_a_full_buffer_writes_then_leaves_the_rest_to_the_writer() -> None:
    drained = asyncio.get_running_loop().create_future()

    class Full(_Protocol):
        async def _drain_helper(self) -> None:
            await drained

    writer = _Writer(_limit=1, protocol=Full())
    writer.protocol._paused = True
    link, _ = _link(writer)
    assert link.try_send(EncodedText("x", b"one")) is True  # written; the buffer is full
    assert link.try_send(EncodedText("x", b"two")) is False  # congested: the queue waits
    drained.set_result(None)
    await asyncio.sleep(0)
    assert link.try_send(EncodedText("x", b"two")) is True
    assert writer.frames is not None and [f[0] for f in writer.frames] == [b"one", b"two"]
