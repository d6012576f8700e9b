"""get_label (fast path and slow path), standard_labels and is_standard_label."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rx_roots import (
    InvalidEnvelope,
    InvalidJSON,
    RootsError,
    WrongFieldType,
    get_label,
    is_standard_label,
    standard_labels,
)
from rx_roots import labels as labels_module

STANDARD = {"EVENT", "REQ", "CLOSE", "CLOSED", "EOSE", "NOTICE", "OK", "AUTH"}


def test_standard_labels() -> None:
    got = standard_labels()
    assert isinstance(got, frozenset)
    assert got == STANDARD


@pytest.mark.parametrize("label", sorted(STANDARD))
def test_is_standard_label_true(label: str) -> None:
    assert is_standard_label(label) is True


@pytest.mark.parametrize(
    "label", ["event", "Event", "COUNT", "NEG-OPEN", "", "EVENT ", " EVENT", "CLOSEDX", "OK\n"]
)
def test_is_standard_label_false(label: str) -> None:
    assert is_standard_label(label) is False


# --- get_label --------------------------------------------------------------------------------


def _both(text: str) -> list[str | bytes]:
    return [text, text.encode()]


def _cases(table: list[tuple[str, str]]) -> list[Any]:
    out = []
    for text, label in table:
        out.append(pytest.param(text, label, id=f"str:{text[:30]!r}"))
        out.append(pytest.param(text.encode(), label, id=f"bytes:{text[:30]!r}"))
    return out


FAST = [
    ('["EVENT",{"id":"a"}]', "EVENT"),
    ('["EVENT","sub",{"id":"a"}]', "EVENT"),
    ('["REQ","sub",{}]', "REQ"),
    ('["EOSE"]', "EOSE"),
    ('["OK","id",true,""]', "OK"),
    ('["COUNT","q",{"count":1}]', "COUNT"),
    ('["NEG-OPEN","n",{},"00"]', "NEG-OPEN"),
    ('["",1]', ""),
    ('["with space",1]', "with space"),
    ('["\'!#$%&()*+,-./:;<=>?@[]^_`{|}~",1]', "'!#$%&()*+,-./:;<=>?@[]^_`{|}~"),
    (' \t\r\n[ \t\r\n"EVENT" \t\r\n, {}]', "EVENT"),
    ('[ "AUTH" ]', "AUTH"),
    ('["EVENT"\n\n]', "EVENT"),
]


@pytest.mark.parametrize(("env", "label"), _cases(FAST))
def test_fast_path_reads_the_front_without_decoding(
    env: str | bytes, label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_decode(_env: object) -> list[Any]:
        raise AssertionError("the fast path must not decode the envelope")

    monkeypatch.setattr(labels_module, "decode_array", no_decode)
    got = get_label(env)
    assert got == label
    assert type(got) is str


def test_fast_path_cost_does_not_depend_on_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    # Documented: the fast path does not validate what follows the label; find_* does.
    monkeypatch.setattr(labels_module, "decode_array", None)
    huge = '["EVENT",{"content":"' + "x" * 1_000_000 + '"}]'
    assert get_label(huge) == "EVENT"
    assert get_label('["EVENT",') == "EVENT"


SLOW = [
    ('["EV\\u0045NT",1]', "EVENT"),
    ('["a\\"b",1]', 'a"b'),
    ('["a\\\\b"]', "a\\b"),
    ('["\\/"]', "/"),
    ('["ÉVÉNEMENT",{}]', "ÉVÉNEMENT"),
    ('["日本語"]', "日本語"),
    ('["😀",1]', "😀"),
    (' [ "\\u0045OSE" , "x" ] ', "EOSE"),
]


@pytest.mark.parametrize(("env", "label"), _cases(SLOW))
def test_slow_path_decodes_unusual_labels(env: str | bytes, label: str) -> None:
    assert get_label(env) == label


@pytest.mark.parametrize(
    ("env", "label"),
    _cases([('["EV\\u0045NT",1]', "EVENT"), ('["ÉVÉNEMENT",{}]', "ÉVÉNEMENT")]),
)
def test_slow_path_decodes_once(
    env: str | bytes, label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    real = labels_module.decode_array

    def spy(arg: str | bytes) -> list[Any]:
        calls.append(arg)
        return real(arg)

    monkeypatch.setattr(labels_module, "decode_array", spy)
    assert get_label(env) == label
    assert calls == [env]


def test_str_subclass_takes_the_slow_path() -> None:
    class Text(str):
        pass

    assert get_label(Text('["EVENT",{}]')) == "EVENT"


@pytest.mark.parametrize(
    ("env", "error", "message"),
    [
        *[
            pytest.param(e, InvalidEnvelope, f"invalid envelope: expected a JSON array, got {g}")
            for text, g in [
                ("{}", "object"),
                ('{"EVENT":1}', "object"),
                ('"EVENT"', "string"),
                ("null", "null"),
                ("1", "number"),
                ("true", "boolean"),
            ]
            for e in _both(text)
        ],
        *[
            pytest.param(
                e, InvalidEnvelope, "invalid envelope: expected at least 1 elements, got 0"
            )
            for text in ["[]", " [ ] "]
            for e in _both(text)
        ],
        *[
            pytest.param(
                e,
                WrongFieldType,
                f"wrong field type for envelope label: expected string, got {g}",
            )
            for text, g in [
                ("[1]", "number"),
                ('[1,"EVENT"]', "number"),
                ("[1.5]", "number"),
                ('[null,"x"]', "null"),
                ("[true]", "boolean"),
                ('[["EVENT"]]', "array"),
                ('[{"a":1}]', "object"),
            ]
            for e in _both(text)
        ],
    ],
)
def test_get_label_errors(env: str | bytes, error: type[RootsError], message: str) -> None:
    with pytest.raises(error) as info:
        get_label(env)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "env",
    [
        *[
            e
            for text in [
                "",
                "   ",
                "hello",
                "[EVENT]",
                "['EVENT']",
                '["EVENT"',
                '["EVENT" x',
                '["EVENT"}',
                '"EVENT",1]',
                "\x0c" + '["EVENT",1]',
                "\x00",
                '\x00["EVENT"]',
                "[" * 100_000,
                '["EV\\u0045NT"',
            ]
            for e in _both(text)
        ],
        b"\xff\xfe",
        b'["\xff"]',
        b'["\xc3\xa9',
    ],
    ids=lambda e: repr(e)[:40],
)
def test_get_label_garbage_is_invalid_json(env: str | bytes) -> None:
    with pytest.raises(InvalidJSON):
        get_label(env)


@pytest.mark.parametrize(
    ("env", "found"),
    [
        (None, "NoneType"),
        (5, "int"),
        (["EVENT"], "list"),
        (bytearray(b'["EVENT"]'), "bytearray"),
    ],
    ids=repr,
)
def test_get_label_refuses_non_text(env: Any, found: str) -> None:
    with pytest.raises(WrongFieldType) as info:
        get_label(env)
    assert (info.value.position, info.value.expected, info.value.got) == (
        "envelope",
        "str or bytes",
        found,
    )


@pytest.mark.parametrize("label", sorted(STANDARD))
@pytest.mark.parametrize("encode", [str, str.encode], ids=["str", "bytes"])
def test_get_label_of_every_standard_label(label: str, encode: Callable[[str], Any]) -> None:
    assert get_label(encode(f'["{label}","x"]')) == label
