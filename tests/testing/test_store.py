"""The event stores, memory and SQLite: kinds, duplicates and the cap (shapes: tests/roots)."""

from __future__ import annotations

import pytest
import ujson

from rx_honeybee.relay.store import Outcome
from tests.stores import NewStore, new_store_fixture  # noqa: F401  (memory, then SQLite)

from .helpers import BOB, make_event

pytestmark = pytest.mark.timeout(10)


def test_regular_events_are_stored_once_newest_first(new_store: NewStore) -> None:
    store = new_store()
    old, new = make_event(created_at=1), make_event(created_at=2)
    assert store.add(old) is Outcome.STORED
    assert store.add(new) is Outcome.STORED
    assert store.add(dict(old)) is Outcome.DUPLICATE
    assert list(store) == [new, old] and len(store) == 2
    assert old["id"] in store and store.get(old["id"]) == old and store.get("x") is None


def test_replaceable_newest_wins(new_store: NewStore) -> None:
    store = new_store()
    first = make_event(kind=0, created_at=10)
    newer = make_event(kind=0, created_at=11)
    older = make_event(kind=0, created_at=9)
    other_author = make_event(kind=0, created_at=5, pubkey=BOB)
    assert store.add(first) is Outcome.STORED
    assert store.add(newer) is Outcome.STORED
    assert store.add(older) is Outcome.SUPERSEDED
    assert store.add(first) is Outcome.SUPERSEDED  # it was replaced, not kept
    assert store.add(other_author) is Outcome.STORED
    assert list(store) == [newer, other_author]


@pytest.mark.parametrize("kind", [3, 10002])
def test_replaceable_tie_goes_to_the_lowest_id(new_store: NewStore, kind: int) -> None:
    low = make_event(kind=kind, created_at=7, event_id="0" * 64)
    high = make_event(kind=kind, created_at=7, event_id="f" * 64)
    store = new_store()
    assert store.add(high) is Outcome.STORED
    assert store.add(low) is Outcome.STORED
    assert list(store) == [low]
    store = new_store()
    assert store.add(low) is Outcome.STORED
    assert store.add(high) is Outcome.SUPERSEDED
    assert list(store) == [low]


def test_addressable_is_keyed_by_d_tag(new_store: NewStore) -> None:
    store = new_store()
    a1 = make_event(kind=30000, created_at=1, tags=[["d", "a"]])
    b1 = make_event(kind=30000, created_at=1, tags=[["d", "b"]])
    none = make_event(kind=30000, created_at=1)
    a2 = make_event(kind=30000, created_at=2, tags=[["d", "a"]])
    other_kind = make_event(kind=30001, created_at=1, tags=[["d", "a"]])
    for event in (a1, b1, none, other_kind):
        assert store.add(event) is Outcome.STORED
    assert store.add(a2) is Outcome.STORED
    assert a1["id"] not in store
    assert {e["id"] for e in store} == {a2["id"], b1["id"], none["id"], other_kind["id"]}
    empty_d = make_event(kind=30000, created_at=3, tags=[["d", ""]])
    assert store.add(empty_d) is Outcome.STORED  # replaces the one without a d tag
    assert none["id"] not in store


def test_ephemeral_events_are_never_stored(new_store: NewStore) -> None:
    store = new_store()
    event = make_event(kind=20001)
    assert store.add(event) is Outcome.EPHEMERAL
    assert store.add(event) is Outcome.EPHEMERAL
    assert len(store) == 0


def test_the_cap_evicts_the_oldest(new_store: NewStore) -> None:
    store = new_store(max_events=3)
    events = [make_event(created_at=t) for t in (5, 1, 4, 3)]
    for event in events:
        store.add(event)
    assert [e["created_at"] for e in store] == [5, 4, 3]
    assert store.evicted == 1 and events[1]["id"] not in store
    assert store.add(make_event(created_at=0)) is Outcome.STORED  # in, then evicted at once
    assert [e["created_at"] for e in store] == [5, 4, 3] and store.evicted == 2


def test_evicting_a_replaceable_event_frees_its_slot(new_store: NewStore) -> None:
    store = new_store(max_events=1)
    profile = make_event(kind=0, created_at=5)
    store.add(profile)
    store.add(make_event(kind=1, created_at=6))  # evicts the profile
    older_profile = make_event(kind=0, created_at=4)
    assert store.add(older_profile) is Outcome.STORED  # no newer version held any more


def test_remove_and_clear(new_store: NewStore) -> None:
    store = new_store()
    a, b = make_event(kind=0, created_at=1), make_event(created_at=1)
    store.add(a)
    store.add(b)
    assert store.remove(a["id"]) and not store.remove(a["id"])
    assert store.add(make_event(kind=0, created_at=0)) is Outcome.STORED  # slot was freed
    store.clear()
    assert len(store) == 0 and list(store) == [] and store.add(b) is Outcome.STORED


def test_query_uses_filters_and_the_clamp(new_store: NewStore) -> None:
    store = new_store()
    notes = [make_event(kind=1, created_at=t) for t in range(5)]
    for event in [*notes, make_event(kind=0, created_at=9)]:
        store.add(event)
    assert store.query([{"kinds": [1], "limit": 2}]) == [notes[4], notes[3]]
    assert len(store.query([{}], max_limit=3)) == 3
    assert store.query([]) == []


def test_max_events_must_be_positive(new_store: NewStore) -> None:
    with pytest.raises(ValueError, match="max_events"):
        new_store(max_events=0)


def test_bytes_count_the_json_a_delivery_carries(new_store: NewStore) -> None:
    store = new_store()
    event = make_event(content="a/b é")  # a slash stays a slash; é is two bytes
    store.add(event)
    text = ujson.dumps(event, ensure_ascii=False, escape_forward_slashes=False)
    assert "a/b" in text and store.bytes == len(text.encode("utf-8"))
