"""Pool over several embedded relays on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
import pytest_asyncio

from rx_honeybee import (
    RelayAlreadyExists,
    RelayNotFound,
    SubscriptionDuplicate,
    SubscriptionNotFound,
)
from rx_honeybee.initiator import OkResult
from rx_honeybee.pool import Pool
from rx_honeybee.testing import Relay
from rx_roots import ConnectionStatus as S
from tests.support import FAST, until
from tests.support import make_event as support_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


def make_event(n: int, **fields: Any) -> dict[str, Any]:
    return support_event(n, seed="pool", **fields)


async def publish_all(pool: Pool, event: dict[str, Any], timeout: float = 10) -> list[OkResult]:
    results: list[OkResult] = []
    done = asyncio.get_running_loop().create_future()
    pool.publish(event, timeout=timeout).subscribe(
        results.append, lambda e: done.set_exception(e), lambda: done.set_result(None)
    )
    await done
    return results


@pytest_asyncio.fixture
async def relays() -> AsyncIterator[list[Relay]]:
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(Relay()) for _ in range(3)]


async def test_restart_of_one_relay_loses_and_repeats_nothing(relays: list[Relay]) -> None:
    async with Pool([r.url for r in relays], FAST) as pool:
        history: dict[str, list[S]] = {r.url: [] for r in relays}

        def record(statuses: dict[str, S]) -> None:
            for url, status in statuses.items():
                if not history[url] or history[url][-1] is not status:
                    history[url].append(status)

        pool.statuses.subscribe(record)
        got: list[tuple[str, dict[str, Any]]] = []
        pool.subscribe("live", [{"kinds": [1]}]).subscribe(got.append)
        await until(lambda: all(pool.status(r.url) is S.CONNECTED for r in relays))
        events = [make_event(n, created_at=int(time.time())) for n in range(7)]  # live ones
        for n in range(3):
            assert [r.accepted for r in await publish_all(pool, events[n])] == [True] * 3
        await until(lambda: len(got) == 3)

        down = relays[1]
        await down.stop()
        await until(lambda: pool.status(down.url) is not S.CONNECTED)
        outage = [asyncio.ensure_future(publish_all(pool, events[n])) for n in range(3, 6)]
        await asyncio.sleep(0.1)
        await down.start()
        for results in await asyncio.gather(*outage):
            assert [r.accepted for r in results] == [True] * 3  # the restarted one too
        down.publish(events[6])  # only on the restarted relay
        await until(lambda: len(got) >= 7)
        await asyncio.sleep(0.2)
        ids = [event["id"] for _, event in got]
        assert sorted(ids) == sorted(e["id"] for e in events)
        assert len(ids) == len(set(ids))  # exactly once, across relays too
        assert [url for url, e in got if e["id"] == events[6]["id"]] == [down.url]
        assert history[down.url][:3] == [S.DISCONNECTED, S.CONNECTING, S.CONNECTED]
        assert S.BACKOFF in history[down.url] and history[down.url][-1] is S.CONNECTED
        assert history[relays[0].url][-1] is S.CONNECTED


async def test_a_refusing_relay_does_not_delay_the_others(relays: list[Relay]) -> None:
    refusing = relays[2]
    refusing.faults.refuse(503)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with Pool([r.url for r in relays], FAST) as pool:
        await until(lambda: pool.status(relays[0].url) is S.CONNECTED)
        await until(lambda: pool.status(relays[1].url) is S.CONNECTED)
        assert loop.time() - started < 0.5
        assert pool.status(refusing.url) is not S.CONNECTED
        faults: list[tuple[str, Exception]] = []
        pool.errors.subscribe(faults.append)
        results = await publish_all(pool, make_event(1), timeout=0.3)
        assert len(results) == 2  # the refusing relay timed out, the others answered
        assert any(url == refusing.url for url, _ in faults)


async def test_relays_added_later_get_the_live_subscription(relays: list[Relay]) -> None:
    async with Pool([relays[0].url], FAST) as pool:
        got: list[tuple[str, dict[str, Any]]] = []
        pool.subscribe("s", [{"kinds": [1]}]).subscribe(got.append)
        await pool.add_relay(relays[1].url + "/")  # another spelling of the same URL form
        with pytest.raises(RelayAlreadyExists):
            await pool.add_relay(relays[1].url.upper().replace("WS://", "ws://"))
        await until(lambda: pool.status(relays[1].url) is S.CONNECTED)
        await until(lambda: "s" in relays[1].subscriptions)
        relays[1].publish(make_event(1))
        await until(lambda: len(got) == 1)
        assert got[0][0] == relays[1].url


async def test_membership_says_each_relay_joining_and_leaving(relays: list[Relay]) -> None:
    pool = Pool([relays[0].url], FAST)
    changes: list[tuple[str, Any]] = []
    ended: list[bool] = []
    pool.membership.subscribe(changes.append, on_completed=lambda: ended.append(True))
    async with pool:
        await pool.add_relay(relays[1].url)
        assert [(url, conn is pool.connection(url)) for url, conn in changes] == [
            (relays[0].url, True),
            (relays[1].url, True),
        ]
        await pool.remove_relay(relays[0].url)
        assert changes[-1] == (relays[0].url, None)
    assert changes[-1] == (relays[1].url, None) and ended == [True]
    assert len(changes) == 4


async def test_remove_relay_closes_its_subscriptions(relays: list[Relay]) -> None:
    async with Pool([r.url for r in relays[:2]], FAST) as pool:
        pool.subscribe("s", [{}]).subscribe()
        await until(lambda: all("s" in r.subscriptions for r in relays[:2]))
        await pool.remove_relay(relays[0].url)
        await until(lambda: relays[0].clients == 0)
        assert pool.relays == [relays[1].url]
        with pytest.raises(RelayNotFound):
            await pool.remove_relay(relays[0].url)
        with pytest.raises(RelayNotFound):
            pool.status(relays[0].url)


async def test_unsubscribe_sends_close_everywhere(relays: list[Relay]) -> None:
    async with Pool([r.url for r in relays], FAST) as pool:
        completed: list[bool] = []
        pool.subscribe("u", [{}]).subscribe(on_completed=lambda: completed.append(True))
        await until(lambda: all("u" in r.subscriptions for r in relays))
        duplicate: list[Exception] = []
        pool.subscribe("u", [{}]).subscribe(on_error=duplicate.append)
        assert isinstance(duplicate[0], SubscriptionDuplicate)
        pool.unsubscribe("u")
        await until(lambda: all(r.subscriptions == [] for r in relays))
        assert completed == [True]
        with pytest.raises(SubscriptionNotFound):
            pool.unsubscribe("u")


async def test_send_to_broadcast_and_messages(relays: list[Relay]) -> None:
    async with Pool([r.url for r in relays], FAST) as pool:
        seen: list[tuple[str, str]] = []
        pool.messages.subscribe(seen.append)
        await until(lambda: all(pool.status(r.url) is S.CONNECTED for r in relays))
        pool.send_to(relays[0].url.upper().replace("WS://", "ws://") + "/", "}{")
        await until(lambda: len(seen) == 1)
        assert seen[0][0] == relays[0].url and seen[0][1].startswith('["NOTICE"')
        assert pool.broadcast('["CLOSE","nothing"]') == []
        with pytest.raises(RelayNotFound):
            pool.send_to("ws://127.0.0.1:1", "[]")


async def test_close_ends_everything_and_closes_twice() -> None:
    pool = Pool(["ws://127.0.0.1:9"], FAST)
    done: list[str] = []
    async with pool:
        pool.statuses.subscribe(on_completed=lambda: done.append("statuses"))
        pool.subscribe("x", [{}]).subscribe(on_completed=lambda: done.append("sub"))
    await pool.close()
    assert sorted(done) == ["statuses", "sub"]
    others = {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
    assert others == set()
