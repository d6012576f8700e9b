"""Tests for rx_honeybee.metrics: counters, derived figures and reset, on fake clocks."""

from __future__ import annotations

from typing import Any

import pytest

from rx_honeybee import metrics as metrics_module
from rx_honeybee.metrics import Metrics

KEYS = {
    "messages_sent",
    "messages_received",
    "bytes_sent",
    "bytes_received",
    "errors",
    "events_rejected",
    "reconnections",
    "last_message_sent_at",
    "last_message_received_at",
    "uptime",
    "messages_per_second",
    "latency_last",
    "latency_min",
    "latency_max",
    "latency_avg",
    "connected",
    "compressed",
}


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(100.0)


@pytest.fixture
def wall() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def m(clock: FakeClock, wall: FakeClock) -> Metrics:
    return Metrics(clock, wall)


def test_exports() -> None:
    assert metrics_module.__all__ == ["Inbound", "Metrics"]


def test_fresh_snapshot_has_stable_keys_and_zero_values(m: Metrics) -> None:
    snap = m.snapshot()
    assert set(snap) == KEYS
    assert snap == {
        "messages_sent": 0,
        "messages_received": 0,
        "bytes_sent": 0,
        "bytes_received": 0,
        "errors": 0,
        "events_rejected": 0,
        "reconnections": 0,
        "last_message_sent_at": None,
        "last_message_received_at": None,
        "uptime": 0.0,
        "messages_per_second": 0.0,
        "latency_last": None,
        "latency_min": None,
        "latency_max": None,
        "latency_avg": None,
        "connected": False,
        "compressed": False,
    }


def test_keys_stay_the_same_once_everything_was_recorded(m: Metrics) -> None:
    m.mark_connected()
    m.record_sent(1)
    m.record_received(1)
    m.record_latency(0.1)
    assert set(m.snapshot()) == KEYS


def test_sent_and_received_count_messages_bytes_and_stamp_wall_time(
    m: Metrics, wall: FakeClock
) -> None:
    m.record_sent(100)
    wall.now += 1
    m.record_sent(50)
    wall.now += 1
    m.record_received(700)
    assert (m.messages_sent, m.bytes_sent) == (2, 150)
    assert (m.messages_received, m.bytes_received) == (1, 700)
    assert m.last_message_sent_at == 1_700_000_001.0
    assert m.last_message_received_at == 1_700_000_002.0
    snap = m.snapshot()
    assert snap["messages_sent"] == 2
    assert snap["bytes_received"] == 700
    assert snap["last_message_received_at"] == 1_700_000_002.0


def test_errors_and_reconnections_are_counted(m: Metrics) -> None:
    m.record_error()
    m.record_error()
    m.record_reconnection()
    assert (m.errors, m.reconnections) == (2, 1)
    assert (m.snapshot()["errors"], m.snapshot()["reconnections"]) == (2, 1)


def test_uptime_runs_from_mark_connected_and_is_zero_when_disconnected(
    m: Metrics, clock: FakeClock
) -> None:
    assert (m.connected, m.uptime) == (False, 0.0)
    clock.now = 110.0
    m.mark_connected()
    clock.now = 115.5
    assert m.connected is True
    assert m.uptime == 5.5
    assert m.snapshot()["uptime"] == 5.5
    assert m.snapshot()["connected"] is True
    m.mark_disconnected()
    assert (m.connected, m.uptime) == (False, 0.0)
    clock.now = 120.0
    m.mark_connected()  # a new socket: uptime starts over
    clock.now = 121.0
    assert m.uptime == 1.0


def test_messages_per_second_counts_both_directions_since_start(
    m: Metrics, clock: FakeClock
) -> None:
    for _ in range(3):
        m.record_sent(1)
    for _ in range(7):
        m.record_received(1)
    assert m.messages_per_second == 0.0  # no time has passed: no division by zero
    clock.now += 2.0
    assert m.messages_per_second == 5.0
    assert m.snapshot()["messages_per_second"] == 5.0


def test_messages_per_second_is_zero_if_the_clock_goes_backwards(
    m: Metrics, clock: FakeClock
) -> None:
    m.record_received(1)
    clock.now -= 1.0
    assert m.messages_per_second == 0.0


def test_latency_statistics(m: Metrics) -> None:
    for rtt in (0.2, 0.1, 0.3):
        m.record_latency(rtt)
    snap = m.snapshot()
    assert snap["latency_last"] == 0.3
    assert snap["latency_min"] == 0.1
    assert snap["latency_max"] == 0.3
    assert snap["latency_avg"] == pytest.approx(0.2)


def test_latency_window_is_bounded(clock: FakeClock, wall: FakeClock) -> None:
    m = Metrics(clock, wall, latency_window=3)
    for rtt in (9.0, 1.0, 2.0, 3.0):  # the 9.0 falls out of the window
        m.record_latency(rtt)
    snap = m.snapshot()
    assert (snap["latency_last"], snap["latency_min"], snap["latency_max"]) == (3.0, 1.0, 3.0)
    assert snap["latency_avg"] == 2.0


