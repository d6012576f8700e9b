"""enclose_*: exact output, compact valid JSON, escaping, verbatim objects, argument errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from rx_roots import (
    RootsError,
    WrongFieldType,
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
)

EVENT = {"id": "e1", "kind": 1, "tags": [["e", "x"], ["p", "y"]], "content": "hi", "n": 2.5}
EVENT_JSON = '{"id":"e1","kind":1,"tags":[["e","x"],["p","y"]],"content":"hi","n":2.5}'


class Frozen(Mapping[str, Any]):
    """A Mapping that is not a dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: enclose_event(EVENT), f'["EVENT",{EVENT_JSON}]'),
        (lambda: enclose_event({}), '["EVENT",{}]'),
        (lambda: enclose_subscription_event("sub", EVENT), f'["EVENT","sub",{EVENT_JSON}]'),
        (lambda: enclose_req("sub", []), '["REQ","sub"]'),
        (lambda: enclose_req("sub", ()), '["REQ","sub"]'),
        (lambda: enclose_req("sub", [{"kinds": [1]}]), '["REQ","sub",{"kinds":[1]}]'),
        (
            lambda: enclose_req("s", [{"kinds": [1, 2]}, {"#e": ["x"], "limit": 10}]),
            '["REQ","s",{"kinds":[1,2]},{"#e":["x"],"limit":10}]',
        ),
        (
            lambda: enclose_req("s", ({"a": 1}, '{"b":2}', b'{"c":3}')),
            '["REQ","s",{"a":1},{"b":2},{"c":3}]',
        ),
        (lambda: enclose_close("sub"), '["CLOSE","sub"]'),
        (lambda: enclose_closed("sub", "error: gone"), '["CLOSED","sub","error: gone"]'),
        (lambda: enclose_notice("hello"), '["NOTICE","hello"]'),
        (lambda: enclose_eose("sub"), '["EOSE","sub"]'),
        (lambda: enclose_ok("id", True, ""), '["OK","id",true,""]'),
        (lambda: enclose_ok("id", False, "duplicate: seen"), '["OK","id",false,"duplicate: seen"]'),
        (lambda: enclose_auth_challenge("chal"), '["AUTH","chal"]'),
        (lambda: enclose_auth_response({"kind": 22242}), '["AUTH",{"kind":22242}]'),
        (lambda: enclose_event(MappingProxyType({"a": 1})), '["EVENT",{"a":1}]'),
        (lambda: enclose_event(Frozen({"a": [1, None, True]})), '["EVENT",{"a":[1,null,true]}]'),
        (lambda: enclose_event({"t": (1, 2)}), '["EVENT",{"t":[1,2]}]'),
        (lambda: enclose_event({"n": 10**30}), '["EVENT",{"n":1000000000000000000000000000000}]'),
        (lambda: enclose_event({"n": -(2**63)}), '["EVENT",{"n":-9223372036854775808}]'),
        (lambda: enclose_notice(""), '["NOTICE",""]'),
    ],
)
def test_exact_output(build: Callable[[], str], expected: str) -> None:
    got = build()
    assert type(got) is str
    assert got == expected
    json.loads(got)


NESTED = {
    "a": [1, 2.5, -3, True, False, None, {"b": {"c": []}}],
    "d": {"e": "f", "g": [[], {}]},
    "h": "",
}


@pytest.mark.parametrize(
    "build",
    [
        lambda: enclose_event(NESTED),
        lambda: enclose_subscription_event("s", NESTED),
        lambda: enclose_req("s", [NESTED, NESTED]),
        lambda: enclose_auth_response(NESTED),
    ],
)
def test_mapping_output_is_compact(build: Callable[[], str]) -> None:
    out = build()
    assert " " not in out and "\n" not in out
    arr = json.loads(out)
    assert out == json.dumps(arr, separators=(",", ":"), ensure_ascii=False)


