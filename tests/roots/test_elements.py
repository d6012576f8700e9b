"""decode_array, check_array_length, check_label, parse_element and json_type_name."""

from __future__ import annotations

from typing import Any

import pytest
import ujson

from rx_roots import (
    InvalidEnvelope,
    InvalidJSON,
    MissingField,
    RootsError,
    WrongEnvelopeLabel,
    WrongFieldType,
    check_array_length,
    check_label,
    decode_array,
    parse_element,
)
from rx_roots.elements import Envelope, json_type_name

# --- decode_array -----------------------------------------------------------------------------


def test_envelope_is_str() -> None:
    assert Envelope is str


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]", []),
        (" [ ] ", []),
        ('["EVENT",{"a":1}]', ["EVENT", {"a": 1}]),
        ('\n["x", 1, 2.5, true, false, null, [], {}]\t', ["x", 1, 2.5, True, False, None, [], {}]),
        ('["\\u00e9t\\u00e9","été"]', ["été", "été"]),
        ('["a\\"b\\\\c\\/d"]', ['a"b\\c/d']),
        ("[123456789012345678901234567890]", [123456789012345678901234567890]),
    ],
)
def test_decode_array_accepts(text: str, expected: list[Any], as_bytes: bool) -> None:
    got = decode_array(text.encode() if as_bytes else text)
    assert got == expected
    assert type(got) is list


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("{}", "object"),
        ('{"0":"EVENT"}', "object"),
        ('"EVENT"', "string"),
        ("null", "null"),
        ("1", "number"),
        ("-2.5", "number"),
        ("true", "boolean"),
        ("false", "boolean"),
    ],
)
def test_decode_array_refuses_other_json(text: str, found: str, as_bytes: bool) -> None:
    with pytest.raises(InvalidEnvelope) as info:
        decode_array(text.encode() if as_bytes else text)
    assert info.value.reason == f"expected a JSON array, got {found}"
    assert str(info.value) == f"invalid envelope: expected a JSON array, got {found}"


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
@pytest.mark.parametrize(
    "text",
    ["", "   ", "[", "]", "[1,]", "[1 2]", "['a']", "hello", "[1]x", "[1]\x00", "\x00", "[" * 100],
)
def test_decode_array_refuses_garbage(text: str, as_bytes: bool) -> None:
    with pytest.raises(InvalidJSON) as info:
        decode_array(text.encode() if as_bytes else text)
    assert str(info.value) == f"invalid JSON: {info.value.reason}"
    assert info.value.reason  # the decoder's own words, never empty
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize(
    "data", [b"\xff", b'["\xff"]', b'["\xc3"]', b'["EVENT",\x80]', b"\xfe\xff[]"], ids=repr
)
def test_decode_array_refuses_invalid_utf8(data: bytes) -> None:
    with pytest.raises(InvalidJSON):
        decode_array(data)


def test_decode_array_refuses_deep_nesting() -> None:
    with pytest.raises(InvalidJSON):
        decode_array("[" * 100_000)
    with pytest.raises(InvalidJSON):
        decode_array("[" * 100_000 + "]" * 100_000)


def test_decode_array_refuses_an_integer_too_long_to_convert() -> None:
    with pytest.raises(InvalidJSON):
        decode_array("[" + "1" * 10_000 + "]")


@pytest.mark.parametrize(
    ("env", "found"),
    [
        (None, "NoneType"),
        (5, "int"),
        (1.5, "float"),
        (["EVENT"], "list"),
        (bytearray(b'["EVENT"]'), "bytearray"),
        (memoryview(b'["EVENT"]'), "memoryview"),
    ],
    ids=repr,
)
def test_decode_array_refuses_non_text(env: Any, found: str) -> None:
    with pytest.raises(WrongFieldType) as info:
        decode_array(env)
    assert (info.value.position, info.value.expected, info.value.got) == (
        "envelope",
        "str or bytes",
        found,
    )


def test_decode_array_turns_every_decoder_exception_into_invalid_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for exc in [OverflowError("big"), RecursionError("deep"), TypeError("odd")]:

        def boom(_text: Any, exc: BaseException = exc) -> Any:
            raise exc

        monkeypatch.setattr(ujson, "loads", boom)
        with pytest.raises(InvalidJSON) as info:
            decode_array("[]")
        assert info.value.reason == str(exc)
        assert info.value.__cause__ is exc


