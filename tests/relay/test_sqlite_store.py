"""The SQLite event store: the memory store's answers, kept on disk, written off the loop.

The store-level tests of tests/testing/test_store.py and tests/relay/test_store_index.py run
against both stores; these cover what only the SQLite store has: a property test against
:func:`rx_roots.select` and :class:`EventStore`, persistence across instances, the writer
thread, failed writes and closing.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import ujson
from hypothesis import given, settings
from hypothesis import strategies as st

from rx_honeybee.errors import InvalidState
from rx_honeybee.relay.sqlite_store import SCHEMA_VERSION, SqliteStore
from rx_honeybee.relay.store import DEFAULT_MAX_BYTES, EventStore, Outcome, encoded_size
from rx_honeybee.testing import until
from rx_roots import select
from tests.relay.test_store_index import AUTHORS, KINDS, _event, _hex, events_st, filters_st

pytestmark = [pytest.mark.timeout(60)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "events.db")
    yield store
    store.close()


def _writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "rxnostr-sqlite"]


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("rxnostr-sqlite-read")]


@st.composite
def hitting_filters(draw: st.DrawFn, events: list[dict[str, Any]]) -> dict[str, Any]:
    """A filter built around one of ``events`` (random ones rarely match anything)."""
    if not events or draw(st.integers(0, 3)) == 0:
        return draw(filters_st(events))
    seed = draw(st.sampled_from(events))
    flt: dict[str, Any] = {}
    others = st.lists(st.sampled_from(events), max_size=3)
    if draw(st.integers(0, 3)) == 0:
        flt["ids"] = [seed["id"], *(e["id"] for e in draw(others))]
    if draw(st.booleans()):
        flt["authors"] = [seed["pubkey"], *(e["pubkey"] for e in draw(others))]
    if draw(st.booleans()):
        flt["kinds"] = [seed["kind"], *(e["kind"] for e in draw(others))]
    tags = [tag for tag in seed["tags"] if len(tag) >= 2 and len(tag[0]) == 1]
    if tags and draw(st.integers(0, 3)) > 0:
        letter, value = draw(st.sampled_from(tags))[:2]
        flt[f"#{letter}"] = [value, *draw(st.lists(st.sampled_from(["a", "b", "zz"])))]
    if draw(st.booleans()):
        flt["since"] = seed["created_at"] - draw(st.integers(0, 2))
    if draw(st.booleans()):
        flt["until"] = seed["created_at"] + draw(st.integers(0, 2))
    if draw(st.booleans()):
        flt["limit"] = draw(st.integers(0, 4))
    return flt


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    events=st.lists(events_st, min_size=5, max_size=40),
    cap=st.integers(1, 15),  # small caps: the oldest go, ties among them
    byte_cap=st.sampled_from([DEFAULT_MAX_BYTES, 5000, 2000, 300]),
)
def test_queries_are_select_and_the_memory_stores(
    data: st.DataObject, events: list[dict[str, Any]], cap: int, byte_cap: int
) -> None:
    memory = EventStore(max_events=cap, max_bytes=byte_cap)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "events.db", max_events=cap, max_bytes=byte_cap)
        try:
            for event in events:
                assert store.add(event) is memory.add(event)
            removed = data.draw(st.sampled_from([None, *(e["id"] for e in events)]))
            if removed is not None:
                assert store.remove(removed) is memory.remove(removed)
            stored = list(store)
            assert stored == list(memory) and len(store) == len(memory)
            assert (store.bytes, store.evicted) == (memory.bytes, memory.evicted)
            for _ in range(3):
                filters = data.draw(st.lists(hitting_filters(events), max_size=4))
                max_limit = data.draw(st.none() | st.integers(1, 6))
                expected = select(stored, filters, max_limit=max_limit)
                assert store.query(filters, max_limit=max_limit) == expected
                assert memory.query(filters, max_limit=max_limit) == expected
        finally:
            store.close()


def test_long_lists_and_odd_text_are_matched_exactly(store: SqliteStore) -> None:
    values = ["é", "\U0001f41d", "\ud800", "a\udc00b", "", *(f"v{i}" for i in range(20))]
    events = [
        _event(n, author=n % 5, kind=KINDS[n % 5], tags=[("t", values[n % len(values)])])
        for n in range(60)
    ]
    events.append(_event(99, tags=[("t", "\ud800")]) | {"content": "lone \udfff, ünï"})
    memory = EventStore()
    for event in events:
        assert store.add(event) is memory.add(event)
    assert store.get(events[-1]["id"]) == events[-1]
    long = {
        "ids": [e["id"] for e in events[::3]] + [_hex("id", -1)] * 3,
        "authors": [*AUTHORS, *(_hex("author", i) for i in range(10, 30))],
        "kinds": [*KINDS, *range(100, 120), 2**70],
        "#t": values[:-3],
    }
    filters: list[list[dict[str, Any]]] = [
        [long],
        [{"#t": values[:3]}],  # short lists: bound one by one
        [{"#t": values}, {"kinds": list(range(20))}],  # long ones: one JSON array
        [{"#t": ["\ud800"]}, {"#t": ["a\udc00b", "nothing"]}],
        [{"since": 2**70}, {"until": -(2**70)}, {"kinds": [2**64]}],  # beyond SQLite's ints
        [{"since": -(2**70), "until": 2**70, "limit": 7}],
    ]
    stored = list(store)
    for request in filters:
        expected = select(stored, request)
        assert store.query(request) == expected == memory.query(request)
    assert store.query([{"#t": ["\ud800"]}]) != []


def test_events_outlive_the_store_and_new_caps_apply(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    events = [_event(n, author=n % 3, tags=[("t", f"t{n % 4}")]) for n in range(20)]
    profile = _event(50, kind=0, created_at=1_800_000_000)
    store = SqliteStore(path)
    for event in [*events, profile]:
        store.add(event)
    before, size = list(store), store.bytes
    assert size == sum(map(encoded_size, before))
    store.close()
    store = SqliteStore(str(path))
    try:
        assert list(store) == before and len(store) == 21 and store.bytes == size
        assert store.query([{"#t": ["t1"]}]) == select(before, [{"#t": ["t1"]}])
        assert store.add(_event(51, kind=0)) is Outcome.SUPERSEDED  # the slot is kept too
        assert store.add(events[0]) is Outcome.DUPLICATE
    finally:
        store.close()
    budget = sum(map(encoded_size, before[:8]))  # the newest eight fit, not nine
    store = SqliteStore(path, max_events=10, max_bytes=budget + 10)
    try:
        assert list(store) == before[:8] and store.evicted == 13 and store.bytes == budget
    finally:
        store.close()
    store = SqliteStore(path, max_events=5)
    try:
        assert list(store) == before[:5] and store.evicted == 3
    finally:
        store.close()


def test_what_cannot_be_opened_or_stored_is_refused(tmp_path: Path) -> None:
    for path in (":memory:", ""):
        with pytest.raises(ValueError, match="file path"):
            SqliteStore(path)
    with pytest.raises(ValueError, match="max_events"):
        SqliteStore(tmp_path / "a.db", max_events=0)
    with pytest.raises(ValueError, match="max_bytes"):
        SqliteStore(tmp_path / "a.db", max_bytes=0)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ValueError, match="schema version"):
        SqliteStore(other)
    (tmp_path / "junk.db").write_bytes(b"not a database, " * 100)
    with pytest.raises(sqlite3.DatabaseError):
        SqliteStore(tmp_path / "junk.db")
    store = SqliteStore(tmp_path / "a.db")
    try:
        with pytest.raises(ValueError, match="created_at"):
            store.add(_event(1, created_at=2**63))
        assert len(store) == 0
    finally:
        store.close()
    assert _writers() == []


@pytest.mark.asyncio
async def test_writes_run_on_the_writer_thread_and_answer_on_the_loop(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    writers: list[int] = []
    write = store._write_event

    def spy(event: dict[str, Any], size: int | None, conn: sqlite3.Connection) -> Outcome:
        writers.append(threading.get_ident())
        return write(event, size, conn)

    monkeypatch.setattr(store, "_write_event", spy)
    loop_thread = threading.get_ident()
    answers: list[tuple[str, Outcome, int]] = []
    events = [_event(n) for n in range(300)]

    def answer(event_id: str, outcome: Outcome) -> None:
        answers.append((event_id, outcome, threading.get_ident()))

    for event in [*events, events[0], _event(1000, kind=20001)]:
        store.submit(event, partial(answer, event["id"]))
    assert answers == []  # never at once: the writer commits first
    await store.flush()
    outcomes = [o for _, o, _ in answers]
    assert outcomes == [Outcome.STORED] * 300 + [Outcome.DUPLICATE, Outcome.EPHEMERAL]
    assert [i for i, _, _ in answers[:300]] == [e["id"] for e in events]  # in order
    assert {thread for _, _, thread in answers} == {loop_thread}
    assert len(writers) == 302 and loop_thread not in writers
    assert len(store) == 300 and store.bytes == sum(map(encoded_size, events))


@pytest.mark.asyncio
async def test_queued_writes_share_transactions(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    transaction = store._transaction

    def spy(works: list[Any]) -> list[object]:
        batches.append(len(works))
        return transaction(works)

    monkeypatch.setattr(store, "_transaction", spy)
    done: list[Outcome] = []
    for n in range(1200):
        store.submit(_event(n), done.append)
    await store.flush()
    assert len(done) == 1200 and sum(batches) == 1201  # and the flush marker
    assert max(batches) <= 500 and len(batches) < 100


@pytest.mark.asyncio
async def test_a_failed_write_fails_alone_and_the_writer_carries_on(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    poison = _event(5) | {"content": object()}  # no JSON for it
    with pytest.raises(TypeError):
        store.add(poison)
    done: list[Outcome] = []
    failed: list[BaseException] = []
    for n in range(10):
        event = poison if n == 5 else _event(n)
        store.submit(event, done.append, failed=failed.append)
    with caplog.at_level(logging.ERROR, logger="rx_honeybee.relay.sqlite_store"):
        store.submit(poison, done.append)
        await store.flush()
    assert done == [Outcome.STORED] * 9 and len(store) == 9
    assert [type(error) for error in failed] == [TypeError]
    assert "could not store an event" in caplog.text
    assert store.add(_event(5)) is Outcome.STORED and _writers() != []

    def broken(result: object, error: BaseException | None) -> None:
        raise RuntimeError("a reply that fails")

    with caplog.at_level(logging.ERROR, logger="rx_honeybee.relay.sqlite_store"):
        store._enqueue(None, broken)
        await store.flush()
    assert "reply failed" in caplog.text and store.add(_event(6)) is Outcome.DUPLICATE


@pytest.mark.asyncio
async def test_close_commits_what_is_queued_and_then_refuses_everything(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = SqliteStore(path)
    done: list[Outcome] = []
    for n in range(100):
        store.submit(_event(n), done.append)
    store.close()
    store.close()  # idempotent
    assert _writers() == [] and _readers() == []
    await asyncio.sleep(0)
    assert done == [Outcome.STORED] * 100  # answered on the loop after the commit
    for call in (
        lambda: store.add(_event(1)),
        lambda: store.submit(_event(1), done.append),
        lambda: store.remove(_event(1)["id"]),
        store.clear,
        lambda: store.query([{}]),
        lambda: store.get(_event(1)["id"]),
        lambda: _event(1)["id"] in store,
        lambda: len(store),
        lambda: list(store),
        lambda: store.fetch([{}], print),
    ):
        with pytest.raises(InvalidState, match="closed"):
            call()
    await store.flush()  # nothing is left to wait for: close committed it all
    again = SqliteStore(path)
    try:
        assert len(again) == 100
    finally:
        again.close()


def test_submit_needs_a_running_loop(store: SqliteStore) -> None:
    with pytest.raises(RuntimeError):
        store.submit(_event(1), print)
    assert len(store) == 0 and 5 not in store and store.get(5) is None  # type: ignore[arg-type]


def test_answers_nobody_waits_for_are_dropped(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    write = store._write_event

    def held(event: dict[str, Any], size: int | None, conn: sqlite3.Connection) -> Outcome:
        gate.wait(10)
        return write(event, size, conn)

    monkeypatch.setattr(store, "_write_event", held)
    done: list[Outcome] = []

    async def leave_early() -> None:  # its loop is closed before the write commits
        store.submit(_event(1), done.append)

    async def cancel_a_flush() -> None:
        store.submit(_event(2), done.append)
        flushing = asyncio.ensure_future(store.flush())
        await asyncio.sleep(0)  # one turn: the flush is now waiting for its answer
        flushing.cancel()
        gate.set()
        await store.flush()
        assert flushing.cancelled()

    asyncio.run(leave_early())
    asyncio.run(cancel_a_flush())
    assert done == [Outcome.STORED] and len(store) == 2


def test_a_query_examines_the_rows_it_returns_not_the_store(store: SqliteStore) -> None:
    async def fill() -> None:
        for n in range(2000):
            store.submit(_event(n, author=n % 100, tags=[("t", f"t{n % 7}")]), _ignore)
        await store.flush()

    asyncio.run(fill())
    assert len(store) == 2000
    one = _hex("author", 3)
    found = store.query([{"authors": [one], "limit": 50}])
    assert len(found) == 20 and {e["pubkey"] for e in found} == {one}
    assert store.examined <= 40
    before = store.examined
    assert store.query([{"authors": [_hex("nobody")]}, {"#t": ["none"]}, {"kinds": [9]}]) == []
    assert store.examined == before
    assert len(store.query([{"#t": ["t3"], "limit": 5}, {"ids": [_hex("id", 7)]}])) == 6
    assert store.examined - before == 6


def test_reads_from_other_threads_see_committed_writes(store: SqliteStore) -> None:
    seen: list[int] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(200):
                seen.append(len(store.query([{"kinds": [1]}])))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    for n in range(200):
        store.add(_event(n))
    reader.join()
    assert errors == [] and seen == sorted(seen)  # never a write seen, then unseen
    assert len(store.query([{"kinds": [1]}])) == 200


def _ignore(outcome: Outcome) -> None:
    pass


@pytest.mark.asyncio
async def test_fetch_reads_on_reader_threads_and_answers_on_the_loop(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rx_honeybee.relay import sqlite_store

    events = [_event(n, author=n % 3) for n in range(50)]
    for event in events:
        store.submit(event, _ignore)
    await store.flush()
    filters = [[{"authors": [AUTHORS[n % 3]], "limit": 5}] for n in range(6)]
    expected = [store.query(flt) for flt in filters[:3]]
    readers: list[int] = []
    select_rows = sqlite_store._select

    def spy(*args: Any, **kwargs: Any) -> Any:
        readers.append(threading.get_ident())
        return select_rows(*args, **kwargs)

    monkeypatch.setattr(sqlite_store, "_select", spy)
    loop_thread = threading.get_ident()
    answers: list[tuple[list[dict[str, Any]], int]] = []

    def answer(found: Any) -> None:
        assert all(isinstance(text, str) for _, text in found)  # as stored, not decoded
        answers.append(([ujson.loads(text) for _, text in found], threading.get_ident()))

    for flt in filters:
        store.fetch(flt, answer)
    assert answers == []  # never at once: a reader thread reads first
    await until(lambda: len(answers) == 6)
    assert {thread for _, thread in answers} == {loop_thread}
    assert loop_thread not in readers and len(readers) == 6
    assert sorted(map(str, (got for got, _ in answers))) == sorted(map(str, expected * 2))
    before = store.examined
    store.fetch([{"limit": 7}], answer)
    await until(lambda: len(answers) == 7)
    assert store.examined - before == 7


@pytest.mark.asyncio
async def test_a_failed_fetch_calls_failed_or_is_logged(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from rx_honeybee.relay import sqlite_store

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_store, "_select", broken)
    errors: list[BaseException] = []
    store.fetch([{}], print, failed=errors.append)
    await until(lambda: len(errors) == 1)
    assert isinstance(errors[0], sqlite3.OperationalError)
    with caplog.at_level(logging.ERROR):
        store.fetch([{}], print)
        await until(lambda: "an SQLite query failed" in caplog.text)
