"""Property tests: enclose/find round trips and the robustness of every parser."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rx_roots import (
    InvalidEnvelope,
    RootsError,
    WrongEnvelopeLabel,
    WrongFieldType,
    decode_array,
    enclose_auth_challenge,
    enclose_auth_response,
    enclose_close,
    enclose_closed,
    enclose_eose,
    enclose_event,
    enclose_notice,
    enclose_ok,
    enclose_req,
    enclose_subscription_event,
    find_auth_challenge,
    find_auth_response,
    find_close,
    find_closed,
    find_eose,
    find_event,
    find_notice,
    find_ok,
    find_req,
    find_subscription_event,
    get_label,
)
from tests.roots.samples import json_values as values
from tests.roots.samples import scalars, texts

FAST = settings(max_examples=200, deadline=None)


objects = st.dictionaries(texts, values, max_size=5)


def _both(envelope: str) -> list[str | bytes]:
    return [envelope, envelope.encode("utf-8")]


# --- round trips ------------------------------------------------------------------------------


@FAST
@given(event=objects)
def test_event_round_trip(event: dict[str, Any]) -> None:
    for env in _both(enclose_event(event)):
        assert find_event(env) == event
        assert get_label(env) == "EVENT"


@FAST
@given(sub_id=texts, event=objects)
def test_subscription_event_round_trip(sub_id: str, event: dict[str, Any]) -> None:
    for env in _both(enclose_subscription_event(sub_id, event)):
        assert find_subscription_event(env) == (sub_id, event)
        assert get_label(env) == "EVENT"


@FAST
@given(sub_id=texts, filters=st.lists(objects, max_size=4))
def test_req_round_trip(sub_id: str, filters: list[dict[str, Any]]) -> None:
    for env in _both(enclose_req(sub_id, filters)):
        assert find_req(env) == (sub_id, filters)
        assert get_label(env) == "REQ"


@FAST
@given(event_id=texts, accepted=st.booleans(), message=texts)
def test_ok_round_trip(event_id: str, accepted: bool, message: str) -> None:
    for env in _both(enclose_ok(event_id, accepted, message)):
        got = find_ok(env)
        assert got == (event_id, accepted, message)
        assert got[1] is accepted
        assert get_label(env) == "OK"


@FAST
@given(sub_id=texts, message=texts)
def test_closed_round_trip(sub_id: str, message: str) -> None:
    for env in _both(enclose_closed(sub_id, message)):
        assert find_closed(env) == (sub_id, message)
        assert get_label(env) == "CLOSED"


SINGLE_STRING: list[tuple[Callable[[str], str], Callable[[Any], str], str]] = [
    (enclose_close, find_close, "CLOSE"),
    (enclose_notice, find_notice, "NOTICE"),
    (enclose_eose, find_eose, "EOSE"),
    (enclose_auth_challenge, find_auth_challenge, "AUTH"),
]


@FAST
@given(value=texts)
def test_single_string_round_trips(value: str) -> None:
    for enclose, find, label in SINGLE_STRING:
        for env in _both(enclose(value)):
            assert find(env) == value
            assert get_label(env) == label


@FAST
@given(event=objects)
def test_auth_response_round_trip(event: dict[str, Any]) -> None:
    for env in _both(enclose_auth_response(event)):
        assert find_auth_response(env) == event
        assert get_label(env) == "AUTH"


@FAST
@given(
    event=objects,
    ensure_ascii=st.booleans(),
    indent=st.none() | st.integers(0, 2),
    pad=st.sampled_from(["", " ", "\n", " \t\r\n"]),
    as_bytes=st.booleans(),
)
def test_text_events_embed_and_round_trip(
    event: dict[str, Any], ensure_ascii: bool, indent: int | None, pad: str, as_bytes: bool
) -> None:
    text = pad + json.dumps(event, ensure_ascii=ensure_ascii, indent=indent) + pad
    given_event: str | bytes = text.encode() if as_bytes else text
    assert find_event(enclose_event(given_event)) == event
    assert find_subscription_event(enclose_subscription_event("s", given_event)) == ("s", event)
    assert find_req(enclose_req("s", [given_event, event])) == ("s", [event, event])
    assert find_auth_response(enclose_auth_response(given_event)) == event
    assert text.strip(" \t\r\n") in enclose_event(given_event)  # verbatim


_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')


@FAST
@given(value=values, sub_id=texts)
def test_enclose_output_is_valid_compact_json(value: Any, sub_id: str) -> None:
    for out in [
        enclose_event({"v": value}),
        enclose_subscription_event(sub_id, {"v": value}),
        enclose_req(sub_id, [{"v": value}, {}]),
        enclose_closed(sub_id, sub_id),
    ]:
        json.loads(out)
        out.encode("utf-8")
        outside_strings = _STRING_LITERAL.sub("", out)
        assert not re.search(r"\s", outside_strings), out
        assert "\\/" not in out.replace("\\\\", ""), "'/' is not escaped"


# --- robustness -------------------------------------------------------------------------------

FINDERS: list[Callable[[Any], Any]] = [
    find_event,
    find_subscription_event,
    find_req,
    find_ok,
    find_eose,
    find_close,
    find_closed,
    find_notice,
    find_auth_challenge,
    find_auth_response,
]
PARSERS: list[Callable[[Any], Any]] = [*FINDERS, get_label, decode_array]


def _only_roots_errors(env: Any) -> None:
    for parse in PARSERS:
        try:
            parse(env)
        except RootsError:
            pass


@FAST
@given(env=st.text())
def test_arbitrary_text_raises_only_roots_errors(env: str) -> None:
    _only_roots_errors(env)


@FAST
@given(env=st.binary())
def test_arbitrary_bytes_raise_only_roots_errors(env: bytes) -> None:
    _only_roots_errors(env)


json_fragments = st.sampled_from(
    [
        '["',
        '"',
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "EVENT",
        "REQ",
        "OK",
        "null",
        "true",
        "1e999",
        "\\u0045",
        "\\ud800",
        "\\",
        " ",
        "\x00",
        "-",
        "1",
        "{}",
        '"EVENT"',
        "9" * 40,
    ]
)


@FAST
@given(env=st.lists(json_fragments, max_size=30).map("".join), as_bytes=st.booleans())
def test_json_like_text_raises_only_roots_errors(env: str, as_bytes: bool) -> None:
    _only_roots_errors(env.encode() if as_bytes else env)


# --- the validation order, against a model ----------------------------------------------------

SPECS: list[tuple[Callable[[Any], Any], str, list[tuple[str, type]], bool]] = [
    # finder, label, fixed fields (position, type), takes trailing filters
    (find_event, "EVENT", [("event", dict)], False),
    (find_subscription_event, "EVENT", [("subscription id", str), ("event", dict)], False),
    (find_req, "REQ", [("subscription id", str)], True),
    (find_ok, "OK", [("event id", str), ("accepted flag", bool), ("message", str)], False),
    (find_eose, "EOSE", [("subscription id", str)], False),
    (find_close, "CLOSE", [("subscription id", str)], False),
    (find_closed, "CLOSED", [("subscription id", str), ("message", str)], False),
    (find_notice, "NOTICE", [("message", str)], False),
    (find_auth_challenge, "AUTH", [("challenge", str)], False),
    (find_auth_response, "AUTH", [("event", dict)], False),
]

elements = st.one_of(
    st.sampled_from(["EVENT", "REQ", "OK", "EOSE", "CLOSE", "CLOSED", "NOTICE", "AUTH", "x"]),
    st.booleans(),
    st.just({"id": "e"}),
    st.just({}),
    scalars,
    st.lists(scalars, max_size=2),
)


def _model(arr: list[Any], label: str, fields: list[tuple[str, type]], filters: bool) -> Any:
    """What a finder must do with ``arr``: the expected result, or (error class, position)."""
    if len(arr) < 1 + len(fields):
        return (InvalidEnvelope, None)
    if type(arr[0]) is not str:
        return (WrongFieldType, "envelope label")
    if arr[0] != label:
        return (WrongEnvelopeLabel, None)
    for i, (position, kind) in enumerate(fields, 1):
        if type(arr[i]) is not kind:
            return (WrongFieldType, position)
    got = arr[1 : 1 + len(fields)]
    if filters:
        for n, item in enumerate(arr[2:], 1):
            if type(item) is not dict:
                return (WrongFieldType, f"filter {n}")
        return ("ok", (got[0], arr[2:]))
    return ("ok", got[0] if len(got) == 1 else tuple(got))


@settings(max_examples=300, deadline=None)
@given(arr=st.lists(elements, max_size=5), as_bytes=st.booleans())
def test_every_finder_follows_the_validation_order(arr: list[Any], as_bytes: bool) -> None:
    text = json.dumps(arr, ensure_ascii=False)
    env: str | bytes = text.encode() if as_bytes else text
    for find, label, fields, filters in SPECS:
        outcome, detail = _model(arr, label, fields, filters)
        try:
            got = find(env)
        except RootsError as exc:
            assert type(exc) is outcome, (find.__name__, arr, exc)
            if detail is not None:
                assert isinstance(exc, WrongFieldType)
                assert exc.position == detail
        else:
            assert outcome == "ok", (find.__name__, arr, got)
            assert got == detail
