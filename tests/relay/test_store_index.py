"""Issue 12, items 2 and 3 (store): indexed queries that cost what they return, a byte cap.

The indexed store must answer exactly as :func:`rx_roots.select` over every stored event
(a property test), read no event a filter's index rules out (counted, not timed), refuse
filter lists past the cap, and stay within its byte budget by evicting the oldest.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import aiohttp
import pytest
import ujson
from hypothesis import given, settings
from hypothesis import strategies as st

from rx_honeybee.relay import Relay
from rx_honeybee.relay.backend import Store
from rx_honeybee.relay.store import (
    MAX_FILTER_VALUES,
    EventStore,
    Outcome,
    check_filter_cost,
)
from rx_roots import select
from tests.relay.raw import raw_client
from tests.stores import NewStore, new_store_fixture  # noqa: F401  (memory, then SQLite)

pytestmark = [pytest.mark.timeout(60)]


def _hex(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _event(
    n: int, *, author: int = 0, kind: int = 1, created_at: int = 0, tags: Any = (), size: int = 0
) -> dict[str, Any]:
    return {
        "id": _hex("id", n),
        "pubkey": _hex("author", author),
        "created_at": created_at or 1_700_000_000 + n,
        "kind": kind,
        "tags": [list(tag) for tag in tags],
        "content": "x" * size,
        "sig": _hex("sig", n) * 2,
    }


AUTHORS = [_hex("author", i) for i in range(4)]
KINDS = [0, 1, 3, 7, 10002, 30000, 20001]
TAG_VALUES = ["a", "b", "c", ""]

events_st = st.builds(
    lambda n, author, kind, when, tags: _event(
        n, author=author, kind=kind, created_at=1000 + when, tags=tags
    ),
    st.integers(0, 10_000),
    st.integers(0, 3),
    st.sampled_from(KINDS),
    st.integers(0, 6),  # few timestamps: many created_at ties
    st.lists(
        st.tuples(st.sampled_from(["e", "p", "d", "t", "E", "ee"]), st.sampled_from(TAG_VALUES))
        | st.just(("e",)),
        max_size=3,
    ),
)


@st.composite
def filters_st(draw: st.DrawFn, events: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [e["id"] for e in events] + [_hex("id", -1)]
    flt: dict[str, Any] = {}
    if draw(st.booleans()):
        flt["ids"] = draw(st.lists(st.sampled_from(ids), max_size=4))
    if draw(st.booleans()):
        flt["authors"] = draw(st.lists(st.sampled_from([*AUTHORS, _hex("nobody")]), max_size=3))
    if draw(st.booleans()):
        flt["kinds"] = draw(st.lists(st.sampled_from([*KINDS, 5]), max_size=3))
    for letter in draw(st.lists(st.sampled_from(["e", "p", "d", "t", "E", "x"]), max_size=2)):
        flt[f"#{letter}"] = draw(st.lists(st.sampled_from(TAG_VALUES), max_size=3))
    for bound in ("since", "until"):
        if draw(st.booleans()):
            flt[bound] = 1000 + draw(st.integers(-1, 7))
    if draw(st.booleans()):
        flt["limit"] = draw(st.integers(0, 5))
    if draw(st.booleans()):
        flt["search"] = "ignored"
    return flt


@settings(max_examples=300, deadline=None)
@given(data=st.data(), events=st.lists(events_st, max_size=40), cap=st.integers(1, 40))
def test_indexed_query_is_exactly_select(
    data: st.DataObject, events: list[dict[str, Any]], cap: int
) -> None:
    store = EventStore(max_events=cap)  # small caps evict: the index forgets what it drops
    for event in events:
        store.add(event)
    removed = data.draw(st.sampled_from([None, *(e["id"] for e in events)]))
    if removed is not None:
        store.remove(removed)
    stored = list(store)
    filters = data.draw(st.lists(filters_st(events), max_size=4))
    max_limit = data.draw(st.none() | st.integers(1, 6))
    expected = select(stored, filters, max_limit=max_limit)
    assert store.query(filters, max_limit=max_limit) == expected


def _filled(store: Store, count: int = 5000) -> Store:
    for n in range(count):
        store.add(_event(n, author=n % 50, kind=1 + n % 3, tags=[("t", f"t{n % 100}")]))
    return store


def test_a_filter_examines_only_what_its_index_names(new_store: NewStore) -> None:
    store = _filled(new_store())
    assert store.query([{"authors": [_hex("nobody")]}, {"#t": ["none"]}, {"kinds": [9]}]) == []
    assert store.examined == 0  # a full scan read all 5000 events per filter
    found = store.query([{"kinds": [1], "authors": [AUTHORS[0]], "limit": 20}])
    assert len(found) == 20 and store.examined == 20  # the (author, kind) list, 20 read
    before = store.examined
    newest = list(store)[0]["created_at"]
    assert len(store.query([{"since": newest - 9}])) == 10
    assert store.examined - before == 10  # the time range alone: the newest ten, no more
    before = store.examined
    assert len(store.query([{"ids": [_hex("id", 7), _hex("id", 7), _hex("nobody")]}])) == 1
    assert store.examined - before == 1


def test_filter_lists_past_the_cap_are_refused() -> None:
    fine = {"authors": [_hex(i) for i in range(MAX_FILTER_VALUES)], "#e": ["x"]}
    assert check_filter_cost([fine, {}]) is None
    for key in ("ids", "authors", "kinds", "#p"):
        values: list[Any] = list(range(MAX_FILTER_VALUES + 1))
        problem = check_filter_cost([{}, {key: values}])
        assert problem == f"too many values in {key} (max {MAX_FILTER_VALUES})"
    assert check_filter_cost([{"kinds": [1, 2, 3]}], max_values=2) is not None


def test_the_byte_cap_evicts_the_oldest(new_store: NewStore) -> None:
    events = [_event(n, size=1000) for n in range(10)]
    one = len(ujson.dumps(events[0], ensure_ascii=False))
    store = new_store(max_bytes=3 * one + 10)
    for event in events:
        assert store.add(event) is Outcome.STORED
    assert list(store) == events[:-4:-1] and store.bytes == 3 * one and store.evicted == 7
    store.remove(events[9]["id"])
    assert store.bytes == 2 * one
    huge = _event(99, size=10_000, created_at=2_000_000_000)
    assert store.add(huge) is Outcome.STORED and huge["id"] not in store  # in, out at once
    given = '{"given":"ü"}'  # a caller's text is what is counted (and kept): 14 bytes
    assert store.add(_event(100), text=given) is Outcome.STORED and store.bytes == 2 * one + 14
    store.clear()
    assert store.bytes == 0 and len(store) == 0
    with pytest.raises(ValueError, match="max_bytes"):
        new_store(max_bytes=0)


@pytest.mark.asyncio
async def test_a_relay_serves_queries_from_the_index() -> None:
    async with Relay() as relay, raw_client(relay.url) as client:
        for n in range(3000):
            assert relay.publish(_event(n, author=n % 30, kind=1 + n % 2))[0]
        before = relay.store.examined
        absent = [{"authors": [_hex("nobody", i)], "kinds": [1]} for i in range(20)]
        await client.send(ujson.dumps(["REQ", "flood", *absent]))
        assert await client.wait_for("EOSE", "flood")
        assert relay.store.examined == before
        honest = {"kinds": [1], "authors": [AUTHORS[0]], "limit": 20}
        await client.send(ujson.dumps(["REQ", "honest", honest]))
        await client.wait_for("EOSE", "honest")
        got = [f[2] for f in client.of("EVENT", "honest")]
        assert got == relay.store.query([honest]) and len(got) == 20
        assert relay.store.examined - before == 40  # 20 for the REQ, 20 for the check


@pytest.mark.asyncio
async def test_a_relay_store_stays_within_its_byte_budget() -> None:
    async with Relay() as relay, raw_client(relay.url) as client:
        events = [_event(n, created_at=int(time.time()) - 100 + n, size=20_000) for n in range(8)]
        budget = 3 * len(ujson.dumps(events[0], ensure_ascii=False))
        relay.store = EventStore(max_bytes=budget)
        for event in events:
            await client.send(ujson.dumps(["EVENT", event]))
            assert (await client.wait_for("OK", event["id"]))[2] is True
        assert relay.store.bytes <= budget
        assert [e["id"] for e in relay.events] == [e["id"] for e in events[:-4:-1]]
        await client.send(ujson.dumps(["REQ", "all", {}]))
        await client.wait_for("EOSE", "all")
        assert [f[2]["id"] for f in client.of("EVENT", "all")] == [e["id"] for e in events[:-4:-1]]


@pytest.mark.asyncio
@pytest.mark.timeout(10)
async def test_a_req_listing_too_many_values_is_closed_and_the_cap_advertised() -> None:
    async with Relay() as relay, aiohttp.ClientSession() as http:
        async with http.ws_connect(relay.url) as ws:
            authors = [f"{n:064x}" for n in range(MAX_FILTER_VALUES + 1)]
            await ws.send_str(json.dumps(["REQ", "big", {"authors": authors}]))
            answer = json.loads((await ws.receive()).data)
        assert answer[:2] == ["CLOSED", "big"]
        assert answer[2] == f"invalid: too many values in authors (max {MAX_FILTER_VALUES})"
        assert relay.info is not None
        assert relay.info["limitation"]["max_filter_values"] == MAX_FILTER_VALUES


def test_the_memory_store_encodes_each_event_once_for_every_answer() -> None:
    store = EventStore()
    plain, accented = _event(1), {**_event(2), "content": "café / ü"}
    lone = {**_event(3), "content": "\ud800"}  # no UTF-8 form: measured, kept as a dict
    odd = {**_event(4), "content": float("nan")}  # no JSON form at all
    for event in (plain, accented, lone, odd):
        assert store.add(event) is Outcome.STORED
    found: list[Any] = []
    store.fetch([{"ids": [e["id"] for e in (plain, accented, lone, odd)]}], found.extend)
    by_id = dict(found)
    assert by_id[plain["id"]] == ujson.dumps(plain, escape_forward_slashes=False)
    assert ujson.loads(by_id[accented["id"]]) == accented and "/" in by_id[accented["id"]]
    assert by_id[lone["id"]] is lone and by_id[odd["id"]] is odd
    assert store.bytes == sum(
        len(ujson.dumps(e, ensure_ascii=False, escape_forward_slashes=False).encode("utf-8"))
        for e in (plain, accented)
    ) + len(ujson.dumps(lone, ensure_ascii=False).encode("utf-8", "surrogatepass")) + len(repr(odd))
    store.remove(plain["id"])
    store.fetch([{"ids": [plain["id"]]}], found.extend)
    assert len(found) == 4  # gone with its text
