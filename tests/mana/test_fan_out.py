"""A PreparedCache where the project fans out: a relay's live events and Pool.broadcast.

Through the honeybee ``fan_out`` extension point: ``Relay(fan_out=cached_fan_out())``
prepares each new event once per subscription id for every matching subscriber;
``Pool(fan_out=...)`` prepares a broadcast once for every relay.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from rx_honeybee import Connection, Pool, request
from rx_honeybee.testing import FAST, Relay, until
from rx_mana import PreparedCache, cached_fan_out
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


async def test_a_relay_prepares_a_live_event_once_per_subscription_id() -> None:
    cache = PreparedCache()
    async with Relay(fan_out=cached_fan_out(cache)) as relay:
        conns = [Connection(relay.url, FAST) for _ in range(20)]
        got: list[list[dict[str, Any]]] = [[] for _ in conns]
        try:
            for n, conn in enumerate(conns):
                await conn.connect()
                sub_id = "odd" if n % 2 else "even"
                request(conn, [{"kinds": [1]}], sub_id=sub_id).subscribe(got[n].append)
            await until(lambda: len(relay.subscriptions) == 20)
            event = make_event(1, created_at=int(time.time()), content="x" * 2000)
            assert relay.publish(event)[0]
            await until(lambda: all(len(g) == 1 for g in got))
            assert all(g == [event] for g in got)
            stats = cache.stats()
            assert (stats.misses, stats.hits) == (2, 18)  # one envelope per sub id
        finally:
            for conn in conns:
                await conn.close()


async def test_a_pool_broadcast_is_prepared_once_for_every_relay() -> None:
    cache = PreparedCache()
    async with Relay() as a, Relay() as b, Relay() as c:
        relays = [a, b, c]
        async with Pool([r.url for r in relays], FAST, fan_out=cached_fan_out(cache)) as pool:
            await until(lambda: all(pool.status(r.url).name == "CONNECTED" for r in relays))
            envelope = '["NOTICE-ME","' + "y" * 600 + '"]'
            assert pool.broadcast(envelope) == []
            await until(lambda: all(envelope in r.received for r in relays))
        stats = cache.stats()
        assert (stats.misses, stats.hits) == (1, 2)
