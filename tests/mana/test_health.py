"""HealthTracker: window, percentiles, trend, status rules, score, risk, errors, the wiring."""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import FrozenInstanceError
from typing import Any

import pytest
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.subject import BehaviorSubject, Subject
from reactivex.testing import TestScheduler

from rx_honeybee.errors import ConnectionFailed, ConnectionUnhealthy, PongTimeout
from rx_mana.health import (
    HealthReport,
    HealthStats,
    HealthStatus,
    HealthTracker,
    category_of,
    health_reports,
    is_miss,
    track_health,
)
from rx_roots import ConnectionStatus as S

H, D, U, F = (
    HealthStatus.HEALTHY,
    HealthStatus.DEGRADED,
    HealthStatus.UNHEALTHY,
    HealthStatus.FAILING,
)


def miss(failures: int = 1) -> PongTimeout:
    return PongTimeout("ws://relay", failures, 0.25)


def feed(tracker: HealthTracker, *samples: float | None) -> HealthReport:
    """Record each sample (None = a miss); return the last report."""
    report = tracker.report()
    for sample in samples:
        report = tracker.record_miss() if sample is None else tracker.record_latency(sample)
    return report


class FakeConn:
    """The three streams a connection shows, as subjects; ``state`` replays like honeybee's."""

    def __init__(self, scheduler: abc.SchedulerBase | None = None) -> None:
        self.latencies: Subject[float] = Subject()
        self.errors: Subject[Exception] = Subject()
        self.state: BehaviorSubject[S] = BehaviorSubject(S.DISCONNECTED)
        self.scheduler = scheduler


# -- construction --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency_threshold": 0},
        {"latency_threshold": -1},
        {"latency_threshold": math.inf},
        {"latency_threshold": math.nan},
        {"degradation_threshold": 0},
        {"degradation_threshold": 4, "failure_threshold": 3},
        {"failure_threshold": 11, "window": 10},
        {"window": 0, "degradation_threshold": 1, "failure_threshold": 1},
    ],
)
def test_invalid_configuration_raises_value_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        HealthTracker(**kwargs)


def test_a_fresh_tracker_is_healthy_with_a_perfect_score() -> None:
    tracker = HealthTracker()
    report = tracker.report()
    assert report == HealthReport(H, 1.0, None, None, None, 0.0, 0.0, 0)
    assert tracker.score == 1.0 and tracker.status is H
    assert tracker.is_healthy(1.0) and not tracker.is_degraded()


def test_reports_and_stats_are_frozen() -> None:
    tracker = HealthTracker()
    with pytest.raises(FrozenInstanceError):
        tracker.report().score = 0.5  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        tracker.stats().samples = 3  # type: ignore[misc]


# -- the window ------------------------------------------------------------------------------


def test_percentiles_are_nearest_rank_over_the_window() -> None:
    tracker = HealthTracker(latency_threshold=5)
    report = feed(tracker, *[n / 10 for n in (7, 3, 10, 1, 5, 9, 2, 8, 4, 6)])
    assert (report.p50, report.p90, report.p99) == (0.5, 0.9, 1.0)


def test_only_the_last_window_samples_count() -> None:
    tracker = HealthTracker(5, degradation_threshold=1, failure_threshold=1, window=3)
    assert feed(tracker, None, 1.0).status is U  # the miss is in the window
    report = feed(tracker, 2.0, 3.0)  # the miss and 1.0 pushed out
    assert report.status is H and report.misses == 0
    assert (report.p50, report.p99) == (2.0, 3.0)


def test_trend_is_the_least_squares_slope_per_sample_over_latencies_only() -> None:
    tracker = HealthTracker(latency_threshold=5)
    assert feed(tracker, 0.1).trend == 0.0  # one point: no slope
    assert feed(tracker, 0.2, 0.3).trend == pytest.approx(0.1)
    flat = HealthTracker(latency_threshold=5)
    assert feed(flat, 0.4, 0.4, 0.4).trend == 0.0
    gaps = HealthTracker(latency_threshold=5)  # a miss leaves a gap in x, not a zero in y
    assert feed(gaps, 0.1, None, 0.3).trend == pytest.approx(0.1)
    falling = HealthTracker(latency_threshold=5)
    assert feed(falling, 0.3, 0.2, 0.1).trend == pytest.approx(-0.1)


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf])
def test_a_latency_must_be_a_finite_non_negative_number(bad: float) -> None:
    tracker = HealthTracker()
    with pytest.raises(ValueError):
        tracker.record_latency(bad)
    assert tracker.stats().samples == 0


