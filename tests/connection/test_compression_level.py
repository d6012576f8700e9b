"""CompressionConfig.level reaches the compressor: bytes on the wire, counted by a TCP proxy."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio

from rx_honeybee import CompressionConfig, Connection, ConnectionConfig
from rx_honeybee.testing import Relay
from rx_roots import enclose_notice
from tests.support import FAST, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


class CountingProxy:
    """Forwards loopback TCP to ``port``, counting the bytes the client sends."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.upstream = 0  # client → server bytes
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        for pipe in (self._pipe(reader, up_writer, True), self._pipe(up_reader, writer, False)):
            task = asyncio.get_running_loop().create_task(pipe)
            self.pipes.add(task)
            task.add_done_callback(self.pipes.discard)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if count:
                    self.upstream += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.pipes):
            task.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)
        await self.server.wait_closed()


@pytest_asyncio.fixture
async def relay() -> AsyncIterator[Relay]:
    deflating = replace(FAST, compression=CompressionConfig(enabled=True))
    async with Relay(config=deflating) as running:
        yield running


def _text() -> str:
    rng = random.Random(7)
    letters = "abcdefghij"
    words = ["".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(2000)]
    return " ".join(rng.choice(words) for _ in range(30_000))  # ~200 KB, compressible


async def _bytes_sent_at(relay: Relay, level: int) -> int:
    proxy = CountingProxy(relay.port)
    await proxy.start()
    config = ConnectionConfig(compression=CompressionConfig(enabled=True, level=level))
    try:
        async with Connection(proxy.url, config) as conn:
            assert conn.link is not None and conn.link.compressed
            before = relay.received_count
            conn.send(enclose_notice(_text()))
            await until(lambda: relay.received_count == before + 1)
            return proxy.upstream
    finally:
        await proxy.stop()


async def test_the_configured_level_is_the_one_that_compresses(relay: Relay) -> None:
    stored = await _bytes_sent_at(relay, 0)  # level 0: deflate framing, nothing squeezed
    fast = await _bytes_sent_at(relay, 1)
    best = await _bytes_sent_at(relay, 9)
    assert stored > 200_000
    assert fast < 0.6 * stored
    assert best < 0.9 * fast  # aiohttp alone would compress both at level 1
