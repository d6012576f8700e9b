"""Connection.inbox(): a bounded buffer that pauses the reader, so TCP pushes back on the peer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from rx_honeybee import ChannelFull, Connection
from rx_roots import enclose_eose, enclose_notice
from tests.support import FAST

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

FLOOD = 16_000
PAD = "x" * 4000  # ~4 KB envelopes: 64 MB in all, more than the kernel buffers hold
# (Linux may autotune a loopback receive buffer up to tcp_rmem's maximum: 32 MB here)


async def test_a_full_inbox_pauses_reading_and_nothing_is_lost(server: Any, until: Any) -> None:
    sent = 0

    async def flood(ws: web.WebSocketResponse, _: Any) -> None:
        nonlocal sent
        for n in range(FLOOD):
            await ws.send_str(enclose_notice(f"{n} {PAD}"))
            sent += 1
        await ws.receive()  # stay open until the client leaves

    server.handler = flood
    conn = Connection(server.url, FAST)
    faults: list[Exception] = []
    conn.errors.subscribe(faults.append)
    inbox = conn.inbox(["NOTICE"], max_buffer=100)  # before connecting: nothing is missed
    async with conn:
        await until(lambda: len(inbox) == 100)
        # the consumer is busy elsewhere: nothing more is read, for longer than the health
        # monitor waits for a pong (FAST: 0.5 s + 0.25 s), and the peer is not declared dead
        await asyncio.sleep(1.2)
        assert len(inbox) == 100
        assert sent < FLOOD  # the relay is held back by TCP, not buffered by us
        assert conn.generation == 1 and faults and type(faults[0]) is ChannelFull
        assert [type(f) for f in faults] == [ChannelFull]  # no PongTimeout
        got = 0
        async for envelope in inbox:
            assert envelope.startswith(f'["NOTICE","{got} ')
            got += 1
            if got == FLOOD:
                break
        assert sent == FLOOD and inbox.episodes >= 1
        # only ChannelFull: while we did not read, unread pongs were no missed pongs
        assert {type(f) for f in faults} == {ChannelFull} and len(faults) == inbox.episodes
        await inbox.aclose()


async def test_an_inbox_ends_with_the_connection_and_filters_labels(
    server: Any, until: Any
) -> None:
    async def two(ws: web.WebSocketResponse, _: Any) -> None:
        await ws.send_str(enclose_notice("skip me"))
        await ws.send_str(enclose_eose("a"))
        await ws.receive()

    server.handler = two
    conn = Connection(server.url, FAST)
    inbox = conn.inbox(["EOSE"])
    await conn.connect()
    await until(lambda: len(inbox) == 1)
    await conn.close()
    assert [envelope async for envelope in inbox] == [enclose_eose("a")]


async def test_max_buffer_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_buffer"):
        Connection("ws://127.0.0.1:9", FAST).inbox(max_buffer=0)
