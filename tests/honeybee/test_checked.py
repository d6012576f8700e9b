"""EventChecker: every delivered event's shape, id and BIP-340 signature, each event once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import coincurve
import pytest
import ujson
from hypothesis import given, settings
from hypothesis import strategies as st

import rx_honeybee.checked as checked_module
from rx_honeybee.checked import EventChecker, _preimage
from rx_honeybee.verify import sign_event
from rx_roots import InvalidEvent, MissingField, WrongFieldType, serialize_for_id
from tests.roots.samples import json_values, texts
from tests.roots.samples import make_event as make_hashed_event
from tests.support import make_event as make_shaped_event

SK = "7f" * 32
OTHER_SK = "3c" * 32
AUX = bytes(range(32))
OFF_CURVE = (5).to_bytes(32, "big").hex()  # no point of secp256k1 has this x
FIELDS = ("id", "pubkey", "created_at", "kind", "tags", "content", "sig")

_REAL = json.loads((Path(__file__).parent.parent / "data" / "real_events.json").read_text())
PROFILE, BAD_SIGNATURE = _REAL[0], _REAL[3]


def signed(content: str = "gm", *, sk: str = SK, **fields: Any) -> dict[str, Any]:
    template: dict[str, Any] = {
        "created_at": 1_710_000_000,
        "kind": 1,
        "tags": [["t", "nostr"], ["e", "ab" * 32, "wss://relay.example/"]],
        "content": content,
    }
    template.update(fields)
    return sign_event(template, sk, aux_randomness=AUX)


def rejects(checker: EventChecker, event: Any, *words: str) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        checker.check(event)
    for word in words:
        assert word in str(caught.value)
    return caught.value


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The messages (ids) handed to coincurve's Schnorr verify, in order."""
    calls: list[bytes] = []
    real = coincurve.PublicKeyXOnly.verify

    def spy(key: coincurve.PublicKeyXOnly, signature: bytes, message: bytes) -> bool:
        calls.append(message)
        return real(key, signature, message)

    monkeypatch.setattr(coincurve.PublicKeyXOnly, "verify", spy)
    return calls


@pytest.mark.parametrize(
    "content",
    [
        "gm",
        "",
        'line one\nline "two"\t\\ / é 🌅',
        "controls \x00\x01\x08\x0c\x1f and DEL \x7f, U+2028 \u2028",
        "a surrogate pair written apart \ud83c\udf05 and a lone one \ud800",
        "x" * 70_000,
    ],
)
def test_valid_events_pass(content: str) -> None:
    checker = EventChecker()
    checker.check(signed(content, tags=[["t", content[:50]], []]))
    assert (checker.checked, checker.cache_hits, checker.rejected) == (1, 0, 0)


def test_events_signed_elsewhere() -> None:
    checker = EventChecker()
    for event in _REAL[:3]:
        checker.check(event)
    rejects(checker, BAD_SIGNATURE, "bad signature", BAD_SIGNATURE["id"])
    assert (checker.checked, checker.rejected) == (4, 1)


def test_the_fast_serializer_decides_valid_events(monkeypatch: pytest.MonkeyPatch) -> None:
    # compute_event_id (the reference, ~5x slower) is only asked when the fast hash mismatches.
    def refuse(event: object) -> str:
        raise AssertionError("the slow serializer ran")

    monkeypatch.setattr(checked_module, "compute_event_id", refuse)
    checker = EventChecker()
    checker.check(signed('quotes " \\ newline \n controls \x01 \u2028 / é 🌅'))
    checker.check(PROFILE)


def test_wrong_id() -> None:
    event = {**signed(), "id": signed("another")["id"]}
    error = rejects(EventChecker(), event, "id mismatch", event["id"])
    assert error.reason == str(error)


def test_wrong_signature() -> None:
    event = {**signed(), "sig": signed("another")["sig"]}
    rejects(EventChecker(), event, "bad signature", event["id"], event["pubkey"])


def test_accepts_is_check_as_a_relay_verifier() -> None:
    from types import MappingProxyType

    checker = EventChecker()
    good = signed()
    assert checker.accepts(good) and checker.accepts(MappingProxyType(good))  # any mapping
    assert not checker.accepts({**good, "sig": signed("another")["sig"]})
    assert not checker.accepts({**good, "id": signed("another")["id"]})
    assert not checker.accepts({"id": 5})
    assert (checker.checked, checker.rejected) == (5, 3)


def test_signature_by_another_key() -> None:
    event = signed(sk=OTHER_SK)
    forged = {**signed(), "sig": event["sig"]}
    rejects(EventChecker(), forged, "bad signature")


