"""BalancedPool.query in virtual time: the timeout, the failover, the round trips.

Each relay is a marble socket that opens at 1 and answers every REQ as scripted
(:class:`VirtualRelays`): its stored events and EOSE after a delay, CLOSED, or nothing.
The whole pool, with its connections and timers, runs on one ``TestScheduler``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

import pytest
import reactivex
import ujson
from reactivex import Observable
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler

from marble_tests.support import Sink, ev
from rx_honeybee.config import ConnectionConfig
from rx_honeybee.connection import Connection
from rx_honeybee.errors import SubscriptionClosed
from rx_honeybee.socket import DialContext, Opened, SocketItem
from rx_honeybee.testing import MarbleHarness, RecordingLink
from rx_mana.balanced_pool import BalancedPool, NoHealthyRelay, QueryTimeout
from rx_mana.strategies import ResponseTime, RoundRobin, Strategy

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

A, B, C = "ws://a.relay", "ws://b.relay", "ws://c.relay"
EVENTS = [ev(i, 1_700_000_000 + i) for i in range(3)]

Answer = float | str | None
"""How a virtual relay answers a REQ: its events and EOSE after that many time units;
``"closed"``: CLOSED at once; None: nothing at all."""


class AnsweringLink(RecordingLink):
    """A marble socket's write side that answers REQs through the socket's read side."""

    def __init__(self, relays: VirtualRelays, url: str, inbound: Subject[SocketItem]) -> None:
        super().__init__(relays.scheduler)
        self.relays = relays  # the script
        self.url = url  # which relay this is
        self.inbound = inbound  # what the connection reads

    async def send(self, envelope: str) -> None:
        await super().send(envelope)
        message = ujson.loads(envelope)
        if message[0] != "REQ":
            return
        sub_id = message[1]
        answer = self.relays.answers.get(self.url)
        events = self.relays.events.get(self.url, EVENTS)
        if answer == "closed":
            self.inbound.on_next(ujson.dumps(["CLOSED", sub_id, "error: shutting down"]))
        elif isinstance(answer, float | int):

            def reply(_s: Any, _st: Any) -> None:
                for event in events:
                    self.inbound.on_next(ujson.dumps(["EVENT", sub_id, event]))
                self.inbound.on_next(ujson.dumps(["EOSE", sub_id]))

            self.relays.scheduler.schedule_relative(float(answer), reply)


class VirtualRelays:
    """A socket factory of relays that open at 1 and answer REQs by ``answers[url]``."""

    def __init__(
        self,
        answers: Mapping[str, Answer],
        events: Mapping[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.scheduler = TestScheduler()  # everyone's time
        self.answers = dict(answers)  # url → how it answers (change it at any time)
        self.events = dict(events or {})  # url → stored events (EVENTS by default)
        self.links: dict[str, AnsweringLink] = {}  # url → its latest link

    def __call__(
        self, url: str, config: ConnectionConfig, context: DialContext
    ) -> Observable[SocketItem]:
        inbound: Subject[SocketItem] = Subject()
        link = self.links[url] = AnsweringLink(self, url, inbound)
        opened = self.scheduler.create_cold_observable(ReactiveTest.on_next(1, Opened(link)))
        return reactivex.merge(opened, inbound)

    def connection(self, url: str, config: ConnectionConfig, **kw: Any) -> Connection:
        """The pool's connection factory: a Connection over this relay's marble socket."""
        return Connection(url, MarbleHarness.CONFIG, scheduler=self.scheduler, socket_factory=self)

    def pool(self, strategy: Strategy | None = None, **kw: Any) -> BalancedPool:
        return BalancedPool(
            list(self.answers),
            strategy=strategy,
            scheduler=self.scheduler,
            connection_factory=self.connection,
            **kw,
        )

    @property
    def now(self) -> float:
        return float(cast(float, self.scheduler.clock))

    async def run_until(self, t: float, step: float = 0.5) -> None:
        """Advance to ``t`` by ``step``, letting the connections' writer tasks run at each."""
        now = self.now
        while True:
            for _ in range(6):
                await asyncio.sleep(0)
            if now >= t:
                return
            now = min(t, now + step)
            self.scheduler.advance_to(now)

    def sent(self, url: str) -> list[tuple[float, str]]:
        return self.links[url].labels()


async def test_the_picked_relay_answers_and_the_query_completes_at_its_eose() -> None:
    relays = VirtualRelays({A: 2.0, B: 2.0})
    async with relays.pool() as pool:
        await relays.run_until(2)
        sink = Sink(relays.scheduler)
        sink.observe(pool.query([{"kinds": [1]}], timeout=5.0))
        await relays.run_until(10)
        assert [item["id"] for _, item in sink.items] == [e["id"] for e in EVENTS]
        assert sink.completed == 4.0 and sink.error is None
        assert relays.sent(A) == [(2.0, "REQ"), (4.0, "CLOSE")]  # closed at EOSE
        assert B not in relays.links or relays.sent(B) == []
        stats = pool.stats()
        assert stats.picks == {A: 1} and stats.failovers == 0
        assert stats.response_p95 == {A: 2.0}