# --- check_array_length -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arr", "min_len"),
    [([], 0), (["a"], 0), (["a"], 1), (["a", "b"], 1), (["a", "b", "c"], 3), ([1] * 10, 3)],
)
def test_check_array_length_accepts(arr: list[Any], min_len: int) -> None:
    assert check_array_length(arr, min_len) is None


@pytest.mark.parametrize(("arr", "min_len"), [([], 1), (["a"], 2), (["a", "b"], 3), ([1] * 3, 4)])
def test_check_array_length_refuses(arr: list[Any], min_len: int) -> None:
    with pytest.raises(InvalidEnvelope) as info:
        check_array_length(arr, min_len)
    assert info.value.reason == f"expected at least {min_len} elements, got {len(arr)}"
    assert (
        str(info.value) == f"invalid envelope: expected at least {min_len} elements, got {len(arr)}"
    )


# --- check_label ------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["EVENT", "REQ", "COUNT", "NEG-OPEN", "", "événement"])
def test_check_label_accepts_equal(label: str) -> None:
    assert check_label(label, label) is None


@pytest.mark.parametrize(
    ("got", "want"),
    [("REQ", "EVENT"), ("event", "EVENT"), ("EVENT ", "EVENT"), ("", "EOSE"), ("CLOSED", "CLOSE")],
)
def test_check_label_refuses_other(got: str, want: str) -> None:
    with pytest.raises(WrongEnvelopeLabel) as info:
        check_label(got, want)
    assert (info.value.expected, info.value.got) == (want, got)
    assert str(info.value) == f"wrong envelope label: expected {want}, got {got}"


# --- parse_element ----------------------------------------------------------------------------

SAMPLE: list[Any] = ["s", {"k": 1}, [1], True, 7, 2.5, None, False, 0, ("t",)]


@pytest.mark.parametrize(
    ("index", "expected_type"),
    [
        (0, str),
        (1, dict),
        (2, list),
        (3, bool),
        (7, bool),
        (4, int),
        (8, int),
        (5, float),
        (4, float),  # float accepts integers
        (8, float),
    ],
)
def test_parse_element_returns_matching_value(index: int, expected_type: type) -> None:
    value = parse_element(SAMPLE, index, expected_type, "pos")
    assert value is SAMPLE[index]


@pytest.mark.parametrize(
    ("index", "expected_type", "expected", "got"),
    [
        (6, str, "string", "null"),
        (4, str, "string", "number"),
        (1, str, "string", "object"),
        (2, str, "string", "array"),
        (3, str, "string", "boolean"),
        (0, dict, "object", "string"),
        (2, dict, "object", "array"),
        (6, dict, "object", "null"),
        (1, list, "array", "object"),
        (4, bool, "boolean", "number"),  # 1/0 are not booleans
        (8, bool, "boolean", "number"),
        (0, bool, "boolean", "string"),
        (3, int, "number", "boolean"),  # booleans are not numbers
        (7, int, "number", "boolean"),
        (5, int, "number", "number"),  # a float is not an integer
        (3, float, "number", "boolean"),
        (6, float, "number", "null"),
        (9, str, "string", "tuple"),  # not a JSON type: named by its Python type
        (0, bytes, "bytes", "string"),  # an expected type outside the table
    ],
)
def test_parse_element_refuses_other_types(
    index: int, expected_type: type, expected: str, got: str
) -> None:
    with pytest.raises(WrongFieldType) as info:
        parse_element(SAMPLE, index, expected_type, "my field")
    assert (info.value.position, info.value.expected, info.value.got) == ("my field", expected, got)
    assert str(info.value) == f"wrong field type for my field: expected {expected}, got {got}"


@pytest.mark.parametrize(("arr", "index"), [([], 0), (["a"], 1), (["a", "b"], 5), (["a"], -1)])
def test_parse_element_missing_index(arr: list[Any], index: int) -> None:
    with pytest.raises(MissingField) as info:
        parse_element(arr, index, str, "message")
    assert (info.value.position, info.value.index) == ("message", index)
    assert str(info.value) == f"missing field: message (element {index})"
    assert isinstance(info.value, RootsError)


# --- json_type_name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("x", "string"),
        ({}, "object"),
        ([], "array"),
        (True, "boolean"),
        (False, "boolean"),
        (0, "number"),
        (1.5, "number"),
        (None, "null"),
        ((), "tuple"),
        (b"", "bytes"),
    ],
    ids=repr,
)
def test_json_type_name(value: object, name: str) -> None:
    assert json_type_name(value) == name