MESSAGES = [
    'say "hi"',
    "back\\slash",
    "C:\\users/u\\u0041",
    "\\",
    '"',
    "line\nbreak\r\ttab",
    "nul\x00and\x1funit\x7fdel",
    "a/b</script>",
    "été",
    "日本語",
    "😀 emoji",
    "\u2028\u2029",
    "\ufeffbom",
    '"]},{"injected":true}',
]


def _string_builders() -> list[Any]:
    return [
        pytest.param(lambda m: enclose_notice(m), 1, id="notice"),
        pytest.param(lambda m: enclose_closed("s", m), 2, id="closed-message"),
        pytest.param(lambda m: enclose_closed(m, "x"), 1, id="closed-sub"),
        pytest.param(lambda m: enclose_ok("id", True, m), 3, id="ok-message"),
        pytest.param(lambda m: enclose_ok(m, False, ""), 1, id="ok-id"),
        pytest.param(lambda m: enclose_eose(m), 1, id="eose"),
        pytest.param(lambda m: enclose_close(m), 1, id="close"),
        pytest.param(lambda m: enclose_req(m, []), 1, id="req"),
        pytest.param(lambda m: enclose_subscription_event(m, {}), 1, id="sub-event"),
        pytest.param(lambda m: enclose_auth_challenge(m), 1, id="auth"),
    ]


@pytest.mark.parametrize(("build", "index"), _string_builders())
@pytest.mark.parametrize("message", MESSAGES, ids=repr)
def test_strings_are_escaped(build: Callable[[str], str], index: int, message: str) -> None:
    out = build(message)
    assert json.loads(out)[index] == message
    assert not re.search(r"[\x00-\x1f]", out), "control characters must be escaped"
    unescaped = out.replace("\\\\", "")  # drop escaped backslashes, keep other escapes
    assert "\\/" not in unescaped, "'/' is not escaped"
    assert "\\u" not in unescaped.replace("\\u0000", "").replace("\\u001f", "")
    for char in message:
        if ord(char) > 0x7F:
            assert char in out, "non-ASCII stays as it is (UTF-8 on the wire)"
    out.encode("utf-8")


@pytest.mark.parametrize("message", MESSAGES, ids=repr)
def test_strings_in_events_are_escaped(message: str) -> None:
    out = enclose_event({message: message, "tags": [[message]]})
    assert json.loads(out) == ["EVENT", {message: message, "tags": [[message]]}]
    assert not re.search(r"[\x00-\x1f]", out)
    assert "\\/" not in out


# --- events and filters given as text ---------------------------------------------------------

OBJECT_BUILDERS = [
    pytest.param(lambda e: enclose_event(e), "EVENT,", id="event"),
    pytest.param(lambda e: enclose_subscription_event("s", e), 'EVENT,"s",', id="sub-event"),
    pytest.param(lambda e: enclose_req("s", [e]), 'REQ,"s",', id="req"),
    pytest.param(lambda e: enclose_auth_response(e), "AUTH,", id="auth-response"),
]


def _frame(head: str, body: str) -> str:
    label, _, rest = head.partition(",")
    return f'["{label}",{rest}{body}]'


@pytest.mark.parametrize(("build", "head"), OBJECT_BUILDERS)
@pytest.mark.parametrize(
    ("given", "embedded"),
    [
        ('{"b": 2, "a": 1}', '{"b": 2, "a": 1}'),  # verbatim: spacing and key order kept
        ("{}", "{}"),
        ('  {"a":1}\n', '{"a":1}'),
        ('\t\r\n{ "x" : [ 1 ] }\r\n ', '{ "x" : [ 1 ] }'),
        ('{"s":"\\u00e9t\\u00e9 é"}', '{"s":"\\u00e9t\\u00e9 é"}'),
        (b'{"a":1}', '{"a":1}'),
        (b' {"s":"\xc3\xa9"} ', '{"s":"é"}'),
    ],
    ids=repr,
)
def test_text_objects_are_embedded_verbatim(
    build: Callable[[Any], str], head: str, given: str | bytes, embedded: str
) -> None:
    out = build(given)
    assert out == _frame(head, embedded)
    json.loads(out)


