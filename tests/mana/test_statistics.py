"""ConnectionStatistics as a policy object: counts, bytes, percentiles, quality, report."""

from __future__ import annotations

import asyncio
import json

import pytest
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from rx_honeybee.errors import InvalidState
from rx_mana.statistics import (
    LATENCY_WINDOW,
    ConnectionStatistics,
    ConnectionStats,
    quality_parts,
    watch,
)
from rx_roots import ConnectionStatus

REQ = '["REQ","s",{"kinds":[1]}]'
NOTE = '["EVENT","s",{"content":"héllo ✓"}]'  # not ASCII: bytes are UTF-8, not characters


class FakeConn:
    def __init__(self, scheduler: TestScheduler | None = None) -> None:
        self.url = "ws://fake"
        self.scheduler = scheduler
        self.messages: Subject[str] = Subject()
        self.written: Subject[str] = Subject()
        self.errors: Subject[Exception] = Subject()
        self.latencies: Subject[float] = Subject()
        self.state: Subject[ConnectionStatus] = Subject()


def clocked() -> tuple[TestScheduler, ConnectionStatistics]:
    scheduler = TestScheduler()
    return scheduler, ConnectionStatistics(scheduler=scheduler)


def test_totals_bytes_and_labels_both_ways() -> None:
    _, stats = clocked()
    stats.record_sent(REQ)
    stats.record_received(NOTE)
    stats.record_received(NOTE)
    stats.record_received("not json")
    s = stats.stats()
    assert (s.sent, s.received) == (1, 3)
    assert s.bytes_sent == len(REQ)
    assert s.bytes_received == 2 * len(NOTE.encode("utf-8")) + len("not json")
    assert len(NOTE.encode("utf-8")) > len(NOTE)
    assert s.sent_by_label == {"REQ": 1}
    assert s.received_by_label == {"EVENT": 2, "?": 1}


def test_a_fresh_statistics_is_perfect_and_empty() -> None:
    _, stats = clocked()
    s = stats.stats()
    assert s.quality == 1.0 and (s.p50, s.p90, s.p99) == (None, None, None)
    assert s.message_rates == (0.0, 0.0, 0.0) and s.uptime == 0.0 and s.url is None


def test_percentiles_by_nearest_rank_over_the_latest_window() -> None:
    _, stats = clocked()
    for ms in range(1, 101):
        stats.record_latency(ms / 1000)
    s = stats.stats()
    assert (s.p50, s.p90, s.p99) == (0.051, 0.091, 0.1)
    for _ in range(LATENCY_WINDOW):
        stats.record_latency(0.002)  # the old samples leave the window
    assert stats.stats().p99 == 0.002


def test_quality_parts_follow_the_documented_formula() -> None:
    assert quality_parts(0, 0, 0, None) == (1.0, 1.0, 1.0, 1.0)
    score, stability, reliability, performance = quality_parts(6, 1, 3, 0.275)
    assert stability == pytest.approx(0.5)
    assert reliability == pytest.approx(0.75)
    assert performance == pytest.approx(0.5)
    assert score == pytest.approx(0.4 * 0.5 + 0.3 * 0.75 + 0.3 * 0.5)
    assert quality_parts(0, 0, 0, 0.9)[3] == 0.0
    assert quality_parts(0, 5, 0, 0.01)[2] == 0.0  # only faults: unreliable


def test_errors_lower_reliability_and_latency_lowers_performance() -> None:
    scheduler, stats = clocked()
    for _ in range(3):
        stats.record_received(NOTE)
    stats.record_error(ValueError("bad"))
    stats.record_latency(0.5)
    s = stats.stats()
    assert s.errors == 1
    assert s.reliability == pytest.approx(0.75)
    assert s.performance == 0.0
    assert s.quality == pytest.approx(0.4 + 0.3 * 0.75)


def test_reconnections_count_connected_after_the_first_and_ignore_repeats() -> None:
    scheduler, stats = clocked()
    stats.record_status(ConnectionStatus.CONNECTING)
    stats.record_status(ConnectionStatus.CONNECTED)
    scheduler.advance_to(5)
    stats.record_status(ConnectionStatus.CONNECTED)  # repeated: same socket
    assert stats.stats().reconnections == 0 and stats.stats().uptime == 5.0
    stats.record_status(ConnectionStatus.BACKOFF)
    stats.record_status(ConnectionStatus.CONNECTED)
    assert stats.stats().reconnections == 1 and stats.stats().stability < 1.0


def test_report_has_the_pinned_shape_and_is_json() -> None:
    scheduler, stats = clocked()
    stats.url = "ws://r"
    stats.record_sent('["EVENT",{}]')
    stats.record_received('["EVENT","s",{}]')
    stats.record_received('["EOSE","s"]')
    report = json.loads(json.dumps(stats.report()))
    assert set(report) == {
        "url",
        "uptime",
        "messages",
        "bytes",
        "errors",
        "rates",
        "latency",
        "reconnections",
        "quality",
    }
    assert report["messages"] == {"sent": 1, "received": 2, "by_label": {"EVENT": 2, "EOSE": 1}}
    assert set(report["rates"]) == {
        f"{kind}_{w}" for kind in ("messages", "errors") for w in ("1m", "5m", "15m")
    }
    assert report["rates"]["messages_1m"] == pytest.approx(3 / 60)
    assert report["latency"] == {"p50": None, "p90": None, "p99": None}
    assert set(report["quality"]) == {"score", "stability", "performance", "reliability"}
    assert report["url"] == "ws://r"


def test_stats_is_a_frozen_snapshot() -> None:
    _, stats = clocked()
    s = stats.stats()
    assert isinstance(s, ConnectionStats)
    with pytest.raises(AttributeError):
        s.sent = 3  # type: ignore[misc]
    stats.record_sent(REQ)
    assert s.sent == 0  # the snapshot did not move


def test_watch_feeds_every_stream_and_dispose_stops() -> None:
    scheduler = TestScheduler()
    conn = FakeConn(scheduler)
    stats = ConnectionStatistics()
    watching = watch(conn, stats)
    assert stats.url == "ws://fake"
    conn.state.on_next(ConnectionStatus.CONNECTED)
    conn.messages.on_next(NOTE)
    conn.written.on_next(REQ)
    conn.errors.on_next(ValueError("x"))
    conn.latencies.on_next(0.01)
    scheduler.advance_to(3)  # the connection's scheduler is the clock
    s = stats.stats()
    assert (s.received, s.sent, s.errors, s.p50, s.uptime) == (1, 1, 1, 0.01, 3.0)
    watching.dispose()
    conn.messages.on_next(NOTE)
    assert stats.stats().received == 1


def test_watch_keeps_an_explicit_url_and_clock() -> None:
    own = TestScheduler()
    own.advance_to(100)
    stats = ConnectionStatistics(scheduler=own)
    stats.url = "ws://named"
    conn = FakeConn(TestScheduler())
    watch(conn, stats)
    conn.state.on_next(ConnectionStatus.CONNECTED)
    own.advance_to(130)
    assert stats.stats().uptime == 30.0 and stats.url == "ws://named"


def test_without_any_clock_and_no_loop_it_says_so() -> None:
    stats = ConnectionStatistics()
    with pytest.raises(InvalidState):
        stats.stats()


def test_in_a_running_loop_the_asyncio_clock_is_used() -> None:
    async def main() -> float:
        stats = ConnectionStatistics()
        watch(FakeConn(None), stats)
        stats.record_received(NOTE)
        return stats.stats().message_rates[0]

    assert asyncio.run(main()) == pytest.approx(1 / 60, rel=1e-3)
