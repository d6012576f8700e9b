"""BalancedPool: picking, limits, health, stats (virtual relays) and a loopback failover."""

from __future__ import annotations

import sys
import time
import types
from dataclasses import FrozenInstanceError, replace
from typing import Any

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.disposable import Disposable
from reactivex.subject import Subject

from marble_tests.test_mana_balanced_pool import EVENTS, VirtualRelays
from rx_honeybee.client.initiator import request
from rx_honeybee.config import HealthConfig
from rx_honeybee.connection import Connection
from rx_honeybee.errors import HoneybeeError, InvalidState, RelayAlreadyExists
from rx_honeybee.testing import FAST, Relay, until
from rx_mana.balanced_pool import BalancedPool, NoHealthyRelay
from rx_mana.health import HealthTracker
from rx_mana.strategies import ConsistentHash, LeastConnections, RoundRobin
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

A, B, C = "ws://a.relay", "ws://b.relay", "ws://c.relay"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"health_threshold": -0.1}, "health_threshold"),
        ({"health_threshold": 1.5}, "health_threshold"),
        ({"max_per_host": 0}, "max_per_host"),
        ({"urls": ["ws://h:1", "ws://h:2"], "max_per_host": 1}, "more than 1 relays of h"),
    ],
)
async def test_bad_configuration_is_refused_at_construction(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BalancedPool(**kwargs)


async def test_a_query_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout"):
        BalancedPool().query([{}], timeout=0)


async def test_only_connected_relays_are_picked_and_none_is_a_typed_error() -> None:
    relays = VirtualRelays({A: 1.0, B: 1.0})
    async with relays.pool() as pool:
        with pytest.raises(NoHealthyRelay) as caught:
            pool.pick()  # nothing is up yet: raised at once
        assert isinstance(caught.value, HoneybeeError)
        await relays.run_until(2)
        assert [pool.pick() for _ in range(4)] == [A, B, A, B]
        await pool.connection(B).close()
        assert [pool.pick() for _ in range(2)] == [A, A]
        assert pool.stats().picks == {A: 4, B: 2}
        await pool.add_relay(C)  # no max_per_host: any number per host
        await relays.run_until(4)
        assert len(pool.candidates()) == 2


async def test_send_one_queues_the_envelope_on_the_picked_relay_only() -> None:
    relays = VirtualRelays({A: 1.0, B: 1.0, C: 1.0})
    async with relays.pool(ConsistentHash()) as pool:
        await relays.run_until(2)
        url = pool.send_one('["NOTICE","x"]', key="npub1alice")
        assert url == pool.send_one('["NOTICE","y"]', key="npub1alice")  # same key, same relay
        await relays.run_until(3)
        assert relays.links[url].sent == ['["NOTICE","x"]', '["NOTICE","y"]']
        assert all(link.sent == [] for u, link in relays.links.items() if u != url)


async def test_least_connections_sees_each_sessions_live_subscriptions() -> None:
    relays = VirtualRelays({A: None, B: None})
    async with relays.pool(LeastConnections()) as pool:
        await relays.run_until(2)
        busy = pool.query([{"kinds": [1]}], timeout=100.0).subscribe(on_error=lambda e: None)
        first = pool.stats().picks
        (url,) = first
        other = B if url == A else A
        loads = {c.url: c.load for c in pool.candidates()}
        assert loads == {url: 1, other: 0}
        assert pool.pick() == other
        busy.dispose()
        assert {c.load for c in pool.candidates()} == {0}


async def test_max_per_host_refuses_one_relay_too_many() -> None:
    relays = VirtualRelays({"ws://h.relay:1": 1.0})
    async with relays.pool(max_per_host=2) as pool:
        await pool.add_relay("ws://h.relay:2")
        with pytest.raises(RelayAlreadyExists, match="max_per_host=2"):
            await pool.add_relay("ws://H.relay:3")
        with pytest.raises(RelayAlreadyExists):
            await pool.add_relay("ws://h.relay:2")  # the Pool's own refusal still holds
        await pool.add_relay("ws://other.relay")  # another host is fine
        assert len(pool.relays) == 3


class FakeTracker:
    made: list[FakeTracker] = []

    def __init__(self, *, scheduler: Any = None) -> None:
        self.scheduler = scheduler
        self.score = 1.0
        self.conn: Connection | None = None
        self.disposed = False
        FakeTracker.made.append(self)


def fake_health() -> types.ModuleType:
    module = types.ModuleType("rx_mana.health")

    def track_health(conn: Connection, tracker: FakeTracker) -> Disposable:
        tracker.conn = conn
        return Disposable(lambda: setattr(tracker, "disposed", True))

    module.HealthTracker = FakeTracker  # type: ignore[attr-defined]
    module.track_health = track_health  # type: ignore[attr-defined]
    return module


async def test_relays_below_the_health_threshold_are_not_candidates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "rx_mana.health", fake_health())
    FakeTracker.made.clear()
    relays = VirtualRelays({A: 1.0, B: 1.0})
    async with relays.pool(health_threshold=0.5) as pool:
        await relays.run_until(2)
        trackers = {t.conn.url: t for t in FakeTracker.made if t.conn is not None}
        assert set(trackers) == {A, B}  # one tracker per relay connection
        assert all(t.scheduler is relays.scheduler for t in trackers.values())
        trackers[A].score = 0.2
        assert [pool.pick() for _ in range(3)] == [B, B, B]
        assert pool.score(A) == 0.2 and [c.score for c in pool.candidates()] == [1.0]
        trackers[B].score = 0.4
        with pytest.raises(NoHealthyRelay, match=">= 0.5"):
            pool.pick()
        await pool.remove_relay(A)
        assert trackers[A].disposed and not trackers[B].disposed
    assert trackers[B].disposed  # closing the pool ends every tracker