async def test_a_silent_relay_times_out_and_the_query_fails_over_to_the_next() -> None:
    relays = VirtualRelays({A: None, B: 1.0})
    async with relays.pool(RoundRobin()) as pool:
        await relays.run_until(2)
        sink = Sink(relays.scheduler)
        sink.observe(pool.query([{"kinds": [1]}], timeout=3.0))
        await relays.run_until(12)
        assert relays.sent(A) == [(2.0, "REQ"), (5.0, "CLOSE")]  # left at the timeout
        assert relays.sent(B) == [(5.0, "REQ"), (6.0, "CLOSE")]  # asked at once instead
        assert [t for t, _ in sink.items] == [6.0] * 3
        assert sink.completed == 6.0 and sink.error is None
        stats = pool.stats()
        assert stats.failovers == 1 and stats.picks == {A: 1, B: 1}
        assert stats.response_p95 == {A: 3.0, B: 1.0}  # the timeout counts in full


async def test_a_closed_answer_fails_over_at_once() -> None:
    relays = VirtualRelays({A: "closed", B: 1.0})
    async with relays.pool(RoundRobin()) as pool:
        await relays.run_until(2)
        sink = Sink(relays.scheduler)
        sink.observe(pool.query([{"kinds": [1]}], timeout=3.0))
        await relays.run_until(8)
        assert relays.sent(B) == [(2.0, "REQ"), (3.0, "CLOSE")]
        assert sink.completed == 3.0
        assert pool.stats().failovers == 1


async def test_each_relay_is_tried_once_then_the_last_failure_is_the_error() -> None:
    relays = VirtualRelays({A: None, B: "closed", C: None})
    async with relays.pool(RoundRobin()) as pool:
        await relays.run_until(2)
        sink = Sink(relays.scheduler)
        sink.observe(pool.query([{"kinds": [1]}], timeout=2.0))
        await relays.run_until(20)
        assert sink.error is not None
        at, error = sink.error
        assert at == 6.0 and isinstance(error, SubscriptionClosed)  # B, after A and C timed out
        assert [relays.sent(u)[0] for u in (A, C, B)] == [(2.0, "REQ"), (4.0, "REQ"), (6.0, "REQ")]
        assert [label for u in (A, B, C) for _, label in relays.sent(u)].count("REQ") == 3
        stats = pool.stats()
        assert stats.failovers == 2 and stats.queries == 1 and stats.queries_failed == 1


async def test_the_last_timeout_is_the_error() -> None:
    relays = VirtualRelays({A: None})
    async with relays.pool() as pool:
        await relays.run_until(2)
        sink = Sink(relays.scheduler)
        sink.observe(pool.query([{"kinds": [1]}], timeout=2.5))
        await relays.run_until(10)
        assert sink.error is not None
        at, error = sink.error
        assert at == 4.5 and isinstance(error, QueryTimeout) and isinstance(error, TimeoutError)
        assert error.url == A and error.timeout == 2.5


async def test_without_a_connected_relay_the_query_fails_at_subscription() -> None:
    relays = VirtualRelays({A: 1.0})
    async with relays.pool() as pool:
        sink = Sink(relays.scheduler)
        sink.observe(pool.query([{"kinds": [1]}]))  # before the socket opened
        assert sink.error is not None and isinstance(sink.error[1], NoHealthyRelay)
        assert pool.stats().queries_failed == 1


async def test_events_sent_before_the_failover_are_not_emitted_again() -> None:
    relays = VirtualRelays({A: None, B: 1.0}, events={B: EVENTS})
    async with relays.pool(RoundRobin()) as pool:
        await relays.run_until(2)
        sink = Sink(relays.scheduler)
        sink.observe(pool.query([{"kinds": [1]}], timeout=3.0))
        await relays.run_until(3)
        sub_id = ujson.loads(relays.links[A].sent[0])[1]
        link = relays.links[A]
        link.inbound.on_next(ujson.dumps(["EVENT", sub_id, EVENTS[0]]))  # then silence
        await relays.run_until(10)
        assert [(t, item["id"]) for t, item in sink.items] == [
            (3.0, EVENTS[0]["id"]),
            (6.0, EVENTS[1]["id"]),
            (6.0, EVENTS[2]["id"]),
        ]
        assert sink.completed == 6.0


async def test_response_time_learns_to_avoid_the_slow_relay() -> None:
    relays = VirtualRelays({A: 4.0, B: 1.0})
    async with relays.pool(ResponseTime()) as pool:
        await relays.run_until(2)
        for _ in range(4):
            sink = Sink(relays.scheduler)
            sink.observe(pool.query([{"kinds": [1]}], timeout=10.0))
            await relays.run_until(relays.now + 5)
            assert sink.completed is not None
        assert pool.stats().picks == {A: 1, B: 3}  # each tried once, then the fast one
        assert pool.stats().response_p95 == {A: 4.0, B: 1.0}


async def test_disposing_the_query_closes_it_and_stops_the_timer() -> None:
    relays = VirtualRelays({A: None, B: 1.0})
    async with relays.pool(RoundRobin()) as pool:
        await relays.run_until(2)
        sink = Sink(relays.scheduler)
        subscription = sink.observe(pool.query([{"kinds": [1]}], timeout=3.0))
        await relays.run_until(3)
        subscription.dispose()
        subscription.dispose()  # idempotent
        await relays.run_until(10)
        assert relays.sent(A) == [(2.0, "REQ"), (3.0, "CLOSE")]
        assert B not in relays.links or relays.sent(B) == []  # no failover after dispose
        assert sink.error is None and sink.completed is None
        assert pool.stats().failovers == 0
