"""A publish refused at once leaves nothing behind: the same event can be published again."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from rx_honeybee import (
    Connection,
    EnvelopeTooLarge,
    OkResult,
    QueueFull,
    publish,
)
from rx_honeybee.testing import FAST, Relay, until
from rx_roots import InvalidEvent
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


async def _outcome(conn: Connection, event: dict[str, Any]) -> OkResult | Exception:
    done: asyncio.Future[OkResult | Exception] = asyncio.get_running_loop().create_future()
    publish(conn, event, timeout=5).subscribe(done.set_result, done.set_result)
    return await done


async def test_a_publish_refused_by_a_full_queue_can_be_retried() -> None:
    async with Relay() as relay:
        conn = Connection(relay.url, replace(FAST, write_queue_size=2))
        events = [make_event(n) for n in range(3)]
        first = [asyncio.ensure_future(_outcome(conn, e)) for e in events[:2]]  # queued
        await asyncio.sleep(0)
        assert isinstance(await _outcome(conn, events[2]), QueueFull)  # at once
        await conn.connect()
        assert all(isinstance(r, OkResult) and r.accepted for r in await asyncio.gather(*first))
        again = await _outcome(conn, events[2])  # before: never sent, PublishTimeout
        assert isinstance(again, OkResult) and again.accepted
        await conn.close()


async def test_a_too_large_event_fails_at_once_and_nothing_waits() -> None:
    async with Relay() as relay, Connection(relay.url, replace(FAST, max_message_size=600)) as c:
        big = make_event(1, content="x" * 1000)
        assert isinstance(await _outcome(c, big), EnvelopeTooLarge)
        assert c.session is not None and c.session.publishes.pending == {}
        ok = await _outcome(c, make_event(2))
        assert isinstance(ok, OkResult) and ok.accepted


async def test_a_malformed_event_fails_at_once_and_is_not_sent() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        bad = {**make_event(3), "kind": "1"}  # a relay may never answer this one
        outcome = await asyncio.wait_for(_outcome(conn, bad), 1.0)  # not a PublishTimeout
        assert isinstance(outcome, InvalidEvent) and "kind" in str(outcome)
        await asyncio.sleep(0.05)
        assert not any(e.startswith('["EVENT"') for e in relay.received)
        await until(lambda: conn.pending == 0)