async def test_each_relay_gets_a_real_health_tracker_and_a_failing_one_is_skipped() -> None:
    relays = VirtualRelays({A: 1.0, B: 1.0})
    async with relays.pool(health_threshold=0.5) as pool:
        await relays.run_until(2)
        trackers = {url: watched[0] for url, watched in pool._health.items()}
        assert set(trackers) == {A, B}
        assert all(isinstance(t, HealthTracker) for t in trackers.values())
        assert pool.score(A) == 1.0 and pool.pick() in (A, B)
        relays.links[B].inbound.on_error(ConnectionResetError("gone"))  # B backs off
        await relays.run_until(2.5)
        assert trackers[B].score == 0.0  # FAILING
        assert [c.url for c in pool.candidates()] == [A]


async def test_a_relay_closed_during_a_query_is_a_failure_not_an_answer() -> None:
    relays = VirtualRelays({A: None, B: 1.0})
    async with relays.pool(RoundRobin()) as pool:
        await relays.run_until(2)
        got: list[Any] = []
        pool.query([{"kinds": [1]}], timeout=50.0).subscribe(
            got.append, lambda e: got.append(e), lambda: got.append("done")
        )
        await pool.remove_relay(A)  # its request completes when its connection closes
        await relays.run_until(4)
        assert [e["id"] for e in got[:-1]] == [e["id"] for e in EVENTS] and got[-1] == "done"
        stats = pool.stats()
        assert stats.failovers == 1 and set(stats.response_p95) == {B}  # A's samples left


async def test_a_query_on_a_closed_relay_fails_over(monkeypatch: pytest.MonkeyPatch) -> None:
    relays = VirtualRelays({A: 1.0, B: 1.0})
    async with relays.pool(RoundRobin()) as pool:
        await relays.run_until(2)
        import rx_mana.balanced_pool as module

        calls: list[str] = []
        real = request

        def refusing(conn: Connection, *args: Any, **kw: Any) -> Any:
            calls.append(conn.url)
            if len(calls) == 1:
                raise InvalidState("refused at call time")
            return real(conn, *args, **kw)

        monkeypatch.setattr(module, "request", refusing)
        done: list[Any] = []
        pool.query([{}], timeout=5.0).subscribe(on_completed=lambda: done.append(1))
        await relays.run_until(4)
        assert calls == [A, B] and done == [1]


