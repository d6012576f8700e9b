"""The shipped demo corpus (rx_honeybee/data/corpus.jsonl): real, signed, varied events."""

from __future__ import annotations

import collections
import importlib.resources
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from rx_honeybee.verify import verify_event
from rx_roots import check_event_shape, compute_event_id

ROOT = Path(__file__).resolve().parents[2]


def _corpus_text() -> str:
    return (
        importlib.resources.files("rx_honeybee")
        .joinpath("data/corpus.jsonl")
        .read_text(encoding="utf-8")
    )


CORPUS: list[dict[str, Any]] = [json.loads(line) for line in _corpus_text().splitlines()]


def test_size_and_kinds() -> None:
    assert len(CORPUS) >= 150
    kinds = collections.Counter(event["kind"] for event in CORPUS)
    assert {0, 1, 3, 7, 30023} <= kinds.keys()
    assert kinds[1] >= 100
    assert len({event["pubkey"] for event in CORPUS}) == 5


@pytest.mark.parametrize("event", CORPUS, ids=lambda e: e["id"][:12])
def test_every_event_is_shape_valid_and_verifies(event: dict[str, Any]) -> None:
    check_event_shape(event)
    assert compute_event_id(event) == event["id"]
    assert verify_event(event)
    assert list(event) == ["id", "pubkey", "created_at", "kind", "tags", "content", "sig"]


def test_ids_are_unique() -> None:
    ids = [event["id"] for event in CORPUS]
    assert len(set(ids)) == len(ids)


def test_lines_are_compact_utf8_json() -> None:
    for line, event in zip(_corpus_text().splitlines(), CORPUS, strict=True):
        assert line == json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def test_notes_are_varied() -> None:
    notes = [event for event in CORPUS if event["kind"] == 1]
    lengths = [len(note["content"]) for note in notes]
    assert min(lengths) >= 20 and max(lengths) <= 1500
    assert max(lengths) > 1000 and sum(n < 100 for n in lengths) > 20
    assert sum(not note["content"].isascii() for note in notes) > 20
    for name in ("e", "p", "t"):
        assert sum(any(tag[0] == name for tag in note["tags"]) for note in notes) >= 10, name


def test_replaceable_and_addressable_events_are_not_superseded() -> None:
    # The demo waits for every event to stream back, so none may replace another.
    profiles = [(e["pubkey"], e["kind"]) for e in CORPUS if e["kind"] in (0, 3)]
    assert len(set(profiles)) == len(profiles) == 10
    articles = [e for e in CORPUS if e["kind"] == 30023]
    addresses = {(e["pubkey"], next(t[1] for t in e["tags"] if t[0] == "d")) for e in articles}
    assert len(addresses) == len(articles) >= 2


def test_references_point_inside_the_corpus_and_into_the_past() -> None:
    by_id = {event["id"]: event for event in CORPUS}
    for event in CORPUS:
        for tag in event["tags"]:
            if tag[0] == "e":
                assert tag[1] in by_id
                assert by_id[tag[1]]["created_at"] <= event["created_at"]


def test_created_at_spans_a_few_days_of_2024_in_order() -> None:
    times = [event["created_at"] for event in CORPUS]
    assert times == sorted(times)
    assert 1_704_067_200 <= times[0] and times[-1] < 1_735_689_600  # within 2024
    assert 2 * 86_400 < times[-1] - times[0] < 7 * 86_400


def test_the_script_reproduces_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "scripts/make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_corpus", module)  # dataclasses look it up there
    spec.loader.exec_module(module)
    out = tmp_path / "corpus.jsonl"
    assert module.main(["--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == _corpus_text()
    assert module.main(["--out", str(out), "--check"]) == 0
    out.write_text("stale\n", encoding="utf-8")
    assert module.main(["--out", str(out), "--check"]) == 1
