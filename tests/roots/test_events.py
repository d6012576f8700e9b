"""NIP-01 event ids: serialize_for_id, compute_event_id, check_event_shape, is_valid_event_id."""

from __future__ import annotations

import enum
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rx_roots import (
    MissingField,
    RootsError,
    WrongFieldType,
    check_event_shape,
    compute_event_id,
    is_valid_event_id,
    serialize_for_id,
)

FAST = settings(max_examples=300, deadline=None)

# Events signed by other clients and published on relays (public data, found as test vectors
# in other projects' repositories). Their ids were computed by someone else's serializer, so
# matching them checks ours from outside: a profile whose content is JSON (quotes, "/" in
# URLs), a note with an "r" tag, a note with newlines and e/p tags, and a NIP-46 payload
# (base64 with "/" and "+"; its id is right, its signature is not: see test_verify.py).
REAL_EVENTS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "data" / "real_events.json").read_text()
)

PK = "a1" * 32
ID = "b2" * 32
SIG = "c3" * 64

# Every character class NIP-01 names, and the ones it leaves raw, in content and in a tag.
TRICKY = 'say "hi" \\o/ C:\\path\n\ttab\r\x08\x0c \x01\x1f\x7f \u2028\u2029 é 日本 😀 / </script>'
# The id of TRICKY_EVENT, computed once by hand-building the array with
# json.dumps(..., separators=(",", ":"), ensure_ascii=False), which agrees with NIP-01 here.
TRICKY_ID = "8682e6a1d74d9ca48d035fd9855c1e23d3eeb2d21e21745fc11a10070c33f22e"


def _event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": ID,
        "pubkey": PK,
        "created_at": 1_700_000_000,
        "kind": 1,
        "tags": [["t", "nostr"], ["p", PK, "wss://relay.example/"]],
        "content": "hello",
        "sig": SIG,
    }
    event.update(overrides)
    return event


TRICKY_EVENT = _event(content=TRICKY, tags=[["t", TRICKY], []])


def _json_dumps_serialization(event: dict[str, Any]) -> bytes:
    """The reference: Python's JSON encoder, compact, non-ASCII kept raw."""
    array = [0, event["pubkey"], event["created_at"], event["kind"], event["tags"]]
    array.append(event["content"])
    return json.dumps(array, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _content_bytes(content: str) -> bytes:
    """What serialize_for_id writes for ``content`` between its quotes."""
    serial = serialize_for_id(_event(content=content, tags=[]))
    prefix = f'[0,"{PK}",1700000000,1,[],"'.encode()
    assert serial.startswith(prefix) and serial.endswith(b'"]')
    return serial[len(prefix) : -2]


# --- known vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize("event", REAL_EVENTS, ids=lambda e: e["id"][:8])
def test_ids_of_events_signed_elsewhere(event: dict[str, Any]) -> None:
    assert compute_event_id(event) == event["id"]
    assert is_valid_event_id(event)


@pytest.mark.parametrize("event", REAL_EVENTS, ids=lambda e: e["id"][:8])
def test_real_events_agree_with_json_dumps(event: dict[str, Any]) -> None:
    assert serialize_for_id(event) == _json_dumps_serialization(event)


def test_hand_built_vector() -> None:
    reference = _json_dumps_serialization(TRICKY_EVENT)
    assert hashlib.sha256(reference).hexdigest() == TRICKY_ID
    assert serialize_for_id(TRICKY_EVENT) == reference
    assert compute_event_id(TRICKY_EVENT) == TRICKY_ID
    assert is_valid_event_id({**TRICKY_EVENT, "id": TRICKY_ID})


def test_exact_bytes() -> None:
    event = {
        "pubkey": "ab",
        "created_at": 0,
        "kind": 7,
        "tags": [["e", "x"], [], ["a", "b", "c"]],
        "content": '"+"\n',
    }
    assert serialize_for_id(event) == b'[0,"ab",0,7,[["e","x"],[],["a","b","c"]],"\\"+\\"\\n"]'
    assert compute_event_id(event) == hashlib.sha256(serialize_for_id(event)).hexdigest()


def test_no_tags_and_empty_content() -> None:
    event = {"pubkey": PK, "created_at": 1, "kind": 0, "tags": [], "content": ""}
    assert serialize_for_id(event) == f'[0,"{PK}",1,0,[],""]'.encode()


# --- escaping rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "written"),
    [
        ('"', '\\"'),
        ("\\", "\\\\"),
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\b", "\\b"),
        ("\f", "\\f"),
        ("\x00", "\\u0000"),
        ("\x01", "\\u0001"),
        ("\x0b", "\\u000b"),  # vertical tab: JSON has no short escape for it
        ("\x1b", "\\u001b"),
        ("\x1f", "\\u001f"),  # lowercase hex, as JSON.stringify and serde_json write it
    ],
)
def test_escaped_characters(char: str, written: str) -> None:
    assert _content_bytes(f"a{char}b") == f"a{written}b".encode()


