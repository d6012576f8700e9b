"""SPEC §4's resume rule on loopback: a reconnect loses no stored or live event.

The relay here is a small aiohttp server that answers a REQ from its store like a real one
(``rx_roots.select``: newest first, ``limit`` per filter) and misbehaves on its first
socket as scripted: it drops the client in the middle of the stored replay, or after the
EOSE, while events keep arriving.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import ujson
from aiohttp import WSMsgType, web

from rx_honeybee import Connection, request
from rx_roots import enclose_eose, enclose_subscription_event, select
from tests.support import FAST, make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

FirstSocket = Callable[[web.WebSocketResponse, str, list[dict[str, Any]]], Awaitable[None]]


def store_relay(store: list[dict[str, Any]], reqs: list[Any], first: FirstSocket) -> Any:
    """A handler answering each REQ from ``store``; the first socket's REQ goes to ``first``."""

    async def handle(ws: web.WebSocketResponse, server: Any) -> None:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            kind, sub_id, *filters = ujson.loads(msg.data)
            if kind != "REQ":
                continue
            reqs.append(filters)
            if server.accepted == 1:
                await first(ws, sub_id, filters)
                await ws.close()
                return
            for event in select(store, filters):
                await ws.send_str(enclose_subscription_event(sub_id, event))
            await ws.send_str(enclose_eose(sub_id))

    return handle


async def follow(server: Any, filters: list[dict[str, Any]], until: Any, want: int) -> list[str]:
    """Request ``filters`` until ``want`` events arrived (and a little more for repeats)."""
    async with Connection(server.url, FAST) as conn:
        got: list[str] = []
        errors: list[Exception] = []
        request(conn, filters).subscribe(lambda e: got.append(e["id"]), errors.append)
        await until(lambda: len(got) >= want and server.accepted == 2, timeout=20)
        await asyncio.sleep(0.2)  # room for a repeat to show up
        assert errors == []
        return got


async def test_a_drop_before_eose_loses_no_stored_event(server: Any, until: Any) -> None:
    # before: the REQ was sent again with since = newest - 30 s: 2,900 of 3,000 lost
    store = [make_event(n, created_at=1_700_000_000 + n) for n in range(3000)]
    reqs: list[Any] = []

    async def part_of_the_replay(ws: web.WebSocketResponse, sub_id: str, filters: Any) -> None:
        for event in select(store, filters)[:100]:
            await ws.send_str(enclose_subscription_event(sub_id, event))

    server.handler = store_relay(store, reqs, part_of_the_replay)
    got = await follow(server, [{"kinds": [1]}], until, 3000)
    assert len(got) == len(set(got)) == 3000
    assert reqs == [[{"kinds": [1]}], [{"kinds": [1]}]]  # the original filters again


async def test_events_published_during_an_outage_all_arrive_despite_limit(
    server: Any, until: Any
) -> None:
    # before: the resent REQ kept limit 5: 45 of the 50 live events were lost
    store = [make_event(n, created_at=1_700_000_000 + n) for n in range(100)]
    reqs: list[Any] = []
    lost_at: list[float] = []

    async def eose_then_outage(ws: web.WebSocketResponse, sub_id: str, filters: Any) -> None:
        for event in select(store, filters):
            await ws.send_str(enclose_subscription_event(sub_id, event))
        await ws.send_str(enclose_eose(sub_id))
        lost_at.append(time.time())
        now = int(time.time())
        store.extend(make_event(n, created_at=now) for n in range(1000, 1050))

    server.handler = store_relay(store, reqs, eose_then_outage)
    got = await follow(server, [{"kinds": [1], "limit": 5}], until, 55)
    assert len(got) == len(set(got)) == 55
    assert set(got) >= {event["id"] for event in store[100:]}  # the 50 live ones
    resumed = reqs[1][0]
    assert set(resumed) == {"kinds", "since"}  # no limit any more
    assert int(lost_at[0]) - 61 <= resumed["since"] <= time.time() - 60


async def test_a_future_dated_event_does_not_silence_the_subscription(
    server: Any, until: Any
) -> None:
    # before: an event ten years ahead became the resume point; nothing came after it
    store = [make_event(0, created_at=int(time.time()) + 10 * 365 * 86_400)]
    reqs: list[Any] = []

    async def future_then_outage(ws: web.WebSocketResponse, sub_id: str, filters: Any) -> None:
        await ws.send_str(enclose_subscription_event(sub_id, store[0]))
        await ws.send_str(enclose_eose(sub_id))
        store.extend(make_event(n, created_at=int(time.time())) for n in range(1, 21))

    server.handler = store_relay(store, reqs, future_then_outage)
    got = await follow(server, [{"kinds": [1]}], until, 21)
    assert len(got) == len(set(got)) == 21
    assert reqs[1][0]["since"] <= time.time() - 60
