"""The health tracker in virtual time: HEALTHY → DEGRADED → UNHEALTHY → FAILING → recovery.

Two ways in: timed samples on hot marble streams standing in for a connection's
``latencies``/``errors``/``state``, and a real ``Connection`` whose socket answers its pings
(or stops answering) on a ``TestScheduler``, run by a ``MarbleHarness``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.testing import ReactiveTest, TestScheduler

from rx_honeybee import Connection
from rx_honeybee.config import ConnectionConfig, HealthConfig
from rx_honeybee.errors import ConnectionUnhealthy, PongTimeout
from rx_honeybee.socket import DialContext, Opened, Pong, SocketItem
from rx_honeybee.testing import MarbleHarness, RecordingLink
from rx_mana.health import HealthReport, HealthStatus, HealthTracker, track_health
from rx_roots import ConnectionStatus as S

on_next = ReactiveTest.on_next
H, D, U, F = (
    HealthStatus.HEALTHY,
    HealthStatus.DEGRADED,
    HealthStatus.UNHEALTHY,
    HealthStatus.FAILING,
)


def miss(n: int) -> PongTimeout:
    return PongTimeout("ws://relay", n, 4)


class MarbleConn:
    """A connection's three streams as hot marble observables on one scheduler."""

    def __init__(
        self,
        scheduler: TestScheduler,
        latencies: list[Any],
        errors: list[Any],
        state: list[Any],
    ) -> None:
        self.scheduler = scheduler
        self.latencies: Observable[float] = scheduler.create_hot_observable(latencies)
        self.errors: Observable[Exception] = scheduler.create_hot_observable(errors)
        self.state: Observable[S] = scheduler.create_hot_observable(state)


def timeline(scheduler: TestScheduler, tracker: HealthTracker) -> list[tuple[float, Any]]:
    """Record ``(virtual time, status)`` of every report the tracker makes."""
    seen: list[tuple[float, Any]] = []
    tracker.reports.subscribe(lambda r: seen.append((float(scheduler.clock), r.status)))
    return seen


def test_timed_samples_walk_through_every_status_and_back() -> None:
    scheduler = TestScheduler()
    dropped = ConnectionUnhealthy("ws://relay", 3, "no pong")
    dropped.__cause__ = miss(3)
    conn = MarbleConn(
        scheduler,
        latencies=[
            on_next(10, 0.1),
            on_next(20, 0.1),
            on_next(30, 0.9),  # p90 over 0.5: DEGRADED
            on_next(40, 0.8),
            on_next(90, 0.1),
            on_next(100, 0.1),
            on_next(110, 0.1),
        ],
        errors=[
            on_next(50, miss(1)),
            on_next(60, miss(2)),
            on_next(65, ConnectionUnhealthy("ws://relay", 0, "not a miss")),  # no sample
            on_next(70, dropped),  # the third miss, as honeybee reports it: UNHEALTHY
        ],
        state=[on_next(5, S.CONNECTED), on_next(70, S.BACKOFF), on_next(80, S.CONNECTED)],
    )
    tracker = HealthTracker(latency_threshold=0.5, window=4, scheduler=scheduler)
    seen = timeline(scheduler, tracker)
    link = track_health(conn, tracker)
    scheduler.advance_to(120)
    assert seen == [
        (10, H),
        (20, H),
        (30, D),  # [0.1 0.1 0.9]: p90 0.9
        (40, D),
        (50, D),  # [0.1 0.9 0.8 miss]
        (60, D),  # [0.9 0.8 miss miss]
        (70, U),  # [0.8 miss miss miss]
        (70, F),  # BACKOFF
        (80, U),  # CONNECTED again: the window still holds three misses
        (90, U),  # [miss miss miss 0.1]
        (100, D),  # [miss miss 0.1 0.1]
        (110, H),  # [miss 0.1 0.1 0.1]: one miss, fast pongs
    ]
    stats = tracker.stats()
    # healthy 0-30 and 110-120; degraded 30-70 and 100-110; unhealthy 80-100; failing 70-80
    assert stats.status_seconds == {"healthy": 40, "degraded": 50, "unhealthy": 20, "failing": 10}
    assert stats.errors == {"PongTimeout": 2, "ConnectionUnhealthy": 2}
    link.dispose()