# -- status rules ------------------------------------------------------------------------------


def test_status_rules_follow_the_spec() -> None:
    tracker = HealthTracker(latency_threshold=0.5)
    assert feed(tracker, 0.5, 0.5).status is H  # p90 == threshold is not over it
    assert feed(tracker, 0.6, 0.6).status is D  # p90 over the threshold
    slow_free = HealthTracker(latency_threshold=0.5)
    assert feed(slow_free, 0.1, None).status is H  # one miss
    assert feed(slow_free, None).status is D  # degradation_threshold misses
    assert feed(slow_free, None).status is U  # failure_threshold misses
    assert feed(slow_free, None).status is U
    assert slow_free.is_degraded()


def test_backoff_and_error_are_failing_and_recovery_returns_to_the_window_status() -> None:
    tracker = HealthTracker()
    feed(tracker, 0.1, None, None)  # DEGRADED by misses
    assert tracker.record_status(S.CONNECTED) is None  # not down before, not down now
    failing = tracker.record_status(S.BACKOFF)
    assert failing is not None and failing.status is F
    assert failing.score == 0.0 and failing.failure_risk == 1.0
    assert tracker.record_status(S.ERROR) is None  # still down: nothing changes
    assert feed(tracker, 0.1).status is F  # samples while down stay FAILING
    back = tracker.record_status(S.CONNECTING)
    assert back is not None and back.status is D  # two misses still in the window


# -- score and risk ----------------------------------------------------------------------------


def test_score_is_reliability_times_performance() -> None:
    tracker = HealthTracker(latency_threshold=0.5, failure_threshold=4, window=10)
    assert feed(tracker, 0.2, 0.3).score == 1.0
    assert feed(tracker, None).score == pytest.approx(0.75)  # 1 of 4 misses
    slow = HealthTracker(latency_threshold=0.5)
    assert feed(slow, 1.0).score == pytest.approx(0.5)  # p90 twice the threshold
    both = HealthTracker(latency_threshold=0.5, failure_threshold=4)
    assert feed(both, 1.0, None, None).score == pytest.approx(0.5 * 0.5)
    dead = HealthTracker()
    assert feed(dead, None, None, None).score == 0.0
    zero = HealthTracker()
    assert feed(zero, 0.0).score == 1.0


def test_is_healthy_compares_the_score_with_the_threshold() -> None:
    tracker = HealthTracker(failure_threshold=4)
    feed(tracker, 0.1, None)  # score 0.75
    assert tracker.is_healthy(0.75) and tracker.is_healthy()
    assert not tracker.is_healthy(0.76)


def test_failure_risk_rises_with_latency_trend_and_misses() -> None:
    steady = HealthTracker(latency_threshold=0.5)
    assert feed(steady, 0.2, 0.2, 0.2).failure_risk == 0.0
    falling = HealthTracker(latency_threshold=0.5)
    assert feed(falling, 0.4, 0.3, 0.2).failure_risk == 0.0
    rising = HealthTracker(latency_threshold=0.5, window=10)
    report = feed(rising, 0.1, 0.11, 0.12)  # +0.01 per sample: 0.1 s over a window
    assert report.failure_risk == pytest.approx(0.01 * 10 / 0.5)
    steep = HealthTracker(latency_threshold=0.5)
    assert feed(steep, 0.1, 0.2, 0.3).failure_risk == 1.0  # clamped
    missing = HealthTracker(latency_threshold=0.5)
    assert feed(missing, 0.2, None).failure_risk == pytest.approx(1 / 3)
    combined = HealthTracker(latency_threshold=0.5, window=10)
    risk = feed(combined, 0.1, None, 0.12).failure_risk  # slope 0.01 over x = 0, 2
    assert risk == pytest.approx(1 - (1 - 1 / 3) * (1 - 0.2))


def test_as_dict_is_json_serialisable() -> None:
    tracker = HealthTracker()
    report = feed(tracker, 0.1, None)
    data = json.loads(json.dumps(report.as_dict()))
    assert data == {
        "status": "healthy",
        "score": report.score,
        "p50": 0.1,
        "p90": 0.1,
        "p99": 0.1,
        "trend": 0.0,
        "failure_risk": report.failure_risk,
        "misses": 1,
    }


