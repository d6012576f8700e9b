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

The store is bounded: beyond ``max_events`` it evicts the oldest events (the ones
that sort last newest-first, see :func:`rx_roots.sort_key`), so it
always keeps the newest ``max_events``.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, insort
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rx_roots import address_of, is_ephemeral, select, sort_key

__all__ = ["EventStore", "Outcome"]


class Outcome(enum.Enum):
    """What :meth:`EventStore.add` did with an event."""

    STORED = "stored"  # new, kept
    DUPLICATE = "duplicate"  # that id is stored already
    SUPERSEDED = "superseded"  # a replaceable/addressable event with a newer version stored
    EPHEMERAL = "ephemeral"  # an ephemeral kind: to deliver, never to keep


class EventStore:
    """Checked events in memory, newest first, at most ``max_events`` of them.

    Args:
        max_events: the cap; the oldest events are evicted beyond it.

    Raises:
        ValueError: ``max_events`` < 1.
    """

    def __init__(self, max_events: int = 100_000) -> None:
        if max_events < 1:
            raise ValueError(f"max_events must be >= 1, got {max_events}")
        self.max_events = max_events  # the cap
        self._by_id: dict[str, dict[str, Any]] = {}  # id → event
        self._order: list[tuple[int, str]] = []  # sort keys, newest first
        self._slots: dict[tuple[str, int, str], str] = {}  # address → id holding it
        self.evicted = 0  # events dropped by the cap so far

    def add(self, event: dict[str, Any]) -> Outcome:
        """Store a checked event (see :func:`check_event`) per its kind; say what happened."""
        if is_ephemeral(event["kind"]):
            return Outcome.EPHEMERAL
        event_id = event["id"]
        if event_id in self._by_id:
            return Outcome.DUPLICATE
        address = address_of(event)
        if address is not None:
            held = self._slots.get(address)
            if held is not None:
                if sort_key(self._by_id[held]) < sort_key(event):
                    return Outcome.SUPERSEDED
                self.remove(held)
            self._slots[address] = event_id
        self._by_id[event_id] = event
        insort(self._order, sort_key(event))
        while len(self._order) > self.max_events:
            self.evicted += 1
            self.remove(self._order[-1][1])
        return Outcome.STORED

    def remove(self, event_id: str) -> bool:
        """Forget the event ``event_id``; False when it is not stored."""
        event = self._by_id.pop(event_id, None)
        if event is None:
            return False
        key = sort_key(event)
        del self._order[bisect_left(self._order, key)]
        address = address_of(event)
        if address is not None and self._slots.get(address) == event_id:
            del self._slots[address]
        return True

    def query(
        self, filters: Sequence[Mapping[str, Any]], *, max_limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The stored events a REQ with (checked) ``filters`` gets, newest first, each once."""
        return select(iter(self), filters, max_limit=max_limit, ordered=True)

    def get(self, event_id: str) -> dict[str, Any] | None:
        """The stored event with that id, or None."""
        return self._by_id.get(event_id)

    def clear(self) -> None:
        """Forget every event."""
        self._by_id.clear()
        self._order.clear()
        self._slots.clear()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._by_id

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Every stored event, newest first."""
        by_id = self._by_id
        return (by_id[event_id] for _, event_id in self._order)
