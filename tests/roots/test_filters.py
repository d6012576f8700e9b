"""NIP-01 filters: check_filter, matches, matches_any, newest_first, select, sort_key."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rx_roots import (
    InvalidFilter,
    RootsError,
    check_filter,
    matches,
    matches_any,
    newest_first,
    select,
    sort_key,
)
from tests.roots.samples import ALICE, BOB, json_values, make_event, texts

FAST = settings(max_examples=300, deadline=None)

E1 = "e1" * 32


# --- check_filter -----------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("flt", "message", "position", "expected", "got"),
    [
        ("x", "a filter must be an object, got str", "a filter", "an object", "str"),
        (
            {"ids": ["x"]},
            "ids must be a list of 64-character lowercase hex strings",
            "ids",
            "a list of 64-character lowercase hex strings",
            None,
        ),
        ({"kinds": [1.0]}, "kinds must be a list of integers", "kinds", "a list of integers", None),
        ({"until": None}, "until must be an integer", "until", "an integer", None),
        (
            {"limit": -2},
            "limit must be a non-negative integer",
            "limit",
            "a non-negative integer",
            None,
        ),
        (
            {"#xy": []},
            "tag filter '#xy' must be '#' and one letter",
            "tag filter '#xy'",
            "'#' and one letter",
            None,
        ),
        ({"#p": [None]}, "#p must be a list of strings", "#p", "a list of strings", None),
    ],
)
def test_check_filter_messages_and_fields(
    flt: Any, message: str, position: str, expected: str, got: str | None
) -> None:
    # The message goes on the wire as ``CLOSED <sub> "invalid: <message>"``.
    with pytest.raises(InvalidFilter) as caught:
        check_filter(flt)
    assert str(caught.value) == message
    assert (caught.value.position, caught.value.expected, caught.value.got) == (
        position,
        expected,
        got,
    )


def test_invalid_filter_is_a_roots_error() -> None:
    assert issubclass(InvalidFilter, RootsError)
    assert issubclass(InvalidFilter, ValueError)


def test_check_filter_accepts_any_mapping_and_returns_a_dict() -> None:
    from types import MappingProxyType

    checked = check_filter(MappingProxyType({"kinds": [1]}))
    assert checked == {"kinds": [1]} and type(checked) is dict


# --- matches ----------------------------------------------------------------------------------


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


def test_unknown_keys_are_ignored() -> None:
    event = make_event()
    assert matches({"search": "nothing like it", "limit": 0}, event)


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


# --- order and select -------------------------------------------------------------------------


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
    assert select(events, [{}], max_limit=0) == []


def test_no_filters_select_nothing() -> None:
    assert select([make_event()], []) == []


def test_ordered_input_is_not_sorted_again() -> None:
    a, b = make_event(created_at=1), make_event(created_at=2)
    assert select([a, b], [{}], ordered=True) == [a, b]  # trusted as given
    assert select([a, b], [{}]) == [b, a]


def test_select_reads_any_iterable_once() -> None:
    events = [make_event(created_at=t) for t in (1, 2, 3)]
    assert select(iter(events), [{"limit": 2}]) == [events[2], events[1]]
    assert select(iter(newest_first(events)), [{}], ordered=True) == newest_first(events)


# --- properties -------------------------------------------------------------------------------

hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
filter_keys = st.sampled_from(
    ["ids", "authors", "kinds", "since", "until", "limit", "#e", "#T", "#", "#ab", "#1", "search"]
)
# Values that are sometimes right for a NIP-01 key, to get past the first checks.
near_values = (
    json_values
    | st.lists(hex64, max_size=3)
    | st.lists(st.integers(-5, 70000), max_size=3)
    | st.lists(texts, max_size=3)
    | st.integers(-5, 2**40)
)
json_ish_filters = json_values | st.dictionaries(filter_keys | texts, near_values, max_size=6)


@FAST
@given(flt=json_ish_filters)
def test_check_filter_only_raises_invalid_filter(flt: Any) -> None:
    try:
        checked = check_filter(flt)
    except InvalidFilter as exc:
        assert isinstance(exc, RootsError)
        assert str(exc)  # something to put after "invalid: "
    else:
        assert checked == flt and checked is not flt and type(checked) is dict


PUBKEYS = [ALICE, BOB, "c3" * 32]
LETTERS = ["e", "p", "t"]
VALUES = ["x", "y", "z"]

tags = st.lists(
    st.lists(st.sampled_from(LETTERS + VALUES), min_size=0, max_size=3), max_size=3
).map(lambda ts: [list(t) for t in ts])


@st.composite
def event_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(hex64, unique=True, max_size=12))
    return [
        {
            "id": event_id,
            "pubkey": draw(st.sampled_from(PUBKEYS)),
            "created_at": draw(st.integers(0, 6)),  # few values: many ties
            "kind": draw(st.sampled_from([0, 1, 3, 7, 30000])),
            "tags": draw(tags),
            "content": "",
            "sig": "0" * 128,
        }
        for event_id in ids
    ]


checked_filters = st.fixed_dictionaries(
    {},
    optional={
        "authors": st.lists(st.sampled_from(PUBKEYS), max_size=2),
        "kinds": st.lists(st.sampled_from([0, 1, 3, 7, 30000]), max_size=3),
        "since": st.integers(0, 6),
        "until": st.integers(0, 6),
        "limit": st.integers(0, 8),
        "#e": st.lists(st.sampled_from(VALUES), max_size=2),
        "#t": st.lists(st.sampled_from(VALUES), max_size=2),
    },
).map(check_filter)


def _cap(flt: dict[str, Any], max_limit: int | None) -> int | None:
    caps = [c for c in (flt.get("limit"), max_limit) if c is not None]
    return min(caps) if caps else None


def _model(
    events: list[dict[str, Any]], filters: list[dict[str, Any]], max_limit: int | None
) -> list[dict[str, Any]]:
    """Per filter its newest ``min(limit, max_limit)`` matches; the union, newest first."""
    chosen: dict[str, dict[str, Any]] = {}
    for flt in filters:
        hits = [e for e in newest_first(events) if matches(flt, e)]
        for event in hits[: _cap(flt, max_limit)]:
            chosen[event["id"]] = event
    return newest_first(chosen.values())


@FAST
@given(events=event_lists(), flt=checked_filters, max_limit=st.none() | st.integers(0, 8))
def test_select_one_filter_takes_its_newest_matches(
    events: list[dict[str, Any]], flt: dict[str, Any], max_limit: int | None
) -> None:
    got = select(events, [flt], max_limit=max_limit)
    hits = newest_first(e for e in events if matches(flt, e))
    cap = _cap(flt, max_limit)
    assert len(got) == (len(hits) if cap is None else min(cap, len(hits)))
    assert got == hits[: len(got)]


@FAST
@given(
    events=event_lists(),
    filters=st.lists(checked_filters, max_size=4),
    max_limit=st.none() | st.integers(0, 8),
)
def test_select_properties(
    events: list[dict[str, Any]], filters: list[dict[str, Any]], max_limit: int | None
) -> None:
    got = select(events, filters, max_limit=max_limit)
    # A subset of the events (the same objects), each once, newest first, all matching.
    assert all(any(e is g for e in events) for g in got)
    assert len({id(g) for g in got}) == len(got)
    assert got == sorted(got, key=sort_key)
    assert all(matches_any(filters, g) for g in got)
    # Each filter's limit (clamped by max_limit) is respected, and nothing is missed.
    assert got == _model(events, filters, max_limit)
    caps = [_cap(flt, max_limit) for flt in filters]
    if all(cap is not None for cap in caps):
        assert len(got) <= sum(cap for cap in caps if cap is not None)
    # Already sorted input with ordered=True gives the same answer.
    assert select(newest_first(events), filters, max_limit=max_limit, ordered=True) == got
