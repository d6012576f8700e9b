"""Item 9 of issue 12: the smaller conformance defects of the embedded relay."""

from __future__ import annotations

import time

import pytest
import ujson

from rx_honeybee import ConnectionConfig
from rx_honeybee.relay import EventStore, Relay
from rx_honeybee.relay.sqlite_store import SqliteStore
from rx_honeybee.testing import until
from tests.relay.raw import raw_client
from tests.stores import both_stores  # noqa: F401  (each test: memory, then SQLite)
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

_LIMIT = 2000  # max_message_size of these relays


def _event_of_size(size: int, seed: str) -> dict[str, object]:
    """A signed event whose ``["EVENT",event]`` envelope is exactly ``size`` bytes."""
    base = len(ujson.dumps(["EVENT", make_event(1, seed=seed, content="")]))
    event = make_event(1, seed=seed, content="x" * (size - base))
    assert len(ujson.dumps(["EVENT", event])) == size
    return event


async def test_a_frame_of_exactly_max_message_length_is_accepted() -> None:
    async with Relay(config=ConnectionConfig(max_message_size=_LIMIT)) as relay:
        assert relay.info is not None
        advertised = relay.info["limitation"]["max_message_length"]
        async with raw_client(relay.url) as client:
            await client.send('["REQ","s",{"kinds":[1]}]')
            await client.wait_for("EOSE", "s")
            event = _event_of_size(advertised, "exact")
            await client.send(ujson.dumps(["EVENT", event]))
            ok = await client.wait_for("OK", event["id"])
            if ok[2]:  # stored: then it must reach the subscriber too
                await client.wait_for("EVENT", "s")
            else:
                assert ok[3].startswith("invalid:"), ok
        async with raw_client(relay.url) as client:
            too_big = _event_of_size(advertised + 1, "over")
            await client.send(ujson.dumps(["EVENT", too_big]))
            await until(lambda: client.closed_code is not None)
            assert client.closed_code == 1009


async def test_an_event_that_could_never_be_delivered_is_refused() -> None:
    async with Relay(config=ConnectionConfig(max_message_size=_LIMIT)) as relay:
        async with raw_client(relay.url) as client:
            await client.send(f'["REQ","{"s" * 64}",{{"kinds":[1]}}]')
            await client.wait_for("EOSE")
            event = _event_of_size(_LIMIT - 10, "edge")
            await client.send(ujson.dumps(["EVENT", event]))
            ok = await client.wait_for("OK", event["id"])
            assert ok[2] is False and ok[3].startswith("invalid:"), ok
            assert relay.events == []
            fits = _event_of_size(_LIMIT - 500, "fits")
            await client.send(ujson.dumps(["EVENT", fits]))
            assert (await client.wait_for("OK", fits["id"]))[2] is True
            await client.wait_for("EVENT")


async def test_a_req_with_unparsable_filters_is_closed_and_ends_the_old_one() -> None:
    async with Relay() as relay, raw_client(relay.url) as client:
        await client.send('["REQ","s",{"kinds":[1]}]')
        await client.wait_for("EOSE", "s")
        await client.send('["REQ","s",5]')
        closed = await client.wait_for("CLOSED", "s")
        assert closed[2].startswith("invalid:"), closed
        assert relay.subscriptions == []
        assert not client.of("NOTICE")


async def test_a_superseded_replaceable_event_is_refused_as_replaced() -> None:
    now = int(time.time())
    newer = make_event(1, seed="profile", kind=0, created_at=now)
    older = make_event(2, seed="profile", kind=0, created_at=now - 10)
    async with Relay() as relay, raw_client(relay.url) as client:
        for event in (newer, older):
            await client.send(ujson.dumps(["EVENT", event]))
        assert (await client.wait_for("OK", newer["id"]))[2] is True
        ok = await client.wait_for("OK", older["id"])
        assert ok[2] is False and ok[3].startswith("replaced:"), ok
        assert relay.publish(older) == (False, ok[3])
        assert [e["id"] for e in relay.events] == [newer["id"]]


async def test_each_relay_gets_the_store_of_its_run(request: pytest.FixtureRequest) -> None:
    relay = Relay(max_events=7)  # what tests.stores does to every Relay(...) here
    run = request.node.callspec.params["both_stores"]
    expected = SqliteStore if run == "sqlite" else EventStore
    assert type(relay.store) is expected and relay.store.max_events == 7
    relay.store.close()
