"""A request() or publish() subscriber that raises is reported and hurts no one else."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rx_honeybee import Connection, OkResult, Pool, publish, request
from rx_honeybee.testing import Relay
from tests.support import FAST, make_event, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


def _boom(_: Any) -> None:
    raise RuntimeError("subscriber bug")


async def test_a_raising_request_subscriber_is_reported_and_the_others_go_on() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        faults: list[Exception] = []
        conn.errors.subscribe(faults.append)
        good: list[str] = []
        request(conn, [{"kinds": [1]}], sub_id="bad").subscribe(_boom)
        request(conn, [{"kinds": [1]}], sub_id="good").subscribe(lambda e: good.append(e["id"]))
        for n in range(3):
            relay.publish(make_event(n))
        await until(lambda: len(good) == 3)
        assert [str(f) for f in faults] == ["subscriber bug"] * 3
        assert conn.generation == 1  # the reader never stopped


async def test_a_raising_publish_subscriber_keeps_the_ok_from_the_others() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        faults: list[Exception] = []
        conn.errors.subscribe(faults.append)
        event = make_event(1)
        results: list[OkResult] = []
        publish(conn, event).subscribe(_boom)
        publish(conn, event).subscribe(results.append)
        await until(lambda: len(results) == 1)
        assert results[0].accepted and [str(f) for f in faults] == ["subscriber bug"]


async def test_pool_publish_completes_although_a_subscriber_raises() -> None:
    async with Relay() as one, Relay() as two, Pool([one.url, two.url], FAST) as pool:
        await until(
            lambda: all(c.status.name == "CONNECTED" for c in map(pool.connection, pool.relays))
        )
        done = asyncio.Event()
        pool.publish(make_event(2)).subscribe(_boom, on_completed=done.set)
        await asyncio.wait_for(done.wait(), 5)
