"""What the relay needs from where it keeps events: memory by default, SQLite with ``--db``.

Both stores answer a query exactly as :func:`rx_roots.select` would over the events they
hold, and decide an event's fate by its kind the same way (:class:`Outcome`). A store may
take writes off the event loop: :meth:`Store.submit` then calls back once the event is
written, and the relay answers ``OK`` and delivers the event only then; and reads:
:meth:`Store.fetch` calls back with a REQ's stored events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from rx_honeybee.relay.store import Outcome

__all__ = ["Found", "Store", "Written"]

Written = Callable[[Outcome], object]
"""Called (on the event loop) with what became of a submitted event, once it is written."""

Found = Sequence[tuple[str, dict[str, Any] | str]]
"""A REQ's stored events as :meth:`Store.fetch` answers: ``(id, event)`` newest first, the
event as a dict or as its JSON text (a store that keeps text need not decode it only for
the relay to encode it again: ``enclose_subscription_event`` takes either)."""


class Store(Protocol):
    """Checked, canonical events, newest first, within a count cap and a byte budget."""

    max_events: int  # the count cap: the oldest events are evicted beyond it
    max_bytes: int  # the byte budget on encoded events: the oldest are evicted beyond it
    bytes: int  # encoded size of the events held
    evicted: int  # events dropped by the caps so far

    @property
    def examined(self) -> int:
        """Candidate events checked against a filter by queries so far (their cost)."""

    def add(self, event: dict[str, Any], *, text: str | None = None) -> Outcome:
        """Keep ``event`` per its kind now (waiting for the write); say what happened.

        ``text``: its JSON when the caller encoded it already (else encoded here)."""

    def submit(
        self,
        event: dict[str, Any],
        done: Written,
        *,
        text: str | None = None,
        failed: Callable[[BaseException], object] | None = None,
    ) -> None:
        """Keep ``event`` per its kind; ``done(outcome)`` once written (maybe at once).

        A write that fails calls ``failed(error)`` instead (a full disk).
        """

    async def flush(self) -> None:
        """Return once every submitted event is written."""

    def close(self) -> None:
        """Write what is submitted and let go of files and threads (idempotent)."""

    def query(
        self, filters: Sequence[Mapping[str, Any]], *, max_limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The events a REQ with (checked) ``filters`` gets, newest first, each once."""

    def fetch(
        self,
        filters: Sequence[Mapping[str, Any]],
        done: Callable[[Found], object],
        *,
        max_limit: int | None = None,
        failed: Callable[[BaseException], object] | None = None,
    ) -> None:
        """:meth:`query`'s events as :data:`Found`, through ``done`` (maybe at once, maybe
        from a reader thread via the loop); ``failed(error)`` when the read fails."""

    def get(self, event_id: str) -> dict[str, Any] | None:
        """The event with that id, or None."""

    def remove(self, event_id: str) -> bool:
        """Forget the event ``event_id``; False when it is not held."""

    def clear(self) -> None:
        """Forget every event."""

    def __contains__(self, event_id: object) -> bool: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Every event, newest first."""