# -- errors ------------------------------------------------------------------------------------


def test_misses_are_pong_timeouts_or_the_drop_they_caused() -> None:
    unhealthy = ConnectionUnhealthy("ws://relay", 3, "no pong")
    unhealthy.__cause__ = miss(3)
    assert is_miss(miss()) and is_miss(unhealthy)
    assert not is_miss(ConnectionUnhealthy("ws://relay", 3))
    assert not is_miss(ValueError("x"))


def test_category_is_the_attribute_else_the_class_name() -> None:
    assert category_of(ConnectionFailed("ws://relay", "dns")) == "dns"
    assert category_of(miss()) == "PongTimeout"
    odd = ValueError("x")
    odd.category = ""  # type: ignore[attr-defined]
    assert category_of(odd) == "ValueError"


def test_record_error_counts_by_category_and_samples_only_misses() -> None:
    tracker = HealthTracker()
    seen: list[HealthReport] = []
    tracker.reports.subscribe(seen.append)
    assert tracker.record_error(ConnectionFailed("ws://relay", "refused")) is None
    assert seen == []
    report = tracker.record_error(miss())
    assert report is not None and report.misses == 1 and seen == [report]
    stats = tracker.stats()
    assert stats.errors == {"refused": 1, "PongTimeout": 1}
    assert (stats.samples, stats.misses, stats.latencies) == (1, 1, 0)


def test_error_rates_cover_the_span_of_the_window() -> None:
    tracker = HealthTracker(window=3, degradation_threshold=1, failure_threshold=1)
    tracker.record_error(ConnectionFailed("ws://relay", "network"))  # before sample 1
    feed(tracker, 0.1, 0.1)
    tracker.record_error(ConnectionFailed("ws://relay", "network"))
    assert tracker.stats().error_rates == {"network": pytest.approx(2 / 2)}
    feed(tracker, 0.1)
    assert tracker.stats().error_rates == {"network": pytest.approx(2 / 3)}
    feed(tracker, 0.1)  # the first error is older than the oldest sample now
    assert tracker.stats().error_rates == {"network": pytest.approx(1 / 3)}
    feed(tracker, 0.1, 0.1, 0.1)
    assert tracker.stats().error_rates == {}
    assert tracker.stats().errors == {"network": 2}


# -- reports and stats -------------------------------------------------------------------------


def test_a_report_is_emitted_for_every_sample_and_every_failing_change() -> None:
    tracker = HealthTracker()
    seen: list[HealthStatus] = []
    tracker.reports.subscribe(lambda r: seen.append(r.status))
    feed(tracker, 0.1, 0.1, None, None)
    tracker.record_status(S.BACKOFF)
    tracker.record_status(S.CONNECTED)
    assert seen == [H, H, H, D, F, D]
    assert tracker.stats().reports == 6 and tracker.stats().transitions == 3


def test_a_faulty_report_subscriber_does_not_break_the_tracker() -> None:
    tracker = HealthTracker()
    good: list[HealthReport] = []

    def bad(_: HealthReport) -> None:
        raise RuntimeError("subscriber bug")

    tracker.reports.subscribe(bad)
    tracker.reports.subscribe(good.append)
    assert feed(tracker, 0.1).status is H
    assert len(good) == 1


def test_status_seconds_run_on_the_scheduler_clock() -> None:
    scheduler = TestScheduler()
    tracker = HealthTracker(scheduler=scheduler)
    scheduler.advance_to(10)
    feed(tracker, None, None)  # DEGRADED at 10
    scheduler.advance_to(25)
    tracker.record_status(S.BACKOFF)  # FAILING at 25
    scheduler.advance_to(28)
    stats = tracker.stats()
    assert stats == HealthStats(
        status=F,
        samples=2,
        latencies=0,
        misses=2,
        errors={},
        error_rates={},
        transitions=2,
        reports=3,
        status_seconds={"healthy": 10.0, "degraded": 15.0, "failing": 3.0},
    )


def test_without_any_clock_time_is_not_counted() -> None:
    tracker = HealthTracker()  # no scheduler, no running loop
    feed(tracker, None, None)
    assert tracker.stats().status_seconds == {}


