"""NIP-01 filter checking, matching and selection (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from rx_honeybee.testing.filters import (
    InvalidFilter,
    check_filter,
    matches,
    matches_any,
    newest_first,
    select,
    sort_key,
)

from .helpers import ALICE, BOB, make_event

pytestmark = pytest.mark.timeout(10)

E1 = "e1" * 32


def test_check_filter_accepts_every_nip01_field() -> None:
    flt = {
        "ids": [E1],
        "authors": [ALICE, BOB],
        "kinds": [0, 1],
        "#e": [E1],
        "#T": ["x"],
        "since": 1,
        "until": 2,
        "limit": 0,
        "search": "ignored",  # not NIP-01: ignored
    }
    checked = check_filter(flt)
    assert checked == flt and checked is not flt


@pytest.mark.parametrize(
    ("flt", "named"),
    [
        ([], "object"),
        ({"ids": E1}, "ids"),
        ({"ids": ["abc"]}, "ids"),
        ({"ids": [E1.upper()]}, "ids"),
        ({"authors": [1]}, "authors"),
        ({"kinds": ["1"]}, "kinds"),
        ({"kinds": [True]}, "kinds"),
        ({"kinds": 1}, "kinds"),
        ({"since": "1"}, "since"),
        ({"until": 1.5}, "until"),
        ({"since": False}, "since"),
        ({"limit": -1}, "limit"),
        ({"limit": True}, "limit"),
        ({"#ab": ["x"]}, "#ab"),
        ({"#": ["x"]}, "'#'"),
        ({"#1": ["x"]}, "#1"),
        ({"#e": "x"}, "#e"),
        ({"#e": [1]}, "#e"),
    ],
)
def test_check_filter_rejects(flt: Any, named: str) -> None:
    with pytest.raises(InvalidFilter, match=named):
        check_filter(flt)


def test_invalid_filter_is_a_value_error() -> None:
    assert issubclass(InvalidFilter, ValueError)


def test_ids_authors_kinds() -> None:
    event = make_event(kind=7, pubkey=BOB)
    assert matches({"ids": [E1, event["id"]]}, event)
    assert not matches({"ids": [E1]}, event)
    assert matches({"authors": [BOB]}, event)
    assert not matches({"authors": [ALICE]}, event)
    assert matches({"kinds": [1, 7]}, event)
    assert not matches({"kinds": [1]}, event)


def test_since_and_until_are_inclusive() -> None:
    event = make_event(created_at=500)
    assert matches({"since": 500}, event) and matches({"until": 500}, event)
    assert matches({"since": 499, "until": 501}, event)
    assert not matches({"since": 501}, event)
    assert not matches({"until": 499}, event)


def test_tag_filters() -> None:
    event = make_event(tags=[["e", E1, "wss://r"], ["t", "nostr"], ["p"], ["T", "Up"]])
    assert matches({"#e": [E1]}, event)
    assert matches({"#t": ["other", "nostr"]}, event)
    assert not matches({"#t": ["other"]}, event)
    assert not matches({"#p": [""]}, event)  # a tag without a value matches nothing
    assert not matches({"#e": ["wss://r"]}, event)  # only the first value is indexed
    assert matches({"#T": ["Up"]}, event) and not matches({"#t": ["Up"]}, event)  # case
    assert not matches({"#d": [""]}, event)


def test_fields_are_anded_and_empty_lists_match_nothing() -> None:
    event = make_event(kind=1, pubkey=ALICE, created_at=10)
    assert matches({}, event)
    assert matches({"kinds": [1], "authors": [ALICE], "since": 10}, event)
    assert not matches({"kinds": [1], "authors": [BOB]}, event)
    assert not matches({"kinds": []}, event)
    assert not matches({"ids": []}, event)


def test_filters_are_ored() -> None:
    event = make_event(kind=1)
    assert matches_any([{"kinds": [2]}, {"kinds": [1]}], event)
    assert not matches_any([{"kinds": [2]}, {"kinds": [3]}], event)
    assert not matches_any([], event)


def test_newest_first_breaks_ties_by_lowest_id() -> None:
    low = make_event(created_at=5, event_id="0" * 64)
    high = make_event(created_at=5, event_id="f" * 64)
    old = make_event(created_at=4, event_id="1" * 64)
    new = make_event(created_at=6, event_id="e" * 64)
    assert newest_first([old, high, new, low]) == [new, low, high, old]
    assert sort_key(low) == (-5, "0" * 64)


def test_limit_takes_the_newest_with_ties_by_lowest_id() -> None:
    events = [make_event(created_at=t, event_id=f"{i:x}" * 64) for i, t in enumerate([1, 3, 3, 2])]
    got = select(events, [{"limit": 2}])
    assert got == [events[1], events[2]]  # both at 3: id "111..." before "222..."
    assert select(events, [{"limit": 0}]) == []
    assert select(events, [{}]) == newest_first(events)


def test_each_filter_has_its_own_limit_and_the_union_has_no_duplicates() -> None:
    notes = [make_event(kind=1, created_at=t) for t in (10, 20, 30)]
    profile = make_event(kind=0, created_at=15)
    events = [*notes, profile]
    got = select(events, [{"kinds": [1], "limit": 1}, {"limit": 2}, {"kinds": [0]}])
    # kinds 1 -> the 30; any, 2 newest -> 30 and 20; kinds 0 -> 15; the 30 once.
    assert got == [notes[2], notes[1], profile]
    assert select(events, [{"kinds": [1]}, {"kinds": [1]}]) == [notes[2], notes[1], notes[0]]


def test_max_limit_clamps_with_and_without_limit() -> None:
    events = [make_event(created_at=t) for t in range(10)]
    assert [e["created_at"] for e in select(events, [{}], max_limit=3)] == [9, 8, 7]
    assert len(select(events, [{"limit": 100}], max_limit=4)) == 4
    assert len(select(events, [{"limit": 2}], max_limit=4)) == 2


def test_no_filters_select_nothing() -> None:
    assert select([make_event()], []) == []


def test_ordered_input_is_not_sorted_again() -> None:
    a, b = make_event(created_at=1), make_event(created_at=2)
    assert select([a, b], [{}], ordered=True) == [a, b]  # trusted as given
    assert select([a, b], [{}]) == [b, a]