@pytest.mark.parametrize(("build", "head"), OBJECT_BUILDERS)
@pytest.mark.parametrize(
    "given",
    [
        "",
        "   ",
        "[1]",
        '"x"',
        "null",
        "1",
        "{",
        "}",
        ' {"a":1',
        '{"a":1} x',
        "x{}",
        "{}x",
        b"[]",
        b"",
    ],
    ids=repr,
)
def test_text_that_is_not_an_object(build: Callable[[Any], str], head: str, given: Any) -> None:
    with pytest.raises(WrongFieldType) as info:
        build(given)
    text = given.decode() if isinstance(given, bytes) else given
    assert info.value.position in {"event", "filter 1"}
    assert info.value.expected == "JSON object text"
    assert info.value.got == repr(text[:20])


def test_long_text_is_cut_in_the_message() -> None:
    with pytest.raises(WrongFieldType) as info:
        enclose_event("[" + "1," * 100 + "1]")
    assert info.value.got == repr("[" + "1," * 9 + "1")


@pytest.mark.parametrize(("build", "head"), OBJECT_BUILDERS)
@pytest.mark.parametrize("given", [b"\xff{}", b'{"a":"\xc3"}', b'{"\xed\xa0\x80":1}'], ids=repr)
def test_bytes_objects_must_be_utf8(build: Callable[[Any], str], head: str, given: bytes) -> None:
    with pytest.raises(WrongFieldType) as info:
        build(given)
    assert info.value.expected == "UTF-8 JSON object"
    assert info.value.got == "invalid UTF-8"
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


# --- argument errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "position", "expected", "got"),
    [
        (lambda: enclose_event(None), "event", "mapping or JSON object text", "NoneType"),
        (lambda: enclose_event(5), "event", "mapping or JSON object text", "int"),
        (lambda: enclose_event([("a", 1)]), "event", "mapping or JSON object text", "list"),
        (
            lambda: enclose_event(bytearray(b"{}")),
            "event",
            "mapping or JSON object text",
            "bytearray",
        ),
        (lambda: enclose_auth_response(None), "event", "mapping or JSON object text", "NoneType"),
        (lambda: enclose_subscription_event(None, {}), "subscription id", "string", "NoneType"),
        (lambda: enclose_subscription_event(b"s", {}), "subscription id", "string", "bytes"),
        (lambda: enclose_subscription_event("s", 1), "event", "mapping or JSON object text", "int"),
        (lambda: enclose_req(None, []), "subscription id", "string", "NoneType"),
        (lambda: enclose_req(1, []), "subscription id", "string", "int"),
        (lambda: enclose_req("s", None), "filters", "sequence of filters", "NoneType"),
        (lambda: enclose_req("s", "{}"), "filters", "sequence of filters", "str"),
        (lambda: enclose_req("s", b"{}"), "filters", "sequence of filters", "bytes"),
        (lambda: enclose_req("s", {"kinds": [1]}), "filters", "sequence of filters", "dict"),
        (lambda: enclose_req("s", Frozen({})), "filters", "sequence of filters", "Frozen"),
        (lambda: enclose_req("s", iter([{}])), "filters", "sequence of filters", "list_iterator"),
        (lambda: enclose_req("s", {1, 2}), "filters", "sequence of filters", "set"),
        (
            lambda: enclose_req("s", [{}, None]),
            "filter 2",
            "mapping or JSON object text",
            "NoneType",
        ),
        (lambda: enclose_req("s", [[]]), "filter 1", "mapping or JSON object text", "list"),
        (lambda: enclose_close(None), "subscription id", "string", "NoneType"),
        (lambda: enclose_closed("s", None), "message", "string", "NoneType"),
        (lambda: enclose_closed(None, "m"), "subscription id", "string", "NoneType"),
        (lambda: enclose_notice(None), "message", "string", "NoneType"),
        (lambda: enclose_notice(5), "message", "string", "int"),
        (lambda: enclose_eose(None), "subscription id", "string", "NoneType"),
        (lambda: enclose_ok("id", 1, "m"), "accepted", "boolean", "int"),
        (lambda: enclose_ok("id", 0, "m"), "accepted", "boolean", "int"),
        (lambda: enclose_ok("id", None, "m"), "accepted", "boolean", "NoneType"),
        (lambda: enclose_ok("id", "true", "m"), "accepted", "boolean", "str"),
        (lambda: enclose_ok(None, True, "m"), "event id", "string", "NoneType"),
        (lambda: enclose_ok("id", True, None), "message", "string", "NoneType"),
        (lambda: enclose_auth_challenge(None), "challenge", "string", "NoneType"),
    ],
)
def test_wrong_argument_types(
    build: Callable[[], str], position: str, expected: str, got: str
) -> None:
    with pytest.raises(WrongFieldType) as info:
        build()
    assert (info.value.position, info.value.expected, info.value.got) == (position, expected, got)
    assert str(info.value) == f"wrong field type for {position}: expected {expected}, got {got}"