@pytest.mark.parametrize(
    "change",
    [
        {"content": "gm!"},
        {"created_at": 1_710_000_001},
        {"kind": 7},
        {"tags": []},
        {"tags": [["t", "nostr"]]},
        {"pubkey": make_hashed_event()["pubkey"]},
    ],
)
def test_tampered_event_keeping_id_and_signature(change: dict[str, Any]) -> None:
    event = signed()
    rejects(EventChecker(), {**event, **change}, "id mismatch", event["id"])


def test_pubkey_not_on_the_curve() -> None:
    event = make_hashed_event(pubkey=OFF_CURVE)  # a right id, so only the key can fail
    rejects(EventChecker(), event, "bad signature", "not a point", event["id"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sig", "zz" * 64),
        ("sig", "AB" * 64),
        ("sig", "ab" * 63 + " a"),
        ("sig", "ab" * 32),
        ("id", "é" * 64),
        ("id", "AB" * 32),
        ("pubkey", "ab" * 33),
        ("pubkey", 5),
        ("created_at", "1710000000"),
        ("created_at", 1_710_000_000.0),
        ("created_at", True),
        ("created_at", -1),
        ("kind", 65_536),
        ("kind", -1),
        ("kind", None),
        ("tags", [["t", 1]]),
        ("tags", ["t"]),
        ("tags", {}),
        ("content", ["gm"]),
    ],
)
def test_bad_shapes(field: str, value: Any) -> None:
    event = {**signed(), field: value}
    for checker in (EventChecker(), EventChecker(verify=False)):
        rejects(checker, event, "bad shape", field, event["id"] if field != "id" else "")


@pytest.mark.parametrize("field", FIELDS)
def test_missing_fields(field: str) -> None:
    event = signed()
    del event[field]
    for checker in (EventChecker(), EventChecker(verify=False)):
        error = rejects(checker, event, "bad shape", "missing field", field)
        assert isinstance(error.__cause__, InvalidEvent)
        assert isinstance(error.__cause__.__cause__, MissingField)


@pytest.mark.parametrize("event", [None, [], "event", ujson.dumps(signed())])
def test_not_an_object(event: Any) -> None:
    rejects(EventChecker(), event, "bad shape", "object")


def test_the_shown_id_is_cut() -> None:
    event = {**signed(), "id": "i" * 10_000}
    error = rejects(EventChecker(), event, "bad shape")
    assert len(str(error)) < 300


def test_subclasses_take_the_slow_path() -> None:
    class Stamp(int):
        pass

    class Event(dict[str, Any]):
        pass

    event = signed()
    checker = EventChecker()
    checker.check(Event(event))
    checker.check({**event, "created_at": Stamp(event["created_at"])})
    rejects(checker, Event({**event, "content": "x"}), "id mismatch")
    rejects(checker, Event({**event, "sig": signed("x")["sig"]}), "bad signature")
    EventChecker(verify=False).check(Event({**event, "sig": signed("x")["sig"]}))
    assert checker.cache_hits == 0


def test_created_at_too_long_to_write() -> None:
    event = {**signed(), "created_at": 10**5000}
    rejects(EventChecker(), event, "bad shape", "serialize")
    EventChecker(verify=False).check(event)


def test_verify_off_checks_the_shape_only() -> None:
    checker = EventChecker(verify=False)
    event = make_shaped_event(1)  # well formed, neither its id nor its sig is right
    checker.check(event)
    checker.check({**signed(), "content": "tampered"})
    checker.check(make_hashed_event(pubkey=OFF_CURVE))
    rejects(checker, {**event, "kind": "1"}, "bad shape")
    assert (checker.checked, checker.cache_hits, checker.rejected) == (4, 0, 1)


def test_an_event_is_verified_once(verify_calls: list[bytes]) -> None:
    checker = EventChecker()
    event = signed()
    checker.check(event)
    checker.check(event)
    checker.check(ujson.loads(ujson.dumps(event)))  # as another relay delivers it
    assert len(verify_calls) == 1
    assert (checker.checked, checker.cache_hits, checker.rejected) == (3, 2, 0)


def test_a_cached_id_does_not_vouch_for_a_tampered_copy(verify_calls: list[bytes]) -> None:
    checker = EventChecker()
    event = signed()
    checker.check(event)
    rejects(checker, {**event, "content": "tampered"}, "id mismatch")
    rejects(checker, {**event, "sig": signed("x")["sig"]}, "bad signature")
    rejects(checker, {**event, "kind": True}, "bad shape")  # True == 1
    rejects(checker, {**event, "created_at": float(event["created_at"])}, "bad shape")
    rejects(checker, {**event, "tags": [tuple(tag) for tag in event["tags"]]}, "bad shape")
    assert (checker.cache_hits, checker.rejected) == (0, 5)
    checker.check(event)
    assert checker.cache_hits == 1


