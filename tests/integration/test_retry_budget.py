"""A live subscription's retries are counted per socket, not over its whole life.

NIP-42 authentication holds for one connection: after every reconnect an auth relay
refuses the resumed REQ again, and the session must answer it again. A relay's OK to
the AUTH event itself is expected, not reported as an OK for nothing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from rx_honeybee import Connection, Session, SessionConfig, UnexpectedOk, request
from rx_honeybee.testing import FAST, Relay, until
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


def hook(challenge: str, url: str) -> dict[str, Any]:
    tags = [["relay", url], ["challenge", challenge]]
    return make_event(
        0, seed="auth", kind=22242, content="", tags=tags, created_at=int(time.time())
    )


async def test_a_live_subscription_authenticates_again_after_each_reconnect() -> None:
    async with Relay(auth=True) as relay, Connection(relay.url, FAST) as conn:
        Session(conn, auth=hook)
        errors: list[Exception] = []
        faults: list[Exception] = []
        conn.errors.subscribe(faults.append)
        got: list[str] = []
        request(conn, [{"kinds": [1]}], sub_id="live").subscribe(
            lambda e: got.append(e["id"]), errors.append
        )
        await until(lambda: relay.subscriptions == ["live"])
        for n in range(3):  # before: ended with SubscriptionClosed at the first reconnect
            relay.faults.drop_after(0)
            await until(lambda n=n: conn.generation == n + 2 and relay.subscriptions == ["live"])
            relay.publish(make_event(n, created_at=int(time.time())))
            await until(lambda n=n: len(got) == n + 1)
        assert errors == []
        assert [f for f in faults if isinstance(f, UnexpectedOk)] == []  # before: one per AUTH


async def test_rate_limited_retries_start_again_on_each_socket() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        Session(conn, SessionConfig(rate_limit_delay=0.01, max_rate_limit_delay=0.02))
        errors: list[Exception] = []
        request(conn, [{"kinds": [1]}], sub_id="live").subscribe(lambda e: None, errors.append)
        await until(lambda: relay.subscriptions == ["live"])
        for n in range(5):  # max_retries is 3; before: the 4th refusal ever ended it
            relay.faults.closed_next_req("rate-limited: slow down")
            relay.faults.drop_after(0)
            await until(lambda n=n: conn.generation == n + 2 and relay.subscriptions == ["live"])
        await asyncio.sleep(0.05)
        assert errors == []
