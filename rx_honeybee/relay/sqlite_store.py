"""An event store in an SQLite file, for a developer's relay that keeps its events.

``rxnostr relay --db PATH`` keeps events across restarts in :class:`SqliteStore`: it
answers exactly as the in-memory :class:`~rx_honeybee.relay.store.EventStore` (same
:class:`Outcome` per kind, same caps and eviction, queries equal to
:func:`rx_roots.select`), with only the standard library's :mod:`sqlite3`.

Writes stay off the event loop: one writer thread owns the write connection and applies
queued writes in batches, one transaction per batch; :meth:`SqliteStore.submit` calls back
on the loop once its event is committed. Reads use a second connection on the caller's
thread and see every committed write (WAL). ``len()``, :attr:`~SqliteStore.bytes` and
:attr:`~SqliteStore.evicted` are updated by the writer after each commit: they are current
once :meth:`~SqliteStore.add` or :meth:`~SqliteStore.flush` returns.

A write that fails (a full disk, an event that cannot be encoded) fails alone, the writer
thread carries on: :meth:`~SqliteStore.add` raises its error, :meth:`~SqliteStore.submit`
passes it to ``failed`` (or logs it). After :meth:`~SqliteStore.close` every call but
``close`` and ``flush`` (nothing is left to wait for) raises
:class:`~rx_honeybee.errors.InvalidState`.

Unlike the memory store, events read back are decoded copies (equal to what was added,
not the same objects), and ``created_at`` must fit SQLite's 64-bit integers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import ujson

from rx_honeybee.errors import InvalidState
from rx_honeybee.relay.backend import Found, Written
from rx_honeybee.relay.sqlite_query import (
    INT64_MAX,
    INT64_MIN,
    SCHEMA_VERSION,
    create_schema,
    tag_rows,
    translate,
)
from rx_honeybee.relay.sqlite_readers import ReaderPool
from rx_honeybee.relay.store import DEFAULT_MAX_BYTES, Outcome, text_and_size
from rx_honeybee.write_queue import encoded_size
from rx_roots import address_of, is_ephemeral, sort_key

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

_BATCH = 500  # the most writes one transaction applies
_log = logging.getLogger(__name__)

_Work = Callable[[sqlite3.Connection], object]  # runs in the writer, inside a transaction
_Reply = Callable[[object, BaseException | None], None]  # the result or error, once final
_Job = tuple[_Work | None, _Reply]  # no work: a flush marker


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


@dataclass
class _Tally:
    """What the events held add up to."""

    events: int
    bytes: int
    evicted: int


class _Waiter:
    """A reply that a thread waits for."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._result: object = None
        self._error: BaseException | None = None

    def __call__(self, result: object, error: BaseException | None) -> None:
        self._result, self._error = result, error
        self._ready.set()

    def wait(self) -> object:
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self._result


