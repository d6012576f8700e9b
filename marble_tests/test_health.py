"""monitor_health in virtual time: ping cadence, pong timeout, failure threshold."""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.testing import ReactiveTest, TestScheduler

from rx_honeybee.config import HealthConfig
from rx_honeybee.errors import ConnectionUnhealthy, PongTimeout
from rx_honeybee.health import monitor_health
from rx_honeybee.socket import Opened, Pong, SocketItem
from rx_honeybee.testing import RecordingLink

on_next = ReactiveTest.on_next
T0 = 200.0  # TestScheduler.start subscribes at 200; times below are relative to it


class PeerLink(RecordingLink):
    """A recording link whose peer answers pings after ``rtt`` while ``answering``.

    ``pings`` holds ping times relative to ``T0``.
    """

    def __init__(self, scheduler: TestScheduler, rtt: float = 2.0) -> None:
        super().__init__(clock=lambda: scheduler.clock - T0)
        self.scheduler = scheduler
        self.rtt = rtt
        self.answering = True
        self.observer: abc.ObserverBase[SocketItem] | None = None

    def ping(self, payload: bytes) -> None:
        super().ping(payload)
        if self.answering:
            self.scheduler.schedule_relative(self.rtt, lambda *_: self._pong(payload))

    def _pong(self, payload: bytes) -> None:
        if self.observer is not None:
            self.observer.on_next(Pong(payload))

    def socket(self) -> Observable[SocketItem]:
        """A socket that opens at once and then carries the pongs (and a message at 5)."""

        def subscribe(observer: abc.ObserverBase[SocketItem], _: Any = None) -> Disposable:
            self.observer = observer
            observer.on_next(Opened(self))
            self.scheduler.schedule_relative(5, lambda *_: observer.on_next('["NOTICE","x"]'))

            def dispose() -> None:
                self.observer = None

            return Disposable(dispose)

        return Observable(subscribe)


def run(
    config: HealthConfig, link: PeerLink, scheduler: TestScheduler, **excuses: Any
) -> tuple[Any, list[Any]]:
    latencies: list[float] = []
    misses: list[Any] = []

    def create() -> Observable[SocketItem]:
        return link.socket().pipe(
            monitor_health(
                config,
                "ws://peer",
                scheduler=scheduler,
                on_latency=latencies.append,
                on_miss=lambda e: misses.append((scheduler.clock - T0, e)),
                **excuses,
            )
        )

    results = scheduler.start(create, disposed=T0 + 200)
    for message in results.messages:
        message.time -= T0
    return results, [latencies, misses]


def test_pings_every_interval_and_records_latency() -> None:
    scheduler = TestScheduler()
    link = PeerLink(scheduler, rtt=2)
    results, (latencies, misses) = run(
        HealthConfig(ping_interval=10, pong_timeout=5), link, scheduler
    )
    assert link.pings == [10.0 * n for n in range(1, 20)]
    assert latencies == [2.0] * len(link.pings)
    assert misses == []
    assert [m.value.kind for m in results.messages] == ["N", "N"]  # Opened, NOTICE; no Pong
    assert results.messages[1] == on_next(5, '["NOTICE","x"]')


def test_silent_peer_is_dropped_within_interval_plus_timeout() -> None:
    scheduler = TestScheduler()
    link = PeerLink(scheduler)
    link.answering = False
    config = HealthConfig(ping_interval=10, pong_timeout=4, failure_threshold=1)
    results, (_, misses) = run(config, link, scheduler)
    error = results.messages[-1]
    assert error.time == 14 and error.value.kind == "E"
    assert isinstance(error.value.exception, ConnectionUnhealthy)
    assert isinstance(error.value.exception.__cause__, PongTimeout)
    assert misses == []
    assert link.pings == [10]


def test_threshold_counts_consecutive_misses_and_repings_at_once() -> None:
    scheduler = TestScheduler()
    link = PeerLink(scheduler)
    config = HealthConfig(ping_interval=10, pong_timeout=4, failure_threshold=3)
    scheduler.schedule_absolute(T0 + 25, lambda *_: setattr(link, "answering", False))
    results, (_, misses) = run(config, link, scheduler)
    # answered at 10 and 20; silent from 25: pings at 30, 34, 38 all missed
    assert link.pings == [10, 20, 30, 34, 38]
    assert [t for t, _ in misses] == [34, 38]
    assert all(isinstance(e, PongTimeout) for _, e in misses)
    assert [e.failures for _, e in misses] == [1, 2]
    error = results.messages[-1]
    assert error.time == 42 and error.value.exception.failures == 3