@pytest.mark.asyncio
async def test_inside_a_loop_the_loop_clock_is_used_from_the_first_sample() -> None:
    tracker = HealthTracker()
    feed(tracker, 0.1)
    await asyncio.sleep(0.02)
    seconds = tracker.stats().status_seconds
    assert list(seconds) == ["healthy"] and 0.015 <= seconds["healthy"] < 1.0


# -- the operator ------------------------------------------------------------------------------


def test_health_reports_feeds_the_tracker_from_mixed_items() -> None:
    tracker = HealthTracker()
    source: Subject[Any] = Subject()
    out: list[HealthReport] = []
    done: list[bool] = []
    source.pipe(health_reports(tracker)).subscribe(
        out.append, on_completed=lambda: done.append(True)
    )
    source.on_next(S.CONNECTED)  # no change: nothing
    source.on_next(0.1)
    source.on_next(1)  # an int round trip
    source.on_next(ConnectionFailed("ws://relay", "dns"))  # not a sample: nothing
    source.on_next(miss())
    source.on_next(S.BACKOFF)
    source.on_completed()
    assert [r.status for r in out] == [H, D, D, F]  # 1 s is over the threshold
    assert out[1].p99 == 1.0
    assert done == [True]


@pytest.mark.parametrize("item", ["0.1", True, None, -1.0])
def test_health_reports_errors_on_what_is_not_a_sample(item: Any) -> None:
    tracker = HealthTracker()
    source: Subject[Any] = Subject()
    errors: list[Exception] = []
    source.pipe(health_reports(tracker)).subscribe(on_error=errors.append)
    source.on_next(item)
    assert len(errors) == 1 and isinstance(errors[0], TypeError | ValueError)
    assert tracker.stats().samples == 0


def test_health_reports_adopts_the_subscribe_scheduler_as_clock() -> None:
    scheduler = TestScheduler()
    tracker = HealthTracker()
    source: Subject[Any] = Subject()
    source.pipe(health_reports(tracker)).subscribe(scheduler=scheduler)
    source.on_next(0.1)
    scheduler.advance_to(4)
    assert tracker.stats().status_seconds == {"healthy": 4.0}


def test_health_reports_forwards_errors_of_the_source() -> None:
    def fail(observer: abc.ObserverBase[Any], _: Any = None) -> abc.DisposableBase:
        observer.on_error(OSError("boom"))
        return Disposable()

    source: Observable[Any] = Observable(fail)
    errors: list[Exception] = []
    source.pipe(health_reports(HealthTracker())).subscribe(on_error=errors.append)
    assert [str(e) for e in errors] == ["boom"]


# -- track_health ------------------------------------------------------------------------------


def test_track_health_wires_latencies_errors_and_state_and_stops_on_dispose() -> None:
    scheduler = TestScheduler()
    conn = FakeConn(scheduler)
    tracker = HealthTracker(latency_threshold=0.5)
    link = track_health(conn, tracker)
    conn.state.on_next(S.CONNECTED)
    conn.latencies.on_next(0.2)
    conn.errors.on_next(miss(1))
    conn.errors.on_next(miss(2))
    assert tracker.status is D
    unhealthy = ConnectionUnhealthy("ws://relay", 3, "no pong")
    unhealthy.__cause__ = miss(3)
    conn.errors.on_next(unhealthy)
    assert tracker.status is U and tracker.report().misses == 3
    scheduler.advance_to(5)
    conn.state.on_next(S.BACKOFF)
    assert tracker.status is F and not tracker.is_healthy(0.1)
    seconds = tracker.stats().status_seconds
    assert seconds == {"healthy": 0.0, "degraded": 0.0, "unhealthy": 5.0, "failing": 0.0}
    link.dispose()
    conn.state.on_next(S.CONNECTED)
    conn.latencies.on_next(0.1)
    assert tracker.status is F and tracker.stats().latencies == 1


def test_track_health_replays_the_current_connection_status() -> None:
    conn = FakeConn()
    conn.state.on_next(S.BACKOFF)
    tracker = HealthTracker()
    track_health(conn, tracker)
    assert tracker.status is F


@pytest.mark.asyncio
async def test_track_health_uses_the_loop_when_the_connection_has_no_scheduler_yet() -> None:
    conn = FakeConn()
    tracker = HealthTracker()
    track_health(conn, tracker)
    conn.latencies.on_next(0.1)
    assert isinstance(tracker._scheduler, AsyncIOScheduler)
