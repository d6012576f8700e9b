"""``send(..., on_written=)``: every send is confirmed, even of the same str object twice."""

from __future__ import annotations

from typing import Any

import pytest

from rx_honeybee import Connection, EnvelopeTooLarge
from tests.support import FAST

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(10)]


async def test_the_same_envelope_object_sent_twice_is_confirmed_twice(
    server: Any, until: Any
) -> None:
    conn = Connection(server.url, FAST)
    envelope = '["NOTICE","twice"]'
    first: list[int] = []
    second: list[int] = []
    conn.send(envelope, on_written=first.append)  # queued: not connected yet
    conn.send(envelope, on_written=second.append)  # before: replaced the first callback
    try:
        await conn.connect()
        await until(lambda: len(server.received) == 2)
        await until(lambda: first == [1] and second == [1])
    finally:
        await conn.close()


async def test_a_refused_send_leaves_the_earlier_confirmation_waiting(
    server: Any, until: Any
) -> None:
    async with Connection(server.url, FAST) as conn:
        envelope = '["NOTICE","once"]'
        first: list[int] = []
        conn.send(envelope, on_written=first.append)
        with pytest.raises(EnvelopeTooLarge):
            conn.send(envelope * 100_000, on_written=lambda g: None)  # too large: refused
        await until(lambda: first == [1])
