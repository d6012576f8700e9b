"""Loopback: a frozen relay shows up in the health score before, and while, it is dropped.

``Relay.faults.stall()`` makes the relay stop reading its sockets, so no pong comes back:
the tracker reports DEGRADED after the first two misses (while honeybee still holds the
socket, the early warning a pool routes on), then UNHEALTHY/FAILING once the socket is
dropped and the connection backs off; ``resume()`` brings pongs back, and the tracker
returns to HEALTHY with a full score once the misses leave the window.
"""

from __future__ import annotations

import pytest

from rx_honeybee import Connection
from rx_honeybee.testing import FAST, Relay, until
from rx_mana.health import HealthReport, HealthStatus, HealthTracker, track_health
from rx_roots import ConnectionStatus

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


async def test_a_stalled_relay_drives_the_score_down_and_resume_restores_it() -> None:
    # FAST: a ping every 0.5 s, a pong due within 0.25 s, the socket dropped at 3 misses
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        tracker = HealthTracker(latency_threshold=0.2, window=4)
        reports: list[tuple[HealthReport, ConnectionStatus]] = []
        tracker.reports.subscribe(lambda r: reports.append((r, conn.status)))
        link = track_health(conn, tracker)
        await until(lambda: tracker.stats().latencies >= 2, timeout=5)
        assert tracker.status is HealthStatus.HEALTHY and tracker.score == 1.0

        relay.faults.stall()
        await until(lambda: tracker.status is HealthStatus.FAILING, timeout=10)
        assert tracker.score == 0.0 and not tracker.is_healthy(0.1)
        statuses = [r.status for r, _ in reports]
        first_bad = next(i for i, s in enumerate(statuses) if s is not HealthStatus.HEALTHY)
        warning, status_then = reports[first_bad]
        # the warning came while the socket was still up: before honeybee dropped it
        assert warning.status is HealthStatus.DEGRADED
        assert status_then is ConnectionStatus.CONNECTED
        assert HealthStatus.UNHEALTHY in statuses
        assert warning.failure_risk > 0

        relay.faults.resume()
        await until(lambda: tracker.status is HealthStatus.HEALTHY, timeout=15)
        assert conn.status is ConnectionStatus.CONNECTED
        assert tracker.is_healthy(0.6)  # at most one miss left in the window
        await until(lambda: tracker.score == 1.0, timeout=10)  # the last miss left the window
        stats = tracker.stats()
        assert stats.misses >= 3 and stats.errors["PongTimeout"] >= 2
        link.dispose()
