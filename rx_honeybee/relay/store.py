"""A bounded in-memory event store with NIP-01 kinds (the kind classes live in rx_roots).

Pure (no I/O, no time). What :meth:`EventStore.add` does with an event depends on its kind
(https://github.com/nostr-protocol/nips/blob/master/01.md#kinds):

- regular kinds are stored;
- replaceable kinds (0, 3, 10000-19999) keep one event per ``(pubkey, kind)``,
  addressable kinds (30000-39999) one per ``(pubkey, kind, d)`` where ``d`` is the value
  of the first ``d`` tag (``""`` without one): the newest ``created_at`` wins, ties go to
  the lowest ``id``. A newer version removes the stored one; an older (or tied, higher
  id) version is not stored (:attr:`Outcome.SUPERSEDED`);
- ephemeral kinds (20000-29999) are never stored (:attr:`Outcome.EPHEMERAL`);
- an id already stored is :attr:`Outcome.DUPLICATE`.

The store is bounded by count and by bytes: beyond ``max_events`` events, or beyond
``max_bytes`` of encoded events (the JSON a client is sent), it evicts the oldest events
(the ones that sort last newest-first, see :func:`rx_roots.sort_key`), so it always keeps
the newest events that fit both caps. A cap on count alone let 1,000 events of 900 KB
take 1.77 GB (issue 12, item 3).

Queries read posting lists (:mod:`rx_honeybee.relay.index`), so their cost follows what
they return rather than the store's size; the answer is :func:`rx_roots.select`'s.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import ujson

from rx_honeybee.relay.index import MAX_FILTER_VALUES, EventIndex, check_filter_cost
from rx_honeybee.write_queue import encoded_size as text_size
from rx_roots import address_of, is_ephemeral, sort_key

__all__ = ["DEFAULT_MAX_BYTES", "MAX_FILTER_VALUES", "EventStore", "Outcome", "check_filter_cost"]

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
"""The store's default byte budget: encoded events, not Python's (larger) objects."""


def encoded_size(event: Mapping[str, Any]) -> int:
    """Bytes of ``event`` as JSON (UTF-8); an estimate when it cannot be encoded."""
    return text_and_size(event)[1]


def text_and_size(event: Mapping[str, Any]) -> tuple[str | None, int]:
    """The JSON text a delivery carries (None without a UTF-8 form), and its size in bytes
    (an estimate when it cannot be encoded at all). Both stores count and keep this."""
    try:
        text = ujson.dumps(event, ensure_ascii=False, escape_forward_slashes=False, allow_nan=False)
    except (TypeError, ValueError, OverflowError):
        return None, len(repr(event))
    if text.isascii():
        return text, len(text)
    try:
        return text, len(text.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates: measured, never sent as they are
        return None, len(text.encode("utf-8", "surrogatepass"))


class Outcome(enum.Enum):
    """What :meth:`EventStore.add` did with an event."""

    STORED = "stored"  # new, kept
    DUPLICATE = "duplicate"  # that id is stored already
    SUPERSEDED = "superseded"  # a replaceable/addressable event with a newer version stored
    EPHEMERAL = "ephemeral"  # an ephemeral kind: to deliver, never to keep


class EventStore:
    """Checked events in memory, newest first, within ``max_events`` and ``max_bytes``.

    Args:
        max_events: the count cap; the oldest events are evicted beyond it.
        max_bytes: the byte cap on encoded events; the oldest are evicted beyond it.

    Raises:
        ValueError: ``max_events`` or ``max_bytes`` < 1.
    """

    def __init__(self, max_events: int = 100_000, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_events < 1:
            raise ValueError(f"max_events must be >= 1, got {max_events}")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.max_events = max_events  # the count cap
        self.max_bytes = max_bytes  # the byte cap
        self.bytes = 0  # encoded size of the stored events
        self._by_id: dict[str, dict[str, Any]] = {}  # id → event
        self._sizes: dict[str, int] = {}  # id → encoded size
        self._texts: dict[str, str] = {}  # id → its JSON text, encoded once for every REQ
        self._index = EventIndex(self._by_id)  # sort keys, globally and per author/kind/tag
        self._order = self._index.order  # sort keys, newest first
        self._slots: dict[tuple[str, int, str], str] = {}  # address → id holding it
        self.evicted = 0  # events dropped by the caps so far

    @property
    def examined(self) -> int:
        """Candidate events checked against a filter by queries so far (their cost)."""
        return self._index.examined

    def add(self, event: dict[str, Any], *, text: str | None = None) -> Outcome:
        """Store a checked event (see :func:`check_event`) per its kind; say what happened.

        ``text`` is its JSON when the caller encoded it already (it is encoded here if not).
        """
        if is_ephemeral(event["kind"]):
            return Outcome.EPHEMERAL
        event_id = event["id"]
        if event_id in self._by_id:
            return Outcome.DUPLICATE
        if text is None:
            text, size = text_and_size(event)
        else:
            size = text_size(text)
        if size > self.max_bytes:  # could never fit: evicted at once, the others kept
            self.evicted += 1
            return Outcome.STORED
        address = address_of(event)
        if address is not None:
            held = self._slots.get(address)
            if held is not None:
                if sort_key(self._by_id[held]) < sort_key(event):
                    return Outcome.SUPERSEDED
                self.remove(held)
            self._slots[address] = event_id
        self._by_id[event_id] = event
        self._sizes[event_id] = size
        if text is not None:
            self._texts[event_id] = text
        self.bytes += size
        self._index.add(event)
        order = self._order
        while order and (len(order) > self.max_events or self.bytes > self.max_bytes):
            self.evicted += 1
            self.remove(order[-1][1])
        return Outcome.STORED

    def submit(
        self,
        event: dict[str, Any],
        done: Callable[[Outcome], object],
        *,
        text: str | None = None,
        failed: Callable[[BaseException], object] | None = None,
    ) -> None:
        """:meth:`add`, and ``done`` with the outcome at once: memory needs no waiting.

        ``failed`` is there for the protocol: adding to memory does not fail.
        """
        done(self.add(event, text=text))

    async def flush(self) -> None:
        """Nothing to wait for: every add is done when it returns."""

    def close(self) -> None:
        """Nothing to let go of; the events stay (a relay restart keeps them)."""

    def remove(self, event_id: str) -> bool:
        """Forget the event ``event_id``; False when it is not stored."""
        event = self._by_id.pop(event_id, None)
        if event is None:
            return False
        self.bytes -= self._sizes.pop(event_id)
        self._texts.pop(event_id, None)
        self._index.remove(event)
        address = address_of(event)
        if address is not None and self._slots.get(address) == event_id:
            del self._slots[address]
        return True

    def query(
        self, filters: Sequence[Mapping[str, Any]], *, max_limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The stored events a REQ with (checked) ``filters`` gets, newest first, each once.

        As :func:`rx_roots.select`: each filter its newest ``min(limit, max_limit)``
        matches, their union. Callers refuse costly filters first (:func:`check_filter_cost`).
        """
        chosen: set[tuple[int, str]] = set()
        for flt in filters:
            cap = flt.get("limit")
            if max_limit is not None:
                cap = max_limit if cap is None else min(cap, max_limit)
            chosen.update(self._index.select(flt, cap))
        by_id = self._by_id
        return [by_id[event_id] for _, event_id in sorted(chosen)]

    def fetch(
        self,
        filters: Sequence[Mapping[str, Any]],
        done: Callable[[list[tuple[str, dict[str, Any] | str]]], object],
        *,
        max_limit: int | None = None,
        failed: Callable[[BaseException], object] | None = None,
    ) -> None:
        """:meth:`query`'s ``(id, event)`` pairs, to ``done`` at once (an index read is quick)."""
        texts = self._texts
        found = self.query(filters, max_limit=max_limit)
        done([(event["id"], texts.get(event["id"], event)) for event in found])

    def get(self, event_id: str) -> dict[str, Any] | None:
        """The stored event with that id, or None."""
        return self._by_id.get(event_id)

    def clear(self) -> None:
        """Forget every event."""
        self._by_id.clear()
        self._sizes.clear()
        self._texts.clear()
        self._index.clear()
        self._slots.clear()
        self.bytes = 0

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._by_id

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Every stored event, newest first."""
        by_id = self._by_id
        return (by_id[event_id] for _, event_id in self._order)