@pytest.mark.parametrize(
    "char",
    [" ", "/", "'", "<", "&", "\x7f", "\x80", "\x85", "\xa0", "é", "\u2028", "\u2029", "日"]
    + ["\ufeff", "\uffff", "😀", "\U0010ffff"],
)
def test_raw_characters(char: str) -> None:
    assert _content_bytes(f"a{char}b") == f"a{char}b".encode()


def test_every_ascii_character_agrees_with_json_dumps() -> None:
    for code in range(0x80):
        event = _event(content=chr(code), tags=[[chr(code)]])
        assert serialize_for_id(event) == _json_dumps_serialization(event), hex(code)


def test_tags_and_pubkey_are_escaped_like_content() -> None:
    event = _event(pubkey='"\\', tags=[[TRICKY]], content="")
    expected = '[0,"\\"\\\\",1700000000,1,[["' + json.dumps(TRICKY, ensure_ascii=False)[1:-1]
    assert serialize_for_id(event) == (expected + '"]],""]').encode()


def test_extra_keys_and_key_order_do_not_matter() -> None:
    event = _event()
    shuffled = dict(reversed(list(event.items())))
    shuffled["extra"] = object()
    assert serialize_for_id(shuffled) == serialize_for_id(event)


@pytest.mark.parametrize("created_at", [0, -1, 2**53 + 1, 2**70])
def test_integers_are_written_exactly(created_at: int) -> None:
    assert f",{created_at},1,".encode() in serialize_for_id(_event(created_at=created_at))


def test_int_and_str_subclasses_are_written_as_their_values() -> None:
    class Kind(enum.IntEnum):
        NOTE = 1

    class Text(str):
        def __str__(self) -> str:
            return "not this"

    plain = serialize_for_id(_event(kind=1, content="x"))
    assert serialize_for_id(_event(kind=Kind.NOTE, content=Text("x"))) == plain


# --- surrogates: no UTF-8 form; written as JSON.stringify writes them -------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("\ud800", "\\ud800"),
        ("\udfff", "\\udfff"),
        ("a\udc00b\ud8ff", "a\\udc00b\\ud8ff"),
        ("\ud83d\ude00", "😀"),  # a high/low pair is the character it encodes
        ("\ude00\ud83d", "\\ude00\\ud83d"),  # the wrong way round: two lone halves
        ("\ud83d\ud83d\ude00", "\\ud83d😀"),
        ('\ud800"\n', '\\ud800\\"\\n'),
    ],
)
def test_surrogates(text: str, written: str) -> None:
    assert _content_bytes(text) == written.encode()


def test_surrogates_in_tags() -> None:
    serial = serialize_for_id(_event(tags=[["t", "\udabc"]], content="😀"))
    assert b'[["t","\\udabc"]]' in serial
    assert serial.endswith('"😀"]'.encode())


# --- errors from serialize_for_id -------------------------------------------------------------


@pytest.mark.parametrize("event", [None, [], "{}", b"{}", 1, ["pubkey"]])
def test_not_a_mapping(event: Any) -> None:
    with pytest.raises(WrongFieldType) as info:
        serialize_for_id(event)
    assert info.value.position == "event"
    assert info.value.expected == "object"


@pytest.mark.parametrize(
    ("name", "index"), [("pubkey", 1), ("created_at", 2), ("kind", 3), ("tags", 4), ("content", 5)]
)
def test_missing_field(name: str, index: int) -> None:
    event = _event()
    del event[name]
    with pytest.raises(MissingField) as info:
        serialize_for_id(event)
    assert (info.value.position, info.value.index) == (f"event {name}", index)
    assert isinstance(info.value, ValueError)


def test_id_and_sig_are_not_needed() -> None:
    event = _event()
    del event["id"], event["sig"]
    assert compute_event_id(event) == compute_event_id(_event())


