"""Issue 12, items 3 and 5: each client's bytes are bounded, and idle sockets are closed.

Before: a client that never read kept every answer queued for it (1.46 GB for a few of
them), 100 REQs of ~1 MiB were all held as subscriptions, and a silent socket stayed
forever. Now each client has an outgoing budget (over it: disconnected), a budget for
its subscriptions (over it: ``CLOSED rate-limited:``), one REQ's stored answer is cut at
half the outgoing budget, and a client holding nothing that says nothing is closed.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import ujson

from rx_honeybee.relay import Relay
from rx_honeybee.relay.sweeps import idle, over_budget
from rx_honeybee.testing import until
from rx_honeybee.transport.server import ConnectionLimits
from tests.relay.raw import raw_client
from tests.server.rawsock import open_raw
from tests.stores import both_stores  # noqa: F401  (each test: memory, then SQLite)
from tests.support import make_event

pytestmark = [pytest.mark.timeout(30)]

_MIB = 1024 * 1024
_BIG = "x" * 50_000  # content of a 50 KB event


@pytest.mark.asyncio
async def test_a_client_that_never_reads_is_disconnected_at_its_budget() -> None:
    far = ConnectionLimits(stall_timeout=600)  # only the byte budget may cut it off
    async with Relay(max_queued_bytes=_MIB, limits=far) as relay:
        stuck = await open_raw(relay.host, relay.port, rcvbuf=4096)
        try:
            assert await stuck.upgrade(relay.host, relay.port) == 101
            stuck.send_text(ujson.dumps(["REQ", "all", {"kinds": [1]}]))
            await until(lambda: relay.subscriptions == ["all"])
            for n in range(300):  # 15 MB: far beyond what loopback socket buffers absorb
                assert relay.publish(make_event(n, content=_BIG)) == (True, "")
            await until(lambda: relay.clients == 0, 5.0)
            assert await stuck.closed_by_peer()
        finally:
            stuck.close()
        async with raw_client(relay.url) as other:  # the relay serves on
            await other.send(ujson.dumps(["REQ", "s", {"kinds": [1], "limit": 1}]))
            assert len((await other.wait_for("EVENT"))[2]["content"]) == 50_000


@pytest.mark.asyncio
async def test_one_answer_is_cut_at_half_the_budget_newest_first() -> None:
    async with Relay(max_queued_bytes=_MIB) as relay, raw_client(relay.url) as client:
        events = [make_event(n, content=_BIG) for n in range(40)]  # 2 MB stored
        for event in events:
            relay.publish(event)
        await client.send(ujson.dumps(["REQ", "s", {"kinds": [1]}]))
        await client.wait_for("EOSE", "s")
        got = [frame[2]["id"] for frame in client.of("EVENT", "s")]
        newest = [event["id"] for event in reversed(events)]
        assert got == newest[: len(got)]  # the newest, in order, none skipped
        assert 8 <= len(got) <= 10  # 512 KiB of 50 KB events
        assert relay.clients == 1  # cut, not cut off


@pytest.mark.asyncio
async def test_subscriptions_past_their_budget_are_closed_rate_limited() -> None:
    async with Relay(max_subscription_bytes=1000) as relay, raw_client(relay.url) as client:
        req = ["REQ", "a", {"kinds": [1], "#t": ["y" * 500]}]
        await client.send(ujson.dumps(req))
        await client.wait_for("EOSE", "a")
        await client.send(ujson.dumps(["REQ", "b", *req[2:]]))
        closed = await client.wait_for("CLOSED", "b")
        assert closed[2] == "rate-limited: subscriptions over 1000 bytes"
        await client.send(ujson.dumps(req))  # replacing "a" does not count it twice
        await until(lambda: len(client.of("EOSE", "a")) == 2)
        await client.send(ujson.dumps(["CLOSE", "a"]))  # closing frees its bytes
        await client.send(ujson.dumps(["REQ", "b", *req[2:]]))
        await client.wait_for("EOSE", "b")
        assert relay.subscriptions == ["b"]


@pytest.mark.asyncio
async def test_a_silent_client_holding_nothing_is_closed_when_idle() -> None:
    async with (
        Relay(idle_timeout=1.0) as relay,
        raw_client(relay.url) as idle,
        raw_client(relay.url) as listening,
    ):
        await listening.send(ujson.dumps(["REQ", "live", {"kinds": [1]}]))
        await listening.wait_for("EOSE", "live")
        await until(lambda: idle.closed_code is not None, 5.0)
        assert idle.closed_code == 1000
        assert relay.clients == 1 and listening.closed_code is None  # it holds a REQ


class _Seen:
    """What the sweeps read of a client."""

    def __init__(self, last_seen: float = 0.0, subs: object = (), pending: int = 0) -> None:
        self.last_seen, self.subs, self.dropped = last_seen, dict.fromkeys(subs), False
        self.conn = SimpleNamespace(pending_bytes=pending)


def test_the_idle_sweep_spares_subscribers_and_the_recently_heard() -> None:
    quiet, heard, subscribed = _Seen(0.0), _Seen(9.0), _Seen(0.0, ["s"])
    gone = _Seen(0.0)
    gone.dropped = True
    clients: list[Any] = [quiet, heard, subscribed, gone]
    assert idle(clients, 10.0, 5.0) == [quiet]


def test_over_budget_cuts_the_fullest_queues_first_and_no_more() -> None:
    small, big, middle = _Seen(pending=10), _Seen(pending=50), _Seen(pending=30)
    clients: list[Any] = [small, big, middle]
    assert over_budget(clients, 90) == []
    assert over_budget(clients, 89) == [big]
    assert over_budget(clients, 20) == [big, middle]
    assert over_budget(clients, 0) == [big, middle, small]
    big.dropped = True  # already going: its bytes are not counted again
    assert over_budget(clients, 30) == [middle]


@pytest.mark.asyncio
async def test_clients_that_never_read_are_cut_when_all_pass_the_relay_budget() -> None:
    far = ConnectionLimits(stall_timeout=600)
    relay = Relay(max_queued_bytes=32 * _MIB, max_output_bytes=5 * _MIB, limits=far)
    async with relay:
        stuck = [await open_raw(relay.host, relay.port, rcvbuf=4096) for _ in range(3)]
        try:
            for raw in stuck:
                assert await raw.upgrade(relay.host, relay.port) == 101
                raw.send_text(ujson.dumps(["REQ", "all", {"kinds": [1]}]))
            await until(lambda: relay.subscriptions == ["all"] * 3)
            for n in range(200):  # 10 MB each: a few MB in socket buffers, the rest queued
                relay.publish(make_event(n, content=_BIG))
            await until(lambda: relay.clients < 3, 5.0)
            queued = [client.conn.pending_bytes for client in relay._clients.values()]
            assert sum(queued) <= 5 * _MIB  # each under its own 32 MiB: the relay's budget cut
        finally:
            for raw in stuck:
                raw.close()


def test_budgets_are_checked() -> None:
    with pytest.raises(ValueError, match="write_queue_bytes"):
        Relay(max_queued_bytes=1000)  # cannot hold one frame of 1 MiB
    with pytest.raises(ValueError, match="max_subscription_bytes"):
        Relay(max_subscription_bytes=0)
    with pytest.raises(ValueError, match="idle_timeout"):
        Relay(idle_timeout=0)
    with pytest.raises(ValueError, match="max_output_bytes"):
        Relay(max_output_bytes=0)
