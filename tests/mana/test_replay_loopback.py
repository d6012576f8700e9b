"""with_replay against a real relay on 127.0.0.1 that goes away and comes back.

The benefit over a bare Connection: an EVENT the dying socket took without an OK is sent
again (a plain ``conn.send`` loses it); what the application sends during the outage
arrives after the reconnect in priority order; what grew too old is reported, not sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rx_honeybee import Connection
from rx_honeybee.testing import Relay
from rx_mana.errors import ReplayGivenUp
from rx_mana.replay import ReplayBuffer
from rx_mana.replaying import with_replay
from rx_roots import ConnectionStatus as S
from rx_roots import RootsError, enclose_event, find_event
from tests.support import FAST, make_event, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


def ids_received(relay: Relay, start: int = 0) -> list[str]:
    """The ids of the EVENTs the relay got, in order, from its ``start``-th envelope on."""
    ids = []
    for envelope in list(relay.received)[start:]:
        try:
            ids.append(find_event(envelope)["id"])
        except RootsError:
            continue
    return ids


def stored(relay: Relay) -> set[str]:
    return {event["id"] for event in relay.events}


async def test_an_outage_loses_nothing_keeps_priority_order_and_reports_what_expired() -> None:
    def ev(n: int) -> dict[str, Any]:
        return make_event(n, seed="replay-loopback")

    relay = Relay()
    async with relay:
        conn = Connection(relay.url, FAST)
        errors: list[Exception] = []
        conn.errors.subscribe(errors.append)
        buffer = ReplayBuffer(max_age=0.8, batch_size=2, batch_delay=0.05)
        replaying = with_replay(conn, buffer)
        await conn.connect()
        try:
            # 1. The socket dies after taking two EVENTs the relay did not answer yet.
            plain, kept = ev(1), ev(2)
            relay.faults.silence_ok(2)
            conn.send(enclose_event(plain))  # honeybee alone: written, so forgotten
            replaying.send(enclose_event(kept), priority=1)
            await until(lambda: ids_received(relay) == [plain["id"], kept["id"]])
            assert buffer.stats().in_flight == 1  # written, waiting for its OK
            await relay.stop()
            await until(lambda: conn.status is not S.CONNECTED)
            await relay.start()
            await until(lambda: kept["id"] in stored(relay))
            await until(lambda: buffer.stats().confirmed == 1)  # the OK came this time
            assert plain["id"] not in stored(relay)

            # 2. A 0.9 s outage: the first sends outlive max_age, the last ones do not.
            await relay.stop()
            await until(lambda: conn.status is not S.CONNECTED)
            mark = len(relay.received)
            stale = [ev(10), ev(11)]
            for event in stale:
                replaying.send(enclose_event(event), priority=5)
            await asyncio.sleep(0.9)  # the outage itself: time must pass
            await until(lambda: buffer.stats().expired == 2)  # expiry runs on a timer
            fresh = {"low1": (ev(20), 0), "mid": (ev(21), 1), "high": (ev(22), 2)}
            fresh["low2"] = (ev(23), 0)
            for event, priority in fresh.values():
                replaying.send(enclose_event(event), priority=priority)
            assert buffer.stats().buffered == 4 and buffer.stats().expired == 2
            await relay.start()
            await until(lambda: len(ids_received(relay, mark)) == 4)
            await until(lambda: buffer.stats().confirmed == 5)
            order = [fresh[name][0]["id"] for name in ("high", "mid", "low1", "low2")]
            assert ids_received(relay, mark) == order
            assert not {event["id"] for event in stale} & stored(relay)
            expired = [e for e in errors if isinstance(e, ReplayGivenUp)]
            assert sorted(e.envelope for e in expired) == sorted(map(enclose_event, stale))
            assert {e.reason for e in expired} == {"expired"}
            stats = buffer.stats()
            assert (stats.buffered, stats.in_flight, stats.replayed) == (0, 0, 5)
            assert (stats.expired, stats.evicted, stats.given_up) == (2, 0, 0)
        finally:
            replaying.dispose()
            await conn.close()