@pytest.mark.parametrize(
    ("overrides", "position", "expected", "got"),
    [
        ({"pubkey": 1}, "event pubkey", "string", "number"),
        ({"pubkey": None}, "event pubkey", "string", "null"),
        ({"created_at": True}, "event created_at", "integer", "boolean"),
        ({"created_at": 1.0}, "event created_at", "integer", "number"),
        ({"created_at": "1"}, "event created_at", "integer", "string"),
        ({"kind": False}, "event kind", "integer", "boolean"),
        ({"kind": None}, "event kind", "integer", "null"),
        ({"tags": None}, "event tags", "array", "null"),
        ({"tags": (("t", "x"),)}, "event tags", "array", "tuple"),
        ({"tags": {"t": "x"}}, "event tags", "array", "object"),
        ({"tags": [["t"], "x"]}, "event tags[1]", "array", "string"),
        ({"tags": [["t", 1]]}, "event tags[0][1]", "string", "number"),
        ({"tags": [[], ["t", None]]}, "event tags[1][1]", "string", "null"),
        ({"content": None}, "event content", "string", "null"),
        ({"content": b"x"}, "event content", "string", "bytes"),
    ],
)
def test_wrong_field_type(
    overrides: dict[str, Any], position: str, expected: str, got: str
) -> None:
    for function in (serialize_for_id, compute_event_id, check_event_shape):
        with pytest.raises(WrongFieldType) as info:
            function(_event(**overrides))
        assert (info.value.position, info.value.expected, info.value.got) == (
            position,
            expected,
            got,
        )
    assert not is_valid_event_id(_event(**overrides))


# --- check_event_shape ------------------------------------------------------------------------


def test_shape_accepts_a_well_formed_event() -> None:
    check_event_shape(_event())
    check_event_shape(_event(kind=0, tags=[], content="", created_at=0))
    check_event_shape(_event(kind=65535, extra="ignored"))
    for event in REAL_EVENTS:
        check_event_shape(event)


@pytest.mark.parametrize(("name", "index"), [("id", 0), ("sig", 6), ("pubkey", 1), ("kind", 3)])
def test_shape_missing_field(name: str, index: int) -> None:
    event = _event()
    del event[name]
    with pytest.raises(MissingField) as info:
        check_event_shape(event)
    assert (info.value.position, info.value.index) == (f"event {name}", index)
    assert f"missing field: event {name} (element {index})" == str(info.value)


@pytest.mark.parametrize("name", ["id", "pubkey", "sig"])
@pytest.mark.parametrize(
    "make_bad",
    [
        lambda good: good.upper(),
        lambda good: good[:-1],
        lambda good: good + "0",
        lambda good: "g" + good[1:],
        lambda good: " " + good[1:],
        lambda good: good[:-1] + "\n",
        lambda good: "",
        lambda good: "٣" + good[1:],  # a non-ASCII digit
    ],
)
def test_shape_hex_fields(name: str, make_bad: Any) -> None:
    good = _event()[name]
    with pytest.raises(WrongFieldType) as info:
        check_event_shape(_event(**{name: make_bad(good)}))
    assert info.value.position == f"event {name}"
    assert info.value.expected == f"{len(good)} lowercase hex characters"


def test_shape_hex_error_message_is_short() -> None:
    with pytest.raises(WrongFieldType) as info:
        check_event_shape(_event(sig="Z" * 500))
    assert info.value.got == "'ZZZZZZZZZZZZZZZZZZZZ'... (500 chars)"
    with pytest.raises(WrongFieldType) as info:
        check_event_shape(_event(id="abc"))
    assert info.value.got == "'abc' (3 chars)"
    assert str(info.value) == (
        "wrong field type for event id: expected 64 lowercase hex characters, got 'abc' (3 chars)"
    )


@pytest.mark.parametrize("name", ["id", "sig"])
def test_shape_hex_field_type(name: str) -> None:
    with pytest.raises(WrongFieldType) as info:
        check_event_shape(_event(**{name: 7}))
    assert (info.value.expected, info.value.got) == ("string", "number")


@pytest.mark.parametrize("kind", [-1, 65536, 2**64])
def test_shape_kind_range(kind: int) -> None:
    with pytest.raises(WrongFieldType) as info:
        check_event_shape(_event(kind=kind))
    assert (info.value.position, info.value.got) == ("event kind", str(kind))
    assert info.value.expected == "integer from 0 to 65535"
    compute_event_id(_event(kind=kind))  # the id itself is still defined


