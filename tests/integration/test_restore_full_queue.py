"""After a reconnect, more subscriptions than the write queue holds: all come back."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from rx_honeybee import Connection, request
from rx_honeybee.testing import FAST, Relay, until
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


async def test_thirty_subscriptions_through_a_queue_of_ten_all_resume() -> None:
    async with Relay() as relay:
        conn = Connection(relay.url, replace(FAST, write_queue_size=10))
        await conn.connect()
        got: dict[str, list[str]] = {f"s{n}": [] for n in range(30)}
        errors: list[Exception] = []
        for sub_id, seen in got.items():
            request(conn, [{"kinds": [1]}], sub_id=sub_id).subscribe(
                lambda e, seen=seen: seen.append(e["id"]), errors.append
            )
            await until(lambda sub_id=sub_id: sub_id in relay.subscriptions)
        await relay.stop()
        await relay.start()
        await until(lambda: len(relay.subscriptions) == 30)  # before: 10 came back
        relay.publish(make_event(1, created_at=int(time.time())))  # a live one
        await until(lambda: all(len(seen) == 1 for seen in got.values()))
        assert errors == []
        await conn.close()