async def test_late_answers_of_a_relay_left_behind_are_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    relays = VirtualRelays({A: None, B: None})
    async with relays.pool(RoundRobin()) as pool:
        await relays.run_until(2)
        import rx_mana.balanced_pool as module

        answers: list[Subject[dict[str, Any]]] = []

        def deaf(conn: Connection, *args: Any, **kw: Any) -> Any:
            answers.append(Subject())
            return answers[-1]  # ignores dispose: it may still answer

        monkeypatch.setattr(module, "request", deaf)
        got: list[Any] = []
        pool.query([{}], timeout=2.0).subscribe(got.append, got.append, lambda: got.append("done"))
        await relays.run_until(5)  # A timed out at 4: B asked
        answers[0].on_next(EVENTS[0])
        answers[0].on_completed()
        answers[0].on_error(InvalidState("late"))
        assert got == [] and len(answers) == 2
        answers[1].on_next(EVENTS[1])
        answers[1].on_completed()
        answers[1].on_completed()
        assert got == [EVENTS[1], "done"]


async def test_an_answer_while_subscribing_completes_the_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    relays = VirtualRelays({A: None})
    async with relays.pool() as pool:
        await relays.run_until(2)
        import rx_mana.balanced_pool as module

        def at_once(observer: Any, scheduler: Any = None) -> Disposable:
            observer.on_next(EVENTS[0])
            observer.on_completed()
            return Disposable()

        monkeypatch.setattr(module, "request", lambda *a, **kw: reactivex.create(at_once))
        got = await pool.query([{}]).pipe(ops.to_list())
        assert got == [EVENTS[0]] and pool.stats().response_p95 == {A: 0.0}


async def test_stats_are_frozen() -> None:
    stats = BalancedPool().stats()
    assert stats.picks == {} and stats.failovers == 0 and stats.response_p95 == {}
    with pytest.raises(FrozenInstanceError):
        stats.failovers = 1  # type: ignore[misc]


# -- loopback ----------------------------------------------------------------------------

QUIET = replace(FAST, health=HealthConfig(enabled=False))  # a stalled relay stays CONNECTED


async def test_loopback_query_fails_over_from_a_stalled_relay_within_its_timeout() -> None:
    stored = [make_event(i, seed="balanced") for i in range(5)]
    stalled, live = Relay(), Relay()
    async with stalled, live:
        for relay in (stalled, live):
            for event in stored:
                relay.publish(event)
        async with BalancedPool([stalled.url, live.url], QUIET, strategy=RoundRobin()) as pool:
            await until(lambda: len(pool.candidates()) == 2)
            for _ in range(2):  # one warm-up query each (first-use costs), then A's turn again
                await pool.query([{"kinds": [1]}], timeout=5.0).pipe(ops.to_list())
            stalled.faults.stall()  # reads nothing from now on: the REQ goes unanswered
            started = time.monotonic()
            events = await pool.query([{"kinds": [1]}], timeout=1.0).pipe(ops.to_list())
            took = time.monotonic() - started
            assert sorted(e["id"] for e in events) == sorted(e["id"] for e in stored)
            assert 1.0 <= took < 2.0  # the stalled relay's timeout, then the live answer
            stats = pool.stats()
            assert stats.picks == {stalled.url: 2, live.url: 2} and stats.failovers == 1
            assert stats.response_p95[stalled.url] >= 1.0  # a failure counts in full
            assert sum(env.startswith('["REQ"') for env in live.received) == 2
            stalled.faults.resume()
            await until(lambda: any(env.startswith('["CLOSE"') for env in stalled.received))

            await pool.connection(live.url).close()  # nothing left to ask
            await until(lambda: len(pool.candidates()) == 1)
            stalled.faults.stall()
            with pytest.raises(TimeoutError):
                await pool.query([{"kinds": [1]}], timeout=0.2).pipe(ops.to_list())
            await pool.connection(stalled.url).close()
            with pytest.raises(NoHealthyRelay):
                await pool.query([{"kinds": [1]}]).pipe(ops.to_list())
            stalled.faults.resume()
