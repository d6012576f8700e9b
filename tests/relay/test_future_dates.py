"""Item 6 of issue 12: events dated too far ahead are refused, and the window is advertised."""

from __future__ import annotations

import time

import pytest
import ujson

from rx_honeybee.relay import Relay
from rx_honeybee.verify import verify_event
from tests.relay.raw import raw_client
from tests.stores import both_stores  # noqa: F401  (each test: memory, then SQLite)
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


async def test_an_event_dated_past_the_window_is_refused() -> None:
    now = int(time.time())
    far = make_event(1, seed="future", created_at=now + 10 * 365 * 86400)
    near = make_event(2, seed="future", created_at=now + 60)
    async with Relay(verify=verify_event) as relay, raw_client(relay.url) as client:
        await client.send(ujson.dumps(["EVENT", far]))
        await client.send(ujson.dumps(["EVENT", near]))
        assert await client.wait_for("OK", far["id"]) == [
            "OK",
            far["id"],
            False,
            "invalid: created_at too far in the future",
        ]
        assert (await client.wait_for("OK", near["id"]))[2] is True
        assert [e["id"] for e in relay.events] == [near["id"]]


async def test_the_window_is_configurable_and_applies_to_publish() -> None:
    event = make_event(3, seed="future", created_at=int(time.time()) + 120)
    async with Relay(max_future=30.0) as relay:
        assert relay.publish(event) == (False, "invalid: created_at too far in the future")
        assert relay.info is not None
        assert relay.info["limitation"]["created_at_upper_limit"] == 30


async def test_the_default_window_is_advertised_in_nip11() -> None:
    async with Relay() as relay:
        assert relay.info is not None
        assert relay.info["limitation"]["created_at_upper_limit"] == 900


async def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError):
        Relay(max_future=-1.0)