class SqliteStore:
    """Checked events in the SQLite file ``path``, newest first, within both caps.

    An existing file keeps its events (the caps of this instance apply at once). Close
    the store: its writer thread is a daemon, so writes still queued at exit are lost.

    Args:
        path: the database file (``":memory:"`` is refused: reads use a second connection).
        max_events: the count cap; the oldest events are evicted beyond it.
        max_bytes: the byte cap on encoded events; the oldest are evicted beyond it.

    Raises:
        ValueError: a cap < 1, no file path, or a file of another schema version.
        sqlite3.Error: the file cannot be opened as a database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        max_events: int = 100_000,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if max_events < 1:
            raise ValueError(f"max_events must be >= 1, got {max_events}")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.path = os.fspath(path)
        if self.path in ("", ":memory:"):
            raise ValueError("SqliteStore needs a file path")
        self.max_events = max_events  # the count cap
        self.max_bytes = max_bytes  # the byte cap
        self._examined = 0
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()  # None: stop
        self._lock = threading.Lock()  # guards _closed against enqueueing
        self._read_lock = threading.Lock()  # one reader at a time on _reader
        self._closed = False
        self._writer = _connect(self.path)
        try:
            create_schema(self._writer, self.path)
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.execute("PRAGMA cache_size=-32768")
            row = self._writer.execute("SELECT count(*), coalesce(sum(size), 0) FROM events")
            count: int
            total: int
            count, total = row.fetchone()
            self._count, self.bytes, self.evicted = count, total, 0  # as committed
            self._pending = _Tally(count, total, 0)  # the writer's, inside a transaction
            self._transaction([self._evict])  # the caps of this instance
            self._reader = _connect(self.path)  # the last step that may fail
            self._readers = ReaderPool(self.path)  # REQs off the loop (fetch)
        except BaseException:
            self._writer.close()
            raise
        self._thread = threading.Thread(target=self._run, name="rxnostr-sqlite", daemon=True)
        self._thread.start()

    @property
    def examined(self) -> int:
        """Rows queries fetched so far (each a match: SQL filters them all)."""
        return self._examined

    # writes: queued to the writer thread

    def add(self, event: dict[str, Any], *, text: str | None = None) -> Outcome:
        """Store a checked event per its kind, once committed; say what happened.

        Raises:
            ValueError: ``created_at`` beyond SQLite's 64-bit integers.
            InvalidState: the store is closed.
            sqlite3.Error: the write failed (the store carries on).
        """
        _check_storable(event)
        return cast(Outcome, self._wait(partial(self._write_event, event, text)))

    def submit(
        self,
        event: dict[str, Any],
        done: Written,
        *,
        text: str | None = None,
        failed: Callable[[BaseException], object] | None = None,
    ) -> None:
        """Store ``event`` off the loop; ``done(outcome)`` on this loop once committed.

        Call it on a running event loop. A failed write calls ``failed(error)`` on the
        loop instead (it is logged when there is no ``failed``).
        """
        loop = asyncio.get_running_loop()
        _check_storable(event)
        work = partial(self._write_event, event, text)
        self._enqueue(work, partial(_answer, loop, done, failed))

    async def flush(self) -> None:
        """Return once every write queued before is committed (at once after ``close``,
        which committed them all)."""
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()
        self._enqueue(None, partial(_answer, loop, partial(_settle, written), None))
        await written

    def remove(self, event_id: str) -> bool:
        """Forget the event ``event_id`` (committed on return); False when it is not held."""
        return bool(self._wait(partial(self._delete, event_id)))

    def clear(self) -> None:
        """Forget every event (committed on return)."""
        self._wait(self._delete_all)

    def close(self) -> None:
        """Commit what is queued, stop the writer thread, close the file (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.put(None)
        self._thread.join()
        self._readers.close()
        with self._read_lock:
            self._reader.close()

    # reads: on the caller's thread

    def query(
        self, filters: Sequence[Mapping[str, Any]], *, max_limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The stored events a REQ with (checked) ``filters`` gets, newest first, each once.

        As :func:`rx_roots.select`: each filter its newest ``min(limit, max_limit)``
        matches, their union; one SQL query per filter, in one read transaction.
        """
        with self._reading() as conn:
            found, examined = _select(conn, filters, max_limit)
        self._examined += examined
        return [ujson.loads(text) for _, text in found]

    def fetch(
        self,
        filters: Sequence[Mapping[str, Any]],
        done: Callable[[Found], object],
        *,
        max_limit: int | None = None,
        failed: Callable[[BaseException], object] | None = None,
    ) -> None:
        """:meth:`query` on a reader thread; ``done`` with ``(id, JSON text)`` of each event
        on this loop afterwards (the texts as stored: nothing is decoded).

        Call it on a running event loop. A failed read calls ``failed(error)`` (or is
        logged without one).
        """
        if self._closed:
            raise InvalidState("the SQLite store is closed")

        def answered(result: tuple[list[tuple[str, str]], int]) -> None:
            self._examined += result[1]
            done(result[0])

        def not_answered(error: BaseException) -> None:
            if failed is None:
                _log.error("an SQLite query failed: %r", error)
            else:
                failed(error)

        read = partial(_select, filters=filters, max_limit=max_limit)
        self._readers.run(read, answered, not_answered)

    def get(self, event_id: str) -> dict[str, Any] | None:
        """The stored event with that id, or None."""
        if not isinstance(event_id, str):
            return None
        with self._reading() as conn:
            row = conn.execute("SELECT json FROM events WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else cast(dict[str, Any], ujson.loads(row[0]))

    def __contains__(self, event_id: object) -> bool:
        if not isinstance(event_id, str):
            return False
        with self._reading() as conn:
            row = conn.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        """Events held as of the last commit."""
        if self._closed:
            raise InvalidState("the SQLite store is closed")
        return self._count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Every stored event, newest first (read now, decoded as iterated)."""
        with self._reading() as conn:
            rows = conn.execute("SELECT json FROM events ORDER BY created_at DESC, id")
            texts = [text for (text,) in rows]
        return map(ujson.loads, texts)

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._read_lock:
            if self._closed:
                raise InvalidState("the SQLite store is closed")
            yield self._reader

    # the writer thread

    def _wait(self, work: _Work) -> object:
        waiter = _Waiter()
        self._enqueue(work, waiter)
        return waiter.wait()

    def _enqueue(self, work: _Work | None, reply: _Reply) -> None:
        with self._lock:
            if self._closed:
                raise InvalidState("the SQLite store is closed")
            self._jobs.put((work, reply))

    def _run(self) -> None:
        """Apply queued jobs, a batch per transaction, until the stop marker."""
        jobs, stop = self._jobs, False
        try:
            while not stop:
                batch: list[_Job] = []
                job = jobs.get()
                while job is not None:
                    batch.append(job)
                    if len(batch) >= _BATCH or jobs.empty():
                        break
                    job = jobs.get()
                stop = job is None
                if batch:
                    self._commit(batch)
        finally:
            self._writer.close()

    def _commit(self, batch: list[_Job]) -> None:
        """Apply ``batch`` in one transaction, or each job alone when that fails."""
        try:
            results = self._transaction([work for work, _ in batch])
        except Exception as error:
            if len(batch) > 1:
                for job in batch:
                    self._commit([job])
                return
            _send(batch[0][1], None, error)
            return
        for (_, reply), result in zip(batch, results, strict=True):
            _send(reply, result, None)

    def _transaction(self, works: list[_Work | None]) -> list[object]:
        """Run ``works`` in one transaction: their results, or the first error (rolled back)."""
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            results = [None if work is None else work(conn) for work in works]
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()  # if the transaction is still open
            self._pending = _Tally(self._count, self.bytes, self.evicted)
            raise
        pending = self._pending
        self._count, self.bytes, self.evicted = pending.events, pending.bytes, pending.evicted
        return results

    def _write_event(
        self, event: dict[str, Any], text: str | None, conn: sqlite3.Connection
    ) -> Outcome:
        """EventStore.add's decisions, in SQL."""
        if is_ephemeral(event["kind"]):
            return Outcome.EPHEMERAL
        event_id = event["id"]
        if conn.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone():
            return Outcome.DUPLICATE
        if text is None:
            text, size = text_and_size(event)
        else:
            size = encoded_size(text)
        if text is None:  # lone surrogates: kept escaped (what JSON cannot hold raises here)
            text = ujson.dumps(event, ensure_ascii=True, escape_forward_slashes=False)
        if size > self.max_bytes:  # could never fit: evicted at once, the others kept
            self._pending.evicted += 1
            return Outcome.STORED
        address = address_of(event)
        slot = None if address is None else ujson.dumps(address, ensure_ascii=True)
        if slot is not None:
            held = conn.execute("SELECT id, created_at FROM events WHERE address = ?", (slot,))
            row = held.fetchone()
            if row is not None:
                if (-row[1], row[0]) < sort_key(event):
                    return Outcome.SUPERSEDED
                self._delete(row[0], conn)
        values = (event_id, event["pubkey"], event["kind"], event["created_at"], slot, size)
        insert = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)"
        conn.execute(insert, (*values, text))
        conn.executemany("INSERT INTO tags VALUES (?, ?, ?)", tag_rows(event))
        self._pending.events += 1
        self._pending.bytes += size
        self._evict(conn)
        return Outcome.STORED

    def _evict(self, conn: sqlite3.Connection) -> None:
        """Drop the oldest events until both caps hold."""
        count, total = self._pending.events, self._pending.bytes
        victims: list[str] = []
        if count > self.max_events or total > self.max_bytes:
            oldest = conn.execute("SELECT id, size FROM events ORDER BY created_at, id DESC")
            while count > self.max_events or total > self.max_bytes:
                event_id, size = oldest.fetchone()
                victims.append(event_id)
                count, total = count - 1, total - size
            oldest.close()
        for event_id in victims:
            self._delete(event_id, conn)
        self._pending.evicted += len(victims)

    def _delete(self, event_id: str, conn: sqlite3.Connection) -> bool:
        row = conn.execute("SELECT size FROM events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            return False
        conn.execute("DELETE FROM events WHERE id = ?", (event_id,))
        conn.execute("DELETE FROM tags WHERE event_id = ?", (event_id,))
        self._pending.events -= 1
        self._pending.bytes -= row[0]
        return True

    def _delete_all(self, conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM events")
        conn.execute("DELETE FROM tags")
        self._pending.events = self._pending.bytes = 0


def _select(
    conn: sqlite3.Connection, filters: Sequence[Mapping[str, Any]], max_limit: int | None
) -> tuple[list[tuple[str, str]], int]:
    """``(id, JSON text)`` of the events ``filters`` select (as :meth:`SqliteStore.query`),
    and the rows read."""
    found: dict[str, tuple[int, str]] = {}
    examined = 0
    conn.execute("BEGIN")
    try:
        for flt in filters:
            cap = flt.get("limit")
            if max_limit is not None:
                cap = max_limit if cap is None else min(cap, max_limit)
            plan = translate(flt, cap)
            if plan is None:
                continue
            rows = conn.execute(*plan).fetchall()
            examined += len(rows)
            for event_id, created_at, text in rows:
                found[event_id] = (-created_at, text)
    finally:
        conn.execute("COMMIT")
    ordered = sorted(found.items(), key=lambda item: (item[1][0], item[0]))
    return [(event_id, text) for event_id, (_, text) in ordered], examined


def _check_storable(event: Mapping[str, Any]) -> None:
    if not INT64_MIN <= event["created_at"] <= INT64_MAX:
        raise ValueError(f"created_at out of SQLite's range: {event['created_at']}")


def _answer(
    loop: asyncio.AbstractEventLoop,
    done: Callable[[Any], object],
    failed: Callable[[BaseException], object] | None,
    result: object,
    error: BaseException | None,
) -> None:
    """A submitted write's reply: ``done(result)``, or ``failed(error)``, on ``loop``."""
    if loop.is_closed():
        return  # nobody waits any more
    if error is None:
        loop.call_soon_threadsafe(done, result)
    elif failed is not None:
        loop.call_soon_threadsafe(failed, error)
    else:
        _log.error("could not store an event: %r", error)


def _settle(future: asyncio.Future[None], _: object) -> None:
    if not future.done():
        future.set_result(None)


def _send(reply: _Reply, result: object, error: BaseException | None) -> None:
    """Give a job its reply; a reply that fails (a closed loop) must not stop the writer."""
    try:
        reply(result, error)
    except Exception:
        _log.exception("an SQLite store reply failed")
