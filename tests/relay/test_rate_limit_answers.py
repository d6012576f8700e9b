"""Item 8 of issue 12: what the relay's rate limit refuses gets an answer, and a flood ends.

Before, envelopes over the per-client bucket were dropped silently: a publish waited for
its OK until it timed out, a REQ for its EOSE.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import ujson

from rx_honeybee import Connection, InboundLimit, Session, SessionConfig
from rx_honeybee.initiator import OkResult, publish
from rx_honeybee.relay import Relay
from rx_honeybee.testing import FAST, until
from tests.relay.raw import raw_client
from tests.stores import both_stores  # noqa: F401  (each test: memory, then SQLite)
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

_SLOW = InboundLimit(messages_per_sec=0.5, burst=5, max_dropped=100)


async def _ok_of(conn: Connection, event: dict[str, Any]) -> OkResult:
    answer: asyncio.Future[OkResult] = asyncio.get_running_loop().create_future()
    publish(conn, event, timeout=5.0).subscribe(answer.set_result, answer.set_exception)
    return await answer


async def test_publishes_over_the_limit_are_answered_rate_limited() -> None:
    events = [make_event(n, seed="rate") for n in range(10)]
    async with Relay(limit=_SLOW) as relay, Connection(relay.url, FAST) as conn:
        Session(conn, SessionConfig(max_retries=0))  # the refusal itself, not a retry's
        results = await asyncio.gather(*(_ok_of(conn, event) for event in events))
        accepted = [r for r in results if r.accepted]
        refused = [r for r in results if not r.accepted]
        assert len(accepted) == 5 and len(relay.events) == 5
        assert {(r.prefix, r.message) for r in refused} == {
            ("rate-limited", "rate-limited: slow down")
        }


async def test_reqs_over_the_limit_are_closed_rate_limited() -> None:
    async with Relay(limit=_SLOW) as relay, raw_client(relay.url) as client:
        for n in range(7):
            await client.send(ujson.dumps(["REQ", f"s{n}", {"kinds": [1]}]))
        for n in range(5):
            await client.wait_for("EOSE", f"s{n}")
        for n in (5, 6):
            assert await client.wait_for("CLOSED", f"s{n}") == [
                "CLOSED",
                f"s{n}",
                "rate-limited: slow down",
            ]
        assert relay.subscriptions == [f"s{n}" for n in range(5)]


async def test_a_client_that_keeps_flooding_is_disconnected() -> None:
    flood = InboundLimit(messages_per_sec=0.5, burst=2, max_dropped=5)
    async with Relay(limit=flood) as relay, raw_client(relay.url) as client:
        for n in range(12):
            await client.send(ujson.dumps(["REQ", f"s{n}", {"kinds": [1]}]))
        await until(lambda: client.closed_code is not None)
        assert client.closed_code == 1008  # policy violation, as InboundLimit promises
        assert len(client.of("CLOSED")) >= 3
        await until(lambda: relay.clients == 0)


async def test_the_1008_cut_off_is_reachable_with_the_default_limit() -> None:
    async with Relay() as relay, raw_client(relay.url) as client:
        for _ in range(9000):  # burst 5,000 + ~1 s of refill, then 1,000 refusals in a row
            try:
                await client.send('["X"]')
            except (ConnectionError, RuntimeError):
                break  # the relay closed it meanwhile
            if client.closed_code is not None:
                break
        await until(lambda: client.closed_code is not None, 10.0)
        assert client.closed_code == 1008
        assert ["NOTICE", "rate-limited: flooding; disconnecting"] in client.frames
