"""Loopback: statistics watched on a live Connection match what the relay saw, across a redial.

A Connection to ``rx_honeybee.testing.Relay`` subscribes, publishes three signed events,
is dropped by the relay and comes back; its statistics must count exactly the envelopes
the relay received (and their UTF-8 bytes), what came back by label, one reconnection,
the pong latencies, and an uptime that started again at the redial.
"""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from rx_honeybee import Connection
from rx_honeybee.config import HealthConfig
from rx_honeybee.testing import FAST, Relay, until
from rx_mana.statistics import ConnectionStatistics, watch
from rx_roots import ConnectionStatus, enclose_event, get_label
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

# pings often, but a busy test machine never misses a pong (no redial but the one we cause)
CONFIG = dataclasses.replace(FAST, health=HealthConfig(ping_interval=1.0, pong_timeout=1.0))


async def test_report_numbers_match_the_traffic_and_the_reconnect() -> None:
    events = [make_event(i, seed="statistics") for i in range(4)]
    async with Relay() as relay, Connection(relay.url, CONFIG) as conn:
        stats = ConnectionStatistics()
        watching = watch(conn, stats)
        seen: list[str] = []
        conn.messages.subscribe(seen.append)

        conn.send('["REQ","s",{"kinds":[1]}]')
        for event in events[:3]:
            conn.send(enclose_event(event))
        await until(lambda: [get_label(e) for e in seen].count("OK") == 3)

        relay.faults.drop_after(1)  # the next envelope kills the socket
        conn.send(enclose_event(events[3]))
        await until(lambda: conn.generation == 2 and conn.status is ConnectionStatus.CONNECTED)
        came_back = time.monotonic()
        conn.send('["REQ","t",{"kinds":[7]}]')
        await until(lambda: [get_label(e) for e in seen].count("EOSE") == 2)
        await until(lambda: stats.stats().p50 is not None, timeout=5)  # a ping came back

        report = json.loads(json.dumps(stats.report()))
        mine = list(relay.received)
        assert report["url"] == conn.url
        assert report["reconnections"] == 1
        assert report["messages"]["sent"] == len(mine) == 6
        assert report["bytes"]["sent"] == sum(len(e.encode()) for e in mine)
        assert report["messages"]["received"] == len(seen)
        assert report["bytes"]["received"] == sum(len(e.encode()) for e in seen)
        snapshot = stats.stats()
        assert snapshot.sent_by_label == {"REQ": 2, "EVENT": 4}
        # "s" is live: the relay echoed our three events to it before the drop
        assert snapshot.received_by_label == {"EVENT": 3, "OK": 3, "EOSE": 2}
        assert report["messages"]["by_label"] == {"REQ": 2, "EVENT": 7, "OK": 3, "EOSE": 2}
        assert 0 < report["uptime"] <= time.monotonic() - came_back + 0.1
        assert 0 < report["latency"]["p50"] < 1.0  # a loopback pong, within pong_timeout
        assert report["rates"]["messages_1m"] == pytest.approx(
            (len(mine) + len(seen)) / 60, rel=0.05
        )
        assert report["quality"]["stability"] < 1.0  # the redial cost something
        assert 0 < report["quality"]["score"] <= 1
        watching.dispose()