def _deep(n: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(n):
        value = {"x": value}
    return value


class Opaque:
    pass


@pytest.mark.parametrize(
    ("build", "position"),
    [
        (lambda: enclose_event({"n": float("nan")}), "event"),
        (lambda: enclose_event({"n": float("inf")}), "event"),
        (lambda: enclose_event({"n": float("-inf")}), "event"),
        (lambda: enclose_event({"o": Opaque()}), "event"),
        (lambda: enclose_event({"s": {1, 2}}), "event"),
        (lambda: enclose_event({"b": b"bytes"}), "event"),
        (lambda: enclose_event({"n": [[[float("nan")]]]}), "event"),
        (lambda: enclose_event(_deep(5000)), "event"),
        (lambda: enclose_event(Frozen({"n": float("nan")})), "event"),
        (lambda: enclose_auth_response({"n": float("nan")}), "event"),
        (lambda: enclose_subscription_event("s", {"o": Opaque()}), "event"),
        (lambda: enclose_req("s", [{}, {"o": Opaque()}]), "filter 2"),
        # lone surrogates cannot be sent as UTF-8
        (lambda: enclose_notice("\ud800"), "message"),
        (lambda: enclose_notice("ok \udfff ok"), "message"),
        (lambda: enclose_closed("s", "\udc80"), "message"),
        (lambda: enclose_closed("\ud800", "m"), "subscription id"),
        (lambda: enclose_ok("\ud800", True, ""), "event id"),
        (lambda: enclose_ok("id", True, "\ud800"), "message"),
        (lambda: enclose_eose("\ud800"), "subscription id"),
        (lambda: enclose_close("\ud800"), "subscription id"),
        (lambda: enclose_req("\ud800", []), "subscription id"),
        (lambda: enclose_auth_challenge("\ud800"), "challenge"),
        (lambda: enclose_event({"content": "\ud800"}), "event"),
        (lambda: enclose_event({"\ud800": 1}), "event"),
        (lambda: enclose_event({"tags": [["e", "\udfff"]]}), "event"),
        (lambda: enclose_subscription_event("s", {"c": "\ud83d"}), "event"),
        (lambda: enclose_req("s", [{"#t": ["\ud800"]}]), "filter 1"),
    ],
)
def test_values_that_cannot_be_encoded(build: Callable[[], str], position: str) -> None:
    with pytest.raises(WrongFieldType) as info:
        build()
    assert info.value.position == position
    assert info.value.expected == "JSON-encodable value"
    assert info.value.got
    assert isinstance(info.value.__cause__, TypeError | ValueError | OverflowError)


def test_surrogate_pair_is_fine() -> None:
    out = enclose_notice("\U0001f600")
    assert out == '["NOTICE","\U0001f600"]'
    assert out.encode("utf-8") == '["NOTICE","😀"]'.encode()


@pytest.mark.parametrize(
    "build",
    [
        lambda: enclose_event(None),
        lambda: enclose_ok("id", 1, "m"),
        lambda: enclose_notice("\ud800"),
        lambda: enclose_event({"n": float("nan")}),
    ],
)
def test_errors_are_roots_errors(build: Callable[[], str]) -> None:
    with pytest.raises(RootsError):
        build()