def test_a_pong_resets_the_failure_count() -> None:
    scheduler = TestScheduler()
    link = PeerLink(scheduler, rtt=1)
    config = HealthConfig(ping_interval=10, pong_timeout=4, failure_threshold=2)
    scheduler.schedule_absolute(T0 + 9, lambda *_: setattr(link, "answering", False))
    scheduler.schedule_absolute(T0 + 12, lambda *_: setattr(link, "answering", True))
    scheduler.schedule_absolute(T0 + 30, lambda *_: setattr(link, "answering", False))
    scheduler.schedule_absolute(T0 + 36, lambda *_: setattr(link, "answering", True))
    results, (_, misses) = run(config, link, scheduler)
    # pings 10 (missed), 14 (pong 15), 24 (pong 25), 34 (missed), 38 (pong 39) ...
    assert link.pings[:5] == [10, 14, 24, 34, 38]
    assert [t for t, _ in misses] == [14, 38]  # one miss each time, never two in a row
    assert all(m.value.kind == "N" for m in results.messages)


def test_late_pong_is_ignored() -> None:
    scheduler = TestScheduler()
    link = PeerLink(scheduler, rtt=6)  # always later than the timeout
    config = HealthConfig(ping_interval=10, pong_timeout=4, failure_threshold=2)
    results, (latencies, misses) = run(config, link, scheduler)
    assert latencies == []
    assert [t for t, _ in misses] == [14]
    assert results.messages[-1].time == 18


def test_dispose_stops_pinging() -> None:
    scheduler = TestScheduler()
    link = PeerLink(scheduler)
    config = HealthConfig(ping_interval=10, pong_timeout=4)
    sub = link.socket().pipe(monitor_health(config, scheduler=scheduler)).subscribe()
    scheduler.advance_to(25)
    sub.dispose()
    scheduler.advance_to(100)
    link.pings = [t + T0 for t in link.pings]
    assert link.pings == [10, 20]


def test_completion_and_error_pass_through() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(1, "a"), ReactiveTest.on_completed(3))
    config = HealthConfig(ping_interval=10, pong_timeout=4)
    results = scheduler.start(lambda: source.pipe(monitor_health(config, scheduler=scheduler)))
    assert results.messages == [on_next(201, "a"), ReactiveTest.on_completed(203)]


def test_no_miss_while_we_ourselves_do_not_read() -> None:
    scheduler = TestScheduler()
    link = PeerLink(scheduler)
    link.answering = False  # its pongs sit unread while our consumer is full
    held = [True]
    scheduler.schedule_absolute(T0 + 50, lambda *_: held.__setitem__(0, False))
    config = HealthConfig(ping_interval=10, pong_timeout=4, failure_threshold=1)
    results, (_, misses) = run(config, link, scheduler, paused=lambda: held[0])
    # pings at 10, 24, 38 answered by nothing but excused; 52 is due at 56 and missed
    assert link.pings == [10, 24, 38, 52]
    error = results.messages[-1]
    assert error.time == 56 and isinstance(error.value.exception, ConnectionUnhealthy)


def test_no_miss_while_envelopes_keep_arriving_ahead_of_the_pong() -> None:
    scheduler = TestScheduler()
    link = PeerLink(scheduler, rtt=6)  # the pong waits behind a backlog we are reading
    read = [0]

    def reading(*_: Any) -> None:
        read[0] += 1
        if scheduler.clock < T0 + 60:
            scheduler.schedule_relative(1, reading)

    scheduler.schedule_absolute(T0 + 1, reading)
    config = HealthConfig(ping_interval=10, pong_timeout=4, failure_threshold=1)
    results, (latencies, misses) = run(config, link, scheduler, activity=lambda: read[0])
    # busy reading until 60: every late pong is excused (and ignored); then a real miss
    assert latencies == [] and misses == []
    error = results.messages[-1]
    assert isinstance(error.value.exception, ConnectionUnhealthy) and error.time > 60
