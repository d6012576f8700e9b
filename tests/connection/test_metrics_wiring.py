"""What a connection feeds its metrics: UTF-8 bytes both ways, and nothing when disabled."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from rx_honeybee import Connection
from rx_roots import enclose_notice
from tests.support import FAST

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]

NON_ASCII = enclose_notice("gm ☕ — ünïcode 🌍")


async def test_bytes_are_counted_in_utf8_both_ways(server: Any, until: Any) -> None:
    async with Connection(server.url, FAST) as conn:
        conn.send(NON_ASCII)
        conn.send('["CLOSE","a"]')
        await until(lambda: conn.metrics.messages_received == 2)
        size = len(NON_ASCII.encode()) + len('["CLOSE","a"]')
        assert len(NON_ASCII.encode()) > len(NON_ASCII)
        assert conn.metrics.bytes_sent == size
        assert conn.metrics.bytes_received == size


async def test_disabled_metrics_record_nothing(server: Any, until: Any) -> None:
    quiet = replace(FAST, metrics_enabled=False)
    conn = Connection(server.url, quiet)
    fresh = conn.metrics.snapshot()
    got: list[str] = []
    errors: list[Exception] = []
    conn.errors.subscribe(errors.append)

    def faulty(envelope: str) -> None:
        got.append(envelope)
        raise RuntimeError("subscriber bug")

    conn.messages.subscribe(faulty)
    async with conn:
        conn.send(NON_ASCII)
        await until(lambda: len(got) == 1 and len(errors) == 1)
        await server.sockets[0].close()  # a drop, then a reconnection
        await until(lambda: conn.generation == 2)
        await until(lambda: conn.last_pong_at is not None, timeout=3 * FAST.health.ping_interval)
        snap = conn.metrics.snapshot()
    moving = {"uptime", "messages_per_second"}
    assert {k: v for k, v in snap.items() if k not in moving} == {
        k: v for k, v in fresh.items() if k not in moving
    }
    assert snap["messages_per_second"] == 0.0 and snap["uptime"] == 0.0
