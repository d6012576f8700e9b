"""Item 1 of issue 12: values that cannot be encoded never break anyone's queries or delivery.

A lone surrogate (``"\\ud800"``) decodes from JSON but has no UTF-8 form; ``NaN`` decodes
but is not JSON. Either, once stored or held as a sub id, used to turn every broad query
into a NOTICE and stop live delivery to later clients.
"""

from __future__ import annotations

import time

import pytest
import ujson

from rx_honeybee.relay import Relay
from rx_honeybee.testing import until
from tests.relay.raw import Raw, raw_client
from tests.stores import both_stores  # noqa: F401  (each test: memory, then SQLite)
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

_SURROGATE = "\\ud800"  # as it appears in JSON text
_FIELDS = {"id", "pubkey", "created_at", "kind", "tags", "content", "sig"}


def _event_text(event: dict[str, object], **raw_fields: str) -> str:
    """``["EVENT",event]`` with ``raw_fields`` spliced in as literal JSON text."""
    body = ujson.dumps(event)[:-1]
    for name, text in raw_fields.items():
        body += f',"{name}":{text}'
    return '["EVENT",' + body + "}]"


async def _poison(client: Raw) -> list[str]:
    """Send every poison attempt; return the ids of the events among them."""
    now = int(time.time())
    base = make_event(100, seed="poison", created_at=now)
    in_content = dict(base, id="a" * 64)
    text = ujson.dumps(["EVENT", in_content]).replace('"content":"', f'"content":"{_SURROGATE}', 1)
    await client.send(text)
    in_tag = dict(base, id="b" * 64, tags=[["t", "x"]])
    await client.send(ujson.dumps(["EVENT", in_tag]).replace('"x"', f'"{_SURROGATE}"'))
    nan_extra = make_event(101, seed="poison", created_at=now)
    await client.send(_event_text(nan_extra, seen="NaN", note=f'"{_SURROGATE}"'))
    await client.send(f'["REQ","{_SURROGATE}",{{"kinds":[1]}}]')
    return ["a" * 64, "b" * 64, nan_extra["id"]]


async def test_poison_never_breaks_queries_or_live_delivery() -> None:
    now = int(time.time())
    honest = [make_event(n, seed="honest", created_at=now - n) for n in range(5)]
    async with Relay() as relay:
        async with raw_client(relay.url) as bad:
            for event in honest:
                await bad.send(ujson.dumps(["EVENT", event]))
            ids = await _poison(bad)
            for event_id in ids[:2]:
                ok = await bad.wait_for("OK", event_id)
                assert ok[2] is False and ok[3].startswith("invalid:"), ok
            await bad.wait_for("OK", ids[2])
            await bad.wait_for("NOTICE")
            await bad.send('["REQ","after",{"kinds":[1]}]')
            await bad.wait_for("EOSE", "after")
        stored_extra = [e for e in relay.events if e["id"] == ids[2]]
        assert all(set(e) == _FIELDS for e in relay.events)
        async with raw_client(relay.url) as good, raw_client(relay.url) as later:
            await good.send('["REQ","all",{"kinds":[1]}]')
            await good.wait_for("EOSE", "all")
            got = {f[2]["id"] for f in good.of("EVENT", "all")}
            assert {e["id"] for e in honest} <= got
            assert not good.of("NOTICE")
            await later.send('["REQ","live",{"kinds":[1]}]')
            await later.wait_for("EOSE", "live")
            fresh = make_event(200, seed="honest", created_at=now + 1)
            await good.send(ujson.dumps(["EVENT", fresh]))
            await until_event(later, fresh["id"])
        assert [set(e) for e in stored_extra] in ([], [_FIELDS])


async def until_event(client: Raw, event_id: str) -> None:
    await until(lambda: any(f[2]["id"] == event_id for f in client.of("EVENT", "live")))


async def test_a_subscriber_whose_sub_id_cannot_be_encoded_does_not_stop_others() -> None:
    async with Relay() as relay, raw_client(relay.url) as bad, raw_client(relay.url) as good:
        await bad.send(f'["REQ","{_SURROGATE}",{{"kinds":[1]}}]')
        await bad.wait_for("NOTICE")
        await good.send('["REQ","live",{"kinds":[1]}]')
        await good.wait_for("EOSE", "live")
        assert relay.subscriptions == ["live"]
        event = make_event(300, seed="honest", created_at=int(time.time()))
        assert relay.publish(event) == (True, "")
        await until_event(good, event["id"])
