"""Repeats past 10,000 ids and reused subscription ids, against the embedded relay."""

from __future__ import annotations

import time
from typing import Any

import pytest

from rx_honeybee import Connection, Pool, request
from rx_honeybee.testing import FAST, Relay, until
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


async def test_a_reconnect_after_12000_events_delivers_no_repeat() -> None:
    # all within the resume window (60 s before the loss): the resumed REQ gets every one
    # of them again
    now = int(time.time())
    events = [make_event(n, created_at=now - 20 + n // 1000) for n in range(12_000)]
    async with Relay(max_limit=20_000) as relay, Connection(relay.url, FAST) as conn:
        for event in events:
            relay.publish(event)
        got: list[str] = []
        request(conn, [{"kinds": [1]}]).subscribe(lambda e: got.append(e["id"]))
        # (a burst this size also outgrows the relay's transport buffer: regression for a
        # stall when a write stepped by hand left its drain future marked as awaited)
        await until(lambda: len(got) == 12_000, timeout=20)
        await relay.stop()
        await relay.start()
        await until(lambda: conn.generation == 2 and relay.subscriptions != [])
        relay.publish(make_event(99_999, created_at=int(time.time())))
        await until(lambda: len(got) == 12_001, timeout=20)
        assert len(got) == len(set(got)) == 12_001  # before: 10,000 ids remembered, 2,000+ twice


async def _old_then_new(reuse: Any, relay: Relay) -> list[dict[str, Any]]:
    """Subscribe to kind 1 as "feed", drop it, subscribe to kind 7 as "feed" at once."""
    for n in range(300):
        relay.publish(make_event(n))
    relay.publish(make_event(1000, kind=7))
    return await reuse()


async def test_a_reused_sub_id_never_gets_the_old_subscriptions_events() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:

        async def reuse() -> list[dict[str, Any]]:
            old = request(conn, [{"kinds": [1]}], sub_id="feed").subscribe()
            old.dispose()  # CLOSE; the relay still answers the first REQ before it
            new: list[dict[str, Any]] = []
            request(conn, [{"kinds": [7]}], sub_id="feed").subscribe(new.append)
            await until(lambda: len(new) >= 1)
            await until(lambda: relay.subscriptions == ["feed"])
            return new

        new = await _old_then_new(reuse, relay)
        assert [e["kind"] for e in new] == [7]  # before: 300 kind-1 events of the old one


async def test_a_reused_pool_sub_id_never_gets_the_old_subscriptions_events() -> None:
    async with Relay() as relay, Pool([relay.url], FAST) as pool:
        conn = pool.connection(relay.url)
        await until(lambda: conn.status.name == "CONNECTED")

        async def reuse() -> list[dict[str, Any]]:
            pool.subscribe("feed", [{"kinds": [1]}]).subscribe()
            pool.unsubscribe("feed")
            new: list[dict[str, Any]] = []
            pool.subscribe("feed", [{"kinds": [7]}]).subscribe(lambda item: new.append(item[1]))
            await until(lambda: len(new) >= 1)
            await until(lambda: relay.subscriptions == ["feed"])
            return new

        new = await _old_then_new(reuse, relay)
        assert [e["kind"] for e in new] == [7]