def test_shape_checks_fields_in_nip01_order() -> None:
    everything_wrong = {
        "id": 1,
        "pubkey": 1,
        "created_at": "x",
        "kind": "x",
        "tags": 1,
        "content": 1,
        "sig": 1,
    }
    for name in ("id", "pubkey", "created_at", "kind", "tags", "content", "sig"):
        with pytest.raises(WrongFieldType) as info:
            check_event_shape(everything_wrong)
        assert info.value.position == f"event {name}"
        everything_wrong[name] = _event()[name]
    check_event_shape(everything_wrong)


@pytest.mark.parametrize("event", [None, [], "event", 3])
def test_shape_not_a_mapping(event: Any) -> None:
    with pytest.raises(WrongFieldType):
        check_event_shape(event)
    assert not is_valid_event_id(event)


# --- is_valid_event_id -----------------------------------------------------------------------


def test_is_valid_event_id_detects_tampering() -> None:
    event = dict(REAL_EVENTS[2])
    assert is_valid_event_id(event)
    for name, value in [
        ("content", event["content"] + " "),
        ("created_at", event["created_at"] + 1),
        ("kind", 2),
        ("tags", event["tags"][:-1]),
        ("tags", [*event["tags"][:-1], [*event["tags"][-1], ""]]),
        ("pubkey", "0" + event["pubkey"][1:]),
        ("id", "0" * 64),
    ]:
        assert not is_valid_event_id({**event, name: value}), name
    assert is_valid_event_id({**event, "sig": "0" * 128})  # the signature is not its business


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"id": REAL_EVENTS[1]["id"]},
        {**REAL_EVENTS[1], "id": REAL_EVENTS[1]["id"].upper()},
        {k: v for k, v in REAL_EVENTS[1].items() if k != "sig"},
        {**REAL_EVENTS[1], "kind": True},
    ],
)
def test_is_valid_event_id_never_raises(event: Any) -> None:
    assert is_valid_event_id(event) is False


def test_errors_are_roots_errors() -> None:
    with pytest.raises(RootsError):
        check_event_shape({})


# --- properties -------------------------------------------------------------------------------

hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
# Any Unicode text without surrogates: NIP-01's rules and json.dumps(ensure_ascii=False)
# agree on every such string (both escape exactly '"', '\\' and U+0000..U+001F, with the same
# short forms and lowercase \u00xx), so json.dumps is a full oracle here.
texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80)
tags = st.lists(st.lists(texts, max_size=4), max_size=4)
signed_events = st.fixed_dictionaries(
    {
        "id": hex64,
        "pubkey": hex64,
        "created_at": st.integers(min_value=0, max_value=2**63),
        "kind": st.integers(min_value=0, max_value=65535),
        "tags": tags,
        "content": texts,
        "sig": st.text(alphabet="0123456789abcdef", min_size=128, max_size=128),
    }
)


@FAST
@given(signed_events)
def test_property_matches_json_dumps(event: dict[str, Any]) -> None:
    check_event_shape(event)
    event_id = compute_event_id(event)
    assert event_id == hashlib.sha256(_json_dumps_serialization(event)).hexdigest()
    assert len(event_id) == 64 and event_id == event_id.lower()
    assert is_valid_event_id({**event, "id": event_id})
    assert not is_valid_event_id({**event, "id": event_id, "content": event["content"] + "."})


@FAST
@given(signed_events)
def test_property_serialization_decodes_back(event: dict[str, Any]) -> None:
    serial = serialize_for_id(event)
    assert json.loads(serial) == [
        0,
        event["pubkey"],
        event["created_at"],
        event["kind"],
        event["tags"],
        event["content"],
    ]


with_surrogates = st.text(
    alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.characters(),
    max_size=40,
)


@FAST
@given(with_surrogates, st.lists(with_surrogates, max_size=3))
def test_property_surrogates_never_raise(content: str, tag: list[str]) -> None:
    event = _event(content=content, tags=[tag])
    decoded = json.loads(serialize_for_id(event).decode("utf-8"))  # strict UTF-8 decode

    def joined(text: str) -> str:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")

    assert decoded[4] == [[joined(t) for t in tag]]
    assert decoded[5] == joined(content)
    assert len(compute_event_id(event)) == 64
