"""A REQ answered later (the SQLite store reads on threads): nothing reordered, lost or doubled.

While a REQ's stored events are being read, live events for it are held back and sent
after its ``EOSE`` (those not already among the stored ones), and whatever the client
sends meanwhile is handled afterwards, in order; a client that piles up more than the
backlog allows is cut off with 1008. A store is made slow here by parking ``fetch``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
import ujson

from rx_honeybee.relay import EventStore, Relay
from rx_honeybee.relay.backend import Found
from rx_honeybee.testing import until
from tests.relay.raw import raw_client
from tests.support import make_event

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

_Done = Callable[[Found], object]
_Failed = Callable[[BaseException], object] | None


class ParkedStore(EventStore):
    """Reads at once but answers only when the test says so (``release``/``fail``)."""

    def __init__(self) -> None:
        super().__init__()
        self.parked: list[tuple[_Done, _Failed, Found]] = []

    def fetch(
        self,
        filters: Sequence[Mapping[str, Any]],
        done: _Done,
        *,
        max_limit: int | None = None,
        failed: _Failed = None,
    ) -> None:
        found = [(event["id"], event) for event in self.query(filters, max_limit=max_limit)]
        self.parked.append((done, failed, found))

    def release(self) -> None:
        done, _, events = self.parked.pop(0)
        done(events)

    def fail(self, error: BaseException) -> None:
        _, failed, _ = self.parked.pop(0)
        assert failed is not None
        failed(error)


async def test_live_events_wait_for_the_stored_ones_and_come_once() -> None:
    store = ParkedStore()
    old, during = make_event(1), make_event(2)
    async with Relay(store=store) as relay, raw_client(relay.url) as client:
        relay.publish(old)
        await client.send(ujson.dumps(["REQ", "s", {"kinds": [1]}]))
        await until(lambda: len(store.parked) == 1)
        relay.publish(during)  # live, while the stored events are read
        relay.publish(old)  # a duplicate: not live
        assert client.frames == []
        store.release()
        await until(lambda: len(client.frames) == 3)
        assert client.frames == [["EVENT", "s", old], ["EOSE", "s"], ["EVENT", "s", during]]


async def test_a_live_event_already_in_the_answer_is_not_sent_twice() -> None:
    store = ParkedStore()
    event = make_event(3)
    async with Relay(store=store) as relay, raw_client(relay.url) as client:
        await client.send(ujson.dumps(["REQ", "s", {"kinds": [1]}]))
        await until(lambda: len(store.parked) == 1)
        relay.publish(event)
        done, failed, _ = store.parked.pop(0)
        store.parked.append((done, failed, [(event["id"], event)]))  # a read that saw it too
        store.release()
        await client.wait_for("EOSE", "s")
        await client.send(ujson.dumps(["REQ", "t", {"ids": [event["id"]]}]))
        await until(lambda: len(store.parked) == 1)
        store.release()
        await client.wait_for("EOSE", "t")
        assert client.of("EVENT", "s") == [["EVENT", "s", event]]


async def test_what_the_client_sends_meanwhile_is_handled_after_in_order() -> None:
    store = ParkedStore()
    event = make_event(4)
    async with Relay(store=store) as relay, raw_client(relay.url) as client:
        await client.send(ujson.dumps(["REQ", "a", {"kinds": [1]}]))
        await client.send(ujson.dumps(["EVENT", event]))
        await client.send(ujson.dumps(["REQ", "b", {"kinds": [1]}]))
        await client.send(ujson.dumps(["CLOSE", "a"]))
        await until(lambda: len(store.parked) == 1 and relay.received_count == 1)
        store.release()  # a's answer; then the EVENT, then b's REQ is read
        await until(lambda: len(store.parked) == 1 and len(client.frames) == 3)
        assert client.frames == [
            ["EOSE", "a"],
            ["OK", event["id"], True, ""],
            ["EVENT", "a", event],
        ]
        store.release()  # b's answer; then the CLOSE
        await client.wait_for("EOSE", "b")
        assert client.frames[3:] == [["EVENT", "b", event], ["EOSE", "b"]]
        await until(lambda: relay.subscriptions == ["b"])


async def test_a_failed_read_closes_the_subscription_and_the_client_goes_on() -> None:
    store = ParkedStore()
    async with Relay(store=store) as relay, raw_client(relay.url) as client:
        await client.send(ujson.dumps(["REQ", "s", {"kinds": [1]}]))
        await client.send(ujson.dumps(["REQ", "t", {"kinds": [1]}]))
        await until(lambda: len(store.parked) == 1)
        store.fail(OSError("disk gone"))
        closed = await client.wait_for("CLOSED", "s")
        assert closed[2] == "error: could not read stored events (OSError)"
        await until(lambda: len(store.parked) == 1)
        store.release()
        await client.wait_for("EOSE", "t")
        assert relay.subscriptions == ["t"]


async def test_an_answer_for_a_client_gone_meanwhile_is_dropped() -> None:
    store = ParkedStore()
    async with Relay(store=store) as relay:
        async with raw_client(relay.url) as client:
            await client.send(ujson.dumps(["REQ", "s", {"kinds": [1]}]))
            await until(lambda: len(store.parked) == 1)
        await until(lambda: relay.clients == 0)
        store.release()  # nobody to send to, nothing raised


async def test_a_client_piling_up_envelopes_meanwhile_is_cut_off_with_1008() -> None:
    store = ParkedStore()
    async with Relay(store=store) as relay, raw_client(relay.url) as client:
        await client.send(ujson.dumps(["REQ", "s", {"kinds": [1]}]))
        await until(lambda: len(store.parked) == 1)
        for n in range(6100):  # beyond the backlog: the default limit's burst + 1 s of rate
            await client.send(ujson.dumps(["CLOSE", f"x{n}"]))
        await until(lambda: client.closed_code is not None)
        assert client.closed_code == 1008
        assert client.of("NOTICE") == [["NOTICE", "rate-limited: flooding; disconnecting"]]


async def test_a_live_event_cut_from_the_answer_still_comes_live() -> None:
    store = ParkedStore()
    big = [make_event(n, content="x" * 50_000) for n in range(20)]  # 1 MB: past the cut
    live = make_event(99)
    async with (
        Relay(store=store, max_queued_bytes=1024 * 1024 + 1) as relay,
        raw_client(relay.url) as client,
    ):
        await client.send(ujson.dumps(["REQ", "s", {"kinds": [1]}]))
        await until(lambda: len(store.parked) == 1)
        relay.publish(live)
        done, failed, _ = store.parked.pop(0)
        store.parked.append((done, failed, [*((e["id"], e) for e in big), (live["id"], live)]))
        store.release()
        await client.wait_for("EOSE", "s")
        await until(lambda: client.frames[-1] == ["EVENT", "s", live])
        assert len(client.of("EVENT", "s")) < 12  # the stored answer was cut


class BrokenStore(EventStore):
    """A store that refuses at once (as a closed SQLite store does)."""

    def fetch(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("store gone")

    def submit(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("store gone")


async def test_a_store_that_refuses_at_once_still_answers_and_never_stalls_the_client() -> None:
    async with Relay(store=BrokenStore()) as relay, raw_client(relay.url) as client:
        event = make_event(5)
        await client.send(ujson.dumps(["REQ", "s", {"kinds": [1]}]))
        await client.send(ujson.dumps(["EVENT", event]))
        await client.send(ujson.dumps(["REQ", "t", {"kinds": [1]}]))
        await client.wait_for("CLOSED", "t")
        assert client.frames == [
            ["CLOSED", "s", "error: could not read stored events (OSError)"],
            ["OK", event["id"], False, "error: could not store the event (OSError)"],
            ["CLOSED", "t", "error: could not read stored events (OSError)"],
        ]
        assert relay.subscriptions == []
