"""Fault scripts of the test relay, each seen from a real client over loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest

from rx_honeybee import (
    Connection,
    ConnectionFailed,
    PublishTimeout,
    ReconnectConfig,
    SubscriptionClosed,
)
from rx_honeybee.initiator import OkResult, publish, request
from rx_honeybee.testing import GARBAGE, Relay
from rx_roots import ConnectionStatus as S

from .helpers import FAST, Peer, make_event, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(20)]


@asynccontextmanager
async def peer_of(relay: Relay) -> AsyncIterator[Peer]:
    async with Connection(relay.url, FAST) as conn:
        yield Peer(conn)


async def outcome(observable: Any) -> Any:
    """The first item or the error of an Observable."""
    answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def settle(value: Any) -> None:
        if not answer.done():
            answer.set_result(value)

    observable.subscribe(settle, settle)
    return await answer


async def test_drop_after_closes_each_client_on_its_nth_message_once() -> None:
    async with Relay() as relay, peer_of(relay) as alice, peer_of(relay) as bob:
        relay.faults.drop_after(2)
        alice.send("REQ", "a", {})
        assert await alice.one() == ["EOSE", "a"]  # the 1st message is served
        alice.send("REQ", "b", {})  # the 2nd is received, not served, and the socket closes
        await until(lambda: alice.conn.generation == 2 and alice.conn.status is S.CONNECTED)
        assert relay.received_count == 2 and relay.received[-1] == '["REQ", "b", {}]'
        assert alice.inbox == []
        for n in range(3):  # once per client: the new socket is not armed
            alice.send("REQ", f"c{n}", {})
        assert await alice.take(3) == [["EOSE", f"c{n}"] for n in range(3)]
        bob.send("REQ", "x", {})
        assert await bob.one() == ["EOSE", "x"]
        assert bob.conn.generation == 1  # bob is armed too, one message left
        bob.send("REQ", "y", {})
        await until(lambda: bob.conn.generation == 2 and bob.conn.status is S.CONNECTED)


async def test_drop_after_zero_drops_everyone_now() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        await until(lambda: relay.clients == 1)
        relay.faults.drop_after(0)
        await until(lambda: peer.conn.generation == 2 and peer.conn.status is S.CONNECTED)
        peer.send("REQ", "s", {})
        assert await peer.one() == ["EOSE", "s"]


async def test_drop_after_can_arm_new_clients_until_reset() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        relay.faults.drop_after(1, new_clients=True)
        peer.send("REQ", "s", {})  # dropped; the reconnected socket is armed again
        await until(lambda: peer.conn.generation == 2 and peer.conn.status is S.CONNECTED)
        await until(lambda: relay.clients == 1)
        peer.send("REQ", "t", {})
        await until(lambda: peer.conn.generation == 3 and peer.conn.status is S.CONNECTED)
        await until(lambda: relay.clients == 1)
        relay.faults.reset()  # disarms the connected client and the future ones
        peer.send("REQ", "u", {})
        assert await peer.one() == ["EOSE", "u"]
        assert peer.inbox == [] and peer.conn.generation == 3


async def test_drop_after_zero_for_new_clients_turns_everyone_away() -> None:
    async with Relay() as relay:
        relay.faults.drop_after(0, new_clients=True)
        async with peer_of(relay) as peer:
            await until(lambda: peer.conn.generation >= 3)  # accepted, dropped, again...
            relay.faults.reset()
            # A socket admitted just before reset() may still be dropped: wait until one
            # has stayed up for a while (bounded by the test's timeout).
            while True:
                await until(lambda: relay.clients == 1 and peer.conn.status is S.CONNECTED)
                settled = peer.conn.generation
                await asyncio.sleep(0.1)
                if peer.conn.generation == settled and peer.conn.status is S.CONNECTED:
                    break
            peer.send("REQ", "s", {})
            assert await peer.one() == ["EOSE", "s"]
            assert peer.conn.generation == settled


async def test_drop_after_rejects_negative_counts() -> None:
    relay = Relay()
    with pytest.raises(ValueError):
        relay.faults.drop_after(-1)
    with pytest.raises(ValueError):
        relay.faults.silence_ok(-1)


async def test_stall_and_resume() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        await until(lambda: relay.clients == 1)
        relay.faults.stall()
        peer.send("REQ", "s", {})
        await peer.quiet(0.1)
        assert relay.received_count == 0
        relay.faults.resume()
        assert await peer.one() == ["EOSE", "s"]


async def test_garbage_frames_reach_every_client_who_keeps_working() -> None:
    async with Relay() as relay, peer_of(relay) as alice, peer_of(relay) as bob:
        await until(lambda: relay.clients == 2)
        assert relay.faults.garbage(times=2) == 2
        assert await alice.take(2) == [GARBAGE, GARBAGE]
        assert await bob.take(2) == [GARBAGE, GARBAGE]
        assert relay.faults.garbage(text="[1,") == 2
        assert await alice.one() == "[1,"
        alice.send("REQ", "s", {})
        assert await alice.one() == ["EOSE", "s"]
        assert alice.conn.generation == 1


async def test_refuse_and_accept() -> None:
    async with Relay() as relay, peer_of(relay) as inside:
        relay.faults.refuse(503)
        once = replace(FAST, reconnect=ReconnectConfig(enabled=False))
        refused = Connection(relay.url, once)
        with pytest.raises(ConnectionFailed) as failed:
            await refused.connect()
        assert failed.value.status == 503
        await refused.close()
        inside.send("REQ", "s", {})  # connected clients stay
        assert await inside.one() == ["EOSE", "s"]
        relay.faults.accept()
        async with Connection(relay.url, once) as later:
            assert later.status is S.CONNECTED


async def test_closed_next_req_answers_one_req_with_closed() -> None:
    async with Relay() as relay, peer_of(relay) as peer:
        relay.faults.closed_next_req("error: database down")
        relay.faults.closed_next_req("rate-limited: slow down")
        peer.send("REQ", "a", {})
        peer.send("REQ", "b", {})
        peer.send("REQ", "c", {})
        assert await peer.take(3) == [
            ["CLOSED", "a", "error: database down"],
            ["CLOSED", "b", "rate-limited: slow down"],
            ["EOSE", "c"],
        ]
        assert relay.subscriptions == ["c"]


async def test_closed_next_req_fails_a_request() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        relay.faults.closed_next_req("blocked: not you")
        error = await outcome(request(conn, [{}]))
        assert isinstance(error, SubscriptionClosed) and error.prefix == "blocked"


async def test_ok_next_event_scripts_the_answer_without_storing() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        relay.faults.ok_next_event(False, "pow: difficulty 30 needed")
        event = make_event()
        result = await outcome(publish(conn, event, timeout=2.0))
        assert result == OkResult(event["id"], False, "pow: difficulty 30 needed", "pow")
        relay.faults.ok_next_event(True, "")
        assert (await outcome(publish(conn, event, timeout=2.0))).accepted
        assert relay.events == []
        assert (await outcome(publish(conn, event, timeout=2.0))).message == ""
        assert relay.events == [event]


async def test_silence_ok_makes_publishes_time_out() -> None:
    async with Relay() as relay, Connection(relay.url, FAST) as conn:
        relay.faults.silence_ok(1)
        event = make_event()
        error = await outcome(publish(conn, event, timeout=0.2))
        assert isinstance(error, PublishTimeout)
        assert relay.events == [] and relay.received_count == 1
        result = await outcome(publish(conn, event, timeout=2.0))
        assert result == OkResult(event["id"], True, "", "")


async def test_notice_and_auth_challenge_go_to_every_client() -> None:
    async with Relay() as relay, peer_of(relay) as alice, peer_of(relay) as bob:
        await until(lambda: relay.clients == 2)
        assert relay.faults.notice("maintenance at noon") == 2
        assert await alice.one() == ["NOTICE", "maintenance at noon"]
        assert await bob.one() == ["NOTICE", "maintenance at noon"]
        assert relay.faults.auth_challenge("c-123") == 2
        assert await alice.one() == ["AUTH", "c-123"]
        assert await bob.one() == ["AUTH", "c-123"]
        tags = [["relay", relay.url], ["challenge", "c-123"]]
        auth = make_event(kind=22242, created_at=int(time.time()), tags=tags)
        alice.send("AUTH", auth)
        assert await alice.one() == ["OK", auth["id"], True, ""]


async def test_scripts_are_per_relay_and_reset_clears_them() -> None:
    async with Relay() as relay, Relay() as other, peer_of(relay) as peer:
        other.faults.closed_next_req("error: elsewhere")
        relay.faults.closed_next_req("error: x")
        relay.faults.ok_next_event(False, "blocked: x")
        relay.faults.silence_ok(3)
        relay.faults.stall()
        relay.faults.refuse()
        relay.faults.reset()
        peer.send("REQ", "s", {})
        assert await peer.one() == ["EOSE", "s"]
        event = make_event()
        peer.send("EVENT", event)
        assert await peer.one() == ["OK", event["id"], True, ""]
        async with Connection(relay.url, FAST) as again:
            assert again.status is S.CONNECTED
