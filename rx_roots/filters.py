"""NIP-01 filters: check them, match events against them, pick the newest matches.

Pure functions, no I/O (https://github.com/nostr-protocol/nips/blob/master/01.md):

- ``ids``, ``authors``: exact 64-character lowercase hex values;
- ``kinds``: integers;
- ``#<letter>`` (one ASCII letter): the event has a tag ``[<letter>, <value>, ...]``
  whose value is in the list;
- ``since`` / ``until``: ``created_at`` bounds, both inclusive;
- ``limit``: at most that many of the newest matches (clamped to the relay's
  ``max_limit``; with no ``limit`` the clamp still applies);
- all the conditions of one filter must hold (AND); an empty list matches nothing;
  several filters are ORed and an event matching several is selected once.

Newest first means ``created_at`` descending, ties broken by the lowest ``id``
(lexically), which is :func:`sort_key` order. Keys that NIP-01 does not define (for
example NIP-50 ``search``) are ignored, so such a filter matches more, never less.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from rx_roots.errors import InvalidFilter

__all__ = [
    "Filter",
    "InvalidFilter",
    "check_filter",
    "matches",
    "matches_any",
    "newest_first",
    "select",
    "sort_key",
]

Filter = dict[str, Any]
"""A checked filter: a plain dict, as ``rx_roots.find_req`` returns it."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TAG_KEY = re.compile(r"#[a-zA-Z]")
E = TypeVar("E", bound=Mapping[str, Any])


def _is_int(value: object) -> bool:
    return type(value) is int  # bool is an int subclass, and not a number here


def _hex_list(flt: Mapping[str, Any], key: str) -> None:
    values = flt[key]
    if not isinstance(values, list) or not all(
        isinstance(v, str) and _HEX64.fullmatch(v) for v in values
    ):
        raise InvalidFilter(key, "a list of 64-character lowercase hex strings")


def check_filter(flt: object) -> Filter:
    """Return ``flt`` as a :data:`Filter` if it is a valid NIP-01 filter.

    Raises:
        InvalidFilter: not an object, or a known field of the wrong type (the message
            names the field).
    """
    if not isinstance(flt, Mapping):
        raise InvalidFilter("a filter", "an object", type(flt).__name__)
    for key in ("ids", "authors"):
        if key in flt:
            _hex_list(flt, key)
    if "kinds" in flt:
        kinds = flt["kinds"]
        if not isinstance(kinds, list) or not all(_is_int(k) for k in kinds):
            raise InvalidFilter("kinds", "a list of integers")
    for key in ("since", "until"):
        if key in flt and not _is_int(flt[key]):
            raise InvalidFilter(key, "an integer")
    if "limit" in flt and (not _is_int(flt["limit"]) or flt["limit"] < 0):
        raise InvalidFilter("limit", "a non-negative integer")
    for key, values in flt.items():
        if not key.startswith("#"):
            continue
        if not _TAG_KEY.fullmatch(key):
            raise InvalidFilter(f"tag filter {key!r}", "'#' and one letter")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidFilter(key, "a list of strings")
    return dict(flt)


def _has_tag(event: Mapping[str, Any], letter: str, values: Sequence[str]) -> bool:
    for tag in event.get("tags", ()):
        if len(tag) >= 2 and tag[0] == letter and tag[1] in values:
            return True
    return False


def matches(flt: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` satisfies every condition of the (checked) filter ``flt``."""
    for key, wanted in flt.items():
        if key == "ids":
            if event["id"] not in wanted:
                return False
        elif key == "authors":
            if event["pubkey"] not in wanted:
                return False
        elif key == "kinds":
            if event["kind"] not in wanted:
                return False
        elif key == "since":
            if event["created_at"] < wanted:
                return False
        elif key == "until":
            if event["created_at"] > wanted:
                return False
        elif key[:1] == "#":
            if not _has_tag(event, key[1:], wanted):
                return False
    return True


def matches_any(filters: Iterable[Mapping[str, Any]], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` satisfies at least one of ``filters`` (they are ORed)."""
    return any(matches(flt, event) for flt in filters)


def sort_key(event: Mapping[str, Any]) -> tuple[int, str]:
    """The NIP-01 order key: newest ``created_at`` first, then the lowest ``id``."""
    return -event["created_at"], event["id"]


def newest_first(events: Iterable[E]) -> list[E]:
    """Return ``events`` sorted newest first (ties: lowest id first)."""
    return sorted(events, key=sort_key)


def _room(cap: int | None, count: int) -> bool:
    return cap is None or count < cap


def select(
    events: Iterable[E],
    filters: Sequence[Mapping[str, Any]],
    *,
    max_limit: int | None = None,
    ordered: bool = False,
) -> list[E]:
    """Return the events a REQ with ``filters`` gets before EOSE, newest first, each once.

    Each filter picks its own newest ``min(limit, max_limit)`` matches (all of them when
    neither is set); the result is their union. One pass over the events.

    Args:
        events: candidates; sorted here unless ``ordered`` says they already are newest
            first (:func:`sort_key` order), as the store keeps them.
        filters: checked filters (see :func:`check_filter`); none selects nothing.
        max_limit: the relay's clamp on every filter's ``limit``.
        ordered: skip the sort.
    """
    if not filters:
        return []
    caps: list[int | None] = []
    for flt in filters:
        limit = flt.get("limit")
        if max_limit is not None:
            limit = max_limit if limit is None else min(limit, max_limit)
        caps.append(limit)
    counts = [0] * len(filters)
    live = [i for i, cap in enumerate(caps) if cap is None or cap > 0]
    chosen: list[E] = []
    for event in events if ordered else newest_first(events):
        if not live:
            break
        hit = False
        for i in live:
            if matches(filters[i], event):
                counts[i] += 1
                hit = True
        if hit:
            chosen.append(event)
            live = [i for i in live if _room(caps[i], counts[i])]
    return chosen
