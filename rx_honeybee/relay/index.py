"""Posting lists over stored events, so a filter costs what it returns, not the store's size.

Every stored event's sort key (:func:`rx_roots.sort_key`: ``(-created_at, id)``, newest
first) sits in one global sorted list and in a sorted list per index key: its author, its
kind, its ``(author, kind)`` pair, and each ``(letter, value)`` of its single-letter tags.
A filter reads only the smallest of the lists its own conditions name (``ids`` are direct
lookups), merged newest first from its ``until`` bound, stops at its ``since`` bound or its
limit, and checks each candidate with :func:`rx_roots.matches`, so the answer is exactly
:func:`rx_roots.select`'s. Without a 100k-event scan per filter, a few REQs no longer
freeze the relay (issue 12, item 2).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any

from rx_roots import matches, sort_key

__all__ = ["MAX_FILTER_VALUES", "EventIndex", "Key", "check_filter_cost"]

Key = tuple[int, str]
"""An event's :func:`rx_roots.sort_key`: ``(-created_at, id)``."""

MAX_FILTER_VALUES = 1000
"""The most values one filter list (``ids``, ``authors``, ``kinds``, ``#x``) may hold."""

_MAX_PAIRS = 1024  # authors x kinds beyond this: read per author (or kind) instead
_LIST_KEYS = ("ids", "authors", "kinds")


def check_filter_cost(
    filters: Sequence[Mapping[str, Any]], *, max_values: int = MAX_FILTER_VALUES
) -> str | None:
    """Why (checked) ``filters`` are too costly to serve, or None when they are fine.

    Each list is looked up value by value, so its length bounds the work; a relay answers
    a reason with ``CLOSED "invalid: <reason>"``.
    """
    for flt in filters:
        for key, values in flt.items():
            if (key in _LIST_KEYS or key[:1] == "#") and len(values) > max_values:
                return f"too many values in {key} (max {max_values})"
    return None


def _prepared(flt: Mapping[str, Any]) -> dict[str, Any]:
    """``flt`` with its lists as sets: :func:`rx_roots.matches` tests membership with ``in``."""
    return {
        key: frozenset(value) if key in _LIST_KEYS or key[:1] == "#" else value
        for key, value in flt.items()
    }


def _index_keys(event: Mapping[str, Any]) -> set[Hashable]:
    """The posting lists ``event`` belongs to."""
    pubkey, kind = event["pubkey"], event["kind"]
    keys: set[Hashable] = {("a", pubkey), ("k", kind), ("ak", pubkey, kind)}
    for tag in event["tags"]:
        if len(tag) >= 2 and len(tag[0]) == 1 and tag[0].isascii() and tag[0].isalpha():
            keys.add(("t", tag[0], tag[1]))
    return keys


def _from(keys: list[Key], start: Key | None) -> Iterator[Key]:
    """``keys`` from the first one >= ``start``, without copying or skipping one by one."""
    first = 0 if start is None else bisect_left(keys, start)
    return map(keys.__getitem__, range(first, len(keys)))


class EventIndex:
    """Sort keys of stored events, globally and per author, kind, pair and tag value.

    Args:
        by_id: the store's id → event map, read (never written) to check candidates.
    """

    def __init__(self, by_id: Mapping[str, Mapping[str, Any]]) -> None:
        self._by_id = by_id
        self.order: list[Key] = []  # every key, newest first
        self._postings: dict[Hashable, list[Key]] = {}
        self.examined = 0  # candidates checked against a filter, in all

    def add(self, event: Mapping[str, Any]) -> None:
        """Index a stored event."""
        key = sort_key(event)
        insort(self.order, key)
        postings = self._postings
        for name in _index_keys(event):
            posting = postings.get(name)
            if posting is None:
                postings[name] = [key]
            else:
                insort(posting, key)

    def remove(self, event: Mapping[str, Any]) -> None:
        """Unindex a stored event (it must have been added)."""
        key = sort_key(event)
        del self.order[bisect_left(self.order, key)]
        for name in _index_keys(event):
            posting = self._postings[name]
            del posting[bisect_left(posting, key)]
            if not posting:
                del self._postings[name]

    def clear(self) -> None:
        """Forget every key."""
        self.order.clear()
        self._postings.clear()

    def select(self, flt: Mapping[str, Any], cap: int | None) -> list[Key]:
        """The keys of the newest ``cap`` (all when None) events matching ``flt``."""
        if cap is not None and cap <= 0:
            return []
        if "ids" in flt:
            return self._by_ids(flt, cap)
        until, since = flt.get("until"), flt.get("since")
        if until is not None and since is not None and since > until:
            return []
        start = None if until is None else (-until, "")
        stop = None if since is None else -since
        chosen: list[Key] = []
        by_id, previous, test = self._by_id, None, _prepared(flt)
        for key in self._candidates(flt, start):
            if stop is not None and key[0] > stop:
                break
            if key == previous:  # one event under several values of one tag
                continue
            previous = key
            self.examined += 1
            if matches(test, by_id[key[1]]):
                chosen.append(key)
                if cap is not None and len(chosen) >= cap:
                    break
        return chosen

    def _by_ids(self, flt: Mapping[str, Any], cap: int | None) -> list[Key]:
        by_id, test = self._by_id, _prepared(flt)
        found = []
        for event_id in test["ids"]:
            event = by_id.get(event_id)
            if event is not None:
                self.examined += 1
                if matches(test, event):
                    found.append(sort_key(event))
        found.sort()
        return found if cap is None else found[:cap]

    def _candidates(self, flt: Mapping[str, Any], start: Key | None) -> Iterator[Key]:
        """Keys newest first from ``start``: the smallest superset ``flt``'s lists name."""
        plans: list[list[Hashable]] = []
        authors, kinds = flt.get("authors"), flt.get("kinds")
        if authors is not None:
            plans.append([("a", a) for a in set(authors)])
        if kinds is not None:
            plans.append([("k", k) for k in set(kinds)])
        if authors is not None and kinds is not None:
            pairs = len(set(authors)) * len(set(kinds))
            if pairs <= _MAX_PAIRS:
                plans.append([("ak", a, k) for a in set(authors) for k in set(kinds)])
        for name, values in flt.items():
            if name[:1] == "#":
                plans.append([("t", name[1], v) for v in set(values)])
        if not plans:
            return _from(self.order, start)
        postings = self._postings
        best: list[list[Key]] | None = None
        best_size = -1
        for plan in plans:
            lists = [postings[name] for name in plan if name in postings]
            size = sum(map(len, lists))
            if best is None or size < best_size:
                best, best_size = lists, size
        assert best is not None
        if len(best) == 1:
            return _from(best[0], start)
        return heapq.merge(*(_from(keys, start) for keys in best))
