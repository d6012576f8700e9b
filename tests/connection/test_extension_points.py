"""Each extension point of rx_honeybee.interfaces, proven by plugging in a small custom one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from reactivex import Observable, abc

from rx_honeybee import (
    Connection,
    ConnectionConfig,
    ConnectionFailed,
    Pool,
    Session,
    request,
)
from rx_honeybee.socket import Link
from rx_honeybee.testing import Relay
from rx_honeybee.write_queue import WriteQueue
from rx_roots import ConnectionStatus as S
from rx_roots import enclose_req, find_req
from tests.support import FAST, make_event, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


class RecordingQueue:
    """An OutgoingQueue that records every put (with its priority) and delegates to FIFO."""

    def __init__(self) -> None:
        self.inner = WriteQueue(100, 1 << 20)
        self.puts: list[tuple[str, int | None]] = []
        self.started = False

    def start(self, scheduler: abc.SchedulerBase) -> None:
        self.started = True
        self.inner.start(scheduler)

    def put(self, envelope: str, priority: int | None = None) -> None:
        self.puts.append((envelope, priority))
        self.inner.put(envelope, priority)

    async def run(self, link: Link, on_sent: Callable[[str], None]) -> None:
        await self.inner.run(link, on_sent)

    async def drained(self) -> None:
        await self.inner.drained()

    def close(self) -> int:
        return self.inner.close()

    def __len__(self) -> int:
        return len(self.inner)


async def test_a_custom_write_queue_gets_every_envelope_with_its_priority() -> None:
    queue = RecordingQueue()
    async with Relay() as relay, Connection(relay.url, FAST, write_queue=queue) as conn:
        assert queue.started
        written: list[int] = []
        conn.send(enclose_req("a", [{"kinds": [1]}]), priority=2, on_written=written.append)
        conn.send(enclose_req("b", [{"kinds": [1]}]))
        await until(lambda: len(relay.subscriptions) == 2)
        assert [(find_req(env)[0], p) for env, p in queue.puts] == [("a", 2), ("b", None)]
        assert written == [conn.generation] == [1]  # the write confirmed by callback


def give_up_after_one_failure(errors: Observable[Exception]) -> Observable[Any]:
    """A Notifier: retry the first failure at once, fail with the second (synchronously)."""

    def subscribe(observer: abc.ObserverBase[Any], scheduler: Any = None) -> abc.DisposableBase:
        failures = 0

        def on_failure(error: Exception) -> None:
            nonlocal failures
            failures += 1
            if failures == 1:
                observer.on_next(0.0)
            else:
                observer.on_error(error)

        return errors.subscribe(on_failure, observer.on_error, observer.on_completed)

    return Observable(subscribe)


async def test_a_custom_notifier_decides_retries_and_giving_up() -> None:
    async with Relay() as relay:
        url = relay.url
    # the relay is gone: every dial is refused
    conn = Connection(url, FAST, reconnect=give_up_after_one_failure)
    states: list[S] = []
    conn.state.subscribe(states.append)
    with pytest.raises(ConnectionFailed) as info:
        await conn.connect()
    assert info.value.category == "refused"
    # one retry at once (DROPPED then DIALLED), then ERROR without a BACKOFF before it
    assert states == [S.DISCONNECTED, S.CONNECTING, S.BACKOFF, S.CONNECTING, S.ERROR]
    await conn.close()


class ReverseRegistry:
    """A SubscriptionRegistry that restores the newest subscription first."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.activity: dict[str, int] = {}

    def add(self, sub_id: str, filters: Sequence[Mapping[str, Any]], priority: int = 0) -> None:
        self.ids.append(sub_id)

    def remove(self, sub_id: str) -> None:
        self.ids.remove(sub_id)

    def record_activity(
        self, sub_id: str, events: int = 1, response_time: float | None = None
    ) -> None:
        self.activity[sub_id] = self.activity.get(sub_id, 0) + events

    def restore_order(self) -> list[str]:
        return list(reversed(self.ids))


async def test_a_custom_registry_orders_the_restore_after_a_reconnect() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        registry = ReverseRegistry()
        session = Session(conn, registry=registry)
        assert conn.session is session
        relay.publish(make_event(1))
        got: list[str] = []
        subs = [
            request(conn, [{"kinds": [1]}], sub_id=sid).subscribe(lambda e: got.append(e["id"]))
            for sid in ("first", "second", "third")
        ]
        await until(lambda: len(got) == 3)
        assert registry.ids == ["first", "second", "third"]
        assert registry.activity == {"first": 1, "second": 1, "third": 1}
        await relay.stop()
        relay.received.clear()
        await relay.start()
        await until(lambda: len([e for e in relay.received if e.startswith('["REQ"')]) == 3)
        order = [find_req(e)[0] for e in relay.received if e.startswith('["REQ"')]
        assert order == ["third", "second", "first"]
        for sub in subs:
            sub.dispose()
        await until(lambda: registry.ids == [])


async def test_a_pool_builds_each_connection_through_its_factory() -> None:
    built: list[tuple[str, ConnectionConfig, Any]] = []
    queues: list[RecordingQueue] = []

    def factory(
        url: str, config: ConnectionConfig, *, scheduler: abc.SchedulerBase | None
    ) -> Connection:
        built.append((url, config, scheduler))
        queues.append(RecordingQueue())
        return Connection(url, config, scheduler=scheduler, write_queue=queues[-1])

    async with Relay() as one, Relay() as two:
        async with Pool([one.url, two.url], FAST, connection_factory=factory) as pool:
            assert [url for url, _, _ in built] == [one.url, two.url]
            assert all(config is FAST and sched is None for _, config, sched in built)
            await until(lambda: all(s is S.CONNECTED for s in _statuses(pool)))
            got: list[tuple[str, dict[str, Any]]] = []
            one.publish(make_event(7))
            pool.subscribe("feed", [{"kinds": [1]}]).subscribe(got.append)
            await until(lambda: len(got) == 1)
            assert got[0][0] == one.url
            assert all(find_req(env)[0] == "feed" for q in queues for env, _ in q.puts)


def _statuses(pool: Pool) -> list[S]:
    return [pool.status(url) for url in pool.relays]


async def test_latencies_stream_every_pong_round_trip_and_health_is_queryable() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        assert conn.last_pong_at is None
        samples: list[float] = []
        conn.latencies.subscribe(samples.append)
        await until(lambda: len(samples) >= 2, timeout=3 * FAST.health.ping_interval + 1)
        assert all(0 <= s < FAST.health.pong_timeout for s in samples)
        assert conn.last_pong_at is not None and conn.is_healthy
        relay.faults.stall()  # no pong comes back: the next one is overdue
        await until(lambda: not conn.is_healthy, timeout=2 * FAST.health.ping_interval + 1)
        relay.faults.resume()
    assert not conn.is_healthy  # closed


async def test_latencies_complete_with_the_connection() -> None:
    async with Relay() as relay:
        conn = Connection(relay.url, FAST)
        ended = asyncio.Event()
        conn.latencies.subscribe(on_completed=ended.set)
        await conn.connect()
        await conn.close()
        assert ended.is_set()
        late: list[str] = []
        conn.latencies.subscribe(on_completed=lambda: late.append("completed"))
        assert late == ["completed"]
