"""NIP-01 kind classes (is_replaceable, is_ephemeral, is_addressable, address_of) and the
event checks a relay makes before storing (check_event, readable_id)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rx_roots import (
    InvalidEvent,
    MissingField,
    RootsError,
    WrongFieldType,
    address_of,
    check_event,
    is_addressable,
    is_ephemeral,
    is_replaceable,
    readable_id,
)
from tests.roots.samples import ALICE, make_event

FAST = settings(max_examples=300, deadline=None)


# --- kinds ------------------------------------------------------------------------------------


def test_kind_ranges() -> None:
    assert [k for k in (0, 1, 2, 3, 9999, 10000, 19999, 20000) if is_replaceable(k)] == [
        0,
        3,
        10000,
        19999,
    ]
    assert [k for k in (19999, 20000, 29999, 30000) if is_ephemeral(k)] == [20000, 29999]
    assert [k for k in (29999, 30000, 39999, 40000) if is_addressable(k)] == [30000, 39999]


@FAST
@given(kind=st.integers(0, 65535))
def test_a_kind_is_in_at_most_one_class(kind: int) -> None:
    classes = [is_replaceable(kind), is_ephemeral(kind), is_addressable(kind)]
    assert sum(classes) <= 1
    regular = kind in (1, 2) or 4 <= kind < 45 or 1000 <= kind < 10000
    assert not (regular and any(classes))


def test_address_of() -> None:
    assert address_of(make_event(kind=1)) is None
    assert address_of(make_event(kind=20001)) is None
    assert address_of(make_event(kind=0, tags=[["d", "x"]])) == (ALICE, 0, "")
    assert address_of(make_event(kind=10002)) == (ALICE, 10002, "")
    tagged = make_event(kind=30023, tags=[["t", "a"], ["d", "post"], ["d", "other"]])
    assert address_of(tagged) == (ALICE, 30023, "post")
    assert address_of(make_event(kind=30023)) == (ALICE, 30023, "")
    assert address_of(make_event(kind=30023, tags=[["d"]])) == (ALICE, 30023, "")
    assert address_of(make_event(kind=30023, tags=[[], ["d", "x"]])) == (ALICE, 30023, "x")


# --- check_event ------------------------------------------------------------------------------


def test_check_event_accepts_a_well_formed_event() -> None:
    event = make_event(tags=[["e", "x"], []])
    assert check_event(event) is event
    assert check_event(make_event(created_at=0))["created_at"] == 0


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"id": None}, "id"),
        ({"id": "ab"}, "id"),
        ({"id": "A" * 64}, "id"),
        ({"pubkey": 5}, "pubkey"),
        ({"pubkey": "g" * 64}, "pubkey"),
        ({"sig": "0" * 64}, "sig"),
        ({"created_at": "1"}, "created_at"),
        ({"created_at": True}, "created_at"),
        ({"created_at": -1}, "created_at"),
        ({"created_at": 1.0}, "created_at"),
        ({"kind": None}, "kind"),
        ({"kind": 65536}, "kind"),
        ({"tags": {}}, "tags"),
        ({"tags": ["e"]}, "tags"),
        ({"tags": [["e", 1]]}, "tags"),
        ({"content": None}, "content"),
    ],
)
def test_check_event_names_the_bad_field(change: dict[str, Any], named: str) -> None:
    event = {**make_event(), **change}
    with pytest.raises(InvalidEvent, match=named):
        check_event(event)


@pytest.mark.parametrize("field", ["id", "pubkey", "created_at", "kind", "tags", "content", "sig"])
def test_check_event_requires_every_field(field: str) -> None:
    event = make_event()
    del event[field]
    with pytest.raises(InvalidEvent, match=field) as caught:
        check_event(event)
    assert isinstance(caught.value.__cause__, MissingField)


def test_check_event_rejects_non_objects() -> None:
    with pytest.raises(InvalidEvent, match="object"):
        check_event(["EVENT"])


@pytest.mark.parametrize(
    ("change", "message", "cause"),
    [
        (
            {"kind": "1"},
            "wrong field type for event kind: expected integer, got string",
            WrongFieldType,
        ),
        ({"created_at": -5}, "created_at must be a non-negative integer", None),
    ],
)
def test_check_event_messages(
    change: dict[str, Any], message: str, cause: type[RootsError] | None
) -> None:
    # The message goes on the wire as ``OK <id> false "invalid: <message>"``.
    with pytest.raises(InvalidEvent) as caught:
        check_event({**make_event(), **change})
    assert str(caught.value) == caught.value.reason == message
    if cause is None:
        assert caught.value.__cause__ is None
    else:
        assert isinstance(caught.value.__cause__, cause)


def test_the_non_object_message() -> None:
    with pytest.raises(InvalidEvent) as caught:
        check_event("x")
    assert str(caught.value) == "an event must be an object, got str"


def test_invalid_event_is_a_roots_error() -> None:
    assert issubclass(InvalidEvent, RootsError)
    assert issubclass(InvalidEvent, ValueError)


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@FAST
@given(event=values, change=st.dictionaries(st.sampled_from(list(make_event())), values))
def test_check_event_only_raises_invalid_event(event: Any, change: dict[str, Any]) -> None:
    for candidate in (event, {**make_event(), **change}):
        try:
            checked = check_event(candidate)
        except InvalidEvent as exc:
            assert str(exc)
        else:
            assert checked is candidate


def test_readable_id() -> None:
    assert readable_id({"id": "short"}) == "short"
    assert readable_id({"id": 5}) is None
    assert readable_id({}) is None
    assert readable_id("x") is None