def test_default_latency_window_is_one_hundred(m: Metrics) -> None:
    m.record_latency(50.0)
    for _ in range(100):
        m.record_latency(1.0)
    assert m.snapshot()["latency_max"] == 1.0


def test_zero_latency_is_accepted(m: Metrics) -> None:
    m.record_latency(0.0)
    assert m.snapshot()["latency_last"] == 0.0


def test_negative_latency_is_refused(m: Metrics) -> None:
    with pytest.raises(ValueError, match="latency must be >= 0"):
        m.record_latency(-0.001)
    assert m.snapshot()["latency_last"] is None


@pytest.mark.parametrize("window", [0, -1])
def test_latency_window_must_be_positive(window: int) -> None:
    with pytest.raises(ValueError, match="latency_window"):
        Metrics(latency_window=window)


def _fill(m: Metrics) -> None:
    m.record_sent(10)
    m.record_received(20)
    m.record_error()
    m.record_rejected_event()
    m.record_reconnection()
    m.record_reconnection()
    m.record_latency(0.5)
    assert m.events_rejected == 1


def test_reset_zeroes_counters_but_keeps_reconnections(m: Metrics, clock: FakeClock) -> None:
    _fill(m)
    clock.now += 10.0
    m.reset()
    snap = m.snapshot()
    assert snap["reconnections"] == 2
    for key in (
        "messages_sent",
        "messages_received",
        "bytes_sent",
        "bytes_received",
        "errors",
        "events_rejected",
    ):
        assert snap[key] == 0, key
    for key in ("latency_last", "latency_min", "latency_max", "latency_avg"):
        assert snap[key] is None, key
    assert snap["last_message_sent_at"] is None
    assert snap["last_message_received_at"] is None


def test_reset_restarts_the_rate_clock_by_default(m: Metrics, clock: FakeClock) -> None:
    clock.now += 100.0
    m.reset()
    m.record_received(1)
    m.record_received(1)
    clock.now += 1.0
    assert m.messages_per_second == 2.0


def test_reset_without_start_time_keeps_time_base_and_last_times(
    m: Metrics, clock: FakeClock
) -> None:
    _fill(m)
    clock.now += 10.0
    m.reset(reset_start_time=False)
    assert m.messages_received == 0
    assert m.reconnections == 2
    assert m.last_message_received_at == 1_700_000_000.0
    m.record_received(1)
    assert m.messages_per_second == 0.1  # one message over the original 10 s


def test_reset_keeps_the_connected_state(m: Metrics, clock: FakeClock) -> None:
    m.mark_connected()
    clock.now += 3.0
    m.reset()
    assert m.connected is True
    assert m.uptime == 3.0


def test_snapshot_is_a_copy(m: Metrics) -> None:
    snap = m.snapshot()
    snap["messages_sent"] = 99
    assert m.snapshot()["messages_sent"] == 0


def test_default_clocks_are_real() -> None:
    m = Metrics()
    m.record_received(1)
    stamp = m.last_message_received_at
    assert stamp is not None and stamp > 1_600_000_000  # epoch seconds, not monotonic
    assert m.messages_per_second >= 0.0


def test_metrics_has_no_instance_dict() -> None:
    # __slots__ keeps the per-message attribute updates cheap and catches typos.
    with pytest.raises(AttributeError):
        Metrics().typo = 1  # type: ignore[attr-defined]


def test_compressed_flag_follows_the_current_socket(m: Metrics) -> None:
    m.mark_connected(compressed=True)
    assert m.snapshot()["compressed"] is True
    m.mark_connected()
    assert m.snapshot()["compressed"] is False


def test_deferred_received_stamp_is_taken_once_per_burst() -> None:
    wall = FakeClock(1000.0)
    m = Metrics(wall=wall)
    deferred: list[Any] = []
    m.defer_stamps(deferred.append)
    for _ in range(3):
        m.record_received(10)
    assert len(deferred) == 1  # one stamp for the burst
    assert m.snapshot()["last_message_received_at"] is None
    wall.now = 1001.0
    deferred.pop()()
    assert m.snapshot()["last_message_received_at"] == 1001.0
    m.record_received(10)
    assert len(deferred) == 1  # the next burst schedules a new stamp


def test_inbound_counters_bumped_in_place_are_the_received_figures(m: Metrics) -> None:
    # what Connection's per-envelope path does instead of calling record_received
    m.inbound.count += 2
    m.inbound.size += 700
    m.stamp_received()
    snap = m.snapshot()
    assert (snap["messages_received"], snap["bytes_received"]) == (2, 700)
    assert snap["last_message_received_at"] is not None
    m.reset()
    assert (m.messages_received, m.bytes_received) == (0, 0)