def test_mutating_a_delivered_event_does_not_poison_the_cache() -> None:
    checker = EventChecker()
    event = signed()
    checker.check(event)
    event["content"] = "decrypted by a subscriber"
    event["tags"][0].append("added")
    rejects(checker, ujson.loads(ujson.dumps(event)), "id mismatch")
    checker.check(signed())
    assert checker.cache_hits == 1


def test_extra_keys_are_allowed_and_not_signed(verify_calls: list[bytes]) -> None:
    checker = EventChecker()
    event = {**signed(), "seen_on": ["wss://a"]}
    checker.check(event)
    checker.check({**event, "seen_on": ["wss://b"]})  # not part of the id: the same event
    assert len(verify_calls) == 1 and checker.cache_hits == 1


def test_caches_stay_bounded(verify_calls: list[bytes]) -> None:
    checker = EventChecker(cache_size=3)
    keys = [f"{n:02x}" * 32 for n in range(1, 11)]
    events = [signed(f"note {n}", sk=key) for n, key in enumerate(keys)]
    for event in events:
        checker.check(event)
        assert len(checker._seen) <= 3
        assert len(checker._keys) <= 3
    checker.check(events[-1])
    assert checker.cache_hits == 1
    checker.check(events[0])  # evicted, oldest first: verified again
    assert checker.cache_hits == 1
    assert len(verify_calls) == 11


def test_no_cache() -> None:
    checker = EventChecker(cache_size=0)
    event = signed()
    checker.check(event)
    checker.check(event)
    assert checker.cache_hits == 0
    assert not checker._seen and not checker._keys
    with pytest.raises(ValueError, match="cache_size"):
        EventChecker(cache_size=-1)


def test_the_cache_is_per_checker() -> None:
    event = signed()
    first, second = EventChecker(), EventChecker()
    first.check(event)
    second.check(event)
    assert (first.cache_hits, second.cache_hits) == (0, 0)


hex64 = st.from_regex(r"\A[0-9a-f]{64}\Z")
fields = {
    "id": hex64 | json_values,
    "pubkey": hex64 | st.just(OFF_CURVE) | json_values,
    "created_at": st.integers(min_value=-5, max_value=2**70) | json_values,
    "kind": st.integers(min_value=-5, max_value=70_000) | json_values,
    "tags": st.lists(st.lists(st.text(), max_size=3), max_size=3) | json_values,
    "content": st.text() | json_values,
    "sig": st.from_regex(r"\A[0-9a-f]{128}\Z") | json_values,
}
event_like = st.fixed_dictionaries({}, optional=fields) | st.dictionaries(
    st.text(max_size=8), json_values, max_size=8
)


@settings(max_examples=300, deadline=None)
@given(event=event_like | json_values, verify=st.booleans())
def test_anything_raises_only_invalid_event(event: Any, verify: bool) -> None:
    checker = EventChecker(verify=verify)
    for _ in range(2):  # the second time through the caches
        try:
            checker.check(event)
        except InvalidEvent as error:
            assert str(error).startswith(("bad shape: ", "id mismatch: ", "bad signature: "))


@settings(max_examples=100, deadline=None)
@given(
    content=st.text(),
    tags=st.lists(st.lists(st.text(max_size=10), max_size=3), max_size=3),
    created_at=st.integers(min_value=0, max_value=2**70),
    kind=st.integers(min_value=0, max_value=65535),
)
def test_signed_events_pass_and_tampered_ones_fail(
    content: str, tags: list[list[str]], created_at: int, kind: int
) -> None:
    event = sign_event(
        {"created_at": created_at, "kind": kind, "tags": tags, "content": content},
        SK,
        aux_randomness=AUX,
    )
    checker = EventChecker()
    checker.check(event)
    checker.check(event)
    assert checker.cache_hits == 1
    with pytest.raises(InvalidEvent):
        checker.check({**event, "content": content + "."})


@given(
    content=texts,
    tags=st.lists(st.lists(texts, max_size=3), max_size=3),
    created_at=st.integers(min_value=0, max_value=2**70),
)
def test_the_fast_preimage_is_nip01s(content: str, tags: list[list[str]], created_at: int) -> None:
    event = make_hashed_event(created_at=created_at, tags=tags, content=content)
    assert _preimage(event) == serialize_for_id(event)


def test_the_preimage_leaves_lone_surrogates_to_the_reference() -> None:
    with pytest.raises(ValueError):
        _preimage(make_hashed_event(content="\ud800"))
    with pytest.raises(WrongFieldType):
        serialize_for_id({**make_hashed_event(), "kind": "1"})
