"""Events are verified before delivery: a hostile relay cannot forge an author.

The relay is a small aiohttp server that answers every REQ with a scripted list of
events, forged ones among them, then EOSE.
"""

from __future__ import annotations

from typing import Any

import pytest
import ujson
from aiohttp import WSMsgType, web

from rx_honeybee import Connection, Pool, request
from rx_roots import InvalidEvent, enclose_eose, enclose_subscription_event
from tests.support import FAST, make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]

GENUINE = make_event(1)
SIGNED_BY_SOMEONE_ELSE = {**make_event(2), "pubkey": make_event(3, seed="mallory")["pubkey"]}
TAMPERED = {**make_event(4), "content": "not what the author wrote"}
BAD_SIG = {**make_event(5), "sig": make_event(6)["sig"]}
NO_ID = {k: v for k, v in make_event(7).items() if k != "id"}
TEXT_TIME = {**make_event(8), "created_at": "1700000008"}


def answering(events: list[dict[str, Any]]) -> Any:
    """A handler answering each REQ with ``events`` then EOSE."""

    async def handle(ws: web.WebSocketResponse, _: Any) -> None:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT and msg.data.startswith('["REQ"'):
                sub_id = ujson.loads(msg.data)[1]
                for event in events:
                    await ws.send_str(enclose_subscription_event(sub_id, event))
                await ws.send_str(enclose_eose(sub_id))

    return handle


async def fetch(conn: Connection, until: Any, **options: Any) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    done: list[bool] = []
    request(conn, [{}], close_on_eose=True, **options).subscribe(
        got.append, on_completed=lambda: done.append(True)
    )
    await until(lambda: done == [True])
    return got


async def test_forged_and_malformed_events_are_dropped_and_reported(
    server: Any, until: Any
) -> None:
    forgeries = [SIGNED_BY_SOMEONE_ELSE, TAMPERED, BAD_SIG, NO_ID, TEXT_TIME]
    # a forgery first, then the genuine event with the same id: the forgery blocks nothing
    genuine_of_bad_sig = make_event(5)
    server.handler = answering([*forgeries, GENUINE, genuine_of_bad_sig])
    async with Connection(server.url, FAST) as conn:
        errors: list[Exception] = []
        conn.errors.subscribe(errors.append)
        got = await fetch(conn, until)
        assert got == [GENUINE, genuine_of_bad_sig]
        assert [type(e) for e in errors] == [InvalidEvent] * 5
        assert all(e.url == server.url and server.url in str(e) for e in errors)  # type: ignore[attr-defined]
        reasons = [str(e).split(":")[0] for e in errors]
        assert reasons == ["id mismatch", "id mismatch", "bad signature", "bad shape", "bad shape"]
        assert conn.metrics.events_rejected == 5
        assert conn.metrics.snapshot()["events_rejected"] == 5


async def test_verify_false_trusts_signatures_but_still_checks_shapes(
    server: Any, until: Any
) -> None:
    server.handler = answering([BAD_SIG, NO_ID, GENUINE])
    async with Connection(server.url, FAST) as conn:
        errors: list[Exception] = []
        conn.errors.subscribe(errors.append)
        assert await fetch(conn, until, verify=False) == [BAD_SIG, GENUINE]
        assert [str(e).split(":")[0] for e in errors] == ["bad shape"]


async def test_a_pool_verifies_an_event_seen_on_several_relays_once(
    server: Any, until: Any
) -> None:
    events = [make_event(n) for n in range(20)]
    server.handler = answering(events)
    # three "relays": the same server under three spellings of its url
    urls = [server.url, server.url + "?b", server.url + "?c"]
    async with Pool(urls, FAST) as pool:
        got: list[tuple[str, dict[str, Any]]] = []
        done: list[bool] = []
        pool.subscribe("s", [{}], close_on_eose=True).subscribe(
            got.append, on_completed=lambda: done.append(True)
        )
        await until(lambda: done == [True])
        assert sorted(e["id"] for _, e in got) == sorted(e["id"] for e in events)
        checker = pool.checker
        assert (checker.checked, checker.cache_hits, checker.rejected) == (60, 40, 0)