def test_score_and_risk_follow_the_samples_in_virtual_time() -> None:
    scheduler = TestScheduler()
    conn = MarbleConn(
        scheduler,
        latencies=[on_next(t, 0.1 * t / 10) for t in (10, 20, 30, 40)],  # rising 0.1 a sample
        errors=[],
        state=[on_next(1, S.CONNECTED)],
    )
    tracker = HealthTracker(latency_threshold=0.5, window=10)
    reports: list[HealthReport] = []
    tracker.reports.subscribe(reports.append)
    track_health(conn, tracker)
    scheduler.advance_to(25)
    assert [r.score for r in reports] == [1.0, 1.0]
    assert reports[-1].trend == pytest.approx(0.1)
    assert reports[-1].failure_risk == 1.0  # 0.1 per sample × 10 samples ≥ the threshold
    scheduler.advance_to(45)
    assert reports[-1].status is H and reports[-1].p90 == pytest.approx(0.4)
    assert tracker.is_healthy(1.0)


# -- a real Connection whose peer answers pings in virtual time --------------------------------


class PeerLink(RecordingLink):
    """A recording link whose peer answers each ping after ``rtt`` while ``answering``."""

    def __init__(self, scheduler: TestScheduler) -> None:
        super().__init__(scheduler)
        self.scheduler = scheduler
        self.rtt = 1.0
        self.answering = True
        self.observer: abc.ObserverBase[SocketItem] | None = None

    def ping(self, payload: bytes) -> None:
        super().ping(payload)
        if self.answering:
            self.scheduler.schedule_relative(self.rtt, lambda *_: self._pong(payload))

    def _pong(self, payload: bytes) -> None:
        if self.observer is not None:
            self.observer.on_next(Pong(payload))

    def factory(
        self, url: str, config: ConnectionConfig, context: DialContext
    ) -> Observable[SocketItem]:
        """A socket factory: each dial opens at once and carries the pongs."""

        def subscribe(observer: abc.ObserverBase[SocketItem], _: Any = None) -> Disposable:
            self.observer = observer
            observer.on_next(Opened(self))

            def dispose() -> None:
                self.observer = None

            return Disposable(dispose)

        return Observable(subscribe)


def at(scheduler: TestScheduler, t: float, action: Any) -> None:
    scheduler.schedule_absolute(t, lambda *_: action())


@pytest.mark.asyncio
async def test_a_connection_that_slows_then_stops_answering_and_recovers() -> None:
    health = HealthConfig(ping_interval=10, pong_timeout=4, failure_threshold=3)
    h = MarbleHarness(lambda link: [], replace(MarbleHarness.CONFIG, health=health))
    peer = PeerLink(h.scheduler)
    h.conn = Connection(
        "ws://relay", h.conn.config, scheduler=h.scheduler, socket_factory=peer.factory
    )
    tracker = HealthTracker(latency_threshold=2.5, window=4)
    seen = timeline(h.scheduler, tracker)
    link = track_health(h.conn, tracker)
    at(h.scheduler, 25, lambda: setattr(peer, "rtt", 3.0))  # slow from the ping at 30
    at(h.scheduler, 45, lambda: setattr(peer, "answering", False))  # silent from 50

    def answer_fast() -> None:
        peer.answering, peer.rtt = True, 1.0

    at(h.scheduler, 64, answer_fast)  # answering again, fast, on the new socket
    await h.start(at=1)
    await h.run_until(100)
    # pings at 10, 20 (rtt 1); 30, 40 (rtt 3: next ping 7 after the pong); 50, 54, 58 missed;
    # dropped at 62, redialled at 63; answered again from the ping at 73
    assert seen == [
        (11, H),
        (21, H),
        (33, D),  # p90 of [1 1 3] is 3 > 2.5
        (43, D),
        (54, D),  # PongTimeout 1
        (58, D),  # PongTimeout 2: two misses
        (62, U),  # the drop carries the third miss
        (62, F),  # BACKOFF
        (63, U),  # CONNECTED again; three misses still in the window
        (74, U),
        (84, D),
        (94, H),  # one miss left in the window, pongs within the threshold
    ]
    assert peer.pings == [10, 20, 30, 40, 50, 54, 58, 73, 83, 93]
    assert tracker.score == pytest.approx(2 / 3)  # one miss of three allowed
    link.dispose()
    await h.conn.close()
