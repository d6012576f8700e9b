"""The reader yields to the loop while it works through a backlog for a busy consumer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web

from rx_honeybee import Connection
from rx_roots import enclose_notice
from tests.support import FAST

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]

BACKLOG = 400


async def test_other_tasks_run_while_a_slow_consumer_reads_a_backlog(
    server: Any, until: Any
) -> None:
    async def burst(ws: web.WebSocketResponse, _: Any) -> None:
        await ws.receive()  # the client is ready: send everything at once
        for n in range(BACKLOG):
            await ws.send_str(enclose_notice(str(n)))
            sent[0] += 1
        await ws.receive()

    server.handler = burst
    delivered = 0
    sent = [0]

    def slow(_: str) -> None:  # 0.5 ms of synchronous work per envelope: 200 ms in all
        nonlocal delivered
        delivered += 1
        time.sleep(0.0005)

    async with Connection(server.url, FAST) as conn:
        conn.messages.subscribe(slow)
        seen_at: list[int] = []  # how many envelopes were delivered at each tick

        async def ticker() -> None:
            while delivered < BACKLOG:
                seen_at.append(delivered)
                await asyncio.sleep(0)

        conn.hold_reading(ticker)  # the backlog piles up unread (small: all in aiohttp's queue)
        conn.send('["REQ","go",{}]')
        await until(lambda: sent[0] == BACKLOG)
        await asyncio.sleep(0.1)
        ticking = asyncio.ensure_future(ticker())
        conn.release_reading(ticker)  # now read it all, 0.5 ms per envelope
        await until(lambda: delivered == BACKLOG, timeout=10)
        await ticking
        # the ticker ran in the middle of the backlog (before: not once until its end)
        assert any(32 <= n <= BACKLOG - 32 for n in seen_at)
