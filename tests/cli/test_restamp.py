"""The demo's Restamper: corpus events re-signed with a new date, references kept right."""

from __future__ import annotations

import io
from typing import Any

import pytest

from rx_honeybee.cli.corpus import HANDLES, Restamper, author_keys, secret_key
from rx_honeybee.cli.demo import load_corpus, run_demo
from rx_honeybee.verify import verify_event
from tests.support import make_event

NOW = 1_800_000_000
CORPUS = load_corpus()
NIP01_ORDER = ["id", "pubkey", "created_at", "kind", "tags", "content", "sig"]


def _body(event: dict[str, Any]) -> tuple[Any, ...]:
    """What makes an event's id, but for its date."""
    return (event["pubkey"], event["kind"], repr(event["tags"]), event["content"])


def test_the_keys_are_the_corpus_authors() -> None:
    keys = author_keys()
    assert set(keys) == {event["pubkey"] for event in CORPUS}
    assert sorted(keys.values()) == sorted(secret_key(handle) for handle in HANDLES)


def test_the_corpus_restamped_in_thirds_verifies_with_new_dates_and_references() -> None:
    restamper = Restamper(author_keys())
    third = len(CORPUS) // 3
    parts = [CORPUS[:third], CORPUS[third : 2 * third], CORPUS[2 * third :]]
    nows = [NOW, NOW + 100, NOW + 200]
    fresh = [restamper.restamp(part, now) for part, now in zip(parts, nows, strict=True)]

    new_ids = {e["id"] for part in fresh for e in part}
    assert len(new_ids) == len(CORPUS)  # nothing a relay would take for a duplicate
    assert not new_ids & {e["id"] for e in CORPUS}
    for old_part, new_part, now in zip(parts, fresh, nows, strict=True):
        bodies: set[tuple[Any, ...]] = set()
        for old, new in zip(old_part, new_part, strict=True):
            assert verify_event(new)
            assert list(new) == NIP01_ORDER
            assert restamper.ids[old["id"]] == new["id"]
            assert (new["pubkey"], new["kind"], new["content"]) == (
                old["pubkey"],
                old["kind"],
                old["content"],
            )
            # the date is `now`, but for a note repeating an earlier one of the same call
            repeat = _body(old) in bodies
            bodies.add(_body(old))
            assert new["created_at"] == now or (repeat and now - 5 < new["created_at"] < now)
            # references: each id of the old corpus now names the restamped event
            assert len(new["tags"]) == len(old["tags"])
            for old_tag, new_tag in zip(old["tags"], new["tags"], strict=True):
                if old_tag[0] == "e":
                    assert new_tag == [old_tag[0], restamper.ids[old_tag[1]], *old_tag[2:]]
                    assert new_tag[1] in new_ids
                else:
                    assert new_tag == old_tag
    stepped_back = [
        e for part, now in zip(fresh, nows, strict=True) for e in part if e["created_at"] != now
    ]
    assert stepped_back  # the corpus has such repeats: the rule above was exercised
    assert sum(any(t[0] == "e" for t in e["tags"]) for part in fresh for e in part) >= 40


def test_the_same_event_twice_in_one_second_gets_a_new_id_a_second_earlier() -> None:
    restamper = Restamper(author_keys())
    event = CORPUS[0]
    first = restamper.restamp([event], NOW)[0]
    second = restamper.restamp([event], NOW)[0]
    assert first["created_at"] == NOW and second["created_at"] == NOW - 1
    assert first["id"] != second["id"] and verify_event(second)
    assert restamper.ids[event["id"]] == second["id"]  # references name the latest copy


def test_an_unknown_author_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        Restamper(author_keys()).restamp([make_event(1)], NOW)


@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_the_demo_in_process_delivers_everything_once_verified() -> None:
    out = io.StringIO()
    assert await run_demo(out) == 0
    text = out.getvalue()
    assert "signatures verified by relay and client" in text
    assert "207 published, 207 accepted, 207 streamed back, 0 repeats, 0 missing" in text
