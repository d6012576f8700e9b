"""find_*: results, every error kind, and the validation order.

Order (as in the Go original): decode, array length, label type, label value, field types.
Most cases are generated from one table (SPECS) so every finder gets every kind of check;
the cases the specification spells out are also listed by hand below.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, NamedTuple

import pytest
import ujson

from rx_roots import (
    InvalidEnvelope,
    InvalidJSON,
    RootsError,
    WrongEnvelopeLabel,
    WrongFieldType,
    decode_array,
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
from rx_roots import elements as elements_module
from rx_roots import find as find_module


class Spec(NamedTuple):
    find: Callable[[str | bytes], Any]
    label: str
    fields: list[tuple[str, str]]  # (position, kind) with kind in str / obj / bool


SPECS: list[Spec] = [
    Spec(find_event, "EVENT", [("event", "obj")]),
    Spec(find_subscription_event, "EVENT", [("subscription id", "str"), ("event", "obj")]),
    Spec(find_req, "REQ", [("subscription id", "str")]),
    Spec(find_ok, "OK", [("event id", "str"), ("accepted flag", "bool"), ("message", "str")]),
    Spec(find_eose, "EOSE", [("subscription id", "str")]),
    Spec(find_close, "CLOSE", [("subscription id", "str")]),
    Spec(find_closed, "CLOSED", [("subscription id", "str"), ("message", "str")]),
    Spec(find_notice, "NOTICE", [("message", "str")]),
    Spec(find_auth_challenge, "AUTH", [("challenge", "str")]),
    Spec(find_auth_response, "AUTH", [("event", "obj")]),
]
FINDERS = [s.find for s in SPECS]

VALID: dict[str, Any] = {
    "str": "abc",
    "obj": {"id": "e1", "kind": 1, "tags": [["e", "x"]], "content": 'hé "q" \\ /'},
    "bool": True,
}
JSON_NAME = {"str": "string", "obj": "object", "bool": "boolean"}
WRONG: dict[str, list[tuple[Any, str]]] = {
    "str": [(None, "null"), (1, "number"), (1.5, "number"), (True, "boolean"), ({}, "object")],
    "obj": [(None, "null"), ('{"id":"e1"}', "string"), ([], "array"), (1, "number")],
    "bool": [(0, "number"), (1, "number"), ("true", "string"), (None, "null"), ({}, "object")],
}


def _id(spec: Spec) -> str:
    return spec.find.__name__


def _result(spec: Spec, values: list[Any]) -> Any:
    if spec.find is find_req:
        return (values[0], [])
    return values[0] if len(values) == 1 else tuple(values)


def _dump(arr: list[Any]) -> str:
    return json.dumps(arr, separators=(",", ":"), ensure_ascii=False)


ENCODINGS = [
    pytest.param(lambda s: s, id="str"),
    pytest.param(lambda s: s.encode(), id="bytes"),
]


@pytest.fixture(params=ENCODINGS)
def encode(request: pytest.FixtureRequest) -> Callable[[str], str | bytes]:
    return request.param  # type: ignore[no-any-return]


def _raises(
    find: Callable[[str | bytes], Any], env: str | bytes, error: type[RootsError]
) -> RootsError:
    with pytest.raises(RootsError) as info:
        find(env)
    assert type(info.value) is error, f"{find.__name__}({env!r}) raised {info.value!r}"
    return info.value


# --- accepted envelopes -----------------------------------------------------------------------


def _valid_cases() -> list[Any]:
    cases = []
    for spec in SPECS:
        values = [VALID[kind] for _, kind in spec.fields]
        expected = _result(spec, values)
        cases.append(pytest.param(spec, _dump([spec.label, *values]), expected, id=_id(spec)))
        spaced = json.dumps([spec.label, *values], indent=2)
        cases.append(pytest.param(spec, spaced, expected, id=_id(spec) + "-spaced"))
        if spec.find is not find_req:
            extra = _dump([spec.label, *values, "extra", 1, None, {"x": []}])
            cases.append(pytest.param(spec, extra, expected, id=_id(spec) + "-trailing"))
    return cases


@pytest.mark.parametrize(("spec", "env", "expected"), _valid_cases())
def test_accepts(spec: Spec, env: str, expected: Any, encode: Callable[[str], str | bytes]) -> None:
    got = spec.find(encode(env))
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("find", "env", "expected"),
    [
        (find_event, '["EVENT",{}]', {}),
        (find_event, '["EVENT",{"id":"\\u00e9\\n\\"\\\\\\/"}]', {"id": 'é\n"\\/'}),
        (
            find_event,
            '["EVENT",{"n":123456789012345678901234567890}]',
            {"n": 123456789012345678901234567890},
        ),
        (find_subscription_event, '["EVENT","",{}]', ("", {})),
        (find_subscription_event, '["EVENT","s",{"a":1},"x"]', ("s", {"a": 1})),
        (find_req, '["REQ","sub"]', ("sub", [])),
        (find_req, '["REQ","sub",{}]', ("sub", [{}])),
        (
            find_req,
            '["REQ","s",{"kinds":[1]},{"#e":["x"]}]',
            ("s", [{"kinds": [1]}, {"#e": ["x"]}]),
        ),
        (find_ok, '["OK","id",true,""]', ("id", True, "")),
        (find_ok, '["OK","id",false,"duplicate: seen"]', ("id", False, "duplicate: seen")),
        (find_ok, '["OK","id",false,"m",true,1]', ("id", False, "m")),
        (find_eose, '["EOSE","sub"]', "sub"),
        (find_eose, '["EOSE","sub",null]', "sub"),
        (find_close, '["CLOSE","sub"]', "sub"),
        (find_closed, '["CLOSED","sub","error: gone"]', ("sub", "error: gone")),
        (find_notice, '["NOTICE","a\\"b\\\\c\\u0000"]', 'a"b\\c\x00'),
        (find_notice, '["NOTICE","日本語 😀"]', "日本語 😀"),
        (find_auth_challenge, '["AUTH","challenge-1"]', "challenge-1"),
        (find_auth_response, '["AUTH",{"kind":22242}]', {"kind": 22242}),
    ],
)
def test_accepts_by_hand(
    find: Callable[[str | bytes], Any],
    env: str,
    expected: Any,
    encode: Callable[[str], str | bytes],
) -> None:
    assert find(encode(env)) == expected


def test_ok_accepted_is_a_real_bool() -> None:
    assert find_ok('["OK","id",true,""]')[1] is True
    assert find_ok('["OK","id",false,""]')[1] is False


@pytest.mark.parametrize("find", FINDERS, ids=lambda f: f.__name__)
def test_decodes_once(find: Callable[[str | bytes], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SPECS[FINDERS.index(find)]
    env = _dump([spec.label, *(VALID[kind] for _, kind in spec.fields)])
    calls: list[object] = []

    def loads(text: str | bytes) -> Any:
        calls.append(text)
        return ujson.loads(text)

    monkeypatch.setattr(elements_module, "ujson", SimpleNamespace(loads=loads))
    monkeypatch.setattr(find_module, "_loads", loads)
    find(env)
    assert calls == [env]


# --- errors, generated from SPECS -------------------------------------------------------------


def _error_cases() -> list[Any]:
    cases: list[Any] = []

    def add(spec: Spec, arr: Any, error: type[RootsError], attrs: dict[str, Any], tag: str) -> None:
        env = arr if isinstance(arr, str) else _dump(arr)
        cases.append(pytest.param(spec, env, error, attrs, id=f"{_id(spec)}-{tag}"))

    for spec in SPECS:
        values = [VALID[kind] for _, kind in spec.fields]
        min_len = 1 + len(spec.fields)
        # 1. decode
        for n, text in enumerate(["", "garbage", f'["{spec.label}"', "[1,]", "{", "[" * 1000]):
            add(spec, text, InvalidJSON, {}, f"json{n}")
        # 2. shape and length: nothing about the label is looked at yet
        for n, text in enumerate(["{}", "null", '"x"', "3", "true"]):
            add(spec, text, InvalidEnvelope, {}, f"not-array{n}")
        for n in range(min_len):
            reason = f"expected at least {min_len} elements, got {n}"
            add(spec, [spec.label, *values][:n], InvalidEnvelope, {"reason": reason}, f"short{n}")
            add(spec, [1, *([None] * (min_len - 1))][:n], InvalidEnvelope, {}, f"short-bad{n}")
        # 3. label type, before the label value and the fields
        for bad, name in [(1, "number"), (None, "null"), (True, "boolean"), ([], "array")]:
            attrs = {"position": "envelope label", "expected": "string", "got": name}
            add(spec, [bad, *values], WrongFieldType, attrs, f"label-{name}")
            add(spec, [bad, *([None] * (min_len - 1))], WrongFieldType, attrs, f"label+f-{name}")
        # 4. label value, before the fields
        for other in ["WRONG", spec.label.lower(), spec.label + " ", "", "COUNT"]:
            attrs = {"expected": spec.label, "got": other}
            add(spec, [other, *values], WrongEnvelopeLabel, attrs, f"label={other!r}")
            add(spec, [other, *([None] * (min_len - 1))], WrongEnvelopeLabel, attrs, "lbl+f")
        # 5. each field's type, in order
        for i, (position, kind) in enumerate(spec.fields):
            for bad, name in WRONG[kind]:
                arr = [spec.label, *values]
                arr[1 + i] = bad
                attrs = {"position": position, "expected": JSON_NAME[kind], "got": name}
                add(spec, arr, WrongFieldType, attrs, f"{position}={bad!r}")
                # every later field wrong too: the first wrong field is reported
                for j in range(i + 1, len(spec.fields)):
                    arr[1 + j] = [[]]
                add(spec, arr, WrongFieldType, attrs, f"{position}={bad!r}+later")
    return cases


@pytest.mark.parametrize(("spec", "env", "error", "attrs"), _error_cases())
def test_errors_and_their_order(
    spec: Spec,
    env: str,
    error: type[RootsError],
    attrs: dict[str, Any],
    encode: Callable[[str], str | bytes],
) -> None:
    err = _raises(spec.find, encode(env), error)
    for name, value in attrs.items():
        assert getattr(err, name) == value


# --- errors spelled out by hand ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("find", "env", "error", "message"),
    [
        (
            find_eose,
            "[1]",
            InvalidEnvelope,
            "invalid envelope: expected at least 2 elements, got 1",
        ),
        (find_eose, "[]", InvalidEnvelope, "invalid envelope: expected at least 2 elements, got 0"),
        (
            find_eose,
            '{"EOSE":"x"}',
            InvalidEnvelope,
            "invalid envelope: expected a JSON array, got object",
        ),
        (
            find_eose,
            '[1,"x"]',
            WrongFieldType,
            "wrong field type for envelope label: expected string, got number",
        ),
        (
            find_eose,
            '["REQ","x"]',
            WrongEnvelopeLabel,
            "wrong envelope label: expected EOSE, got REQ",
        ),
        (
            find_eose,
            '["EOSE",null]',
            WrongFieldType,
            "wrong field type for subscription id: expected string, got null",
        ),
        (
            find_eose,
            '["EOSE",42]',
            WrongFieldType,
            "wrong field type for subscription id: expected string, got number",
        ),
        (
            find_event,
            '["REQ",{}]',
            WrongEnvelopeLabel,
            "wrong envelope label: expected EVENT, got REQ",
        ),
        (
            find_event,
            '["EVENT","sub",{}]',  # a relay's EVENT is not a client's EVENT
            WrongFieldType,
            "wrong field type for event: expected object, got string",
        ),
        (
            find_subscription_event,
            '["EVENT",{}]',
            InvalidEnvelope,
            "invalid envelope: expected at least 3 elements, got 2",
        ),
        (
            find_subscription_event,
            '["EVENT",{},"sub"]',
            WrongFieldType,
            "wrong field type for subscription id: expected string, got object",
        ),
        (
            find_req,
            '["REQ"]',
            InvalidEnvelope,
            "invalid envelope: expected at least 2 elements, got 1",
        ),
        (
            find_req,
            '["REQ","sub",null]',
            WrongFieldType,
            "wrong field type for filter 1: expected object, got null",
        ),
        (
            find_req,
            '["REQ","sub",{},[]]',
            WrongFieldType,
            "wrong field type for filter 2: expected object, got array",
        ),
        (
            find_req,
            '["REQ","sub",{},{},"{}"]',
            WrongFieldType,
            "wrong field type for filter 3: expected object, got string",
        ),
        (
            find_req,
            '["REQ",null,[]]',  # the sub id is checked before the filters
            WrongFieldType,
            "wrong field type for subscription id: expected string, got null",
        ),
        (
            find_ok,
            '["OK","id",1,""]',
            WrongFieldType,
            "wrong field type for accepted flag: expected boolean, got number",
        ),
        (
            find_ok,
            '["OK","id",0,""]',
            WrongFieldType,
            "wrong field type for accepted flag: expected boolean, got number",
        ),
        (
            find_ok,
            '["OK","id","false",""]',
            WrongFieldType,
            "wrong field type for accepted flag: expected boolean, got string",
        ),
        (
            find_ok,
            '["OK","id",true]',
            InvalidEnvelope,
            "invalid envelope: expected at least 4 elements, got 3",
        ),
        (
            find_ok,
            '["OK","id",true,null]',
            WrongFieldType,
            "wrong field type for message: expected string, got null",
        ),
        (
            find_ok,
            '["OK",1,2,3]',
            WrongFieldType,
            "wrong field type for event id: expected string, got number",
        ),
        (
            find_closed,
            '["CLOSED","sub"]',
            InvalidEnvelope,
            "invalid envelope: expected at least 3 elements, got 2",
        ),
        (
            find_closed,
            '["CLOSE","sub","m"]',
            WrongEnvelopeLabel,
            "wrong envelope label: expected CLOSED, got CLOSE",
        ),
        (
            find_close,
            '["CLOSED","sub","m"]',
            WrongEnvelopeLabel,
            "wrong envelope label: expected CLOSE, got CLOSED",
        ),
        (
            find_notice,
            '["NOTICE",{"m":1}]',
            WrongFieldType,
            "wrong field type for message: expected string, got object",
        ),
        (
            find_auth_challenge,
            '["AUTH",{"kind":22242}]',
            WrongFieldType,
            "wrong field type for challenge: expected string, got object",
        ),
        (
            find_auth_response,
            '["AUTH","challenge"]',
            WrongFieldType,
            "wrong field type for event: expected object, got string",
        ),
    ],
)
def test_errors_by_hand(
    find: Callable[[str | bytes], Any],
    env: str,
    error: type[RootsError],
    message: str,
    encode: Callable[[str], str | bytes],
) -> None:
    err = _raises(find, encode(env), error)
    assert str(err) == message


@pytest.mark.parametrize("find", FINDERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("env", "found"),
    [(None, "NoneType"), (5, "int"), (["EVENT", {}], "list"), (bytearray(b"[]"), "bytearray")],
    ids=repr,
)
def test_refuses_non_text(find: Callable[[Any], Any], env: Any, found: str) -> None:
    err = _raises(find, env, WrongFieldType)
    assert isinstance(err, WrongFieldType)
    assert (err.position, err.expected, err.got) == ("envelope", "str or bytes", found)


# --- robustness: nothing but a RootsError ever leaves -----------------------------------------

EVERY_PARSER: list[Callable[[Any], Any]] = [*FINDERS, get_label, decode_array]

MUST_RAISE: list[Any] = [
    "",
    "garbage",
    "[" * 100_000,
    "{" * 100_000,
    "]" * 1000,
    "\x00",
    "[\x00]",
    '["\x00"]',
    '["EVENT"\x00,{}]',
    b"\x00\x00",
    b"\xff",
    b"\xc0\x80",
    b'["\xff\xfe"]',
    b'["\xe2\x82",{"a":1}]',
    "[" + "9" * 10_000 + "]",
    "1e999",
    "1" * 31,
    "\ud800",
    '["\ud800"',
    '"\\ud800"',
    "[NaN",
    "[" + "1." + "0" * 10_000,
]


@pytest.mark.parametrize("parse", EVERY_PARSER, ids=lambda f: f.__name__)
@pytest.mark.parametrize("env", MUST_RAISE, ids=lambda e: repr(e)[:24])
def test_garbage_raises_only_roots_errors(parse: Callable[[Any], Any], env: Any) -> None:
    with pytest.raises(RootsError):
        parse(env)


MAY_PASS: list[Any] = [
    '["EVENT",' * 50_000,
    b'["EVENT",{"a":"\xe2\x82"}]',
    "[1e999]",
    "[-1e999,1]",
    "[" + "9" * 31 + "]",
    '["EVENT",{"n":1e999}]',
    '["EVENT",{"n":' + "9" * 31 + "}]",
    '["EVENT","' + "9" * 31 + '",{}]',
    '["REQ","\\u0000",{"a":"\\u0000"}]',
    '["NOTICE","\\ud800"]',
    b'["NOTICE","\xed\xa0\x80"]',
    '["OK","x",true,"\\udfff"]',
    '["AUTH",{"deep":' + "[" * 500 + "]" * 500 + "}]",
]


@pytest.mark.parametrize("parse", EVERY_PARSER, ids=lambda f: f.__name__)
@pytest.mark.parametrize("env", MAY_PASS, ids=lambda e: repr(e)[:24])
def test_odd_input_returns_or_raises_a_roots_error(parse: Callable[[Any], Any], env: Any) -> None:
    try:
        parse(env)
    except RootsError:
        pass


def test_huge_numbers_are_decoded() -> None:
    assert find_event('["EVENT",{"n":1e999}]') == {"n": float("inf")}
    assert find_event('["EVENT",{"n":' + "9" * 31 + "}]") == {"n": 10**31 - 1}
    assert decode_array("[1e999,-1e999]") == [float("inf"), float("-inf")]
    assert decode_array("[" + "9" * 31 + "]") == [10**31 - 1]


@pytest.mark.parametrize("find", FINDERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("env", ["[1e999]", "[" + "9" * 31 + "]"])
def test_huge_number_alone_is_too_short(find: Callable[[str | bytes], Any], env: str) -> None:
    _raises(find, env, InvalidEnvelope)
    with pytest.raises(WrongFieldType):
        get_label(env)
