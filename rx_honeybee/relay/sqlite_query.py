"""The SQL of :mod:`rx_honeybee.relay.sqlite_store`: its schema, and filters as queries.

Events are rows of ``events`` (their canonical JSON text, and the columns filters read);
their single-letter tags are rows of ``tags``. One filter becomes one ``SELECT`` whose
``WHERE`` holds every condition of the filter (:func:`rx_roots.matches`'s), ordered
newest first (:func:`rx_roots.sort_key`: ``created_at DESC, id``) and cut at the
filter's limit, so SQLite reads the index that the filter's own lists name and returns
exactly the filter's newest matches:

- ``ids``, ``authors``, ``kinds``: ``IN`` lists (exact values; an empty list matches
  nothing); short lists bind each value, long ones one JSON array (``json_each``), so
  1,000 values per list stay far below SQLite's bound-parameter limit;
- ``since`` / ``until``: inclusive ``created_at`` bounds;
- ``#x``: the event's id among the ``tags`` rows with letter ``x`` and one of the values.

Keys NIP-01 does not define are ignored, as :func:`rx_roots.matches` ignores them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "SCHEMA_VERSION",
    "SqlValue",
    "create_schema",
    "sql_text",
    "tag_rows",
    "translate",
]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The range of an SQLite INTEGER."""

SqlValue = str | bytes | int
"""A value bound to a query."""

SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of the files this store writes."""

_SCHEMA = """
CREATE TABLE events (
    id TEXT PRIMARY KEY, pubkey TEXT NOT NULL, kind INTEGER NOT NULL,
    created_at INTEGER NOT NULL, address TEXT, size INTEGER NOT NULL, json TEXT NOT NULL);
CREATE INDEX events_time ON events (created_at DESC, id);
CREATE INDEX events_author ON events (pubkey, created_at DESC, id);
CREATE INDEX events_kind ON events (kind, created_at DESC, id);
CREATE INDEX events_author_kind ON events (pubkey, kind, created_at DESC, id);
CREATE UNIQUE INDEX events_address ON events (address);
CREATE TABLE tags (
    letter TEXT NOT NULL, value TEXT NOT NULL, event_id TEXT NOT NULL,
    PRIMARY KEY (letter, value, event_id)) WITHOUT ROWID;
CREATE INDEX tags_event ON tags (event_id);
"""
_INLINE = 8  # lists up to this long bind one parameter per value
_SELECT = "SELECT id, created_at, json FROM events"
_ORDER = " ORDER BY created_at DESC, id"


def sql_text(value: str) -> str | bytes:
    """``value`` as SQLite can bind it: the text, or (lone surrogates) its UTF-8 bytes.

    UTF-8 refuses surrogate code points, which a decoded JSON string may hold; their
    ``surrogatepass`` bytes bind as a BLOB, equal only to the same string's BLOB.
    """
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
    return value


def create_schema(conn: sqlite3.Connection, path: str) -> None:
    """Make ``conn``'s file a store (WAL mode), or check that it is one of this version."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise ValueError(f"{path}: schema version {version}, expected {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.rollback()
        raise


def tag_rows(event: Mapping[str, Any]) -> set[tuple[str, str | bytes, str]]:
    """``(letter, value, id)`` of the single-letter tags a ``#x`` filter may match."""
    rows = set()
    for tag in event["tags"]:
        if len(tag) >= 2 and len(tag[0]) == 1 and tag[0].isascii() and tag[0].isalpha():
            rows.add((tag[0], sql_text(tag[1]), event["id"]))
    return rows


def _in(column: str, values: Sequence[SqlValue]) -> tuple[str, list[SqlValue]]:
    """``column IN (...)`` for ``values`` (distinct), with the parameters to bind."""
    if len(values) <= _INLINE or any(isinstance(value, bytes) for value in values):
        return f"{column} IN ({','.join('?' * len(values))})", list(values)
    return f"{column} IN (SELECT value FROM json_each(?))", [json.dumps(list(values))]


def _distinct(values: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def translate(flt: Mapping[str, Any], cap: int | None) -> tuple[str, list[SqlValue]] | None:
    """SQL for the newest ``cap`` (all when None) events matching the checked filter ``flt``.

    Its rows are ``(id, created_at, json)``, newest first. None when ``flt`` can match
    nothing (an empty list, a ``limit`` of 0, bounds out of SQLite's range).
    """
    if cap is not None and cap <= 0:
        return None
    where: list[str] = []
    params: list[SqlValue] = []
    for key, column in (("ids", "id"), ("authors", "pubkey")):
        if key in flt:
            values = _distinct([sql_text(value) for value in flt[key]])
            if not values:
                return None
            clause, bound = _in(column, values)
            where.append(clause)
            params += bound
    if "kinds" in flt:
        kinds = _distinct([kind for kind in flt["kinds"] if INT64_MIN <= kind <= INT64_MAX])
        if not kinds:
            return None
        clause, bound = _in("kind", kinds)
        where.append(clause)
        params += bound
    since, until = flt.get("since"), flt.get("until")
    if since is not None and since > INT64_MAX or until is not None and until < INT64_MIN:
        return None
    if since is not None and since > INT64_MIN:
        where.append("created_at >= ?")
        params.append(since)
    if until is not None and until < INT64_MAX:
        where.append("created_at <= ?")
        params.append(until)
    for key, wanted in flt.items():
        if key[:1] != "#":
            continue
        values = _distinct([sql_text(value) for value in wanted])
        if not values:
            return None
        clause, bound = _in("value", values)
        where.append(f"id IN (SELECT event_id FROM tags WHERE letter = ? AND {clause})")
        params += [key[1:], *bound]
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + _ORDER
    if cap is not None:
        sql += " LIMIT ?"
        params.append(cap)
    return sql, params
