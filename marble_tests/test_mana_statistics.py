"""Connection statistics in virtual time: load-average decay, steady rates, reconnects, uptime."""

from __future__ import annotations

import math
from typing import Any

import pytest
from reactivex import Observable
from reactivex.testing import ReactiveTest, TestScheduler

from rx_honeybee.testing import MarbleHarness
from rx_mana.statistics import ConnectionStatistics, watch
from rx_roots import ConnectionStatus

on_next = ReactiveTest.on_next

NOTE = '["EVENT","s",{"id":"x"}]'


class Streams:
    """A connection's public streams as hot marble observables on one TestScheduler."""

    def __init__(self, scheduler: TestScheduler, **records: list[Any]) -> None:
        self.url = "ws://marble"
        self.scheduler = scheduler

        def hot(name: str) -> Observable[Any]:
            return scheduler.create_hot_observable(records.get(name, []))

        self.messages = hot("messages")
        self.written = hot("written")
        self.errors = hot("errors")
        self.latencies = hot("latencies")
        self.state = hot("state")


def test_a_burst_decays_with_each_window_s_time_constant() -> None:
    scheduler = TestScheduler()
    conn = Streams(scheduler, messages=[on_next(10, NOTE) for _ in range(30)])
    stats = ConnectionStatistics()
    watch(conn, stats)
    scheduler.advance_to(10)
    assert stats.stats().message_rates == pytest.approx((30 / 60, 30 / 300, 30 / 900))
    for t in (70, 310, 910):
        scheduler.advance_to(t)
        dt = t - 10
        expected = tuple(30 / tau * math.exp(-dt / tau) for tau in (60, 300, 900))
        assert stats.stats().message_rates == pytest.approx(expected)
    # after one time constant the 1 minute rate fell to 1/e of the burst
    scheduler.advance_to(10 + 60 * 30)
    assert stats.stats().message_rates[0] < 1e-9


def test_a_steady_rate_reads_as_that_rate_once_the_windows_filled() -> None:
    scheduler = TestScheduler()
    conn = Streams(
        scheduler,
        messages=[on_next(t, NOTE) for t in range(1, 3601)],  # 1 envelope per second
        errors=[on_next(t, ValueError("x")) for t in range(10, 3601, 10)],  # 0.1 per second
    )
    stats = ConnectionStatistics()
    watch(conn, stats)
    scheduler.advance_to(300)
    one, five, fifteen = stats.stats().message_rates
    assert one == pytest.approx(1.0, rel=0.01)  # five time constants: filled
    assert five == pytest.approx(1 - math.exp(-1), rel=0.01)  # one: 63 %
    assert fifteen == pytest.approx(1 - math.exp(-1 / 3), rel=0.01)
    scheduler.advance_to(3600)
    snapshot = stats.stats()
    assert snapshot.message_rates == pytest.approx((1.0, 1.0, 1.0), rel=0.02)
    # sampled just after an error: each window holds a geometric sum of 360 errors
    expected = []
    for tau in (60, 300, 900):
        q = math.exp(-10 / tau)
        expected.append(1 / tau * (1 - q**360) / (1 - q))
    assert snapshot.error_rates == pytest.approx(tuple(expected))
    assert snapshot.error_rates == pytest.approx((0.1, 0.1, 0.1), rel=0.09)
    assert snapshot.reliability == pytest.approx(1 - 0.1 / 1.1, rel=0.01)


def test_reconnections_and_uptime_follow_the_state_on_the_virtual_clock() -> None:
    scheduler = TestScheduler()
    status = ConnectionStatus
    conn = Streams(
        scheduler,
        state=[
            on_next(1, status.CONNECTING),
            on_next(2, status.CONNECTED),
            on_next(100, status.BACKOFF),
            on_next(101, status.CONNECTING),
            on_next(102, status.CONNECTED),
        ],
    )
    stats = ConnectionStatistics()
    watch(conn, stats)
    scheduler.advance_to(50)
    assert (stats.stats().uptime, stats.stats().reconnections) == (48.0, 0)
    scheduler.advance_to(101)
    assert stats.stats().uptime == 0.0
    scheduler.advance_to(112)
    snapshot = stats.stats()
    assert (snapshot.uptime, snapshot.reconnections) == (10.0, 1)
    per_hour = 3600 / 900 * math.exp(-10 / 900)  # the 15 minute rate of one reconnect
    assert snapshot.stability == pytest.approx(1 / (1 + per_hour / 6))
    scheduler.advance_to(112 + 900 * 10)  # an hour and more of calm: stable again
    assert stats.stats().stability > 0.999


@pytest.mark.asyncio
async def test_watching_a_connection_over_marble_sockets_counts_both_ways_and_the_redial() -> None:
    h = MarbleHarness(
        lambda link: ["-o-a-b-#", "-o-a"],
        lookup={"a": '["NOTICE","hi"]', "b": '["EOSE","s"]'},
    )
    stats = ConnectionStatistics()
    watch(h.conn, stats)
    await h.start()
    h.conn.send('["REQ","s",{}]')
    await h.run_until(12)
    snapshot = stats.stats()
    assert snapshot.received_by_label == {"NOTICE": 2, "EOSE": 1}
    assert snapshot.sent_by_label == {"REQ": 1}
    assert snapshot.bytes_sent == len('["REQ","s",{}]')
    assert snapshot.bytes_received == 2 * len('["NOTICE","hi"]') + len('["EOSE","s"]')
    assert snapshot.reconnections == 1
    assert snapshot.errors >= 1  # the lost socket was reported
    assert snapshot.uptime == 12 - h.sockets.dialled[-1] - 1  # opened one unit after the dial
    await h.conn.close()
